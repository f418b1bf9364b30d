"""Database models.

* :mod:`.plugins`: :class:`PluginType` and :class:`PluginItem`, the registry as
  synced by ``pluginsync``, and :class:`PluginInstance`, what editors configure;
* :mod:`.site_settings`: the per-site choice of an instance for each type
  (Settings > Plugins);
* :mod:`.querysets`: the bulk-write signal the cache listens to;
* :mod:`.version`: the version token of plugin data, for sites without a shared cache;
* :mod:`.imports`: what ``pluginimport`` moved from django-plugin-system, by old id;
* :mod:`.circuits`: each instance's circuit breaker (overrides, and state in the database);
* :mod:`.traffic`: per-minute call statistics and failover events;
* :mod:`.health`: the history of health checks.
"""

from .circuits import PluginCircuit
from .health import CheckSource, CheckStatus, PluginCheckResult
from .imports import PluginImportRecord
from .plugins import (
    SELECTABLE_STATUSES,
    PluginInstance,
    PluginInstanceQuerySet,
    PluginItem,
    PluginStatus,
    PluginType,
    status_rank,
)
from .querysets import InvalidatingQuerySet, plugin_data_changed
from .site_settings import PluginSiteChoice, PluginSiteSettings
from .traffic import LATENCY_BOUNDS_MS, PluginCallStats, PluginFailoverEvent
from .version import PluginDataVersion

__all__ = [
    "LATENCY_BOUNDS_MS",
    "SELECTABLE_STATUSES",
    "CheckSource",
    "CheckStatus",
    "InvalidatingQuerySet",
    "PluginCallStats",
    "PluginCheckResult",
    "PluginCircuit",
    "PluginDataVersion",
    "PluginFailoverEvent",
    "PluginImportRecord",
    "PluginInstance",
    "PluginInstanceQuerySet",
    "PluginItem",
    "PluginSiteChoice",
    "PluginSiteSettings",
    "PluginStatus",
    "PluginType",
    "plugin_data_changed",
    "status_rank",
]
