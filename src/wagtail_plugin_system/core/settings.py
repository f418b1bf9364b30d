"""Package settings: one ``WAGTAIL_PLUGIN_SYSTEM`` dict in the project's settings.

::

    WAGTAIL_PLUGIN_SYSTEM = {
        "STRICT": env.bool("CI", False),
    }

Every key is optional; :data:`DEFAULTS` lists them. Values are read at use
time, so ``override_settings(WAGTAIL_PLUGIN_SYSTEM={...})`` works in tests.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "DEFAULTS",
    "SETTING_NAME",
    "approval_required",
    "check_change_settings",
    "drafts_enabled",
    "drafts_in_use",
    "get_setting",
    "non_negative_number",
    "number_setting",
    "version_check_interval",
]

SETTING_NAME = "WAGTAIL_PLUGIN_SYSTEM"

#: Every setting with its default.
DEFAULTS: dict[str, Any] = {
    # Load plugins advertised by installed distributions through entry points.
    "LOAD_ENTRY_POINTS": True,
    # The entry-point group to scan.
    "ENTRY_POINT_GROUP": "wagtail_plugin_system.plugins",
    # Strict mode (for CI): a failing entry point stops start-up, and the
    # system check for it is an error instead of a warning.
    "STRICT": False,
    # Run a create-only ``pluginsync`` after ``migrate``.
    "SYNC_AFTER_MIGRATE": True,
    # Write a history entry for each row ``pluginsync`` creates, renames, updates, revives,
    # marks missing or deletes.
    "SYNC_HISTORY": True,
    # The Django cache that holds the version token of resolved plugins (with the "cache"
    # version store): one shared by all processes. None: the first Redis or Memcached cache
    # of CACHES, else "default".
    "CACHE_ALIAS": None,
    # Where the version token lives: "cache" (CACHE_ALIAS; no query per request),
    # "database" (a row written with each change; one small query per request), or
    # "auto": "database" when that cache is private to each process (local memory,
    # dummy) or is the database cache (reading it would be a query too), else "cache".
    "VERSION_STORE": "auto",
    # The most entries each namespace of the in-process memo holds (least recently used go).
    "MEMO_SIZE": 10000,
    # With the "cache" version store on Redis or Memcached: seconds that instance rows read
    # for chooser blocks stay in that shared cache (as stored: the configuration encrypted),
    # so that a process whose memo is cold reads them there instead of querying. 0: none.
    "ROW_CACHE_TIMEOUT": 3600,
    # Outside a version scope (a request with the middleware, or version_scope()), reuse
    # the version token read from the cache for this many seconds instead of reading it
    # on every resolution. Changes made by other processes may then take this long to be
    # seen outside requests. 0 reads it every time.
    "VERSION_CHECK_INTERVAL": 0,
    # Drafts and scheduled publishing of instances in the admin: False (Save makes an edit
    # live), True (every type), or a list of plugin type names. Revisions, history, compare
    # and revert are there either way.
    "DRAFTS": False,
    # Plugin type names whose instances go through Wagtail's moderation workflow (the one
    # assigned to plugin instances under Settings > Workflows) before a change goes live.
    # Drafts are on for these types.
    "APPROVAL": [],
    # The circuit breaker of call_with_failover() (see docs/resilience.md): an instance
    # whose calls fail BREAKER_FAILURES times within BREAKER_WINDOW seconds is skipped by
    # every process for BREAKER_COOLDOWN seconds, then one call probes it. 0 failures turns
    # the breaker off. An editor can override the three for one instance.
    "BREAKER_FAILURES": 5,
    "BREAKER_WINDOW": 60,
    "BREAKER_COOLDOWN": 30,
    # Mail the site's ADMINS when a circuit opens (at most once per instance per hour).
    "BREAKER_NOTIFY_ADMINS": False,
    # Days that per-minute call statistics and failover events are kept.
    "CALL_STATS_RETENTION_DAYS": 7,
    # Health checks (see docs/monitoring.md): seconds one check may take before it is
    # recorded as timed out (0: no limit, the check runs in the caller's thread).
    "CHECK_TIMEOUT": 10,
    # At most one check per instance in this many seconds, across all processes; a Test
    # pressed again sooner shows the last result. 0: no limit.
    "CHECK_MIN_INTERVAL": 60,
    # Days that each check's result is kept.
    "CHECK_HISTORY_DAYS": 30,
    # The dashboard lists active instances not checked for this many seconds.
    "CHECK_STALE_AFTER": 86400,
    # The task backend (an alias of TASKS) that `pluginhealth --enqueue` hands checks to.
    "CHECK_TASK_BACKEND": "default",
}


def get_setting(name: str) -> Any:
    """Return the value of one package setting, falling back to its default."""
    if name not in DEFAULTS:
        raise ImproperlyConfigured(
            f"{SETTING_NAME}[{name!r}] is not a setting of wagtail-plugin-system; the settings "
            f"are: {', '.join(sorted(DEFAULTS))}."
        )
    configured = getattr(settings, SETTING_NAME, None) or {}
    if not isinstance(configured, dict):
        raise ImproperlyConfigured(
            f"{SETTING_NAME} must be a dict; got {type(configured).__name__}."
        )
    return configured.get(name, DEFAULTS[name])


def unknown_settings() -> list[str]:
    """Keys of ``WAGTAIL_PLUGIN_SYSTEM`` that are not settings (likely typos)."""
    configured = getattr(settings, SETTING_NAME, None) or {}
    if not isinstance(configured, dict):
        return []
    return sorted(set(configured) - set(DEFAULTS))


def version_check_interval() -> float:
    """``VERSION_CHECK_INTERVAL``, checked: a number of seconds, 0 or more."""
    return non_negative_number(
        "VERSION_CHECK_INTERVAL",
        "a number of seconds; 0 checks the version token on every resolution",
    )


def number_setting(
    name: str,
    hint: str,
    *,
    minimum: int = 0,
    whole: bool = False,
    allow_none: bool = False,
) -> float | None:
    """The setting ``name``, checked: a number (``whole``: an integer), ``minimum`` or more.

    ``allow_none``: ``None`` is accepted too (and returned). A bool is not a number
    here, nor is a numeric string. ``hint`` explains the setting in the error.
    """
    value = get_setting(name)
    if value is None and allow_none:
        return None
    kinds: tuple[type, ...] = (int,) if whole else (int, float)
    if type(value) in kinds and value >= minimum:
        return float(value)
    kind = "a whole number" if whole else "a number"
    also = " or None" if allow_none else ""
    raise ImproperlyConfigured(
        f"{SETTING_NAME}[{name!r}] must be {kind}, {minimum} or more{also} ({hint}); got {value!r}."
    )


def non_negative_number(name: str, hint: str) -> float:
    """The setting ``name``, checked: a number, 0 or more (``hint`` explains it on error)."""
    value = number_setting(name, hint)
    assert value is not None
    return value


def _type_names(name: str) -> list[str]:
    value = get_setting(name)
    if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
        raise ImproperlyConfigured(
            f"{SETTING_NAME}[{name!r}] must be a list of plugin type names; got {value!r}."
        )
    if not all(isinstance(item, str) for item in value):
        raise ImproperlyConfigured(
            f"{SETTING_NAME}[{name!r}] must be a list of plugin type names (strings); "
            f"got {value!r}."
        )
    return list(value)


def check_change_settings() -> None:
    """Raise :class:`ImproperlyConfigured` when ``DRAFTS`` or ``APPROVAL`` is malformed."""
    _type_names("APPROVAL")
    if get_setting("DRAFTS") not in (True, False, None):
        _type_names("DRAFTS")


def drafts_in_use() -> bool:
    """Whether ``DRAFTS`` or ``APPROVAL`` turns drafts on for any type."""
    return get_setting("DRAFTS") not in (False, None) or bool(_type_names("APPROVAL"))


def approval_required(type_name: str) -> bool:
    """Whether instances of the named type go through a moderation workflow (``APPROVAL``)."""
    return type_name in _type_names("APPROVAL")


def drafts_enabled(type_name: str) -> bool:
    """Whether editors save drafts of the named type's instances and publish them (``DRAFTS``).

    True for every type with ``DRAFTS = True``, for the types it lists, and for the types
    ``APPROVAL`` lists (a change waits for approval as a draft).
    """
    value = get_setting("DRAFTS")
    if value is True:
        return True
    if value is not False and value is not None and type_name in _type_names("DRAFTS"):
        return True
    return approval_required(type_name)
