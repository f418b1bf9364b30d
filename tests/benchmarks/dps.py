"""The django-plugin-system 2.0.9 side of ``make bench``.

The same plugins as the test app (a payment gateway type with Stripe, bank
transfer and a flaky gateway) are written against django-plugin-system's API
and registered in its own registry; its tables live in the same database as
ours under the ``django_plugin_system`` app label.

Import this module only after ``django.setup()``, and only when the package
is installed (see :data:`tests.benchmarks.settings.DPS_INSTALLED`).
"""

# django-plugin-system ships no type information: its classes are Any to mypy.
# mypy: disable-error-code="import-untyped, misc"

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.core.cache import cache
from django_plugin_system import (
    BasePluginItem,
    BasePluginType,
    PluginConfiguration,
    get_active_plugins,
    get_plugin_instance,
    get_plugin_instance_by_id,
    get_reserve_plugins,
    plugin_core,
    register_plugin_item,
    register_plugin_type,
    storage,
)
from django_plugin_system.models import PluginInstance, PluginItem, PluginStatus, PluginType
from django_plugin_system.services import sync_registered_plugins_to_db

from tests.testapp.factories import STRIPE_CONFIG
from tests.testapp.plugins import FlakyForm, ProviderError, StripeForm


# django-plugin-system 2.0.9 cannot define a single plugin item: BasePluginItem's
# __init_subclass__ calls plugin_type.__plugin_item_validator__(cls), and the default
# implementation of that classmethod on BasePluginType calls
# cls.__plugin_item_validator__(...) again, i.e. itself, until RecursionError. The
# hook is meant for types to override, and the default is meant to do nothing, so we
# replace it with exactly that before any item class below is defined. Nothing else of
# the package's code is changed (its admin only shows as many rows per page as ours, see
# set_admin_page_size): every number in its column is its own code.
def _validate_nothing(cls: type[BasePluginType], plugin_item_cls: type[BasePluginItem]) -> None:
    return None


plugin_core.BasePluginType.__plugin_item_validator__ = classmethod(_validate_nothing)


class DpsPaymentGatewayType(BasePluginType):
    name = "payment_gateway"
    description = "Takes payments."

    @abstractmethod
    def create_payment(self, amount: int) -> str: ...


class DpsStripeConfiguration(PluginConfiguration):
    form_class = StripeForm


class DpsStripeGateway(BasePluginItem):
    name = "stripe"
    plugin_type = DpsPaymentGatewayType
    configuration = DpsStripeConfiguration

    def create_payment(self, amount: int) -> str:
        return f"stripe:{amount}:{self.config['currency']}"


class DpsBankTransferGateway(BasePluginItem):
    name = "bank_transfer"
    plugin_type = DpsPaymentGatewayType

    def create_payment(self, amount: int) -> str:
        return f"bank:{amount}"


class DpsFlakyConfiguration(PluginConfiguration):
    form_class = FlakyForm


class DpsFlakyGateway(BasePluginItem):
    name = "flaky"
    plugin_type = DpsPaymentGatewayType
    configuration = DpsFlakyConfiguration

    def create_payment(self, amount: int) -> str:
        if self.config.get("fail_with") == "provider":
            raise ProviderError(f"provider rejected key {self.config['api_key']}")
        return f"flaky:{amount}"


def register() -> None:
    """Register the gateway plugins, with the same priorities as the test app's."""
    register_plugin_type({"interface": DpsPaymentGatewayType})
    register_plugin_item({"plugin_class": DpsStripeGateway, "priority": 100})
    register_plugin_item({"plugin_class": DpsBankTransferGateway, "priority": 50})
    register_plugin_item({"plugin_class": DpsFlakyGateway, "priority": 100})


class Fixtures:
    """The rows the resolution scenarios use, mirroring ours."""

    def __init__(self) -> None:
        register()
        sync_registered_plugins_to_db(mode="create", prune=False)
        items = {row.name: row for row in PluginItem.objects.all()}
        self.stripe = PluginInstance.objects.create(
            item=items["stripe"],
            name="Stripe",
            config=dict(STRIPE_CONFIG),
            priority=10,
            status=PluginStatus.ACTIVE,
        )
        self.bank = PluginInstance.objects.get(item=items["bank_transfer"])
        self.flaky = PluginInstance.objects.create(
            item=items["flaky"],
            name="Flaky",
            config={"api_key": "flaky-key-123", "fail_with": "provider"},
            priority=1,
            status=PluginStatus.DISABLED,
        )

    def set_flaky(self, status: str) -> None:
        self.flaky.status = status
        self.flaky.save()  # its post_save handler clears its cached selection
        cache.clear()


def named(name: str) -> Callable[[object], bool]:
    def check(result: object) -> bool:
        instance = getattr(result, "plugin_instance", None)
        return getattr(instance, "name", None) == name

    return check


