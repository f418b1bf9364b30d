"""The circuit of each plugin instance: an editor's overrides, and its state.

One :class:`PluginCircuit` row per instance that has one. It holds the
breaker's settings chosen for that instance (empty fields fall back to the
``BREAKER_*`` settings) and, when the version token lives in the database (see
:mod:`wagtail_plugin_system.version_store`), the circuit's shared state. With
the cache store the state lives in the cache and the row only holds overrides.
Times are seconds since the epoch, compared in single ``UPDATE`` statements.
"""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .plugins import PluginInstance

__all__ = ["PluginCircuit"]


class PluginCircuit(models.Model):
    """The circuit breaker's settings and (database store) state for one instance."""

    instance = models.OneToOneField(
        PluginInstance,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="circuit",
        verbose_name=_("instance"),
    )
    failure_threshold = models.PositiveIntegerField(
        _("failures before opening"),
        null=True,
        blank=True,
        help_text=_("Empty: the site's setting. 0 turns the breaker off for this instance."),
    )
    window_seconds = models.PositiveIntegerField(
        _("failure window (seconds)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("Failures are counted within this many seconds. Empty: the site's setting."),
    )
    cooldown_seconds = models.PositiveIntegerField(
        _("cooldown (seconds)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_(
            "How long an open circuit skips the instance before one call probes it. "
            "Empty: the site's setting."
        ),
    )
    # The shared state, with the database store.
    is_open = models.BooleanField(_("open"), default=False, editable=False)
    failures = models.PositiveIntegerField(_("failures in the window"), default=0, editable=False)
    window_started_at = models.FloatField(null=True, editable=False)
    opened_at = models.FloatField(null=True, editable=False)
    probe_at = models.FloatField(null=True, editable=False)
    probe_reserved_until = models.FloatField(null=True, editable=False)
    # Health checks, with the database store: no check before this time (CHECK_MIN_INTERVAL).
    check_reserved_until = models.FloatField(null=True, editable=False)

    class Meta:
        verbose_name = _("plugin circuit")
        verbose_name_plural = _("plugin circuits")

    def __str__(self) -> str:
        return str(self.instance_id)
