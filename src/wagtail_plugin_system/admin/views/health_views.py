"""Testing a plugin instance from the admin: confirm, run its check, report the result."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.contrib.admin.utils import quote
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from wagtail.admin import messages
from wagtail.admin.utils import get_valid_next_url_from_request
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from ...health import check_message_display, run_health_check
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
            self.object = PluginInstance.objects.by_outside_id(self.kwargs.get("pk"))
            if self.object is None:
                raise Http404
        return self.object

    def get_page_subtitle(self) -> str:
        return str(self.get_object())

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
            {"url": "", "label": _("Test"), "sublabel": str(instance)},
        ]

    def get_return_url(self) -> str:
        """Where the editor came from: ``next``, else the referring admin page, else editing."""
        url: str | None = get_valid_next_url_from_request(self.request)
        if url:
            return url
        referrer: str = self.request.META.get("HTTP_REFERER", "")
        if (
            referrer
            and urlsplit(referrer).path != self.request.path
            and url_has_allowed_host_and_scheme(
                referrer,
                allowed_hosts={self.request.get_host()},
                require_https=self.request.is_secure(),
            )
        ):
            return referrer
        return self.get_edit_url()

    def get_edit_url(self) -> str:
        return instance_url("edit", quote(self.get_object().pk))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)
        context["object"] = self.get_object()
        context["last_check_message"] = check_message_display(context["object"].last_check_message)
        context["edit_url"] = self.get_edit_url()
        context["next"] = self.get_return_url()
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        instance = self.get_object()
        result = run_health_check(instance, user=request.user)
        if result.ok:
            messages.success(
                request,
                _("'%(name)s' passed its check: %(message)s")
                % {"name": instance, "message": check_message_display(result.message)},
            )
        else:
            messages.error(
                request,
                _("'%(name)s' failed its check: %(message)s")
                % {"name": instance, "message": check_message_display(result.message)},
            )
        return redirect(self.get_return_url())
