"""System checks (``manage.py check``) for wagtail-plugin-system.

* ``wagtail_plugin_system.E001``: ``FIELD_ENCRYPTION_KEY`` is missing or malformed.
* ``wagtail_plugin_system.W001`` (``E002`` in strict mode): an entry point failed to load.
* ``wagtail_plugin_system.W002``: the database differs from the registered plugins.
* ``wagtail_plugin_system.W003``: ``WAGTAIL_PLUGIN_SYSTEM`` has an unknown key.
* ``wagtail_plugin_system.E003``: ``wagtail.contrib.settings`` is not installed.
* ``wagtail_plugin_system.E004``: ``VERSION_CHECK_INTERVAL`` is not a number of seconds.
* ``wagtail_plugin_system.E006``: ``DRAFTS`` or ``APPROVAL`` is not what they take.
* ``wagtail_plugin_system.E005``: ``VERSION_STORE`` is not ``auto``, ``cache`` or ``database``.
* ``wagtail_plugin_system.E007``: ``django_plugin_system`` is listed before this app in
  ``INSTALLED_APPS``, so ``manage.py pluginsync`` would run its command, which deletes the
  rows ``pluginimport`` moves.
* ``wagtail_plugin_system.E008``: a ``BREAKER_*`` setting is not a number, 0 or more.
* ``wagtail_plugin_system.E009``: a ``CHECK_*`` setting of health checks is not a number,
  0 or more.
* ``wagtail_plugin_system.E010``: ``MEMO_SIZE`` is not a whole number, 1 or more.
* ``wagtail_plugin_system.E011``: ``CALL_STATS_RETENTION_DAYS`` is not a number, 0 or more.
* ``wagtail_plugin_system.E012``: ``ROW_CACHE_TIMEOUT`` is not a whole number, 0 or more.
* ``wagtail_plugin_system.W004``: ``VERSION_STORE`` is ``cache`` with a cache private to each
  process, so other processes never see changes.
* ``wagtail_plugin_system.I001`` (``check --deploy``): which version store is in use and
  what it costs per request (silent while no plugin type is registered).
* ``wagtail_plugin_system.I002``: a registered plugin type has no ``label``; editors see one
  made from its name ("Otp sender" for ``otp_sender``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.core.cache.backends.filebased import FileBasedCache
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from .core.registry import registry
from .core.settings import (
    SETTING_NAME,
    check_change_settings,
    get_setting,
    number_setting,
    unknown_settings,
)
from .fields import get_crypter
from .models import PluginInstance, PluginItem, PluginType
from .sync import sync_plugins
from .version_store import PER_PROCESS_BACKENDS, QUERY_BACKENDS, cache_alias, cache_backend, store

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


#: django-plugin-system's app, which has a ``pluginsync`` command of its own.
SEED_APP = "django_plugin_system"


@checks.register()
def check_app_order(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """django-plugin-system listed first would own ``manage.py pluginsync``, and prune."""
    from django.apps import apps

    names = [config.name for config in apps.get_app_configs()]
    ours = __name__.rpartition(".")[0]
    if SEED_APP not in names or ours not in names or names.index(SEED_APP) > names.index(ours):
        return []
    return [
        checks.Error(
            f"'{SEED_APP}' is listed before '{ours}' in INSTALLED_APPS, so 'manage.py "
            f"pluginsync' runs django-plugin-system's command instead of this package's. Its "
            f"sync deletes every plugin type, item and instance its own registry does not hold "
            f"(after the switch: all of them), which are the rows 'manage.py pluginimport' "
            f"moves into this package.",
            hint=f"List '{ours}' before '{SEED_APP}' in INSTALLED_APPS; keep '{SEED_APP}' "
            f"last until the import is done and you remove it.",
            id=f"{ID}.E007",
        )
    ]


@dataclass(frozen=True)
class NumberSetting:
    """A number setting the checks validate, and what they say when it is wrong.

    ``meaning`` explains the setting inside the message; ``hint`` says what to
    set. ``minimum``, ``whole`` (an integer) and ``allow_none`` are what it takes.
    """

    name: str
    check_id: str
    meaning: str
    hint: str
    minimum: int = 0
    whole: bool = False
    allow_none: bool = False


_BREAKER_HINT = "The defaults are 5 failures within 60 seconds and a 30-second cooldown."
_CHECK_HINT = (
    "The defaults are CHECK_TIMEOUT 10, CHECK_MIN_INTERVAL 60, "
    "CHECK_HISTORY_DAYS 30 and CHECK_STALE_AFTER 86400."
)

#: Every number setting of ``WAGTAIL_PLUGIN_SYSTEM``, with its check.
NUMBER_SETTINGS = (
    NumberSetting(
        "VERSION_CHECK_INTERVAL",
        "E004",
        "a number of seconds; 0 checks the version token on every resolution",
        "Set it to 0 (the default) or to a few seconds, e.g. 1.",
    ),
    NumberSetting("BREAKER_FAILURES", "E008", "0 turns the circuit breaker off", _BREAKER_HINT),
    NumberSetting("BREAKER_WINDOW", "E008", "seconds within which failures count", _BREAKER_HINT),
    NumberSetting("BREAKER_COOLDOWN", "E008", "seconds an open circuit stays open", _BREAKER_HINT),
    NumberSetting("CHECK_TIMEOUT", "E009", "seconds a check may take; 0: no limit", _CHECK_HINT),
    NumberSetting(
        "CHECK_MIN_INTERVAL",
        "E009",
        "seconds between two checks of one instance; 0: no limit",
        _CHECK_HINT,
    ),
    NumberSetting("CHECK_HISTORY_DAYS", "E009", "days that check results are kept", _CHECK_HINT),
    NumberSetting("CHECK_STALE_AFTER", "E009", "seconds after which a check is stale", _CHECK_HINT),
    NumberSetting(
        "MEMO_SIZE",
        "E010",
        "the most entries each namespace of the in-process memo holds",
        "The default is 10000.",
        minimum=1,
        whole=True,
    ),
    NumberSetting(
        "CALL_STATS_RETENTION_DAYS",
        "E011",
        "days that call statistics and failover events are kept",
        "The default is 7.",
    ),
    NumberSetting(
        "ROW_CACHE_TIMEOUT",
        "E012",
        "seconds that instance rows stay in the shared cache",
        "The default is 3600; 0 keeps none there.",
        whole=True,
    ),
)


def check_number_setting(setting: NumberSetting) -> checks.Error | None:
    """The error for ``setting`` when its value is not a number it takes, else ``None``."""
    try:
        number_setting(
            setting.name,
            setting.meaning,
            minimum=setting.minimum,
            whole=setting.whole,
            allow_none=setting.allow_none,
        )
    except ImproperlyConfigured as exc:
        return checks.Error(str(exc), hint=setting.hint, id=f"{ID}.{setting.check_id}")
    return None


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
        check_change_settings()
    except ImproperlyConfigured as exc:
        messages.append(
            checks.Error(
                str(exc),
                hint=(
                    "DRAFTS takes True, False or a list of plugin type names, such as "
                    '["payment_gateway"]; APPROVAL a list of plugin type names.'
                ),
                id=f"{ID}.E006",
            )
        )
    messages.extend(
        error for setting in NUMBER_SETTINGS if (error := check_number_setting(setting)) is not None
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


@checks.register(checks.Tags.caches)
def check_version_store(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    if not registry.get_types():
        return []  # no plugin type: nothing resolves, nothing to say
    try:
        chosen = store()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), hint="Leave it unset for 'auto'.", id=f"{ID}.E005")]
    alias = cache_alias()
    if chosen == "cache" and isinstance(cache_backend(), PER_PROCESS_BACKENDS):
        return [
            checks.Warning(
                f"{SETTING_NAME}['VERSION_STORE'] is 'cache', but the cache {alias!r} "
                f"({type(cache_backend()).__name__}) is private to each process: a plugin "
                f"change made in one process is never seen by the others.",
                hint="Configure a shared cache (Redis, Memcached) and name it in CACHE_ALIAS, "
                "or set VERSION_STORE to 'auto' or 'database'.",
                id=f"{ID}.W004",
            )
        ]
    return []


@checks.register(checks.Tags.caches, deploy=True)
def check_version_store_for_deployment(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    if not registry.get_types():
        return []  # no plugin type: nothing resolves, nothing to say
    try:
        chosen = store()
    except ImproperlyConfigured:
        return []  # E005 says why
    alias = cache_alias()
    backend = cache_backend()
    name = type(backend).__name__
    if chosen == "database":
        why = (
            "reading the token from it would be a query as well"
            if isinstance(backend, QUERY_BACKENDS)
            else "it is private to each process"
        )
        message = (
            f"Plugin changes reach every process through the database (version store "
            f"'database', because the cache {alias!r} is {name}: {why}): each request that "
            f"resolves a plugin runs one small query to read the version."
        )
        hint = (
            "Correct with any number of processes. To save that query, add a cache all "
            "processes share (Redis, Memcached) to CACHES: the token then lives there."
        )
    else:
        message = (
            f"Plugin changes reach every process through the cache {alias!r} ({name}, "
            f"version store 'cache'): each request that resolves a plugin reads one key "
            f"from it, and runs no query."
        )
        hint = (
            "The file cache is shared by the processes of one server only: with several "
            "servers, use Redis or Memcached."
            if isinstance(backend, FileBasedCache)
            else "Make sure every process and server uses this same cache."
        )
    return [checks.Info(message, hint=hint, id=f"{ID}.I001")]


@checks.register()
def check_type_labels(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Types are what editors read first in the admin: ask for a label made for them."""
    return [
        checks.Info(
            f"Plugin type {type_class.__name__} ({type_class.name!r}) has no label, so "
            f"editors see {type_class.label!r}, made from its name.",
            hint=f"Set label on {type_class.__name__} to the name editors should see, with "
            f"the capitals it needs.",
            obj=type_class,
            id=f"{ID}.I002",
        )
        for type_class in registry.get_types()
        if getattr(type_class, "_label_from_name", False)
    ]
