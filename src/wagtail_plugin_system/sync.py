"""Sync: mirror the code registry into the database, without ever losing configuration.

:func:`sync_plugins` is what the ``pluginsync`` command (and the create-only
sync after ``migrate``) runs. In one transaction it:

* creates rows for registered types and items that have none, renaming the
  row of a former name listed in ``aliases`` instead;
* revives rows marked missing whose code is back;
* marks rows whose code is gone as missing (their instances stay, with their
  configuration, and are not selected);
* creates one default ``ACTIVE`` instance for each item that has nothing to
  configure and no instance yet;
* in ``update`` mode, also refreshes labels, descriptions and default
  priorities from code (``create`` mode keeps what is stored);
* with ``prune``, deletes the rows of missing items and types only when no
  editor-made instance depends on them.

It reads each table once and writes with bulk operations, so its query count
does not grow with the number of plugins.
"""

from __future__ import annotations

import gc
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from operator import itemgetter
from typing import Any, Literal, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Count, F, Model, Q
from django.dispatch import Signal
from django.utils import timezone

from .bulk_insert import insert_rows, returns_primary_keys
from .cache import bump_version
from .exceptions import PluginSystemError
from .fields import Ciphertext, encrypt_text
from .models import PluginInstance, PluginItem, PluginStatus, PluginType
from .registry import PluginRegistry, RegisteredItem, RegisteredType, registry

__all__ = ["SyncAction", "SyncError", "SyncReport", "plugins_synced", "sync_plugins"]

#: Sent inside the sync's transaction after it wrote its changes (never for a dry run or
#: a sync that changed nothing), with ``report`` (a :class:`SyncReport`) and ``using``.
plugins_synced = Signal()

Mode = Literal["create", "update"]
_Row = TypeVar("_Row", PluginType, PluginItem, PluginInstance)

#: Key of the PostgreSQL advisory lock that serialises concurrent syncs.
_ADVISORY_LOCK_KEY = 0x57505331  # "WPS1"


class SyncError(PluginSystemError):
    """The sync was refused; nothing was changed."""


@dataclass(frozen=True)
class SyncAction:
    """One change the sync made (or, in a dry run, would make)."""

    #: ``create``, ``rename``, ``update``, ``revive``, ``mark_missing``,
    #: ``keep_missing``, ``merge`` or ``delete``.
    action: str
    #: ``type``, ``item`` or ``instance``.
    kind: str
    #: ``type_name`` or ``type_name/item_name``.
    name: str
    detail: str = ""
    #: The database row concerned (not part of reports' JSON).
    row: Any = field(default=None, compare=False, repr=False)


