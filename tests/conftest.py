"""Shared fixtures for the test suite, and what the run reports about its environment.

* The header names the Python, Django and Wagtail versions, the database and the
  browser the run uses.
* Tests marked ``postgresql`` need PostgreSQL: on another database they are
  deselected (the PostgreSQL run of ``make test`` runs them). Tests marked
  ``mailers`` need Django 6.1 or later: on Django 5.2 and 6.0 they are deselected
  (the Python 3.13 run with Django 6.1 runs them).
* Tests marked ``browser`` need Chromium and Playwright, and tests marked
  ``redis`` need Debian's ``redis-server`` (the ``redis_url`` fixture starts a
  throwaway one). Without them they are deselected with the reason printed at
  the end, except in strict mode (``CI=true`` or ``WPS_STRICT_TESTS=1``), where
  that is an error.
* The circuit breaker's tests share ``store`` (each store of its state in turn),
  ``clock`` (its one clock, moved by the test) and ``stub`` (a provider on loopback).
"""

from __future__ import annotations

import os
import platform
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.processes import ROOT, sqlite_project_env
from tests.provider_stub import ProviderStub, provider_stub
from wagtail_plugin_system.core.registry import PluginRegistry, registry

STRICT = os.environ.get("CI") == "true" or os.environ.get("WPS_STRICT_TESTS") == "1"
RESULTS = Path(__file__).resolve().parent.parent / "test-results"


def database_vendor() -> str:
    from django.conf import settings

    engine: str = settings.DATABASES["default"]["ENGINE"]
    return "postgresql" if "postgresql" in engine else "sqlite"


def database_description() -> str:
    if database_vendor() == "sqlite":
        return f"sqlite {sqlite3.sqlite_version}"
    try:
        import psycopg
        from django.conf import settings

        options = settings.DATABASES["default"]
        with psycopg.connect(
            host=options["HOST"],
            port=options["PORT"],
            user=options["USER"],
            password=options["PASSWORD"] or None,
            dbname=options["NAME"],
        ) as connection:
            version = connection.execute("SHOW server_version").fetchone()
        return f"postgresql {version[0] if version else '?'}"
    except Exception as exc:
        return f"postgresql (version unknown: {exc})"


