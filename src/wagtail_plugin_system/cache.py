"""Caching: a hot path without queries that every process sees invalidated.

Resolved plugins are kept in an **in-process memo**, tagged with a **version
token**. The token lives where every process can read it (see
:mod:`wagtail_plugin_system.version_store`: a shared cache such as Redis or
Memcached, or, when the configured cache is private to each process, a row in
the database) and is replaced whenever plugin data changes through the ORM:
``save()``, ``delete()``, queryset ``update()``/``delete()``/``bulk_create()``/
``bulk_update()``, bulk actions, ``pluginsync``, site settings, ``Site`` rows.
A memo entry is used only while its token is current, so the next resolution
in any process sees the change.

Where the token is read:

* inside a :func:`version_scope` (which
  :class:`~wagtail_plugin_system.middleware.PluginCacheMiddleware` opens for
  each request), once per scope: one cache access or one small query for the
  first resolution, nothing for the others;
* elsewhere, on every resolution, or at most once every
  ``WAGTAIL_PLUGIN_SYSTEM["VERSION_CHECK_INTERVAL"]`` seconds when that is
  set; then changes made by other processes can take that long to be seen
  outside a scope. Changes made by this process are seen at once either way.

When the cache holding the token fails (unreachable, or refusing writes),
nothing is memoised and nothing memoised is used until it answers: plugins are
read from the database, and the failure is logged once. A token that could not
be replaced is deleted where the cache allows it, and written again by the
next resolution of the process that failed to write it. With the database
store, a missing token row means nothing is memoised until a write makes it.

Besides the token, only instance rows as the database stores them (configuration
encrypted) are shared, through the same cache (see :mod:`.shared_rows`). Loaded
plugins, and so decrypted configuration, stay in the memory of the process that
loaded them. Changes made outside the ORM (raw SQL, another application writing
the tables) are not seen until :func:`bump_version` is called.
"""

from __future__ import annotations

import contextvars
import enum
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Final, Generic, Protocol, TypeVar

from django.db import connections, transaction
from django.db.models import Model

from . import version_store
from .core.registry import registry
from .core.settings import get_setting, version_check_interval

__all__ = [
    "MISS",
    "Memo",
    "Miss",
    "bump_version",
    "clear",
    "current_version",
    "token_of",
    "version_scope",
    "watch_model",
]

#: The key of the version token in Django's cache (with the cache store).
VERSION_KEY = version_store.VERSION_KEY

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Clearable(Protocol):
    def clear(self) -> None: ...


#: Every namespace made, so that :func:`clear` empties them all.
_namespaces: list[_Clearable] = []


class _Scope:
    """What a :func:`version_scope` read: the version, for the marker it was read at."""

    def __init__(self) -> None:
        self.version: str | None = None
        self.marker: tuple[int, int] | None = None


_scope: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar(
    "wagtail_plugin_system_version_scope", default=None
)
#: Incremented by every bump in this process, so a scope notices local changes.
_local_generation = 0
#: Outside scopes, with VERSION_CHECK_INTERVAL: (version, marker, monotonic time of the read).
_ambient: tuple[str | None, tuple[int, int], float] | None = None


logger = logging.getLogger(__name__)


class _StoreHealth:
    """Whether the shared cache holding the token fails, and whether a bump is unsent."""

    def __init__(self) -> None:
        self.failing = False
        #: A bump this process could not write: its memo is not trusted until one is.
        self.unsent = False
        #: When the last failure was logged (monotonic), so a flapping cache logs once.
        self.logged_at: float | None = None
        self.lock = threading.Lock()


_health = _StoreHealth()


#: A cache that fails again this soon after a logged failure is not logged again.
_FAILURE_LOG_INTERVAL = 60.0


def _store_failed(exc: Exception) -> None:
    """Log that the cache holding the token fails: once, not once per request.

    A cache that flaps (a client that answers one call and fails the next, as
    pymemcache does on a dead server) is logged once per minute at most.
    """
    with _health.lock:
        if _health.failing:
            return
        _health.failing = True
        now = time.monotonic()
        if _health.logged_at is not None and now - _health.logged_at < _FAILURE_LOG_INTERVAL:
            return
        _health.logged_at = now
    logger.error(
        "The cache %r that holds the plugin version token failed (%s: %s). Plugins are read "
        "from the database, without the in-process memo, until it answers again.",
        version_store.cache_alias(),
        type(exc).__name__,
        exc,
    )


def _store_answered() -> None:
    with _health.lock:
        if not _health.failing:
            return
        _health.failing = False
        logged_at = _health.logged_at
        if logged_at is not None and time.monotonic() - logged_at < _FAILURE_LOG_INTERVAL:
            # Too soon to say it is back: it may be flapping (see _store_failed).
            return
    logger.info(
        "The cache %r that holds the plugin version token answers again; the memo is back on.",
        version_store.cache_alias(),
    )