@dataclass
class SyncReport:
    """What a sync did; ``changed`` tells whether the database differed from the registry."""

    mode: Mode
    prune: bool
    dry_run: bool
    actions: list[SyncAction] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(action.action != "keep_missing" for action in self.actions)

    def counts(self) -> dict[str, int]:
        """Number of actions by ``"<action> <kind>"``."""
        counts: dict[str, int] = defaultdict(int)
        for action in self.actions:
            counts[f"{action.action.replace('_', ' ')} {action.kind}"] += 1
        return dict(sorted(counts.items()))

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "prune": self.prune,
            "dry_run": self.dry_run,
            "changed": self.changed,
            "counts": self.counts(),
            "actions": [
                {"action": a.action, "kind": a.kind, "name": a.name, "detail": a.detail}
                for a in self.actions
            ],
            "warnings": list(self.warnings),
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)

    def add(self, action: str, kind: str, name: str, detail: str = "", row: Any = None) -> None:
        self.actions.append(SyncAction(action, kind, name, detail, row))


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
    if prune and source.entry_point_failures:
        failed = ", ".join(failure.name for failure in source.entry_point_failures)
        raise SyncError(
            f"Refusing to prune: entry point(s) {failed} failed to load, so their plugins "
            f"would look uninstalled. Fix them (see 'manage.py check') and run the sync again."
        )
    report = SyncReport(mode=mode, prune=prune, dry_run=dry_run)
    if dry_run:
        with _collector_paused():
            _Sync(source, report, using).run()
        return report
    with transaction.atomic(using=using), _full_batches(using), _collector_paused():
        _lock(using)
        _Sync(source, report, using).run()
        if report.changed:
            plugins_synced.send(sender=sync_plugins, report=report, using=using)
    return report


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while the sync builds thousands of rows.

    Building that many model objects triggers full collections over every
    object the process holds, which can take longer than the database work.
    Nothing the sync allocates needs the collector; it runs again afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def _full_batches(using: str) -> Iterator[None]:
    """Let bulk writes use SQLite's real parameter limit, for this sync only.

    Django 5.2 assumes SQLite's old default of 999 parameters a statement and
    splits bulk inserts accordingly, so their number grows with the number of
    plugins. Builds since SQLite 3.32 allow 32,766 or more; the connection
    says how many. The limit is restored when the sync ends.
    """
    connection = connections[using]
    if connection.vendor != "sqlite":
        yield
        return
    import sqlite3

    connection.ensure_connection()
    limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    features = connection.features
    had_own = "max_query_params" in features.__dict__
    previous = features.__dict__.get("max_query_params")
    features.max_query_params = max(limit, features.max_query_params or 0)
    try:
        yield
    finally:
        if had_own:
            features.max_query_params = previous
        else:
            del features.__dict__["max_query_params"]


def _lock(using: str) -> None:
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK_KEY])


