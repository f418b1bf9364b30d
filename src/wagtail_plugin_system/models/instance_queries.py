"""How plugin instances are queried and made: their queryset and manager.

Bulk writes keep the columns selection's index reads in step, as ``save()`` does
(:func:`derive_selection_columns`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..core.contracts import BasePluginItem, BasePluginType
from ..core.exceptions import (
    PluginUnavailableError,
)
from ..core.ids import parse_id
from ..core.registry import registry
from .querysets import InvalidatingQuerySet
from .registry_rows import PluginItem, PluginType
from .status import SELECTABLE_STATUSES, rank_of, status_rank

if TYPE_CHECKING:
    from .plugins import PluginInstance


class PluginInstanceQuerySet(InvalidatingQuerySet["PluginInstance"]):
    """Queries over instances; selection order lives in :meth:`in_selection_order`.

    Bulk writes keep the columns selection's index reads (``selection_rank``,
    ``item_type``) in step with ``status`` and ``item``, as ``save()`` does.
    """

    def update(self, **kwargs: Any) -> int:
        follow_up: dict[str, Any] = {}
        status = kwargs.get("status")
        if "status" in kwargs:
            if hasattr(status, "resolve_expression"):
                follow_up["selection_rank"] = status_rank()
            else:
                kwargs["selection_rank"] = rank_of(status)
        item = kwargs.get("item", kwargs.get("item_id"))
        if "item" in kwargs or "item_id" in kwargs:
            if isinstance(item, PluginItem):
                kwargs["item_type_id"] = item.plugin_type_id
            elif hasattr(item, "resolve_expression"):
                follow_up["item_type_id"] = models.Subquery(
                    PluginItem.objects.filter(pk=models.OuterRef("item_id")).values(
                        "plugin_type_id"
                    )[:1]
                )
            else:
                kwargs["item_type_id"] = (
                    PluginItem.objects.using(self.db)
                    .filter(pk=cast("int", item))
                    .values_list("plugin_type_id", flat=True)
                    .first()
                )
        if not follow_up:
            return super().update(**kwargs)
        # An expression's new value is known only once written: derive from it afterwards.
        pks = list(self.values_list("pk", flat=True))
        count = super().update(**kwargs)
        type(self)(self.model, using=self.db).filter(pk__in=pks).update(**follow_up)
        return count

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> Any:
        objs = list(objs)
        derive_selection_columns(objs, using=self.db)
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs: Any, fields: Any, *args: Any, **kwargs: Any) -> int:
        objs = list(objs)
        fields = list(fields)
        if "status" in fields or "item" in fields or "item_id" in fields:
            derive_selection_columns(objs, using=self.db)
            fields += [name for name in ("selection_rank", "item_type") if name not in fields]
        return super().bulk_update(objs, fields, *args, **kwargs)

    def of_type(self, plugin_type: type[BasePluginType] | str) -> PluginInstanceQuerySet:
        """Instances of a type, given as its class, its name or a former name.

        Rows still carrying a former name (before the next sync renames them)
        are included; a name that is not registered matches that stored name.
        """
        return self.filter(item__plugin_type__name__in=registry.type_names(plugin_type))

    def with_item_and_type(self) -> PluginInstanceQuerySet:
        """The rows with their item and type read in the same query (what displaying needs)."""
        return self.select_related("item__plugin_type")

    def by_outside_id(
        self,
        raw: object,
        plugin_type: type[BasePluginType] | str | PluginType | None = None,
    ) -> PluginInstance | None:
        """The instance an id from outside stands for, with its item and type; else ``None``.

        ``raw`` is whatever arrived (a URL part, a form post, a block value): it
        is parsed by :func:`~wagtail_plugin_system.core.ids.parse_id`, so a
        malformed value (``"²"``, ``"1e3"``, ``None``, a list) is "not found",
        never an error. With ``plugin_type`` (a class, a name or a former name,
        or a :class:`PluginType` row), an instance of another type is not found
        either. One query at most, none for a malformed id.
        """
        pk = parse_id(raw)
        if pk is None:
            return None
        queryset = self.with_item_and_type().filter(pk=pk)
        if isinstance(plugin_type, PluginType):
            queryset = queryset.filter(item__plugin_type=plugin_type)
        elif plugin_type is not None:
            queryset = queryset.of_type(plugin_type)
        return queryset.first()

    def selectable(self) -> PluginInstanceQuerySet:
        """Instances that may be selected: live, active or reserved, with their code synced.

        An instance created as a draft and never published, or one whose expiry time
        has passed, is not live.
        """
        return self.filter(
            # A column of Wagtail's DraftStateMixin, which the type checker cannot see.
            models.Q(live=True),
            status__in=SELECTABLE_STATUSES,
            item__is_missing=False,
            item__plugin_type__is_missing=False,
        )

    def of_type_for_selection(
        self, plugin_type: type[BasePluginType] | str, statuses: Iterable[str]
    ) -> PluginInstanceQuerySet:
        """Instances of a type with one of ``statuses``, as the selection index serves them.

        Filters on the stored ``item_type`` and ``selection_rank``, so that the
        index ``(item_type, selection_rank, priority, created_at, id)`` finds the
        rows and gives them in :meth:`in_selection_order`, however many rows the
        table and the type hold.

        A type known by one name is matched as ``item_type = (SELECT id ...)``:
        one value the planner can put in the index's first column, so that the
        rest of the index is the order. Joining the type table by name instead
        makes PostgreSQL read all the type's rows and sort them (a join's
        output keeps the order of its outer side only). A type that also has
        former names may still have a row under each, until ``pluginsync``
        renames them: its rows are found by name and sorted.
        """
        ranks = sorted({rank_of(status) for status in statuses})
        names = registry.type_names(plugin_type)
        if len(names) == 1:  # the name is unique: the subquery gives one id or none
            type_id = PluginType.objects.filter(name=names[0]).order_by().values("pk")[:1]
            queryset = self.filter(item_type=models.Subquery(type_id))
        else:
            queryset = self.filter(item_type__name__in=names)
        if ranks and ranks == list(range(ranks[0], ranks[-1] + 1)):  # a range the index serves
            return queryset.filter(selection_rank__range=(ranks[0], ranks[-1]))
        return queryset.filter(selection_rank__in=ranks)

    def in_selection_order(self) -> PluginInstanceQuerySet:
        """Active before reserved (before disabled), then priority, then creation order.

        Each row comes with its circuit (when it has one), so that selection with
        the database store reads circuits in the same query.
        """
        return (
            self.with_item_and_type()
            .select_related("circuit")
            .order_by("selection_rank", "priority", "created_at", "pk")
        )


class PluginInstanceManager(models.Manager["PluginInstance"]):
    def get_queryset(self) -> PluginInstanceQuerySet:
        return PluginInstanceQuerySet(self.model, using=self._db)

    def of_type(self, plugin_type: type[BasePluginType] | str) -> PluginInstanceQuerySet:
        return self.get_queryset().of_type(plugin_type)

    def with_item_and_type(self) -> PluginInstanceQuerySet:
        return self.get_queryset().with_item_and_type()

    def of_type_for_selection(
        self, plugin_type: type[BasePluginType] | str, statuses: Iterable[str]
    ) -> PluginInstanceQuerySet:
        return self.get_queryset().of_type_for_selection(plugin_type, statuses)

    def by_outside_id(
        self,
        raw: object,
        plugin_type: type[BasePluginType] | str | PluginType | None = None,
    ) -> PluginInstance | None:
        return self.get_queryset().by_outside_id(raw, plugin_type)

    def create_instance(
        self,
        item: type[BasePluginItem] | PluginItem,
        *,
        name: str,
        config: Mapping[str, Any] | None = None,
        validate: bool = True,
        **fields: Any,
    ) -> PluginInstance:
        """Create a configured instance of an item from code.

        ``item`` is a registered item class or its :class:`PluginItem` row
        (run ``pluginsync`` first so the row exists). When ``validate`` is
        true, ``config`` goes through the item's configuration form exactly as
        an editor's input would, and a
        :class:`~django.core.exceptions.ValidationError` names each invalid
        field.
        """
        if isinstance(item, type):
            item_class = item
            try:
                row = PluginItem.objects.using(self._db).get(
                    plugin_type__name=item.plugin_type.name, name=item.name
                )
            except PluginItem.DoesNotExist:
                raise PluginUnavailableError(
                    f"Plugin item {item.plugin_type.name}/{item.name} has no database row yet. "
                    f"Register it and run 'manage.py pluginsync' first.",
                    plugin_class=item,
                    type_name=item.plugin_type.name,
                    item_name=item.name,
                ) from None
        else:
            row = item
            found = row.get_item_class()
            if found is None:
                raise PluginUnavailableError(
                    f"The code of plugin item {row.plugin_type.name}/{row.name} is not "
                    f"registered in this process, so its configuration cannot be checked.",
                    type_name=row.plugin_type.name,
                    item_name=row.name,
                )
            item_class = found
        data = dict(config or {})
        if validate and item_class.configuration is not None:
            data = item_class.configuration.validate(data)
        elif validate and data:
            raise ValidationError(
                _("%(item)s has no configuration, so it cannot store config values.")
                % {"item": f"{item_class.plugin_type.name}/{item_class.name}"},
            )
        fields.setdefault("priority", row.default_priority)
        instance: PluginInstance = self.create(item=row, name=name, config=data, **fields)
        return instance


def derive_selection_columns(instances: list[PluginInstance], using: str | None) -> None:
    """Set ``selection_rank`` and ``item_type`` from ``status`` and ``item``.

    The item's type comes from the item when it is loaded on the row (it is
    when the item was assigned), else from one query for all the rows that need it.
    """
    unknown: set[int] = set()
    for instance in instances:
        instance.selection_rank = rank_of(instance.status)
        item = instance._state.fields_cache.get("item")
        if item is not None and instance.item_id in (None, item.pk):  # the assigned item
            plugin_type = item._state.fields_cache.get("plugin_type")
            type_id = item.plugin_type_id or getattr(plugin_type, "pk", None)
            if type_id is not None:
                instance.item_type_id = type_id
        elif instance.item_type_id is None and instance.item_id is not None:
            unknown.add(instance.item_id)
    if unknown:
        types = dict(
            PluginItem.objects.using(using)
            .filter(pk__in=unknown)
            .values_list("pk", "plugin_type_id")
        )
        for instance in instances:
            if instance.item_type_id is None and instance.item_id in types:
                instance.item_type_id = types[instance.item_id]
