"""App configuration: where the layers are wired together once Django's apps are ready.

It loads entry points, registers the system checks, connects the cache to
the models' signals, the audit log to the sync's signal, and runs the
create-only sync after ``migrate``. Imports of modules that need the app
registry happen in :meth:`WagtailPluginSystemConfig.ready`, which Django
calls after every model is loaded; nothing imports this module back.
"""

from __future__ import annotations

import sys
from typing import Any

from django.apps import AppConfig
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

from .core.exceptions import PluginLoadError
from .core.registry import registry
from .core.settings import get_setting


class WagtailPluginSystemConfig(AppConfig):
    name = "wagtail_plugin_system"
    label = "wagtail_plugin_system"
    verbose_name = _("Plugins")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system checks

        if get_setting("LOAD_ENTRY_POINTS"):
            failures = registry.load_entry_points(get_setting("ENTRY_POINT_GROUP"))
            if failures and get_setting("STRICT"):
                listed = "; ".join(str(failure) for failure in failures)
                raise PluginLoadError(
                    f"Strict mode: {len(failures)} plugin entry point(s) failed to load: {listed}. "
                    f"Fix them, or turn WAGTAIL_PLUGIN_SYSTEM['STRICT'] off to start anyway."
                )
        post_migrate.connect(sync_after_migrate, sender=self)

        from .audit import log_sync_report
        from .sync import plugins_synced

        plugins_synced.connect(log_sync_report, dispatch_uid="wagtail_plugin_system.audit")

        from .cache import connect_signals

        connect_signals()

        # Sites' plugin choices count as usage of an instance (and deleting it warns).
        from wagtail.models import ReferenceIndex

        from .models import PluginSiteSettings

        ReferenceIndex.register_model(PluginSiteSettings)

        # Settings > Plugins: its form and panels live in the admin layer.
        from .admin.site_settings import attach

        attach()

        # Headless sites served through wagtail-grapple: the chooser blocks' GraphQL types.
        from django.apps import apps

        if apps.is_installed("grapple"):
            from .headless import register_grapple_types

            register_grapple_types()


def sync_after_migrate(
    sender: AppConfig, using: str = DEFAULT_DB_ALIAS, verbosity: int = 1, **kwargs: Any
) -> None:
    """Run a create-only sync after ``migrate`` (``SYNC_AFTER_MIGRATE`` turns it off)."""
    if not get_setting("SYNC_AFTER_MIGRATE"):
        return
    from django.contrib.contenttypes.models import ContentType

    from .models import PluginInstance
    from .sync import sync_plugins

    try:
        if PluginInstance._meta.db_table not in connections[using].introspection.table_names():
            return
    except DatabaseError:
        return
    # The database was just migrated or flushed (flush, and so every transactional test,
    # emits post_migrate too): content types may have new ids. Django's own post_migrate
    # handler forgets the cached ones, but it runs after this one when this app comes
    # first in INSTALLED_APPS, and the sync's history entries would point at rows that
    # are gone.
    ContentType.objects.clear_cache()
    report = sync_plugins(mode="create", using=using)
    if verbosity >= 1 and report.changed:
        summary = ", ".join(f"{count} {key}" for key, count in report.counts().items())
        stdout = kwargs.get("stdout") or sys.stdout
        stdout.write(f"  Synced plugins: {summary}.\n")
