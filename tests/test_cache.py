"""Tests for wagtail_plugin_system.cache: the query-free hot path and its invalidation."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client, RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from wagtail.models import Page, Site

from tests.testapp.plugins import BankTransferGateway, PaymentGatewayType
from wagtail_plugin_system import cache as plugin_cache
from wagtail_plugin_system import (
    call_with_failover,
    get_plugin_instance,
    get_plugin_instance_by_id,
)
from wagtail_plugin_system.core.registry import PluginRegistry
from wagtail_plugin_system.models import (
    PluginInstance,
    PluginItem,
    PluginSiteChoice,
    PluginSiteSettings,
)
from wagtail_plugin_system.sync import sync_plugins

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def fresh_memo() -> Iterator[None]:
    plugin_cache.clear()
    yield
    plugin_cache.clear()


@pytest.fixture
def gateways(synced: Any) -> tuple[PluginInstance, PluginInstance]:
    first = PluginInstance.objects.get(item__name="bank_transfer")
    second = PluginInstance.objects.create_instance(
        BankTransferGateway, name="Second bank", priority=60
    )
    return first, second


def _store(name: str) -> Any:
    """Settings with ``VERSION_STORE`` set to ``name`` (the tests' cache is local memory)."""
    from django.conf import settings

    return override_settings(
        WAGTAIL_PLUGIN_SYSTEM={**settings.WAGTAIL_PLUGIN_SYSTEM, "VERSION_STORE": name}
    )


@pytest.fixture
def cache_store() -> Iterator[None]:
    """The token in Django's cache: warm resolutions cost no query, even outside scopes."""
    with _store("cache"):
        yield


@pytest.fixture(params=["cache", "database"])
def any_store(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each version store in turn: what must hold with both."""
    with _store(request.param):
        yield request.param


def selected() -> str | None:
    item = get_plugin_instance(PaymentGatewayType)
    return item.plugin_instance.name if item is not None and item.plugin_instance else None


# Tests that expect memoisation use committed data (transactional tests), as production
# does: inside a transaction with uncommitted plugin writes nothing is memoised.


def queries_of(func: Callable[[], Any]) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as queries:
        result = func()
    return len(queries), result


@pytest.mark.django_db(transaction=True)
def test_warm_resolution_is_query_free_and_reuses_the_loaded_item(
    cache_store: None,
    gateways: tuple[PluginInstance, PluginInstance],
) -> None:
    cold_queries, cold = queries_of(lambda: get_plugin_instance(PaymentGatewayType))
    assert 1 <= cold_queries <= 2
    warm_queries, warm = queries_of(lambda: get_plugin_instance(PaymentGatewayType))
    assert warm_queries == 0
    assert warm is cold  # the same loaded object: nothing decrypted again
    assert queries_of(lambda: get_plugin_instance("payment_gateway"))[0] == 0


@pytest.mark.django_db(transaction=True)
def test_warm_site_and_request_variants_are_query_free(
    cache_store: None, gateways: tuple[PluginInstance, PluginInstance], default_site: Site
) -> None:
    root = default_site.root_page.get_parent()
    home = root.add_child(instance=Page(title="Other", slug="other"))
    site = Site.objects.create(hostname="other.test", port=80, root_page=home)
    PluginSiteChoice.objects.create(
        setting=PluginSiteSettings.for_site(site),
        plugin_type=gateways[1].item.plugin_type,
        instance=gateways[1],
    )
    cold, item = queries_of(lambda: get_plugin_instance(PaymentGatewayType, site=site))
    assert cold <= 2
    assert item.plugin_instance.name == "Second bank"
    assert queries_of(lambda: get_plugin_instance(PaymentGatewayType, site=site))[0] == 0

    def by_request() -> Any:
        request = RequestFactory().get("/", HTTP_HOST="other.test", SERVER_PORT="80")
        return get_plugin_instance(PaymentGatewayType, request=request)

    by_request()
    warm, item = queries_of(by_request)  # a new request each time
    assert warm == 0
    assert item.plugin_instance.name == "Second bank"


@pytest.mark.django_db(transaction=True)
def test_by_id_and_failover_are_memoised(
    cache_store: None, gateways: tuple[PluginInstance, PluginInstance]
) -> None:
    first, _ = gateways
    get_plugin_instance_by_id(PaymentGatewayType, first.pk)
    assert queries_of(lambda: get_plugin_instance_by_id(PaymentGatewayType, first.pk))[0] == 0
    call_with_failover(PaymentGatewayType, "create_payment", 1)
    warm, result = queries_of(lambda: call_with_failover(PaymentGatewayType, "create_payment", 2))
    assert (warm, result) == (0, "bank:2")
    # Unknown ids are not memoised (they could fill the memory): each costs its query.
    assert queries_of(lambda: get_plugin_instance_by_id(PaymentGatewayType, 999999))[0] == 1
    assert queries_of(lambda: get_plugin_instance_by_id(PaymentGatewayType, 999999))[0] == 1


def _change_paths(
    first: PluginInstance, second: PluginInstance
) -> list[tuple[str, Callable[[], None], str | None]]:
    """(what, change, expected selection afterwards), applied one after the other."""

    def save() -> None:
        first.status = "disabled"
        first.save()

    def queryset_update() -> None:
        PluginInstance.objects.filter(pk=first.pk).update(status="active", priority=1)

    def bulk_update() -> None:
        first.priority, second.priority = 99, 1
        PluginInstance.objects.bulk_update([first, second], ["priority"])

    def bulk_create() -> None:
        item = PluginItem.objects.get(name="bank_transfer")
        PluginInstance.objects.bulk_create([PluginInstance(item=item, name="Bulk", priority=0)])

    def queryset_delete() -> None:
        PluginInstance.objects.filter(name="Bulk").delete()

    def delete() -> None:
        second.delete()

    def sync() -> None:
        PluginInstance.objects.all().delete()
        sync_plugins()  # recreates the default instance

    return [
        ("save", save, "Second bank"),
        ("queryset update", queryset_update, "Bank transfer"),
        ("bulk_update", bulk_update, "Second bank"),
        ("bulk_create", bulk_create, "Bulk"),
        ("queryset delete", queryset_delete, "Second bank"),
        ("delete", delete, "Bank transfer"),
        ("sync", sync, "Bank transfer"),
    ]


@pytest.mark.django_db(transaction=True)
def test_every_orm_path_invalidates(
    any_store: str, gateways: tuple[PluginInstance, PluginInstance]
) -> None:
    first, second = gateways
    assert selected() == "Bank transfer"
    for what, change, expected in _change_paths(first, second):
        assert selected() is not None  # warm the memo
        change()
        assert selected() == expected, what


@pytest.mark.django_db
def test_registry_changes_invalidate(
    gateways: tuple[PluginInstance, PluginInstance], plugin_registry: PluginRegistry
) -> None:
    assert selected() == "Bank transfer"
    plugin_registry.unregister_item(BankTransferGateway)
    assert selected() is None


@pytest.mark.django_db(transaction=True)
def test_version_is_read_once_per_request_scope(
    gateways: tuple[PluginInstance, PluginInstance], client: Client
) -> None:
    selected()
    with plugin_cache.version_scope():
        selected()
        with override_settings(
            CACHES={"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
        ):
            # Inside the scope the token is not read again, so even a cache that
            # forgets everything leaves the memo usable.
            assert queries_of(selected)[0] == 0
        first, _ = gateways
        first.status = "disabled"
        first.save()  # a change made by this process is seen inside the scope
        assert selected() == "Second bank"


@pytest.mark.django_db
def test_dummy_cache_disables_memoising(
    cache_store: None, gateways: tuple[PluginInstance, PluginInstance]
) -> None:
    """With the token asked to live in a cache that forgets everything, nothing is memoised."""
    with override_settings(
        CACHES={"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    ):
        assert plugin_cache.current_version() is None
        selected()
        assert queries_of(selected)[0] >= 1  # never stale: always asks the database


@pytest.mark.django_db
def test_the_shared_cache_holds_no_plaintext(
    cache_store: None,
    gateways: tuple[PluginInstance, PluginInstance],
) -> None:
    from django.core.cache import cache

    from tests.testapp.factories import STRIPE_CONFIG
    from tests.testapp.plugins import StripeGateway

    PluginInstance.objects.create_instance(
        StripeGateway, name="Stripe", config=STRIPE_CONFIG, priority=0
    )
    assert (
        get_plugin_instance(PaymentGatewayType).config["secret_key"] == STRIPE_CONFIG["secret_key"]
    )
    stored = cache._cache  # type: ignore[attr-defined]  # the local-memory cache's storage
    ours = [key for key in stored if "wagtail_plugin_system" in key]
    assert ours == [cache.make_key(plugin_cache.VERSION_KEY)]  # only the version token
    assert all(STRIPE_CONFIG["secret_key"].encode() not in value for value in stored.values())


CHANGE_IN_ANOTHER_PROCESS = textwrap.dedent(
    """
    import django
    django.setup()
    from wagtail_plugin_system.models import PluginInstance
    PluginInstance.objects.filter(name="Bank transfer").update(status="disabled")
    print("changed")
    """
)


def _file_cache(cache_dir: Path) -> dict[str, Any]:
    """A cache another process can share: Django's file-based cache in ``cache_dir``."""
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(cache_dir),
        }
    }


