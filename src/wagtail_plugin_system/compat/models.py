"""django-plugin-system's ``models``: proxies of our models, with its helper methods.

The names here are proxy models of ours (the same tables, no migrations, and
our own classes left as they are): what their managers return has, besides
everything of ours, django-plugin-system's read-only attributes and helper
methods that have no equivalent of ours:

* ``PluginType``: ``manager`` (the module of the registered class, or ``""``),
  ``get_single_plugin()``, ``get_active_plugins()``, ``get_reserve_plugins()``,
  ``get_plugin_by_id()``, ``get_plugin_type_by_class()`` and
  ``get_plugin_type_by_info()``;
* ``PluginItem``: ``configurable`` (``is_configurable``), ``priority``
  (``default_priority``), ``module`` (the module of the registered class, or
  ``""``), ``load_plugin_class()``, ``load_class()`` and ``load_instance()``;
* ``PluginInstance``: ``load_implementation()`` (``None`` when the item's code
  is missing), ``get_plugin_class()``, and the static
  ``default_get_single_plugin()``, ``get_available_plugins()`` and
  ``get_reserved_plugins()``. One made here without a ``priority`` gets 0, as
  in django-plugin-system (ours default to 100), so it ranks as it did there.

They are attributes, not database fields: filter on ``is_configurable`` and
``default_priority``, not on ``configurable`` and ``priority``. Rows reached
through a relation (``instance.item``) are our models, without these helpers;
``PluginItem.objects.get(pk=instance.item_id)`` gives the proxy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wagtail_plugin_system import BasePluginItem, BasePluginType, models, registry
from wagtail_plugin_system.cache import watch_model
from wagtail_plugin_system.models import PluginStatus

if TYPE_CHECKING:
    # The helpers below take and return rows of either class; type checkers see ours.
    from wagtail_plugin_system.models import PluginInstance, PluginItem, PluginType

__all__ = [
    "CompatPluginInstance",
    "CompatPluginItem",
    "CompatPluginType",
    "PluginInstance",
    "PluginItem",
    "PluginStatus",
    "PluginType",
]

#: The label the proxies are registered under: no installed app has it, so Django
#: makes no migration, content type or permission for them.
APP_LABEL = "wagtail_plugin_system_compat"

#: django-plugin-system's default priority for a new instance.
DEFAULT_PRIORITY = 0


# -- PluginType ---------------------------------------------------------------------------


def _type_class(row: PluginType) -> type[BasePluginType] | None:
    return row.get_type_class()


def _type_manager(row: PluginType) -> str:
    type_class = _type_class(row)
    return type_class.__module__ if type_class is not None else ""


def _get_single_plugin(row: PluginType, *args: Any, **kwargs: Any) -> PluginInstance | None:
    from wagtail_plugin_system import get_plugin_instance

    type_class = _type_class(row)
    if type_class is None:
        return None
    entry = registry.get_type_entry(type_class)
    if entry.get_plugin is not None and (args or kwargs):
        custom: PluginInstance | None = entry.get_plugin(row, *args, **kwargs)
        return custom
    item = get_plugin_instance(type_class)
    instance = item.plugin_instance if item is not None else None
    return instance if isinstance(instance, models.PluginInstance) else None


def _type_active(row: PluginType) -> list[PluginInstance]:
    from .helpers import get_active_plugins

    return get_active_plugins(row.name)


def _type_reserve(row: PluginType) -> list[PluginInstance]:
    from .helpers import get_reserve_plugins

    return get_reserve_plugins(row.name)


def _get_plugin_by_id(
    row: PluginType, instance_id: object, prevent_disabled: bool = False
) -> PluginInstance | None:
    found = PluginInstance.objects.by_outside_id(instance_id, plugin_type=row)
    if found is None:
        return None
    if prevent_disabled and found.status == PluginStatus.DISABLED:
        return None
    return found


def _type_by_class(plugin_type_class: type[BasePluginType]) -> PluginType | None:
    return PluginType.objects.filter(name=plugin_type_class.name).first()


def _type_by_info(name: str, manager: str = "") -> PluginType | None:
    names = registry.type_names(name)
    return PluginType.objects.filter(name__in=names).first()


# -- PluginItem ---------------------------------------------------------------------------


def _item_module(row: PluginItem) -> str:
    item_class = row.get_item_class()
    return item_class.__module__ if item_class is not None else ""


def _item_load_instance(row: PluginItem) -> BasePluginItem | None:
    item_class = row.get_item_class()
    return item_class() if item_class is not None else None


# -- PluginInstance -----------------------------------------------------------------------


def _load_implementation(row: PluginInstance) -> BasePluginItem | None:
    if row.get_item_class() is None:
        return None
    return row.load_instance()


def _default_get_single_plugin(plugin_type: PluginType) -> PluginInstance | None:
    return _get_single_plugin(plugin_type)


class CompatPluginType(models.PluginType):
    """A plugin type row, with django-plugin-system's helpers."""

    class Meta:
        proxy = True
        app_label = APP_LABEL

    @property
    def manager(self) -> str:
        return _type_manager(self)

    def get_single_plugin(self, *args: Any, **kwargs: Any) -> PluginInstance | None:
        return _get_single_plugin(self, *args, **kwargs)

    def get_active_plugins(self) -> list[PluginInstance]:
        return _type_active(self)

    def get_reserve_plugins(self) -> list[PluginInstance]:
        return _type_reserve(self)

    def get_plugin_by_id(
        self, instance_id: object, prevent_disabled: bool = False
    ) -> PluginInstance | None:
        return _get_plugin_by_id(self, instance_id, prevent_disabled)

    get_plugin_type_by_class = staticmethod(_type_by_class)
    get_plugin_type_by_info = staticmethod(_type_by_info)


class CompatPluginItem(models.PluginItem):
    """A plugin item row, with django-plugin-system's helpers."""

    class Meta:
        proxy = True
        app_label = APP_LABEL

    @property
    def configurable(self) -> bool:
        return self.is_configurable

    @property
    def priority(self) -> int:
        return self.default_priority

    @property
    def module(self) -> str:
        return _item_module(self)

    def load_plugin_class(self) -> type[BasePluginItem] | None:
        return self.get_item_class()

    def load_class(self) -> type[BasePluginItem] | None:
        return self.get_item_class()

    def load_instance(self) -> BasePluginItem | None:
        return _item_load_instance(self)


class CompatPluginInstance(models.PluginInstance):
    """A plugin instance row, with django-plugin-system's helpers and default priority."""

    class Meta:
        proxy = True
        app_label = APP_LABEL

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Rows read from the database come positionally; a new one by keywords.
        if not args:
            kwargs.setdefault("priority", DEFAULT_PRIORITY)
        super().__init__(*args, **kwargs)

    def load_implementation(self) -> BasePluginItem | None:
        return _load_implementation(self)

    def get_plugin_class(self) -> type[BasePluginItem] | None:
        return self.get_item_class()

    default_get_single_plugin = staticmethod(_default_get_single_plugin)
    get_available_plugins = staticmethod(_type_active)
    get_reserved_plugins = staticmethod(_type_reserve)


# Writes through the proxies are signalled with the proxy as sender: invalidate on them too.
for _proxy in (CompatPluginType, CompatPluginItem, CompatPluginInstance):
    watch_model(_proxy)

if not TYPE_CHECKING:
    # django-plugin-system's names.
    PluginType = CompatPluginType
    PluginItem = CompatPluginItem
    PluginInstance = CompatPluginInstance
