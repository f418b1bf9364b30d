"""Benchmarks: ``make bench`` (or ``python tests/benchmarks/run.py [--markdown] [--scale N]``).

Every scenario runs on three systems side by side, in one process and on one
SQLite database in memory (migrated at start):

* **ours**: wagtail-plugin-system, through its public API;
* **dps**: django-plugin-system 2.0.9, installed in the same project under
  its own app label (see ``settings.py`` and ``dps.py``);
* **baseline**: the implementation class instantiated (and called) directly,
  what the code would cost with no plugin system at all.

The table shows, per call, the median, minimum and maximum over repeated
rounds, and the number of SQL queries of one call; then how many times
faster ours is than dps, and how much slower than the baseline. A scenario
that fails on one system shows ``error: ...`` in that cell only.

Timings are for reading, not for asserting: the test suite asserts query
counts instead. ``docs/performance.md`` explains the method and the results.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
# Always the benchmark settings: they add django-plugin-system and an in-memory database.
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.benchmarks.settings"

import django  # noqa: E402

django.setup()

from django.apps import apps  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import override_settings  # noqa: E402

from tests.benchmarks import harness, ours  # noqa: E402
from tests.benchmarks.harness import Row, Timing, measure, run_cell  # noqa: E402
from tests.testapp.factories import STRIPE_CONFIG  # noqa: E402
from tests.testapp.plugins import (  # noqa: E402
    BankTransferGateway,
    PaymentGatewayType,
    StripeGateway,
)
from wagtail_plugin_system import (  # noqa: E402
    PluginStatus,
    call_with_failover,
    get_plugin_instance,
    get_plugin_instance_by_id,
)
from wagtail_plugin_system.core.registry import registry  # noqa: E402

Produce = Callable[[], Timing] | str | None

PAGE_SIZES = (1, 10, 100)
SYNC_SIZES = ((10, 1), (100, 10), (1000, 100))
ADMIN_INSTANCES = 500
ADMIN_PAGE_SIZE_DEFAULT = 50


def admin_page_size() -> int:
    """Rows per page of our instance listing; the dps changelist is set to the same."""
    try:
        from wagtail_plugin_system.admin.viewsets import PluginInstanceViewSet
    except ImportError:
        return ADMIN_PAGE_SIZE_DEFAULT
    return int(getattr(PluginInstanceViewSet, "list_per_page", ADMIN_PAGE_SIZE_DEFAULT))


def row(name: str, *, ours_: Produce, dps_: Produce, baseline: Produce) -> Row:
    """Run one scenario on the three systems, one after the other."""
    result = Row(name)
    for key, produce in (("ours", ours_), ("dps", dps_), ("baseline", baseline)):
        result.cells[key] = run_cell(produce)
    print(f"  {name}", file=sys.stderr, flush=True)
    return result


def or_error(error: str | None, produce: Callable[[], Timing] | None) -> Produce:
    """A system's scenario, or the reason that system could not be set up."""
    if error is not None:
        return f"setup failed: {error}"
    return produce


@contextmanager
def flaky_first(fixtures: dict[str, Any]) -> Iterator[dict[str, str]]:
    """Make the failing gateway the first candidate of each system; undo afterwards.

    Yields, per system, why that could not be done (that system's cell shows it).
    """
    failed: dict[str, str] = {}
    try:
        for key, fixture in fixtures.items():
            try:
                fixture.set_flaky(PluginStatus.ACTIVE)
            except Exception as exc:  # reported in that system's cell
                failed[key] = describe_failure(exc)
        yield failed
    finally:
        for key, fixture in fixtures.items():
            try:
                fixture.set_flaky(PluginStatus.DISABLED)
            except Exception as exc:  # the next scenarios may be off: say so
                print(f"Could not restore the {key} fixtures: {exc}", file=sys.stderr)


