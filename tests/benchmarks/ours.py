"""The wagtail-plugin-system side of ``make bench``: fixtures and helpers.

Only the public API is used (plus ``registry.isolated()`` and the registry's
type table to swap in the generated plugins of the sync scenarios), so the
numbers are those of whatever the package does when the benchmark runs.
Import after ``django.setup()``.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from importlib import import_module
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache as django_cache
from django.db import connection
from django.test import Client, RequestFactory
from wagtail.models import ModelLogEntry, Site

from tests.testapp.factories import STRIPE_CONFIG
from tests.testapp.models import PluginPage
from tests.testapp.plugins import (
    BannerWidget,
    FlakyGateway,
    PaymentGatewayType,
    ProviderError,
    SilentWidget,
    StripeGateway,
)
from tests.testapp.statistics import analyze_instances
from wagtail_plugin_system import BasePluginItem, BasePluginType, PluginStatus
from wagtail_plugin_system.core.registry import PluginRegistry, registry
from wagtail_plugin_system.models import (
    PluginInstance,
    PluginItem,
    PluginSiteChoice,
    PluginSiteSettings,
    PluginType,
)
from wagtail_plugin_system.sync import sync_plugins

FLAKY_CONFIG = {"api_key": "flaky-key-123", "fail_with": "provider"}
BANNERS = 10

#: Where a cache-reset hook may live, and what it may be called, in the order tried.
_HOOK_MODULES = ("cache", "caching", "selection")
_HOOK_NAMES = ("clear", "reset", "clear_cache", "reset_cache", "cache_clear")


def cache_reset_hook() -> tuple[Callable[[], object] | None, str]:
    """The package's in-process cache reset function, if it has one, and its name."""
    for module_name in _HOOK_MODULES:
        try:
            module = import_module(f"wagtail_plugin_system.{module_name}")
        except ImportError:
            continue
        for name in _HOOK_NAMES:
            hook = getattr(module, name, None)
            if callable(hook):
                return hook, f"wagtail_plugin_system.{module_name}.{name}()"
    return None, ""


def version_scope() -> Any:
    """The package's per-unit-of-work cache scope (a context manager factory), or None."""
    try:
        module = import_module("wagtail_plugin_system.cache")
    except ImportError:
        return None
    return getattr(module, "version_scope", None)


def cold_setup() -> Callable[[], None]:
    """Clear Django's cache, and the package's own in-process cache when it has one."""
    hook, _ = cache_reset_hook()

    def setup() -> None:
        django_cache.clear()
        if hook is not None:
            hook()

    return setup


def named(name: str) -> Callable[[object], bool]:
    def check(result: object) -> bool:
        instance = getattr(result, "plugin_instance", None)
        return getattr(instance, "name", None) == name

    return check


class Fixtures:
    """Synced test plugins, a Stripe instance (selected), a flaky one (disabled), a site choice."""

    def __init__(self) -> None:
        registry.register_item(BannerWidget)
        registry.register_item(SilentWidget)
        sync_plugins()
        self.stripe = PluginInstance.objects.create_instance(
            StripeGateway, name="Stripe", config=dict(STRIPE_CONFIG), priority=10
        )
        self.bank = PluginInstance.objects.get(item__name="bank_transfer")
        self.flaky = PluginInstance.objects.create_instance(
            FlakyGateway,
            name="Flaky",
            config=dict(FLAKY_CONFIG),
            priority=1,
            status=PluginStatus.DISABLED,
        )
        self.site = Site.objects.get(is_default_site=True)
        PluginSiteChoice.objects.create(
            setting=PluginSiteSettings.for_site(self.site),
            plugin_type=self.bank.item.plugin_type,
            instance=self.bank,
        )
        self.request = RequestFactory().get("/")

    def set_flaky(self, status: str) -> None:
        self.flaky.status = status
        self.flaky.save()


def baseline_failover(amount: int) -> str:
    """Hand-written failover without a plugin system: try Flaky, then Stripe."""
    try:
        return FlakyGateway(config=FLAKY_CONFIG).create_payment(amount)
    except ProviderError:
        return StripeGateway(config=STRIPE_CONFIG).create_payment(amount)


# -- pages -----------------------------------------------------------------------------------

#: The chooser block kinds of the test app's ``PluginPage``, in round-robin order.
BLOCK_KINDS = ("widget", "gateway", "widget_or_default", "gateway_card")


class Pages:
    """Published ``PluginPage`` s: per size, one page of widget blocks and one of the four
    block kinds mixed (round-robin).

    ``widget`` blocks choose one of 10 banner instances; ``gateway`` and
    ``gateway_card`` blocks choose the Stripe instance (the first renders nothing,
    the item has no template; the second renders a card); ``widget_or_default``
    blocks choose nothing, so they render the widget type's selected instance
    (a memoised resolution). "Banner 0" is that instance, so the page template's
    ``{% plugin "widget" %}`` renders a banner too.
    """

    def __init__(self, fixtures: Fixtures, sizes: tuple[int, ...]) -> None:
        banners = [
            PluginInstance.objects.create_instance(
                BannerWidget,
                name=f"Banner {n}",
                config={"headline": f"Headline {n}", "token": f"token-{n:04d}"},
                priority=1 + n,
            )
            for n in range(BANNERS)
        ]
        values: dict[str, Callable[[int], PluginInstance | None]] = {
            "widget": lambda n: banners[n % BANNERS],
            "gateway": lambda n: fixtures.stripe,
            "widget_or_default": lambda n: None,
            "gateway_card": lambda n: fixtures.stripe,
        }
        root = Site.objects.get(is_default_site=True).root_page
        #: (composition, size) -> (url, block kinds in order)
        self.pages: dict[tuple[str, int], tuple[str, list[str]]] = {}
        for composition in ("widget", "mixed"):
            for size in sizes:
                kinds = [
                    BLOCK_KINDS[n % len(BLOCK_KINDS)] if composition == "mixed" else "widget"
                    for n in range(size)
                ]
                page = PluginPage(
                    title=f"Bench {composition} {size}",
                    slug=f"bench-{composition}-{size}",
                    body=[(kind, values[kind](n)) for n, kind in enumerate(kinds)],
                )
                root.add_child(instance=page)
                page.save_revision().publish()
                self.pages[composition, size] = (page.url, kinds)
        self.client = Client()


