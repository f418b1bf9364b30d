"""The circuit breaker in the admin: listing, inspect chart and events, dashboard, reset."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client, override_settings
from django.urls import reverse
from wagtail.models import ModelLogEntry
from wagtail.test.utils import WagtailTestUtils

from tests.testapp.plugins import FlakyGateway, PaymentGatewayType
from wagtail_plugin_system import breaker, cache, call_with_failover, traffic
from wagtail_plugin_system.audit import CIRCUIT_RESET, CIRCUIT_SETTINGS
from wagtail_plugin_system.models import PluginCircuit, PluginFailoverEvent, PluginInstance

SECRET = "sk-flaky-s3cret"


def url(name: str, *args: Any) -> str:
    return reverse(f"wagtail_plugin_system_instances:{name}", args=args)


@pytest.fixture
def open_flaky(synced: Any) -> PluginInstance:
    """A failing gateway whose circuit opened, in front of the synced bank transfer."""
    cache.clear()
    breaker.forget()
    traffic.discard()
    flaky = PluginInstance.objects.create_instance(
        FlakyGateway, name="Flaky", priority=1, config={"api_key": SECRET, "fail_with": "provider"}
    )
    with override_settings(WAGTAIL_PLUGIN_SYSTEM={"BREAKER_FAILURES": 2}):
        for _ in range(3):
            call_with_failover(PaymentGatewayType, "create_payment", 10)
    traffic.flush()
    assert breaker.read(flaky).is_open
    return flaky


@pytest.fixture
def editor(client: Client, synced: Any) -> Client:
    client.force_login(WagtailTestUtils.create_superuser("editor", password="pw"))  # type: ignore[arg-type]
    return client


def user_client(username: str, *codenames: str) -> Client:
    user = WagtailTestUtils.create_user(username, password="pw")  # type: ignore[arg-type]
    permissions = Permission.objects.exclude(content_type__app_label="django_plugin_system")
    for codename in ("access_admin", *codenames):
        user.user_permissions.add(permissions.get(codename=codename))
    client = Client()
    client.force_login(user)
    return client


def test_the_listing_shows_each_circuit(editor: Client, open_flaky: PluginInstance) -> None:
    page = editor.get(url("list")).content.decode()
    assert re.search(r"Open until \d\d:\d\d", page)
    assert "Closed" in page
    assert SECRET not in page


def test_the_inspect_view_draws_the_last_day_and_the_events(
    editor: Client, open_flaky: PluginInstance
) -> None:
    response = editor.get(url("inspect", open_flaky.pk))
    assert response.status_code == 200
    page = response.content.decode()
    chart = page[page.index("wps-traffic-chart") :].split("</figure>")[0]
    svg = chart[chart.index("<svg") : chart.index("</svg>")]
    assert "<rect" in svg
    assert "2 failures" in svg
    assert "style=" not in svg  # nothing a strict Content-Security-Policy blocks
    assert "<script" not in chart
    assert "Recent failover events" in page
    assert "ProviderError" in page
    assert "Bank transfer" in page  # it served
    assert SECRET not in page


def test_an_event_repeated_within_its_minute_says_how_often(
    editor: Client, open_flaky: PluginInstance
) -> None:
    event = PluginFailoverEvent.objects.filter(failed=open_flaky).first()
    assert event is not None
    last = event.at + datetime.timedelta(seconds=42)
    PluginFailoverEvent.objects.filter(pk=event.pk).update(count=7, last_at=last)
    page = editor.get(url("inspect", open_flaky.pk)).content.decode()
    assert re.search(r"7 times, until [^<]*\d", page)


def test_the_chart_speaks_french(client: Client, open_flaky: PluginInstance) -> None:
    from wagtail.users.models import UserProfile

    user = WagtailTestUtils.create_superuser("editrice", password="pw")  # type: ignore[arg-type]
    profile = UserProfile.get_for_user(user)
    profile.preferred_language = "fr"
    profile.save()
    client.force_login(user)
    page = client.get(url("inspect", open_flaky.pk)).content.decode()
    assert "Appels par heure" in page
    assert "Calls per hour" not in page


def test_the_dashboard_lists_open_circuits(editor: Client, open_flaky: PluginInstance) -> None:
    page = editor.get(reverse("wagtailadmin_home")).content.decode()
    assert "Its circuit is open" in page
    assert url("circuit", open_flaky.pk) in page


def test_reset_closes_the_circuit_and_is_audited(
    editor: Client, open_flaky: PluginInstance
) -> None:
    assert editor.get(url("circuit", open_flaky.pk)).status_code == 200
    response = editor.post(url("circuit", open_flaky.pk), {"action": "reset"})
    assert response.status_code == 302
    assert not breaker.read(open_flaky).is_open
    entry = ModelLogEntry.objects.get(action=CIRCUIT_RESET)
    assert entry.object_id == str(open_flaky.pk)
    assert entry.data == {"was_open": True}


def test_reset_needs_the_change_permission(synced: Any, open_flaky: PluginInstance) -> None:
    viewer = user_client("viewer", "view_plugininstance")
    response = viewer.post(url("circuit", open_flaky.pk), {"action": "reset"})
    assert response.status_code in (302, 403)
    assert breaker.read(open_flaky).is_open
    assert not ModelLogEntry.objects.filter(action=CIRCUIT_RESET).exists()
    changer = user_client("changer", "view_plugininstance", "change_plugininstance")
    response = changer.post(url("circuit", open_flaky.pk), {"action": "reset"})
    assert response.status_code == 302
    assert not breaker.read(open_flaky).is_open


def test_an_editor_overrides_the_settings_for_an_instance(
    editor: Client, open_flaky: PluginInstance
) -> None:
    response = editor.post(
        url("circuit", open_flaky.pk),
        {"failure_threshold": "1", "window_seconds": "", "cooldown_seconds": "120"},
    )
    assert response.status_code == 302
    row = PluginCircuit.objects.get(pk=open_flaky.pk)
    assert (row.failure_threshold, row.window_seconds, row.cooldown_seconds) == (1, None, 120)
    assert breaker.limits_of(open_flaky).cooldown == 120
    assert ModelLogEntry.objects.filter(action=CIRCUIT_SETTINGS).count() == 1


def test_bad_settings_are_refused_with_a_message(
    editor: Client, open_flaky: PluginInstance
) -> None:
    response = editor.post(
        url("circuit", open_flaky.pk),
        {"failure_threshold": "-3", "window_seconds": "zero", "cooldown_seconds": "0"},
    )
    assert response.status_code == 200
    assert "could not be saved" in response.content.decode()
    assert not PluginCircuit.objects.filter(pk=open_flaky.pk, failure_threshold=-3).exists()


def test_an_unknown_instance_is_a_404(editor: Client) -> None:
    assert editor.get(url("circuit", 999999)).status_code == 404
