"""Benchmarks: ``make bench`` (or ``python tests/benchmarks/run.py [--markdown] [--scale N]``).

Scenarios run in one process, on one SQLite database in memory (migrated at
start), on up to three systems:

* **ours**: wagtail-plugin-system, through its public API;
* **dps**: django-plugin-system 2.0.9, installed in the same project under
  its own app label (see ``settings.py`` and ``dps.py``);
* **baseline**: the implementation class instantiated (and called) directly,
  what the code would cost with no plugin system at all. In the request rows,
  the same view instantiating the class directly, without the middleware.

The systems of a scenario run **interleaved**: each round runs one batch of
every system, in an order rotated by one place per round, so a load spike
on the machine touches every column alike. The table shows, per call, the
median, minimum and maximum over the rounds and the number of SQL queries of
one call; then how ours compares with dps and with the baseline, or "tie"
where the difference is within the noise (see ``harness.RATIO_RULE``). A
scenario that fails on one system shows ``error: ...`` in that cell only.

The sections: resolution and failover on the test app's three payment
gateways; a request through ``PluginCacheMiddleware`` and a resolution
outside requests for each cache backend (local memory, Redis, memcached,
database, file; the Redis and memcached servers are started here on loopback
and stopped afterwards); pages with 1, 10 and 100 chooser blocks, warm and
cold; the admin listing; growth (cold selection and failover with 10, 1,000
and 5,000 instances); ``pluginsync`` of 10, 1,000 and 5,000 items; request
latency during a provider outage (``outage.py``). ``--only`` runs some sections.

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
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec
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
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.test import RequestFactory, override_settings  # noqa: E402

from tests.benchmarks import costs, harness, ours  # noqa: E402
from tests.benchmarks.harness import Case, Plan, Row  # noqa: E402
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
    traffic,
    version_store,
)
from wagtail_plugin_system import cache as plugin_cache  # noqa: E402
from wagtail_plugin_system.core.registry import registry  # noqa: E402
from wagtail_plugin_system.middleware import PluginCacheMiddleware  # noqa: E402
from wagtail_plugin_system.sync import sync_plugins  # noqa: E402

PAGE_SIZES = (1, 10, 100)
#: Requests per round for a page of that many blocks.
PAGE_NUMBER = {1: 60, 10: 30, 100: 6}
#: (items, types, rounds) of the sync scenarios.
SYNC_SIZES = ((10, 1, 7), (1000, 100, 7), (5000, 500, 5))
#: Instances of the growth scenarios, with (ours, dps) calls per round: dps reads every
#: instance of the type on a cold resolution, so its calls are fewer as the type grows.
GROWTH_SIZES = ((10, 50, 50), (1000, 50, 5), (5000, 30, 2))
ADMIN_INSTANCES = 500
ADMIN_PAGE_SIZE_DEFAULT = 50

STARTED = [time.perf_counter()]


def progress(message: str) -> None:
    elapsed = time.perf_counter() - STARTED[0]
    print(f"[{elapsed:5.0f} s] {message}", file=sys.stderr, flush=True)


def admin_page_size() -> int:
    """Rows per page of our instance listing; the dps changelist is set to the same."""
    try:
        from wagtail_plugin_system.admin.viewsets import PluginInstanceViewSet
    except ImportError:
        return ADMIN_PAGE_SIZE_DEFAULT
    return int(getattr(PluginInstanceViewSet, "list_per_page", ADMIN_PAGE_SIZE_DEFAULT))


Scenario = tuple[str, dict[str, Plan]]


def scenario(name: str, *, ours_: Plan, dps_: Plan = None, baseline: Plan = None) -> Scenario:
    return name, {"ours": ours_, "dps": dps_, "baseline": baseline}


def rows_together(scenarios: list[Scenario], *, rounds: int = 7) -> list[Row]:
    """Run scenarios, their systems and the scenarios themselves interleaved in the same
    rounds (see :func:`harness.measure_rows`)."""
    result = harness.measure_rows(scenarios, rounds=rounds)
    for done in result:
        failed = [key for key, cell in done.cells.items() if cell.failed]
        progress(f"  {done.scenario}" + (f"  (error: {', '.join(failed)})" if failed else ""))
    return result


def row(
    name: str,
    *,
    ours_: Plan,
    dps_: Plan = None,
    baseline: Plan = None,
    rounds: int = 7,
) -> Row:
    """Run one scenario on the three systems, interleaved."""
    return rows_together(
        [scenario(name, ours_=ours_, dps_=dps_, baseline=baseline)], rounds=rounds
    )[0]


def or_error(error: str | None, plan: Plan) -> Plan:
    """A system's plan, or the reason that system could not be set up."""
    if error is not None:
        return f"setup failed: {error}"
    return plan


