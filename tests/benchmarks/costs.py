"""The cost rows of ``make bench --only costs``: chooser blocks against Wagtail's own
blocks, cold selection against the size of the table and of the type, a failed
failover candidate against a plain loop, and the page hook on content without
chooser blocks.

Every comparison is measured interleaved in the same rounds; ``ratios()`` gives
the ratio of medians with its spread (lowest and highest ratio of the rounds'
extremes). Import after ``django.setup()``.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from django import forms
from django.core.cache import cache as django_cache
from django.template.loader import render_to_string
from django.test import RequestFactory
from wagtail.blocks import CharBlock, PageChooserBlock, StreamBlock, StreamValue, StructBlock
from wagtail.models import Page, Site

from tests.benchmarks import harness
from tests.testapp.factories import STRIPE_CONFIG
from tests.testapp.plugins import (
    FlakyGateway,
    PaymentGatewayType,
    ProviderError,
    StripeGateway,
    WidgetType,
)
from tests.testapp.statistics import analyze_instances
from wagtail_plugin_system import BasePluginItem, PluginConfiguration, get_plugin_instance
from wagtail_plugin_system import cache as plugin_cache
from wagtail_plugin_system.blocks import PluginInstanceChooserBlock, prefetch_plugin_blocks
from wagtail_plugin_system.core.registry import registry
from wagtail_plugin_system.models import PluginInstance, PluginItem
from wagtail_plugin_system.sync import sync_plugins

BANNERS = 10
OTHER_ROWS = 30_000
BIG_TYPE = 10_000


class CardForm(forms.Form):
    headline = forms.CharField()
    token = forms.CharField()
    name = forms.CharField()


class CardConfiguration(PluginConfiguration):
    form_class = CardForm


class CardWidget(BasePluginItem):
    """The chooser blocks' item: its template prints what the StructBlock's prints,
    with the same four lookups (``config.x`` against ``self.x``), so the two pages
    differ only in how the block gets to its template."""

    name = "bench_card"
    plugin_type = WidgetType
    configuration = CardConfiguration
    template_name = "bench/card.html"

    def headline(self) -> str:
        return str(self.config["headline"])


CHOOSERS = StreamBlock([("widget", PluginInstanceChooserBlock(plugin_type="widget"))])
PAGE_CHOOSERS = StreamBlock([("page", PageChooserBlock(template="bench/page_link.html"))])
STRUCTS = StreamBlock(
    [
        (
            "banner",
            StructBlock(
                [("headline", CharBlock()), ("token", CharBlock()), ("name", CharBlock())],
                template="bench/struct.html",
            ),
        )
    ]
)
CHARS = StreamBlock([("text", CharBlock())])
NO_CHOOSER = StreamBlock(
    [
        ("heading", CharBlock()),
        ("card", StructBlock([("title", CharBlock()), ("body", CharBlock())])),
    ]
)


def _stream(block: StreamBlock, raw: list[dict[str, Any]]) -> StreamValue:
    return StreamValue(block, raw, is_lazy=True)


class Pages:
    """Pages of n blocks rendered as a served page renders them (one RequestContext).

    The kinds: chooser blocks of ``CardWidget`` instances; Wagtail's templated
    StructBlocks printing the same HTML with the same lookups; CharBlocks; and
    Wagtail's own ``PageChooserBlock`` with a template, which reads its pages
    with one query on every render (for the cold rows).
    """

    def __init__(self) -> None:
        registry.register_item(CardWidget)
        sync_plugins()
        self.banners = [
            PluginInstance.objects.create_instance(
                CardWidget,
                name=f"B {n}",
                config={"headline": f"Headline {n}", "token": "t", "name": f"B {n}"},
                priority=500 + n,
            )
            for n in range(BANNERS)
        ]
        root = Site.objects.get(is_default_site=True).root_page
        self.pages = [
            root.add_child(instance=Page(title=f"Costs page {n}", slug=f"costs-page-{n}"))
            for n in range(BANNERS)
        ]
        self.request = RequestFactory().get("/")
        self.request.user = _anonymous()

    def raw(self, kind: str, size: int) -> list[dict[str, Any]]:
        if kind == "chooser":
            return [
                {"type": "widget", "value": self.banners[n % BANNERS].pk, "id": f"c{n}"}
                for n in range(size)
            ]
        if kind == "page":
            return [
                {"type": "page", "value": self.pages[n % len(self.pages)].pk, "id": f"p{n}"}
                for n in range(size)
            ]
        if kind == "struct":
            return [
                {
                    "type": "banner",
                    "value": {
                        "headline": f"Headline {n % BANNERS}",
                        "token": "t",
                        "name": f"B {n % BANNERS}",
                    },
                    "id": f"s{n}",
                }
                for n in range(size)
            ]
        return [{"type": "text", "value": f"Text {n}", "id": f"t{n}"} for n in range(size)]

    def case(
        self,
        kind: str,
        size: int,
        *,
        state: str = "warm",
        context: Callable[[], AbstractContextManager[object]] | None = None,
    ) -> harness.Case:
        """A page of ``size`` blocks of ``kind``, rendered ``state``: "warm"; "cold" (this
        process's memo cleared, as in a new worker: the rows come from the shared cache);
        or "changed" (the shared cache cleared too, as for the first process to render
        after a change: the rows come from the database)."""
        block = {"chooser": CHOOSERS, "page": PAGE_CHOOSERS, "struct": STRUCTS, "char": CHARS}[kind]
        raw = self.raw(kind, size)
        request = self.request

        def render() -> str:
            with plugin_cache.version_scope():  # as the middleware scopes a request
                body = _stream(block, raw)  # a page read from the database: lazy raw data
                prefetch_plugin_blocks(body)  # what the before_serve_page hook does
                return render_to_string("bench/page.html", {"body": body}, request=request)

        expected = 0 if kind == "char" else size
        same = self.raw("struct", size) if kind == "chooser" else None

        def check(html: object) -> bool:
            if not isinstance(html, str) or html.count('class="banner"') != expected:
                return False
            if same is not None:  # the same HTML as the StructBlocks' page
                return html == _struct_page(same)
            return True

        return harness.Case(
            render,
            number=max(1, 300 // size),
            setup={"warm": None, "cold": plugin_cache.clear, "changed": _forget_everything}[state],
            check=check,
            context=context,
        )


def _forget_everything() -> None:
    plugin_cache.clear()
    django_cache.clear()  # the token too: the next read makes a new one


def _struct_page(raw: list[dict[str, Any]]) -> str:
    body = _stream(STRUCTS, raw)
    return render_to_string("bench/page.html", {"body": body})


def _anonymous() -> Any:
    from django.contrib.auth.models import AnonymousUser

    return AnonymousUser()


# -- cold selection --------------------------------------------------------------------


def bulk(item_name: str, prefix: str, count: int, *, first_priority: int) -> None:
    item = PluginItem.objects.get(name=item_name)
    PluginInstance.objects.bulk_create(
        [
            PluginInstance(item=item, name=f"{prefix} {n}", priority=first_priority + n)
            for n in range(count)
        ],
        batch_size=1000,
    )
    steady()


def remove(prefix: str) -> None:
    PluginInstance.objects.filter(name__startswith=f"{prefix} ").delete()
    steady()


def steady() -> None:
    """After a bulk change, the state a live site soon reaches: fresh statistics (as
    autovacuum would make), and the bench process's own garbage of the change collected
    (its thousands of model objects would otherwise be paid for by the next rows'
    collections)."""
    analyze_instances()
    gc.collect()


def cold_widget() -> harness.Case:
    """Cold get_plugin_instance of the widget type (banners only)."""
    first = PluginInstance.objects.of_type("widget").order_by("priority").first()
    assert first is not None
    name = first.name

    def check(item: object) -> bool:
        return getattr(getattr(item, "plugin_instance", None), "name", None) == name

    return harness.Case(
        lambda: get_plugin_instance("widget"), number=50, setup=plugin_cache.clear, check=check
    )


# -- failover --------------------------------------------------------------------------

_loop_logger = logging.getLogger("wagtail_plugin_system.bench_loop")


def failing_loop(item: Any, good: Any) -> Callable[[], object]:
    """A hand-written failover loop that logs the same warning as call_with_failover."""

    def call() -> object:
        for candidate in (item, good):
            try:
                return candidate.create_payment(1)
            except ProviderError as exc:
                _loop_logger.warning(
                    "Plugin instance %s (%r) of type %r failed in %s(): %s",
                    1,
                    "Flaky",
                    PaymentGatewayType.name,
                    "create_payment",
                    f"{type(exc).__name__}: {exc}",
                )
        return None

    return call


@contextmanager
def quiet_warnings() -> Iterator[None]:
    """Warnings are formatted and handled (as in production), but not printed."""
    handler = logging.NullHandler()
    root = logging.getLogger()
    previous = root.handlers[:]
    root.handlers = [handler]
    try:
        yield
    finally:
        root.handlers = previous


def stripe_and_flaky() -> tuple[Any, Any]:
    flaky = FlakyGateway(config={"api_key": "flaky-key-123", "fail_with": "provider"})
    stripe = StripeGateway(config=dict(STRIPE_CONFIG))
    return flaky, stripe


def failover_event_case(fixtures: Any) -> harness.Case:
    """What the first failure of a minute writes: one failover event (and its signal)."""
    from wagtail_plugin_system import traffic
    from wagtail_plugin_system.core.registry import registry as plugin_registry

    entry = plugin_registry.get_type_entry(PaymentGatewayType)
    failed = [(fixtures.flaky, "ProviderError: the provider said no")]

    def write() -> None:
        traffic.failed_over_event(entry, "create_payment", failed, fixtures.stripe)

    # Forgetting what was written makes each call the first of its minute: a written row.
    return harness.Case(write, number=300, setup=traffic.discard)


# -- page hook -------------------------------------------------------------------------


def hook_case(size: int) -> harness.Case:
    raw = [
        {"type": "heading", "value": f"Heading {n}", "id": str(n)}
        if n % 2
        else {"type": "card", "value": {"title": "T", "body": "B"}, "id": str(n)}
        for n in range(size)
    ]
    value = _stream(NO_CHOOSER, raw)  # stays lazy: the hook does not read it
    return harness.Case(lambda: prefetch_plugin_blocks(value), number=2000)


def ratio(
    row_a: harness.Row, row_b: harness.Row, system_a: str = "ours", system_b: str = "ours"
) -> str:
    a = row_a.cells[system_a].timing
    b = row_b.cells[system_b].timing
    if a is None or b is None:
        return "n/a"
    return f"{a.median / b.median:.2f}x (spread {a.low / b.high:.2f}-{a.high / b.low:.2f})"
