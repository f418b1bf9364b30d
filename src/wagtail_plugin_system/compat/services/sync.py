"""django-plugin-system's ``services.sync``: the sync, with its counts.

:func:`sync_registered_plugins_to_db` runs our sync
(:func:`wagtail_plugin_system.sync.sync_plugins`) and returns
django-plugin-system's dict of counts. Its ``prune`` is our safe prune: it
never deletes configured instances, only rows of missing types and items that
no editor-made instance depends on (django-plugin-system deletes every
unregistered type and item with their instances, and prunes by default).
"""

from __future__ import annotations

from typing import Literal

from wagtail_plugin_system import registry
from wagtail_plugin_system.sync import sync_plugins

__all__ = ["sync_registered_plugins_to_db"]

Mode = Literal["create", "update"]

COUNT_KEYS = (
    "types_created",
    "types_found",
    "items_created",
    "items_found",
    "instances_created",
    "instances_found",
    "pruned_types",
    "pruned_items",
    "pruned_instances",
)


def sync_registered_plugins_to_db(*, mode: Mode = "create", prune: bool = True) -> dict[str, int]:
    """Mirror the registry into the database; return django-plugin-system's counts.

    ``*_found`` count registered types, items and default instances that had
    their rows already.
    """
    report = sync_plugins(mode=mode, prune=prune)
    done: dict[tuple[str, str], int] = {}
    for action in report.actions:
        key = (action.action, action.kind)
        done[key] = done.get(key, 0) + 1
    entries = registry.get_type_entries()
    items = [item for entry in entries for item in entry.items.values()]
    unconfigurable = sum(1 for item in items if item.item_class.configuration is None)
    counts = {
        "types_created": done.get(("create", "type"), 0),
        "items_created": done.get(("create", "item"), 0),
        "instances_created": done.get(("create", "instance"), 0),
        "pruned_types": done.get(("delete", "type"), 0),
        "pruned_items": done.get(("delete", "item"), 0),
        "pruned_instances": done.get(("delete", "instance"), 0),
    }
    counts["types_found"] = len(entries) - counts["types_created"]
    counts["items_found"] = len(items) - counts["items_created"]
    counts["instances_found"] = max(unconfigurable - counts["instances_created"], 0)
    return {key: counts[key] for key in COUNT_KEYS}
