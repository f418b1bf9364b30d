"""Admin views for plugin instances: the listing, inspecting and deleting.

They extend Wagtail's snippet views; :class:`InstanceInspectView` shows an
instance without configuration values. The views that create and edit
instances are in :mod:`.instance_edit_views` (and importable from here too).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.admin.utils import quote
from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, Exists, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Cast
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from wagtail.admin.ui.tables import (
    BulkActionsCheckboxColumn,
    Column,
    DateColumn,
    LiveStatusTagColumn,
    UsageCountColumn,
)
from wagtail.models import ReferenceIndex, Revision, WorkflowState
from wagtail.snippets.views import snippets as snippet_views

from ... import breaker
from ...core.exceptions import ConfigFormatError
from ...core.settings import drafts_in_use
from ...health import check_message_detail, check_message_display
from ...models import PluginCheckResult, PluginInstance
from ..circuits import CircuitColumn, FailoverEvents, TrafficChart, circuit_label
from ..columns import PluginStatusColumn
from ..permissions import instance_url
from .deleted_instance import DeletedInstanceMixin, deleted_instance_label
from .health_views import CheckHistory
from .instance_edit_views import (
    ChangeManagementMixin,
    InstanceCreateView,
    InstanceEditView,
    InstanceFormMixin,
    InstanceRevertView,
    build_instance_panel,
    warning_block,
)
from .registry_views import date_or_dash

__all__ = [
    "ChangeManagementMixin",
    "DeletedInstanceMixin",
    "InstanceCreateView",
    "InstanceDeleteView",
    "InstanceEditView",
    "InstanceFormMixin",
    "InstanceIndexView",
    "InstanceInspectView",
    "InstanceRevertView",
    "build_instance_panel",
    "deleted_instance_label",
    "warning_block",
]


class HealthColumn(Column):
    """The last check: passed or failed, when, and what editors should read about it."""

    cell_template_name = "wagtail_plugin_system/tables/health_cell.html"

    def get_cell_context_data(self, instance: Any, parent_context: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_cell_context_data(instance, parent_context)
        context["check_message"] = check_message_display(instance.last_check_message)
        return context


class UsageColumn(UsageCountColumn):
    """Wagtail's "Used N times", linked to the instance's usage view."""

    def get_cell_context_data(self, instance: Any, parent_context: Any) -> dict[str, Any]:
        instance.usage_url = instance_url("usage", quote(instance.pk))
        context: dict[str, Any] = super().get_cell_context_data(instance, parent_context)
        return context


class InstanceIndexView(snippet_views.IndexView):
    """The instance listing: a constant number of queries whatever the number of rows."""

    def get_base_queryset(self) -> QuerySet[PluginInstance]:
        queryset: QuerySet[PluginInstance] = super().get_base_queryset()
        if drafts_in_use():
            # The publishing status asks whether a workflow is in progress: one query for
            # the listing, not one per row.
            queryset = queryset.prefetch_related(
                Prefetch(
                    "_workflow_states",
                    queryset=WorkflowState.objects.active().select_related(
                        "current_task_state__task"
                    ),
                    to_attr="_current_workflow_states",
                )
            )
        return queryset.select_related("item__plugin_type", "circuit").annotate(
            usage_count=ReferenceIndex.usage_count_subquery(PluginInstance),
            # The newest check's status, from the history (timed out or failed).
            last_check_status=Subquery(
                PluginCheckResult.objects.filter(instance=OuterRef("pk")).values("status")[:1]
            ),
            # For the publishing status, without a query per row.
            has_approved_schedule=Exists(
                Revision.objects.filter(
                    base_content_type=ContentType.objects.get_for_model(PluginInstance),
                    object_id=Cast(OuterRef("pk"), CharField()),
                    approved_go_live_at__isnull=False,
                )
            ),
        )

    @cached_property
    def columns(self) -> list[Any]:
        columns: list[Any] = [
            BulkActionsCheckboxColumn("bulk_actions", obj_type="snippet"),
            self._get_title_column("name"),
            Column(
                "plugin_type",
                label=pgettext_lazy("plugins admin", "Type"),
                accessor="item.plugin_type",
                sort_key="item__plugin_type__name",
            ),
            Column(
                "item",
                label=pgettext_lazy("plugins admin", "Implementation"),
                accessor="item",
                sort_key="item__name",
            ),
            PluginStatusColumn(label=pgettext_lazy("plugins admin", "Status"), sort_key="status"),
            Column(
                "priority", label=pgettext_lazy("plugins admin", "Priority"), sort_key="priority"
            ),
            HealthColumn(
                "health",
                label=pgettext_lazy("plugins admin", "Last check"),
                accessor="pk",
                sort_key="last_check_at",
            ),
            CircuitColumn(
                "circuit", label=pgettext_lazy("plugins admin", "Circuit"), accessor="pk"
            ),
            UsageColumn(
                "usage_count", label=pgettext_lazy("plugins admin", "Usage"), sort_key="usage_count"
            ),
            DateColumn(
                "updated_at", label=pgettext_lazy("plugins admin", "Updated"), sort_key="updated_at"
            ),
        ]
        if drafts_in_use():
            # Live, draft, scheduled, expired: only where drafts are on for some type.
            columns.insert(
                5, LiveStatusTagColumn(label=pgettext_lazy("plugins admin", "Publishing"))
            )
        return columns

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)
        context["bulk_action_strings"] = {
            "SINGULAR": _("1 plugin instance selected"),
            "PLURAL": _("%(objects)s plugin instances selected"),
            "ALL": _("All %(objects)s plugin instances on this screen selected"),
            "ALL_IN_LISTING": _("All plugin instances in listing selected"),
        }
        return context

    def get_list_more_buttons(self, instance: PluginInstance) -> list[Any]:
        from wagtail.admin.ui.menus import MenuItem

        buttons: list[Any] = super().get_list_more_buttons(instance)
        if self.user_has_permission("change"):
            url = instance_url("check", quote(instance.pk)) + self._back_to_listing
            buttons.append(
                MenuItem(gettext_lazy("Test"), url=url, icon_name="circle-check", priority=25)
            )
            buttons.append(
                MenuItem(
                    gettext_lazy("Circuit breaker"),
                    url=instance_url("circuit", quote(instance.pk)),
                    icon_name="warning",
                    priority=26,
                )
            )
        return buttons

    @cached_property
    def _back_to_listing(self) -> str:
        """The Test buttons' query: back to this page of the listing, with its filters.

        The same for the results-only view that filters and sorting use; made
        once per listing, not once per row.
        """
        listing = instance_url("list")
        if self.request.GET:
            listing += "?" + self.request.GET.urlencode()
        return "?" + urlencode({"next": listing})


class InstanceDeleteView(DeletedInstanceMixin, snippet_views.DeleteView):
    """Wagtail's delete view; once deleted, coming back to it says so."""


