"""Admin viewsets: the "Plugins" menu with Instances, Types and Implementations.

Registered from ``wagtail_hooks.py``. ``PluginInstance`` is a Wagtail snippet
(so it gets permissions, history, usage, the reference index and bulk
actions); the two registry viewsets are read-only.
"""

from __future__ import annotations

from typing import Any

import django_filters  # type: ignore[import-untyped]
from django.contrib.admin.utils import quote
from django.contrib.auth import get_permission_codename
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.urls import path, register_converter, reverse
from django.utils.translation import pgettext_lazy
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from ..core.ids import parse_id
from ..models import PluginInstance, PluginItem, PluginStatus, PluginType
from .chooser import PluginInstanceChooserViewSet
from .circuits import CircuitView
from .permissions import INSTANCES_NAMESPACE
from .views import (
    ChooseImplementationView,
    HealthCheckView,
    InstanceCreateView,
    InstanceDeleteView,
    InstanceEditView,
    InstanceIndexView,
    InstanceInspectView,
    InstanceRevertView,
    RegistryIndexView,
    RegistryInspectView,
)
from .views.revision_views import InstanceCompareView, InstanceHistoryView

__all__ = [
    "PluginInstanceViewSet",
    "PluginItemViewSet",
    "PluginTypeViewSet",
    "PluginsViewSetGroup",
]


class IdConverter:
    """Ids in the admin's URLs: a primary key :func:`~..core.ids.parse_id` accepts, else 404.

    Without it, an id beyond 64 bits reaches the database, which refuses it
    (``OverflowError`` on SQLite): a server error instead of "not found".
    """

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        pk = parse_id(value)
        if pk is None:
            raise ValueError(value)  # Django's way of saying "this URL does not match"
        return pk

    def to_url(self, value: object) -> str:
        return str(value)


#: The path converter of the package's admin URLs (edit, delete, history, usage, inspect...).
ID_CONVERTER = "wagtail_plugin_system_id"
register_converter(IdConverter, ID_CONVERTER)


class InspectURLFinder:
    """Admin links (history reports, search) to the read-only inspect page."""

    inspect_url_name: str = ""
    permission_policy: Any = None

    def __init__(self, user: Any = None) -> None:
        self.user = user

    def get_edit_url(self, instance: Any) -> str | None:
        if self.user is not None and not self.permission_policy.user_has_any_permission(
            self.user, ["add", "change", "delete", "view"]
        ):
            return None
        return reverse(self.inspect_url_name, args=(quote(instance.pk),))


class InstanceFilterSet(WagtailFilterSet):
    """The listing's filters, with the editor's words for them ("All", not "---------")."""

    status = django_filters.ChoiceFilter(
        label=pgettext_lazy("plugins admin", "Status"),
        choices=PluginStatus.choices,
        empty_label=pgettext_lazy("plugins admin filter", "All"),
    )
    item__plugin_type = django_filters.ModelChoiceFilter(
        label=pgettext_lazy("plugins admin", "Type"),
        queryset=PluginType.objects.order_by("name"),
        empty_label=pgettext_lazy("plugins admin filter", "All"),
    )
    item = django_filters.ModelChoiceFilter(
        label=pgettext_lazy("plugins admin", "Implementation"),
        queryset=PluginItem.objects.select_related("plugin_type").order_by(
            "plugin_type__name", "name"
        ),
        empty_label=pgettext_lazy("plugins admin filter", "All"),
    )

    class Meta:
        model = PluginInstance
        fields = ["status", "item__plugin_type", "item"]


