"""Admin views for plugin instances and the synced registry.

The instance views extend Wagtail's snippet views:

* creating is two steps: :class:`ChooseImplementationView` lists the
  implementations whose code is present, grouped by type, and
  :class:`InstanceCreateView` shows one form with the instance's own fields
  and the implementation's configuration;
* :class:`InstanceEditView` shows the same form, with secrets write-only;
* :class:`HealthCheckView` runs an instance's check.

The registry views (types and implementations) are read-only.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin.utils import quote
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from wagtail.admin import messages
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    HelpPanel,
    MultiFieldPanel,
    ObjectList,
    Panel,
)
from wagtail.admin.ui.tables import (
    BooleanColumn,
    BulkActionsCheckboxColumn,
    Column,
    DateColumn,
    StatusTagColumn,
    UsageCountColumn,
)
from wagtail.admin.utils import get_valid_next_url_from_request
from wagtail.admin.views.generic import IndexView, InspectView, PermissionCheckedMixin
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.widgets.button import HeaderButton
from wagtail.models import ReferenceIndex
from wagtail.snippets.views import snippets as snippet_views

from .forms import (
    clear_field_name,
    config_field_name,
    configuration_problem,
    instance_form_class,
)
from .health import run_health_check
from .models import PluginInstance, PluginItem, PluginStatus, PluginType
from .registry import registry

__all__ = [
    "ChooseImplementationView",
    "HealthCheckView",
    "InstanceCreateView",
    "InstanceEditView",
    "InstanceIndexView",
    "InstanceInspectView",
    "RegistryIndexView",
    "RegistryInspectView",
]


class InstancePermissionMixin(PermissionCheckedMixin):
    """Checks permissions against the instance viewset's policy (never skipped)."""

    model = PluginInstance

    @cached_property
    def permission_policy(self) -> Any:
        return PluginInstance.snippet_viewset.permission_policy  # type: ignore[attr-defined]


# -- listing --------------------------------------------------------------------------------


class HealthColumn(Column):
    cell_template_name = "wagtail_plugin_system/tables/health_cell.html"


class InstanceIndexView(snippet_views.IndexView):
    """The instance listing: a constant number of queries whatever the number of rows."""

    def get_base_queryset(self) -> QuerySet[PluginInstance]:
        queryset: QuerySet[PluginInstance] = super().get_base_queryset()
        return queryset.select_related("item__plugin_type").annotate(
            usage_count=ReferenceIndex.usage_count_subquery(PluginInstance)
        )

    @cached_property
    def columns(self) -> list[Any]:
        return [
            BulkActionsCheckboxColumn("bulk_actions", obj_type="snippet"),
            self._get_title_column("name"),
            Column(
                "plugin_type",
                label=gettext_lazy("Type"),
                accessor="item.plugin_type",
                sort_key="item__plugin_type__name",
            ),
            Column(
                "item",
                label=gettext_lazy("Implementation"),
                accessor="item",
                sort_key="item__name",
            ),
            StatusTagColumn(
                "status",
                label=gettext_lazy("Status"),
                accessor="get_status_display",
                primary=lambda instance: instance.status == PluginStatus.ACTIVE,
                sort_key="status",
            ),
            Column("priority", label=gettext_lazy("Priority"), sort_key="priority"),
            HealthColumn(
                "health", label=gettext_lazy("Last check"), accessor="pk", sort_key="last_check_at"
            ),
            UsageCountColumn("usage_count", label=gettext_lazy("Usage"), sort_key="usage_count"),
            DateColumn("updated_at", label=gettext_lazy("Updated"), sort_key="updated_at"),
        ]

    def get_list_more_buttons(self, instance: PluginInstance) -> list[Any]:
        from wagtail.admin.ui.menus import MenuItem

        buttons: list[Any] = super().get_list_more_buttons(instance)
        if self.user_has_permission("change"):
            url = reverse(
                PluginInstance.snippet_viewset.get_url_name("check"),  # type: ignore[attr-defined]
                args=(quote(instance.pk),),
            )
            buttons.append(
                MenuItem(gettext_lazy("Test"), url=url, icon_name="circle-check", priority=25)
            )
        return buttons


# -- create and edit ------------------------------------------------------------------------


def _status_row() -> FieldRowPanel:
    return FieldRowPanel([FieldPanel("status"), FieldPanel("priority")])


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
                    item.description,
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
                content=format_html('<div class="help-block help-warning">{}</div>', problem),
                heading=_("Configuration unavailable"),
            )
        )
    elif configuration is not None:
        secret = configuration.get_secret_fields()
        stored: dict[str, Any] = {}
        if instance is not None and instance.pk is not None:
            stored = dict(instance.config)
        config_panels: list[Panel] = []
        for name in configuration.form_class.base_fields:
            config_panels.append(FieldPanel(config_field_name(name)))
            if name in secret and stored.get(name) not in (None, ""):
                config_panels.append(FieldPanel(clear_field_name(name)))
        children.append(MultiFieldPanel(config_panels, heading=_("Configuration")))
    panel: Panel = ObjectList(children, base_form_class=form_class).bind_to_model(PluginInstance)
    return panel


class InstanceFormMixin:
    """The form comes from the per-implementation panel, never from the viewset."""

    panel: Panel

    def get_form_class(self) -> type[Any]:
        form_class: type[Any] = self.panel.get_form_class()
        return form_class


