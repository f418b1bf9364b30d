"""The history of health checks: one row per check of an instance.

Written by :mod:`wagtail_plugin_system.health` and kept for
``CHECK_HISTORY_DAYS`` days. The instance's ``last_check_*`` fields repeat the
newest row, so the listing and selection need no join. Messages are redacted of
configuration values before they are stored; they never hold a secret.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .plugins import PluginInstance

__all__ = ["CheckSource", "CheckStatus", "PluginCheckResult"]


class CheckStatus(models.TextChoices):
    """What a check found."""

    PASSED = "passed", pgettext_lazy("health check", "Passed")
    FAILED = "failed", pgettext_lazy("health check", "Failed")
    TIMED_OUT = "timed_out", pgettext_lazy("health check", "Timed out")
    UNAVAILABLE = "unavailable", pgettext_lazy("health check", "Cannot be loaded")


class CheckSource(models.TextChoices):
    """Who or what ran a check."""

    EDITOR = "editor", pgettext_lazy("health check", "An editor (Test)")
    COMMAND = "command", pgettext_lazy("health check", "The pluginhealth command")
    TASK = "task", pgettext_lazy("health check", "A background task")


class PluginCheckResult(models.Model):
    """One health check of one instance."""

    instance = models.ForeignKey(
        PluginInstance,
        on_delete=models.CASCADE,
        related_name="check_results",
        verbose_name=_("instance"),
    )
    checked_at = models.DateTimeField(_("checked at"), default=timezone.now)
    status = models.CharField(_("status"), max_length=20, choices=CheckStatus.choices)
    duration_ms = models.FloatField(_("duration (ms)"), default=0)
    message = models.CharField(_("message"), max_length=500, blank=True)
    source = models.CharField(_("run by"), max_length=20, choices=CheckSource.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )

    class Meta:
        ordering = ["-checked_at", "-pk"]
        verbose_name = _("health check result")
        verbose_name_plural = _("health check results")
        indexes = [
            models.Index(fields=["instance", "-checked_at"], name="wps_check_instance_at"),
            models.Index(fields=["checked_at"], name="wps_check_at"),
        ]

    def __str__(self) -> str:
        return f"{self.instance_id} {self.checked_at:%Y-%m-%d %H:%M:%S} {self.status}"

    @property
    def ok(self) -> bool:
        return self.status == CheckStatus.PASSED