class _Sync:
    def __init__(self, source: PluginRegistry, report: SyncReport, using: str) -> None:
        self.source = source
        self.report = report
        self.using = using
        self.now = timezone.now()
        self.update = report.mode == "update"
        self.types_to_update: dict[int, PluginType] = {}
        self.items_to_update: dict[int, PluginItem] = {}

    # -- helpers --------------------------------------------------------------------

    def _dirty_type(self, row: PluginType) -> None:
        self.types_to_update[row.pk] = row

    def _dirty_item(self, row: PluginItem) -> None:
        self.items_to_update[row.pk] = row

    def _revive(self, row: PluginType | PluginItem, kind: str, name: str) -> None:
        if row.is_missing:
            row.is_missing = False
            row.missing_since = None
            self.report.add("revive", kind, name, "its code is registered again", row)
            if isinstance(row, PluginType):
                self._dirty_type(row)
            else:
                self._dirty_item(row)

    def _mark_missing(self, row: PluginType | PluginItem, kind: str, name: str) -> None:
        if not row.is_missing:
            row.is_missing = True
            row.missing_since = self.now
            self.report.add("mark_missing", kind, name, "its code is not registered", row)
            if isinstance(row, PluginType):
                self._dirty_type(row)
            else:
                self._dirty_item(row)

    @staticmethod
    def _claim(rows: dict[str, Any], name: str, aliases: Iterable[str]) -> tuple[Any, str | None]:
        """The row for ``name``, else the row of its first former name (and that name)."""
        if name in rows:
            return rows[name], None
        for alias in aliases:
            if alias in rows:
                return rows[alias], alias
        return None, None

    # -- the run --------------------------------------------------------------------

    def run(self) -> None:
        using = self.using
        type_rows: dict[str, PluginType] = {
            row.name: row for row in PluginType.objects.using(using).all()
        }
        items_by_type: dict[int, dict[str, PluginItem]] = defaultdict(dict)
        for item_row in PluginItem.objects.using(using).all():
            items_by_type[item_row.plugin_type_id][item_row.name] = item_row
        stats = {
            row["item_id"]: (row["total"], row["editor"])
            for row in PluginInstance.objects.using(using)
            .order_by()
            .values("item_id")
            .annotate(
                total=Count("pk"),
                editor=Count("pk", filter=Q(is_default=False) | ~Q(updated_at=F("created_at"))),
            )
        }

        claimed_types: set[int] = set()
        claimed_items: set[int] = set()
        new_types: list[tuple[RegisteredType, PluginType]] = []
        new_items: list[tuple[PluginType, PluginItem]] = []
        needs_default: list[tuple[RegisteredItem, PluginItem]] = []
        merges: list[tuple[PluginItem, PluginItem]] = []

        for entry in self.source.get_type_entries():
            type_class = entry.type_class
            type_row, former = self._claim(type_rows, entry.name, type_class.aliases)
            if type_row is None:
                type_row = _new(
                    PluginType,
                    name=entry.name,
                    label=type_class.label,
                    description=type_class.description,
                    created_at=self.now,
                    updated_at=self.now,
                )
                new_types.append((entry, type_row))
                self.report.add("create", "type", entry.name, row=type_row)
                existing_items: dict[str, PluginItem] = {}
            else:
                claimed_types.add(type_row.pk)
                if former is not None:
                    type_row.name = entry.name
                    self._dirty_type(type_row)
                    self.report.add("rename", "type", entry.name, f"was {former!r}", type_row)
                self._revive(type_row, "type", entry.name)
                if self.update and (
                    type_row.label != type_class.label
                    or type_row.description != type_class.description
                ):
                    type_row.label = type_class.label
                    type_row.description = type_class.description
                    self._dirty_type(type_row)
                    self.report.add("update", "type", entry.name, "label and description", type_row)
                existing_items = items_by_type.get(type_row.pk, {})

            for item_entry in (entry.items[name] for name in sorted(entry.items)):
                item_class = item_entry.item_class
                full_name = f"{entry.name}/{item_class.name}"
                item_row, former = self._claim(existing_items, item_class.name, item_class.aliases)
                if item_row is None:
                    item_row = _new(
                        PluginItem,
                        name=item_class.name,
                        label=item_class.label,
                        description=item_class.description,
                        default_priority=item_entry.priority,
                        is_configurable=item_class.configuration is not None,
                        created_at=self.now,
                        updated_at=self.now,
                    )
                    new_items.append((type_row, item_row))
                    detail = "" if item_class.configuration else "with a default instance"
                    self.report.add("create", "item", full_name, detail, item_row)
                    if item_class.configuration is None:
                        needs_default.append((item_entry, item_row))
                    continue
                claimed_items.add(item_row.pk)
                if former is not None:
                    item_row.name = item_class.name
                    self._dirty_item(item_row)
                    self.report.add("rename", "item", full_name, f"was {former!r}", item_row)
                for alias in item_class.aliases:
                    stale = existing_items.get(alias)
                    if stale is not None and stale.pk != item_row.pk:
                        claimed_items.add(stale.pk)
                        merges.append((stale, item_row))
                        self.report.add(
                            "merge",
                            "item",
                            full_name,
                            f"instances of former name {alias!r}",
                            item_row,
                        )
                self._revive(item_row, "item", full_name)
                configurable = item_class.configuration is not None
                if item_row.is_configurable != configurable:
                    item_row.is_configurable = configurable
                    self._dirty_item(item_row)
                if self.update and (
                    item_row.label != item_class.label
                    or item_row.description != item_class.description
                    or item_row.default_priority != item_entry.priority
                ):
                    item_row.label = item_class.label
                    item_row.description = item_class.description
                    item_row.default_priority = item_entry.priority
                    self._dirty_item(item_row)
                    self.report.add(
                        "update",
                        "item",
                        full_name,
                        "label, description and default priority",
                        item_row,
                    )
                if not configurable and stats.get(item_row.pk, (0, 0))[0] == 0:
                    needs_default.append((item_entry, item_row))

        # Rows whose code is gone.
        type_names = {row.pk: row.name for row in type_rows.values()}
        missing_items: list[PluginItem] = []
        for type_id, rows in items_by_type.items():
            for item_row in rows.values():
                if item_row.pk not in claimed_items:
                    self._mark_missing(item_row, "item", f"{type_names[type_id]}/{item_row.name}")
                    missing_items.append(item_row)
        missing_types = [row for row in type_rows.values() if row.pk not in claimed_types]
        for type_row in missing_types:
            self._mark_missing(type_row, "type", type_row.name)

        defaults: list[tuple[PluginItem, PluginInstance]] = []
        # Every default instance stores the same empty configuration: encrypt it once.
        empty: Ciphertext | dict[str, Any] = (
            Ciphertext(encrypt_text("{}")) if needs_default and not self.report.dry_run else {}
        )
        for item_entry, item_row in needs_default:
            default = _new(
                PluginInstance,
                name=str(item_entry.item_class.label),
                status=PluginStatus.ACTIVE,
                priority=item_entry.priority,
                config=empty,
                is_default=True,
                created_at=self.now,
                updated_at=self.now,
            )
            defaults.append((item_row, default))
            self.report.add(
                "create",
                "instance",
                f"{item_entry.item_class.plugin_type.name}/{item_entry.name}",
                "default instance (nothing to configure)",
                default,
            )
        item_ids: list[int] = []
        type_ids: list[int] = []
        if self.report.prune:
            item_ids, type_ids = self._plan_prune(
                missing_types, missing_items, items_by_type, stats, type_names
            )
        if not self.report.dry_run:
            self._write(new_types, new_items, defaults, merges)
            if item_ids:
                PluginInstance.objects.using(using).filter(item_id__in=item_ids).delete()
                PluginItem.objects.using(using).filter(pk__in=item_ids).delete()
            if type_ids:
                PluginType.objects.using(using).filter(pk__in=type_ids).delete()

    def _write(
        self,
        new_types: list[tuple[RegisteredType, PluginType]],
        new_items: list[tuple[PluginType, PluginItem]],
        defaults: list[tuple[PluginItem, PluginInstance]],
        merges: list[tuple[PluginItem, PluginItem]],
    ) -> None:
        using = self.using
        if new_types:
            _insert([row for _, row in new_types], using, ("name",))
        if new_items:
            for type_row, item_row in new_items:
                item_row.plugin_type = type_row
            _insert([row for _, row in new_items], using, ("plugin_type_id", "name"))
        if self.types_to_update:
            for type_row in self.types_to_update.values():
                type_row.updated_at = self.now
            PluginType.objects.using(using).bulk_update(
                list(self.types_to_update.values()),
                ["name", "label", "description", "is_missing", "missing_since", "updated_at"],
            )
        for stale, target in merges:
            PluginInstance.objects.using(using).filter(item=stale).update(item=target)
            stale.delete(using=using)
        merged = {stale.pk for stale, _ in merges}
        items_to_update = [item for pk, item in self.items_to_update.items() if pk not in merged]
        if items_to_update:
            for item_row in items_to_update:
                item_row.updated_at = self.now
            PluginItem.objects.using(using).bulk_update(
                items_to_update,
                [
                    "name",
                    "label",
                    "description",
                    "default_priority",
                    "is_configurable",
                    "is_missing",
                    "missing_since",
                    "updated_at",
                ],
            )
        if defaults:
            for item_row, default in defaults:
                default.item = item_row
            # Each item that gets a default instance had none: its id identifies the new row.
            _insert([default for _, default in defaults], using, ("item_id",))

    def _plan_prune(
        self,
        missing_types: list[PluginType],
        missing_items: list[PluginItem],
        items_by_type: dict[int, dict[str, PluginItem]],
        stats: dict[int, tuple[int, int]],
        type_names: dict[int, str],
    ) -> tuple[list[int], list[int]]:
        """Decide what prune deletes; return the item and type ids."""
        deletable_items: list[PluginItem] = []
        kept_type_ids: set[int] = set()
        for item_row in missing_items:
            total, editor = stats.get(item_row.pk, (0, 0))
            name = f"{type_names[item_row.plugin_type_id]}/{item_row.name}"
            if editor:
                kept_type_ids.add(item_row.plugin_type_id)
                self.report.add(
                    "keep_missing",
                    "item",
                    name,
                    f"{editor} editor-made instance(s) depend on it; delete or move them to "
                    f"prune it",
                    item_row,
                )
                continue
            deletable_items.append(item_row)
            detail = f"with {total} untouched default instance(s)" if total else ""
            self.report.add("delete", "item", name, detail, item_row)
        deleted = {row.pk for row in deletable_items}
        if deleted:
            # Name the untouched default instances that go with their items, for the report
            # and the history (one query, only when prune deletes something).
            names = {
                row.pk: f"{type_names[row.plugin_type_id]}/{row.name}" for row in deletable_items
            }
            for instance in PluginInstance.objects.using(self.using).filter(item_id__in=deleted):
                self.report.add(
                    "delete",
                    "instance",
                    names[instance.item_id],
                    "untouched default instance of a pruned implementation",
                    instance,
                )
        deletable_types = []
        for type_row in missing_types:
            remaining = [
                row for row in items_by_type.get(type_row.pk, {}).values() if row.pk not in deleted
            ]
            if remaining or type_row.pk in kept_type_ids:
                self.report.add(
                    "keep_missing",
                    "type",
                    type_row.name,
                    "implementations with instances remain",
                    type_row,
                )
                continue
            deletable_types.append(type_row.pk)
            self.report.add("delete", "type", type_row.name, row=type_row)
        return sorted(deleted), deletable_types


