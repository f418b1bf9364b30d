"""The circuit breaker's store in the database: every transition is one conditional UPDATE."""

from __future__ import annotations

from typing import Any

from django.db import router, transaction
from django.db.models import Case, F, Q, Value, When

from ..models import PluginCircuit
from .circuit import CLOSED, Circuit, Limits

__all__ = ["DatabaseStore"]


class DatabaseStore:
    """Circuits as :class:`PluginCircuit` rows: every transition is one conditional UPDATE."""

    def __init__(self) -> None:
        self.alias = router.db_for_write(PluginCircuit)

    def _rows(self) -> Any:
        return PluginCircuit.objects.using(self.alias)

    def read(self, pk: int) -> Circuit:
        row = self._rows().filter(pk=pk, is_open=True).values_list("opened_at", "probe_at")[:1]
        found = list(row)
        return Circuit(True, found[0][0], found[0][1]) if found else CLOSED

    def count_failure(self, pk: int, limits: Limits, now: float) -> int:
        in_window = Q(window_started_at__gte=now - limits.window)
        with transaction.atomic(using=self.alias):
            changed = (
                self._rows()
                .filter(pk=pk)
                .update(
                    failures=Case(When(in_window, then=F("failures") + 1), default=Value(1)),
                    window_started_at=Case(
                        When(in_window, then=F("window_started_at")), default=Value(now)
                    ),
                )
            )
            if not changed:
                self._rows().bulk_create(
                    [PluginCircuit(instance_id=pk, failures=1, window_started_at=now)],
                    ignore_conflicts=True,
                )
            found = self._rows().filter(pk=pk).values_list("failures", flat=True).first()
        return int(found or 1)

    def open(self, pk: int, limits: Limits, now: float) -> bool:
        with transaction.atomic(using=self.alias):
            return bool(
                self._rows()
                .filter(pk=pk, is_open=False, failures__gte=limits.failures)
                .update(**_opened(limits, now))
            )

    def reserve_probe(self, pk: int, circuit: Circuit, limits: Limits, now: float) -> bool:
        free = Q(probe_reserved_until__isnull=True) | Q(probe_reserved_until__lt=now)
        with transaction.atomic(using=self.alias):
            return bool(
                self._rows()
                .filter(free, pk=pk, is_open=True, probe_at__lte=now)
                .update(probe_reserved_until=now + limits.cooldown)
            )

    def reopen(self, pk: int, circuit: Circuit, limits: Limits, now: float) -> None:
        with transaction.atomic(using=self.alias):
            self._rows().filter(pk=pk).update(
                is_open=True, probe_at=now + limits.cooldown, probe_reserved_until=None
            )

    def close(self, pk: int) -> bool:
        with transaction.atomic(using=self.alias):
            return bool(
                self._rows()
                .filter(pk=pk, is_open=True)
                .update(
                    is_open=False,
                    failures=0,
                    window_started_at=None,
                    opened_at=None,
                    probe_at=None,
                    probe_reserved_until=None,
                )
            )

    def _ensure_row(self, pk: int) -> None:
        self._rows().bulk_create([PluginCircuit(instance_id=pk)], ignore_conflicts=True)

    def open_now(self, pk: int, limits: Limits, now: float) -> bool:
        with transaction.atomic(using=self.alias):
            self._ensure_row(pk)
            return bool(self._rows().filter(pk=pk, is_open=False).update(**_opened(limits, now)))

    def reserve_check(self, pk: int, seconds: float, now: float) -> float | None:
        free = Q(check_reserved_until__isnull=True) | Q(check_reserved_until__lte=now)
        with transaction.atomic(using=self.alias):
            self._ensure_row(pk)
            if self._rows().filter(free, pk=pk).update(check_reserved_until=now + seconds):
                return None
            until = self._rows().filter(pk=pk).values_list("check_reserved_until", flat=True)
            found = until.first()
        return float(found) if found is not None else now + seconds


def _opened(limits: Limits, now: float) -> dict[str, Any]:
    """The fields of a circuit that opens at ``now``: failures reset, probed after the cooldown."""
    return {
        "is_open": True,
        "opened_at": now,
        "probe_at": now + limits.cooldown,
        "probe_reserved_until": None,
        "failures": 0,
        "window_started_at": None,
    }
