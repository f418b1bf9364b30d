"""Where the version token of plugin data lives: Django's cache, or the database.

Every process memoises what it resolved (see :mod:`wagtail_plugin_system.cache`)
under a version token that every write to plugin data replaces. The token must
be seen by every process, so it lives in a place they share:

``"cache"``
    The token is a key in a Django cache (:func:`cache_alias`). Reading it
    costs one cache access and no query. Right for Redis and Memcached, which
    every process and server shares, and for the file cache, which the
    processes of one server share.
``"database"``
    The token is a row (:class:`~wagtail_plugin_system.models.PluginDataVersion`)
    replaced in the same transaction as the change, so it is committed with it.
    Reading it costs one small query (a primary-key lookup). Right when the
    cache is private to each process (Django's default local-memory cache, or
    the dummy cache), where a token in the cache would never reach the other
    processes, and with the database cache, where reading the token from the
    cache would be a query as well.

``WAGTAIL_PLUGIN_SYSTEM["VERSION_STORE"]`` chooses: ``"auto"`` (the default)
takes ``"database"`` for a per-process cache and for the database cache, and
``"cache"`` otherwise. ``CACHE_ALIAS`` names the cache; unset, it is the first
Redis or Memcached cache in ``CACHES``, or ``"default"`` when there is none, so
a site whose default cache is the database cache but that also configures
Redis reads the token from Redis, with no query.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from typing import Any, Literal

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.memcached import BaseMemcachedCache
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import connections, router

from .core.settings import SETTING_NAME, get_setting
from .models import PluginDataVersion

__all__ = [
    "PER_PROCESS_BACKENDS",
    "QUERY_BACKENDS",
    "STORES",
    "VERSION_KEY",
    "bump",
    "bump_after_commit",
    "cache_alias",
    "ensure_row",
    "read",
    "store",
]

logger = logging.getLogger(__name__)

Store = Literal["cache", "database"]

#: The values ``VERSION_STORE`` accepts.
STORES = ("auto", "cache", "database")

#: Cache backends whose data each process keeps to itself.
PER_PROCESS_BACKENDS: tuple[type, ...] = (LocMemCache, DummyCache)

#: Cache backends whose every read is a database query.
QUERY_BACKENDS: tuple[type, ...] = (DatabaseCache,)

#: Cache backends in a server's memory that every process and server can share.
SHARED_MEMORY_BACKENDS: tuple[type, ...] = (RedisCache, BaseMemcachedCache)

#: The key of the version token in Django's cache.
VERSION_KEY = "wagtail_plugin_system:version"

_chosen: list[Store] = []
_alias: list[str] = []
#: Per database alias, the SQL and parameters of the token's read, compiled by the ORM once.
_read_queries: dict[str, tuple[str, tuple[Any, ...]]] = {}


def _in_shared_memory(backend: Any) -> bool:
    # django-redis is not a subclass of Django's own RedisCache.
    return isinstance(backend, SHARED_MEMORY_BACKENDS) or type(backend).__module__.startswith(
        "django_redis."
    )


def _cache(alias: str) -> Any:
    """The cache ``alias``, or ``None`` when it cannot be made (its own error comes on use)."""
    try:
        return caches[alias]
    except Exception:  # a missing client library, a bad BACKEND: not ours to report here
        return None


def cache_alias() -> str:
    """The cache that holds the token with the ``"cache"`` store.

    ``CACHE_ALIAS`` when set; else the first Redis or Memcached cache of
    ``CACHES`` (the cheapest to read), else ``"default"``.
    """
    if _alias:
        return _alias[0]
    alias: str | None = get_setting("CACHE_ALIAS")
    if alias is None:
        configured = list(getattr(settings, "CACHES", {}) or {"default": {}})
        alias = next((name for name in configured if _in_shared_memory(_cache(name))), "default")
    _alias[:] = [alias]
    return alias


def cache_backend() -> Any:
    """The Django cache named by :func:`cache_alias`."""
    return caches[cache_alias()]


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
        backend = cache_backend()
        in_database = isinstance(backend, PER_PROCESS_BACKENDS + QUERY_BACKENDS)
        chosen = "database" if in_database else "cache"
    else:
        chosen = configured
    _chosen[:] = [chosen]
    return chosen


def _forget_choice(setting: str, **kwargs: Any) -> None:
    if setting in ("CACHES", SETTING_NAME):
        _chosen.clear()
        _alias.clear()
    if setting == "DATABASES":
        _read_queries.clear()


setting_changed.connect(_forget_choice, dispatch_uid="wagtail_plugin_system.version_store")


def read() -> str | None:
    """The current token, or ``None`` when there is none to be had (nothing is memoised).

    Raises what the store raises when it cannot be reached.
    """
    if store() == "database":
        # No row: a new database, or one emptied by flush, truncate or a restore. That is not
        # "never changed": nothing is memoised until the next write (or sync) makes the row.
        token = _read_row(router.db_for_read(PluginDataVersion))
        if token is None and not _said_missing[0]:
            _said_missing[0] = True
            logger.warning(
                "The plugin data version row is missing, so plugin instances are read from the "
                "database on every use. Run 'manage.py pluginsync' to make it again (any change "
                "to plugin data makes it too)."
            )
        elif token is not None:
            _said_missing[0] = False
        return token
    cache = cache_backend()
    token = cache.get(VERSION_KEY)
    if token is None:
        cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
        token = cache.get(VERSION_KEY)
    return token if isinstance(token, str) else None


#: Whether this process has logged that the token row is missing (once until it is back).
_said_missing = [False]


def _read_row(alias: str) -> str | None:
    """The token row's value in database ``alias``: one primary-key lookup.

    The ORM builds and compiles this query once per database; later reads run
    the SQL it compiled. Building a queryset anew costs about ten times the
    lookup itself, and this read runs once per request.
    """
    compiled = _read_queries.get(alias)
    if compiled is None:
        query = (
            PluginDataVersion.objects.using(alias)
            .filter(pk=PluginDataVersion.ROW)
            .values_list("token", flat=True)
            .query
        )
        sql, params = query.get_compiler(using=alias).as_sql()
        compiled = _read_queries[alias] = (sql, tuple(params))
    sql, params = compiled
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else row[0]


def _replace_cached_token() -> None:
    """Put a new token in the cache; when the cache refuses, delete the old one, then raise.

    Without its token no process uses its memo (the read finds none and cannot add one
    while the cache refuses writes); a cache that refuses ``set`` (Redis out of memory
    with ``noeviction``) still accepts ``delete``.
    """
    cache = cache_backend()
    try:
        cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)
    except Exception:
        with contextlib.suppress(Exception):  # unreachable: the original error says more
            cache.delete(VERSION_KEY)
        raise


def bump(using: str | None) -> None:
    """Replace the token; in the database store, within the caller's transaction.

    With the cache store, raises what the cache raises when it refuses the write
    (its old token deleted where it can be).
    """
    token = uuid.uuid4().hex
    if store() == "cache":
        _replace_cached_token()
        return
    alias = using or router.db_for_write(PluginDataVersion)
    # One statement, whether or not the row exists yet (an empty or flushed database).
    PluginDataVersion.objects.using(alias).bulk_create(
        [PluginDataVersion(pk=PluginDataVersion.ROW, token=token)],
        update_conflicts=True,
        unique_fields=["id"],
        update_fields=["token", "changed_at"],
    )


def ensure_row(using: str | None = None) -> None:
    """With the database store, make the token row when it is missing.

    Without the row (a new or flushed database, a restore that left it out, or a
    site that kept its token in a shared cache until now) nothing is memoised,
    so every resolution reads the database, until plugin data is next written.
    ``pluginsync`` (and the sync after ``migrate``) calls this, so a deploy
    starts the memo again; the new token matches no token any process read
    before, so nothing memoised earlier is reused. One statement; an existing
    row is left as it is.
    """
    if store() != "database":
        return
    alias = using or router.db_for_write(PluginDataVersion)
    PluginDataVersion.objects.using(alias).bulk_create(
        [PluginDataVersion(pk=PluginDataVersion.ROW, token=uuid.uuid4().hex)],
        ignore_conflicts=True,
    )


def bump_after_commit() -> None:
    """What a committed (or rolled back) transaction that wrote plugin data needs.

    The cache store replaces the token again, so that no process keeps what it
    read before the commit; the database store's token was committed with the
    data (or rolled back with it), so there is nothing to do.
    """
    if store() == "cache":
        _replace_cached_token()