def render_check(kinds: list[str]) -> Callable[[object], bool]:
    """Every block rendered: one banner per widget block (chosen or fallen back to) plus
    the template's ``{% plugin "widget" %}``, one card per card block, ``[]`` per gateway
    block (its item has no template)."""
    banners = kinds.count("widget") + kinds.count("widget_or_default") + 1
    cards = kinds.count("gateway_card")
    empty = kinds.count("gateway")

    def check(response: object) -> bool:
        status = getattr(response, "status_code", None)
        content: bytes = getattr(response, "content", b"")
        return (
            status == 200
            and content.count(b'<div class="banner">Headline 0|') >= 1
            and content.count(b'class="banner"') == banners
            and content.count(b'<div class="gateway-card">Stripe:stripe</div>') == cards
            and content.count(b"[]") == empty
        )

    return check


# -- admin -----------------------------------------------------------------------------------


def superuser_client() -> Client:
    user_model: Any = get_user_model()
    user = user_model.objects.filter(username="bench").first() or (
        user_model.objects.create_superuser("bench", "bench@example.com", "bench")
    )
    client = Client()
    client.force_login(user)
    return client


def stripe_config() -> dict[str, Any]:
    """The Stripe configuration as the item's form cleans it (what the admin would store)."""
    assert StripeGateway.configuration is not None
    return StripeGateway.configuration.validate(dict(STRIPE_CONFIG))


def bulk_instances(prefix: str, count: int, *, first_priority: int) -> None:
    """Add ``count`` Stripe instances named ``<prefix> <n>`` in one ``bulk_create``.

    The configuration is encrypted by the field, as with ``create_instance``; it
    is validated once, for all of them. Priorities count up from ``first_priority``
    after the instances of that prefix already there.
    """
    if count <= 0:
        return
    item = PluginItem.objects.get(plugin_type__name=PaymentGatewayType.name, name="stripe")
    config = stripe_config()
    start = PluginInstance.objects.filter(name__startswith=f"{prefix} ").count()
    PluginInstance.objects.bulk_create(
        [
            PluginInstance(
                item=item, name=f"{prefix} {n}", config=config, priority=first_priority + n
            )
            for n in range(start, start + count)
        ],
        batch_size=500,
    )
    analyze_instances()  # the statistics a live site's autovacuum would keep


def make_instances(total: int) -> None:
    """Bring the number of instances up to ``total`` (Stripe instances, priorities from 100)."""
    bulk_instances("Stripe", total - PluginInstance.objects.count(), first_priority=100)


def remove_bulk_instances(prefix: str = "Stripe") -> None:
    PluginInstance.objects.filter(name__startswith=f"{prefix} ").delete()


# -- growth ----------------------------------------------------------------------------------


def gateway_instances() -> int:
    return PluginInstance.objects.of_type(PaymentGatewayType).count()


def grow_to(total: int) -> None:
    """Give the payment gateway type ``total`` instances with "Growth <n>" ones.

    Their priorities start at 0, below every fixture's, so "Growth 0" is the one
    selected: a cold resolution has the whole type to order. Raises when the
    stored configuration is not encrypted (``bulk_create`` must go through the
    field as ``save()`` does); the scenarios' checks show that it decrypts.
    """
    bulk_instances("Growth", total - gateway_instances(), first_priority=0)
    table = connection.ops.quote_name(PluginInstance._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT config FROM {table} WHERE name = %s", ["Growth 0"])
        (stored,) = cursor.fetchone() or ("",)
    if "sk_live" in str(stored) or "EUR" in str(stored):
        raise ValueError("bulk_create stored the configuration in plaintext")


def ok(response: object) -> bool:
    return getattr(response, "status_code", None) == 200


# -- sync ------------------------------------------------------------------------------------


def register_many(target: PluginRegistry, total: int, types: int) -> None:
    """``total`` items without configuration spread over ``types`` types."""
    for t in range(types):
        type_class = type(
            f"BenchType{t}",
            (BasePluginType,),
            {"name": f"bench_type_{t}", "run": abstractmethod(lambda self: None)},
        )
        for i in range(total // types):
            target.register_item(
                type(
                    f"BenchItem{t}_{i}",
                    (BasePluginItem,),
                    {"name": f"item_{i}", "plugin_type": type_class, "run": lambda self: None},
                )
            )


def clear_tables() -> None:
    """Empty the plugin tables and the sync's history entries (as in a new project)."""
    models = (PluginType, PluginItem, PluginInstance)
    content_types = ContentType.objects.get_for_models(*models).values()
    ModelLogEntry.objects.filter(content_type__in=list(content_types)).delete()
    PluginSiteChoice.objects.all().delete()
    PluginInstance.objects.all().delete()
    PluginItem.objects.all().delete()
    PluginType.objects.all().delete()


def sync() -> object:
    return sync_plugins()
