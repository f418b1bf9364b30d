"""Selection: which configured instance application code gets.

The default order, for a type:

1. never a ``DISABLED`` instance, nor one that is not live (created as a draft and
   never published, or expired: see drafts in the admin);
2. ``ACTIVE`` before ``RESERVED``, whatever the priority;
3. lower ``priority`` first;
4. ties broken by creation order.

Instances whose item code is not registered in this process, or whose
configuration cannot be decrypted, are skipped with a logged error, so a
broken instance never takes the site down while a working one exists. A
type registered with ``get_plugin=`` replaces steps 1-4 with its own choice.

Resolutions (``get_plugin_instance``, ``get_plugin_instance_by_id``, the
candidates of ``call_with_failover``) are memoised in the process and
invalidated in every process when plugin data changes (see :mod:`.cache`);
``get_active_plugins``/``get_reserve_plugins`` return fresh rows each time.

Every function takes the type as its class or its registered name. A name
nobody registered raises
:class:`~wagtail_plugin_system.core.exceptions.UnknownPluginError`: that is a
programming error, not a configuration one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from django.views.decorators.debug import sensitive_variables

from . import breaker, cache, traffic
from .core.contracts import BasePluginItem
from .core.exceptions import (
    CircuitOpenError,
    PluginFailoverError,
    PluginSelectionError,
    PluginUnavailableError,
)
from .core.ids import parse_id
from .core.redact import describe_exception, safe_exception
from .core.registry import RegisteredType, TypeRef, registry
from .models import (
    SELECTABLE_STATUSES,
    PluginInstance,
    PluginInstanceQuerySet,
    PluginStatus,
    PluginType,
)
from .sites import site_choices

if TYPE_CHECKING:
    from django.http import HttpRequest
    from wagtail.models import Site

__all__ = [
    "call_with_failover",
    "get_active_plugins",
    "get_candidates",
    "get_plugin_instance",
    "get_plugin_instance_by_id",
    "get_reserve_plugins",
]

logger = logging.getLogger(__name__)

#: Selected items by (type name, site pk or ``None``).
_resolved: cache.Memo[tuple[str, int | None], BasePluginItem | None] = cache.Memo("resolved")
#: The site pk (or ``None``) of a request's (host, port).
_sites_by_host: cache.Memo[tuple[str, str], int | None] = cache.Memo("sites_by_host")
#: (status, loaded item or ``None``) by (type name, instance pk).
_by_id: cache.Memo[tuple[str, int], tuple[str, BasePluginItem | None]] = cache.Memo("by_id")


def _instances(entry: RegisteredType) -> Any:
    return PluginInstance.objects.of_type(entry.type_class)


def _code_present(entry: RegisteredType, instance: PluginInstance) -> bool:
    return registry.get_item(entry.type_class, instance.item.name) is not None


#: Rows a cold resolution reads at a time: selection stops at the first usable one.
BATCH_SIZE = 8


def _selectable(entry: RegisteredType, statuses: Iterable[str]) -> list[PluginInstance]:
    return list(_iter_selectable(entry, statuses))


def selection_rows(entry: RegisteredType, statuses: Iterable[str]) -> PluginInstanceQuerySet:
    """The query selection reads a type's instances with: selectable, in selection order.

    The order comes from the index ``wps_instance_selection_order``, so a slice
    of it reads that many rows however many instances the type has.
    """
    return (
        PluginInstance.objects.of_type_for_selection(entry.type_class, statuses)
        .selectable()
        .in_selection_order()
    )


def _iter_selectable(entry: RegisteredType, statuses: Iterable[str]) -> Iterator[PluginInstance]:
    """Selectable instances in selection order, read :data:`BATCH_SIZE` rows at a time.

    A resolution that stops at the first usable instance reads one small batch,
    however many instances the type has.
    """
    rows = selection_rows(entry, statuses)
    start = 0
    while True:
        batch = list(rows[start : start + BATCH_SIZE])
        yield from (row for row in batch if _code_present(entry, row))
        if len(batch) < BATCH_SIZE:
            return
        start += BATCH_SIZE


def get_candidates(plugin_type: TypeRef) -> list[PluginInstance]:
    """Active, then reserved instances of a type, in selection order.

    Only instances whose item code is registered in this process are listed.
    """
    return _selectable(registry.get_type_entry(plugin_type), SELECTABLE_STATUSES)


def get_active_plugins(plugin_type: TypeRef) -> list[PluginInstance]:
    """The ``ACTIVE`` instances of a type, in selection order."""
    return _selectable(registry.get_type_entry(plugin_type), [PluginStatus.ACTIVE])


def get_reserve_plugins(plugin_type: TypeRef) -> list[PluginInstance]:
    """The ``RESERVED`` instances of a type, in selection order (for custom failover)."""
    return _selectable(registry.get_type_entry(plugin_type), [PluginStatus.RESERVED])


def _load(instance: PluginInstance) -> BasePluginItem | None:
    """The loaded item, or ``None`` (logged) when the instance cannot be loaded."""
    try:
        return instance.load_instance()
    except PluginUnavailableError as exc:
        logger.error("Skipping plugin instance %s (%r): %s", instance.pk, instance.name, exc)
        return None


def get_plugin_instance(
    plugin_type: TypeRef, *, site: Site | None = None, request: HttpRequest | None = None
) -> BasePluginItem | None:
    """Return the selected, loaded plugin item of a type, or ``None`` when none is usable.

    The returned object is the item class instantiated with the selected
    instance's configuration (``item.config``) and row (``item.plugin_instance``).

    With ``site`` (a Wagtail ``Site``) or ``request`` (whose site is looked up),
    the instance that site chose in its plugin settings comes first; when the
    site chose none for the type, or its choice is disabled or cannot be
    loaded, the usual selection applies. With ``request``, the site's choices
    are read once per request.
    """
    entry = registry.get_type_entry(plugin_type)
    if entry.get_plugin is not None:
        # A custom selection may depend on anything: it is never memoised.
        if site is not None or request is not None:
            chosen = _site_choice(entry, site=site, request=request)
            if chosen is not None:
                return chosen
        return _custom_selection(entry)
    version = cache.current_version()
    site_key = None if site is None and request is None else _site_key(site, request, version)
    key = (entry.name, site_key)
    memoised = _resolved.get(key, version)
    if memoised is not cache.MISS:
        return memoised
    found: BasePluginItem | None = None
    if site_key is not None:
        found = _site_choice(entry, site=site, request=request)
    if found is None:
        for instance in _iter_selectable(entry, SELECTABLE_STATUSES):
            if breaker.is_open(instance, version):  # unusable until its circuit closes
                continue
            found = _load(instance)
            if found is not None:
                break
    _resolved.set(key, version, found)
    return found


def _site_key(site: Site | None, request: HttpRequest | None, version: str | None) -> int | None:
    """The pk of the site a resolution is for (memoised per host and port for requests)."""
    if site is not None:
        return int(site.pk)
    assert request is not None
    try:
        host_key: tuple[str, str] | None = (request.get_host(), str(request.get_port()))
    except Exception:  # a disallowed host: Wagtail's own lookup decides
        host_key = None
    if host_key is not None:
        found = _sites_by_host.get(host_key, version)
        if found is not cache.MISS:
            return found
    from wagtail.models import Site as SiteModel

    matched = SiteModel.find_for_request(request)
    site_pk = int(matched.pk) if matched is not None else None
    if host_key is not None:
        _sites_by_host.set(host_key, version, site_pk)
    return site_pk


def _site_choice(
    entry: RegisteredType, *, site: Site | None, request: HttpRequest | None
) -> BasePluginItem | None:
    choices = site_choices(site=site, request=request)
    if not choices:
        return None
    for name in entry.names:
        instance = choices.get(name)
        if instance is None:
            continue
        if (
            instance.status == PluginStatus.DISABLED
            or not instance.live
            or not _code_present(entry, instance)
        ):
            return None
        if breaker.is_open(instance):
            return None
        return _load(instance)
    return None


def _custom_selection(entry: RegisteredType) -> BasePluginItem | None:
    assert entry.get_plugin is not None
    type_row = PluginType.objects.filter(name__in=entry.names).first()
    if type_row is None:
        logger.warning(
            "Plugin type %r has no database row yet; run 'manage.py pluginsync'.", entry.name
        )
        return None
    chosen = entry.get_plugin(type_row)
    if chosen is None:
        return None
    if not isinstance(chosen, PluginInstance):
        raise PluginSelectionError(
            f"get_plugin for plugin type {entry.name!r} returned {type(chosen).__name__}; it "
            f"must return a PluginInstance or None."
        )
    if chosen.item.plugin_type.name not in entry.names:
        raise PluginSelectionError(
            f"get_plugin for plugin type {entry.name!r} returned instance {chosen.pk}, which "
            f"belongs to plugin type {chosen.item.plugin_type.name!r}. Filter its query by "
            f"item__plugin_type."
        )
    return _load(chosen)


def get_plugin_instance_by_id(
    plugin_type: TypeRef,
    instance_id: object = None,
    prevent_disabled: bool = False,
    *,
    plugin_id: object = None,
) -> BasePluginItem | None:
    """Load one instance by its id, or return ``None``.

    ``None`` comes back for a malformed or unknown id, an instance of another
    type, an instance that is not live (a draft never published, or expired),
    an instance whose code is missing or whose configuration cannot be
    decrypted, and (when ``prevent_disabled`` is true) a disabled instance.
    ``plugin_id=`` is accepted as another spelling of ``instance_id``.
    """
    if plugin_id is not None:
        if instance_id is not None:
            raise TypeError("Pass either instance_id or plugin_id, not both.")
        instance_id = plugin_id
    entry = registry.get_type_entry(plugin_type)
    pk = parse_id(instance_id)
    if pk is None:
        return None
    version = cache.current_version()
    key = (entry.name, pk)
    found = _by_id.get(key, version)
    if found is cache.MISS:
        instance = _instances(entry).by_outside_id(pk)
        if instance is None:
            return None  # unknown ids are not memoised: each could take an entry
        # Not live (a draft never published, or expired): as if it did not exist.
        found = (instance.status, _load(instance) if instance.live else None)
        _by_id.set(key, version, found)
    status, item = found
    if prevent_disabled and status == PluginStatus.DISABLED:
        return None
    return item


Candidate = tuple[PluginInstance, BasePluginItem | None, PluginUnavailableError | None]


class _Candidates:
    """A type's failover candidates, read and loaded one at a time, as failover reaches them.

    Rows are read in small batches and each is loaded (its configuration
    decrypted) only when the candidates before it failed; what was loaded is
    kept, so the memoised object serves later calls without loading again.
    Safe to share between threads.
    """

    def __init__(self, entry: RegisteredType) -> None:
        self._rows = _iter_selectable(entry, SELECTABLE_STATUSES)
        self._loaded: list[Candidate] = []
        self._exhausted = False
        self._lock = threading.Lock()

    def _get(self, index: int) -> Candidate | None:
        with self._lock:
            while len(self._loaded) <= index and not self._exhausted:
                instance = next(self._rows, None)
                if instance is None:
                    self._exhausted = True
                    break
                try:
                    self._loaded.append((instance, instance.load_instance(), None))
                except PluginUnavailableError as exc:
                    self._loaded.append((instance, None, exc))
            return self._loaded[index] if index < len(self._loaded) else None

    def __iter__(self) -> Iterator[Candidate]:
        index = 0
        while True:
            loaded = self._loaded  # only appended to: what is there stays, no lock to read it
            candidate = loaded[index] if index < len(loaded) else self._get(index)
            if candidate is None:
                return
            yield candidate
            index += 1

    def __bool__(self) -> bool:
        return self._get(0) is not None


#: Failover candidates by type name.
_candidates: cache.Memo[str, _Candidates] = cache.Memo("candidates")


def _failover_candidates(entry: RegisteredType, version: str | None) -> _Candidates:
    """Active then reserved instances, each loaded when reached (or with its load error)."""
    found = _candidates.get(entry.name, version)
    if found is not cache.MISS:
        return found
    candidates = _Candidates(entry)
    _candidates.set(entry.name, version, candidates)
    return candidates


@sensitive_variables()
def call_with_failover(plugin_type: TypeRef, method: str, /, *args: Any, **kwargs: Any) -> Any:
    """Call ``method`` on each candidate instance until one succeeds; return its result.

    Candidates are the active, then the reserved instances, in selection
    order. An instance that cannot be loaded (its code is missing or its
    configuration cannot be decrypted) is always skipped. An exception listed
    in the type's ``failover_exceptions`` (default:
    any :class:`Exception`) moves on to the next candidate and is logged
    (type and message, with the instance's configuration values blanked out);
    any other exception propagates at once. When a candidate succeeds after
    others failed or could not be loaded, that is logged too (at ``INFO``,
    naming the instance that served). When every candidate fails,
    :class:`~wagtail_plugin_system.core.exceptions.PluginFailoverError` (an
    :class:`ExceptionGroup`) holds each error, as a copy that is safe to log
    (of a subclass of the error's class, with configuration values blanked
    out); when there is no candidate at
    all, :class:`~wagtail_plugin_system.core.exceptions.PluginUnavailableError` is
    raised.

    Each instance has a circuit breaker (:mod:`.breaker`): an instance whose
    circuit is open is skipped without a call, and when every candidate that
    could serve is open,
    :class:`~wagtail_plugin_system.core.exceptions.CircuitOpenError` (a
    ``PluginUnavailableError``) says so at once. Each call is observed
    (:mod:`.traffic`): statistics, failover events, the ``failed_over`` signal.
    """
    entry = registry.get_type_entry(plugin_type)
    type_class = entry.type_class
    if not callable(getattr(type_class, method, None)) or method.startswith("_"):
        raise AttributeError(
            f"Plugin type {entry.name!r} ({type_class.__qualname__}) has no public method "
            f"{method!r}; call_with_failover() can only call the type's methods."
        )
    version = cache.current_version()  # read once: the breaker's state is kept under it too
    candidates = _failover_candidates(entry, version)
    if not candidates:
        raise PluginUnavailableError(
            f"No active or reserved instance of plugin type {entry.name!r} is available. "
            f"Create one in the admin (Plugins > Instances) or activate an existing one."
        )
    # Failed calls' errors with their configuration; made safe to carry only when raised.
    errors: list[tuple[Exception, Mapping[str, Any] | None]] = []
    tried: list[int] = []  # the instances of ``errors``, in order
    failed: list[tuple[PluginInstance, str]] = []
    open_until: dict[int, float] = {}
    tracer = traffic.tracer()  # once per call, not per candidate
    for instance, item, load_error in candidates:
        if item is None:
            # Unloadable (code missing, config undecryptable): always try the next one.
            assert load_error is not None
            errors.append((load_error, None))  # safe already
            tried.append(instance.pk)
            logger.error(
                "Skipping plugin instance %s (%r): %s", instance.pk, instance.name, load_error
            )
            continue
        admission = breaker.admit(instance, version)
        if admission is None:  # its circuit is open: skipped without a call
            open_until[instance.pk] = breaker.circuit_of(instance, version).probe_at or 0.0
            continue
        with traffic.observed(entry, instance, method, admission, version, tracer) as call:
            try:
                result = getattr(item, method)(*args, **kwargs)
            except type_class.failover_exceptions as exc:
                if not isinstance(exc, Exception):
                    raise
                # The safe copy the group carries is made only if it is raised.
                config = item.config
                errors.append((exc, config))
                tried.append(pk := instance.id)
                reason = describe_exception(exc, config)  # values blanked out
                call.failed(reason)
                failed.append((instance, reason))
                logger.warning(
                    "Plugin instance %s (%r) of type %r failed in %s(): %s",
                    pk,
                    instance.name,
                    entry.name,
                    method,
                    reason,
                )
                continue
        # The errors' tracebacks hold this frame, which holds them: drop them now rather
        # than leave a reference cycle per failed call for the garbage collector.
        errors.clear()
        if failed:
            traffic.failed_over_event(entry, method, failed, instance)
        if tried and logger.isEnabledFor(logging.INFO):
            logger.info(
                "Plugin instance %s (%r) of type %r served %s() after %d other candidate(s) "
                "could not.",
                instance.pk,
                instance.name,
                entry.name,
                method,
                len(tried),
            )
        return result
    safe_errors = [
        error if config is None else safe_exception(error, config) for error, config in errors
    ]
    if failed:
        traffic.failed_over_event(entry, method, failed, None)
    if open_until and not failed:
        raise _all_open(entry, open_until, safe_errors)
    raise PluginFailoverError(
        f"All {len(errors)} instances of plugin type {entry.name!r} failed in {method}()",
        safe_errors,
        type_name=entry.name,
        method=method,
        instance_ids=tried,
    )


def _all_open(
    entry: RegisteredType, open_until: dict[int, float], errors: list[Exception]
) -> CircuitOpenError:
    """The error when no candidate was called: their circuits are open (or they cannot load)."""
    probes = ", ".join(
        f"{pk} (probed after {time.strftime('%H:%M:%S', time.gmtime(until))} UTC)"
        for pk, until in open_until.items()
    )
    error = CircuitOpenError(
        f"Every instance of plugin type {entry.name!r} that could serve has an open circuit: "
        f"instance(s) {probes}. They were not called; see Plugins > Instances, where a circuit "
        f"can be reset.",
        open_until,
    )
    for unloadable in errors:
        error.add_note(f"Also skipped: {unloadable}")
    return error
