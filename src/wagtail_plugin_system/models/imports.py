"""What ``pluginimport`` moved: one row per django-plugin-system row it imported.

django-plugin-system's rows are identified by UUIDs; ours by integers. A
record keeps the pair, so that running the import again finds what it made
by the old id, never by name: an instance that editors renamed since is
still the same instance, and one they deleted is not made again. The record
has no foreign key, so it outlives the row it points to.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = ["PluginImportRecord"]


class PluginImportRecord(models.Model):
    """One django-plugin-system row (``kind``, ``seed_id``) and the id of the row it became."""

    class Kind(models.TextChoices):
        TYPE = "type", _("plugin type")
        ITEM = "item", _("plugin implementation")
        INSTANCE = "instance", _("plugin instance")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    seed_id = models.UUIDField(_("django-plugin-system id"))
    target_id = models.BigIntegerField(_("id"))
    imported_at = models.DateTimeField(_("imported at"), auto_now_add=True)

    class Meta:
        verbose_name = _("plugin import record")
        verbose_name_plural = _("plugin import records")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "seed_id"], name="wagtail_plugin_system_import_seed_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.seed_id} -> {self.target_id}"
