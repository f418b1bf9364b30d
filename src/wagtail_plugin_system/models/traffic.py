"""What calls through ``call_with_failover()`` did: per-minute statistics and failover events.

Both are written by :mod:`wagtail_plugin_system.traffic` and kept for
``CALL_STATS_RETENTION_DAYS`` days. Reasons are exception descriptions with
the instance's configuration values blanked out; they never hold a secret.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .plugins import PluginInstance

__all__ = ["LATENCY_BOUNDS_MS", "PluginCallStats", "PluginFailoverEvent"]

#: Upper bounds (milliseconds) of the latency histogram's buckets; the last bucket is open.
LATENCY_BOUNDS_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)


class PluginCallStats(models.Model):
    """One process's calls to one instance during one minute."""

    instance = models.ForeignKey(
        PluginInstance,
        on_delete=models.CASCADE,
        related_name="call_stats",
        verbose_name=_("instance"),
    )
    minute = models.DateTimeField(_("minute"))
    calls = models.PositiveIntegerField(_("calls"), default=0)
    failures = models.PositiveIntegerField(_("failures"), default=0)
    latency_total_ms = models.FloatField(_("total latency (ms)"), default=0)
    #: Calls per bucket of :data:`LATENCY_BOUNDS_MS` (one more entry: the open bucket).
    latency_histogram = models.JSONField(_("latency histogram"), default=list)
    last_failure = models.CharField(_("last failure"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("plugin call statistics")
        verbose_name_plural = _("plugin call statistics")
        indexes = [models.Index(fields=["instance", "minute"], name="wps_callstats_minute")]

    def __str__(self) -> str:
        return f"{self.instance_id} {self.minute:%Y-%m-%d %H:%M}"


class PluginFailoverEvent(models.Model):
    """An instance failed in a call, and another one served it (or none did).

    The same failure repeated within a minute in one process (the same type,
    method, failed and serving instance, and error class) is one row:
    ``count`` says how many calls it stands for, ``last_at`` when the last one
    failed.
    """

    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    plugin_type = models.CharField(_("plugin type"), max_length=255)
    method = models.CharField(_("method"), max_length=255)
    failed = models.ForeignKey(
        PluginInstance,
        on_delete=models.SET_NULL,
        null=True,
        related_name="failover_events",
        verbose_name=_("failed instance"),
    )
    failed_name = models.CharField(_("failed instance"), max_length=255)
    served = models.ForeignKey(
        PluginInstance,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("served by"),
    )
    served_name = models.CharField(_("served by"), max_length=255, blank=True)
    reason = models.CharField(_("reason"), max_length=500)
    #: With ``db_default``, a process still running older code (a rolling deploy) can insert rows.
    count = models.PositiveIntegerField(_("times"), default=1, db_default=1)
    last_at = models.DateTimeField(_("last at"), null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("failover event")
        verbose_name_plural = _("failover events")

    def __str__(self) -> str:
        return f"{self.failed_name} -> {self.served_name or '-'}"
