"""The dashboard panel: plugins that need attention, for users who manage them."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import Client, RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from wagtail.test.utils import WagtailTestUtils

from tests.testapp.factories import STRIPE_CONFIG
from tests.testapp.plugins import FlakyGateway, StripeGateway
from wagtail_plugin_system.core.registry import PluginRegistry
from wagtail_plugin_system.health import run_health_check
from wagtail_plugin_system.models import PluginInstance, PluginItem, PluginStatus, PluginType

pytestmark = pytest.mark.django_db

HEADING = "Plugins that need attention"


def instance_url(name: str, *args: object) -> str:
    return reverse(PluginInstance.snippet_viewset.get_url_name(name), args=args)  # type: ignore[attr-defined]


def dashboard(client: Client) -> Any:
    response = client.get(reverse("wagtailadmin_home"))
    assert response.status_code == 200
    return WagtailTestUtils.get_soup(response.content)  # type: ignore[arg-type]


def panel_rows(client: Client) -> list[tuple[str, str, str]]:
    soup = dashboard(client)
    panel = soup.select_one("#plugin-problems-section")
    if panel is None:
        return []
    return [
        (
            row.select("td")[0].get_text(" ", strip=True),
            row.select("td")[1].get_text(" ", strip=True),
            row.select_one("a")["href"],
        )
        for row in panel.select("tbody tr")
    ]


@pytest.fixture
def editor(client: Client, synced: Any) -> Client:
    client.force_login(WagtailTestUtils.create_superuser("editor", password="pw"))  # type: ignore[arg-type]
    return client


def test_nothing_is_shown_when_all_is_well(editor: Client) -> None:
    assert panel_rows(editor) == []
    assert HEADING not in str(dashboard(editor))


def test_each_problem_links_to_where_it_is_fixed(editor: Client, make_instance: Any) -> None:
    failing = make_instance(
        FlakyGateway, "Flaky", config={"api_key": "flaky-key", "fail_with": "provider"}
    )
    run_health_check(failing)
    stripe = make_instance(StripeGateway, "Stripe", config=STRIPE_CONFIG)
    PluginItem.objects.filter(name="stripe").update(is_missing=True)
    # The SMS sender type loses its only instance.
    PluginInstance.objects.filter(item__plugin_type__name="sms_sender").update(
        status=PluginStatus.DISABLED
    )
    sms = PluginType.objects.get(name="sms_sender")

    rows = panel_rows(editor)
    assert ("Flaky", rows[0][1], rows[0][2]) in rows
    by_title = {title: (reason, url) for title, reason, url in rows}
    # The provider's message, without the exception's class (that is for the log).
    assert by_title["Flaky"][0].startswith("Its last check failed: authentication failed")
    assert by_title["Flaky"][1].startswith(instance_url("check", failing.pk))
    assert by_title["Stripe"] == (
        "Its implementation's code is missing: it is not used.",
        instance_url("edit", stripe.pk),
    )
    assert by_title[str(sms)] == (
        "No instance of this type is active or reserved and usable.",
        f"{instance_url('list')}?item__plugin_type={sms.pk}",
    )
    assert "flaky-key" not in str(dashboard(editor))


def test_unreadable_configuration_is_a_problem(editor: Client) -> None:
    with override_settings(FIELD_ENCRYPTION_KEY=settings.OLD_TEST_KEY):
        PluginInstance.objects.create_instance(StripeGateway, name="Stripe", config=STRIPE_CONFIG)
    rows = panel_rows(editor)
    assert [(title, reason) for title, reason, _url in rows] == [
        ("Stripe", "Its configuration cannot be decrypted with the configured keys: it is skipped.")
    ]


def _dashboard_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        dashboard(client)
    return len(queries)


def test_the_panel_costs_a_constant_number_of_queries(editor: Client, make_instance: Any) -> None:
    PluginInstance.objects.all().delete()
    bare = _dashboard_queries(editor)  # every type without an instance: one row each
    for n in range(30):
        instance = make_instance(
            FlakyGateway, f"Flaky {n}", config={"api_key": f"k{n}", "fail_with": "bug"}
        )
        run_health_check(instance)
    many = _dashboard_queries(editor)
    assert len(panel_rows(editor)) > 30
    assert many == bare, (bare, many)


def test_no_panel_and_no_query_while_no_plugin_type_is_registered(
    editor: Client, plugin_registry: PluginRegistry
) -> None:
    from wagtail_plugin_system.admin.homepage import construct_homepage_panels

    for type_class in plugin_registry.get_types():
        plugin_registry.unregister_type(type_class)
    request = RequestFactory().get("/")
    request.user = WagtailTestUtils.create_superuser("alone", password="pw")  # type: ignore[attr-defined]
    panels: list[Any] = []
    with CaptureQueriesContext(connection) as queries:
        construct_homepage_panels(request, panels)
    assert panels == []
    assert len(queries) == 0
    assert HEADING not in str(dashboard(editor))


def test_only_for_users_who_manage_plugins(client: Client, synced: Any) -> None:
    PluginInstance.objects.filter(item__plugin_type__name="sms_sender").delete()
    user = WagtailTestUtils.create_user("viewer", password="pw")  # type: ignore[arg-type]
    group = Group.objects.create(name="Viewers")
    group.permissions.add(
        Permission.objects.get(codename="access_admin"),
        Permission.objects.get(
            codename="view_plugininstance", content_type__app_label="wagtail_plugin_system"
        ),
    )
    user.groups.add(group)
    client.force_login(user)
    assert panel_rows(client) == []
    group.permissions.add(
        Permission.objects.get(
            codename="change_plugininstance", content_type__app_label="wagtail_plugin_system"
        )
    )
    client.force_login(user)
    assert panel_rows(client) != []