def _change_in_another_process(cache_dir: Path | None, redis_url: str | None = None) -> None:
    """Disable "Bank transfer" from a new Python process sharing the database.

    With ``cache_dir`` it shares a file cache too, with ``redis_url`` a Redis cache;
    without either, it has its own local-memory cache, as every process of a project
    that leaves ``CACHES`` unset.
    """
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    env.pop("WPS_TEST_CACHE_DIR", None)
    env.pop("WPS_TEST_REDIS_URL", None)
    if cache_dir is not None:
        env["WPS_TEST_CACHE_DIR"] = str(cache_dir)
    if redis_url is not None:
        env["WPS_TEST_REDIS_URL"] = redis_url
    database = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        env["WPS_SQLITE_NAME"] = database
    else:
        env["PGDATABASE"] = database
    result = subprocess.run(
        [sys.executable, "-c", CHANGE_IN_ANOTHER_PROCESS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "changed"


def _with_interval(seconds: float) -> Any:
    from django.conf import settings

    return override_settings(
        WAGTAIL_PLUGIN_SYSTEM={**settings.WAGTAIL_PLUGIN_SYSTEM, "VERSION_CHECK_INTERVAL": seconds}
    )


@contextmanager
def _backup_behind_bank_transfer(tmp_path: Path, interval: float) -> Iterator[Path]:
    """Synced plugins and a "Backup" gateway, with a file cache another process can share.

    Yields the cache's directory, with "Bank transfer" selected (and memoised).
    """
    cache_dir = tmp_path / "cache"
    # Django resets its cache handler when CACHES is overridden.
    with override_settings(CACHES=_file_cache(cache_dir)), _with_interval(interval):
        sync_plugins()
        PluginInstance.objects.create_instance(BankTransferGateway, name="Backup", priority=90)
        assert selected() == "Bank transfer"
        yield cache_dir


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_change_in_another_process_reaches_this_one(
    plugin_registry: PluginRegistry, tmp_path: Path
) -> None:
    with _backup_behind_bank_transfer(tmp_path, interval=0) as cache_dir:
        assert queries_of(selected)[0] == 0  # memoised in this process

        _change_in_another_process(cache_dir)
        assert selected() == "Backup"


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_without_a_shared_cache_another_process_change_is_seen_at_the_next_scope(
    gateways: tuple[PluginInstance, PluginInstance],
) -> None:
    """CACHES unset: each process has its own local-memory cache; the version is in the database."""
    from django.conf import settings

    assert settings.CACHES["default"]["BACKEND"].endswith("LocMemCache")
    assert plugin_cache.version_store.store() == "database"
    with plugin_cache.version_scope():
        assert selected() == "Bank transfer"
    with plugin_cache.version_scope():
        # Warm: one small query for the version, then nothing, however many resolutions.
        assert queries_of(selected) == (1, "Bank transfer")
        assert queries_of(selected) == (0, "Bank transfer")

    _change_in_another_process(None)  # disables "Bank transfer"
    with plugin_cache.version_scope():
        assert selected() == "Second bank"


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_with_redis_another_process_change_is_seen_at_the_next_scope(
    gateways: tuple[PluginInstance, PluginInstance], redis_url: str
) -> None:
    """A shared cache (Django's RedisCache on a real server): the token is there, no query."""
    redis_cache = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
        }
    }
    with override_settings(CACHES=redis_cache):
        from django.core.cache import cache

        cache.clear()
        assert plugin_cache.version_store.store() == "cache"
        with plugin_cache.version_scope():
            assert selected() == "Bank transfer"
        with plugin_cache.version_scope():
            assert queries_of(selected) == (0, "Bank transfer")  # a warm request: no query
        _change_in_another_process(None, redis_url=redis_url)  # disables "Bank transfer"
        with plugin_cache.version_scope():
            assert selected() == "Second bank"


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_check_interval_delays_other_processes_changes_until_a_scope(
    plugin_registry: PluginRegistry, tmp_path: Path
) -> None:
    """The documented trade-off: outside scopes, another process's change waits."""
    with _backup_behind_bank_transfer(tmp_path, interval=600) as cache_dir:
        with override_settings(
            CACHES={"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
        ):
            # The token is not read again within the interval, so even a cache that
            # forgets everything leaves the memo usable.
            assert queries_of(selected) == (0, "Bank transfer")
        _change_in_another_process(cache_dir)
        assert selected() == "Bank transfer"  # not seen outside a scope yet
        with plugin_cache.version_scope():
            assert selected() == "Backup"  # a scope reads the token...
        assert selected() == "Backup"  # ...and what it read is used outside it too


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_check_interval_reads_the_token_again_once_it_has_passed(
    plugin_registry: PluginRegistry, tmp_path: Path
) -> None:
    import time

    with _backup_behind_bank_transfer(tmp_path, interval=0.2) as cache_dir:
        _change_in_another_process(cache_dir)
        time.sleep(0.2)  # at least the interval since the last read, however fast that was
        assert selected() == "Backup"


@pytest.mark.django_db(transaction=True)
def test_check_interval_still_sees_this_processes_changes_at_once(
    gateways: tuple[PluginInstance, PluginInstance],
) -> None:
    with _with_interval(3600):
        assert selected() == "Bank transfer"
        assert queries_of(selected)[0] == 0
        first, _ = gateways
        first.status = "disabled"
        first.save()
        assert selected() == "Second bank"
        PluginInstance.objects.filter(pk=first.pk).update(status="active")
        assert selected() == "Bank transfer"


@pytest.mark.django_db(transaction=True)
def test_resolution_is_thread_safe_while_data_changes(synced: Any) -> None:
    """Threads resolving while the selection changes: valid answers, and every change seen."""
    import threading
    import time

    from django.db import connections

    second = PluginInstance.objects.create_instance(
        BankTransferGateway, name="Second bank", priority=60
    )
    valid = {"Bank transfer", "Second bank"}
    answers: list[str | None] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def resolve() -> None:
        try:
            while not stop.is_set():
                with plugin_cache.version_scope():
                    answers.append(selected())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=resolve) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for number in range(10):
            expected = "Second bank" if number % 2 == 0 else "Bank transfer"
            second.priority = 10 if expected == "Second bank" else 60
            second.save()
            mark = len(answers)
            deadline = time.monotonic() + 10
            while expected not in answers[mark:] and time.monotonic() < deadline:
                time.sleep(0.01)
            assert expected in answers[mark:], f"change {number} not seen by the threads"
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert not errors, errors
    assert set(answers) <= valid


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_leaves_nothing_stale(
    cache_store: None,
    gateways: tuple[PluginInstance, PluginInstance],
) -> None:
    from django.db import transaction

    first, _ = gateways
    assert selected() == "Bank transfer"

    seen_inside: list[str | None] = []
    with transaction.atomic():
        first.status = "disabled"
        first.save()
        seen_inside.append(selected())  # this transaction sees its own change
        transaction.set_rollback(True)
    assert seen_inside == ["Second bank"]
    assert selected() == "Bank transfer"  # ... which never happened
    assert queries_of(selected)[0] == 0  # and memoising resumes


