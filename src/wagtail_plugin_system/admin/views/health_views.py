"""Testing a plugin instance from the admin: confirm, run its check, report the result."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import formats, timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from wagtail.admin import messages
from wagtail.admin.ui.components import Component
from wagtail.admin.utils import get_valid_next_url_from_request
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from ...health import Throttled, check_instance, check_message_detail, check_message_display
from ...models import CheckSource, CheckStatus, PluginCheckResult, PluginInstance
from ..charts import Bar, Frame, Layer, bar_chart
from ..permissions import InstancePageMixin

__all__ = ["CheckHistory", "HealthCheckView", "throttled_message"]


class HealthCheckView(InstancePageMixin, WagtailAdminTemplateMixin, TemplateView):
    """GET: confirm; POST: run the instance's check, record and report the result."""

    permission_required = "change"
    template_name = "wagtail_plugin_system/health_check.html"
    page_title = gettext_lazy("Test plugin instance")
    header_icon = "circle-check"
    breadcrumb_label = gettext_lazy("Test")

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

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)
        context["object"] = self.get_object()
        context["last_check_message"] = check_message_display(context["object"].last_check_message)
        context["edit_url"] = self.get_edit_url()
        context["next"] = self.get_return_url()
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        instance = self.get_object()
        result = check_instance(instance, user=request.user, source=CheckSource.EDITOR)
        if isinstance(result, Throttled):
            messages.warning(request, throttled_message(instance, result))
        elif result.ok:
            messages.success(
                request,
                _("'%(name)s' passed its check: %(message)s")
                % {"name": instance, "message": check_message_display(result.message)},
            )
        elif result.status == CheckStatus.TIMED_OUT:
            messages.error(
                request,
                _("'%(name)s' timed out: %(message)s")
                % {"name": instance, "message": check_message_display(result.message)},
            )
        else:
            messages.error(
                request,
                _("'%(name)s' failed its check: %(message)s")
                % {"name": instance, "message": check_message_display(result.message)},
            )
        return redirect(self.get_return_url())


def throttled_message(instance: PluginInstance, throttled: Throttled) -> str:
    """What an editor reads when Test is pressed again too soon: the last result, and when."""
    wait = _("The next check is allowed in %(seconds)d s (at %(time)s).") % {
        "seconds": throttled.wait_seconds,
        "time": formats.time_format(timezone.localtime(throttled.next_at), "H:i:s"),
    }
    last = throttled.last
    if last is None:
        return _("'%(name)s' is being checked right now. %(wait)s") % {
            "name": instance,
            "wait": wait,
        }
    return _("'%(name)s' was checked %(ago)s ago: %(result)s (%(message)s). %(wait)s") % {
        "name": instance,
        "ago": timesince(last.checked_at),
        "result": CheckStatus(last.status).label,
        "message": check_message_display(last.message) or "\u2014",
        "wait": wait,
    }


#: The tone of each status's bar in the chart.
_TONES = {
    CheckStatus.PASSED: "positive",
    CheckStatus.FAILED: "critical",
    CheckStatus.TIMED_OUT: "warning",
    CheckStatus.UNAVAILABLE: "critical",
}


#: The chart's size, with room on the left for the duration of the longest check.
CHART_FRAME = Frame(width=600, height=96, left=56, top=6)


class CheckHistory(Component):
    """The inspect view's recent checks: a chart of their durations and a table (one query)."""

    template_name = "wagtail_plugin_system/health/history.html"
    #: Results in the chart; the table shows the newest :attr:`rows` of them.
    chart_size = 50
    rows = 10

    def __init__(self, instance: PluginInstance) -> None:
        self.instance = instance

    def get_context_data(self, parent_context: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(parent_context)
        results = list(
            PluginCheckResult.objects.filter(instance_id=self.instance.pk).select_related("user")[
                : self.chart_size
            ]
        )
        chart = ""
        if results:
            bars = [
                Bar(
                    value=result.duration_ms,
                    title=_("%(time)s: %(status)s, %(duration)d ms")
                    % {
                        "time": formats.date_format(
                            timezone.localtime(result.checked_at), "SHORT_DATETIME_FORMAT"
                        ),
                        "status": result.get_status_display(),
                        "duration": round(result.duration_ms),
                    },
                    tone=_TONES.get(CheckStatus(result.status), "neutral"),
                )
                for result in reversed(results)
            ]
            chart = bar_chart(
                # A check of 0 ms stays visible as a sliver, so that every result shows.
                [Layer(bars, min_height=2.0)],
                chart_id="wps-checks",
                title=_("Duration of the last %(count)d checks, oldest first")
                % {"count": len(bars)},
                frame=CHART_FRAME,
                scale_label=_("%(ms)d ms") % {"ms": round(max(bar.value for bar in bars))},
            )
        context["chart"] = chart
        context["results"] = [
            {
                "checked_at": result.checked_at,
                "status": result.get_status_display(),
                "ok": result.ok,
                "duration_ms": round(result.duration_ms),
                "message": check_message_display(result.message),
                "detail": check_message_detail(result.message),
                "source": result.get_source_display(),
                "user": str(result.user) if result.user is not None else "",
            }
            for result in results[: self.rows]
        ]
        return context
