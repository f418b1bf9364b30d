"""Instance rows by id, read at most once per version of plugin data.

Chooser blocks store instance ids; a page shows the rows and renders their
items. :func:`get_instances` serves them from the in-process memo (see
:mod:`wagtail_plugin_system.cache`), so rendering a page again runs no query
until plugin data changes, and reads the ids it does not hold in **one** query,
whatever the blocks and types that asked for them. :func:`load` memoises the
loaded item of a row the same way, so a warm page decrypts nothing.

Rules:

* What comes back is the memoised row itself, shared with every other caller of
  the same version (no copy per block): treat it as read-only, and
  ``copy.copy()`` it before changing it.
* An id with no row is remembered as missing until the next change, like a row.
* Each memo (rows, loaded items) holds at most ``MEMO_SIZE`` entries; past that
  the least recently used go.
* With the ``cache`` version store on Redis or Memcached, rows are shared
  between processes through that cache, encrypted as stored (see
  :mod:`.shared_rows`): a process whose memo is cold reads them there, and the
  query runs once per change.
* Nothing is memoised while the memo is off (see :func:`.cache.current_version`)
  or while this thread's transaction has written plugin data: then every call
  reads what it needs.
"""

from __future__ import annotations

from collections.abc import Iterable

from . import cache, shared_rows
from .core.contracts import BasePluginItem
from .models import PluginInstance

__all__ = ["get_instances", "load"]

#: Rows by id, or ``None`` for an id with no row.
_rows: cache.Memo[int, PluginInstance | None] = cache.Memo("instance_rows")
#: Loaded items by instance id.
_loaded: cache.Memo[int, BasePluginItem] = cache.Memo("loaded_items")


def get_instances(pks: Iterable[int]) -> dict[int, PluginInstance]:
    """The instances with these ids (item and type joined), shared read-only; missing ids left out.

    Runs one query for the ids the memo does not hold, none when it holds them
    all. With the ``cache`` version store on Redis or Memcached, ids the memo
    does not hold are looked up in that cache first (see :mod:`.shared_rows`),
    and what the query reads is written there.
    """
    wanted = set(pks)
    if not wanted:
        return {}
    version = cache.current_version()
    rows: dict[int, PluginInstance | None] = {}
    missing: set[int] = set()
    for pk in wanted:
        memoised = _rows.get(pk, version)
        if memoised is cache.MISS:
            missing.add(pk)
        else:
            rows[pk] = memoised
    if missing:
        shared = shared_rows.read(missing, version)
        for pk, row in shared.items():
            rows[pk] = row
            _rows.set(pk, version, row)
        missing.difference_update(shared)
    if missing:
        # No ORDER BY: the rows are looked up by id (the model's ordering would sort them).
        found = (
            PluginInstance.objects.select_related("item__plugin_type").order_by().in_bulk(missing)
        )
        read = {pk: found.get(pk) for pk in missing}
        shared_rows.write(read, version)
        for pk, row in read.items():
            rows[pk] = row
            _rows.set(pk, version, row)
    # Shared read-only with the memo and other callers: no copy per block.
    return {pk: row for pk, row in rows.items() if row is not None}


def load(instance: PluginInstance) -> BasePluginItem:
    """``instance.load_instance()``, memoised by id for the current version.

    The item returned may be shared with other callers of the same version, as
    :func:`~wagtail_plugin_system.selection.get_plugin_instance` shares its
    items. Raises :class:`~wagtail_plugin_system.core.exceptions.PluginUnavailableError`
    as ``load_instance()`` does; failures are not memoised.
    """
    version = cache.current_version()
    memoised = _loaded.get(instance.pk, version)
    if memoised is not cache.MISS:
        return memoised
    item = instance.load_instance()
    _loaded.set(instance.pk, version, item)
    return item
