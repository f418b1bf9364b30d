"""The admin's charts: one drawing module for the check durations and the traffic."""

from __future__ import annotations

from typing import Any

import pytest
from bs4 import BeautifulSoup, Tag
from django.test import Client, override_settings
from django.urls import reverse
from wagtail.test.utils import WagtailTestUtils

from tests.testapp.plugins import FlakyGateway, PaymentGatewayType
from wagtail_plugin_system import breaker, cache, call_with_failover, traffic
from wagtail_plugin_system.admin.charts import Bar, Frame, Layer, Line, bar_chart
from wagtail_plugin_system.health import run_health_check
from wagtail_plugin_system.models import PluginInstance

pytestmark = pytest.mark.django_db

SECRET = "sk-chart-s3cret"
HOSTILE = "<script>alert('x')</script>\"><svg onload=alert(1)>&amp;"


def svg_of(markup: str) -> Tag:
    svg = BeautifulSoup(markup, "html.parser").find("svg")
    assert isinstance(svg, Tag)
    return svg


def skeleton(svg: Tag) -> list[Any]:
    """What the drawing module decides: the elements, their order and their attributes."""
    children = [child for child in svg.children if isinstance(child, Tag)]
    return [
        sorted(svg.attrs),
        [(child.name, sorted(child.attrs)) for child in children],
        sorted({(rect.name, *sorted(rect.attrs)) for rect in svg.select("rect")}),
    ]


def baseline(svg: Tag) -> float:
    line = svg.find("line")
    assert isinstance(line, Tag)
    return float(str(line["y1"]))


def bottoms(svg: Tag) -> set[float]:
    return {
        round(float(str(rect["y"])) + float(str(rect["height"])), 1) for rect in svg.select("rect")
    }


@pytest.fixture
def hostile(synced: Any) -> PluginInstance:
    """A gateway with a hostile name, some calls (one failed) and two health checks."""
    cache.clear()
    breaker.forget()
    traffic.discard()
    instance = PluginInstance.objects.create_instance(
        FlakyGateway, name=HOSTILE, priority=1, config={"api_key": SECRET, "fail_with": ""}
    )
    run_health_check(instance)
    with override_settings(WAGTAIL_PLUGIN_SYSTEM={"BREAKER_FAILURES": 0}):
        call_with_failover(PaymentGatewayType, "create_payment", 10)
        PluginInstance.objects.filter(pk=instance.pk).update(
            config={"api_key": SECRET, "fail_with": "provider"}
        )
        cache.bump_version()
        call_with_failover(PaymentGatewayType, "create_payment", 10)
    traffic.flush()
    run_health_check(PluginInstance.objects.get(pk=instance.pk))
    return instance


@pytest.fixture
def inspect_page(client: Client, hostile: PluginInstance) -> str:
    client.force_login(WagtailTestUtils.create_superuser("editor", password="pw"))  # type: ignore[arg-type]
    url = reverse("wagtail_plugin_system_instances:inspect", args=[hostile.pk])
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def charts_of(page: str) -> tuple[Tag, Tag]:
    soup = BeautifulSoup(page, "html.parser")
    checks = soup.select_one("[data-plugin-check-chart] svg")
    calls = soup.select_one(".wps-traffic-chart svg")
    assert checks is not None, "no chart of the checks"
    assert calls is not None, "no chart of the traffic"
    return checks, calls


def test_both_charts_are_drawn_by_the_shared_module(inspect_page: str) -> None:
    checks, calls = charts_of(inspect_page)
    # Each is exactly what the drawing module makes of its own series: same elements, in
    # the same order, with the same attributes (the traffic chart adds the description
    # and the latency line, which the module draws for it)...
    drawn_checks = svg_of(bar_chart([Layer([Bar(1, "a")])], chart_id="c", title="t"))
    drawn_calls = svg_of(
        bar_chart(
            [Layer([Bar(3, "a")], opacity=0.45), Layer([Bar(1, "b", "critical")])],
            chart_id="c",
            title="t",
            description="d",
            line=Line([5.0]),
        )
    )
    assert skeleton(checks) == skeleton(drawn_checks)
    assert skeleton(calls) == skeleton(drawn_calls)
    # ... so they share its structure, and its geometry: every bar stands on the baseline.
    assert skeleton(checks)[2] == skeleton(calls)[2]
    assert [name for name, _ in skeleton(calls)[1]] == [
        "title",
        "desc",
        "g",
        "line",
        "g",
        "g",
        "path",
    ]
    for svg in (checks, calls):
        assert svg["role"] == "img"
        # Each of y and height is written to one decimal, so their sum may be 0.1 off.
        assert all(abs(bottom - baseline(svg)) <= 0.1 + 1e-9 for bottom in bottoms(svg))
        for part in str(svg["aria-labelledby"]).split():
            assert svg.find(id=part) is not None
    assert len(checks.select("rect")) == 2
    titles = [str(rect.title.get_text()) for rect in calls.select("rect") if rect.title]
    assert any(title.endswith(": 2 calls") for title in titles)
    assert any(title.endswith(": 1 failure") for title in titles)


def test_the_same_series_draws_the_same_bars() -> None:
    bars = [Bar(value, f"{value}") for value in (0, 4, 2, 8)]
    frame = Frame(width=400, height=100, left=40, top=10, fill=0.5)
    one = svg_of(bar_chart([Layer(bars)], chart_id="a", title="A", frame=frame))
    two = svg_of(bar_chart([Layer(bars)], chart_id="b", title="B", frame=frame))
    rects = [(r["x"], r["y"], r["width"], r["height"]) for r in one.select("rect")]
    assert rects == [(r["x"], r["y"], r["width"], r["height"]) for r in two.select("rect")]
    # Columns of 90 px, bars half as wide in their middle, one scale up to the highest
    # bar over 90 px of plot; a bar of 0 is not drawn...
    assert rects == [
        ("152.5", "55.0", "45.0", "45.0"),
        ("242.5", "77.5", "45.0", "22.5"),
        ("332.5", "10.0", "45.0", "90.0"),
    ]
    # ... unless the layer keeps it as a sliver.
    kept = svg_of(bar_chart([Layer(bars, min_height=2)], chart_id="a", title="A", frame=frame))
    assert kept.select("rect")[0]["height"] == "2.0"


def test_the_drawing_module_escapes_every_text() -> None:
    markup = bar_chart(
        [Layer([Bar(1, HOSTILE, tone=HOSTILE)])],
        chart_id=HOSTILE,
        title=HOSTILE,
        description=HOSTILE,
        frame=Frame(left=40, bottom=20),
        scale_label=HOSTILE,
        zero_label=HOSTILE,
        line=Line([1.0], scale_label=HOSTILE),
        ticks=[(0, HOSTILE)],
    )
    assert "<script" not in markup
    assert "<svg onload" not in markup
    assert HOSTILE not in markup
    svg = svg_of(markup)
    texts = [svg.title, svg.desc, svg.rect.title, *svg.select("text")]  # type: ignore[union-attr]
    assert [str(text.get_text()) for text in texts if text] == [HOSTILE] * 7


def test_a_hostile_instance_name_stays_out_of_both_charts(inspect_page: str) -> None:
    assert HOSTILE not in inspect_page
    assert "<script>alert" not in inspect_page
    assert "<svg onload" not in inspect_page
    assert SECRET not in inspect_page
    for svg in charts_of(inspect_page):
        assert "alert" not in str(svg)
        assert SECRET not in str(svg)
