"""The database side of a sync: read a snapshot, then apply the planned actions.

Only the ORM is used: one query per table to read, and ``bulk_create``,
``bulk_update``, ``update()`` and ``delete()`` to write, so the number of
queries does not grow with the number of plugins (beyond the batches a
backend splits a bulk write into). The models' querysets announce every bulk
write, which invalidates the selection cache in every process.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connections
from django.db.models import BigIntegerField, Case, Count, F, Q, Value, When
from django.utils.text import capfirst
from wagtail.models import ModelLogEntry, ReferenceIndex

from ..audit import SYNC_LOG_ACTION
from ..fields import Ciphertext
from ..models import PluginInstance, PluginItem, PluginType
from .plan import InstanceCounts, Snapshot
from .report import Action, Kind, SyncAction

__all__ = ["apply_actions", "instances_in_use", "read_snapshot"]

#: Fields the sync may change on existing rows, by model.
_UPDATABLE: dict[type[PluginType] | type[PluginItem], list[str]] = {
    PluginType: ["name", "label", "description", "is_missing", "missing_since", "updated_at"],
    PluginItem: [
        "name",
        "label",
        "description",
        "default_priority",
        "is_configurable",
        "is_missing",
        "missing_since",
        "updated_at",
    ],
}


def _untouched() -> Q:
    """Default instances that no editor changed: sync created them and nothing saved them since."""
    return Q(is_default=True, updated_at=F("created_at"))


def instances_in_use(ids: list[int], using: str) -> dict[int, str]:
    """Why each of these instances must be kept, for those something depends on.

    An instance is in use when another row points at it (any foreign key, such
    as a site's choice in Settings > Plugins), when Wagtail's reference index
    lists a reference to it (a page's plugin block, for instance), when it was
    tested, or when its history holds anything beyond the sync's own entries (an
    editor's change). One query per relation, whatever the number of instances.
    """
    if not ids:
        return {}
    reasons: dict[int, list[str]] = defaultdict(list)
    for pk in (
        PluginInstance.objects.using(using)
        .filter(pk__in=ids, last_check_at__isnull=False)
        .values_list("pk", flat=True)
    ):
        reasons[pk].append("tested")
    for relation in PluginInstance._meta.get_fields(include_hidden=True):
        if not (relation.auto_created and relation.is_relation and not relation.concrete):
            continue
        field = relation.field  # type: ignore[union-attr]
        model = relation.related_model
        for pk in (
            model._base_manager.using(using)  # type: ignore[union-attr]
            .filter(**{f"{field.attname}__in": ids})
            .values_list(field.attname, flat=True)
            .distinct()
        ):
            reasons[pk].append(str(capfirst(model._meta.verbose_name)))  # type: ignore[union-attr]
    content_type = ContentType.objects.db_manager(using).get_for_model(PluginInstance)
    keys = {str(pk): pk for pk in ids}
    for key in (
        ReferenceIndex.objects.using(using)
        .filter(to_content_type=content_type, to_object_id__in=keys)
        .values_list("to_object_id", flat=True)
        .distinct()
    ):
        reasons[keys[key]].append("referenced by content (reference index)")
    for key in (
        ModelLogEntry.objects.using(using)
        .filter(content_type=content_type, object_id__in=keys)
        .exclude(action=SYNC_LOG_ACTION)
        .values_list("object_id", flat=True)
        .distinct()
    ):
        reasons[keys[key]].append("history beyond its creation by a sync")
    return {pk: ", ".join(sorted(set(found))) for pk, found in reasons.items()}


def read_snapshot(using: str, *, prune: bool) -> Snapshot:
    """Read types, items and instance counts (three queries).

    With ``prune``, also the default instances prune may delete and what uses
    them (a few more queries, one per relation to instances).
    """
    types = {row.name: row for row in PluginType.objects.using(using).all()}
    items: dict[int, dict[str, PluginItem]] = defaultdict(dict)
    for row in PluginItem.objects.using(using).all():
        items[row.plugin_type_id][row.name] = row
    counts = {
        row["item_id"]: InstanceCounts(row["total"], row["editor"])
        for row in PluginInstance.objects.using(using)
        .order_by()
        .values("item_id")
        .annotate(total=Count("pk"), editor=Count("pk", filter=~_untouched()))
    }
    defaults: dict[int, list[PluginInstance]] = defaultdict(list)
    in_use: dict[int, str] = {}
    if prune:
        candidates = list(
            PluginInstance.objects.using(using).filter(_untouched()).only("pk", "name", "item_id")
        )
        for instance in candidates:
            defaults[instance.item_id].append(instance)
        in_use = instances_in_use([instance.pk for instance in candidates], using)
    return Snapshot(
        types=types, items=dict(items), counts=counts, defaults=dict(defaults), in_use=in_use
    )


def apply_actions(actions: Iterable[SyncAction], using: str, now: Any) -> dict[Kind, set[int]]:
    """Write what the actions say, table by table, parents before children.

    Returns, by kind, the primary keys of rows planned for deletion that were
    kept because they no longer qualified (see :func:`_prune`).
    """
    created: dict[Kind, list[Any]] = defaultdict(list)
    changed: dict[type[PluginType] | type[PluginItem], dict[int, Any]] = defaultdict(dict)
    merges: list[SyncAction] = []
    deleted: dict[Kind, list[int]] = defaultdict(list)
    for action in actions:
        if action.action is Action.CREATE:
            created[action.kind].append(action.row)
        elif action.action is Action.MERGE:
            merges.append(action)
        elif action.action is Action.DELETE:
            deleted[action.kind].append(action.row.pk)
        elif action.changes:
            for name, value in action.changes.items():
                setattr(action.row, name, value)
            changed[type(action.row)][action.row.pk] = action.row

    if created[Kind.TYPE]:
        _create(created[Kind.TYPE], using, ("name",))
    if created[Kind.ITEM]:
        _create(created[Kind.ITEM], using, ("plugin_type_id", "name"))
    for model, rows in changed.items():
        for row in rows.values():
            row.updated_at = now
        model._default_manager.using(using).bulk_update(list(rows.values()), _UPDATABLE[model])
    if merges:
        # One statement moves every former-name row's instances to its current row.
        sources = [merge.source.pk for merge in merges]
        PluginInstance.objects.using(using).filter(item_id__in=sources).update(
            item_id=Case(
                *(When(item_id=m.source.pk, then=Value(m.row.pk)) for m in merges),
                output_field=BigIntegerField(),
            )
        )
        PluginItem.objects.using(using).filter(pk__in=sources).delete()
    if created[Kind.INSTANCE]:
        # Every default instance stores the same empty configuration: encrypt it once.
        empty = _encrypted({})
        for row in created[Kind.INSTANCE]:
            if row.__dict__.get("config") == {}:
                row.config = empty
        # Each item that gets a default instance had none: its id identifies the new row.
        defaults = _create(created[Kind.INSTANCE], using, ("item_id",))
        # Mark them untouched: their last change is their creation (prune relies on it).
        PluginInstance.objects.using(using).filter(pk__in=[row.pk for row in defaults]).update(
            updated_at=F("created_at")
        )
        for row in defaults:
            row.updated_at = row.created_at
    if any(deleted.values()):
        return _prune(deleted, using)
    return {}


def _prune(planned: dict[Kind, list[int]], using: str) -> dict[Kind, set[int]]:
    """Delete the planned rows that still qualify, by primary key; return the pks kept.

    Between the plan and now, an editor may have changed, tested or chosen an
    instance. The planned instances are locked (on PostgreSQL) and checked again
    within the sync's transaction; those that no longer qualify are kept, and so
    are their implementation and its type.
    """
    instances = PluginInstance.objects.using(using)
    if connections[using].features.has_select_for_update:
        instances = instances.select_for_update()
    qualifying = set(
        instances.filter(pk__in=planned[Kind.INSTANCE])
        .filter(_untouched())
        .values_list("pk", flat=True)
    )
    qualifying -= set(instances_in_use(sorted(qualifying), using))
    PluginInstance.objects.using(using).filter(pk__in=qualifying).delete()
    items = PluginItem.objects.using(using).filter(pk__in=planned[Kind.ITEM])
    gone = set(items.filter(instances__isnull=True).values_list("pk", flat=True))
    PluginItem.objects.using(using).filter(pk__in=gone).delete()
    types = PluginType.objects.using(using).filter(pk__in=planned[Kind.TYPE])
    empty = set(types.filter(items__isnull=True).values_list("pk", flat=True))
    PluginType.objects.using(using).filter(pk__in=empty).delete()
    return {
        Kind.INSTANCE: set(planned[Kind.INSTANCE]) - qualifying,
        Kind.ITEM: set(planned[Kind.ITEM]) - gone,
        Kind.TYPE: set(planned[Kind.TYPE]) - empty,
    }


def _encrypted(value: Any) -> Ciphertext:
    """``value`` as the configuration field stores it: one token, to share between rows."""
    token = PluginInstance._meta.get_field("config").get_prep_value(value)
    assert isinstance(token, str)
    return Ciphertext(token)


def _create(rows: list[Any], using: str, natural_key: tuple[str, ...]) -> list[Any]:
    """``bulk_create`` the rows and make sure each has its primary key.

    Where the database cannot return new keys (MySQL), they are read back in
    one query by ``natural_key``, attribute names that identify a new row.
    """
    model = type(rows[0])
    # A new item's type (a default instance's item) was created just before: bulk_create
    # takes its key from the related object, which stays cached on the row.
    created: list[Any] = model._default_manager.using(using).bulk_create(rows)
    if all(row.pk is not None for row in created):
        return created
    first = natural_key[0]
    keys = {
        tuple(found[:-1]): found[-1]
        for found in model._default_manager.using(using)
        .filter(**{f"{first}__in": {getattr(row, first) for row in created}})
        .values_list(*natural_key, "pk")
    }
    for row in created:
        row.pk = keys[tuple(getattr(row, name) for name in natural_key)]
        row._state.adding = False
        row._state.db = using
    return created
