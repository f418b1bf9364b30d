"""The circuit breaker: an instance that keeps failing is skipped by every process.

Each plugin instance has a circuit, shared by all processes:

``closed``
    Calls go through. Failures (the exceptions in the type's
    ``failover_exceptions``, and calls slower than its ``breaker_slow_call``)
    are counted in a window of ``BREAKER_WINDOW`` seconds that starts at the
    first one; the ``BREAKER_FAILURES``-th opens the circuit.
``open``
    Selection treats the instance as unusable, and
    :func:`~wagtail_plugin_system.call_with_failover` skips it, until
    ``BREAKER_COOLDOWN`` seconds have passed.
``probing``
    The cooldown is over: the first call, in any process, that reserves the
    probe (one atomic operation in the shared store) calls the instance. Success
    closes the circuit, failure opens it for another cooldown. Other calls keep
    skipping it meanwhile.

The state lives where the version token lives (:func:`.version_store.store`):
keys of the shared cache, or :class:`~wagtail_plugin_system.models.PluginCircuit`
rows. Every change of state (opening, reopening, closing) replaces the version
token, so each process reads a circuit's state once per version, when it first
needs it, and keeps it with its memo: while every circuit is closed, a
resolution costs nothing more. A new or restarted process reads the state from
the store, so it sees open circuits at once.

When the store cannot be reached, the breaker steps aside: calls proceed as
if every circuit were closed, and a warning is logged once (again after the
store has answered in between).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.mail import mail_admins
from django.core.signals import setting_changed
from django.utils.translation import gettext as _

from .. import cache, version_store
from ..core.settings import SETTING_NAME, get_setting, non_negative_number
from ..core.signals import circuit_closed, circuit_opened
from ..models import PluginCircuit, PluginInstance
from . import clock
from .cache_store import CacheStore
from .circuit import CALL, CLOSED, KEY_PREFIX, PROBE, Admission, Circuit, Limits
from .database_store import DatabaseStore

__all__ = [
    "CALL",
    "CLOSED",
    "KEY_PREFIX",
    "PROBE",
    "Admission",
    "Circuit",
    "Limits",
    "admit",
    "circuit_of",
    "clock",
    "forget",
    "limits_of",
    "read",
    "read_row",
    "record_failure",
    "record_success",
    "reserve_check",
    "reset",
    "site_limits",
    "trip",
]

logger = logging.getLogger(__name__)

#: Each instance's circuit as this process read it, by instance id, per version token.
_circuits: cache.Memo[int, Circuit] = cache.Memo("circuits")
#: Each instance's overrides of the breaker's settings (failures, window, cooldown).
_overrides: cache.Memo[int, tuple[int | None, int | None, int | None]] = cache.Memo(
    "circuit_overrides"
)


# -- the two stores -------------------------------------------------------------------


def _store() -> CacheStore | DatabaseStore:
    return CacheStore() if version_store.store() == "cache" else DatabaseStore()


# -- failing open -----------------------------------------------------------------------

_T = TypeVar("_T")
_store_down = threading.Event()


def _guarded(action: str, default: _T, operation: Callable[[], _T]) -> _T:
    """``operation()``; when the store fails, ``default``, with one warning per outage."""
    try:
        result = operation()
    except Exception as exc:
        if not _store_down.is_set():
            _store_down.set()
            logger.warning(
                "The circuit breaker's store cannot be reached (%s while trying to %s): "
                "calls proceed as if every circuit were closed until it answers again.",
                type(exc).__name__,
                action,
            )
        return default
    if _store_down.is_set():
        _store_down.clear()
        logger.warning("The circuit breaker's store answers again.")
    return result


# -- settings ----------------------------------------------------------------------------


#: The site's limits, checked once and kept until the settings change (a failed call reads
#: them: checking three settings each time cost more than the rest of the breaker's work).
_site: list[Limits] = []


def site_limits() -> Limits:
    """The site's ``BREAKER_*`` settings, checked."""
    if _site:
        return _site[0]
    failures = non_negative_number("BREAKER_FAILURES", "0 turns the circuit breaker off")
    window = non_negative_number("BREAKER_WINDOW", "seconds within which failures count")
    cooldown = non_negative_number("BREAKER_COOLDOWN", "seconds an open circuit stays open")
    limits = Limits(int(failures), window, cooldown)
    _site[:] = [limits]
    return limits