@pytest.mark.django_db
def test_nothing_is_memoised_over_uncommitted_writes(
    gateways: tuple[PluginInstance, PluginInstance],
) -> None:
    """pytest's own transaction is never committed: each resolution asks the database."""
    selected()
    assert queries_of(selected)[0] >= 1


# -- The memo's namespaces ------------------------------------------------------------------


def test_a_namespace_keeps_its_bound_and_evicts_the_least_recently_used() -> None:
    memo: plugin_cache.Memo[int, str] = plugin_cache.Memo("test_bound", max_size=3)
    for key in range(3):
        memo.set(key, "v1", f"value {key}")
    assert memo.get(0, "v1") == "value 0"  # 0 is now the most recently used
    memo.set(3, "v1", "value 3")
    assert len(memo) == 3
    assert memo.get(1, "v1") is plugin_cache.MISS  # the least recently used went
    assert [memo.get(key, "v1") for key in (0, 2, 3)] == ["value 0", "value 2", "value 3"]


def test_namespaces_evict_independently() -> None:
    busy: plugin_cache.Memo[int, int] = plugin_cache.Memo("test_busy", max_size=2)
    quiet: plugin_cache.Memo[str, int] = plugin_cache.Memo("test_quiet", max_size=2)
    quiet.set("kept", "v1", 1)
    for key in range(50):
        busy.set(key, "v1", key)
    assert len(busy) == 2
    assert quiet.get("kept", "v1") == 1


