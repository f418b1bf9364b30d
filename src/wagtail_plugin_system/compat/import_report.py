"""What an import of django-plugin-system's data reports, and the error that stops one."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from wagtail_plugin_system import PluginSystemError

__all__ = ["ImportAction", "ImportReport", "SeedImportError"]


class SeedImportError(PluginSystemError):
    """The import cannot run; nothing was changed. The message says what to fix."""


@dataclass(frozen=True)
class ImportAction:
    """What happened to one row of django-plugin-system."""

    #: ``create``, ``exists`` (imported before, or made by pluginsync), ``update``, or
    #: ``skip`` (imported before and deleted since: not created again).
    action: str
    #: ``type``, ``item`` or ``instance``.
    kind: str
    #: ``type``, ``type/item`` or ``type/item/instance``.
    name: str
    #: django-plugin-system's id (a UUID).
    seed_id: str
    #: Our id; ``None`` for a row a dry run would create, or one skipped.
    id: int | None
    detail: str = ""


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do)."""

    dry_run: bool
    actions: list[ImportAction] = field(default_factory=list)
    #: Instances imported disabled, each with ``name``, ``seed_id``, ``id`` and ``reason``.
    problems: list[dict[str, Any]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(action.action in ("create", "update") for action in self.actions)

    def counts(self) -> dict[str, int]:
        """Number of rows by ``"<action> <kind>"``."""
        counts: dict[str, int] = {}
        for action in self.actions:
            key = f"{action.action} {action.kind}"
            counts[key] = counts.get(key, 0) + 1
        return dict(sorted(counts.items()))

    def id_map(self) -> dict[str, dict[str, int | None]]:
        """django-plugin-system ids (UUID strings) to ours, by kind."""
        mapping: dict[str, dict[str, int | None]] = {"types": {}, "items": {}, "instances": {}}
        for action in self.actions:
            mapping[f"{action.kind}s"][action.seed_id] = action.id
        return mapping

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "changed": self.changed,
            "counts": self.counts(),
            "actions": [
                {
                    "action": a.action,
                    "kind": a.kind,
                    "name": a.name,
                    "seed_id": a.seed_id,
                    "id": a.id,
                    "detail": a.detail,
                }
                for a in self.actions
            ],
            "problems": list(self.problems),
            "id_map": self.id_map(),
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, ensure_ascii=False)
