"""The first step of creating a plugin instance: pick an implementation, grouped by type."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from ...models import PluginInstance, PluginItem, PluginType
from ..permissions import InstancePermissionMixin, instance_url

__all__ = ["ChooseImplementationView"]


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
                "url": instance_url("list"),
                "label": capfirst(PluginInstance._meta.verbose_name_plural),
            },
            {"url": "", "label": _("New: choose an implementation")},
        ]

    def get_groups(self) -> list[dict[str, Any]]:
        types = PluginType.objects.filter(is_missing=False).prefetch_related(
            Prefetch("items", queryset=PluginItem.objects.filter(is_missing=False))
        )
        groups = []
        for type_row in types:
            items = []
            for item in type_row.items.all():
                item_class = item.get_item_class()
                if item_class is None:
                    continue
                items.append(
                    {
                        "item": item,
                        "configurable": item_class.configuration is not None,
                        "url": instance_url("add_item", item.pk),
                    }
                )
            if items:
                groups.append({"type": type_row, "items": items})
        return groups

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)
        context["groups"] = self.get_groups()
        return context