class InstanceInspectView(DeletedInstanceMixin, snippet_views.InspectView):
    """Shows an instance without its configuration values, with its circuit and traffic."""

    #: Shown after the viewset's fields: not model fields, each with its own value method.
    extra_fields = {
        "circuit": pgettext_lazy("plugins admin", "Circuit"),
        "traffic": gettext_lazy("Last 24 hours"),
        "failover_events": gettext_lazy("Recent failover events"),
    }

    def get_fields(self) -> list[str]:
        fields: list[str] = super().get_fields()
        return [*fields, *self.extra_fields]

    def get_circuit_display_value(self) -> str:
        return circuit_label(breaker.read(self.object))

    def get_traffic_display_value(self) -> TrafficChart:
        return TrafficChart(self.object)

    def get_failover_events_display_value(self) -> FailoverEvents:
        return FailoverEvents(self.object)

    def get_last_check_ok_display_value(self) -> str:
        instance: PluginInstance = self.object
        if instance.last_check_ok is None:
            return _("Not tested")
        return _("Passed") if instance.last_check_ok else _("Failed")

    def get_last_check_at_display_value(self) -> str:
        return date_or_dash(self.object.last_check_at)

    def get_last_check_message_display_value(self) -> str:
        return check_message_display(self.object.last_check_message) or "\u2014"

    def get_last_check_detail_display_value(self) -> str:
        return check_message_detail(self.object.last_check_message) or "\u2014"

    def get_check_history_display_value(self) -> CheckHistory:
        return CheckHistory(self.object)

    def get_field_label(self, field_name: str, field: Any) -> str:
        if field_name in self.extra_fields:
            return str(self.extra_fields[field_name])
        if field_name == "check_history":  # a viewset field, shown after the last check
            return _("Recent checks")
        if field_name == "last_check_detail":
            return _("Technical detail of the last check")
        label: str = super().get_field_label(field_name, field)
        return label

    def get_config_display_value(self) -> str:
        instance: PluginInstance = self.object
        item_class = instance.get_item_class()
        if item_class is None:
            return _("Unavailable: the implementation's code is not installed.")
        error = instance.get_config_error()
        if isinstance(error, ConfigFormatError):
            return _(
                "Unavailable: it is not a JSON object, or is larger or nested deeper than a "
                "configuration may be. Fill in the configuration again in the edit form."
            )
        if error is not None:
            return _("Unavailable: it cannot be decrypted with the configured keys.")
        configuration = item_class.configuration
        if configuration is None:
            return _("Nothing to configure.")
        stored = instance.config
        filled = [name for name in configuration.form_class.base_fields if stored.get(name)]
        return _("%(count)d of %(total)d fields filled in (values are not shown here).") % {
            "count": len(filled),
            "total": len(configuration.form_class.base_fields),
        }
