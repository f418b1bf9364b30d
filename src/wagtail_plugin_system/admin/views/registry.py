"""Read-only admin views of the synced registry: plugin types and implementations."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.admin.ui.tables import BooleanColumn, Column, DateColumn
from wagtail.admin.views.generic import IndexView, InspectView
from wagtail.admin.widgets.button import HeaderButton

from ...models import PluginItem, PluginStatus, PluginType
from ..permissions import instance_url

__all__ = ["RegistryIndexView", "RegistryInspectView"]


def _status_counts(prefix: str) -> dict[str, Count]:
    return {
        f"{status}_count": Count(prefix, filter=Q(**{f"{prefix}__status": status}))
        for status in PluginStatus.values
    }


class CodePresentColumn(BooleanColumn):
    def get_value(self, instance: Any) -> bool:
        return bool(instance.is_code_present)


class RegistryIndexView(IndexView):
    """A read-only listing of synced types or implementations, with instance counts."""

    def get_base_queryset(self) -> QuerySet[Any]:
        queryset: QuerySet[Any] = super().get_base_queryset()
        if self.model is PluginType:
            annotated: QuerySet[Any] = queryset.annotate(**_status_counts("items__instances"))
        else:
            annotated = queryset.select_related("plugin_type").annotate(
                **_status_counts("instances")
            )
        return annotated

    def get_edit_url(self, instance: Any) -> str | None:
        # Rows link to their read-only inspect page.
        url: str | None = self.get_inspect_url(instance)
        return url

    def get_list_more_buttons(self, instance: Any) -> list[Any]:
        from wagtail.admin.ui.menus import MenuItem

        url = self.get_inspect_url(instance)
        if not url:
            return []
        return [MenuItem(_("Inspect"), url=url, icon_name="info-circle", priority=10)]

    @cached_property
    def columns(self) -> list[Any]:
        columns: list[Any] = [self._get_title_column("__str__")]
        columns.append(Column("name", label=gettext_lazy("Identifier"), sort_key="name"))
        if self.model is PluginItem:
            columns.append(
                Column(
                    "plugin_type",
                    label=gettext_lazy("Type"),
                    accessor="plugin_type",
                    sort_key="plugin_type__name",
                )
            )
            columns.append(BooleanColumn("is_configurable", label=gettext_lazy("Configurable")))
        columns += [
            Column("description", label=gettext_lazy("Description")),
            CodePresentColumn("code", label=gettext_lazy("Code present")),
            Column("active_count", label=gettext_lazy("Active"), sort_key="active_count"),
            Column("reserved_count", label=gettext_lazy("Reserved"), sort_key="reserved_count"),
            Column("disabled_count", label=gettext_lazy("Disabled"), sort_key="disabled_count"),
            DateColumn("missing_since", label=gettext_lazy("Missing since")),
        ]
        return columns

    @cached_property
    def header_buttons(self) -> list[Any]:
        buttons: list[Any] = []
        buttons.append(HeaderButton(_("Instances"), url=instance_url("list"), icon_name="list-ul"))
        return buttons


class RegistryInspectView(InspectView):
    """A read-only page for one synced type or implementation."""

    def get_is_code_present_display_value(self) -> str:
        present = bool(self.object.is_code_present)
        return _("Yes") if present else _("No: install and register it, then run pluginsync.")
