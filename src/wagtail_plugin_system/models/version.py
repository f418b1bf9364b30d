"""The version of plugin data, kept in the database for sites without a shared cache.

One row holds a random token that every write to plugin data replaces, in the
same transaction as the write. Processes read it once per request to know
whether what they memoised is still current (see
:mod:`wagtail_plugin_system.version_store`). It is used when the configured
cache is private to each process (Django's default local-memory cache), where
a token kept in the cache would not reach the other processes.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = ["PluginDataVersion"]


class PluginDataVersion(models.Model):
    """The current version token of plugin data (a single row, id 1)."""

    #: The primary key of the one row.
    ROW = 1

    token = models.CharField(_("token"), max_length=32)
    changed_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        verbose_name = _("plugin data version")
        verbose_name_plural = _("plugin data versions")

    def __str__(self) -> str:
        return self.token
