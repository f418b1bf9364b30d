"""Read-only admin views of the synced registry: plugin types and implementations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import formats, timezone
from django.utils.functional import cached_property
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import pgettext, pgettext_lazy
from wagtail.admin.ui.tables import Column
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


class DescriptionColumn(Column):
    """The start of a description: a long one would push the last columns off the screen."""

    def get_value(self, instance: Any) -> str:
        return Truncator(instance.display_description).chars(80)


class CodeColumn(Column):
    """Whether the code is present, and when it went missing: one column, so the
    listing fits a laptop's screen."""

    cell_template_name = "wagtail_plugin_system/tables/code_cell.html"

    def get_cell_context_data(self, instance: Any, parent_context: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_cell_context_data(instance, parent_context)
        context["present"] = bool(instance.is_code_present)
        context["missing_since"] = (
            date_or_dash(instance.missing_since) if instance.missing_since else None
        )
        return context


class ConfigurableColumn(Column):
    """Yes or No in words: having nothing to configure is not a fault (no red cross)."""

    def get_value(self, instance: Any) -> str:
        return yes_no(instance.is_configurable)


def yes_no(value: object) -> str:
    return str(_("Yes") if value else _("No"))


def date_or_dash(value: datetime | None) -> str:
    """A date in the editor's time zone and format, or a dash for none."""
    if value is None:
        return "—"
    return str(formats.date_format(timezone.localtime(value), "DATETIME_FORMAT"))


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
        columns.append(
            Column("name", label=pgettext_lazy("plugins admin", "Identifier"), sort_key="name")
        )
        if self.model is PluginItem:
            columns.append(
                Column(
                    "plugin_type",
                    label=pgettext_lazy("plugins admin", "Type"),
                    accessor="plugin_type",
                    sort_key="plugin_type__name",
                )
            )
            columns.append(
                ConfigurableColumn(
                    "is_configurable", label=pgettext_lazy("plugins admin", "Configurable")
                )
            )
        columns += [
            DescriptionColumn("description", label=pgettext_lazy("plugins admin", "Description")),
            CodeColumn("code", label=pgettext_lazy("plugins admin", "Code"), accessor="pk"),
            Column(
                "active_count",
                label=pgettext_lazy("plugins admin", "Active"),
                sort_key="active_count",
            ),
            Column(
                "reserved_count",
                label=pgettext_lazy("plugins admin", "Reserved"),
                sort_key="reserved_count",
            ),
            Column(
                "disabled_count",
                label=pgettext_lazy("plugins admin", "Disabled"),
                sort_key="disabled_count",
            ),
        ]
        return columns

    @cached_property
    def header_buttons(self) -> list[Any]:
        buttons: list[Any] = []
        buttons.append(
            HeaderButton(
                pgettext("plugins admin", "Instances"),
                url=instance_url("list"),
                icon_name="list-ul",
            )
        )
        return buttons


class RegistryInspectView(InspectView):
    """A read-only page for one synced type or implementation, every value in words."""

    def get_field_label(self, field_name: str, field: Any) -> str:
        if field_name == "is_code_present":
            return str(_("Code present in this process"))
        label: str = super().get_field_label(field_name, field)
        return label

    def get_is_code_present_display_value(self) -> str:
        present = bool(self.object.is_code_present)
        return _("Yes") if present else _("No: install and register it, then run pluginsync.")

    def get_is_missing_display_value(self) -> str:
        if not self.object.is_missing:
            return _("No")
        return _("Yes: its code was not registered at the last plugin sync.")

    def get_missing_since_display_value(self) -> str:
        return date_or_dash(self.object.missing_since)

    def get_is_configurable_display_value(self) -> str:
        if self.object.is_configurable:
            return _("Yes")
        return _("No: it has nothing to configure.")
