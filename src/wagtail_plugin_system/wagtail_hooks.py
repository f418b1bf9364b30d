"""Wagtail hooks: the permission policy, the Plugins menu, bulk actions, log labels, the icon,
the dashboard panel, and one read of a served page's chosen instances.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from wagtail import hooks
from wagtail.models import Page
from wagtail.snippets.models import register_snippet

from . import audit, blocks
from .admin import bulk_actions, homepage
from .admin.permissions import instance_permission_policy
from .admin.viewsets import PluginsViewSetGroup
from .models import PluginInstance

try:
    from wagtail.permissions import register_permission_policy
except ImportError:  # Wagtail 7.4: the viewset builds an equivalent ModelPermissionPolicy
    pass
else:
    # Before the viewsets are registered, so that the instance viewset uses this policy.
    register_permission_policy(PluginInstance, instance_permission_policy)

register_snippet(PluginsViewSetGroup)

for _action in (
    bulk_actions.ActivateBulkAction,
    bulk_actions.ReserveBulkAction,
    bulk_actions.DisableBulkAction,
    bulk_actions.SetPriorityBulkAction,
):
    hooks.register("register_bulk_action", _action)

# After Wagtail's own snippet delete (order 0), so this one, which logs, wins for instances.
hooks.register("register_bulk_action", bulk_actions.DeleteInstancesBulkAction, order=100)

hooks.register("register_log_actions", audit.register_log_actions)


@hooks.register("register_icons")
def register_icons(icons: list[str]) -> list[str]:
    return [*icons, "wagtail_plugin_system/icons/plug.svg"]


hooks.register("construct_homepage_panels", homepage.construct_homepage_panels)


@hooks.register("before_serve_page")
def prefetch_plugin_blocks_of_page(page: Page, request: HttpRequest, *args: Any) -> None:
    """One query for the instances of all the page's chooser blocks, before it renders."""
    blocks.prefetch_plugin_blocks(page)
