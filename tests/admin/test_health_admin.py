"""Health checks in the admin: Test within the interval, recent checks, the listing, the panel."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from wagtail.test.utils import WagtailTestUtils

from tests.testapp.plugins import FlakyGateway
from wagtail_plugin_system.health import run_health_check
from wagtail_plugin_system.models import (
    CheckSource,
    CheckStatus,
    PluginCheckResult,
    PluginInstance,
)

pytestmark = pytest.mark.django_db

KEY = "flaky-key-S3CRET-77"


def url(name: str, *args: Any) -> str:
    return reverse(PluginInstance.snippet_viewset.get_url_name(name), args=args)  # type: ignore[attr-defined]


@pytest.fixture
def editor(client: Client, synced: Any) -> Client:
    client.force_login(WagtailTestUtils.create_superuser("editor", password="pw"))  # type: ignore[arg-type]
    return client


def settings(**values: Any) -> Any:
    return override_settings(WAGTAIL_PLUGIN_SYSTEM={"SYNC_AFTER_MIGRATE": False, **values})


def test_test_again_within_the_interval_shows_the_last_result_and_when(
    editor: Client, make_instance: Any
) -> None:
    flaky = make_instance(FlakyGateway, "Flaky", config={"api_key": KEY, "fail_with": "x"})
    with settings(CHECK_MIN_INTERVAL=120):
        first = editor.post(url("check", flaky.pk), follow=True).content.decode()
        second = editor.post(url("check", flaky.pk), follow=True).content.decode()
    assert "failed its check" in first
    assert "was checked" in second
    assert "Failed" in second
    waiting = re.search(r"The next check is allowed in (\d+) s", second)
    assert waiting is not None
    assert 0 < int(waiting.group(1)) <= 120
    assert KEY not in second
    assert PluginCheckResult.objects.filter(instance=flaky).count() == 1


def test_inspect_shows_recent_checks_as_a_chart_and_a_table(
    editor: Client, make_instance: Any
) -> None:
    flaky = make_instance(FlakyGateway, "Flaky", config={"api_key": KEY, "fail_with": ""})
    for _ in range(3):
        run_health_check(flaky, source=CheckSource.TASK)
    PluginInstance.objects.filter(pk=flaky.pk).update(config={"api_key": KEY, "fail_with": "x"})
    run_health_check(PluginInstance.objects.get(pk=flaky.pk))
    soup = WagtailTestUtils.get_soup(editor.get(url("inspect", flaky.pk)).content)  # type: ignore[arg-type]
    chart = soup.select_one("[data-plugin-check-chart] svg")
    assert chart is not None
    assert chart["role"] == "img"
    bars = chart.select("rect")
    assert len(bars) == 4
    titles = [bar.title.get_text() for bar in bars]  # oldest first
    assert [title.split(": ", 1)[1].split(",")[0] for title in titles] == [
        "Passed",
        "Passed",
        "Passed",
        "Failed",
    ]
    assert bars[3]["class"] == ["w-text-critical-200"]
    assert bars[0]["class"] == ["w-text-positive-100"]
    rows = soup.select("dd table.listing tbody tr")
    assert len(rows) == 4
    newest = rows[0].get_text(" ", strip=True)
    assert "Failed" in newest
    assert "An editor (Test)" in newest
    assert "A background task" in rows[1].get_text(" ", strip=True)
    assert KEY not in str(soup)


def test_inspect_reads_the_history_in_one_query(editor: Client, make_instance: Any) -> None:
    flaky = make_instance(FlakyGateway, "Flaky", config={"api_key": KEY, "fail_with": ""})

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert editor.get(url("inspect", flaky.pk)).status_code == 200
        return len(captured)

    run_health_check(flaky)
    one = queries()
    for _ in range(20):
        run_health_check(flaky)
    assert queries() == one


def test_the_listing_says_timed_out(editor: Client, make_instance: Any) -> None:
    flaky = make_instance(FlakyGateway, "Flaky", config={"api_key": KEY, "fail_with": ""})
    PluginCheckResult.objects.create(
        instance=flaky, status=CheckStatus.TIMED_OUT, source=CheckSource.TASK
    )
    PluginInstance.objects.filter(pk=flaky.pk).update(
        last_check_at=timezone.now(), last_check_ok=False, last_check_message="x"
    )
    soup = WagtailTestUtils.get_soup(editor.get(url("list")).content)  # type: ignore[arg-type]
    row = next(tr for tr in soup.select("tbody tr") if "Flaky" in tr.get_text())
    assert "Timed out" in row.get_text(" ", strip=True)


def panel(client: Client) -> list[str]:
    soup = WagtailTestUtils.get_soup(client.get(reverse("wagtailadmin_home")).content)  # type: ignore[arg-type]
    return [row.get_text(" ", strip=True) for row in soup.select("tr[data-stale-check]")]


def test_the_panel_lists_active_instances_not_checked_for_too_long(
    editor: Client, make_instance: Any
) -> None:
    PluginInstance.objects.all().update(status="disabled")
    long_ago = timezone.now() - dt.timedelta(days=3)
    never = make_instance(FlakyGateway, "Never checked", config={"api_key": "a"})
    old = make_instance(FlakyGateway, "Checked long ago", config={"api_key": "b"})
    make_instance(FlakyGateway, "Checked now", config={"api_key": "c"})
    make_instance(FlakyGateway, "New", config={"api_key": "d"})
    reserved = make_instance(FlakyGateway, "Reserved", config={"api_key": "e"}, status="reserved")
    PluginInstance.objects.filter(pk__in=[never.pk, old.pk, reserved.pk]).update(
        created_at=long_ago
    )
    PluginInstance.objects.filter(pk=old.pk).update(
        last_check_at=long_ago + dt.timedelta(hours=1), last_check_ok=True
    )
    run_health_check(PluginInstance.objects.get(name="Checked now"))
    rows = panel(editor)
    assert len(rows) == 2, rows
    assert rows[0].startswith("Checked long ago Not checked for 2\xa0days, 23\xa0hours.")
    assert rows[1].startswith("Never checked Never checked, in 3\xa0days since it was created.")
    assert all("manage.py pluginhealth" in row for row in rows)
    with settings(CHECK_STALE_AFTER=0):
        assert panel(editor) == []
    with settings(CHECK_STALE_AFTER=7 * 86400):
        assert panel(editor) == []