class PluginInstanceViewSet(SnippetViewSet):
    """Plugin instances: listing, two-step create, edit, inspect, test, history, usage.

    With Wagtail's revisions (history, compare, revert), drafts and scheduled
    publishing, locking and workflows; see :mod:`.views.instances`.
    """

    model = PluginInstance
    icon = "plug"
    menu_label = pgettext_lazy("plugins admin", "Instances")
    menu_name = "plugin_instances"
    url_prefix = "plugins/instances"
    admin_url_namespace = INSTANCES_NAMESPACE
    pk_path_converter = ID_CONVERTER

    chooser_viewset_class = PluginInstanceChooserViewSet
    index_view_class = InstanceIndexView
    add_view_class = InstanceCreateView
    edit_view_class = InstanceEditView
    delete_view_class = InstanceDeleteView
    inspect_view_class = InstanceInspectView
    revisions_revert_view_class = InstanceRevertView
    revisions_compare_view_class = InstanceCompareView
    history_view_class = InstanceHistoryView
    # Copying would either show secrets or silently drop them: create a new instance instead.
    copy_view_enabled = False
    inspect_view_enabled = True
    inspect_view_fields = [
        "name",
        "description",
        "item",
        "status",
        "priority",
        "config",
        "last_check_at",
        "last_check_ok",
        "last_check_message",
        "last_check_detail",
        "check_history",
        "created_at",
        "updated_at",
    ]

    search_fields = [
        "name",
        "description",
        "item__name",
        "item__label",
        "item__plugin_type__name",
        "item__plugin_type__label",
    ]
    filterset_class = InstanceFilterSet
    # "N plugin instances selected" in the bulk-action bar, not "N snippets selected".
    index_template_name = "wagtail_plugin_system/instances/index.html"
    ordering = ["item__plugin_type__name", "priority", "name"]
    list_per_page = 50

    def get_urlpatterns(self) -> list[Any]:
        patterns: list[Any] = [
            pattern
            for pattern in super().get_urlpatterns()
            if getattr(pattern, "name", None) != "add"
        ]
        return [
            *patterns,
            path("add/", self.choose_view, name="add"),
            path(f"add/<{ID_CONVERTER}:item_pk>/", self.add_view, name="add_item"),
            path(f"check/<{self.pk_path_converter}:pk>/", self.check_view, name="check"),
            path(f"circuit/<{self.pk_path_converter}:pk>/", self.circuit_view, name="circuit"),
        ]

    @property
    def choose_view(self) -> Any:
        return self.construct_view(ChooseImplementationView)

    @property
    def check_view(self) -> Any:
        return self.construct_view(HealthCheckView)

    @property
    def circuit_view(self) -> Any:
        return self.construct_view(CircuitView)


class ReadOnlyRegistryViewSet(ModelViewSet):
    """A listing and an inspect page, nothing that writes: sync owns these rows."""

    inspect_view_enabled = True
    copy_view_enabled = False
    pk_path_converter = ID_CONVERTER
    index_view_class = RegistryIndexView
    inspect_view_class = RegistryInspectView
    add_to_reference_index = False

    def get_urlpatterns(self) -> list[Any]:
        conv = self.pk_path_converter
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
            path(f"inspect/<{conv}:pk>/", self.inspect_view, name="inspect"),
        ]

    def get_common_view_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        view_kwargs: dict[str, Any] = super().get_common_view_kwargs(**kwargs)
        for name in ("add", "edit", "delete", "history", "usage", "copy"):
            view_kwargs[f"{name}_url_name"] = None
        return view_kwargs

    @property
    def url_finder_class(self) -> type[InspectURLFinder]:
        return type(
            "RegistryURLFinder",
            (InspectURLFinder,),
            {
                "inspect_url_name": self.get_url_name("inspect"),
                "permission_policy": self.permission_policy,
            },
        )

    def get_permissions_to_register(self) -> QuerySet[Permission]:
        """Only "view": adding, changing and deleting these rows is pluginsync's job."""
        return Permission.objects.filter(
            content_type=ContentType.objects.get_for_model(self.model),
            codename=get_permission_codename("view", self.model._meta),
        )


class PluginTypeViewSet(ReadOnlyRegistryViewSet):
    model = PluginType
    icon = "folder-open-1"
    menu_label = pgettext_lazy("plugins admin", "Types")
    menu_name = "plugin_types"
    url_prefix = "plugins/types"
    name = "wagtail_plugin_system_types"
    search_fields = ["name", "label", "description"]
    ordering = ["name"]
    list_filter = ["is_missing"]
    inspect_view_fields = [
        "label",
        "name",
        "description",
        "is_code_present",
        "is_missing",
        "missing_since",
        "created_at",
        "updated_at",
    ]


class PluginItemViewSet(ReadOnlyRegistryViewSet):
    model = PluginItem
    icon = "code"
    menu_label = pgettext_lazy("plugins admin", "Implementations")
    menu_name = "plugin_items"
    url_prefix = "plugins/implementations"
    name = "wagtail_plugin_system_items"
    search_fields = ["name", "label", "description", "plugin_type__name", "plugin_type__label"]
    ordering = ["plugin_type__name", "name"]
    list_filter = ["plugin_type", "is_configurable", "is_missing"]
    inspect_view_fields = [
        "label",
        "name",
        "plugin_type",
        "description",
        "is_configurable",
        "default_priority",
        "is_code_present",
        "is_missing",
        "missing_since",
        "created_at",
        "updated_at",
    ]


class PluginsViewSetGroup(SnippetViewSetGroup):
    """The "Plugins" admin menu."""

    items = (PluginInstanceViewSet, PluginTypeViewSet, PluginItemViewSet)
    menu_label = pgettext_lazy("plugins admin", "Plugins")
    menu_icon = "plug"
    menu_name = "plugins"
    add_to_admin_menu = True