def _write_token(write: Callable[[], None]) -> None:
    """Write the token; when the cache refuses, keep the site up and distrust the memo.

    The database store writes inside the caller's transaction: its errors are the
    caller's. A cache that fails is logged (once); until a later write succeeds
    this process memoises nothing and uses nothing it memoised, and the old
    token has been deleted where the cache allowed it (see
    :func:`.version_store.bump`), so other processes read plugins afresh too.
    """
    if version_store.store() == "database":
        write()
        return
    try:
        write()
    except Exception as exc:
        _health.unsent = True
        _store_failed(exc)
        return
    _health.unsent = False
    _store_answered()


def _read_shared_token() -> str | None:
    """The shared token; ``None`` (memo off) while the cache holding it fails."""
    if version_store.store() == "database":
        return version_store.read()
    if _health.unsent:
        _write_token(version_store.bump_after_commit)
        if _health.unsent:
            return None
    try:
        token = version_store.read()
    except Exception as exc:
        _store_failed(exc)
        return None
    _store_answered()
    return token


def _compose(token: str | None, marker: tuple[int, int]) -> str | None:
    return None if token is None else f"{token}:{marker[0]}:{marker[1]}"


def token_of(version: str) -> str:
    """The shared token a version was read at (what every process's version starts with)."""
    return version.rsplit(":", 2)[0]


def current_version() -> str | None:
    """The version that memo entries must carry to be used, or ``None`` (no caching).

    ``None`` means the cache store cannot hold the token (the dummy cache with
    ``VERSION_STORE = "cache"``), so nothing is memoised.
    """
    global _ambient
    if _pending.aliases:
        _settle_pending()
    scope = _scope.get()
    marker = (registry.generation, _local_generation)
    if scope is None:
        return _outside_scope(marker)
    if scope.marker != marker:
        scope.version = _compose(_read_shared_token(), marker)
        scope.marker = marker
        if _ambient is not None:  # a fresher read for resolutions outside scopes, too
            _ambient = (scope.version, marker, time.monotonic())
    return scope.version


def _outside_scope(marker: tuple[int, int]) -> str | None:
    """Read the token, or reuse the last read for up to ``VERSION_CHECK_INTERVAL`` seconds."""
    global _ambient
    interval = version_check_interval()
    if not interval:
        return _compose(_read_shared_token(), marker)
    now = time.monotonic()
    last = _ambient
    if last is None or last[1] != marker or now - last[2] >= interval:
        last = (_compose(_read_shared_token(), marker), marker, now)
        _ambient = last
    return last[0]


@contextmanager
def version_scope() -> Iterator[None]:
    """Read the version token once for a unit of work (a request, a task).

    Resolutions inside the scope use the token read at its first resolution
    and cost no cache access; changes this process makes inside the scope are
    still seen at once. Changes made by other processes are seen by the next
    scope.
    """
    token = _scope.set(_Scope())
    try:
        yield
    finally:
        _scope.reset(token)


class _Pending(threading.local):
    """Database aliases whose open transaction (in this thread) wrote plugin data."""

    def __init__(self) -> None:
        self.aliases: set[str] = set()
        #: (alias, savepoint ids) where the token was written in the open transaction.
        self.bumped: set[tuple[str, tuple[str, ...]]] = set()


_pending = _Pending()


def bump_version(using: str | None = None) -> None:
    """Invalidate every process's memo: now, and again when the transaction ends.

    The token is replaced at once (in the database store, inside the caller's
    transaction, so it is committed or rolled back with the change) and this
    process sees its own change at once. Until the transaction ends, this
    thread memoises nothing (it would be uncommitted data); when it commits,
    the cache store's token is replaced again, so no process keeps what it read
    before the commit; when it is rolled back, the next resolution notices.
    """
    connection = transaction.get_connection(using)
    if not connection.in_atomic_block:
        _write_token(lambda: version_store.bump(using))
        _bump_local()
        return
    alias = connection.alias
    # One write of the token per transaction (and savepoint) is enough: it is committed or
    # rolled back with everything the transaction wrote.
    # (A callback registered in a savepoint that is rolled back is dropped, so each level
    # registers its own.)
    level = (alias, tuple(connection.savepoint_ids))
    if level not in _pending.bumped:
        _write_token(lambda: version_store.bump(using))
        _pending.bumped.add(level)
        _pending.aliases.add(alias)
        transaction.on_commit(lambda: _transaction_ended(alias), using=alias)
    _bump_local()


def _bump_local() -> None:
    global _local_generation
    _local_generation += 1