def describe_failure(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def plugin_settings(**changes: Any) -> AbstractContextManager[object]:
    """``override_settings`` of ``WAGTAIL_PLUGIN_SYSTEM`` with some keys changed."""
    return override_settings(WAGTAIL_PLUGIN_SYSTEM={**settings.WAGTAIL_PLUGIN_SYSTEM, **changes})


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


def direct() -> object:
    return StripeGateway(config=STRIPE_CONFIG)


def direct_case(number: int = 2000) -> Case:
    return Case(direct, number=number)


# -- resolution and failover -----------------------------------------------------------------


def resolution_rows(our: Any, dps_fixtures: Any, dps: Any, dps_error: str | None) -> list[Row]:
    our_error = our if isinstance(our, str) else None
    rows = []
    stripe = ours.named("Stripe")

    def resolve() -> object:
        return get_plugin_instance(PaymentGatewayType)

    def dps_warm() -> Case:
        return Case(dps.resolve, number=300, check=dps.named("Stripe"))

    def warm_row(name: str, ours_: Case) -> Row:
        """A warm-resolution row: ours as given, dps's cached path, direct instantiation."""
        return row(
            name,
            ours_=or_error(our_error, ours_),
            dps_=or_error(dps_error, dps_warm),
            baseline=direct_case(),
        )

    rows.append(
        warm_row(
            "warm resolution outside requests: get_plugin_instance(T) (token read every call)",
            Case(resolve, number=2000, check=stripe),
        )
    )

    scope = ours.version_scope()

    @contextmanager
    def scope_with_token() -> Iterator[None]:
        """A version_scope() whose first resolution (the token read) is already done."""
        assert scope is not None
        with scope():
            resolve()
            yield

    if scope is not None:
        rows.append(
            warm_row(
                "warm resolution in a version_scope() after its token read (a request's "
                "2nd, 3rd... resolution; whole requests below)",
                Case(resolve, number=2000, check=stripe, context=scope_with_token),
            )
        )
    rows.append(
        warm_row(
            "warm resolution outside requests, VERSION_CHECK_INTERVAL=1 (ours)",
            Case(
                resolve,
                number=2000,
                check=stripe,
                context=lambda: plugin_settings(VERSION_CHECK_INTERVAL=1),
            ),
        )
    )
    rows.append(
        row(
            "cold resolution, 3 instances (caches cleared before each call)",
            ours_=or_error(
                our_error, Case(resolve, number=100, setup=ours.cold_setup(), check=stripe)
            ),
            dps_=or_error(
                dps_error,
                lambda: Case(
                    dps.resolve, number=100, setup=dps.clear_caches, check=dps.named("Stripe")
                ),
            ),
            baseline=direct_case(),
            rounds=5,
        )
    )

    def ours_by_id() -> Case:
        pk = our.stripe.pk
        return Case(
            lambda: get_plugin_instance_by_id(PaymentGatewayType, pk), number=2000, check=stripe
        )

    def dps_by_id() -> Case:
        pk = str(dps_fixtures.stripe.pk)
        return Case(lambda: dps.resolve_by_id(pk), number=300, check=dps.named("Stripe"))

    rows.append(
        row(
            "warm get_plugin_instance_by_id(T, id)",
            ours_=or_error(our_error, ours_by_id),
            dps_=or_error(dps_error, dps_by_id),
            baseline=direct_case(),
        )
    )

    def ours_site() -> Case:
        site = our.site
        return Case(
            lambda: get_plugin_instance(PaymentGatewayType, site=site),
            number=2000,
            check=ours.named(our.bank.name),
        )

    def ours_request() -> Case:
        request = our.request
        return Case(
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
            baseline=Case(bank, number=2000),
        )
    )
    rows.append(
        row(
            "warm resolution with site settings (request=)",
            ours_=or_error(our_error, ours_request),
            baseline=Case(bank, number=2000),
        )
    )
    return rows


def ours_failover_call() -> object:
    return call_with_failover(PaymentGatewayType, "create_payment", 1)


def paid_by_stripe(result: object) -> bool:
    return result == "stripe:1:EUR"


def failover_rows(our: Any, dps_fixtures: Any, dps: Any, dps_error: str | None) -> list[Row]:
    our_error = our if isinstance(our, str) else None
    rows = []

    def ours_failover() -> Case:
        return Case(ours_failover_call, number=1000, check=paid_by_stripe)

    def dps_failover() -> Case:
        return Case(lambda: dps.failover(1), number=300, check=paid_by_stripe)

    def direct_call() -> object:
        return StripeGateway(config=STRIPE_CONFIG).create_payment(1)

    rows.append(
        row(
            "warm failover, first candidate succeeds",
            ours_=or_error(our_error, ours_failover),
            dps_=or_error(dps_error, dps_failover),
            baseline=Case(direct_call, number=2000),
        )
    )
    fixtures = {"ours": our, "dps": dps_fixtures}
    usable = {key: f for key, f in fixtures.items() if f is not None and not isinstance(f, str)}
    with flaky_first(usable) as failed:
        # Without the circuit breaker, which would skip the failing one after 5 failures.
        with plugin_settings(BREAKER_FAILURES=0):
            rows.append(
                row(
                    "warm failover, first candidate fails (one retry)",
                    ours_=or_error(our_error or failed.get("ours"), ours_failover),
                    dps_=or_error(dps_error or failed.get("dps"), dps_failover),
                    baseline=Case(lambda: ours.baseline_failover(1), number=2000),
                )
            )
        rows.append(
            row(
                "warm failover, first candidate's circuit open (skipped)",
                ours_=or_error(our_error or failed.get("ours"), ours_failover),
                baseline=Case(direct_call, number=2000),
            )
        )
    return rows


