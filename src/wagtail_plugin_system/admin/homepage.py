"""The dashboard panel: what needs an editor's attention, each with a link to fix it.

Shown by Wagtail's ``construct_homepage_panels`` hook to users who may manage
plugin instances, and only when something is wrong:

* instances in use (active or reserved) whose last check failed;
* instances in use whose implementation's code is missing, or whose
  configuration cannot be decrypted;
* plugin types with no usable instance at all;
* instances whose circuit is open (calls skip them);
* active instances not checked for longer than ``CHECK_STALE_AFTER`` seconds
  (counted from their creation when they were never checked): their checks
  are not scheduled, or the schedule stopped.

Three queries, whatever the number of instances and types (with the cache
store, the circuits are read from the cache, one key per instance in use); none
(and no panel) while no plugin type is registered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from wagtail.admin.ui.components import Component

from ..core.exceptions import ConfigFormatError
from ..core.registry import registry
from ..health import check_message_display, stale_after
from ..models import SELECTABLE_STATUSES, PluginInstance, PluginStatus, PluginType
from .circuits import circuit_label, open_circuits
from .permissions import instance_permission_policy, instance_url

__all__ = ["PluginProblemsPanel", "find_all_problems", "find_problems", "find_stale"]

#: Holding one of these is managing plugins: the panel is for these users.
MANAGE_PERMISSIONS = ("add", "change", "delete")


@dataclass(frozen=True)
class Problem:
    """One thing to fix: what, why, and the page where it is fixed."""

    title: str
    reason: str
    url: str
    action: str


def _instance_problem(instance: PluginInstance) -> Problem | None:
    edit_url = instance_url("edit", quote(instance.pk))
    if instance.item.is_missing or instance.item.plugin_type.is_missing:
        reason = _("Its implementation's code is missing: it is not used.")
    elif instance.get_item_class() is None:
        reason = _("Its implementation's code is not installed in this process: it is not used.")
    elif isinstance(instance.get_config_error(), ConfigFormatError):
        reason = _("Its stored configuration is damaged: it is skipped. Save it again.")
    elif not instance.has_readable_config:
        reason = _("Its configuration cannot be decrypted with the configured keys: it is skipped.")
    elif instance.last_check_ok is False:
        test_url = instance_url("check", quote(instance.pk))
        return Problem(
            title=str(instance),
            reason=_("Its last check failed: %(message)s")
            % {"message": check_message_display(instance.last_check_message) or "\u2014"},
            url=f"{test_url}?{urlencode({'next': reverse('wagtailadmin_home')})}",
            action=_("Test again"),
        )
    else:
        return None
    return Problem(title=str(instance), reason=reason, url=edit_url, action=_("Edit"))


def _is_usable(instance: PluginInstance) -> bool:
    return (
        not instance.item.is_missing
        and instance.get_item_class() is not None
        and instance.has_readable_config
    )


def _stale_problem(instance: PluginInstance, cutoff: datetime) -> Problem | None:
    if instance.status != PluginStatus.ACTIVE:
        return None
    since = instance.last_check_at or instance.created_at
    if since >= cutoff:
        return None
    test_url = instance_url("check", quote(instance.pk))
    if instance.last_check_at is None:
        reason = _("Never checked, in %(age)s since it was created.")
    else:
        reason = _("Not checked for %(age)s.")
    return Problem(
        title=str(instance),
        reason=reason % {"age": timesince(since)}
        + " "
        + _("Are its checks scheduled (manage.py pluginhealth)?"),
        url=f"{test_url}?{urlencode({'next': reverse('wagtailadmin_home')})}",
        action=_("Test now"),
    )


def find_stale(instances: list[PluginInstance]) -> list[Problem]:
    """Active ones of ``instances`` whose last check is older than ``CHECK_STALE_AFTER``."""
    threshold = stale_after()
    if not threshold:
        return []
    cutoff = timezone.now() - threshold
    return [
        problem
        for problem in (_stale_problem(instance, cutoff) for instance in instances)
        if problem is not None
    ]


def find_problems() -> tuple[list[Problem], list[Problem]]:
    """(instances to fix, types without a usable instance), in two queries."""
    instances, types, _stale = find_all_problems()
    return instances, types


def find_all_problems() -> tuple[list[Problem], list[Problem], list[Problem]]:
    """(instances to fix, types without a usable instance, stale checks), in three queries."""
    in_use = list(
        PluginInstance.objects.with_item_and_type()
        .filter(status__in=SELECTABLE_STATUSES)
        .order_by("item__plugin_type__name", "priority", "name")
    )
    instances: list[Problem] = []
    fine: list[PluginInstance] = []
    for instance in in_use:
        problem = _instance_problem(instance)
        if problem is None:
            fine.append(instance)
        else:
            instances.append(problem)
    circuits = open_circuits()
    instances += [
        Problem(
            title=str(instance),
            reason=_("Its circuit is open: calls skip it (%(state)s).")
            % {"state": circuit_label(circuit)},
            url=instance_url("circuit", quote(instance.pk)),
            action=_("Reset circuit"),
        )
        for instance, circuit in circuits
    ]
    # An instance with a problem is listed once, for that problem.
    tripped = {instance.pk for instance, _circuit in circuits}
    stale = find_stale([instance for instance in fine if instance.pk not in tripped])
    usable_types = {
        instance.item.plugin_type_id
        for instance in in_use
        if not instance.item.plugin_type.is_missing and _is_usable(instance)
    }
    types = [
        Problem(
            title=str(plugin_type),
            reason=_("No instance of this type is active or reserved and usable."),
            url=instance_url("list") + "?" + urlencode({"item__plugin_type": plugin_type.pk}),
            action=_("Show its instances"),
        )
        for plugin_type in PluginType.objects.filter(is_missing=False).order_by("name")
        if plugin_type.pk not in usable_types
    ]
    return instances, types, stale


class PluginProblemsPanel(Component):
    """The dashboard panel; renders nothing when all is well."""

    name = "plugin_problems"
    template_name = "wagtail_plugin_system/home/problems_panel.html"
    order = 150

    def get_context_data(self, parent_context: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(parent_context)
        instances, types, stale = find_all_problems()
        context.update(
            {"instance_problems": instances, "type_problems": types, "stale_checks": stale}
        )
        return context


def construct_homepage_panels(request: Any, panels: list[Any]) -> None:
    """The ``construct_homepage_panels`` hook: the panel for users who manage plugins.

    A site with no plugin type registered gets no panel and pays no query.
    """
    if not registry.get_types():
        return
    if instance_permission_policy.user_has_any_permission(request.user, MANAGE_PERMISSIONS):
        panels.append(PluginProblemsPanel())
