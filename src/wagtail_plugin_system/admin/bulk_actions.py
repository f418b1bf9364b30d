"""Bulk actions on plugin instances: activate, reserve, disable, set priority, delete.

Each one saves instance by instance (so every signal and cache invalidation
runs) and writes one audit-log entry per changed instance, each with a uuid of
its own: Wagtail's history of an object shows one entry per uuid and action, so
entries sharing the request's uuid would hide each other.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django import forms
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from wagtail.log_actions import log
from wagtail.snippets.bulk_actions.delete import DeleteBulkAction
from wagtail.snippets.bulk_actions.snippet_bulk_action import SnippetBulkAction

from ..audit import ACTIVATE, DISABLE, RESERVE, SET_PRIORITY
from ..core.ids import parse_id
from ..models import PluginInstance, PluginStatus
from .permissions import instance_permission_policy

__all__ = [
    "ActivateBulkAction",
    "DeleteInstancesBulkAction",
    "DisableBulkAction",
    "ReserveBulkAction",
    "SetPriorityBulkAction",
]


class InstanceBulkPermissionMixin:
    """Model-level permission before anything is shown, per-instance checks after.

    Uses the instances' permission policy (Wagtail 7.4's snippet bulk actions
    have none of their own). Malformed ids are a 404, not a server error.
    """

    request: Any
    permission_required: ClassVar[str] = "change"
    permission_policy = instance_permission_policy

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if not self.permission_policy.user_has_permission(request.user, self.permission_required):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    def check_perm(self, obj: Any) -> bool:
        return bool(
            self.permission_policy.user_has_permission_for_instance(
                self.request.user, self.permission_required, obj
            )
        )

    @classmethod
    def get_queryset(cls, model: Any, object_ids: list[str]) -> Any:
        if any(parse_id(pk) is None for pk in object_ids):
            raise Http404
        return super().get_queryset(model, object_ids)  # type: ignore[misc]


class InstanceBulkAction(InstanceBulkPermissionMixin, SnippetBulkAction):
    """Base: acts on plugin instances the user may change."""

    models = [PluginInstance]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)
        # The confirmation's heading and tab title: "Set priority: Plugin instances".
        context["action_label"] = self.display_name
        return context

    @staticmethod
    def set_field(
        objects: list[PluginInstance],
        field: str,
        value: Any,
        log_action: str,
        user: Any,
        *,
        log_value: bool = False,
    ) -> int:
        """Set ``field`` on each instance that differs; save, record and log each; return how
        many.

        Each change is a revision (a waiting draft gets it too: see
        :meth:`~wagtail_plugin_system.models.PluginInstance.record_change`). Each history
        entry records the previous value (and the new one with ``log_value``).
        """
        changed = 0
        for instance in objects:
            previous = getattr(instance, field)
            if previous == value:
                continue
            with transaction.atomic():
                setattr(instance, field, value)
                instance.save(update_fields=[field, "updated_at"])
                instance.record_change([field], user=user)
                data = {"previous": previous, field: value} if log_value else {"previous": previous}
                log(instance, log_action, user=user, data=data, uuid=uuid.uuid4())
            changed += 1
        return changed


class SetStatusBulkAction(InstanceBulkAction):
    """Sets the status of the selected instances."""

    template_name = "wagtail_plugin_system/bulk_actions/confirm_status.html"
    status: ClassVar[str]
    log_action: ClassVar[str]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)
        context["status_label"] = PluginStatus(self.status).label
        return context

    @classmethod
    def execute_action(cls, objects: list[PluginInstance], **kwargs: Any) -> tuple[int, int]:
        user = kwargs["self"].request.user
        return cls.set_field(objects, "status", cls.status, cls.log_action, user), 0

    def get_success_message(self, num_parent_objects: int, num_child_objects: int) -> str:
        return ngettext(
            "%(count)d plugin instance is now %(status)s.",
            "%(count)d plugin instances are now %(status)s.",
            num_parent_objects,
        ) % {"count": num_parent_objects, "status": PluginStatus(self.status).label.lower()}


class ActivateBulkAction(SetStatusBulkAction):
    display_name = _("Activate")
    action_type = "activate"
    aria_label = _("Activate the selected plugin instances")
    status = PluginStatus.ACTIVE
    log_action = ACTIVATE
    action_priority = 10


class ReserveBulkAction(SetStatusBulkAction):
    display_name = _("Reserve")
    action_type = "reserve"
    aria_label = _("Make the selected plugin instances reserves")
    status = PluginStatus.RESERVED
    log_action = RESERVE
    action_priority = 11


class DisableBulkAction(SetStatusBulkAction):
    display_name = _("Disable")
    action_type = "disable"
    aria_label = _("Disable the selected plugin instances")
    status = PluginStatus.DISABLED
    log_action = DISABLE
    action_priority = 12


class PriorityForm(forms.Form):
    priority = forms.IntegerField(
        label=_("New priority"),
        help_text=_("Among instances of the same status, lower numbers are used first."),
        min_value=-(2**31),
        max_value=2**31 - 1,
    )


class SetPriorityBulkAction(InstanceBulkAction):
    display_name = _("Set priority")
    action_type = "set_priority"
    aria_label = _("Set the priority of the selected plugin instances")
    template_name = "wagtail_plugin_system/bulk_actions/confirm_priority.html"
    form_class = PriorityForm
    action_priority = 13

    @classmethod
    def execute_action(cls, objects: list[PluginInstance], **kwargs: Any) -> tuple[int, int]:
        action = kwargs["self"]
        priority = action.cleaned_form.cleaned_data["priority"]
        changed = cls.set_field(
            objects, "priority", priority, SET_PRIORITY, action.request.user, log_value=True
        )
        return changed, 0

    def get_success_message(self, num_parent_objects: int, num_child_objects: int) -> str:
        return ngettext(
            "The priority of %(count)d plugin instance was changed.",
            "The priority of %(count)d plugin instances was changed.",
            num_parent_objects,
        ) % {"count": num_parent_objects}


class DeleteInstancesBulkAction(InstanceBulkPermissionMixin, DeleteBulkAction):
    """Wagtail's snippet bulk delete, plus one audit-log entry per deleted instance."""

    models = [PluginInstance]
    permission_required = "delete"

    @classmethod
    def execute_action(cls, objects: list[PluginInstance], **kwargs: Any) -> tuple[int, int]:
        """Delete and log the selected instances that still exist, once each.

        Runs in the bulk action's transaction. The rows are locked first, in id
        order (so two deletes of overlapping selections cannot deadlock): a second
        delete of the same instances waits for the first to commit, then finds
        them gone and neither logs nor counts them again.
        """
        user = kwargs["self"].request.user
        rows = PluginInstance.objects.filter(pk__in=[instance.pk for instance in objects])
        present = set(rows.order_by("pk").select_for_update().values_list("pk", flat=True))
        remaining = [instance for instance in objects if instance.pk in present]
        for instance in remaining:
            log(instance, "wagtail.delete", user=user, deleted=True)
        result: tuple[int, int] = super().execute_action(remaining, **kwargs)
        return result
