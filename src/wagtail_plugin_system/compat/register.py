"""django-plugin-system's ``register``: registration in its dict forms, and lookups.

Registration goes to our process-wide registry. The keys django-plugin-system
deprecated (``name``, ``manager``, ``description`` for a type; ``name``,
``type_name``, ``manager_name``, ``module``, ``description`` for an item) are
accepted and ignored when the class is one of ours, as django-plugin-system
ignores them for its own classes: names come from the classes.

Types and items are identified by ``name`` here, not by module path, so the
module arguments of :func:`load_plugin_type` and :func:`load_plugin_item` are
accepted and not compared.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NotRequired, TypedDict

from wagtail_plugin_system import BasePluginItem, BasePluginType, UnknownPluginError, registry

__all__ = [
    "PluginItemRegistry",
    "PluginTypeRegistry",
    "load_plugin_item",
    "load_plugin_type",
    "register_plugin_item",
    "register_plugin_type",
]

_IGNORED_TYPE_KEYS = ("name", "manager", "description")
_IGNORED_ITEM_KEYS = ("name", "type_name", "manager_name", "module", "description")


class PluginTypeRegistry(TypedDict):
    """The dict form of a type registration."""

    interface: type[BasePluginType]
    get_plugin: NotRequired[Callable[..., Any] | None]
    name: NotRequired[str]
    manager: NotRequired[str]
    description: NotRequired[str | None]


class PluginItemRegistry(TypedDict):
    """The dict form of an item registration."""

    plugin_class: type[BasePluginItem]
    priority: NotRequired[int | None]
    name: NotRequired[str]
    type_name: NotRequired[str]
    manager_name: NotRequired[str]
    module: NotRequired[str]
    description: NotRequired[str | None]


def _ours(value: object, base: type, what: str) -> None:
    if not (isinstance(value, type) and issubclass(value, base)):
        raise TypeError(
            f"{what} must be a {base.__name__} subclass; got {value!r}. Legacy interfaces "
            f"that are only ABC subclasses are not supported: make the class inherit "
            f"{base.__name__} from wagtail_plugin_system.compat.plugin_core."
        )


def register_plugin_type(plugin_type: PluginTypeRegistry | type[BasePluginType]) -> None:
    """Register a type: ``{"interface": TypeClass, "get_plugin": callable}`` or the class."""
    if isinstance(plugin_type, dict):
        options: dict[str, Any] = dict(plugin_type)
        _ours(options.get("interface"), BasePluginType, "'interface'")
        for key in _IGNORED_TYPE_KEYS:
            options.pop(key, None)
        if options.get("get_plugin") is None:
            options.pop("get_plugin", None)
        registry.register_type(options)
    else:
        registry.register_type(plugin_type)


def register_plugin_item(plugin_item: PluginItemRegistry | type[BasePluginItem]) -> None:
    """Register an item: ``{"plugin_class": ItemClass, "priority": 10}`` or the class."""
    if isinstance(plugin_item, dict):
        options: dict[str, Any] = dict(plugin_item)
        _ours(options.get("plugin_class"), BasePluginItem, "'plugin_class'")
        for key in _IGNORED_ITEM_KEYS:
            options.pop(key, None)
        if options.get("priority") is None:
            options.pop("priority", None)
        registry.register_item(options)
    else:
        registry.register_item(plugin_item)


def load_plugin_type(type_name: str, manager: str = "") -> PluginTypeRegistry:
    """The registration of a type by name, as a dict; raises :class:`KeyError` if none."""
    try:
        entry = registry.get_type_entry(type_name)
    except UnknownPluginError:
        raise KeyError(f"Plugin type {type_name!r} is not registered") from None
    return {"interface": entry.type_class, "get_plugin": entry.get_plugin}


def load_plugin_item(
    plugin_name: str, module_name: str = "", type_name: str = "", type_module: str = ""
) -> PluginItemRegistry:
    """The registration of an item by its name and its type's name, as a dict.

    Raises :class:`KeyError` when it is not registered.
    """
    try:
        entry = registry.get_item_entry(type_name, plugin_name)
    except UnknownPluginError:
        raise KeyError(f"Plugin item {type_name!r}/{plugin_name!r} is not registered") from None
    return {"plugin_class": entry.item_class, "priority": entry.priority}