def resolve() -> Any:
    return get_plugin_instance(DpsPaymentGatewayType)


def resolve_by_id(instance_id: str) -> Any:
    return get_plugin_instance_by_id(DpsPaymentGatewayType, instance_id)


def clear_caches() -> None:
    """Its own invalidation: its cached selection lives in Django's cache."""
    cache.clear()


def failover(amount: int) -> str:
    """The failover loop django-plugin-system documents, over active then reserved plugins.

    The reserved ones are fetched only when every active one failed, as a careful
    hand-written loop would.
    """
    errors: list[Exception] = []
    for fetch in (get_active_plugins, get_reserve_plugins):
        for instance in fetch(DpsPaymentGatewayType):
            plugin = instance.load_instance()
            if plugin is None:
                continue
            try:
                return str(plugin.create_payment(amount))
            except ProviderError as exc:
                errors.append(exc)
    raise ExceptionGroup("every gateway failed", errors)


# -- sync ------------------------------------------------------------------------------------


@contextmanager
def isolated_registry() -> Iterator[None]:
    """Run with an empty django-plugin-system registry; restore it afterwards."""
    types = dict(storage._registry_plugin_types)
    items = dict(storage._registry_plugin_items)
    storage._registry_plugin_types.clear()
    storage._registry_plugin_items.clear()
    try:
        yield
    finally:
        storage._registry_plugin_types.clear()
        storage._registry_plugin_items.clear()
        storage._registry_plugin_types.update(types)
        storage._registry_plugin_items.update(items)


def register_many(total: int, types: int) -> None:
    """``total`` items without configuration spread over ``types`` types (as ours)."""
    for t in range(types):
        type_class: Any = type(
            f"DpsBenchType{t}",
            (BasePluginType,),
            {
                "name": f"bench_type_{t}",
                "run": abstractmethod(lambda self: None),
                "__module__": __name__,
            },
        )
        register_plugin_type({"interface": type_class})
        for i in range(total // types):
            item_class = type(
                f"DpsBenchItem{t}_{i}",
                (BasePluginItem,),
                {
                    "name": f"item_{i}",
                    "plugin_type": type_class,
                    "run": lambda self: None,
                    "__module__": __name__,
                },
            )
            register_plugin_item({"plugin_class": item_class})


def sync() -> dict[str, int]:
    """Its pluginsync service, with pruning off (``pluginsync --no-prune``)."""
    result: dict[str, int] = sync_registered_plugins_to_db(mode="create", prune=False)
    return result


def clear_tables() -> None:
    PluginInstance.objects.all().delete()
    PluginItem.objects.all().delete()
    PluginType.objects.all().delete()


# -- admin -----------------------------------------------------------------------------------


def bulk_instances(prefix: str, count: int, *, first_priority: int) -> None:
    """Add ``count`` Stripe instances named ``<prefix> <n>`` in one ``bulk_create`` (as ours).

    Its configuration field encrypts each value, as on ``save()``.
    """
    if count <= 0:
        return
    item = PluginItem.objects.get(name="stripe", plugin_type__name=DpsPaymentGatewayType.name)
    start = PluginInstance.objects.filter(name__startswith=f"{prefix} ").count()
    PluginInstance.objects.bulk_create(
        [
            PluginInstance(
                item=item,
                name=f"{prefix} {n}",
                config=dict(STRIPE_CONFIG),
                priority=first_priority + n,
                status=PluginStatus.ACTIVE,
            )
            for n in range(start, start + count)
        ],
        batch_size=500,
    )
    cache.clear()  # bulk_create sends no post_save: its cached selection would be stale


def make_instances(total: int) -> None:
    """Bring the number of instances up to ``total`` (Stripe instances, priorities from 100)."""
    bulk_instances("Stripe", total - PluginInstance.objects.count(), first_priority=100)


def remove_bulk_instances(prefix: str = "Stripe") -> None:
    PluginInstance.objects.filter(name__startswith=f"{prefix} ").delete()
    cache.clear()


# -- growth ----------------------------------------------------------------------------------


def gateway_instances() -> int:
    count: int = PluginInstance.objects.filter(
        item__plugin_type__name=DpsPaymentGatewayType.name
    ).count()
    return count


def grow_to(total: int) -> None:
    """Give the payment gateway type ``total`` instances, "Growth 0" selected (as ours)."""
    bulk_instances("Growth", total - gateway_instances(), first_priority=0)


def set_admin_page_size(size: int) -> None:
    """Show as many rows per page as our listing does (its default is Django's 100)."""
    from django.contrib import admin

    model_admin: Any = admin.site._registry[PluginInstance]
    model_admin.list_per_page = size


def changelist_url() -> str:
    from django.urls import reverse

    return reverse("admin:django_plugin_system_plugininstance_changelist")