def chromium() -> tuple[str | None, str]:
    """(path to Chromium, description) or (None, why there is none)."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return None, "the playwright package is not installed"
    path = os.environ.get("WPS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        return None, "Chromium is not installed (Debian: apt-get install chromium)"
    try:
        version = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=30
        ).stdout.split()
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"Chromium does not start: {exc}"
    number = next((part for part in version if part[:1].isdigit()), "?")
    return path, f"chromium {number}"


def stack_description() -> str:
    import django
    import wagtail

    return (
        f"Python {platform.python_version()}, Django {django.__version__}, "
        f"Wagtail {wagtail.__version__}"
    )


def pytest_report_header(config: pytest.Config) -> str:
    _, browser = chromium()
    return f"stack: {stack_description()}; databases: {database_description()}; browser: {browser}"


@pytest.hookimpl(trylast=True)  # after -m has deselected what the run does not want
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    deselected: list[pytest.Item] = []
    reasons: list[str] = []
    if database_vendor() != "postgresql":
        needs_pg = [item for item in items if item.get_closest_marker("postgresql")]
        if needs_pg:
            deselected += needs_pg
            reasons.append(
                f"{len(needs_pg)} test(s) need PostgreSQL; the PostgreSQL run of 'make test' "
                f"runs them"
            )
    import django

    if django.VERSION < (6, 1):
        needs_mailers = [item for item in items if item.get_closest_marker("mailers")]
        if needs_mailers:
            deselected += needs_mailers
            reasons.append(
                f"{len(needs_mailers)} test(s) need Django 6.1's MAILERS setting; the "
                f"Python 3.13 run with Django 6.1 runs them"
            )
    path, why = chromium()
    browser_tests = [item for item in items if item.get_closest_marker("browser")]
    if browser_tests and path is None:
        if STRICT:
            raise pytest.UsageError(
                f"Strict mode: {len(browser_tests)} browser test(s) cannot run because {why}. "
                f"Install it (see .ci/run) or run without CI=true."
            )
        deselected += browser_tests
        reasons.append(f"{len(browser_tests)} browser test(s) did not run: {why}")
    redis_tests = [item for item in items if item.get_closest_marker("redis")]
    if redis_tests:
        from tests.redis_server import RedisUnavailable, find_redis_server

        try:
            find_redis_server()
        except RedisUnavailable as exc:
            if STRICT:
                raise pytest.UsageError(
                    f"Strict mode: {len(redis_tests)} Redis test(s) cannot run because {exc}."
                ) from None
            deselected += redis_tests
            reasons.append(f"{len(redis_tests)} Redis test(s) did not run: {exc}")
    if deselected:
        ids = {id(item) for item in deselected}
        items[:] = [item for item in items if id(item) not in ids]
        config.hook.pytest_deselected(items=deselected)
    config.stash[_REASONS] = reasons


_REASONS = pytest.StashKey[list[str]]()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    reasons = config.stash.get(_REASONS, [])
    if reasons:
        terminalreporter.section("not run here")
        for reason in reasons:
            terminalreporter.write_line(reason)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, with a fresh profile, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    path, why = chromium()
    if path is None:
        pytest.fail(f"Browser tests need Chromium: {why}")
    # Playwright's synchronous API keeps an event loop in this thread; the test's own
    # database calls are synchronous anyway.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=path,
            headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A new browser page; its screenshot is saved in test-results/ when the test fails."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    if request.node.stash.get(_FAILED, False):
        RESULTS.mkdir(exist_ok=True)
        tab.screenshot(path=str(RESULTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The URL of a throwaway Redis server, started once for the run."""
    from tests.redis_server import throwaway_redis

    with throwaway_redis() as url:
        yield url


@pytest.fixture(scope="session")
def _migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated by ``manage.py migrate`` in a new process, once per worker."""
    path = tmp_path_factory.mktemp("migrated") / "db.sqlite3"
    command = [sys.executable, "-m", "django", "migrate", "-v0"]
    subprocess.run(command, env=sqlite_project_env(path), cwd=ROOT, check=True)
    return path


@pytest.fixture
def migrated_sqlite(_migrated_sqlite_file: Path, tmp_path: Path) -> Path:
    """A fresh copy of a migrated SQLite database, for ``manage.py`` run in new processes.

    Migrating takes seconds; a copy of the file is the same database.
    """
    path = tmp_path / "db.sqlite3"
    shutil.copyfile(_migrated_sqlite_file, path)
    return path


@pytest.fixture
def plugin_registry() -> Iterator[PluginRegistry]:
    """The process registry, restored to its state before the test afterwards."""
    with registry.isolated() as isolated:
        yield isolated


def restore_wagtail_base_data() -> Any:
    """Make again the rows of Wagtail's data migrations that tests rely on; return the site.

    The migrations make the locale, the root collection, the root page with its home page
    and the default site. A flush deletes them: the one after each transactional test, and
    so a database kept by ``--reuse-db`` would start the next run without them. What
    exists is left alone; a database that has them all costs two queries.
    """
    from django.conf import settings
    from wagtail.models import Collection, Locale, Page, Site

    site = Site.objects.filter(is_default_site=True).select_related("root_page").first()
    if site is not None:
        return site
    Locale.objects.get_or_create(language_code=settings.LANGUAGE_CODE)
    if Collection.get_first_root_node() is None:
        Collection.add_root(name="Root")
    root = Page.get_first_root_node() or Page.add_root(instance=Page(title="Root", slug="root"))
    home = root.get_children().filter(slug="home").first() or root.add_child(
        instance=Page(title="Welcome to your new Wagtail site!", slug="home")
    )
    return Site.objects.create(hostname="localhost", port=80, root_page=home, is_default_site=True)


def _restore_after_flush(sender: Any, using: str = "default", **kwargs: Any) -> None:
    # ``flush`` emits ``post_migrate`` once per app; for Wagtail's core app, Django's
    # receivers have made its content types again before this one runs.
    if getattr(sender, "label", None) != "wagtailcore":
        return
    from django.db import connections

    if "wagtailcore_site" not in connections[using].introspection.table_names():
        return  # a migrate that stops before Wagtail's tables exist
    from django.db import transaction

    with transaction.atomic(using=using):
        restore_wagtail_base_data()


def pytest_configure(config: pytest.Config) -> None:
    from django.db.models.signals import post_migrate

    post_migrate.connect(_restore_after_flush, dispatch_uid="tests.restore_wagtail_base_data")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> None:
    """The test database, with Wagtail's base rows even when a kept one had lost them."""
    with django_db_blocker.unblock():
        restore_wagtail_base_data()


