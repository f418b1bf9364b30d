"""Benchmarks for wagtail-plugin-system: ``make bench`` (or ``python -m tests.benchmarks.run``).

Each scenario runs on a fresh SQLite database in memory and is timed over
repeated rounds; the table shows the median, minimum and maximum per call.
Timings are for reading, not for asserting: the test suite asserts query
counts instead.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from abc import abstractmethod
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.setdefault("WPS_SQLITE_NAME", ":memory:")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from tests.testapp.plugins import BankTransferGateway, PaymentGatewayType  # noqa: E402
from wagtail_plugin_system import (  # noqa: E402
    BasePluginItem,
    BasePluginType,
    call_with_failover,
    get_plugin_instance,
    get_plugin_instance_by_id,
)
from wagtail_plugin_system.models import PluginInstance, PluginItem, PluginType  # noqa: E402
from wagtail_plugin_system.registry import PluginRegistry, registry  # noqa: E402
from wagtail_plugin_system.sync import sync_plugins  # noqa: E402

Row = tuple[str, float, float, float, int]


def measure(
    name: str,
    func: Callable[[], object],
    *,
    number: int,
    rounds: int = 7,
    setup: Callable[[], object] | None = None,
) -> Row:
    """Time ``func`` over ``rounds`` rounds of ``number`` calls; return per-call seconds.

    ``setup`` runs before each call, outside the timing and the query count.
    """
    if setup:
        setup()
    func()  # warm up
    if setup:
        setup()
    with CaptureQueriesContext(connection) as queries:
        func()
    per_call = []
    for _ in range(rounds):
        elapsed = 0.0
        for _ in range(number):
            if setup:
                setup()
            start = time.perf_counter()
            func()
            elapsed += time.perf_counter() - start
        per_call.append(elapsed / number)
    return name, statistics.median(per_call), min(per_call), max(per_call), len(queries)


def register_many(target: PluginRegistry, total: int) -> None:
    types = max(1, total // 10)
    for t in range(types):
        type_class = type(
            f"BenchType{t}",
            (BasePluginType,),
            {"name": f"bench_type_{t}", "run": abstractmethod(lambda self: None)},
        )
        for i in range(total // types):
            target.register_item(
                type(
                    f"BenchItem{t}_{i}",
                    (BasePluginItem,),
                    {"name": f"item_{i}", "plugin_type": type_class, "run": lambda self: None},
                )
            )


def clear_tables() -> None:
    PluginInstance.objects.all().delete()
    PluginItem.objects.all().delete()
    PluginType.objects.all().delete()


def sync_rows(total: int) -> list[Row]:
    rows = []
    with registry.isolated():
        registry._types.clear()
        register_many(registry, total)

        rows.append(
            measure(
                f"pluginsync, {total} items, first",
                sync_plugins,
                number=1,
                rounds=5,
                setup=clear_tables,
            )
        )
        rows.append(measure(f"pluginsync, {total} items, no-op", sync_plugins, number=1, rounds=5))
    clear_tables()
    return rows


def main() -> None:
    call_command("migrate", verbosity=0)
    sync_plugins()
    bank = PluginInstance.objects.get(item__name="bank_transfer")
    rows = [
        measure("direct instantiation (baseline)", BankTransferGateway, number=2000),
        measure(
            "get_plugin_instance(T)", lambda: get_plugin_instance(PaymentGatewayType), number=500
        ),
        measure(
            "get_plugin_instance_by_id(T, id)",
            lambda: get_plugin_instance_by_id(PaymentGatewayType, bank.pk),
            number=500,
        ),
        measure(
            "call_with_failover(T, method)",
            lambda: call_with_failover(PaymentGatewayType, "create_payment", 1),
            number=500,
        ),
    ]
    for total in (10, 100, 1000):
        rows.extend(sync_rows(total))

    print(
        f"wagtail-plugin-system benchmarks: Python {platform.python_version()}, "
        f"Django {django.get_version()}, SQLite {connection.Database.sqlite_version}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs"
    )
    width = max(len(row[0]) for row in rows)
    print(f"{'scenario':<{width}}  {'median':>10}  {'min':>10}  {'max':>10}  {'queries':>7}")
    for name, median, low, high, queries in rows:
        print(
            f"{name:<{width}}  {median * 1e6:>8.1f}us  {low * 1e6:>8.1f}us  "
            f"{high * 1e6:>8.1f}us  {queries:>7}"
        )


if __name__ == "__main__":
    main()
