"""Where the version token of plugin data lives: Django's cache, or the database.

Every process memoises what it resolved (see :mod:`wagtail_plugin_system.cache`)
under a version token that every write to plugin data replaces. The token must
be seen by every process, so it lives in a place they share:

``"cache"``
    The token is a key in Django's cache (``CACHE_ALIAS``). Reading it costs
    one cache access and no query. Right for Redis, Memcached, the database
    cache and the file cache, which every process of a server shares.
``"database"``
    The token is a row (:class:`~wagtail_plugin_system.models.PluginDataVersion`)
    replaced in the same transaction as the change, so it is committed with it.
    Reading it costs one small query. Right when the cache is private to each
    process (Django's default local-memory cache, or the dummy cache), where a
    token in the cache would never reach the other processes.

``WAGTAIL_PLUGIN_SYSTEM["VERSION_STORE"]`` chooses: ``"auto"`` (the default)
takes ``"database"`` for a per-process cache and ``"cache"`` otherwise.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from django.core.cache import caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import router

from .core.settings import SETTING_NAME, get_setting
from .models import PluginDataVersion

__all__ = [
    "PER_PROCESS_BACKENDS",
    "STORES",
    "VERSION_KEY",
    "bump",
    "bump_after_commit",
    "read",
    "store",
]

Store = Literal["cache", "database"]

#: The values ``VERSION_STORE`` accepts.
STORES = ("auto", "cache", "database")

#: Cache backends whose data each process keeps to itself.
PER_PROCESS_BACKENDS: tuple[type, ...] = (LocMemCache, DummyCache)

#: The key of the version token in Django's cache.
VERSION_KEY = "wagtail_plugin_system:version"

_chosen: list[Store] = []


def cache_backend() -> Any:
    """The Django cache named by ``CACHE_ALIAS``."""
    return caches[get_setting("CACHE_ALIAS")]


def store() -> Store:
    """The store in use, ``VERSION_STORE`` resolved (``auto`` by the cache's backend)."""
    if _chosen:
        return _chosen[0]
    configured = get_setting("VERSION_STORE")
    if configured not in STORES:
        raise ImproperlyConfigured(
            f"{SETTING_NAME}['VERSION_STORE'] must be one of {', '.join(map(repr, STORES))}; "
            f"got {configured!r}."
        )
    chosen: Store
    if configured == "auto":
        per_process = isinstance(cache_backend(), PER_PROCESS_BACKENDS)
        chosen = "database" if per_process else "cache"
    else:
        chosen = configured
    _chosen[:] = [chosen]
    return chosen


def _forget_choice(setting: str, **kwargs: Any) -> None:
    if setting in ("CACHES", SETTING_NAME):
        _chosen.clear()


setting_changed.connect(_forget_choice, dispatch_uid="wagtail_plugin_system.version_store")


def read() -> str | None:
    """The current token, or ``None`` when there is none to be had (nothing is memoised)."""
    if store() == "database":
        token = (
            PluginDataVersion.objects.filter(pk=PluginDataVersion.ROW)
            .values_list("token", flat=True)
            .first()
        )
        # No row yet (a new database, or one emptied by flush): the first write makes it.
        return token or ""
    cache = cache_backend()
    token = cache.get(VERSION_KEY)
    if token is None:
        cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
        token = cache.get(VERSION_KEY)
    return token if isinstance(token, str) else None


def bump(using: str | None) -> None:
    """Replace the token; in the database store, within the caller's transaction."""
    token = uuid.uuid4().hex
    if store() == "cache":
        cache_backend().set(VERSION_KEY, token, timeout=None)
        return
    alias = using or router.db_for_write(PluginDataVersion)
    # One statement, whether or not the row exists yet (an empty or flushed database).
    PluginDataVersion.objects.using(alias).bulk_create(
        [PluginDataVersion(pk=PluginDataVersion.ROW, token=token)],
        update_conflicts=True,
        unique_fields=["id"],
        update_fields=["token", "changed_at"],
    )


def bump_after_commit() -> None:
    """What a committed (or rolled back) transaction that wrote plugin data needs.

    The cache store replaces the token again, so that no process keeps what it
    read before the commit; the database store's token was committed with the
    data (or rolled back with it), so there is nothing to do.
    """
    if store() == "cache":
        cache_backend().set(VERSION_KEY, uuid.uuid4().hex, timeout=None)
