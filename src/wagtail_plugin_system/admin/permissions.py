"""Who may do what with plugin instances: one permission policy for the whole admin.

The instance viewset, its extra views (choosing an implementation, testing),
the bulk actions and the chooser all check :data:`instance_permission_policy`,
Wagtail's model permission policy for
:class:`~wagtail_plugin_system.models.PluginInstance` (the ``add``, ``change``,
``delete`` and ``view`` permissions, assignable per group).
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from wagtail.admin.views.generic import PermissionCheckedMixin
from wagtail.permission_policies import ModelPermissionPolicy

from ..models import PluginInstance

__all__ = [
    "ANY_INSTANCE_PERMISSION",
    "INSTANCES_NAMESPACE",
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