# -- cache backends --------------------------------------------------------------------------

Caches = dict[str, dict[str, Any]]


@contextmanager
def local_memory_caches() -> Iterator[Caches]:
    yield {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "bench-backends",
        }
    }


@contextmanager
def redis_caches() -> Iterator[Caches]:
    from tests.redis_server import throwaway_redis

    with throwaway_redis() as url:
        yield {
            "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
        }


@contextmanager
def memcached_caches() -> Iterator[Caches]:
    from tests.memcached_server import throwaway_memcached

    if find_spec("pymemcache") is None:
        raise harness.BenchError(
            "pymemcache is not installed (pip install -e '.[bench]'), Django's "
            "PyMemcacheCache needs it"
        )
    with throwaway_memcached() as address:
        yield {
            "default": {
                "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
                "LOCATION": address,
            }
        }


CACHE_TABLE = "wps_bench_cache"


@contextmanager
def database_caches() -> Iterator[Caches]:
    caches: Caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": CACHE_TABLE,
        }
    }
    with override_settings(CACHES=caches):
        call_command("createcachetable", verbosity=0)
    try:
        yield caches
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {connection.ops.quote_name(CACHE_TABLE)}")


@contextmanager
def file_caches() -> Iterator[Caches]:
    with tempfile.TemporaryDirectory(prefix="wps-bench-cache-") as directory:
        yield {
            "default": {
                "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                "LOCATION": directory,
            }
        }


BACKENDS: tuple[tuple[str, Callable[[], AbstractContextManager[Caches]]], ...] = (
    ("local-memory", local_memory_caches),
    ("Redis", redis_caches),
    ("memcached", memcached_caches),
    ("database", database_caches),
    ("file", file_caches),
)


@contextmanager
def backend(caches: Caches) -> Iterator[str]:
    """Run with these ``CACHES`` and ``VERSION_STORE = "auto"``; yield the store it chose.

    The memo starts empty; the cache must answer a write and a read.
    """
    with override_settings(CACHES=caches), plugin_settings(VERSION_STORE="auto"):
        plugin_cache.clear()
        # As a deploy does: its sync makes the database store's token row, which the
        # fixtures (written with the token in the cache) did not.
        sync_plugins()
        from django.core.cache import cache

        cache.set("wps-bench-probe", "ok")
        if cache.get("wps-bench-probe") != "ok":
            raise harness.BenchError("the cache does not give back what was written to it")
        try:
            yield version_store.store()
        finally:
            plugin_cache.clear()


def request_case(resolutions: int) -> Case:
    """A request through PluginCacheMiddleware whose view resolves ``resolutions`` times."""
    stripe = ours.named("Stripe")

    def view(request: HttpRequest) -> HttpResponse:
        for _ in range(resolutions):
            item = get_plugin_instance(PaymentGatewayType)
            if not stripe(item):
                raise harness.BenchError(f"resolved {item!r}")
        return HttpResponse()

    middleware = PluginCacheMiddleware(view)
    request = RequestFactory().get("/")
    return Case(lambda: middleware(request), number=500, check=ours.ok)


def direct_request_case(instantiations: int) -> Case:
    """The same view without the middleware, instantiating the class directly."""

    def view(request: HttpRequest) -> HttpResponse:
        for _ in range(instantiations):
            StripeGateway(config=STRIPE_CONFIG)
        return HttpResponse()

    request = RequestFactory().get("/")
    return Case(lambda: view(request), number=500, check=ours.ok)


def backend_scenarios(our_error: str | None, where: str) -> list[Row]:
    """The rows of one backend, already set up, measured together: requests with 1 and
    10 resolutions, then a resolution outside requests with VERSION_CHECK_INTERVAL 0 and 1."""
    scenarios = []
    for resolutions in (1, 10):
        noun = "resolution" if resolutions == 1 else "resolutions"
        scenarios.append(
            scenario(
                f"request with {resolutions} {noun} {where}",
                ours_=or_error(our_error, partial(request_case, resolutions)),
                baseline=direct_request_case(resolutions),
            )
        )
    stripe = ours.named("Stripe")

    def resolve() -> object:
        return get_plugin_instance(PaymentGatewayType)

    for interval in (0, 1):
        note = " (token read at most once a second)" if interval else ""
        scenarios.append(
            scenario(
                f"resolution outside requests, VERSION_CHECK_INTERVAL={interval}{note} {where}",
                ours_=or_error(
                    our_error,
                    Case(
                        resolve,
                        number=500,
                        check=stripe,
                        context=partial(plugin_settings, VERSION_CHECK_INTERVAL=interval),
                    ),
                ),
                baseline=direct_case(500),
            )
        )
    return rows_together(scenarios)


