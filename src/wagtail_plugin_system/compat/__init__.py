"""Drop-in module paths for projects moving from django-plugin-system 2.0.x.

Replace ``django_plugin_system`` with ``wagtail_plugin_system.compat`` in your
imports and the same names are found here: :mod:`.plugin_core`,
:mod:`.register`, :mod:`.helpers`, :mod:`.models` and
:mod:`.services.sync`. Everything is a thin layer over the real package;
where django-plugin-system documents a behaviour that differs from ours, the
names here follow django-plugin-system, except where it would lose data
(``prune`` is always the safe prune of ``pluginsync``).

Only ``wagtail_plugin_system`` goes into ``INSTALLED_APPS``: this package has
no models and no tables of its own.
"""

from __future__ import annotations

from .helpers import (
    get_active_plugins,
    get_plugin_instance,
    get_plugin_instance_by_id,
    get_plugin_instance_by_id_name_manager,
    get_reserve_plugins,
)
from .plugin_core import (
    BasePluginItem,
    BasePluginType,
    PluginConfiguration,
    required_plugin_item_method,
)
from .register import (
    PluginItemRegistry,
    PluginTypeRegistry,
    register_plugin_item,
    register_plugin_type,
)

__all__ = [
    "BasePluginItem",
    "BasePluginType",
    "PluginConfiguration",
    "PluginItemRegistry",
    "PluginTypeRegistry",
    "get_active_plugins",
    "get_plugin_instance",
    "get_plugin_instance_by_id",
    "get_plugin_instance_by_id_name_manager",
    "get_reserve_plugins",
    "register_plugin_item",
    "register_plugin_type",
    "required_plugin_item_method",
]
