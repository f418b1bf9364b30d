"""Admin views for plugin instances: the listing, creating, editing and inspecting.

They extend Wagtail's snippet views:

* creating is two steps: :class:`~.implementations.ChooseImplementationView`
  lists the implementations whose code is present, grouped by type, and
  :class:`InstanceCreateView` shows one form with the instance's own fields and
  the implementation's configuration;
* :class:`InstanceEditView` shows the same form, with secrets write-only;
* :class:`InstanceInspectView` shows an instance without configuration values;
* :class:`InstanceRevertView` restores a revision, configuration and secrets included.

Every save makes a revision. Drafts are opt-in per type (the ``DRAFTS`` and
``APPROVAL`` settings): without them, Save writes the row and records the
revision as live, as if the model had no drafts; with them, the views work as
Wagtail's snippet views do (Save draft, Publish, scheduling, workflows).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.admin.utils import quote
from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, Exists, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Cast
from django.http import Http404, HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from wagtail.admin import messages
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    HelpPanel,
    MultiFieldPanel,
    ObjectList,
    Panel,
    PublishingPanel,
)
from wagtail.admin.ui.tables import (
    BulkActionsCheckboxColumn,
    Column,
    DateColumn,
    LiveStatusTagColumn,
    UsageCountColumn,
)
from wagtail.admin.views.generic import RevisionsRevertMixin
from wagtail.models import ModelLogEntry, ReferenceIndex, Revision, WorkflowState
from wagtail.snippets.views import snippets as snippet_views

from ... import breaker
from ...core.exceptions import ConfigFormatError
from ...core.ids import parse_id
from ...core.settings import approval_required, drafts_enabled, drafts_in_use
from ...health import check_message_detail, check_message_display
from ...models import PluginCheckResult, PluginInstance, PluginItem
from ..circuits import CircuitColumn, FailoverEvents, TrafficChart, circuit_label
from ..columns import PluginStatusColumn
from ..forms import (
    clear_field_name,
    config_field_name,
    configuration_problem,
    configuration_to_replace,
    instance_form_class,
)
from ..permissions import instance_url, user_can_see_instances
from .health_views import CheckHistory
from .registry_views import date_or_dash

__all__ = [
    "InstanceCreateView",
    "InstanceDeleteView",
    "InstanceEditView",
    "InstanceIndexView",
    "InstanceInspectView",
    "InstanceRevertView",
    "build_instance_panel",
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


def warning_block(text: str) -> str:
    """Wagtail's warning box, with its icon (the box leaves room for one)."""
    return render_to_string(
        "wagtailadmin/shared/help_block.html",
        {"status": "warning", "children": format_html("<p>{}</p>", text)},
    )


def _status_row() -> FieldRowPanel:
    return FieldRowPanel([FieldPanel("status"), FieldPanel("priority")])


@sensitive_variables()
def build_instance_panel(item: PluginItem | None, instance: PluginInstance | None) -> Panel:
    """The edit handler for an instance of ``item``: its own fields, then its configuration."""
    form_class = instance_form_class(item)
    children: list[Panel] = []
    if item is not None:
        children.append(
            HelpPanel(
                content=format_html(
                    "<p><strong>{}</strong> ({})</p><p>{}</p>",
                    item,
                    item.plugin_type,
                    item.display_description,
                ),
                heading=_("Implementation"),
            )
        )
    children += [FieldPanel("name"), FieldPanel("description"), _status_row()]
    item_class = form_class.item_class
    configuration = item_class.configuration if item_class is not None else None
    problem = configuration_problem(item_class, instance) if item is not None else None
    if problem:
        children.append(
            HelpPanel(
                content=warning_block(problem),
                heading=_("Configuration unavailable"),
            )
        )
    elif configuration is not None:
        secret = configuration.get_secret_fields()
        stored: dict[str, Any] = {}
        if configuration_to_replace(instance):
            children.append(
                HelpPanel(
                    content=warning_block(
                        _(
                            "The stored configuration is not a JSON object, or is larger or "
                            "nested deeper than a configuration may be (it may have been written "
                            "by another program), so it cannot be shown and the instance is not "
                            "used. Fill in the configuration below and save to replace it."
                        )
                    ),
                    heading=_("Configuration unavailable"),
                )
            )
        elif instance is not None and instance.pk is not None:
            stored = dict(instance.config)
        config_panels: list[Panel] = []
        for name, field in configuration.form_class.base_fields.items():
            config_panels.append(FieldPanel(config_field_name(name)))
            if name in secret and not field.required and stored.get(name) not in (None, ""):
                config_panels.append(FieldPanel(clear_field_name(name)))
        children.append(MultiFieldPanel(config_panels, heading=_("Configuration")))
    if item is not None and drafts_enabled(item.plugin_type.name):
        children.append(PublishingPanel())
    panel: Panel = ObjectList(children, base_form_class=form_class).bind_to_model(PluginInstance)
    return panel


