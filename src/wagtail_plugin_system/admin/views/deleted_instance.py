"""The admin pages of a deleted instance (reached with Back) say so, not a bare "not found"."""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.http import Http404, HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from wagtail.admin import messages
from wagtail.models import ModelLogEntry

from ...core.ids import parse_id
from ...models import PluginInstance
from ..permissions import instance_url, user_can_see_instances

__all__ = ["DeletedInstanceMixin", "deleted_instance_label"]


def deleted_instance_label(pk: object) -> str | None:
    """The name an instance had when it was deleted, or ``None`` when none was deleted."""
    parsed = parse_id(pk)
    if parsed is None:
        return None
    entry = (
        ModelLogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(PluginInstance),
            object_id=str(parsed),
            action="wagtail.delete",
        )
        .order_by("-timestamp")
        .first()
    )
    return None if entry is None else str(entry.label)


class DeletedInstanceMixin:
    """The pages of a deleted instance (reached with Back) say so, not a bare "not found"."""

    deleted_label: str | None = None

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        try:
            super().setup(request, *args, **kwargs)  # type: ignore[misc]
        except Http404:
            label = deleted_instance_label(kwargs.get("pk"))
            if label is None or not user_can_see_instances(request.user):
                raise
            self.deleted_label = label

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if self.deleted_label is not None:
            messages.warning(
                request,
                _("The plugin instance “%(name)s” has been deleted.")
                % {"name": self.deleted_label},
            )
            return redirect(instance_url("list"))
        response: HttpResponseBase = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        return response