@pytest.fixture
def default_site(db: None) -> Any:
    """The default Wagtail site (see ``restore_wagtail_base_data``).

    After each flush a ``post_migrate`` receiver makes Wagtail's base rows again.
    (``serialized_rollback`` cannot do it in browser tests: once Playwright runs an event
    loop in this thread, Django's connection handles live in context variables, and the
    handle that saved the data is not this one.)
    """
    return restore_wagtail_base_data()


@pytest.fixture
def synced(db: None) -> Any:
    """The registry mirrored into the database; returns the sync report."""
    from wagtail_plugin_system.sync import sync_plugins

    return sync_plugins()


@pytest.fixture
def make_instance(synced: Any) -> Callable[..., Any]:
    """Create a plugin instance of a registered item class, with validated config."""
    from wagtail_plugin_system.models import PluginInstance

    def make(item_class: type, name: str | None = None, **kwargs: Any) -> PluginInstance:
        return PluginInstance.objects.create_instance(
            item_class, name=name or f"{item_class.name} instance", **kwargs
        )

    return make


@pytest.fixture(autouse=True)
def no_pending_traffic() -> Iterator[None]:
    """Each test starts with no call statistics or failover-event repeats pending.

    Left by an earlier test in the same process, they would be written by the first call of
    a new minute, inside whatever that test measures (its queries).
    """
    from wagtail_plugin_system import traffic

    traffic.discard()
    yield
    traffic.discard()


# -- the circuit breaker ----------------------------------------------------------------

#: Where the breaker's clock starts in tests that move it (``clock``).
BREAKER_NOW = 1_800_000_000.0


@pytest.fixture(params=["database", "cache"])
def store(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each store of the breaker's state in turn: ``"database"``, then ``"cache"``.

    The database store keeps circuits in rows (the tests' local-memory cache is private
    to the process); the cache store keeps them as keys (``VERSION_STORE = "cache"``).
    Three failures within 60 s open a circuit for 30 s. Nothing the breaker or the
    statistics keep in the process or the cache outlives the test.
    """
    from django.conf import settings
    from django.core.cache import caches
    from django.test import override_settings

    from wagtail_plugin_system import breaker, cache, traffic

    values = {
        **settings.WAGTAIL_PLUGIN_SYSTEM,
        "VERSION_STORE": request.param,
        "BREAKER_FAILURES": 3,
        "BREAKER_WINDOW": 60,
        "BREAKER_COOLDOWN": 30,
    }
    with override_settings(WAGTAIL_PLUGIN_SYSTEM=values):
        caches["default"].clear()
        cache.clear()
        breaker.forget()
        traffic.discard()
        yield request.param
        caches["default"].clear()  # circuits and reservations, so no later test finds them
        cache.clear()
        traffic.discard()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The breaker's one clock, moved by the test: ``clock[0] += 31``.

    It starts at ``BREAKER_NOW``; every reader of the breaker's time follows it.
    """
    from wagtail_plugin_system.breaker import clock as breaker_clock

    now = [BREAKER_NOW]
    monkeypatch.setattr(breaker_clock, "now", lambda: now[0])
    return now


@pytest.fixture
def stub() -> Iterator[ProviderStub]:
    """A provider on loopback that the test makes answer, fail or hang."""
    with provider_stub() as running:
        yield running