class InstanceFormMixin:
    """The form comes from the per-implementation panel, never from the viewset."""

    panel: Panel

    def get_form_class(self) -> type[Any]:
        form_class: type[Any] = self.panel.get_form_class()
        return form_class


#: Action menu entries that only make sense with drafts, and those of workflows.
_DRAFT_ACTIONS = frozenset({"action-publish", "action-unpublish"})
_WORKFLOW_ACTIONS = frozenset(
    {"action-submit", "action-restart-workflow", "action-cancel-workflow"}
)


class ChangeManagementMixin:
    """Drafts where the settings ask for them; elsewhere Save makes the edit live.

    Without drafts the row is saved as before (the form merges the change into
    the current row) and the saved row is recorded as a revision that is live
    at once (:meth:`~wagtail_plugin_system.models.PluginInstance.save_live_revision`).
    """

    request: HttpRequest
    form: Any
    view_name: str
    draftstate_enabled: bool
    autosave_enabled: bool
    live_object: PluginInstance
    plugin_item: PluginItem | None = None

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)  # type: ignore[misc]
        if not self.draftstate_enabled:
            # Without drafts a save goes live: never while the editor is still typing.
            self.autosave_enabled = False

    def instance_item(self) -> PluginItem | None:
        if self.view_name == "create":
            return self.plugin_item
        return self.live_object.item

    def get_object(self, queryset: Any = None) -> Any:
        obj = super().get_object(queryset)  # type: ignore[misc]
        item = self.instance_item()
        if item is None or not drafts_enabled(item.plugin_type.name):
            self.draftstate_enabled = False
            if self.view_name != "create":
                return self.live_object  # the row, never a pending draft
        return obj

    @cached_property
    def workflow(self) -> Any:
        item = self.instance_item()
        if item is None or not approval_required(item.plugin_type.name):
            return None
        return super().workflow  # type: ignore[misc]

    def _get_action_menu(self) -> Any:
        menu = super()._get_action_menu()  # type: ignore[misc]
        hidden = set(_WORKFLOW_ACTIONS) if self.workflow is None else set()
        if not self.draftstate_enabled:
            hidden |= _DRAFT_ACTIONS
            menu.context["draftstate_enabled"] = False
        if hidden:
            items = [menu.default_item, *menu.menu_items] if menu.default_item else []
            kept = [entry for entry in items if entry.name not in hidden]
            menu.default_item = kept.pop(0) if kept else None
            menu.menu_items = kept
        return menu

    def save_instance(self) -> PluginInstance:
        if self.draftstate_enabled:
            instance: PluginInstance = super().save_instance()  # type: ignore[misc]
            return instance
        return self.save_live()

    def save_live(self, previous_revision: Any = None) -> PluginInstance:
        """Save the form to the row and record the row as a live revision."""
        instance: PluginInstance = self.form.save()
        changed = (
            self.view_name == "create" or previous_revision is not None or self.form.has_changed()
        )
        # The revision records the row as saved, a concurrent change merged in, and its
        # configuration as the very token the row holds (read, not decrypted).
        instance = PluginInstance.objects.select_related("item__plugin_type").get(pk=instance.pk)
        self.has_content_changes = changed
        self.new_revision = instance.save_live_revision(
            user=self.request.user,
            changed=changed,
            previous_revision=previous_revision,
            log_action="wagtail.create" if self.view_name == "create" else True,
        )
        return instance


