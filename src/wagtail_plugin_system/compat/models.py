"""django-plugin-system's ``models``: our models, with its helper methods added.

No model is defined here (so there are no tables and no migrations): the
names are our models, and importing this module adds, to those classes,
django-plugin-system's read-only attributes and helper methods that have no
equivalent of ours:

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
  ``get_reserved_plugins()``.

They are attributes, not database fields: filter on ``is_configurable`` and
``default_priority``, not on ``configurable`` and ``priority``.
"""

from __future__ import annotations

from typing import Any

from wagtail_plugin_system import BasePluginItem, BasePluginType, registry
from wagtail_plugin_system.models import PluginInstance, PluginItem, PluginStatus, PluginType

__all__ = ["PluginInstance", "PluginItem", "PluginStatus", "PluginType"]

_MARK = "__wps_compat__"


def _add(model: type, name: str, value: Any) -> None:
    """Add an attribute, refusing to hide one the model has of its own."""
    current = model.__dict__.get(name)
    if current is not None and not getattr(current, _MARK, False):
        raise RuntimeError(
            f"{model.__name__}.{name} exists already; wagtail_plugin_system.compat must not "
            f"replace it. This is a bug in wagtail-plugin-system: please report it."
        )
    if isinstance(value, property):
        if value.fget is not None:
            setattr(value.fget, _MARK, True)
        value = _MarkedProperty(value.fget)
    else:
        target = value.__func__ if isinstance(value, staticmethod) else value
        setattr(target, _MARK, True)
    setattr(model, name, value)


class _MarkedProperty(property):
    __wps_compat__ = True


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
    return instance if isinstance(instance, PluginInstance) else None


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


_add(PluginType, "manager", property(_type_manager))
_add(PluginType, "get_single_plugin", _get_single_plugin)
_add(PluginType, "get_active_plugins", _type_active)
_add(PluginType, "get_reserve_plugins", _type_reserve)
_add(PluginType, "get_plugin_by_id", _get_plugin_by_id)
_add(PluginType, "get_plugin_type_by_class", staticmethod(_type_by_class))
_add(PluginType, "get_plugin_type_by_info", staticmethod(_type_by_info))

_add(PluginItem, "configurable", property(lambda row: row.is_configurable))
_add(PluginItem, "priority", property(lambda row: row.default_priority))
_add(PluginItem, "module", property(_item_module))
_add(PluginItem, "load_plugin_class", lambda row: row.get_item_class())
_add(PluginItem, "load_class", lambda row: row.get_item_class())
_add(PluginItem, "load_instance", _item_load_instance)

_add(PluginInstance, "load_implementation", _load_implementation)
_add(PluginInstance, "get_plugin_class", lambda row: row.get_item_class())
_add(PluginInstance, "default_get_single_plugin", staticmethod(_default_get_single_plugin))
_add(PluginInstance, "get_available_plugins", staticmethod(_type_active))
_add(PluginInstance, "get_reserved_plugins", staticmethod(_type_reserve))
