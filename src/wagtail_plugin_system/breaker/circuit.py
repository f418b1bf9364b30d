"""What the circuit breaker reads and decides: a circuit's state, an instance's limits.

The values the state machine (:mod:`wagtail_plugin_system.breaker`) and its two
stores share; nothing here reads the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from . import clock

__all__ = ["CALL", "CLOSED", "KEY_PREFIX", "PROBE", "Admission", "Circuit", "Limits"]

#: What :func:`~wagtail_plugin_system.breaker.admit` answers: call the instance as usual,
#: or call it as the probe.
CALL: Literal["call"] = "call"
PROBE: Literal["probe"] = "probe"
Admission = Literal["call", "probe"]

KEY_PREFIX = "wagtail_plugin_system:circuit"


@dataclass(frozen=True)
class Circuit:
    """A circuit's state as read from the store."""

    is_open: bool = False
    #: When it opened (seconds since the epoch), while open.
    opened_at: float | None = None
    #: When one call may probe it (seconds since the epoch), while open.
    probe_at: float | None = None

    def state(self, now: float | None = None) -> Literal["closed", "open", "probing"]:
        """The state at ``now`` (seconds since the epoch); by default, the breaker's clock's."""
        if not self.is_open:
            return "closed"
        assert self.probe_at is not None
        return "probing" if (clock.now() if now is None else now) >= self.probe_at else "open"


CLOSED = Circuit()


@dataclass(frozen=True)
class Limits:
    """The breaker's settings for one instance (the site's, or an editor's overrides)."""

    failures: int
    window: float
    cooldown: float
