"""django-plugin-system's ``helpers``: loading plugins, with its documented results.

Unlike the top-level functions of ``wagtail_plugin_system``, these return
``None`` (or an empty list) for a type that is not registered instead of
raising, as django-plugin-system does.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from wagtail_plugin_system import BasePluginItem, BasePluginType, UnknownPluginError

if TYPE_CHECKING:
    from wagtail_plugin_system.models import PluginInstance

__all__ = [
    "get_active_plugins",
    "get_plugin_instance",
    "get_plugin_instance_by_id",
    "get_plugin_instance_by_id_name_manager",
    "get_reserve_plugins",
]

TypeRef = type[BasePluginType] | str


def get_plugin_instance(plugin_type: TypeRef, manager: str = "") -> BasePluginItem | None:
    """The selected, loaded item of a type (a class or a name), or ``None``.

    ``manager`` (django-plugin-system's module path of a type given by name)
    is accepted and not used: types are identified by name.
    """
    from wagtail_plugin_system import get_plugin_instance as _get

    try:
        return _get(plugin_type)
    except UnknownPluginError:
        return None


def get_plugin_instance_by_id(
    plugin_type: TypeRef,
    instance_id: object = None,
    prevent_disable: bool = False,
    *,
    plugin_id: object = None,
    prevent_disabled: bool | None = None,
) -> BasePluginItem | None:
    """Load one instance by id (``instance_id=`` or ``plugin_id=``), or return ``None``.

    ``prevent_disable=True`` (django-plugin-system's spelling; ``prevent_disabled``
    works too) returns ``None`` for a disabled instance.
    """
    from wagtail_plugin_system import get_plugin_instance_by_id as _get

    skip_disabled = prevent_disable if prevent_disabled is None else prevent_disabled
    try:
        return _get(plugin_type, instance_id, skip_disabled, plugin_id=plugin_id)
    except UnknownPluginError:
        return None


def get_plugin_instance_by_id_name_manager(
    type_name: str, type_manager: str, instance_id: object, prevent_disable: bool = False
) -> BasePluginItem | None:
    """Deprecated in django-plugin-system 2.0: use :func:`get_plugin_instance_by_id`."""
    warnings.warn(
        "get_plugin_instance_by_id_name_manager() is deprecated; use "
        "get_plugin_instance_by_id(type_name, instance_id) instead.",
        DeprecationWarning,
        stacklevel=2,
    )
    return get_plugin_instance_by_id(type_name, instance_id, prevent_disable)


def get_active_plugins(plugin_type: TypeRef) -> list[PluginInstance]:
    """The ``ACTIVE`` instances of a type in selection order; ``[]`` for an unknown type."""
    from wagtail_plugin_system import get_active_plugins as _get

    try:
        return _get(plugin_type)
    except UnknownPluginError:
        return []


def get_reserve_plugins(plugin_type: TypeRef) -> list[PluginInstance]:
    """The ``RESERVED`` instances of a type in selection order; ``[]`` for an unknown type."""
    from wagtail_plugin_system import get_reserve_plugins as _get

    try:
        return _get(plugin_type)
    except UnknownPluginError:
        return []
