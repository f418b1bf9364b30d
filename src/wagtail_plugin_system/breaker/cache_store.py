"""The circuit breaker's store in the shared cache: ``add`` makes every transition atomic."""

from __future__ import annotations

import math

from .. import version_store
from .circuit import CLOSED, KEY_PREFIX, Circuit, Limits

__all__ = ["CacheStore"]


class CacheStore:
    """Circuits as keys of the shared cache: ``add`` makes every transition atomic."""

    def __init__(self) -> None:
        self.cache = version_store.cache_backend()

    def read(self, pk: int) -> Circuit:
        value = self.cache.get(f"{KEY_PREFIX}:{pk}")
        if not isinstance(value, tuple):
            return CLOSED
        return Circuit(True, value[0], value[1])

    def count_failure(self, pk: int, limits: Limits, now: float) -> int:
        # The window starts at its first failure; its counter is named after its start.
        window_key = f"{KEY_PREFIX}:{pk}:failures"
        timeout = max(1, round(limits.window * 2))
        start = self.cache.get(window_key)
        if not isinstance(start, float) or now - start > limits.window:
            start = now
            self.cache.set(window_key, start, timeout=timeout)
        key = f"{window_key}:{round(start * 1000)}"
        self.cache.add(key, 0, timeout=timeout)
        try:
            return int(self.cache.incr(key))
        except ValueError:  # it expired between the two
            self.cache.set(key, 1, timeout=timeout)
            return 1

    def open(self, pk: int, limits: Limits, now: float) -> bool:
        opened = bool(
            self.cache.add(f"{KEY_PREFIX}:{pk}", (now, now + limits.cooldown), timeout=None)
        )
        if opened:
            self.cache.delete(f"{KEY_PREFIX}:{pk}:failures")
        return opened

    def reserve_probe(self, pk: int, circuit: Circuit, limits: Limits, now: float) -> bool:
        assert circuit.probe_at is not None
        key = f"{KEY_PREFIX}:{pk}:probe:{round(circuit.probe_at * 1000)}"
        return bool(self.cache.add(key, now, timeout=max(1, round(limits.cooldown))))

    def reopen(self, pk: int, circuit: Circuit, limits: Limits, now: float) -> None:
        opened_at = circuit.opened_at if circuit.opened_at is not None else now
        self.cache.set(f"{KEY_PREFIX}:{pk}", (opened_at, now + limits.cooldown), timeout=None)

    def close(self, pk: int) -> bool:
        key = f"{KEY_PREFIX}:{pk}"
        was_open = self.cache.get(key) is not None
        self.cache.delete_many([key, f"{key}:failures"])
        return was_open

    def open_now(self, pk: int, limits: Limits, now: float) -> bool:
        return self.open(pk, limits, now)

    def reserve_check(self, pk: int, seconds: float, now: float) -> float | None:
        key = f"{KEY_PREFIX}:{pk}:check"
        timeout = max(1, math.ceil(seconds))
        if self.cache.add(key, now + seconds, timeout=timeout):
            return None
        until = self.cache.get(key)
        if isinstance(until, int | float) and until <= now:
            # Over by the clock, not yet expired in the cache: take it again, once.
            self.cache.delete(key)
            if self.cache.add(key, now + seconds, timeout=timeout):
                return None
            until = self.cache.get(key)
        return float(until) if isinstance(until, int | float) else now + seconds