def _new(model: type[_Row], **values: Any) -> _Row:
    """A new unsaved row; built positionally, which is twice as fast as keyword arguments."""
    names, defaults = _layout(model)
    return model(  # type: ignore[misc]  # positional field values, as Model.from_db() passes
        *[
            values[name] if name in values else default() if callable(default) else default
            for name, default in zip(names, defaults, strict=True)
        ]
    )


@cache
def _layout(model: type[Model]) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """Attribute names of ``model``'s concrete fields, in order, and their defaults.

    A callable default is kept callable, so that each row gets its own value.
    """
    fields = model._meta.concrete_fields
    return (
        tuple(field.attname for field in fields),
        tuple(
            field.default
            if field.has_default() and callable(field.default)
            else field.get_default()
            for field in fields
        ),
    )


def _insert(rows: list[_Row], using: str, natural_key: tuple[str, ...]) -> None:
    """Insert new rows as they are and give them their primary keys.

    :func:`~wagtail_plugin_system.bulk_insert.insert_rows` writes the
    timestamps given (``bulk_create`` would take a fresh ``now()`` per field;
    ``created_at`` equal to ``updated_at`` marks a default instance no editor
    touched). Where the database cannot return the new keys, one query reads
    them back by ``natural_key`` (attribute names that identify a row).
    """
    model = type(rows[0])
    columns = [field.attname for field in model._meta.concrete_fields if not field.primary_key]
    # The raw attribute values: an encrypted field's descriptor would decrypt.
    raw = itemgetter(*columns)
    values = [raw(row.__dict__) for row in rows]
    if returns_primary_keys(using):
        keys = insert_rows(model, columns, values, using=using, return_keys=True)
    else:
        insert_rows(model, columns, values, using=using)
        first = natural_key[0]
        found = {
            tuple(found_row[:-1]): found_row[-1]
            for found_row in model._base_manager.using(using)
            .filter(**{f"{first}__in": {row.__dict__[first] for row in rows}})
            .values_list(*natural_key, "pk")
        }
        keys = [found[tuple(row.__dict__[name] for name in natural_key)] for row in rows]
    for row, key in zip(rows, keys, strict=True):
        row.pk = key
        row._state.adding = False
        row._state.db = using
    bump_version(using)
