"""wagtail-plugin-system: interchangeable, admin-configured provider plugins for Wagtail.

The public names, in one place. The contracts, the registry and the
exceptions (the core) import before Django is set up; the selection API
(``get_plugin_instance`` and friends), the models and ``PluginStatus`` are
imported on first use, once Django's apps are ready. How the package is laid
out is described in the contributors' documentation ("How the package is
built").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .core.contracts import (
    BasePluginItem,
    BasePluginType,
    PluginConfig,
    PluginConfiguration,
    required_plugin_item_method,
)
from .core.exceptions import (
    CircuitOpenError,
    ConfigDecryptionError,
    ConfigFormatError,
    DuplicatePluginError,
    PluginDefinitionError,
    PluginFailoverError,
    PluginSystemError,
    PluginUnavailableError,
    UnknownPluginError,
)
from .core.registry import (
    PluginRegistry,
    get_registered_items,
    get_registered_types,
    register_plugin_item,
    register_plugin_type,
    registry,
)

if TYPE_CHECKING:
    from .models import PluginInstance, PluginItem, PluginStatus, PluginType
    from .selection import (
        call_with_failover,
        get_active_plugins,
        get_plugin_instance,
        get_plugin_instance_by_id,
        get_reserve_plugins,
    )

__version__ = "0.1.0.dev0"

__all__ = [
    "BasePluginItem",
    "BasePluginType",
    "CircuitOpenError",
    "ConfigDecryptionError",
    "ConfigFormatError",
    "DuplicatePluginError",
    "PluginConfig",
    "PluginConfiguration",
    "PluginDefinitionError",
    "PluginFailoverError",
    "PluginInstance",
    "PluginItem",
    "PluginRegistry",
    "PluginStatus",
    "PluginSystemError",
    "PluginType",
    "PluginUnavailableError",
    "UnknownPluginError",
    "__version__",
    "call_with_failover",
    "get_active_plugins",
    "get_plugin_instance",
    "get_plugin_instance_by_id",
    "get_registered_items",
    "get_registered_types",
    "get_reserve_plugins",
    "register_plugin_item",
    "register_plugin_type",
    "registry",
    "required_plugin_item_method",
]

_LAZY = {
    "PluginInstance": "models",
    "PluginItem": "models",
    "PluginStatus": "models",
    "PluginType": "models",
    "call_with_failover": "selection",
    "get_active_plugins": "selection",
    "get_plugin_instance": "selection",
    "get_plugin_instance_by_id": "selection",
    "get_reserve_plugins": "selection",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
