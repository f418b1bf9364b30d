"""Table columns shared by the instance listing and the chooser."""

from __future__ import annotations

from typing import Any

from wagtail.admin.ui.tables import StatusTagColumn

from ..models import PluginStatus

__all__ = ["PluginStatusColumn", "status_classname"]

#: Wagtail's three status-tag looks, one per status: "live" for active, a label for
#: reserved, the hatched "draft" look for disabled.
_STATUS_CLASSNAMES = {
    PluginStatus.ACTIVE: "w-status--primary",
    PluginStatus.RESERVED: "w-status--label",
    PluginStatus.DISABLED: "",
}


def status_classname(status: str) -> str:
    """The status tag's CSS class for an instance status."""
    return _STATUS_CLASSNAMES.get(PluginStatus(status), "") if status in PluginStatus else ""


class PluginStatusColumn(StatusTagColumn):
    """An instance's status as a tag that looks different for each status."""

    cell_template_name = "wagtail_plugin_system/tables/status_cell.html"

    def __init__(self, name: str = "status", **kwargs: Any) -> None:
        kwargs.setdefault("accessor", "get_status_display")
        super().__init__(name, **kwargs)

    def get_cell_context_data(self, instance: Any, parent_context: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_cell_context_data(instance, parent_context)
        context["status_classname"] = status_classname(instance.status)
        return context