class InstanceCreateView(InstanceFormMixin, snippet_views.CreateView):
    """Step 2 of creating an instance: one form for the chosen implementation."""

    plugin_item: PluginItem | None = None

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        self.plugin_item = self._find_item(kwargs.get("item_pk"))
        super().setup(request, *args, **kwargs)

    @staticmethod
    def _find_item(item_pk: int | None) -> PluginItem | None:
        if item_pk is None:
            return None
        item = (
            PluginItem.objects.select_related("plugin_type")
            .filter(pk=item_pk, is_missing=False, plugin_type__is_missing=False)
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
        return reverse(PluginInstance.snippet_viewset.get_url_name("add"))  # type: ignore[attr-defined]

    def get_panel(self) -> Panel:
        return build_instance_panel(self.plugin_item, None)

    def get_add_url(self) -> str:
        assert self.plugin_item is not None
        return reverse(
            PluginInstance.snippet_viewset.get_url_name("add_item"),  # type: ignore[attr-defined]
            args=(self.plugin_item.pk,),
        )

    def get_page_subtitle(self) -> str:
        if self.plugin_item is not None:
            return str(self.plugin_item)
        return str(capfirst(PluginInstance._meta.verbose_name))


class InstanceEditView(InstanceFormMixin, snippet_views.EditView):
    """The edit form: the same layout as creating, with secrets write-only."""

    def get_panel(self) -> Panel:
        instance: PluginInstance = self.object
        return build_instance_panel(instance.item, instance)


class InstanceInspectView(snippet_views.InspectView):
    """Shows an instance without its configuration values."""

    def get_config_display_value(self) -> str:
        instance: PluginInstance = self.object
        item_class = instance.get_item_class()
        if item_class is None:
            return _("Unavailable: the implementation's code is not installed.")
        if not instance.has_readable_config:
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


# -- the first step of creating -----------------------------------------------------------


class ChooseImplementationView(InstancePermissionMixin, WagtailAdminTemplateMixin, TemplateView):
    """Step 1 of creating an instance: pick an implementation, grouped by type."""

    permission_required = "add"
    template_name = "wagtail_plugin_system/choose_implementation.html"
    page_title = gettext_lazy("New plugin instance")
    header_icon = "plus"

    def get_page_subtitle(self) -> str:
        return _("Choose an implementation")

    def get_breadcrumbs_items(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = super().get_breadcrumbs_items()
        return [
            *items,
            {
                "url": reverse(PluginInstance.snippet_viewset.get_url_name("list")),  # type: ignore[attr-defined]
                "label": capfirst(PluginInstance._meta.verbose_name_plural),
            },
            {"url": "", "label": _("New: choose an implementation")},
        ]

    def get_groups(self) -> list[dict[str, Any]]:
        types = PluginType.objects.filter(is_missing=False).prefetch_related(
            Prefetch("items", queryset=PluginItem.objects.filter(is_missing=False))
        )
        viewset = PluginInstance.snippet_viewset  # type: ignore[attr-defined]
        groups = []
        for type_row in types:
            items = []
            for item in type_row.items.all():
                item_class = registry.get_item(type_row.name, item.name)
                if item_class is None:
                    continue
                items.append(
                    {
                        "item": item,
                        "configurable": item_class.configuration is not None,
                        "url": reverse(viewset.get_url_name("add_item"), args=(item.pk,)),
                    }
                )
            if items:
                groups.append({"type": type_row, "items": items})
        return groups

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)
        context["groups"] = self.get_groups()
        return context


# -- health checks -------------------------------------------------------------------------


class HealthCheckView(InstancePermissionMixin, WagtailAdminTemplateMixin, TemplateView):
    """GET: confirm; POST: run the instance's check, record and report the result."""

    permission_required = "change"
    template_name = "wagtail_plugin_system/health_check.html"
    page_title = gettext_lazy("Test plugin instance")
    header_icon = "circle-check"

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        # Looked up lazily, so the permission check in dispatch() runs first.
        self.object: PluginInstance | None = None

    def get_object(self) -> PluginInstance:
        if self.object is None:
            try:
                self.object = get_object_or_404(
                    PluginInstance.objects.select_related("item__plugin_type"),
                    pk=self.kwargs["pk"],
                )
            except (ValueError, TypeError) as exc:
                raise Http404 from exc
        return self.object

    def get_page_subtitle(self) -> str:
        return str(self.get_object())

    def get_edit_url(self) -> str:
        viewset = PluginInstance.snippet_viewset  # type: ignore[attr-defined]
        return reverse(viewset.get_url_name("edit"), args=(quote(self.get_object().pk),))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)
        context["object"] = self.get_object()
        context["edit_url"] = self.get_edit_url()
        context["next"] = get_valid_next_url_from_request(self.request)
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        instance = self.get_object()
        result = run_health_check(instance, user=request.user)
        if result.ok:
            messages.success(
                request,
                _("'%(name)s' passed its check: %(message)s")
                % {"name": instance, "message": result.message},
            )
        else:
            messages.error(
                request,
                _("'%(name)s' failed its check: %(message)s")
                % {"name": instance, "message": result.message},
            )
        return redirect(get_valid_next_url_from_request(request) or self.get_edit_url())


# -- the registry (read-only) -------------------------------------------------------------


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
        viewset = PluginInstance.snippet_viewset  # type: ignore[attr-defined]
        buttons.append(
            HeaderButton(
                _("Instances"), url=reverse(viewset.get_url_name("list")), icon_name="list-ul"
            )
        )
        return buttons


class RegistryInspectView(InspectView):
    """A read-only page for one synced type or implementation."""

    def get_is_code_present_display_value(self) -> str:
        present = bool(self.object.is_code_present)
        return _("Yes") if present else _("No: install and register it, then run pluginsync.")
