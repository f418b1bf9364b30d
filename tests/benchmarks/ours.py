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
from django.core.cache import cache as django_cache
from django.test import Client, RequestFactory
from wagtail.models import Site

from tests.testapp.factories import STRIPE_CONFIG
from tests.testapp.models import PluginPage
from tests.testapp.plugins import (
    BannerWidget,
    FlakyGateway,
    ProviderError,
    SilentWidget,
    StripeGateway,
)
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


class Pages:
    """Published ``PluginPage`` s with 1, 10 and 100 banner blocks (10 banner instances)."""

    def __init__(self, sizes: tuple[int, ...]) -> None:
        banners = [
            PluginInstance.objects.create_instance(
                BannerWidget,
                name=f"Banner {n}",
                config={"headline": f"Headline {n}", "token": f"token-{n:04d}"},
            )
            for n in range(BANNERS)
        ]
        root = Site.objects.get(is_default_site=True).root_page
        self.urls: dict[int, str] = {}
        for size in sizes:
            page = PluginPage(
                title=f"Bench {size}",
                slug=f"bench-{size}",
                body=[("widget", banners[n % BANNERS]) for n in range(size)],
            )
            root.add_child(instance=page)
            page.save_revision().publish()
            self.urls[size] = page.url
        self.client = Client()


def render_check(blocks: int) -> Callable[[object], bool]:
    def check(response: object) -> bool:
        status = getattr(response, "status_code", None)
        content = getattr(response, "content", b"")
        # Each block renders a banner; the page template adds one more through {% plugin %}.
        return status == 200 and content.count(b'class="banner"') >= blocks

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


def make_instances(total: int) -> None:
    """Bring the number of instances up to ``total`` (Stripe instances, validated config)."""
    for n in range(total - PluginInstance.objects.count()):
        PluginInstance.objects.create_instance(
            StripeGateway, name=f"Stripe {n}", config=dict(STRIPE_CONFIG), priority=100 + n
        )


def remove_bulk_instances() -> None:
    PluginInstance.objects.filter(name__startswith="Stripe ").delete()


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
    PluginSiteChoice.objects.all().delete()
    PluginInstance.objects.all().delete()
    PluginItem.objects.all().delete()
    PluginType.objects.all().delete()


def sync() -> object:
    return sync_plugins()