def backend_rows(our_error: str | None) -> list[Row]:
    """Per cache backend: requests with 1 and 10 resolutions, resolutions outside requests.

    ``VERSION_STORE`` is left at "auto"; each row names the store it chose. The
    request rows call ``PluginCacheMiddleware`` around a view directly (built
    with ``RequestFactory``, no other middleware): the token is read at the
    first resolution of each request. Only ours: django-plugin-system has no
    such setting.
    """
    rows = [
        row(
            "request without resolution (PluginCacheMiddleware + view; baseline: the view alone)",
            ours_=or_error(our_error, lambda: request_case(0)),
            baseline=direct_request_case(0),
        )
    ]
    for label, make_caches in BACKENDS:
        progress(f" {label} cache")
        try:
            with ExitStack() as stack:
                try:
                    caches = stack.enter_context(make_caches())
                    store = stack.enter_context(backend(caches))
                except Exception as exc:  # the backend cannot be had here: its row says why
                    why = describe_failure(exc)
                    rows.append(
                        row(f"{label} cache: not measured ({why})", ours_=f"not started: {why}")
                    )
                    continue
                rows += backend_scenarios(our_error, f"[{label} cache; version store: {store}]")
        except Exception as exc:  # stopping it failed: the rows stand, say so
            print(f"Could not stop the {label} cache cleanly: {exc}", file=sys.stderr)
    return rows


# -- pages -----------------------------------------------------------------------------------


def page_rows(our: Any) -> list[Row]:
    our_error = our if isinstance(our, str) else None
    try:
        pages = ours.Pages(our, PAGE_SIZES) if our_error is None else None
    except Exception as exc:  # reported in each cell
        our_error = f"pages: {describe_failure(exc)}"
        pages = None
    rows = []
    for composition in ("widget", "mixed"):
        for size in PAGE_SIZES:
            blocks = "1 block" if size == 1 else f"{size} blocks"
            kind = "widget" if composition == "widget" else "of the 4 chooser kinds, mixed"
            pair = []
            for cold in (False, True):

                def render(
                    composition: str = composition, size: int = size, cold: bool = cold
                ) -> Case:
                    assert pages is not None
                    client = pages.client
                    url, kinds = pages.pages[composition, size]
                    return Case(
                        lambda: client.get(url),
                        number=PAGE_NUMBER[size],
                        setup=plugin_cache.clear if cold else None,
                        check=ours.render_check(kinds),
                    )

                state = "cold (memo cleared before each request)" if cold else "warm"
                pair.append(
                    scenario(f"page, {blocks} {kind}, {state}", ours_=or_error(our_error, render))
                )
            # The warm and the cold request of a page run interleaved.
            rows += rows_together(pair)
    return rows


# -- costs -----------------------------------------------------------------------------------


def redis_page_rows(pages: costs.Pages, notes: list[str]) -> list[Row]:
    """The chooser pages again with the token and the shared rows in a real Redis server,
    round trips included, against the StructBlocks measured in the same rounds."""
    rows: list[Row] = []
    try:
        with redis_caches() as caches:

            def on_redis() -> AbstractContextManager[object]:
                stack = ExitStack()
                stack.enter_context(override_settings(CACHES=caches))
                stack.enter_context(plugin_settings(VERSION_STORE="auto"))
                return stack

            for size in (10, 100):
                group = rows_together(
                    [
                        scenario(
                            f"{size} chooser blocks, warm [Redis]",
                            ours_=pages.case("chooser", size, context=on_redis),
                        ),
                        scenario(
                            f"{size} chooser blocks, cold [Redis: rows in the shared cache]",
                            ours_=pages.case("chooser", size, state="cold", context=on_redis),
                        ),
                        scenario(
                            f"{size} templated StructBlocks [Redis]",
                            ours_=pages.case("struct", size, context=on_redis),
                        ),
                    ]
                )
                rows += group
                notes.append(
                    f"{size} chooser blocks warm / StructBlocks, Redis: "
                    f"{costs.ratio(group[0], group[2])}"
                )
                notes.append(
                    f"{size} chooser blocks cold / StructBlocks, Redis: "
                    f"{costs.ratio(group[1], group[2])}"
                )
    except Exception as exc:  # no Redis here: the row says why
        why = describe_failure(exc)
        rows.append(row(f"chooser pages on Redis: not measured ({why})", ours_=f"not run: {why}"))
    return rows


