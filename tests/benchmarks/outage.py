"""Request latency during a provider outage, with and without the circuit breaker.

A view calls ``call_with_failover()`` through ``PluginCacheMiddleware`` on the
remote-service type of the test app: a primary that fetches a loopback
provider over HTTP, and a local backup. Requests run one after another, with
a pause of :data:`PAUSE` between them, in three phases:

* **normal**: the provider answers;
* **outage, circuit open**: the provider hangs :data:`HANG` seconds before
  failing. The first ``BREAKER_FAILURES`` requests pay that; the rows count
  the requests after the circuit opened, for :data:`OUTAGE` seconds, probes
  included (one per ``BREAKER_COOLDOWN``);
* **outage, no breaker** (``BREAKER_FAILURES = 0``): every request pays it
  (a few requests only).

The version token lives in the cache of the benchmark settings (local memory).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory, override_settings

from tests.provider_stub import provider_stub
from tests.testapp import remote
from wagtail_plugin_system import breaker, cache, call_with_failover, traffic
from wagtail_plugin_system.core.registry import registry
from wagtail_plugin_system.middleware import PluginCacheMiddleware
from wagtail_plugin_system.models import PluginInstance
from wagtail_plugin_system.sync import sync_plugins

HANG = 2.0
PAUSE = 0.001
OUTAGE = 12.0
NORMAL_REQUESTS = 2000
COOLDOWN = 5


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(fraction: float) -> float:
        return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]

    return {
        "requests": len(ordered),
        "p50": at(0.50),
        "p99": at(0.99),
        "max": ordered[-1],
        "mean": statistics.fmean(ordered),
    }


def _handler(expect: Callable[[str], bool]) -> Callable[[], float]:
    def view(request: HttpRequest) -> HttpResponse:
        answer = str(call_with_failover(remote.RemoteServiceType, "fetch"))
        if not expect(answer):
            raise RuntimeError(f"unexpected answer {answer!r}")
        return HttpResponse(answer)

    middleware = PluginCacheMiddleware(view)
    request = RequestFactory().get("/")

    def timed() -> float:
        started = time.perf_counter()
        middleware(request)
        return time.perf_counter() - started

    return timed


def measure() -> list[tuple[str, dict[str, float]]]:
    """The three phases' latencies (seconds)."""
    results: list[tuple[str, dict[str, float]]] = []
    with registry.isolated(), provider_stub() as stub:
        remote.register()
        sync_plugins()
        PluginInstance.objects.of_type(remote.RemoteServiceType).delete()
        PluginInstance.objects.create_instance(
            remote.HttpProvider,
            name="Primary",
            config={"url": stub.url, "token": "bench", "timeout": HANG * 2},
        )
        PluginInstance.objects.create_instance(remote.LocalBackup, name="Backup", status="reserved")
        settings: dict[str, Any] = {
            "SYNC_AFTER_MIGRATE": False,
            "VERSION_STORE": "cache",
            "BREAKER_COOLDOWN": COOLDOWN,
        }
        with override_settings(WAGTAIL_PLUGIN_SYSTEM=settings):
            cache.clear()
            breaker.forget()
            normal = _handler(lambda answer: answer == "remote:ok")
            for _ in range(50):
                normal()
            samples = []
            for _ in range(NORMAL_REQUESTS):
                samples.append(normal())
                time.sleep(PAUSE)
            results.append(("normal operation", _percentiles(samples)))

            stub.set("hang", HANG)
            during = _handler(lambda answer: answer == "backup")
            opening = [during() for _ in range(breaker.site_limits().failures)]
            results.append(("outage: the requests that open the circuit", _percentiles(opening)))
            samples = []
            hits = stub.count("hang")
            ends = time.monotonic() + OUTAGE
            while time.monotonic() < ends:
                samples.append(during())
                time.sleep(PAUSE)
            stats = _percentiles(samples)
            stats["probes"] = stub.count("hang") - hits
            results.append((f"outage: {OUTAGE:g} s after the circuit opened", stats))

        off = {**settings, "BREAKER_FAILURES": 0}
        with override_settings(WAGTAIL_PLUGIN_SYSTEM=off):
            cache.clear()
            during = _handler(lambda answer: answer == "backup")
            samples = [during() for _ in range(5)]
            results.append(
                ("outage without the breaker (BREAKER_FAILURES = 0)", _percentiles(samples))
            )
        traffic.discard()
        cache.clear()
    return results


def report() -> str:
    lines = [
        f"Outage (provider hangs {HANG:g} s, then fails; BREAKER_COOLDOWN = {COOLDOWN} s):",
        f"  {'phase':<55} {'requests':>8} {'p50':>10} {'p99':>10} {'max':>10}",
    ]
    results = measure()
    for name, stats in results:
        lines.append(
            f"  {name:<55} {int(stats['requests']):>8} {_ms(stats['p50']):>10} "
            f"{_ms(stats['p99']):>10} {_ms(stats['max']):>10}"
            + (f"   ({int(stats['probes'])} probe(s))" if "probes" in stats else "")
        )
    normal = results[0][1]
    opened = results[2][1]
    ratio = opened["p99"] / normal["p99"]
    lines.append(
        f"  p99 once open / p99 normal: {ratio:.2f}x (goal: within 2x) - "
        + ("met" if ratio <= 2 else "NOT met")
    )
    return "\n".join(lines)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"
