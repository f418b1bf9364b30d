"""The plugin instance chooser's modal: its views and viewset (the widget is in ``widgets``).

Used by :class:`~wagtail_plugin_system.blocks.PluginInstanceChooserBlock` and
by the per-site settings. The modal can be narrowed to one plugin type with a
URL parameter (``plugin_type=<name>`` or ``plugin_type_id=<pk>``, the latter
filled in from a linked field), shows each instance's implementation and
status, searches by name, description and implementation, and is only
available to users with a permission on plugin instances. The modal narrows
what editors see; the block and the settings form validate on the server.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path
from django.utils.translation import pgettext_lazy
from wagtail.admin.forms.choosers import BaseFilterForm
from wagtail.admin.ui.tables import Column
from wagtail.snippets.views.chooser import (
    ChooseResultsView,
    ChooseView,
    SnippetChooserViewSet,
    SnippetChosenMultipleView,
    SnippetChosenView,
)

from ..core.ids import parse_id, parse_ids
from ..core.registry import registry
from ..models import PluginInstance
from ..widgets import TYPE_ID_PARAMETER, TYPE_NAME_PARAMETER, instance_display_title
from .columns import PluginStatusColumn
from .permissions import user_can_see_instances

__all__ = ["PluginInstanceChooserViewSet"]


class InstanceFilterForm(BaseFilterForm):
    """Search by name, description, implementation or type (database search).

    The type the modal is narrowed to travels as hidden fields, so that a
    search, a filter or another page of results keeps it (the modal's script
    submits the form's fields, not the parameters of the URL that opened it).
    """

    plugin_type = forms.CharField(required=False, widget=forms.HiddenInput)
    plugin_type_id = forms.CharField(required=False, widget=forms.HiddenInput)

    q = forms.CharField(
        label=pgettext_lazy("plugins admin", "Search term"),
        widget=forms.TextInput(attrs={"placeholder": pgettext_lazy("plugins admin", "Search")}),
        required=False,
    )

    def filter(self, objects: QuerySet[PluginInstance]) -> QuerySet[PluginInstance]:
        objects = super().filter(objects)
        query = self.cleaned_data.get("q")
        if query:
            objects = objects.filter(
                Q(name__icontains=query)
                | Q(description__icontains=query)
                | Q(item__label__icontains=query)
                | Q(item__name__icontains=query)
                | Q(item__plugin_type__label__icontains=query)
            )
            self.is_searching = True
            self.search_query = query
        return objects


class InstanceChooseViewMixin:
    """Narrowing by type, related rows loaded in the same query, extra columns."""

    request: HttpRequest
    filter_form_class = InstanceFilterForm
    # Editors know these as plugin instances, not snippets.
    results_template_name = "wagtail_plugin_system/chooser/results.html"
    # The title says it all ("Choose a plugin instance"), in the editor's language.
    page_subtitle = None
    preserve_url_parameters = ["multiple", TYPE_NAME_PARAMETER, TYPE_ID_PARAMETER]

    def get_object_list(self) -> QuerySet[PluginInstance]:
        objects = PluginInstance.objects.with_item_and_type().order_by(
            "item__plugin_type__name", "priority", "name"
        )
        name = self.request.GET.get(TYPE_NAME_PARAMETER)
        if name:
            objects = objects.filter(item__plugin_type__name__in=registry.type_names(name))
        type_id = self.request.GET.get(TYPE_ID_PARAMETER)
        if type_id:
            pk = parse_id(type_id)
            objects = objects.filter(item__plugin_type_id=pk) if pk else objects.none()
        return objects

    @property
    def columns(self) -> list[Any]:
        columns: list[Any] = super().columns  # type: ignore[misc]
        return [
            *columns,
            Column("item", label=pgettext_lazy("plugins admin", "Implementation"), accessor="item"),
            PluginStatusColumn(label=pgettext_lazy("plugins admin", "Status")),
        ]


class InstanceChooseView(InstanceChooseViewMixin, ChooseView):
    pass


class InstanceChooseResultsView(InstanceChooseViewMixin, ChooseResultsView):
    pass


class InstanceChosenView(SnippetChosenView):
    def get_object(self, pk: Any) -> PluginInstance:
        instance = PluginInstance.objects.by_outside_id(pk)
        if instance is None:
            raise PluginInstance.DoesNotExist
        return instance

    def get_display_title(self, instance: PluginInstance) -> str:
        return instance_display_title(instance)


class InstanceChosenMultipleView(SnippetChosenMultipleView):
    """Several chosen instances; any malformed id is "not found"."""

    def get_objects(self, pks: Any) -> QuerySet[PluginInstance]:
        parsed = parse_ids(pks)
        if any(pk is None for pk in parsed):
            raise Http404
        return PluginInstance.objects.with_item_and_type().filter(pk__in=parsed)


def require_instance_permission(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Only users with some permission on plugin instances may use the chooser."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not user_can_see_instances(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


class PluginInstanceChooserViewSet(SnippetChooserViewSet):
    """The instance chooser, for users with a permission on instances; no "create" tab."""

    # Lazy, so in the editor's language: Wagtail's default is formatted once, at import.
    choose_one_text = pgettext_lazy("plugins admin", "Choose a plugin instance")
    page_title = pgettext_lazy("plugins admin", "Choose a plugin instance")
    choose_view_class = InstanceChooseView
    choose_results_view_class = InstanceChooseResultsView
    chosen_view_class = InstanceChosenView
    chosen_multiple_view_class = InstanceChosenMultipleView

    def get_urlpatterns(self) -> list[Any]:
        return [
            path(
                str(pattern.pattern),
                require_instance_permission(pattern.callback),
                name=pattern.name,
            )
            for pattern in super().get_urlpatterns()
            if pattern.name != "create"
        ]