def _transaction_ended(alias: str) -> None:
    _pending.aliases.discard(alias)
    _pending.bumped = {level for level in _pending.bumped if level[0] != alias}
    _bump_local()
    _write_token(version_store.bump_after_commit)


def _settle_pending() -> None:
    """Forget transactions that ended; one that ended without committing was rolled back."""
    for alias in list(_pending.aliases):
        if not connections[alias].in_atomic_block:
            # Its after-commit bump never ran: it was rolled back.
            _transaction_ended(alias)


def writes_pending() -> bool:
    """Whether this thread is inside a transaction that wrote plugin data."""
    if _pending.aliases:
        _settle_pending()
    return bool(_pending.aliases)


class Miss(enum.Enum):
    """The type of :data:`MISS`: what :meth:`Memo.get` returns when it holds no current entry."""

    MISS = "MISS"


#: Returned by :meth:`Memo.get` when there is no current entry (test with ``is``).
MISS: Final = Miss.MISS


class Memo(Generic[K, V]):
    """One namespace of the in-process memo: values by key, each under the version it was read.

    Each namespace has its own bound (``max_size``, or ``MEMO_SIZE`` when it is
    ``None``) and evicts its own least recently used entry when full, so one
    busy namespace never empties the others. Safe to share between threads.
    """

    def __init__(self, name: str, max_size: int | None = None) -> None:
        self.name = name
        self.max_size = max_size
        self._entries: OrderedDict[K, tuple[str, V]] = OrderedDict()
        self._lock = threading.Lock()
        _namespaces.append(self)

    def __repr__(self) -> str:
        return f"<Memo {self.name!r}: {len(self)} entries>"

    def __len__(self) -> int:
        return len(self._entries)

    def bound(self) -> int:
        """The most entries this namespace holds."""
        size: int = self.max_size if self.max_size is not None else get_setting("MEMO_SIZE")
        return max(1, size)

    def get(self, key: K, version: str | None) -> V | Miss:
        """The value memoised for ``key`` if it carries ``version``, else :data:`MISS`."""
        if version is None:
            return MISS
        # No lock to read: each OrderedDict operation is atomic (keys are ints, strings or
        # tuples of them: no Python code runs inside one), and writers hold the lock.
        entry = self._entries.get(key)
        if entry is None or entry[0] != version:
            return MISS
        try:  # noqa: SIM105 - contextlib.suppress costs more than this whole lookup
            self._entries.move_to_end(key)
        except KeyError:  # evicted by another thread meanwhile: what was read still holds
            pass
        return entry[1]

    def set(self, key: K, version: str | None, value: V) -> None:
        """Memoise ``value`` for ``key`` under ``version``.

        Nothing is memoised when ``version`` is ``None``, or while this thread's
        transaction holds uncommitted plugin writes. Past the bound, the least
        recently used entries of this namespace go.
        """
        if version is None or writes_pending():
            return
        bound = self.bound()
        with self._lock:
            self._entries[key] = (version, value)
            self._entries.move_to_end(key)
            while len(self._entries) > bound:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every entry of this namespace."""
        with self._lock:
            self._entries.clear()


def clear() -> None:
    """Forget this process's memo and last token read (the shared token is left alone)."""
    global _ambient
    for namespace in list(_namespaces):
        namespace.clear()
    _ambient = None
    _health.failing = False  # the next failure is logged again


def connect_signals() -> None:
    """Bump the version on every write to the rows selection depends on.

    ``save()``/``delete()`` of the plugin models, the per-site settings and
    Wagtail's ``Site`` (``post_save``/``post_delete``), and the plugin
    querysets' bulk writes (:data:`~wagtail_plugin_system.models.plugin_data_changed`).
    Called once, when the app is ready.
    """
    from wagtail.models import Site

    from .models import (
        PluginInstance,
        PluginItem,
        PluginSiteChoice,
        PluginSiteSettings,
        PluginType,
        plugin_data_changed,
    )

    for model in (
        PluginType,
        PluginItem,
        PluginInstance,
        PluginSiteChoice,
        PluginSiteSettings,
        Site,
    ):
        watch_model(model)
    plugin_data_changed.connect(_on_change, dispatch_uid="wps-cache-bulk")


def watch_model(model: type[Model]) -> None:
    """Bump the version when a row of ``model`` is saved or deleted.

    For a proxy of one of the plugin models: Django signals its writes with
    the proxy as sender.
    """
    from django.db.models.signals import post_delete, post_save

    label = f"{model._meta.app_label}.{model.__name__}"
    for signal in (post_save, post_delete):
        signal.connect(_on_change, sender=model, dispatch_uid=f"wps-cache-{label}")


def _on_change(sender: object, using: str | None = None, **kwargs: object) -> None:
    bump_version(using)
