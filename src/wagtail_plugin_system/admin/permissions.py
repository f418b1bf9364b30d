"""Who may do what with plugin instances: one permission policy for the whole admin.

The instance viewset, its extra views (choosing an implementation, testing),
the bulk actions and the chooser all check :data:`instance_permission_policy`,
Wagtail's model permission policy for
:class:`~wagtail_plugin_system.models.PluginInstance` (the ``add``, ``change``,
``delete`` and ``view`` permissions, assignable per group).
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin.utils import quote
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils.text import capfirst
from wagtail.admin.views.generic import PermissionCheckedMixin
from wagtail.permission_policies import ModelPermissionPolicy

from ..models import PluginInstance

__all__ = [
    "ANY_INSTANCE_PERMISSION",
    "INSTANCES_NAMESPACE",
    "InstancePageMixin",
    "InstancePermissionMixin",
    "instance_permission_policy",
    "instance_url",
    "user_can_see_instances",
]

#: The permission policy for plugin instances.
instance_permission_policy = ModelPermissionPolicy(PluginInstance)

#: Holding any of these is enough to see instances (listing, chooser, inspect).
ANY_INSTANCE_PERMISSION = ("add", "change", "delete", "view")

#: The URL namespace of the instance viewset's views.
INSTANCES_NAMESPACE = "wagtail_plugin_system_instances"


def user_can_see_instances(user: Any) -> bool:
    """Whether ``user`` holds any permission on plugin instances."""
    return bool(instance_permission_policy.user_has_any_permission(user, ANY_INSTANCE_PERMISSION))


def instance_url(view_name: str, *args: Any) -> str:
    """The URL of one of the instance viewset's views (``list``, ``edit``, ``check``...)."""
    return reverse(f"{INSTANCES_NAMESPACE}:{view_name}", args=args)


class InstancePermissionMixin(PermissionCheckedMixin):
    """Admin views about instances: checked against :data:`instance_permission_policy`."""

    permission_policy = instance_permission_policy


class InstancePageMixin(InstancePermissionMixin):
    """A page about one instance (its test, its circuit): the instance, found by the id in
    the URL once the permission check has run, in the subtitle and the breadcrumbs."""

    #: The last breadcrumb: what this page is, e.g. "Test".
    breadcrumb_label: Any = ""

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        # Looked up lazily, so the permission check in dispatch() runs first.
        self.object: PluginInstance | None = None

    def get_object(self) -> PluginInstance:
        if self.object is None:
            self.object = PluginInstance.objects.by_outside_id(self.kwargs.get("pk"))
            if self.object is None:
                raise Http404
        return self.object

    def get_page_subtitle(self) -> str:
        return str(self.get_object())

    def get_edit_url(self) -> str:
        return instance_url("edit", quote(self.get_object().pk))

    def get_breadcrumbs_items(self) -> list[dict[str, Any]]:
        """Home, the instances, this instance (its edit page), then this page."""
        instance = self.get_object()
        items: list[dict[str, Any]] = super().get_breadcrumbs_items()
        return [
            *items,
            {
                "url": instance_url("list"),
                "label": capfirst(PluginInstance._meta.verbose_name_plural),
            },
            {"url": self.get_edit_url(), "label": str(instance)},
            {"url": "", "label": self.breadcrumb_label, "sublabel": str(instance)},
        ]