def cost_rows(our: Any) -> list[Row]:
    """Chooser blocks against Wagtail's blocks, cold selection against table and type size,
    a failed failover candidate, the page hook on content without choosers. Each group is
    measured interleaved; the ratios are printed after the table."""
    if isinstance(our, str):
        return [row("costs: not measured", ours_=f"setup failed: {our}")]
    rows: list[Row] = []
    notes: list[str] = []
    pages = costs.Pages()
    for size in (10, 100):
        group = rows_together(
            [
                scenario(f"{size} chooser blocks, warm", ours_=pages.case("chooser", size)),
                scenario(
                    f"{size} chooser blocks, cold (memo cleared; rows in the shared cache)",
                    ours_=pages.case("chooser", size, state="cold"),
                ),
                scenario(f"{size} templated StructBlocks", ours_=pages.case("struct", size)),
                scenario(f"{size} CharBlocks", ours_=pages.case("char", size)),
                scenario(
                    f"{size} templated PageChooserBlocks (Wagtail's; a query every time)",
                    ours_=pages.case("page", size),
                ),
                scenario(
                    f"{size} chooser blocks, first render after a change (nothing cached)",
                    ours_=pages.case("chooser", size, state="changed"),
                ),
            ]
        )
        rows += group
        notes.append(
            f"{size} chooser blocks warm / StructBlocks: {costs.ratio(group[0], group[2])}"
        )
        notes.append(
            f"{size} chooser blocks cold / StructBlocks: {costs.ratio(group[1], group[2])}"
        )
        notes.append(
            f"{size} chooser blocks cold / Wagtail's PageChooserBlocks: "
            f"{costs.ratio(group[1], group[4])}"
        )
        notes.append(
            f"{size} chooser blocks after a change / StructBlocks: "
            f"{costs.ratio(group[5], group[2])}"
        )

    rows += redis_page_rows(pages, notes)

    costs.steady()  # the pages above left garbage: not for these rows to collect
    alone = rows_together(
        [scenario("cold selection, 10-instance type alone", ours_=costs.cold_widget)]
    )
    costs.bulk("stripe", "Costs other", costs.OTHER_ROWS, first_priority=1000)
    try:
        crowded = rows_together(
            [
                scenario(
                    f"cold selection, 10-instance type, {costs.OTHER_ROWS:,} other rows",
                    ours_=costs.cold_widget,
                )
            ]
        )
    finally:
        costs.remove("Costs other")
    alone_again = rows_together(
        [scenario("cold selection, 10-instance type alone, again", ours_=costs.cold_widget)]
    )
    rows += alone + crowded + alone_again
    notes.append(
        f"cold selection, {costs.OTHER_ROWS:,} other rows / alone: "
        f"{costs.ratio(crowded[0], alone[0])}"
    )
    notes.append(
        f"  (/ alone, measured again once they were deleted: "
        f"{costs.ratio(crowded[0], alone_again[0])})"
    )

    def cold_gateway() -> Case:
        return Case(
            lambda: get_plugin_instance(PaymentGatewayType),
            number=50,
            setup=plugin_cache.clear,
            check=ours.named("Costs growth 0"),
        )

    costs.bulk("stripe", "Costs growth", 10, first_priority=-100_000)
    try:
        small = rows_together([scenario("cold selection, gateway type + 10", ours_=cold_gateway)])
        costs.bulk("stripe", "Costs big", costs.BIG_TYPE - 10, first_priority=-90_000)
        big = rows_together(
            [scenario(f"cold selection, gateway type + {costs.BIG_TYPE:,}", ours_=cold_gateway)]
        )
    finally:
        costs.remove("Costs growth")
        costs.remove("Costs big")
    rows += small + big
    notes.append(
        f"cold selection, {costs.BIG_TYPE:,} / 10 instances of one type: "
        f"{costs.ratio(big[0], small[0])}"
    )

    flaky, stripe = costs.stripe_and_flaky()
    our_fixtures = our
    with costs.quiet_warnings():
        succeeds = rows_together(
            [
                scenario(
                    "failover, first succeeds",
                    ours_=Case(ours_failover_call, number=1000, check=paid_by_stripe),
                ),
                scenario(
                    "plain loop, first succeeds",
                    ours_=Case(
                        costs.failing_loop(stripe, stripe), number=1000, check=paid_by_stripe
                    ),
                ),
            ]
        )
        with flaky_first({"ours": our_fixtures}):
            breaker_off = partial(plugin_settings, BREAKER_FAILURES=0)
            fails = rows_together(
                [
                    scenario(
                        "failover, first fails again within its minute (breaker off)",
                        ours_=Case(
                            ours_failover_call,
                            number=1000,
                            check=paid_by_stripe,
                            context=breaker_off,
                        ),
                    ),
                    scenario(
                        "plain loop logging the warning, first fails",
                        ours_=Case(
                            costs.failing_loop(flaky, stripe), number=1000, check=paid_by_stripe
                        ),
                    ),
                    scenario(
                        "failover, first fails for the first time in its minute",
                        ours_=Case(
                            ours_failover_call,
                            number=300,
                            setup=traffic.discard,  # nothing written this minute yet
                            check=paid_by_stripe,
                            context=breaker_off,
                        ),
                    ),
                    scenario(
                        "  of which: writing its failover event",
                        ours_=costs.failover_event_case(our_fixtures),
                    ),
                    scenario(
                        "failover, first fails, its circuit open (skipped)",
                        ours_=Case(ours_failover_call, number=1000, check=paid_by_stripe),
                    ),
                ]
            )
    rows += succeeds + fails
    timings = [r.cells["ours"].timing for r in (*succeeds, *fails)]
    if all(t is not None for t in timings):
        ours_ok, loop_ok, ours_again, loop_fail, ours_first, event, skipped = (
            t.median for t in timings if t is not None
        )
        loop_extra = loop_fail - loop_ok
        extra = (ours_again - ours_ok) - loop_extra
        notes.append(
            f"a failed candidate (breaker off), failing again within its minute: failover "
            f"+{(ours_again - ours_ok) * 1e6:.1f} us, plain loop +{loop_extra * 1e6:.1f} us: "
            f"{extra * 1e6:.1f} us more (goal: 10 us)"
        )
        first = (ours_first - ours_ok) - loop_extra
        notes.append(
            f"its first failure in a minute: {first * 1e6:.1f} us more than the plain loop, of "
            f"which writing the failover event {event * 1e6:.1f} us"
        )
        notes.append(
            f"a candidate whose circuit is open: failover +{(skipped - ours_ok) * 1e6:.1f} us"
        )

    hooks = rows_together(
        [
            scenario("page hook, 18 blocks without choosers", ours_=costs.hook_case(18)),
            scenario("page hook, 375 blocks without choosers", ours_=costs.hook_case(375)),
        ]
    )
    rows += hooks
    notes.append(f"page hook, 375 / 18 blocks without choosers: {costs.ratio(hooks[1], hooks[0])}")
    COST_NOTES[:] = notes
    return rows


