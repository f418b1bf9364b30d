"""The circuit breaker's one clock.

Every reader of the breaker's time (a failure's window, a circuit's cooldown
and state, a reserved probe or health check, the minute a call's statistics
count in) calls :func:`now` through this module when it needs the time, never
a reference taken at import: replacing ``clock.now`` moves every reader at once.
"""

from __future__ import annotations

import time

__all__ = ["now"]


def now() -> float:
    """Seconds since the epoch: the same in every process, like the state it dates."""
    return time.time()
