"""django-plugin-system's tables, read through read-only models of our own.

The models live in an app registry of their own, so django-plugin-system need
not be installed for :mod:`~wagtail_plugin_system.compat.importer` to read them.
"""

from __future__ import annotations

from django.apps.registry import Apps
from django.db import models

__all__ = ["INSTANCE_TABLE", "ITEM_TABLE", "TYPE_TABLE", "SeedInstance", "SeedItem", "SeedType"]

#: django-plugin-system's tables.
TYPE_TABLE = "django_plugin_system_plugintype"
ITEM_TABLE = "django_plugin_system_pluginitem"
INSTANCE_TABLE = "django_plugin_system_plugininstance"


_SEED_APPS = Apps()


class _SeedRow(models.Model):
    """Base of the read-only models over django-plugin-system's tables."""

    id = models.UUIDField(primary_key=True)
    name = models.CharField(max_length=100)

    class Meta:
        abstract = True
        apps = _SEED_APPS
        app_label = "wps_seed_import"
        managed = False

    def __str__(self) -> str:
        return f"{self.name} ({self.pk})"


class SeedType(_SeedRow):
    """django-plugin-system's type rows (read only)."""

    objects: models.Manager[SeedType]

    manager = models.CharField(max_length=100)
    description = models.TextField(null=True)  # noqa: DJ001 - as django-plugin-system made it

    class Meta(_SeedRow.Meta):
        db_table = TYPE_TABLE


class SeedItem(_SeedRow):
    """django-plugin-system's item rows (read only)."""

    objects: models.Manager[SeedItem]

    plugin_type_id = models.UUIDField()
    module = models.CharField(max_length=100)
    configurable = models.BooleanField()
    priority = models.IntegerField()
    description = models.TextField(null=True)  # noqa: DJ001 - as django-plugin-system made it

    class Meta(_SeedRow.Meta):
        db_table = ITEM_TABLE


class SeedInstance(_SeedRow):
    """django-plugin-system's instance rows (read only)."""

    objects: models.Manager[SeedInstance]

    item_id = models.UUIDField()
    # Read as text and parsed per row, so that one damaged value cannot stop the import.
    config = models.TextField(null=True)  # noqa: DJ001 - NULL is a stored value there
    status = models.CharField(max_length=10)
    priority = models.IntegerField()
    description = models.TextField(null=True)  # noqa: DJ001 - as django-plugin-system made it

    class Meta(_SeedRow.Meta):
        db_table = INSTANCE_TABLE