def describe_failure(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


# -- the scenarios -----------------------------------------------------------------------------


def resolution_rows(our: Any, dps_fixtures: Any, dps: Any, dps_error: str | None) -> list[Row]:
    our_error = our if isinstance(our, str) else None
    rows = []
    stripe = ours.named("Stripe")

    def direct() -> object:
        return StripeGateway(config=STRIPE_CONFIG)

    def ours_warm() -> Timing:
        return measure(lambda: get_plugin_instance(PaymentGatewayType), number=2000, check=stripe)

    def dps_warm() -> Timing:
        return measure(dps.resolve, number=300, check=dps.named("Stripe"))

    def warm_row(name: str, ours_: Callable[[], Timing]) -> Row:
        """A warm-resolution row: ours as given, dps's cached path, direct instantiation."""
        return row(
            name,
            ours_=or_error(our_error, ours_),
            dps_=or_error(dps_error, dps_warm),
            baseline=lambda: measure(direct, number=2000),
        )

    rows.append(warm_row("warm resolution: get_plugin_instance(T)", ours_warm))

    scope = ours.version_scope()

    def ours_scoped() -> Timing:
        with scope():
            return ours_warm()

    if scope is not None:
        rows.append(
            warm_row("warm resolution in a request (ours: in a version_scope())", ours_scoped)
        )

    def ours_interval() -> Timing:
        with override_settings(
            WAGTAIL_PLUGIN_SYSTEM={**settings.WAGTAIL_PLUGIN_SYSTEM, "VERSION_CHECK_INTERVAL": 1}
        ):
            return ours_warm()

    rows.append(
        warm_row(
            "warm resolution outside a request, VERSION_CHECK_INTERVAL=1 (ours)", ours_interval
        )
    )

    def ours_cold() -> Timing:
        return measure(
            lambda: get_plugin_instance(PaymentGatewayType),
            number=100,
            rounds=5,
            setup=ours.cold_setup(),
            check=stripe,
        )

    def dps_cold() -> Timing:
        return measure(
            dps.resolve, number=100, rounds=5, setup=dps.clear_caches, check=dps.named("Stripe")
        )

    rows.append(
        row(
            "cold resolution (caches cleared before each call)",
            ours_=or_error(our_error, ours_cold),
            dps_=or_error(dps_error, dps_cold),
            baseline=lambda: measure(direct, number=2000),
        )
    )

    def ours_by_id() -> Timing:
        pk = our.stripe.pk
        return measure(
            lambda: get_plugin_instance_by_id(PaymentGatewayType, pk), number=2000, check=stripe
        )

    def dps_by_id() -> Timing:
        pk = str(dps_fixtures.stripe.pk)
        return measure(lambda: dps.resolve_by_id(pk), number=300, check=dps.named("Stripe"))

    rows.append(
        row(
            "warm get_plugin_instance_by_id(T, id)",
            ours_=or_error(our_error, ours_by_id),
            dps_=or_error(dps_error, dps_by_id),
            baseline=lambda: measure(direct, number=2000),
        )
    )

    def ours_site() -> Timing:
        site = our.site
        return measure(
            lambda: get_plugin_instance(PaymentGatewayType, site=site),
            number=2000,
            check=ours.named(our.bank.name),
        )

    def ours_request() -> Timing:
        request = our.request
        return measure(
            lambda: get_plugin_instance(PaymentGatewayType, request=request),
            number=2000,
            check=ours.named(our.bank.name),
        )

    def bank() -> object:
        return BankTransferGateway()

    rows.append(
        row(
            "warm resolution with site settings (site=)",
            ours_=or_error(our_error, ours_site),
            dps_=None,
            baseline=lambda: measure(bank, number=2000),
        )
    )
    rows.append(
        row(
            "warm resolution with site settings (request=)",
            ours_=or_error(our_error, ours_request),
            dps_=None,
            baseline=lambda: measure(bank, number=2000),
        )
    )
    return rows


def failover_rows(our: Any, dps_fixtures: Any, dps: Any, dps_error: str | None) -> list[Row]:
    our_error = our if isinstance(our, str) else None
    rows = []

    def ours_failover(expected: str) -> Callable[[], Timing]:
        return lambda: measure(
            lambda: call_with_failover(PaymentGatewayType, "create_payment", 1),
            number=1000,
            check=lambda result: result == expected,
        )

    def dps_failover(expected: str) -> Callable[[], Timing]:
        return lambda: measure(
            lambda: dps.failover(1), number=300, check=lambda result: result == expected
        )

    def direct_call() -> object:
        return StripeGateway(config=STRIPE_CONFIG).create_payment(1)

    rows.append(
        row(
            "failover, first candidate succeeds",
            ours_=or_error(our_error, ours_failover("stripe:1:EUR")),
            dps_=or_error(dps_error, dps_failover("stripe:1:EUR")),
            baseline=lambda: measure(direct_call, number=2000),
        )
    )
    fixtures = {"ours": our, "dps": dps_fixtures}
    usable = {key: f for key, f in fixtures.items() if f is not None and not isinstance(f, str)}
    with flaky_first(usable) as failed:
        rows.append(
            row(
                "failover, first candidate fails (one retry)",
                ours_=or_error(our_error or failed.get("ours"), ours_failover("stripe:1:EUR")),
                dps_=or_error(dps_error or failed.get("dps"), dps_failover("stripe:1:EUR")),
                baseline=lambda: measure(lambda: ours.baseline_failover(1), number=2000),
            )
        )
    return rows


def page_rows(our_error: str | None) -> list[Row]:
    try:
        pages = ours.Pages(PAGE_SIZES) if our_error is None else None
    except Exception as exc:  # reported in each cell
        our_error = f"pages: {describe_failure(exc)}"
        pages = None
    rows = []
    for size in PAGE_SIZES:

        def render(size: int = size) -> Timing:
            assert pages is not None
            client, url = pages.client, pages.urls[size]
            return measure(
                lambda: client.get(url),
                number=max(1, 20 // size) * 5,
                rounds=5,
                check=ours.render_check(size),
            )

        label = "block" if size == 1 else "blocks"
        rows.append(
            row(
                f"page render, {size} plugin {label}",
                ours_=or_error(our_error, render),
                dps_=None,
                baseline=None,
            )
        )
    return rows


def admin_rows(our_error: str | None, dps: Any, dps_error: str | None) -> list[Row]:
    page_size = admin_page_size()

    def ours_listing() -> Timing:
        ours.make_instances(ADMIN_INSTANCES)
        client = ours.superuser_client()
        try:
            return measure(
                lambda: client.get("/admin/plugins/instances/"), number=3, rounds=7, check=ours.ok
            )
        finally:
            ours.remove_bulk_instances()

    def dps_listing() -> Timing:
        if not apps.is_installed("django.contrib.admin"):
            raise harness.BenchError("django.contrib.admin is not installed")
        dps.make_instances(ADMIN_INSTANCES)
        dps.set_admin_page_size(page_size)
        client = ours.superuser_client()
        url = dps.changelist_url()
        try:
            return measure(lambda: client.get(url), number=3, rounds=7, check=ours.ok)
        finally:
            dps.remove_bulk_instances()

    return [
        row(
            f"admin listing, {ADMIN_INSTANCES} instances ({page_size} a page)",
            ours_=or_error(our_error, ours_listing),
            dps_=or_error(dps_error, dps_listing),
            baseline=None,
        )
    ]


def ours_sync(total: int, types: int, first: bool, rounds: int) -> Timing:
    """Our ``sync_plugins()`` with only the generated plugins registered."""
    with registry.isolated():
        for type_class in registry.get_types():
            registry.unregister_type(type_class)
        ours.register_many(registry, total, types)
        if first:
            return measure(
                ours.sync, number=1, rounds=rounds, setup=ours.clear_tables, warmup=False
            )
        ours.clear_tables()
        ours.sync()
        return measure(ours.sync, number=1, rounds=rounds, warmup=False)


def dps_sync(dps: Any, total: int, types: int, first: bool, rounds: int) -> Timing:
    """django-plugin-system's sync service with only the generated plugins registered."""
    with dps.isolated_registry():
        dps.register_many(total, types)
        if first:
            return measure(dps.sync, number=1, rounds=rounds, setup=dps.clear_tables, warmup=False)
        dps.clear_tables()
        dps.sync()
        return measure(dps.sync, number=1, rounds=rounds, warmup=False)


@contextmanager
def version_store(name: str, caches: dict[str, Any]) -> Iterator[None]:
    """Run with ``VERSION_STORE`` and ``CACHES`` set; the memo starts empty."""
    from wagtail_plugin_system import cache as plugin_cache

    plugin_settings = {**settings.WAGTAIL_PLUGIN_SYSTEM, "VERSION_STORE": name}
    with override_settings(CACHES=caches, WAGTAIL_PLUGIN_SYSTEM=plugin_settings):
        plugin_cache.clear()
        yield
    plugin_cache.clear()


def per_request_rows(our_error: str | None) -> list[Row]:
    """A request through PluginCacheMiddleware that resolves 1 or 10 times, per version store.

    The version token is read once per request: from a database row with Django's
    default (per-process) cache, from the cache with a shared one (Redis, started
    here). Only ours: the other columns have no such setting.
    """
    from django.http import HttpRequest, HttpResponse
    from django.test import RequestFactory

    from tests.redis_server import RedisUnavailable, throwaway_redis
    from wagtail_plugin_system.middleware import PluginCacheMiddleware

    stripe = ours.named("Stripe")

    def request_of(resolutions: int) -> Callable[[], object]:
        def view(request: HttpRequest) -> HttpResponse:
            for _ in range(resolutions):
                item = get_plugin_instance(PaymentGatewayType)
            assert stripe(item)
            return HttpResponse()

        middleware = PluginCacheMiddleware(view)
        request = RequestFactory().get("/")
        return lambda: middleware(request)

    locmem = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    stores: list[tuple[str, str, Any]] = [
        ("database (default local-memory cache)", "database", lambda: nullcontext(locmem))
    ]

    @contextmanager
    def redis_caches() -> Iterator[dict[str, Any]]:
        with throwaway_redis() as url:
            backend = "django.core.cache.backends.redis.RedisCache"
            yield {"default": {"BACKEND": backend, "LOCATION": url}}

    stores.append(("cache (Redis on loopback)", "cache", redis_caches))
    rows = []
    for label, store, make_caches in stores:
        try:
            with make_caches() as caches, version_store(store, caches):
                for resolutions in (1, 10):
                    rows.append(
                        row(
                            f"a request with {resolutions} resolution(s), version store {label}",
                            ours_=or_error(
                                our_error,
                                partial(measure, request_of(resolutions), number=500),
                            ),
                            dps_=None,
                            baseline=None,
                        )
                    )
        except RedisUnavailable as exc:
            rows.append(
                row(f"requests, version store {label}", ours_=str(exc), dps_=None, baseline=None)
            )
    return rows


def sync_rows(dps: Any, dps_error: str | None) -> list[Row]:
    """Last: the first-sync scenarios empty each system's tables before every run."""
    rows = []
    for total, types in SYNC_SIZES:
        rounds = 5 if total >= 1000 else 7
        for first in (True, False):
            kind = "first sync" if first else "no-op re-sync"
            rows.append(
                row(
                    f"pluginsync, {total} items / {types} types, {kind}",
                    ours_=partial(ours_sync, total, types, first, rounds),
                    dps_=or_error(dps_error, partial(dps_sync, dps, total, types, first, rounds)),
                    baseline=None,
                )
            )
    # The first sync again, without the history entries django-plugin-system does not write.
    total, types = SYNC_SIZES[-1]

    def ours_without_history() -> Timing:
        with override_settings(
            WAGTAIL_PLUGIN_SYSTEM={**settings.WAGTAIL_PLUGIN_SYSTEM, "SYNC_HISTORY": False}
        ):
            return ours_sync(total, types, True, 5)

    rows.append(
        row(
            f"pluginsync, {total} items / {types} types, first sync, SYNC_HISTORY=False (ours)",
            ours_=ours_without_history,
            dps_=or_error(dps_error, partial(dps_sync, dps, total, types, True, 5)),
            baseline=None,
        )
    )
    return rows


# -- the report --------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def source_revision() -> str:
    """The commit measured, and whether the package's source had uncommitted changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{commit} + uncommitted changes in src/" if dirty else commit


def database() -> str:
    if connection.vendor == "sqlite":
        return f"SQLite {sqlite3.sqlite_version} (in memory)"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (server,) = cursor.fetchone() or ("?",)
    return f"{connection.display_name} {server} ({settings.DATABASES['default'].get('HOST')})"


def header() -> str:
    import wagtail

    hook, hook_name = ours.cache_reset_hook()
    cold = "django.core.cache.cache.clear()" + (f" + {hook_name}" if hook else "")
    cache_backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    return "\n".join(
        [
            "wagtail-plugin-system benchmarks",
            f"  machine:  {cpu_model()}, {os.cpu_count()} cores, {platform.machine()}, "
            f"{platform.system()}",
            f"  software: Python {platform.python_version()}, Django {django.get_version()}, "
            f"Wagtail {wagtail.__version__}, {database()}, cache {cache_backend}",
            f"  systems:  wagtail-plugin-system {package_version('wagtail-plugin-system')} "
            f"(commit {source_revision()}), django-plugin-system "
            f"{package_version('django-plugin-system')}",
            f"  cold:     ours = first call after {cold}; dps = first call after "
            f"django.core.cache.cache.clear() (its selection cache)",
            "  cells:    median [min-max] per call over the rounds; q = SQL queries of one call",
        ]
    )


def find(rows: list[Row], prefix: str) -> Row | None:
    return next((r for r in rows if r.scenario.startswith(prefix)), None)


def ratio_of(r: Row | None, a: str, b: str) -> float | None:
    if r is None:
        return None
    first, second = r.cells.get(a), r.cells.get(b)
    if first is None or second is None or first.timing is None or second.timing is None:
        return None
    return first.timing.median / second.timing.median


Check = tuple[str, float | None, Callable[[float], bool], str]


def warm_targets(prefix: str, r: Row | None) -> list[Check]:
    """The two warm-resolution targets for one scenario's row."""
    if r is None:
        return []
    return [
        (
            f"{prefix} >= 100x faster than dps",
            ratio_of(r, "dps", "ours"),
            lambda v: v >= 100,
            "{:.0f}x",
        ),
        (
            f"{prefix} within 5x of direct instantiation",
            ratio_of(r, "ours", "baseline"),
            lambda v: v <= 5,
            "{:.1f}x",
        ),
    ]


def targets(rows: list[Row]) -> str:
    checks: list[Check] = [
        *warm_targets("warm resolution", find(rows, "warm resolution: ")),
        *warm_targets(
            "  the same with VERSION_CHECK_INTERVAL=1:",
            find(rows, "warm resolution outside a request, VERSION_CHECK_INTERVAL"),
        ),
        *warm_targets(
            "  the same in a request (version_scope):",
            find(rows, "warm resolution in a request"),
        ),
    ]
    for kind in ("first sync", "first sync, SYNC_HISTORY=False", "no-op re-sync"):
        checks.append(
            (
                f"pluginsync of 1,000 items >= 20x faster than dps ({kind})",
                # The plain first sync comes before its SYNC_HISTORY=False variant: a prefix
                # finds it first.
                ratio_of(find(rows, f"pluginsync, 1000 items / 100 types, {kind}"), "dps", "ours"),
                lambda v: v >= 20,
                "{:.0f}x",
            )
        )
    lines = ["Targets (reported, not asserted):"]
    for label, value, passes, fmt in checks:
        if value is None:
            verdict = "not measured"
        else:
            verdict = ("met" if passes(value) else "NOT met") + f" ({fmt.format(value)})"
        lines.append(f"  {label}: {verdict}")
    return "\n".join(lines)


def setup_ours() -> Any:
    try:
        return ours.Fixtures()
    except Exception as exc:  # every cell of ours then says why
        return describe_failure(exc)


def setup_dps() -> tuple[Any, Any, str | None]:
    if not getattr(settings, "DPS_INSTALLED", False):
        return None, None, "django-plugin-system is not installed (pip install -e '.[bench]')"
    try:
        from tests.benchmarks import dps

        return dps, dps.Fixtures(), None
    except Exception as exc:  # every cell of dps then says why
        return None, None, describe_failure(exc)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiply the repetitions (e.g. 0.2 for a quick look; min. 3 rounds)",
    )
    args = parser.parse_args(argv)
    harness.SCALE[0] = args.scale
    started = time.perf_counter()

    print("Creating the database (migrate)...", file=sys.stderr, flush=True)
    call_command("migrate", verbosity=0)
    our = setup_ours()
    our_error = our if isinstance(our, str) else None
    dps, dps_fixtures, dps_error = setup_dps()

    print("Running the scenarios:", file=sys.stderr, flush=True)
    rows: list[Row] = []
    rows += resolution_rows(our, dps_fixtures, dps, dps_error)
    rows += failover_rows(our, dps_fixtures, dps, dps_error)
    rows += page_rows(our_error)
    rows += admin_rows(our_error, dps, dps_error)
    rows += per_request_rows(our_error)
    rows += sync_rows(dps, dps_error)

    titles = {
        "ours": f"wagtail-plugin-system {package_version('wagtail-plugin-system')}",
        "dps": f"django-plugin-system {package_version('django-plugin-system')}",
        "baseline": "baseline (direct)",
    }
    print()
    print(header())
    print()
    print(harness.table(rows, titles, markdown=False))
    failures = harness.errors(rows, titles)
    if failures:
        print("\nErrors:\n" + failures)
    print()
    print(targets(rows))
    if args.markdown:
        print()
        print(harness.table(rows, titles, markdown=True))
    print(f"\n(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
