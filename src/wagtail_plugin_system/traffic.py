"""Eyes on every call through ``call_with_failover()``: statistics, failover events, spans.

Each call to an instance is observed (:func:`observed`): its outcome goes to
the instance's circuit breaker (:mod:`.breaker`) and to per-minute statistics
(calls, failures with the last reason, a latency histogram). Statistics are
gathered in the process and written when their minute is over, all of a
process's finished minutes in one ``INSERT``: at most one row per instance,
minute and process. :func:`flush` writes what is pending (at exit, and in
tests). Rows older than ``CALL_STATS_RETENTION_DAYS`` are deleted, at most once
an hour per process.

A call that failed over is recorded as :class:`~.models.PluginFailoverEvent`
rows and sent as the :data:`~.core.signals.failed_over` signal (on every
call). The first such failure of a minute is written at once; its repeats in
the same process and minute (the same type, method, failed and serving
instance, and error class) are counted in the process and added to that row
with the statistics, so a provider outage costs each call no write.

With ``opentelemetry-api`` installed, each call is a span named
``plugin <type>.<method>`` with the attributes ``plugin.type``,
``plugin.item``, ``plugin.instance.id`` and, on failure, ``error.type`` (the
exception's class name). A span never carries a configuration value.

Nothing here ever fails a call: an error while writing is logged and dropped.
"""

from __future__ import annotations

import atexit
import bisect
import contextlib
import datetime
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from . import breaker
from .core.redact import storable
from .core.registry import RegisteredType
from .core.settings import get_setting
from .core.signals import failed_over
from .models import LATENCY_BOUNDS_MS, PluginCallStats, PluginFailoverEvent, PluginInstance

__all__ = [
    "discard",
    "failed_over_event",
    "flush",
    "observed",
    "percentile",
    "summary",
    "tracer",
]

logger = logging.getLogger(__name__)

try:  # the optional extra "otel"
    from opentelemetry import trace as _otel_trace
except ImportError:  # pragma: no cover - depends on the environment
    _otel_trace = None  # type: ignore[assignment]

REASON_LENGTH = 500


@dataclass
class _Bucket:
    calls: int = 0
    failures: int = 0
    latency_total_ms: float = 0.0
    histogram: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BOUNDS_MS) + 1))
    last_failure: str = ""


_buckets: dict[tuple[int, int], _Bucket] = {}
_lock = threading.Lock()


@dataclass
class _Repeats:
    """Repeats of a failover event written this minute, not added to its row yet."""

    pk: int
    at: datetime.datetime  # with the id: a rolled-back id reused by SQLite is not this row
    minute: int
    count: int = 0
    last_at: float = 0.0


#: (type, method, failed id, served id, error class) -> the event row written this minute.
_events: dict[tuple[str, str, int, int | None, str], _Repeats] = {}
_last_purge = [0.0]


def _isolated() -> contextlib.AbstractContextManager[Any]:
    """A savepoint when the caller is inside a transaction, so a write that fails here (a
    table not migrated yet during a rolling deploy) cannot abort the caller's transaction."""
    if transaction.get_connection().in_atomic_block:
        return transaction.atomic()
    return contextlib.nullcontext()


#: The minute of the last call recorded: when it changes, the minutes before are written.
_minute = [0]


