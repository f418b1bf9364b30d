"""Instance rows in the shared cache, so that a process with a cold memo runs no query.

With the ``cache`` version store and Redis or Memcached (a cache every process
shares), :func:`~wagtail_plugin_system.instances.get_instances` writes the
rows it reads from the database to that cache too, under the version token it
read them at. A process whose memo does not hold them (it has just started, a
worker was recycled, or ``MEMO_SIZE`` evicted them) reads them there with one
cache access instead of a query. After a change, the first process to read a
row pays the query for every process.

Rules:

* Entries hold the rows as the database stores them: the columns of the
  instance, its item and its type, with the configuration as its ciphertext.
  Nothing decrypted is ever written; each process decrypts what it loads.
* A key carries the version token, a fingerprint of the three tables' columns
  and one of the database (its vendor, name, host and port). A change to plugin
  data replaces the token, so entries written before it are never read again
  (they expire after ``ROW_CACHE_TIMEOUT`` seconds); a process running other
  code during a rolling deploy neither reads nor writes the same entries; and
  two sites sharing a cache server (staging and production without a
  ``KEY_PREFIX``) never read each other's rows, even when they share the token.
* An entry of another shape is a miss, and so is a cache that fails (a warning,
  at most once a minute): the row is read from the database.
* Not used with the ``database`` version store (its cache is private to each
  process), with the file or database cache (see :data:`UNSHARED_BACKENDS`),
  while this thread's transaction has written plugin data (it could share
  uncommitted rows), or when ``ROW_CACHE_TIMEOUT`` is 0.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from collections.abc import Collection, Mapping
from typing import Any

from django.core.cache.backends.filebased import FileBasedCache
from django.db import connections, models, router
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init

from . import cache, version_store
from .core.settings import get_setting
from .fields import Ciphertext
from .models import PluginInstance, PluginItem, PluginType

__all__ = ["UNSHARED_BACKENDS", "read", "write"]

#: The stored form of one row: the instance's, its item's and its type's column values;
#: ``()`` for an id with no row.
Entry = tuple[tuple[Any, ...], tuple[Any, ...], tuple[Any, ...]] | tuple[()]

_MODELS = (PluginInstance, PluginItem, PluginType)


@functools.cache
def _attnames() -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(f.attname for f in model._meta.concrete_fields) for model in _MODELS)


@functools.cache
def _fingerprint() -> str:
    """What every process that may share an entry must agree on: the tables' columns."""
    described = repr(
        [
            (model._meta.label, [(f.attname, f.get_internal_type()) for f in fields])
            for model, fields in zip(
                _MODELS, (m._meta.concrete_fields for m in _MODELS), strict=True
            )
        ]
    )
    return hashlib.blake2b(f"1:{described}".encode(), digest_size=6).hexdigest()


def _plain(model: type[models.Model]) -> bool:
    """Whether rows of ``model`` can be made as unpickling makes them: without ``__init__``.

    True when its ``__init__`` is Django's own and no ``pre_init``/``post_init``
    receiver listens; making them so costs a third of ``from_db()``.
    """
    return (
        model.__init__ is models.Model.__init__
        and not pre_init.has_listeners(model)
        and not post_init.has_listeners(model)
    )


def _build(
    model: type[models.Model], plain: bool, db: str, names: tuple[str, ...], values: Any
) -> Any:
    """``model.from_db(db, names, values)``, without ``__init__`` when ``plain``."""
    if not plain:
        return model.from_db(db, names, values)
    row = model.__new__(model)
    row.__dict__.update(zip(names, values, strict=True))
    state = row._state = ModelState()
    state.adding = False
    state.db = db
    return row


#: Connection ``OPTIONS`` that choose which rows a connection reads, besides ``NAME``,
#: ``HOST`` and ``PORT``: a PostgreSQL service (which may name the database in their
#: place), PostgreSQL's ``options`` (a ``search_path``), MySQL's option file. Nothing
#: else of ``OPTIONS`` is used: it may hold credentials.
SELECTING_OPTIONS = ("service", "options", "read_default_file")


def _database(alias: str) -> str:
    """Which database the rows come from, so that sites sharing a cache server never mix."""
    settings = connections[alias].settings_dict
    options = settings.get("OPTIONS") or {}
    return _place(
        connections[alias].vendor,
        str(settings.get("NAME")),
        str(settings.get("HOST")),
        str(settings.get("PORT")),
        *(str(options.get(name)) for name in SELECTING_OPTIONS),
    )


@functools.lru_cache(maxsize=16)
def _place(*identity: str) -> str:
    return hashlib.blake2b(repr(identity).encode(), digest_size=6).hexdigest()


def _key(token: str, pk: int, place: str) -> str:
    return f"wagtail_plugin_system:row:{_fingerprint()}:{place}:{token}:{pk}"


#: Caches rows are not shared through: the file cache culls entries at random once full
#: (the token among them, which would invalidate every memo), and reading the database
#: cache is a query anyway.
UNSHARED_BACKENDS: tuple[type, ...] = (FileBasedCache, *version_store.QUERY_BACKENDS)


def _shared_cache() -> Any:
    """The cache rows are shared through now, or ``None``."""
    if (
        version_store.store() != "cache"
        or not get_setting("ROW_CACHE_TIMEOUT")
        or cache.writes_pending()
    ):
        return None
    backend = version_store.cache_backend()
    return None if isinstance(backend, UNSHARED_BACKENDS) else backend


