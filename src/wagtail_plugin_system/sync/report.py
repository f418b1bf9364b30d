"""What a sync did, or in a dry run would do: typed actions and their report."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

__all__ = ["Action", "Kind", "Mode", "SyncAction", "SyncReport"]

Mode = Literal["create", "update"]


class Action(StrEnum):
    """What the sync does to a row."""

    #: A registered type or item without a row gets one; an item with nothing to
    #: configure also gets a default instance.
    CREATE = "create"
    #: The row of a former name (listed in ``aliases``) takes the current name.
    RENAME = "rename"
    #: ``update`` mode: label, description (and an item's default priority) from code.
    UPDATE = "update"
    #: A row marked missing whose code is registered again.
    REVIVE = "revive"
    #: A row whose code is not registered is marked missing (its instances stay).
    MARK_MISSING = "mark_missing"
    #: Prune keeps a missing row that something depends on (nothing is written).
    KEEP_MISSING = "keep_missing"
    #: The instances of an item's former-name row move to its current row.
    MERGE = "merge"
    #: Prune deletes a missing row nothing depends on.
    DELETE = "delete"


class Kind(StrEnum):
    """Which table an action is about."""

    TYPE = "type"
    ITEM = "item"
    INSTANCE = "instance"


@dataclass(frozen=True)
class SyncAction:
    """One change the sync made (or, in a dry run, would make)."""

    action: Action
    kind: Kind
    #: ``type_name`` or ``type_name/item_name``.
    name: str
    detail: str = ""
    #: The database row concerned (not part of reports' JSON).
    row: Any = field(default=None, compare=False, repr=False)
    #: Field values the action sets on :attr:`row` (renames, updates, revivals...).
    changes: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    #: For :attr:`Action.MERGE`: the former-name row whose instances move to :attr:`row`.
    source: Any = field(default=None, compare=False, repr=False)

    @property
    def writes(self) -> bool:
        """Whether the action changes the database (all but ``keep_missing``)."""
        return self.action is not Action.KEEP_MISSING

    @property
    def logged(self) -> bool:
        """Whether the action gets a history entry (the ones that write)."""
        return self.writes


@dataclass
class SyncReport:
    """What a sync did; ``changed`` tells whether the database differed from the registry."""

    mode: Mode
    prune: bool
    dry_run: bool
    actions: list[SyncAction] = field(default_factory=list)
    #: Things the person running the sync should know (e.g. an entry point that failed).
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(action.writes for action in self.actions)

    def counts(self) -> dict[str, int]:
        """Number of actions by ``"<action> <kind>"``."""
        counts = Counter(
            f"{action.action.replace('_', ' ')} {action.kind}" for action in self.actions
        )
        return dict(sorted(counts.items()))

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "prune": self.prune,
            "dry_run": self.dry_run,
            "changed": self.changed,
            "counts": self.counts(),
            "actions": [
                {"action": str(a.action), "kind": str(a.kind), "name": a.name, "detail": a.detail}
                for a in self.actions
            ],
            "warnings": list(self.warnings),
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)
