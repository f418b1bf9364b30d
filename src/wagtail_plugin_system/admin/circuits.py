"""The circuit breaker and live traffic in the admin.

* :class:`CircuitColumn`: each instance's circuit in the listing (Closed, Open
  until 12:04, Probing);
* :class:`TrafficChart` and :class:`FailoverEvents`: the inspect view's last 24
  hours (calls, failures, p95 latency) as an SVG drawn on the server (no
  script, no inline style: it works under a strict Content-Security-Policy and
  takes its colours from the admin's theme), and the recent failover events;
* :class:`CircuitView`: an instance's circuit, the editor's overrides of the
  breaker's settings, and "Reset circuit" (``change`` permission, audited);
* :func:`open_circuits`: the instances whose circuit is open, for the dashboard.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib.admin.utils import quote
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.formats import time_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy
from django.views.generic import TemplateView
from wagtail.admin import messages
from wagtail.admin.ui.components import Component
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.log_actions import log

from .. import breaker, cache, traffic
from ..audit import CIRCUIT_RESET, CIRCUIT_SETTINGS
from ..models import SELECTABLE_STATUSES, PluginCircuit, PluginFailoverEvent, PluginInstance
from .charts import Bar, Frame, Layer, Line, bar_chart
from .permissions import InstancePageMixin, instance_url

__all__ = [
    "CircuitColumn",
    "CircuitView",
    "FailoverEvents",
    "TrafficChart",
    "circuit_label",
    "open_circuits",
]


def _clock_time(epoch: float) -> str:
    moment = timezone.localtime(datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC))
    return time_format(moment, "H:i")


def circuit_label(circuit: breaker.Circuit) -> str:
    """ "Closed", "Open until 12:04" or "Probing"."""
    state = circuit.state()
    if state == "closed":
        return str(pgettext_lazy("circuit breaker", "Closed"))
    if state == "probing":
        return str(pgettext_lazy("circuit breaker", "Probing"))
    assert circuit.probe_at is not None
    return _("Open until %(time)s") % {"time": _clock_time(circuit.probe_at)}


class CircuitColumn(Column):
    """An instance's circuit; one store read per row (no query with the cache store)."""

    cell_template_name = "wagtail_plugin_system/tables/circuit_cell.html"

    def get_cell_context_data(self, instance: Any, parent_context: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_cell_context_data(instance, parent_context)
        circuit = breaker.read_row(instance)
        context["value"] = circuit_label(circuit)
        context["is_open"] = circuit.is_open
        return context


def open_circuits() -> list[tuple[PluginInstance, breaker.Circuit]]:
    """The active or reserved instances whose circuit is open, with their circuit."""
    rows = (
        PluginInstance.objects.filter(status__in=SELECTABLE_STATUSES)
        .select_related("item__plugin_type", "circuit")
        .order_by("item__plugin_type__name", "priority", "name")
    )
    found = [(row, breaker.read_row(row)) for row in rows]
    return [(row, circuit) for row, circuit in found if circuit.is_open]


# -- the inspect view's chart ---------------------------------------------------------------

#: The traffic chart's size, with room for the calls (left), the latency (right) and the hours.
FRAME = Frame(width=720, height=220, left=48, right=56, top=12, bottom=28, fill=0.7)


class TrafficChart(Component):
    """Calls, failures and p95 latency per hour over the last 24 hours, as an SVG."""

    template_name = "wagtail_plugin_system/circuits/traffic_chart.html"

    def __init__(self, instance: PluginInstance) -> None:
        self.instance = instance

    def get_context_data(self, parent_context: Any) -> dict[str, Any]:
        slots = traffic.summary(self.instance)
        hours = [time_format(timezone.localtime(slot.start), "H:i") for slot in slots]
        total_calls = sum(slot.calls for slot in slots)
        total_failures = sum(slot.failures for slot in slots)
        rows = [(hour, slot) for hour, slot in zip(hours, slots, strict=True) if slot.calls]
        if not total_calls:
            return {"total_calls": 0, "rows": rows}
        calls = Layer(
            [
                Bar(
                    slot.calls,
                    f"{hour}: "
                    + ngettext("%(counter)s call", "%(counter)s calls", slot.calls)
                    % {"counter": slot.calls},
                )
                if slot.calls
                else None
                for hour, slot in zip(hours, slots, strict=True)
            ],
            opacity=0.45,
        )
        failures = Layer(
            [
                Bar(
                    slot.failures,
                    f"{hour}: "
                    + ngettext("%(counter)s failure", "%(counter)s failures", slot.failures)
                    % {"counter": slot.failures},
                    tone="critical",
                )
                if slot.failures
                else None
                for hour, slot in zip(hours, slots, strict=True)
            ]
        )
        latencies = [slot.p95_ms for slot in slots]
        most_ms = max((ms for ms in latencies if ms is not None), default=None)
        chart = bar_chart(
            [calls, failures],
            chart_id="wps-traffic",
            title=_("Calls per hour over the last 24 hours"),
            description=_(
                "%(calls)s calls, %(failures)s failures. Bars: calls per hour, failures in "
                "red; line: 95th percentile of latency."
            )
            % {"calls": total_calls, "failures": total_failures},
            frame=FRAME,
            scale_label=str(max(slot.calls for slot in slots)),
            zero_label="0",
            line=Line(
                latencies,
                scale_label=_("%(ms)d ms") % {"ms": round(most_ms)} if most_ms else "",
            ),
            ticks=[(index, hours[index]) for index in range(0, len(slots), 6)],
        )
        return {
            "chart": chart,
            "rows": rows,
            "total_calls": total_calls,
            "total_failures": total_failures,
        }


class FailoverEvents(Component):
    """The instance's most recent failover events (it failed, or it served)."""

    template_name = "wagtail_plugin_system/circuits/failover_events.html"
    LIMIT = 20

    def __init__(self, instance: PluginInstance) -> None:
        self.instance = instance

    def get_context_data(self, parent_context: Any) -> dict[str, Any]:
        from django.db.models import Q

        events = PluginFailoverEvent.objects.filter(
            Q(failed=self.instance) | Q(served=self.instance)
        )[: self.LIMIT]
        return {"events": list(events)}


# -- the circuit page -----------------------------------------------------------------------


class CircuitSettingsForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = PluginCircuit
        fields = ["failure_threshold", "window_seconds", "cooldown_seconds"]


class CircuitView(InstancePageMixin, WagtailAdminTemplateMixin, TemplateView):
    """An instance's circuit: its state, the breaker's settings for it, and a reset."""

    permission_required = "change"
    template_name = "wagtail_plugin_system/circuits/circuit.html"
    page_title = gettext_lazy("Circuit breaker")
    header_icon = "warning"
    breadcrumb_label = gettext_lazy("Circuit breaker")

    def _settings_row(self) -> PluginCircuit:
        instance = self.get_object()
        return PluginCircuit.objects.filter(pk=instance.pk).first() or PluginCircuit(
            instance=instance
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)
        instance = self.get_object()
        circuit = breaker.read(instance)
        limits = breaker.site_limits()
        context.update(
            {
                "object": instance,
                "circuit": circuit,
                "circuit_label": circuit_label(circuit),
                "form": kwargs.get("form") or CircuitSettingsForm(instance=self._settings_row()),
                "site_limits": limits,
                "chart": TrafficChart(instance),
            }
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        instance = self.get_object()
        url = instance_url("circuit", quote(instance.pk))
        if request.POST.get("action") == "reset":
            was_open = breaker.reset(instance)
            log(instance, CIRCUIT_RESET, user=request.user, data={"was_open": was_open})
            messages.success(
                request, _("The circuit of '%(name)s' is closed.") % {"name": instance}
            )
            return redirect(url)
        form = CircuitSettingsForm(request.POST, instance=self._settings_row())
        if not form.is_valid():
            messages.error(request, _("The breaker's settings could not be saved."))
            return self.render_to_response(self.get_context_data(form=form))
        row = form.save()
        cache.bump_version()
        log(
            instance,
            CIRCUIT_SETTINGS,
            user=request.user,
            data={name: getattr(row, name) for name in form.Meta.fields},
        )
        messages.success(
            request, _("The breaker's settings for '%(name)s' are saved.") % {"name": instance}
        )
        return redirect(url)
