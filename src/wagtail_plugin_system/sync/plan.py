"""Planning a sync: registered code + what the database holds -> the actions to take.

:func:`plan_sync` is pure: it reads the :class:`Snapshot` it is given and the
registry's entries, and returns :class:`~.report.SyncAction` objects; it
queries nothing and writes nothing. New rows are built unsaved (a new item's
row points at its type's row, saved or not); changes to existing rows are
carried in each action's ``changes`` and applied by
:mod:`wagtail_plugin_system.sync.database`.

The rules, in the order they are planned:

* a registered type or item without a row gets one, or takes over the row of
  a former name listed in ``aliases`` (``rename``); an item with nothing to
  configure and no instance gets a default ``ACTIVE`` instance;
* rows marked missing whose code is back are revived;
* ``update`` mode refreshes labels, descriptions and default priorities;
* rows whose code is gone are marked missing; their instances stay;
* ``prune`` deletes missing items whose instances are all untouched default
  instances that nothing uses (never tested, edited or chosen, referenced by no
  row or content, with no history but the sync's), with those instances, and
  missing types with no item left. Everything else stays, marked missing, and
  the report says why.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import translation

from ..core.registry import RegisteredItem, RegisteredType
from ..models import PluginInstance, PluginItem, PluginStatus, PluginType
from .report import Action, Kind, Mode, SyncAction

__all__ = ["InstanceCounts", "Snapshot", "plan_sync"]


def source_text(text: object) -> str:
    """A label or description as written in the code, whatever language is active.

    Labels may be translatable (``gettext_lazy``): the rows keep the source text,
    and the admin shows the code's label in the editor's language.
    """
    with translation.override(None):
        return str(text)


@dataclass(frozen=True)
class InstanceCounts:
    """How many instances an item has, and how many of them an editor made or changed."""

    total: int = 0
    editor: int = 0


@dataclass
class Snapshot:
    """What the database holds, as read at the start of a sync."""

    #: Type rows by name.
    types: dict[str, PluginType]
    #: Item rows by their type row's pk, then by name.
    items: dict[int, dict[str, PluginItem]]
    #: Instance counts by item pk (items without instances are absent).
    counts: dict[int, InstanceCounts]
    #: With prune: the untouched default instances by item pk.
    defaults: dict[int, list[PluginInstance]] = field(default_factory=dict)
    #: With prune: why some of those must be kept (by instance pk): what uses them.
    in_use: dict[int, str] = field(default_factory=dict)


def plan_sync(
    entries: Iterable[RegisteredType],
    snapshot: Snapshot,
    *,
    mode: Mode,
    prune: bool,
    now: datetime,
) -> list[SyncAction]:
    """The actions that make the database match ``entries`` (the registry's types)."""
    return list(_Planner(snapshot, mode == "update", now).plan(entries, prune))


def _claim(rows: Mapping[str, Any], name: str, aliases: Iterable[str]) -> tuple[Any, str | None]:
    """The row for ``name``, else the row of its first former name (and that name)."""
    if name in rows:
        return rows[name], None
    for alias in aliases:
        if alias in rows:
            return rows[alias], alias
    return None, None


class _Planner:
    def __init__(self, snapshot: Snapshot, update: bool, now: datetime) -> None:
        self.snapshot = snapshot
        self.update = update
        self.now = now
        self.claimed_types: set[int] = set()
        self.claimed_items: set[int] = set()
        #: Default instances to create, planned after the rows' own actions.
        self.defaults: list[SyncAction] = []

    def plan(self, entries: Iterable[RegisteredType], prune: bool) -> Iterator[SyncAction]:
        for entry in entries:
            yield from self._type(entry)
        missing_items = list(self._missing_items())
        missing_types = [
            row for row in self.snapshot.types.values() if row.pk not in self.claimed_types
        ]
        for item_row, name in missing_items:
            if not item_row.is_missing:
                yield _mark_missing(Kind.ITEM, name, item_row, self.now)
        for type_row in missing_types:
            if not type_row.is_missing:
                yield _mark_missing(Kind.TYPE, type_row.name, type_row, self.now)
        yield from self.defaults
        if prune:
            yield from self._prune(missing_items, missing_types)

    # -- registered code ------------------------------------------------------------

    def _type(self, entry: RegisteredType) -> Iterator[SyncAction]:
        type_class = entry.type_class
        row, former = _claim(self.snapshot.types, entry.name, type_class.aliases)
        if row is None:
            row = PluginType(
                name=entry.name,
                label=source_text(type_class.label),
                description=source_text(type_class.description),
            )
            yield SyncAction(Action.CREATE, Kind.TYPE, entry.name, row=row)
            existing: dict[str, PluginItem] = {}
        else:
            self.claimed_types.add(row.pk)
            if former is not None:
                yield SyncAction(
                    Action.RENAME,
                    Kind.TYPE,
                    entry.name,
                    f"was {former!r}",
                    row,
                    {"name": entry.name},
                )
            if row.is_missing:
                yield _revive(Kind.TYPE, entry.name, row)
            if self.update and (
                row.label != source_text(type_class.label)
                or row.description != source_text(type_class.description)
            ):
                yield SyncAction(
                    Action.UPDATE,
                    Kind.TYPE,
                    entry.name,
                    "label and description",
                    row,
                    {
                        "label": source_text(type_class.label),
                        "description": source_text(type_class.description),
                    },
                )
            existing = self.snapshot.items.get(row.pk, {})
        for name in sorted(entry.items):
            yield from self._item(entry, entry.items[name], row, existing)

    def _item(
        self,
        entry: RegisteredType,
        item_entry: RegisteredItem,
        type_row: PluginType,
        existing: dict[str, PluginItem],
    ) -> Iterator[SyncAction]:
        item_class = item_entry.item_class
        full_name = f"{entry.name}/{item_class.name}"
        configurable = item_class.configuration is not None
        row, former = _claim(existing, item_class.name, item_class.aliases)
        if row is None:
            row = PluginItem(
                plugin_type=type_row,
                name=item_class.name,
                label=source_text(item_class.label),
                description=source_text(item_class.description),
                default_priority=item_entry.priority,
                is_configurable=configurable,
            )
            detail = "" if configurable else "with a default instance"
            yield SyncAction(Action.CREATE, Kind.ITEM, full_name, detail, row)
            if not configurable:
                self.defaults.append(self._default_instance(item_entry, full_name, row))
            return
        self.claimed_items.add(row.pk)
        if former is not None:
            yield SyncAction(
                Action.RENAME,
                Kind.ITEM,
                full_name,
                f"was {former!r}",
                row,
                {"name": item_class.name},
            )
        for alias in item_class.aliases:
            stale = existing.get(alias)
            if stale is not None and stale.pk != row.pk:
                self.claimed_items.add(stale.pk)
                yield SyncAction(
                    Action.MERGE,
                    Kind.ITEM,
                    full_name,
                    f"instances of former name {alias!r}",
                    row,
                    source=stale,
                )
        if row.is_missing:
            yield _revive(Kind.ITEM, full_name, row)
        changes: dict[str, Any] = {}
        if row.is_configurable != configurable:
            changes["is_configurable"] = configurable
        if self.update and (
            row.label != source_text(item_class.label)
            or row.description != source_text(item_class.description)
            or row.default_priority != item_entry.priority
        ):
            changes.update(
                label=source_text(item_class.label),
                description=source_text(item_class.description),
                default_priority=item_entry.priority,
            )
            yield SyncAction(
                Action.UPDATE,
                Kind.ITEM,
                full_name,
                "label, description and default priority",
                row,
                changes,
            )
        elif changes:
            yield SyncAction(
                Action.UPDATE, Kind.ITEM, full_name, "configurable or not, from code", row, changes
            )
        if not configurable and self.snapshot.counts.get(row.pk, InstanceCounts()).total == 0:
            self.defaults.append(self._default_instance(item_entry, full_name, row))

    @staticmethod
    def _default_instance(
        item_entry: RegisteredItem, full_name: str, item_row: PluginItem
    ) -> SyncAction:
        instance = PluginInstance(
            item=item_row,
            name=source_text(item_entry.item_class.label),
            status=PluginStatus.ACTIVE,
            priority=item_entry.priority,
            config={},
            is_default=True,
        )
        return SyncAction(
            Action.CREATE,
            Kind.INSTANCE,
            full_name,
            "default instance (nothing to configure)",
            instance,
        )

    # -- rows whose code is gone ----------------------------------------------------

    def _keep_reason(self, item_row: PluginItem) -> str:
        """Why prune must keep a missing item (an empty string when nothing needs it)."""
        counts = self.snapshot.counts.get(item_row.pk, InstanceCounts())
        if counts.editor:
            return (
                f"{counts.editor} editor-made instance(s) depend on it; delete or move them to "
                f"prune it"
            )
        candidates = self.snapshot.defaults.get(item_row.pk, [])
        used = [
            f"instance {instance.pk} ({self.snapshot.in_use[instance.pk]})"
            for instance in candidates
            if instance.pk in self.snapshot.in_use
        ]
        if used:
            return (
                f"its default instance is in use: {'; '.join(used)}; delete the instance to "
                f"prune the implementation"
            )
        return ""

    def _missing_items(self) -> Iterator[tuple[PluginItem, str]]:
        type_names = {row.pk: row.name for row in self.snapshot.types.values()}
        for type_pk, rows in self.snapshot.items.items():
            for row in rows.values():
                if row.pk not in self.claimed_items:
                    yield row, f"{type_names[type_pk]}/{row.name}"

    def _prune(
        self,
        missing_items: list[tuple[PluginItem, str]],
        missing_types: list[PluginType],
    ) -> Iterator[SyncAction]:
        deleted: set[int] = set()
        kept_types: set[int] = set()
        instances: list[SyncAction] = []
        for row, name in missing_items:
            reason = self._keep_reason(row)
            if reason:
                kept_types.add(row.plugin_type_id)
                yield SyncAction(Action.KEEP_MISSING, Kind.ITEM, name, reason, row)
                continue
            deleted.add(row.pk)
            total = self.snapshot.counts.get(row.pk, InstanceCounts()).total
            detail = f"with {total} untouched default instance(s)" if total else ""
            yield SyncAction(Action.DELETE, Kind.ITEM, name, detail, row)
            instances += [
                SyncAction(
                    Action.DELETE,
                    Kind.INSTANCE,
                    name,
                    "untouched default instance of a pruned implementation",
                    instance,
                )
                for instance in self.snapshot.defaults.get(row.pk, [])
            ]
        yield from instances
        for type_row in missing_types:
            remaining = [
                row
                for row in self.snapshot.items.get(type_row.pk, {}).values()
                if row.pk not in deleted
            ]
            if remaining or type_row.pk in kept_types:
                yield SyncAction(
                    Action.KEEP_MISSING,
                    Kind.TYPE,
                    type_row.name,
                    "implementations with instances remain",
                    type_row,
                )
            else:
                yield SyncAction(Action.DELETE, Kind.TYPE, type_row.name, row=type_row)


def _revive(kind: Kind, name: str, row: PluginType | PluginItem) -> SyncAction:
    return SyncAction(
        Action.REVIVE,
        kind,
        name,
        "its code is registered again",
        row,
        {"is_missing": False, "missing_since": None},
    )


def _mark_missing(kind: Kind, name: str, row: PluginType | PluginItem, now: datetime) -> SyncAction:
    return SyncAction(
        Action.MARK_MISSING,
        kind,
        name,
        "its code is not registered",
        row,
        {"is_missing": True, "missing_since": now},
    )
