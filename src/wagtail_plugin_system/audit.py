"""Audit log: every action this package logs, and history entries for ``pluginsync``.

All of the package's log actions are named here. Editors' actions (create,
edit, delete, status and priority changes, health checks) are logged where
they happen; this module registers how Wagtail's history and site-history
report describe them, and writes one entry per row that a sync created,
renamed, revived, marked missing or deleted, with one ``bulk_create`` (unless
the ``SYNC_HISTORY`` setting is off). Entries never hold configuration values.
"""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.log_actions import LogActionRegistry, LogFormatter
from wagtail.models import ModelLogEntry

from .core.settings import get_setting

__all__ = [
    "ACTIVATE",
    "CHECK_LOG_ACTION",
    "CIRCUIT_RESET",
    "CIRCUIT_SETTINGS",
    "DISABLE",
    "RESERVE",
    "SET_PRIORITY",
    "SYNC_LOG_ACTION",
    "log_sync_report",
    "register_log_actions",
]

ACTIVATE = "wagtail_plugin_system.activate"
RESERVE = "wagtail_plugin_system.reserve"
DISABLE = "wagtail_plugin_system.disable"
SET_PRIORITY = "wagtail_plugin_system.set_priority"
SYNC_LOG_ACTION = "wagtail_plugin_system.sync"
#: Written for every health check (see :mod:`wagtail_plugin_system.health`).
CHECK_LOG_ACTION = "wagtail_plugin_system.check"
#: An editor closed an instance's circuit ("Reset circuit").
CIRCUIT_RESET = "wagtail_plugin_system.circuit_reset"
#: An editor changed the circuit breaker's settings for an instance.
CIRCUIT_SETTINGS = "wagtail_plugin_system.circuit_settings"

_SYNC_MESSAGES = {
    "create": _("Created by plugin sync"),
    "rename": _("Renamed by plugin sync"),
    "update": _("Updated from code by plugin sync"),
    "revive": _("Code found again by plugin sync"),
    "mark_missing": _("Code missing at plugin sync"),
    "merge": _("Instances of a former name merged by plugin sync"),
    "delete": _("Deleted by plugin sync (prune)"),
}


class PriorityFormatter(LogFormatter):
    label = _("Set priority")

    def format_message(self, log_entry: Any) -> str:
        return str(
            _("Plugin instance priority changed from %(previous)s to %(priority)s")
            % {
                "previous": log_entry.data.get("previous", "?"),
                "priority": log_entry.data.get("priority", "?"),
            }
        )


class CheckFormatter(LogFormatter):
    label = _("Test")

    def format_message(self, log_entry: Any) -> str:
        if log_entry.data.get("ok"):
            return str(_("Plugin instance tested: the check passed"))
        return str(_("Plugin instance tested: the check failed"))


class SyncFormatter(LogFormatter):
    label = _("Plugin sync")

    def format_message(self, log_entry: Any) -> str:
        action = log_entry.data.get("action", "")
        return str(_SYNC_MESSAGES.get(action, _("Changed by plugin sync")))


def register_log_actions(actions: LogActionRegistry) -> None:
    """The ``register_log_actions`` hook."""
    actions.register_action(ACTIVATE, _("Activate"), _("Plugin instance activated"))
    actions.register_action(RESERVE, _("Reserve"), _("Plugin instance reserved"))
    actions.register_action(DISABLE, _("Disable"), _("Plugin instance disabled"))
    actions.register_action(SET_PRIORITY)(PriorityFormatter)
    actions.register_action(CHECK_LOG_ACTION)(CheckFormatter)
    actions.register_action(SYNC_LOG_ACTION)(SyncFormatter)
    actions.register_action(
        CIRCUIT_RESET, _("Reset circuit"), _("Plugin instance circuit reset (closed)")
    )
    actions.register_action(
        CIRCUIT_SETTINGS,
        _("Circuit breaker settings"),
        _("Plugin instance breaker settings changed"),
    )


def log_sync_report(sender: object, report: Any, **kwargs: Any) -> None:
    """Receiver of :data:`~wagtail_plugin_system.sync.plugins_synced`: one ``bulk_create``.

    Writes nothing when ``WAGTAIL_PLUGIN_SYSTEM["SYNC_HISTORY"]`` is off.
    """
    if not get_setting("SYNC_HISTORY"):
        return
    using = kwargs.get("using") or "default"
    now = timezone.now()
    content_types: dict[type, int] = {}
    entries = []
    for action in report.actions:
        row = action.row
        if row is None or row.pk is None or not action.logged:
            continue
        model = type(row)
        if model not in content_types:
            content_types[model] = (
                ContentType.objects.db_manager(using)
                .get_for_model(row, for_concrete_model=False)
                .pk
            )
        deleted = action.action == "delete"
        entries.append(
            ModelLogEntry(
                content_type_id=content_types[model],
                label=str(row)[:255] or action.name,
                action=SYNC_LOG_ACTION,
                data={"action": str(action.action), "name": action.name, "detail": action.detail},
                timestamp=now,
                object_id=str(row.pk),
                content_changed=not deleted,
                deleted=deleted,
            )
        )
    ModelLogEntry.objects.using(using).bulk_create(entries)
