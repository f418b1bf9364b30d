"""Wagtail hooks: the Plugins menu, bulk actions, log action labels and the plug icon."""

from __future__ import annotations

from wagtail import hooks
from wagtail.snippets.models import register_snippet

from . import audit, bulk_actions
from .viewsets import PluginsViewSetGroup

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
