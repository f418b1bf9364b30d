"""Health checks: run an instance's :meth:`~wagtail_plugin_system.BasePluginItem.check`.

Every result is kept as a :class:`~wagtail_plugin_system.models.PluginCheckResult`
(its status, how long it took, its message, and who or what ran it) for
``CHECK_HISTORY_DAYS`` days, and repeated on the instance's ``last_check_*``
fields. The message is stored in English and shown in the editor's language
through :func:`check_message_display`. Messages never contain configuration
values: anything the provider's error repeats from the configuration is blanked
out.

A check runs in a thread of its own and is given ``CHECK_TIMEOUT`` seconds:
one that takes longer is recorded as timed out and the caller moves on (a
check that hangs keeps at most one thread per instance busy; the next check of
that instance is recorded as timed out until it finishes).

:func:`check_instance` is what the admin, ``pluginhealth`` and the task call:
it allows one check per instance per ``CHECK_MIN_INTERVAL`` seconds across all
processes (the reservation lives in the circuit breaker's shared store), and a
scheduled check feeds the circuit breaker: a failure opens the circuit, a pass
after the cooldown closes it.
Nor do messages contain what a database cannot store or a page cannot encode:
a NUL character (PostgreSQL refuses it in text) and a lone surrogate (not
UTF-8) each become U+FFFD.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connections
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.debug import sensitive_variables

from . import breaker
from .audit import CHECK_LOG_ACTION
from .core.exceptions import ConfigDecryptionError, ConfigFormatError, PluginUnavailableError
from .core.redact import describe_exception, storable
from .core.settings import non_negative_number
from .fields import key_setting_problem
from .models import (
    SELECTABLE_STATUSES,
    CheckSource,
    CheckStatus,
    PluginCheckResult,
    PluginInstance,
)

if TYPE_CHECKING:
    from .core.contracts import BasePluginItem

__all__ = [
    "HealthResult",
    "Throttled",
    "check_instance",
    "check_instances",
    "check_message_detail",
    "check_message_display",
    "checkable_instances",
    "last_result",
    "outcome_summary",
    "run_health_check",
    "stale_after",
    "storable_message",
    "unavailable_message",
]

logger = logging.getLogger(__name__)

_MAX_MESSAGE = 500

TIMED_OUT_MESSAGE = gettext_noop(
    "The check did not finish in time: the provider may be hanging or unreachable."
)
STILL_RUNNING_MESSAGE = gettext_noop(
    "The previous check of this instance has not finished yet: the provider may be hanging "
    "or unreachable."
)


def storable_message(text: str) -> str:
    """``text`` with each NUL and lone surrogate replaced by U+FFFD, cut to 500 characters."""
    return storable(text)[:_MAX_MESSAGE]


@dataclass(frozen=True)
class HealthResult:
    """The outcome of one health check."""

    ok: bool
    message: str
    checked_at: dt.datetime
    status: str = CheckStatus.PASSED
    duration_ms: float = 0.0


@dataclass(frozen=True)
class Throttled:
    """A check that was not run: the instance was checked less than ``CHECK_MIN_INTERVAL`` ago."""

    #: When the next check is allowed.
    next_at: dt.datetime
    #: The last result, as stored on the instance (``None``: it has none).
    last: HealthResult | None

    @property
    def wait_seconds(self) -> int:
        # The breaker's clock, which reserved the check and so set ``next_at``.
        return max(1, round(self.next_at.timestamp() - breaker.clock.now()))


# -- running one check ------------------------------------------------------------------


def run_health_check(
    instance: PluginInstance, *, user: Any = None, source: str = CheckSource.EDITOR
) -> HealthResult:
    """Run the check of ``instance`` now, record the result and return it.

    No limit applies here (see :func:`check_instance`). A check run by anything
    but an editor (``source``) feeds the instance's circuit breaker.
    """
    previous_ok = instance.last_check_ok
    started = time.perf_counter()
    status, message = _outcome(instance, _timeout())
    duration_ms = (time.perf_counter() - started) * 1000
    message = storable_message(message)
    ok = status == CheckStatus.PASSED
    result = HealthResult(
        ok=ok,
        message=message,
        checked_at=timezone.now(),
        status=status,
        duration_ms=round(duration_ms, 1),
    )
    _record(instance, result, user=user, source=source, previous_ok=previous_ok)
    if not ok:
        logger.warning(
            "Health check of plugin instance %s (%r) %s: %s",
            instance.pk,
            instance.name,
            "timed out" if status == CheckStatus.TIMED_OUT else "failed",
            message,
        )
    if source != CheckSource.EDITOR:
        _feed_breaker(instance, result)
    return result


def _timeout() -> float:
    return non_negative_number("CHECK_TIMEOUT", "seconds a check may take; 0: no limit")


def _record(
    instance: PluginInstance,
    result: HealthResult,
    *,
    user: Any,
    source: str,
    previous_ok: bool | None,
) -> None:
    from wagtail.log_actions import log

    user_id = getattr(user, "pk", None) if getattr(user, "is_authenticated", False) else None
    PluginCheckResult.objects.create(
        instance_id=instance.pk,
        checked_at=result.checked_at,
        status=result.status,
        duration_ms=result.duration_ms,
        message=result.message,
        source=source,
        user_id=user_id,
    )
    # update(), not save(): a check is not an edit, so updated_at stays as it is.
    type(instance).objects.filter(pk=instance.pk).update(
        last_check_at=result.checked_at,
        last_check_ok=result.ok,
        last_check_message=result.message,
    )
    instance.last_check_at = result.checked_at
    instance.last_check_ok = result.ok
    instance.last_check_message = result.message
    # An editor's test always goes into the instance's history; a scheduled one only
    # when the outcome changes, so that checks every few minutes do not bury edits.
    if source == CheckSource.EDITOR or previous_ok is not result.ok:
        log(instance, CHECK_LOG_ACTION, user=user, data={"ok": result.ok})
    _purge()


_last_purge = [0.0]


def _purge() -> None:
    """Delete results older than ``CHECK_HISTORY_DAYS``, at most once an hour per process."""
    if _last_purge[0] and time.monotonic() - _last_purge[0] < 3600:
        return
    _last_purge[0] = time.monotonic()
    days = non_negative_number("CHECK_HISTORY_DAYS", "days that check results are kept")
    cutoff = timezone.now() - dt.timedelta(days=days)
    PluginCheckResult.objects.filter(checked_at__lt=cutoff).delete()


def _feed_breaker(instance: PluginInstance, result: HealthResult) -> None:
    """A failed scheduled check opens the circuit; a pass after its cooldown closes it."""
    if result.status == CheckStatus.UNAVAILABLE:
        return  # selection already leaves it out
    admission = breaker.admit(instance)
    if result.ok:
        if admission == breaker.PROBE:
            breaker.record_success(instance, admission)
    elif admission == breaker.PROBE:
        breaker.record_failure(instance, admission)
    elif admission == breaker.CALL:
        breaker.trip(instance, result.message)


# -- the check itself, with its timeout -------------------------------------------------

#: Instance pk -> the thread of a check that timed out and has not finished.
_hung: dict[int, threading.Thread] = {}
_hung_lock = threading.Lock()


@sensitive_variables()
def _outcome(instance: PluginInstance, timeout: float) -> tuple[str, str]:
    try:
        item = instance.load_instance()
    except PluginUnavailableError as exc:
        logger.info("Plugin instance %s cannot be loaded for its check: %s", instance.pk, exc)
        return CheckStatus.UNAVAILABLE, unavailable_message(instance, exc)
    state, outcome, error = _call_check(instance.pk, item, timeout)
    if state == _BUSY:
        return CheckStatus.TIMED_OUT, STILL_RUNNING_MESSAGE
    if state == _TIMED_OUT:
        return CheckStatus.TIMED_OUT, TIMED_OUT_MESSAGE
    if error is not None:
        # Even an error whose str() raises gives a message, never a server error.
        return CheckStatus.FAILED, describe_exception(error, item.config)
    if outcome is False:
        return CheckStatus.FAILED, gettext_noop("The check reported a failure.")
    if not item.has_health_check():
        return CheckStatus.PASSED, gettext_noop(
            "The instance loads; its implementation defines no further check."
        )
    return CheckStatus.PASSED, gettext_noop("The check passed.")


_DONE, _TIMED_OUT, _BUSY = "done", "timed out", "busy"


def _call_check(
    pk: int, item: BasePluginItem, timeout: float
) -> tuple[str, Any, BaseException | None]:
    """``(state, returned value, raised exception)`` of ``item.check()`` within ``timeout``.

    The state is ``_DONE``, ``_TIMED_OUT``, or ``_BUSY`` when an earlier check of
    the instance that timed out is still running (it is not started again).
    """
    if not timeout:
        try:
            return _DONE, item.check(), None
        except Exception as exc:
            return _DONE, None, exc
    with _hung_lock:
        running = _hung.get(pk)
        if running is not None and running.is_alive():
            return _BUSY, None, None
        _hung.pop(pk, None)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["outcome"] = item.check()
        except BaseException as exc:  # reported by the caller, never raised in the thread
            box["error"] = exc
        finally:
            connections.close_all()  # this thread's connections only

    thread = threading.Thread(target=target, name=f"plugin-check-{pk}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        with _hung_lock:
            _hung[pk] = thread
        return _TIMED_OUT, None, None
    return _DONE, box.get("outcome"), box.get("error")


# -- limits and batches -------------------------------------------------------------------


def check_instance(
    instance: PluginInstance, *, user: Any = None, source: str = CheckSource.EDITOR
) -> HealthResult | Throttled:
    """Check ``instance`` unless it was checked less than ``CHECK_MIN_INTERVAL`` seconds ago.

    The interval holds across all processes; a check that is not run returns
    :class:`Throttled` with the last result and when the next check is allowed.
    """
    interval = non_negative_number(
        "CHECK_MIN_INTERVAL", "seconds between two checks of one instance; 0: no limit"
    )
    blocked_until = breaker.reserve_check(instance, interval)
    if blocked_until is not None:
        return Throttled(
            next_at=dt.datetime.fromtimestamp(blocked_until, tz=dt.UTC),
            last=last_result(instance),
        )
    return run_health_check(instance, user=user, source=source)


def last_result(instance: PluginInstance) -> HealthResult | None:
    """The newest recorded result of ``instance`` (one query), or ``None``."""
    row = PluginCheckResult.objects.filter(instance_id=instance.pk).first()
    if row is None:
        return None
    return HealthResult(
        ok=row.ok,
        message=row.message,
        checked_at=row.checked_at,
        status=row.status,
        duration_ms=row.duration_ms,
    )


def checkable_instances(
    *, plugin_type: str | None = None, instance_ids: Iterable[int] | None = None
) -> list[PluginInstance]:
    """What scheduled checks run: active and reserved instances (or these ids, any status)."""
    rows = PluginInstance.objects.select_related("item__plugin_type")
    if instance_ids is not None:
        rows = rows.filter(pk__in=list(instance_ids))
    else:
        rows = rows.filter(status__in=SELECTABLE_STATUSES)
    if plugin_type is not None:
        rows = rows.filter(item__plugin_type__name=plugin_type)
    return list(rows.order_by("item__plugin_type__name", "priority", "name", "pk"))


def check_instances(
    instances: Iterable[PluginInstance], *, source: str
) -> list[tuple[PluginInstance, HealthResult | Throttled]]:
    """Check each instance in turn (each one within its timeout and its interval)."""
    return [(instance, check_instance(instance, source=source)) for instance in instances]


# -- what editors read ----------------------------------------------------------------------


def check_message_display(message: str) -> str:
    """What editors read for a stored check message, in the active language.

    Every place that shows a check result (listing, panel, inspect view, flash
    message, Test page) goes through here. Our own sentences are stored in
    English as msgids, so they translate when shown. A provider's error is
    stored as ``"ClassName: message"`` (see
    :func:`~wagtail_plugin_system.core.redact.describe_exception`); editors get
    the message alone, and the class stays in the log and in
    :func:`check_message_detail`.
    """
    if not message:
        return message
    error = _error_parts(message)
    if error is None:
        return _(message)
    return error[1] or _("The check raised an error without a message.")


def check_message_detail(message: str) -> str:
    """The stored message with its exception class, for technical readers; else ``""``."""
    return message if _error_parts(message) is not None else ""


# "ClassName: message" or "ClassName" alone, as describe_exception() writes them; none of
# our own sentences starts with a bare identifier followed by a colon or stands alone.
_ERROR = re.compile(r"([A-Za-z_][\w.]*)(?:: (.*))?", re.DOTALL)


def _error_parts(message: str) -> tuple[str, str] | None:
    match = _ERROR.fullmatch(message)
    if match is None:
        return None
    return match.group(1), (match.group(2) or "").strip()


def unavailable_message(instance: PluginInstance, exc: PluginUnavailableError) -> str:
    """What editors read when ``instance`` cannot be loaded (``exc``, in English, is logged)."""
    if isinstance(exc, ConfigDecryptionError):
        if key_setting_problem() is not None:
            return gettext_noop(
                "The FIELD_ENCRYPTION_KEY setting is missing or malformed, so its configuration "
                "cannot be read. Fix the setting ('manage.py check' says what is wrong)."
            )
        return gettext_noop(
            "Its configuration cannot be decrypted with the configured keys "
            "(FIELD_ENCRYPTION_KEY). Enter the configuration again, or restore the key."
        )
    if instance.get_item_class() is None:
        return gettext_noop(
            "The code of its implementation is not installed or not registered. Install and "
            "register it, or disable the instance."
        )
    if isinstance(exc, ConfigFormatError):
        return gettext_noop(
            "Its stored configuration is damaged. Open it and save its configuration again."
        )
    return gettext_noop(
        "Its implementation failed to load with this configuration (the error, without "
        "configuration values, is in the server log). Fix the implementation, or disable the "
        "instance."
    )


def stale_after() -> dt.timedelta:
    """``CHECK_STALE_AFTER`` as a duration."""
    seconds = non_negative_number("CHECK_STALE_AFTER", "seconds after which a check is stale")
    return dt.timedelta(seconds=seconds)


def outcome_summary(instance: PluginInstance, outcome: HealthResult | Throttled) -> dict[str, Any]:
    """One instance's check as JSON: what ``pluginhealth --format json`` and the task give."""
    summary: dict[str, Any] = {
        "id": instance.pk,
        "name": instance.name,
        "type": instance.item.plugin_type.name,
        "item": instance.item.name,
        "instance_status": instance.status,
    }
    if isinstance(outcome, Throttled):
        last = outcome.last
        summary.update(
            status="skipped",
            next_check_at=outcome.next_at.isoformat(),
            last_status=last.status if last is not None else None,
            message=last.message if last is not None else "",
            checked_at=last.checked_at.isoformat() if last is not None else None,
        )
        return summary
    summary.update(
        status=outcome.status,
        message=outcome.message,
        checked_at=outcome.checked_at.isoformat(),
        duration_ms=outcome.duration_ms,
    )
    return summary
