"""System checks (``manage.py check``) for wagtail-plugin-system.

* ``wagtail_plugin_system.E001``: ``FIELD_ENCRYPTION_KEY`` is missing or malformed.
* ``wagtail_plugin_system.W001`` (``E002`` in strict mode): an entry point failed to load.
* ``wagtail_plugin_system.W002``: the database differs from the registered plugins.
* ``wagtail_plugin_system.W003``: ``WAGTAIL_PLUGIN_SYSTEM`` has an unknown key.
* ``wagtail_plugin_system.E003``: ``wagtail.contrib.settings`` is not installed.
* ``wagtail_plugin_system.E004``: ``VERSION_CHECK_INTERVAL`` is not a number of seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from .core.registry import registry
from .core.settings import SETTING_NAME, get_setting, unknown_settings, version_check_interval
from .fields import get_crypter
from .models import PluginInstance, PluginItem, PluginType
from .sync import sync_plugins

ID = "wagtail_plugin_system"


@checks.register(checks.Tags.security)
def check_encryption_key(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    try:
        get_crypter()
    except ImproperlyConfigured as exc:
        return [
            checks.Error(
                str(exc),
                hint="Plugin configuration is stored encrypted with FIELD_ENCRYPTION_KEY.",
                id=f"{ID}.E001",
            )
        ]
    return []


@checks.register()
def check_entry_points(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    strict = bool(get_setting("STRICT"))
    level, code = (checks.Error, "E002") if strict else (checks.Warning, "W001")
    return [
        level(
            f"Plugin entry point {failure.name!r} ({failure.value}) failed to load: "
            f"{failure.error}",
            hint="Its plugins are unavailable until it is fixed; the traceback is in the log.",
            id=f"{ID}.{code}",
        )
        for failure in registry.entry_point_failures
    ]


@checks.register()
def check_installed_apps(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    from django.apps import apps

    if apps.is_installed("wagtail.contrib.settings"):
        return []
    return [
        checks.Error(
            "wagtail_plugin_system needs 'wagtail.contrib.settings' in INSTALLED_APPS for its "
            "per-site plugin settings.",
            hint="Add 'wagtail.contrib.settings' to INSTALLED_APPS.",
            id=f"{ID}.E003",
        )
    ]


@checks.register()
def check_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    messages: list[checks.CheckMessage] = [
        checks.Warning(
            f"{SETTING_NAME}[{key!r}] is not a setting of wagtail-plugin-system and is ignored.",
            hint="Check the spelling; the settings are listed in the settings reference.",
            id=f"{ID}.W003",
        )
        for key in unknown_settings()
    ]
    try:
        version_check_interval()
    except ImproperlyConfigured as exc:
        messages.append(
            checks.Error(
                str(exc),
                hint="Set it to 0 (the default) or to a few seconds, e.g. 1.",
                id=f"{ID}.E004",
            )
        )
    return messages


@checks.register()
def check_database_in_sync(
    app_configs: Sequence[AppConfig] | None = None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[checks.CheckMessage]:
    using = DEFAULT_DB_ALIAS
    try:
        tables = set(connections[using].introspection.table_names())
        needed = {model._meta.db_table for model in (PluginType, PluginItem, PluginInstance)}
        if not needed <= tables:
            return []
        report = sync_plugins(dry_run=True, using=using)
    except (DatabaseError, ImproperlyConfigured):
        return []
    if not report.changed:
        return []
    summary = ", ".join(f"{count} {key}" for key, count in report.counts().items())
    return [
        checks.Warning(
            f"The database is not in sync with the registered plugins ({summary}).",
            hint="Run 'manage.py pluginsync' (add --dry-run to see the changes first).",
            id=f"{ID}.W002",
        )
    ]