# Posted configuration values (secrets among them) stay out of error reports.
@method_decorator(sensitive_post_parameters(), name="dispatch")
class InstanceCreateView(ChangeManagementMixin, InstanceFormMixin, snippet_views.CreateView):
    """Step 2 of creating an instance: one form for the chosen implementation."""

    plugin_item: PluginItem | None = None

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        self.plugin_item = self._find_item(kwargs.get("item_pk"))
        super().setup(request, *args, **kwargs)

    @staticmethod
    def _find_item(item_pk: object) -> PluginItem | None:
        pk = parse_id(item_pk)
        if pk is None:
            return None
        item = (
            PluginItem.objects.select_related("plugin_type")
            .filter(pk=pk, is_missing=False, plugin_type__is_missing=False)
            .first()
        )
        if item is None or item.get_item_class() is None:
            return None
        return item

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if self.plugin_item is None and self.user_has_permission("add"):
            messages.error(
                request,
                _(
                    "That implementation does not exist or its code is not installed. Choose "
                    "one of the implementations below."
                ),
            )
            return redirect(self.get_choose_url())
        response: HttpResponseBase = super().dispatch(request, *args, **kwargs)
        return response

    def get_choose_url(self) -> str:
        return instance_url("add")

    def get_panel(self) -> Panel:
        return build_instance_panel(self.plugin_item, None)

    def get_add_url(self) -> str:
        assert self.plugin_item is not None
        return instance_url("add_item", self.plugin_item.pk)

    def get_page_subtitle(self) -> str:
        if self.plugin_item is not None:
            return str(self.plugin_item)
        return str(capfirst(PluginInstance._meta.verbose_name))


def deleted_instance_label(pk: object) -> str | None:
    """The name an instance had when it was deleted, or ``None`` when none was deleted."""
    parsed = parse_id(pk)
    if parsed is None:
        return None
    entry = (
        ModelLogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(PluginInstance),
            object_id=str(parsed),
            action="wagtail.delete",
        )
        .order_by("-timestamp")
        .first()
    )
    return None if entry is None else str(entry.label)


class DeletedInstanceMixin:
    """The pages of a deleted instance (reached with Back) say so, not a bare "not found"."""

    deleted_label: str | None = None

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        try:
            super().setup(request, *args, **kwargs)  # type: ignore[misc]
        except Http404:
            label = deleted_instance_label(kwargs.get("pk"))
            if label is None or not user_can_see_instances(request.user):
                raise
            self.deleted_label = label

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if self.deleted_label is not None:
            messages.warning(
                request,
                _("The plugin instance “%(name)s” has been deleted.")
                % {"name": self.deleted_label},
            )
            return redirect(instance_url("list"))
        response: HttpResponseBase = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        return response


@method_decorator(sensitive_post_parameters(), name="dispatch")
class InstanceEditView(
    DeletedInstanceMixin, ChangeManagementMixin, InstanceFormMixin, snippet_views.EditView
):
    """The edit form: the same layout as creating, with secrets write-only."""

    def get_panel(self) -> Panel:
        instance: PluginInstance = self.object
        return build_instance_panel(instance.item, instance)


@method_decorator(sensitive_post_parameters(), name="dispatch")
class InstanceRevertView(RevisionsRevertMixin, InstanceEditView):
    """The edit form filled from a revision; saving restores it, secrets included.

    A secret left blank takes the revision's value, not the current one.
    """

    view_name = "revisions_revert"
    revision: Any

    def save_instance(self) -> PluginInstance:
        self.form.restoring = True
        if self.draftstate_enabled:
            instance: PluginInstance = super().save_instance()
            return instance
        return self.save_live(previous_revision=self.revision)


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