COST_NOTES: list[str] = []


# -- admin -----------------------------------------------------------------------------------


def admin_rows(our_error: str | None, dps: Any, dps_error: str | None) -> list[Row]:
    page_size = admin_page_size()
    ours_setup = our_error
    dps_setup = dps_error
    client = ours.superuser_client()

    def dps_listing() -> Case:
        url = dps.changelist_url()
        return Case(lambda: client.get(url), number=3, check=ours.ok)

    try:
        if ours_setup is None:
            try:
                ours.make_instances(ADMIN_INSTANCES)
            except Exception as exc:  # reported in the cell
                ours_setup = describe_failure(exc)
        if dps_setup is None:
            try:
                if not apps.is_installed("django.contrib.admin"):
                    raise harness.BenchError("django.contrib.admin is not installed")
                dps.make_instances(ADMIN_INSTANCES)
                dps.set_admin_page_size(page_size)
            except Exception as exc:  # reported in the cell
                dps_setup = describe_failure(exc)
        return [
            row(
                f"admin listing, {ADMIN_INSTANCES} instances ({page_size} a page)",
                ours_=or_error(
                    ours_setup,
                    Case(lambda: client.get("/admin/plugins/instances/"), number=3, check=ours.ok),
                ),
                dps_=or_error(dps_setup, dps_listing),
            )
        ]
    finally:
        if our_error is None:
            ours.remove_bulk_instances()
        if dps_error is None:
            dps.remove_bulk_instances()


# -- growth ----------------------------------------------------------------------------------


def growth_rows(our_error: str | None, dps: Any, dps_error: str | None) -> list[Row]:
    """Cold selection and cold failover as the payment gateway type grows.

    Instances are added in bulk ("Growth <n>", priorities from 0, so "Growth 0"
    is selected and each system has the whole type to order); they are removed
    afterwards.
    """
    rows: list[Row] = []
    cold = ours.cold_setup()
    ours_setup = our_error
    dps_setup = dps_error
    try:
        for total, ours_number, dps_number in GROWTH_SIZES:
            progress(f" growing to {total:,} instances")
            if ours_setup is None:
                try:
                    ours.grow_to(total)
                    if ours.gateway_instances() != total:
                        raise harness.BenchError(f"{ours.gateway_instances()} instances")
                except Exception as exc:  # reported in the cells from now on
                    ours_setup = describe_failure(exc)
            if dps_setup is None:
                try:
                    dps.grow_to(total)
                    if dps.gateway_instances() != total:
                        raise harness.BenchError(f"{dps.gateway_instances()} instances")
                except Exception as exc:  # reported in the cells from now on
                    dps_setup = describe_failure(exc)
            rows.append(
                row(
                    f"cold get_plugin_instance(T), {total:,} instances (cold: ours' memo and "
                    f"Django's cache cleared, dps's cache cleared, before each call)",
                    ours_=or_error(
                        ours_setup,
                        Case(
                            lambda: get_plugin_instance(PaymentGatewayType),
                            number=ours_number,
                            setup=cold,
                            check=ours.named("Growth 0"),
                        ),
                    ),
                    dps_=or_error(
                        dps_setup,
                        partial(
                            Case,
                            dps.resolve,
                            number=dps_number,
                            setup=dps.clear_caches,
                            check=dps.named("Growth 0"),
                        ),
                    ),
                    rounds=7,
                )
            )
            rows.append(
                row(
                    f"cold call_with_failover(T), first candidate succeeds, {total:,} instances "
                    f"(the same clearing; dps's failover loop has no cache)",
                    ours_=or_error(
                        ours_setup,
                        Case(
                            ours_failover_call,
                            number=ours_number,
                            setup=cold,
                            check=paid_by_stripe,
                        ),
                    ),
                    dps_=or_error(
                        dps_setup,
                        partial(
                            Case,
                            partial(dps.failover, 1),
                            number=dps_number,
                            setup=dps.clear_caches,
                            check=paid_by_stripe,
                        ),
                    ),
                    rounds=7,
                )
            )
    finally:
        if our_error is None:
            ours.remove_bulk_instances("Growth")
        if dps_error is None:
            dps.remove_bulk_instances("Growth")
    return rows