def _record(instance_pk: int, seconds: float, failure: str | None) -> None:
    """Count a call; ``failure``: its redacted, storable description (or error class)."""
    minute = int(breaker.clock.now() // 60)
    latency_ms = seconds * 1000
    key = (instance_pk, minute)
    with _lock:
        bucket = _buckets.get(key)
        if bucket is None:
            bucket = _buckets[key] = _Bucket()
        bucket.calls += 1
        bucket.latency_total_ms += latency_ms
        bucket.histogram[bisect.bisect_left(LATENCY_BOUNDS_MS, latency_ms)] += 1
        if failure is not None:
            bucket.failures += 1
            bucket.last_failure = failure[:REASON_LENGTH]
        finished = minute != _minute[0]
        _minute[0] = minute
    if finished:
        flush(before=minute)


def flush(before: int | None = None) -> int:
    """Write the statistics gathered in this process; return how many rows were written.

    ``before`` (minutes since the epoch) writes only the minutes before it;
    ``None`` writes everything, the current minute included.
    """
    with _lock:
        keys = [key for key in _buckets if before is None or key[1] < before]
        taken = [(key, _buckets.pop(key)) for key in keys]
        ended = [key for key, event in _events.items() if before is None or event.minute < before]
        repeats = [event for event in map(_events.pop, ended) if event.count]
    if repeats:
        _add_repeats(repeats)
    if not taken:
        return 0
    rows = [
        PluginCallStats(
            instance_id=pk,
            minute=datetime.datetime.fromtimestamp(minute * 60, tz=datetime.UTC),
            calls=bucket.calls,
            failures=bucket.failures,
            latency_total_ms=bucket.latency_total_ms,
            latency_histogram=bucket.histogram,
            last_failure=bucket.last_failure,
        )
        for (pk, minute), bucket in taken
    ]
    try:
        with _isolated():
            existing = set(
                PluginInstance.objects.filter(pk__in={row.instance_id for row in rows}).values_list(
                    "pk", flat=True
                )
            )
            PluginCallStats.objects.bulk_create(
                [row for row in rows if row.instance_id in existing]
            )
            _purge()
    except Exception as exc:
        logger.warning(
            "Call statistics of %d instance-minute(s) could not be written: %s",
            len(rows),
            type(exc).__name__,
        )
        return 0
    return len(rows)


def _add_repeats(repeats: list[_Repeats]) -> None:
    """Add counted repeats to their event rows (one ``UPDATE`` per row)."""
    try:
        with _isolated():
            for event in repeats:
                PluginFailoverEvent.objects.filter(pk=event.pk, at=event.at).update(
                    count=F("count") + event.count,
                    last_at=datetime.datetime.fromtimestamp(event.last_at, tz=datetime.UTC),
                )
    except Exception as exc:
        logger.warning(
            "Repeats of %d failover event(s) could not be written: %s",
            len(repeats),
            type(exc).__name__,
        )


def discard() -> None:
    """Drop what this process gathered and has not written yet (tests start afresh)."""
    with _lock:
        _buckets.clear()
        _events.clear()


def _purge() -> None:
    if time.monotonic() - _last_purge[0] < 3600 and _last_purge[0]:
        return
    _last_purge[0] = time.monotonic()
    cutoff = timezone.now() - datetime.timedelta(days=get_setting("CALL_STATS_RETENTION_DAYS"))
    PluginCallStats.objects.filter(minute__lt=cutoff).delete()
    PluginFailoverEvent.objects.filter(at__lt=cutoff).delete()


atexit.register(flush)


class observed:
    """Observe one call: breaker outcome, statistics, span.

    The block marks a failover failure with :meth:`failed`; an exception
    leaving the block is a programming error: it is recorded in the statistics
    (its class name only) but does not count against the circuit. A class, not
    a generator: this runs on every call. ``tracer``: what :func:`tracer` gave
    (read once per ``call_with_failover()``); ``None``: no span.
    """

    __slots__ = (
        "admission",
        "entry",
        "failure",
        "instance",
        "span",
        "span_context",
        "started",
        "version",
    )

    def __init__(
        self,
        entry: RegisteredType,
        instance: PluginInstance,
        method: str,
        admission: breaker.Admission,
        version: Any = None,
        tracer: Any = None,
    ) -> None:
        self.entry = entry
        self.version = version  # the token the call was admitted under, if known
        self.instance = instance
        self.admission = admission
        self.failure: str | None = None
        self.span_context: Any = None
        if tracer is not None:
            self.span_context = tracer.start_as_current_span(
                f"plugin {entry.name}.{method}",
                attributes={
                    "plugin.type": entry.name,
                    "plugin.item": instance.item.name,
                    "plugin.instance.id": int(instance.pk),
                },
                record_exception=False,
                set_status_on_exception=False,
            )
        self.span: Any = None
        self.started = 0.0

    def __enter__(self) -> observed:
        if self.span_context is not None:
            self.span = self.span_context.__enter__()
        self.started = time.perf_counter()
        return self

    def failed(self, reason: str) -> None:
        """The call raised one of the type's failover exceptions (``reason`` is redacted)."""
        self.failure = reason

    def __exit__(self, kind: Any, error: BaseException | None, traceback: Any) -> None:
        seconds = time.perf_counter() - self.started
        instance, admission, failure = self.instance, self.admission, self.failure
        outcome: str | None = None
        if error is not None:
            outcome = storable(type(error).__name__)
        elif failure is not None:
            outcome = failure
            breaker.record_failure(instance, admission, self.version)
        elif (slow := self.entry.type_class.breaker_slow_call) is not None and seconds > slow:
            breaker.record_failure(instance, admission, self.version)
        else:
            breaker.record_success(instance, admission)
        _record(instance.id, seconds, outcome)  # ``id``, not ``pk``: no property on this path
        if self.span is not None:
            if error is not None or failure is not None:
                name = type(error).__name__ if error is not None else _error_type(failure)
                self.span.set_attribute("error.type", name)
                self.span.set_status(_otel_trace.Status(_otel_trace.StatusCode.ERROR))
            self.span_context.__exit__(None, None, None)


_tracers: dict[int, Any] = {}


def tracer() -> Any:
    """The package's tracer, or ``None`` when no tracer provider is configured (no span)."""
    if _otel_trace is None:
        return None
    provider = _otel_trace.get_tracer_provider()
    if isinstance(provider, _otel_trace.ProxyTracerProvider):
        return None  # the API alone, without an SDK: spans would go nowhere
    tracer = _tracers.get(id(provider))
    if tracer is None:
        _tracers.clear()
        tracer = _tracers[id(provider)] = provider.get_tracer("wagtail_plugin_system")
    return tracer


def _error_type(reason: str | None) -> str:
    """The class name at the head of a redacted description (``Name: message``)."""
    return (reason or "").partition(":")[0] or "Exception"


def failed_over_event(
    entry: RegisteredType,
    method: str,
    failed: list[tuple[PluginInstance, str]],
    served: PluginInstance | None,
) -> None:
    """Record and announce a call in which instances failed (and ``served`` answered).

    A failure already written this minute (same type, method, instances and error
    class) is only counted; the count is added to its row with the statistics.
    """
    now = breaker.clock.now()
    minute = int(now // 60)
    served_id = served.id if served is not None else None
    name = entry.name
    new: list[tuple[tuple[str, str, int, int | None, str], PluginFailoverEvent]] = []
    with _lock:
        for instance, reason in failed:
            key = (name, method, instance.id, served_id, _error_type(reason))
            written = _events.get(key)
            if written is not None and written.minute == minute:
                written.count += 1
                written.last_at = now
                continue
            event = PluginFailoverEvent(
                at=datetime.datetime.fromtimestamp(now, tz=datetime.UTC),
                plugin_type=entry.name,
                method=method[:255],
                failed_id=instance.pk,
                failed_name=instance.name[:255],
                served_id=served_id,
                served_name=served.name[:255] if served is not None else "",
                reason=storable(reason)[:REASON_LENGTH],
            )
            new.append((key, event))
    if new:
        _write_events(new, minute)
    for _receiver, response in failed_over.send_robust(
        sender=entry.type_class, method=method, failed=failed, served=served
    ):
        if isinstance(response, Exception):
            logger.error("A receiver of failed_over failed: %s", type(response).__name__)


def _write_events(
    new: list[tuple[tuple[str, str, int, int | None, str], PluginFailoverEvent]], minute: int
) -> None:
    """Insert the first events of their minute; remember their rows to count repeats."""
    try:
        with _isolated():
            PluginFailoverEvent.objects.bulk_create([event for _key, event in new])
    except Exception as exc:
        logger.warning("A failover event could not be written: %s", type(exc).__name__)
        return

    def remember() -> None:
        stale = []
        with _lock:
            for key, event in new:
                if event.pk is None:  # a database that returns no id: every repeat is a row
                    continue
                previous = _events.get(key)
                if previous is not None and previous.count:
                    stale.append(previous)  # its minute ended between two reads of the clock
                _events[key] = _Repeats(event.pk, event.at, minute)
        if stale:
            _add_repeats(stale)

    # Counted against only once committed: a rolled-back row takes no repeats.
    transaction.on_commit(remember)


# -- reading, for the admin -------------------------------------------------------------------


def percentile(histogram: list[int], fraction: float) -> float | None:
    """The upper bound (ms) of the histogram bucket holding the ``fraction`` quantile."""
    total = sum(histogram)
    if not total:
        return None
    needed = fraction * total
    seen = 0
    for index, count in enumerate(histogram):
        seen += count
        if seen >= needed:
            if index < len(LATENCY_BOUNDS_MS):
                return float(LATENCY_BOUNDS_MS[index])
            return float(LATENCY_BOUNDS_MS[-1]) * 2
    return None


@dataclass
class Slot:
    """Calls to an instance during one slot of :func:`summary`."""

    start: datetime.datetime
    calls: int = 0
    failures: int = 0
    histogram: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BOUNDS_MS) + 1))

    @property
    def p95_ms(self) -> float | None:
        return percentile(self.histogram, 0.95)


def summary(instance: PluginInstance, *, hours: int = 24, slot_minutes: int = 60) -> list[Slot]:
    """The instance's calls over the last ``hours``, in slots of ``slot_minutes`` (oldest first)."""
    now = timezone.now().replace(second=0, microsecond=0)
    slot = datetime.timedelta(minutes=slot_minutes)
    count = hours * 60 // slot_minutes
    start = now - slot * (count - 1)
    start = start.replace(minute=start.minute - start.minute % slot_minutes)
    slots = [Slot(start + slot * index) for index in range(count)]
    rows = PluginCallStats.objects.filter(instance=instance, minute__gte=start).values_list(
        "minute", "calls", "failures", "latency_histogram"
    )
    for minute, calls, failures, histogram in rows:
        index = int((minute - start) / slot)
        if not 0 <= index < count:
            continue
        target = slots[index]
        target.calls += calls
        target.failures += failures
        for position, value in enumerate(histogram[: len(target.histogram)]):
            target.histogram[position] += int(value)
    return slots