def test_the_bound_defaults_to_memo_size() -> None:
    from django.conf import settings

    memo: plugin_cache.Memo[int, int] = plugin_cache.Memo("test_default_bound")
    with override_settings(
        WAGTAIL_PLUGIN_SYSTEM={**settings.WAGTAIL_PLUGIN_SYSTEM, "MEMO_SIZE": 4}
    ):
        for key in range(10):
            memo.set(key, "v1", key)
    assert len(memo) == 4
    assert memo.get(9, "v1") == 9


def test_an_entry_of_another_version_or_no_version_is_a_miss() -> None:
    memo: plugin_cache.Memo[str, None] = plugin_cache.Memo("test_versions", max_size=2)
    memo.set("key", "v1", None)
    assert memo.get("key", "v1") is None  # a memoised None is a hit, not a miss
    assert memo.get("key", "v2") is plugin_cache.MISS
    assert memo.get("key", None) is plugin_cache.MISS
    memo.set("other", None, None)  # no version: nothing memoised
    assert len(memo) == 1
    plugin_cache.clear()
    assert len(memo) == 0


@pytest.mark.django_db(transaction=True)
def test_many_rows_by_id_do_not_evict_the_resolved_plugins(
    cache_store: None, gateways: tuple[PluginInstance, PluginInstance]
) -> None:
    from django.conf import settings

    from wagtail_plugin_system.instances import get_instances

    with override_settings(
        WAGTAIL_PLUGIN_SYSTEM={**settings.WAGTAIL_PLUGIN_SYSTEM, "MEMO_SIZE": 3}
    ):
        assert selected() == "Bank transfer"
        get_instances(range(1000, 1010))  # ten unknown ids: more than the bound
        assert queries_of(selected) == (0, "Bank transfer")