# -- sync ------------------------------------------------------------------------------------


@contextmanager
def ours_generated(total: int, types: int) -> Iterator[None]:
    """Our registry with only the generated plugins registered; restored afterwards."""
    with registry.isolated():
        for type_class in registry.get_types():
            registry.unregister_type(type_class)
        ours.register_many(registry, total, types)
        yield


@contextmanager
def dps_generated(dps: Any, total: int, types: int) -> Iterator[None]:
    """django-plugin-system's registry with only the generated plugins registered."""
    with dps.isolated_registry():
        dps.register_many(total, types)
        yield


def sync_rows(dps: Any, dps_error: str | None) -> list[Row]:
    """Last: the first-sync scenarios empty each system's tables before every run.

    *First sync*: the tables (and, for ours, the sync's history entries) are
    emptied before each call, outside the timing. *No-op re-sync*: everything is
    already synced. Ours ``sync_plugins()``; dps ``sync_registered_plugins_to_db``
    without pruning, what ``pluginsync --no-prune`` runs.
    """
    rows: list[Row] = []
    for total, types, rounds in SYNC_SIZES:
        progress(f" registering {total:,} generated items in each registry")
        with ExitStack() as stack:
            stack.enter_context(ours_generated(total, types))
            dps_setup = dps_error
            if dps_setup is None:
                try:
                    stack.enter_context(dps_generated(dps, total, types))
                except Exception as exc:  # reported in its cells
                    dps_setup = describe_failure(exc)
            what = f"pluginsync, {total} items / {types} types"
            rows.append(
                row(
                    f"{what}, first sync",
                    ours_=Case(ours.sync, number=1, setup=ours.clear_tables, warmup=False),
                    dps_=or_error(
                        dps_setup,
                        lambda: Case(dps.sync, number=1, setup=dps.clear_tables, warmup=False),
                    ),
                    rounds=rounds,
                )
            )
            rows.append(
                row(
                    f"{what}, no-op re-sync",
                    ours_=Case(ours.sync, number=1),
                    dps_=or_error(dps_setup, lambda: Case(dps.sync, number=1)),
                    rounds=rounds,
                )
            )
            if total == 1000:
                # The first sync again, without the history entries dps does not write.
                rows.append(
                    row(
                        f"{what}, first sync, SYNC_HISTORY=False (ours)",
                        ours_=Case(
                            ours.sync,
                            number=1,
                            setup=ours.clear_tables,
                            warmup=False,
                            context=lambda: plugin_settings(SYNC_HISTORY=False),
                        ),
                        dps_=or_error(
                            dps_setup,
                            lambda: Case(dps.sync, number=1, setup=dps.clear_tables, warmup=False),
                        ),
                        rounds=rounds,
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


def server_version(binary: str) -> str:
    try:
        output = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "not found"
    words = output.split()
    version_word = next((w for w in words if w[:1].isdigit() or w.startswith("v=")), "")
    return version_word.removeprefix("v=") or output.strip() or "unknown"


def servers() -> str:
    from tests.memcached_server import MemcachedUnavailable, find_memcached
    from tests.redis_server import RedisUnavailable, find_redis_server

    parts = []
    for name, find, unavailable in (
        ("Redis", find_redis_server, RedisUnavailable),
        ("memcached", find_memcached, MemcachedUnavailable),
    ):
        try:
            parts.append(f"{name} {server_version(find())}")
        except unavailable:
            parts.append(f"{name} not installed")
    return ", ".join(parts) + " (on loopback)"


def header() -> str:
    import wagtail

    hook, hook_name = ours.cache_reset_hook()
    cold = "django.core.cache.cache.clear()" + (f" + {hook_name}" if hook else "")
    cache_backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    store = settings.WAGTAIL_PLUGIN_SYSTEM.get("VERSION_STORE", "auto")
    return "\n".join(
        [
            "wagtail-plugin-system benchmarks",
            f"  machine:  {cpu_model()}, {os.cpu_count()} cores, {platform.machine()}, "
            f"{platform.system()}",
            f"  software: Python {platform.python_version()}, Django {django.get_version()}, "
            f"Wagtail {wagtail.__version__}, {database()}, {servers()}",
            f"  systems:  wagtail-plugin-system {package_version('wagtail-plugin-system')} "
            f"(commit {source_revision()}), django-plugin-system "
            f"{package_version('django-plugin-system')}",
            f"  cache:    {cache_backend} with VERSION_STORE={store!r}, except in the rows "
            f"marked [... cache; version store: ...] (VERSION_STORE='auto')",
            f"  cold:     ours = first call after {cold}; dps = first call after "
            f"django.core.cache.cache.clear() (its selection cache)",
            "  requests: PluginCacheMiddleware around a view, called directly with a "
            "RequestFactory request; baseline = the same view without it, instantiating the "
            "class directly; pages go through the test client and every middleware",
            "  order:    in each round every system runs one batch, in an order rotated each round",
            "  cells:    median [min-max] time per call over the rounds; q = SQL queries of "
            "one call",
            f"  ratios:   {harness.RATIO_RULE}",
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
            f"{prefix}: >= 100x faster than dps's cached path",
            ratio_of(r, "dps", "ours"),
            lambda v: v >= 100,
            "{:.0f}x",
        ),
        (
            f"{prefix}: within 5x of direct instantiation",
            ratio_of(r, "ours", "baseline"),
            lambda v: v <= 5,
            "{:.1f}x the time",
        ),
    ]


def median_of(r: Row | None, system: str) -> float | None:
    cell = r.cells.get(system) if r is not None else None
    return cell.timing.median if cell is not None and cell.timing is not None else None


def request_targets(rows: list[Row]) -> list[Check]:
    """The warm-resolution targets for whole requests, on Django's default cache.

    Per resolution of a request with 10 of them: its time above a request without
    any, divided by 10 (so the token read of the request is shared by 10, not by
    thousands); the baseline the same way. dps's cached path was measured on the
    same local-memory cache.
    """
    plain = find(rows, "request without resolution")
    ten = find(rows, "request with 10 resolutions [local-memory cache")
    if ten is None:
        return []
    store = ten.scenario.rsplit("version store: ", 1)[-1].rstrip("]")
    ours_plain, ours_ten = median_of(plain, "ours"), median_of(ten, "ours")
    direct_plain, direct_ten = median_of(plain, "baseline"), median_of(ten, "baseline")
    dps_warm = median_of(find(rows, "warm resolution outside requests: "), "dps")
    per_resolution = None
    if ours_plain is not None and ours_ten is not None:
        per_resolution = max(ours_ten - ours_plain, 1e-9) / 10
    per_instantiation = None
    if direct_plain is not None and direct_ten is not None:
        per_instantiation = max(direct_ten - direct_plain, 1e-9) / 10
    prefix = (
        f"a resolution in a request of 10 (local-memory cache, version store {store}; "
        f"its share of the request's token read included)"
    )
    return [
        (
            f"{prefix}: >= 100x faster than dps's cached path",
            None if per_resolution is None or dps_warm is None else dps_warm / per_resolution,
            lambda v: v >= 100,
            "{:.0f}x",
        ),
        (
            f"{prefix}: within 5x of direct instantiation",
            None
            if per_resolution is None or per_instantiation is None
            else per_resolution / per_instantiation,
            lambda v: v <= 5,
            "{:.1f}x the time",
        ),
    ]


def targets(rows: list[Row]) -> str:
    checks: list[Check] = [
        *warm_targets(
            "warm resolution outside requests, token read every call (local-memory cache)",
            find(rows, "warm resolution outside requests: "),
        ),
        *warm_targets(
            "the same with VERSION_CHECK_INTERVAL=1",
            find(rows, "warm resolution outside requests, VERSION_CHECK_INTERVAL"),
        ),
        *warm_targets(
            "warm resolution in a version_scope() after its token read (not a whole request)",
            find(rows, "warm resolution in a version_scope()"),
        ),
        *request_targets(rows),
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
    lines = ["Targets (medians; reported, not asserted):"]
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
        help="multiply the calls per round and the rounds (e.g. 0.2 for a quick look; "
        "min. 1 call and 3 rounds)",
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated sections to run (e.g. 'Failover,Outage'); default: all",
    )
    args = parser.parse_args(argv)
    only = {name.strip().lower() for name in args.only.split(",") if name.strip()}
    harness.SCALE[0] = args.scale
    STARTED[0] = time.perf_counter()

    progress("Creating the database (migrate)...")
    call_command("migrate", verbosity=0)
    our = setup_ours()
    our_error = our if isinstance(our, str) else None
    dps, dps_fixtures, dps_error = setup_dps()

    rows: list[Row] = []
    sections: tuple[tuple[str, Callable[[], list[Row]]], ...] = (
        ("Resolution", lambda: resolution_rows(our, dps_fixtures, dps, dps_error)),
        ("Failover", lambda: failover_rows(our, dps_fixtures, dps, dps_error)),
        ("Cache backends", lambda: backend_rows(our_error)),
        ("Pages", lambda: page_rows(our)),
        ("Costs", lambda: cost_rows(our)),
        ("Admin", lambda: admin_rows(our_error, dps, dps_error)),
        ("Growth", lambda: growth_rows(our_error, dps, dps_error)),
        # Last: the first-sync scenarios empty the plugin tables.
        ("Sync", lambda: sync_rows(dps, dps_error)),
    )
    for title, section in sections:
        if only and title.lower() not in only:
            continue
        progress(f"{title}:")
        rows += section()
    outage = None
    if not only or "outage" in only:
        from tests.benchmarks import outage as outage_bench

        progress("Outage:")
        outage = outage_bench.report()

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
    if COST_NOTES:
        print("\nCost ratios (measured interleaved; spread: the rounds' extremes):")
        print("\n".join(f"  {note}" for note in COST_NOTES))
    if outage is not None:
        print()
        print(outage)
    if args.markdown:
        print()
        print(harness.table(rows, titles, markdown=True))
    print(f"\n(total {time.perf_counter() - STARTED[0]:.0f} s at scale {args.scale:g})")


if __name__ == "__main__":
    main()