def _forget_site_limits(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTING_NAME:
        _site.clear()


setting_changed.connect(_forget_site_limits, dispatch_uid="wagtail_plugin_system.breaker")


_NO_OVERRIDES = (None, None, None)


def limits_of(instance: PluginInstance | int, version: Any = None) -> Limits:
    """The breaker's settings for an instance: the site's, with the editor's overrides.

    The overrides are read once per version token (saving them replaces it);
    the site's settings are read each time. ``version``: the token the caller
    read, if it did.
    """
    pk = instance if isinstance(instance, int) else instance.id  # not ``pk``: a property
    if version is None:
        version = cache.current_version()
    found = _overrides.get(pk, version)
    if found is cache.MISS:
        row = (
            PluginCircuit.objects.filter(pk=pk)
            .values_list("failure_threshold", "window_seconds", "cooldown_seconds")
            .first()
        )
        found = row if row is not None else _NO_OVERRIDES
        _overrides.set(pk, version, found)
    row = found
    site = site_limits()
    if row == _NO_OVERRIDES:
        return site
    return Limits(
        site.failures if row[0] is None else row[0],
        site.window if row[1] is None else float(row[1]),
        site.cooldown if row[2] is None else float(row[2]),
    )


# -- reading ----------------------------------------------------------------------------


def read(instance: PluginInstance | int) -> Circuit:
    """The circuit's state, read from the store now (for the admin; not memoised)."""
    pk = instance if isinstance(instance, int) else instance.pk
    return _guarded("read a circuit", CLOSED, lambda: _store().read(pk))


def read_row(instance: PluginInstance) -> Circuit:
    """The circuit's state now; with the database store, as read with the row when it was."""
    joined = _joined(instance)
    return joined if joined is not None else read(instance.pk)


#: The version token is read by the caller (once per call) unless it passes none.
_READ = object()


def circuit_of(instance: PluginInstance, version: Any = _READ) -> Circuit:
    """The circuit's state as this process knows it: read once per version token.

    ``version`` is the token the caller already read (so the breaker reads it
    no second time); by default it is read here.
    """
    if version is _READ:
        version = cache.current_version()
    found = _circuits.get(instance.id, version)  # not ``pk``: a property, on every call
    if found is not cache.MISS:
        return found
    circuit = _joined(instance)
    if circuit is None:
        circuit = read(instance.pk)
    _circuits.set(instance.pk, version, circuit)
    return circuit


def _joined(instance: PluginInstance) -> Circuit | None:
    """With the database store, the state read with the instance's row (no query), if it was."""
    if version_store.store() != "database" or not PluginInstance.circuit.is_cached(instance):
        return None
    try:
        row = instance.circuit
    except PluginCircuit.DoesNotExist:
        return CLOSED
    return Circuit(True, row.opened_at, row.probe_at) if row.is_open else CLOSED


def _learn(instance: PluginInstance, circuit: Circuit) -> None:
    """Keep a state this process learned (until the version token changes)."""
    _circuits.set(instance.pk, cache.current_version(), circuit)


def is_open(instance: PluginInstance, version: Any = _READ) -> bool:
    """Whether selection must treat the instance as unusable (its circuit is not closed).

    An instance whose breaker is off (0 failures) is never treated so.
    """
    if version is _READ:
        version = cache.current_version()
    return circuit_of(instance, version).is_open and limits_of(instance, version).failures > 0


# -- the call loop's hooks ------------------------------------------------------------------

#: (instance pk, probe time) -> monotonic time until which another process holds the probe.
_probe_taken: dict[tuple[int, float], float] = {}


def forget() -> None:
    """Forget what this process knows of other processes' probes (tests start afresh)."""
    _probe_taken.clear()


def admit(instance: PluginInstance, version: Any = _READ) -> Admission | None:
    """May ``call_with_failover()`` call the instance now? ``None``: skip it.

    A closed circuit answers :data:`CALL` from memory. An open one whose cooldown
    is over tries to reserve the probe in the shared store: the one call that
    gets it answers :data:`PROBE`; every other call (in any process) skips.
    """
    if version is _READ:
        version = cache.current_version()
    circuit = circuit_of(instance, version)
    if not circuit.is_open:
        return CALL
    limits = limits_of(instance, version)
    if limits.failures <= 0:  # the breaker is off: an open circuit is left alone
        return CALL
    assert circuit.probe_at is not None
    now = clock.now()
    if now < circuit.probe_at:
        return None
    taken = (instance.pk, circuit.probe_at)
    if _probe_taken.get(taken, 0.0) > time.monotonic():
        return None

    def reserve() -> bool:
        return _store().reserve_probe(instance.pk, circuit, limits, now)

    # A store that cannot be reached lets the call through (the breaker fails open).
    if _guarded("reserve a probe", True, reserve):
        return PROBE
    if len(_probe_taken) > 1000:
        _probe_taken.clear()
    _probe_taken[taken] = time.monotonic() + limits.cooldown
    return None


def record_success(instance: PluginInstance, admission: Admission) -> None:
    """A call succeeded: a probe closes the circuit; otherwise nothing is written."""
    if admission == PROBE:
        _close(instance)


def record_failure(instance: PluginInstance, admission: Admission, version: Any = None) -> None:
    """A call failed: a probe reopens the circuit; otherwise the failure is counted.

    ``version``: the token the caller read for this call, if it did (saves reading it
    again, a round trip outside requests with a shared cache).
    """
    limits = limits_of(instance, version)
    if admission == PROBE:
        _reopen(instance, limits)
        return
    if limits.failures <= 0:
        return
    now = clock.now()
    store = _store()
    count = _guarded("count a failure", 0, lambda: store.count_failure(instance.pk, limits, now))
    if count < limits.failures:
        return
    if _guarded("open a circuit", False, lambda: store.open(instance.pk, limits, now)):
        until = now + limits.cooldown
        _changed()
        logger.warning(
            "Circuit of plugin instance %s (%r) opened after %d failures; one call will "
            "probe it in %g s.",
            instance.pk,
            instance.name,
            count,
            limits.cooldown,
        )
        _send(circuit_opened, instance, until=until, failures=count)
    else:
        # Another process opened it first: know it now rather than at the next version.
        _learn(instance, read(instance.pk))


def _reopen(instance: PluginInstance, limits: Limits) -> None:
    now = clock.now()
    circuit = circuit_of(instance)

    def reopen() -> None:
        _store().reopen(instance.pk, circuit, limits, now)

    _guarded("reopen a circuit", None, reopen)
    _changed()
    logger.warning(
        "Probe of plugin instance %s (%r) failed; its circuit stays open for %g s.",
        instance.pk,
        instance.name,
        limits.cooldown,
    )
    _send(circuit_opened, instance, until=now + limits.cooldown, failures=0)


def _close(instance: PluginInstance) -> bool:
    if _guarded("close a circuit", False, lambda: _store().close(instance.pk)):
        _changed()
        logger.warning("Circuit of plugin instance %s (%r) closed.", instance.pk, instance.name)
        _send(circuit_closed, instance)
        return True
    return False


def reset(instance: PluginInstance) -> bool:
    """Close the instance's circuit now (the admin's "Reset circuit"); whether it was open."""
    return _close(instance)


def trip(instance: PluginInstance, reason: str) -> bool:
    """Open the instance's circuit now (a scheduled health check failed); whether it opened.

    Nothing happens when the breaker is off for the instance (0 failures) or
    its circuit is already open. ``reason`` (redacted) goes to the log.
    """
    limits = limits_of(instance)
    if limits.failures <= 0:
        return False
    now = clock.now()
    if not _guarded("open a circuit", False, lambda: _store().open_now(instance.pk, limits, now)):
        return False
    _changed()
    logger.warning(
        "Circuit of plugin instance %s (%r) opened by a failed health check (%s); one call "
        "will probe it in %g s.",
        instance.pk,
        instance.name,
        reason,
        limits.cooldown,
    )
    _send(circuit_opened, instance, until=now + limits.cooldown, failures=1)
    return True


def reserve_check(instance: PluginInstance | int, seconds: float) -> float | None:
    """Reserve the instance's next health check for this caller, across all processes.

    ``None``: granted, and no other check is granted for ``seconds``. Otherwise
    the time (seconds since the epoch) from which the next check is allowed. A
    store that cannot be reached grants every check.
    """
    pk = instance if isinstance(instance, int) else instance.pk
    if seconds <= 0:
        return None
    now = clock.now()
    return _guarded(
        "reserve a health check", None, lambda: _store().reserve_check(pk, seconds, now)
    )


def _changed() -> None:
    """Every process must read circuits again: replace the version token."""
    _guarded("replace the version token", None, cache.bump_version)


def _send(signal: Any, instance: PluginInstance, **kwargs: Any) -> None:
    type_class = instance.item.plugin_type.get_type_class()
    for receiver, response in signal.send_robust(sender=type_class, instance=instance, **kwargs):
        if isinstance(response, Exception):
            logger.error(
                "A receiver of %s failed: %s", receiver, type(response).__name__, exc_info=False
            )


# -- the notice to the site's admins -------------------------------------------------------

NOTICE_INTERVAL = 3600


def _notify_admins(sender: Any, instance: PluginInstance, **kwargs: Any) -> None:
    """Mail ``ADMINS`` when a circuit opens (opt-in; once per instance per hour)."""
    if not get_setting("BREAKER_NOTIFY_ADMINS") or not kwargs.get("failures"):
        return
    key = f"{KEY_PREFIX}:{instance.pk}:notice"
    if not version_store.cache_backend().add(key, 1, timeout=NOTICE_INTERVAL):
        return
    until = time.strftime("%H:%M:%S UTC", time.gmtime(kwargs["until"]))
    subject = _("Plugin instance %(name)s is failing") % {"name": instance.name}
    body = _(
        "The circuit of plugin instance %(name)s (id %(id)s) opened after %(failures)s "
        "failures: calls skip it until %(until)s, when one call will probe it."
    ) % {"name": instance.name, "id": instance.pk, "failures": kwargs["failures"], "until": until}
    # Not fail_silently=True: Django 6.1 deprecates it. A notice that cannot be sent must not
    # fail the call that opened the circuit.
    try:
        mail_admins(subject, body)
    except Exception as exc:
        logger.warning(
            "The notice that the circuit of plugin instance %s opened could not be sent: %s",
            instance.pk,
            type(exc).__name__,
        )


circuit_opened.connect(_notify_admins, dispatch_uid="wagtail_plugin_system.breaker.notice")
