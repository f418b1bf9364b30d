"""Sync: mirror the code registry into the database, without ever losing configuration.

:func:`sync_plugins` is what the ``pluginsync`` command (and the create-only
sync after ``migrate``) runs. In one transaction it reads the database
(:func:`.database.read_snapshot`), plans the actions that make it match the
registered code (:func:`.plan.plan_sync`, which is pure: see its module for
the rules) and applies them (:func:`.database.apply_actions`). The result is a
:class:`.report.SyncReport`.

Configured instances are never deleted: rows whose code is gone are marked
missing and kept; ``prune`` deletes only missing rows that nothing an editor
made depends on.
"""

from __future__ import annotations

from datetime import datetime

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.dispatch import Signal
from django.utils import timezone

from .. import version_store
from ..core.exceptions import PluginSystemError
from ..core.registry import PluginRegistry, registry
from .database import apply_actions, read_snapshot
from .plan import plan_sync
from .report import Action, Kind, Mode, SyncAction, SyncReport

__all__ = [
    "Action",
    "Kind",
    "SyncAction",
    "SyncError",
    "SyncReport",
    "lock",
    "plugins_synced",
    "sync_plugins",
]

#: Sent inside the sync's transaction after it wrote its changes (never for a dry run or
#: a sync that changed nothing), with ``report`` (a :class:`SyncReport`) and ``using``.
plugins_synced = Signal()

#: Key of the PostgreSQL advisory lock that serialises concurrent syncs.
_ADVISORY_LOCK_KEY = 0x57505331  # "WPS1"


class SyncError(PluginSystemError):
    """The sync was refused; nothing was changed."""


def sync_plugins(
    *,
    mode: Mode = "create",
    prune: bool = False,
    dry_run: bool = False,
    using: str = DEFAULT_DB_ALIAS,
    plugin_registry: PluginRegistry | None = None,
) -> SyncReport:
    """Mirror the registry into the database and return what changed.

    ``dry_run`` reads the database, plans and reports, and writes nothing.
    ``prune`` is refused (:class:`SyncError`) while an entry point has failed
    to load, because its plugins would look uninstalled.
    """
    if mode not in ("create", "update"):
        raise SyncError(f"Unknown sync mode {mode!r}; use 'create' or 'update'.")
    source = plugin_registry if plugin_registry is not None else registry
    failed = ", ".join(failure.name for failure in source.entry_point_failures)
    if prune and failed:
        raise SyncError(
            f"Refusing to prune: entry point(s) {failed} failed to load, so their plugins "
            f"would look uninstalled. Fix them (see 'manage.py check') and run the sync again."
        )
    report = SyncReport(mode=mode, prune=prune, dry_run=dry_run)
    if failed:
        report.warnings.append(
            f"Entry point(s) {failed} failed to load: their plugins are reported as missing "
            f"until they are fixed (see 'manage.py check')."
        )
    if dry_run:
        _plan(report, source, using)
        return report
    with transaction.atomic(using=using):
        lock(using)
        now = _plan(report, source, using)
        kept = apply_actions(report.actions, using, now)
        if kept:
            report.actions = [_kept_if(action, kept) for action in report.actions]
        if report.changed:  # its writes replaced the version token (and made its row)
            plugins_synced.send(sender=sync_plugins, report=report, using=using)
        else:  # a database without the token's row memoises nothing: a deploy makes it
            version_store.ensure_row(using)
    return report


def _plan(report: SyncReport, source: PluginRegistry, using: str) -> datetime:
    now = timezone.now()
    snapshot = read_snapshot(using, prune=report.prune)
    report.actions = plan_sync(
        source.get_type_entries(), snapshot, mode=report.mode, prune=report.prune, now=now
    )
    return now


def _kept_if(action: SyncAction, kept: dict[Kind, set[int]]) -> SyncAction:
    """A planned deletion that the sync found no longer qualifying, reported as kept."""
    if action.action is not Action.DELETE or action.row.pk not in kept.get(action.kind, ()):
        return action
    return SyncAction(
        Action.KEEP_MISSING,
        action.kind,
        action.name,
        "changed, tested or chosen by someone while the sync ran; kept",
        action.row,
    )


def lock(using: str) -> None:
    """Serialise writers of the registry's rows on PostgreSQL, until the transaction ends.

    A transaction-level advisory lock, taken by every sync and by ``pluginimport``
    before they read: a second one waits for the first to commit, then sees its rows.
    Call it inside ``transaction.atomic()``.
    """
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK_KEY])
