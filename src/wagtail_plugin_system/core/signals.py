"""Signals sent by the circuit breaker and by :func:`~wagtail_plugin_system.call_with_failover`.

Each is sent with the plugin type's class as ``sender``:

``circuit_opened``
    ``instance`` (the :class:`~wagtail_plugin_system.models.PluginInstance`),
    ``until`` (seconds since the epoch: when one call will probe it) and
    ``failures`` (how many failures opened it; 0 for a failed probe). Sent once,
    by the process that opened the circuit.
``circuit_closed``
    ``instance``. Sent by the process whose probe succeeded, or that reset it.
``failed_over``
    ``method``, ``failed`` (a list of ``(instance, reason)`` pairs, the reason
    redacted of configuration values) and ``served`` (the instance that
    answered, or ``None`` when none did).

Receivers run inside the call; an exception they raise is logged and ignored.
"""

from __future__ import annotations

from django.dispatch import Signal

__all__ = ["circuit_closed", "circuit_opened", "failed_over"]

circuit_opened = Signal()
circuit_closed = Signal()
failed_over = Signal()