def _stored(model_instance: Any, names: tuple[str, ...]) -> tuple[Any, ...]:
    values = model_instance.__dict__
    return tuple(
        value.token if isinstance(value := values[name], Ciphertext) else value for name in names
    )


def _encode(row: PluginInstance | None) -> Entry | None:
    """The entry of a row, or ``None`` when the row is not in its stored form whole."""
    if row is None:
        return ()
    item = row._state.fields_cache.get("item")
    plugin_type = item._state.fields_cache.get("plugin_type") if item is not None else None
    config = row.__dict__.get("config")
    if plugin_type is None or not isinstance(config, Ciphertext):
        return None  # not read with its item and type, or decrypted already: leave it
    names = _attnames()
    try:
        return (
            _stored(row, names[0]),
            _stored(item, names[1]),
            _stored(plugin_type, names[2]),
        )
    except KeyError:  # a deferred column
        return None


def _decode(
    entry: object, db: str, plain: tuple[bool, ...], made: dict[tuple[Any, ...], Any]
) -> PluginInstance | None:
    """The row an entry holds; raises ``ValueError`` when it is not an entry of this code.

    ``made`` holds the items and types made for the entries read together, by
    their values, so rows with the same item share it (read-only, as rows are).
    """
    if entry == ():
        return None
    names = _attnames()
    if (
        type(entry) is not tuple
        or len(entry) != 3
        or type(entry[0]) is not tuple
        or type(entry[1]) is not tuple
        or type(entry[2]) is not tuple
        or tuple(map(len, entry)) != _lengths()
    ):
        raise ValueError("not a row entry")
    instance_values, item_values, type_values = entry
    token = instance_values[_config_at()]
    if type(token) is not str:
        raise ValueError("not a row entry")
    config = Ciphertext(token)  # as the field's from_db_value() makes it
    if not plain[0]:  # __init__ and its receivers see the row as the database gives it
        at = _config_at()
        instance_values = (*instance_values[:at], config, *instance_values[at + 1 :])
    row: PluginInstance = _build(PluginInstance, plain[0], db, names[0], instance_values)
    row.__dict__["config"] = config
    item = made.get(item_values)
    if item is None:
        item = made[item_values] = _build(PluginItem, plain[1], db, names[1], item_values)
    if item.pk != row.item_id:
        raise ValueError("not a row entry")
    if "plugin_type" not in item._state.fields_cache:
        plugin_type = made.get(type_values)
        if plugin_type is None:
            plugin_type = made[type_values] = _build(
                PluginType, plain[2], db, names[2], type_values
            )
        if plugin_type.pk != item.plugin_type_id:
            raise ValueError("not a row entry")
        item._state.fields_cache["plugin_type"] = plugin_type
    row._state.fields_cache["item"] = item
    return row


@functools.cache
def _config_at() -> int:
    return _attnames()[0].index("config")


@functools.cache
def _lengths() -> tuple[int, ...]:
    return tuple(map(len, _attnames()))


logger = logging.getLogger(__name__)

#: When a failure was last logged (monotonic): a cache that keeps failing is logged once a
#: minute, not once a page.
_last_logged: list[float] = []
_LOG_INTERVAL = 60.0


def _failed(action: str, exc: Exception) -> None:
    now = time.monotonic()
    if _last_logged and now - _last_logged[0] < _LOG_INTERVAL:
        return
    _last_logged[:] = [now]
    logger.warning(
        "Could not %s instance rows in the cache %r (%s: %s); they are read from the "
        "database meanwhile.",
        action,
        version_store.cache_alias(),
        type(exc).__name__,
        exc,
    )


def read(pks: Collection[int], version: str | None) -> dict[int, PluginInstance | None]:
    """The rows (``None``: no such row) the shared cache holds for these ids at ``version``.

    Ids it does not hold (or holds in another shape) are left out: read them
    from the database and :func:`write` them.
    """
    backend = _shared_cache() if version is not None and pks else None
    if backend is None or version is None:
        return {}
    token = cache.token_of(version)
    db = router.db_for_read(PluginInstance)
    place = _database(db)
    keys = {_key(token, pk, place): pk for pk in pks}
    try:
        entries = backend.get_many(list(keys))
    except Exception as exc:
        _failed("read", exc)
        return {}
    plain = tuple(_plain(model) for model in _MODELS)
    made: dict[tuple[Any, ...], Any] = {}
    found: dict[int, PluginInstance | None] = {}
    for key, entry in entries.items():
        try:
            row = _decode(entry, db, plain, made)
        except (ValueError, TypeError):
            continue  # another shape: read from the database, and written again
        if row is not None and row.pk != keys[key]:
            continue
        found[keys[key]] = row
    return found


def write(rows: Mapping[int, PluginInstance | None], version: str | None) -> None:
    """Share rows just read from the database (``None``: no such row) under ``version``."""
    backend = _shared_cache() if version is not None and rows else None
    if backend is None or version is None:
        return
    token = cache.token_of(version)
    place = _database(router.db_for_read(PluginInstance))
    entries = {}
    for pk, row in rows.items():
        entry = _encode(row)
        if entry is not None:
            entries[_key(token, pk, place)] = entry
    if not entries:
        return
    try:
        backend.set_many(entries, timeout=get_setting("ROW_CACHE_TIMEOUT"))
    except Exception as exc:
        _failed("write", exc)
