"""Testing a plugin instance from the admin: confirm, run its check, report the result."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.utils import quote
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from wagtail.admin import messages
from wagtail.admin.utils import get_valid_next_url_from_request
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from ...core.ids import parse_id
from ...health import run_health_check
from ...models import PluginInstance
from ..permissions import InstancePermissionMixin, instance_url

__all__ = ["HealthCheckView"]


class HealthCheckView(InstancePermissionMixin, WagtailAdminTemplateMixin, TemplateView):
    """GET: confirm; POST: run the instance's check, record and report the result."""

    permission_required = "change"
    template_name = "wagtail_plugin_system/health_check.html"
    page_title = gettext_lazy("Test plugin instance")
    header_icon = "circle-check"

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        # Looked up lazily, so the permission check in dispatch() runs first.
        self.object: PluginInstance | None = None

    def get_object(self) -> PluginInstance:
        if self.object is None:
            pk = parse_id(self.kwargs.get("pk"))
            if pk is None:
                raise Http404
            self.object = get_object_or_404(
                PluginInstance.objects.select_related("item__plugin_type"), pk=pk
            )
        return self.object

    def get_page_subtitle(self) -> str:
        return str(self.get_object())

    def get_edit_url(self) -> str:
        return instance_url("edit", quote(self.get_object().pk))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)
        context["object"] = self.get_object()
        context["edit_url"] = self.get_edit_url()
        context["next"] = get_valid_next_url_from_request(self.request)
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        instance = self.get_object()
        result = run_health_check(instance, user=request.user)
        if result.ok:
            messages.success(
                request,
                _("'%(name)s' passed its check: %(message)s")
                % {"name": instance, "message": result.message},
            )
        else:
            messages.error(
                request,
                _("'%(name)s' failed its check: %(message)s")
                % {"name": instance, "message": result.message},
            )
        return redirect(get_valid_next_url_from_request(request) or self.get_edit_url())
