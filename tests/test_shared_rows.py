"""Tests for wagtail_plugin_system.shared_rows: instance rows shared through the cache.

A process's memo is its only state, so clearing it is what a new process
sees; the Redis test also asks a second Python process. The tests are
transactional, as memoisation needs committed data.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache as django_cache
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from tests.conftest import STRICT
from tests.testapp.factories import STRIPE_CONFIG
from tests.testapp.plugins import StripeGateway
from wagtail_plugin_system import cache as plugin_cache
from wagtail_plugin_system import shared_rows
from wagtail_plugin_system.instances import get_instances, load
from wagtail_plugin_system.models import PluginInstance

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent
LOCAL_MEMORY = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
SECRETS = (STRIPE_CONFIG["secret_key"], STRIPE_CONFIG["webhook_secret"])


def plugin_settings(**values: Any) -> Any:
    return override_settings(WAGTAIL_PLUGIN_SYSTEM={**settings.WAGTAIL_PLUGIN_SYSTEM, **values})


class FailingManyCache(LocMemCache):
    """A cache whose single reads and writes work (the token) and whose bulk calls fail."""

    def get_many(self, keys: Any, version: Any = None) -> Any:
        raise ConnectionError("bulk read refused")

    def set_many(self, data: Any, timeout: Any = None, version: Any = None) -> Any:
        raise ConnectionError("bulk write refused")


@pytest.fixture
def shared() -> Iterator[None]:
    """The cache version store, with a cache every "process" of the test shares."""
    with (
        override_settings(CACHES={"default": LOCAL_MEMORY}),
        plugin_settings(VERSION_STORE="cache"),
    ):
        django_cache.clear()
        yield
        django_cache.clear()


@pytest.fixture
def gateways(make_instance: Callable[..., PluginInstance]) -> list[PluginInstance]:
    return [
        make_instance(StripeGateway, name=f"Stripe {n}", config=STRIPE_CONFIG) for n in range(3)
    ]


def new_process() -> None:
    """What a process that has just started holds: nothing of its own."""
    plugin_cache.clear()


def queries_of(func: Callable[[], Any]) -> tuple[int, Any]:
    with plugin_cache.version_scope(), CaptureQueriesContext(connection) as queries:
        result = func()
    return len(queries), result


def row_entries() -> list[bytes]:
    """Every stored value of the shared rows, as the cache holds it (pickled)."""
    cache = django_cache._cache  # type: ignore[attr-defined]
    return [value for key, value in cache.items() if ":row:" in key]


def test_a_new_process_reads_the_rows_from_the_shared_cache_with_no_query(
    shared: None, gateways: list[PluginInstance]
) -> None:
    pks = [gateway.pk for gateway in gateways]
    assert queries_of(lambda: get_instances([*pks, 999_999]))[0] == 1
    new_process()
    count, rows = queries_of(lambda: get_instances([*pks, 999_999]))
    assert count == 0  # the rows, and the id with no row, came from the cache
    assert set(rows) == set(pks)
    row = rows[pks[0]]
    assert row == gateways[0]
    assert row.name == "Stripe 0"
    assert not row._state.adding
    count, names = queries_of(
        lambda: {(row.item.name, row.item.plugin_type.name) for row in rows.values()}
    )
    assert (count, names) == (0, {("stripe", "payment_gateway")})  # item and type joined
    count, item = queries_of(lambda: load(row))
    assert count == 0
    assert item.config["secret_key"] == STRIPE_CONFIG["secret_key"]  # decrypted here
    assert len(row_entries()) == 4


def test_the_cache_holds_ciphertext_never_a_secret(
    shared: None, gateways: list[PluginInstance]
) -> None:
    get_instances([gateway.pk for gateway in gateways])
    entries = row_entries()
    assert len(entries) == 3
    stored = {
        pk: config.token
        for pk, config in PluginInstance.objects.values_list("pk", "config")  # as stored
    }
    for raw in entries:
        assert not any(secret.encode() in raw for secret in SECRETS)
        assert b"pk_test_123" not in raw  # not even a public value
        entry = pickle.loads(raw)
        assert entry[0][0] in stored
        assert stored[entry[0][0]] in entry[0]  # the Fernet token, as the database holds it


def test_a_change_makes_every_process_read_the_database_again(
    shared: None, gateways: list[PluginInstance]
) -> None:
    first = gateways[0]
    get_instances([first.pk])
    first.name = "Renamed"
    first.save()
    new_process()
    count, rows = queries_of(lambda: get_instances([first.pk]))
    assert count == 1
    assert rows[first.pk].name == "Renamed"
    new_process()
    assert queries_of(lambda: get_instances([first.pk]))[0] == 0  # shared again


def test_an_entry_of_another_shape_is_read_from_the_database_and_replaced(
    shared: None, gateways: list[PluginInstance]
) -> None:
    first, second, third = gateways
    with plugin_cache.version_scope():
        version = plugin_cache.current_version()
        assert version is not None
        token = plugin_cache.token_of(version)
    place = shared_rows._database("default")
    good = queries_of(lambda: get_instances([first.pk]))[1][first.pk]
    entry = shared_rows._encode(good)
    assert entry
    django_cache.set_many(
        {
            shared_rows._key(token, first.pk, place): ("not", "a", "row"),
            shared_rows._key(token, second.pk, place): (entry[0][:-1], entry[1], entry[2]),
            shared_rows._key(token, third.pk, place): entry,  # another row's entry under this id
        }
    )
    new_process()
    count, rows = queries_of(lambda: get_instances([first.pk, second.pk, third.pk]))
    assert count == 1
    assert {pk: row.name for pk, row in rows.items()} == {
        first.pk: "Stripe 0",
        second.pk: "Stripe 1",
        third.pk: "Stripe 2",
    }
    new_process()
    assert queries_of(lambda: get_instances([first.pk, second.pk, third.pk]))[0] == 0


def test_another_schema_shares_nothing_with_this_one(
    shared: None, gateways: list[PluginInstance], monkeypatch: pytest.MonkeyPatch
) -> None:
    get_instances([gateways[0].pk])
    new_process()
    monkeypatch.setattr(shared_rows, "_fingerprint", lambda: "other-code")
    assert queries_of(lambda: get_instances([gateways[0].pk]))[0] == 1


def test_another_database_sharing_the_cache_shares_no_row(
    shared: None, gateways: list[PluginInstance], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Staging and production on one cache server without a KEY_PREFIX share the token."""
    get_instances([gateways[0].pk])
    new_process()
    here = shared_rows._database("default")
    monkeypatch.setitem(connection.settings_dict, "NAME", "another_site")  # open: kept
    assert shared_rows._database("default") != here
    assert queries_of(lambda: get_instances([gateways[0].pk]))[0] == 1


@pytest.mark.parametrize(
    "options",
    [
        {"service": "staging"},  # a PostgreSQL service names the database
        {"options": "-c search_path=staging"},  # another schema of the same database
        {"read_default_file": "/etc/mysql/staging.cnf"},
    ],
)
def test_options_that_choose_the_rows_set_the_database_apart(
    options: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    here = shared_rows._database("default")
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", options)
    assert shared_rows._database("default") != here


def test_other_options_leave_the_database_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials in ``OPTIONS`` go into no key, even hashed; a pool changes no row."""
    here = shared_rows._database("default")
    options = {
        **connection.settings_dict.get("OPTIONS", {}),
        "passfile": "/run/secrets/pgpass",
        "sslkey": "/run/key.pem",
        "pool": True,
    }
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", options)
    assert shared_rows._database("default") == here


def test_a_failing_cache_reads_the_database_and_is_logged_once(
    gateways: list[PluginInstance],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shared_rows, "_last_logged", [])
    failing = {"BACKEND": f"{__name__}.FailingManyCache"}
    pks = [gateway.pk for gateway in gateways]
    with override_settings(CACHES={"default": failing}), plugin_settings(VERSION_STORE="cache"):
        with caplog.at_level(logging.WARNING, logger="wagtail_plugin_system"):
            for _ in range(3):
                new_process()
                count, rows = queries_of(lambda: get_instances(pks))
                assert count == 1
                assert set(rows) == set(pks)
                assert load(rows[pks[0]]).config["currency"] == "EUR"
        messages = [record.getMessage() for record in caplog.records]
        assert messages == [
            "Could not read instance rows in the cache 'default' (ConnectionError: bulk read "
            "refused); they are read from the database meanwhile."
        ]  # once, not three times; the token's cache answers, so its memo stays on


def test_the_database_store_and_a_timeout_of_0_share_nothing(
    gateways: list[PluginInstance],
) -> None:
    pks = [gateway.pk for gateway in gateways]
    with override_settings(CACHES={"default": LOCAL_MEMORY}):
        django_cache.clear()
        get_instances(pks)  # a private cache: the database store
        assert row_entries() == []
        with plugin_settings(VERSION_STORE="cache", ROW_CACHE_TIMEOUT=0):
            get_instances(pks)
            assert row_entries() == []
            new_process()
            assert queries_of(lambda: get_instances(pks))[0] == 1


def test_the_file_cache_shares_no_row(gateways: list[PluginInstance], tmp_path: Path) -> None:
    """Once full, it culls entries at random: the token too, so rows would churn it."""
    files = {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache"}
    pks = [gateway.pk for gateway in gateways]
    with override_settings(CACHES={"default": {**files, "LOCATION": str(tmp_path)}}):
        assert plugin_cache.version_store.store() == "cache"
        get_instances(pks)
        new_process()
        assert queries_of(lambda: get_instances(pks))[0] == 1
        assert [path.name for path in tmp_path.iterdir()] == [
            django_cache._key_to_file(plugin_cache.VERSION_KEY).rsplit("/", 1)[-1]  # type: ignore[attr-defined]
        ]


def test_a_transaction_that_wrote_plugin_data_shares_nothing(
    shared: None, gateways: list[PluginInstance]
) -> None:
    first = gateways[0]
    get_instances([first.pk])
    new_process()
    with transaction.atomic():
        first.name = "Uncommitted"
        first.save()
        count, rows = queries_of(lambda: get_instances([first.pk]))
        assert count == 1
        assert rows[first.pk].name == "Uncommitted"
        assert all(b"Uncommitted" not in raw for raw in row_entries())  # nor shared
    new_process()
    count, rows = queries_of(lambda: get_instances([first.pk]))
    assert count == 1
    assert rows[first.pk].name == "Uncommitted"


CHILD = textwrap.dedent(
    """
    import json, django
    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from wagtail_plugin_system import cache
    from wagtail_plugin_system.instances import get_instances, load
    pks = json.loads(input())
    with cache.version_scope(), CaptureQueriesContext(connection) as queries:
        rows = get_instances(pks)
        currencies = [load(row).config["currency"] for row in rows.values()]
    print(json.dumps({
        "queries": [q["sql"] for q in queries.captured_queries],
        "names": sorted(row.name for row in rows.values()),
        "currencies": currencies,
    }))
    """
)


def ask_another_process(pks: list[int], redis: str) -> dict[str, Any]:
    database = connection.settings_dict["NAME"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "WPS_TEST_REDIS_URL": redis,
        "WPS_SQLITE_NAME": str(database),
        "PGDATABASE": str(database),
    }
    done = subprocess.run(
        [sys.executable, "-c", CHILD],
        input=json.dumps(pks),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


@pytest.mark.redis
def test_with_redis_another_process_reads_no_row_from_the_database(
    redis_url: str, gateways: list[PluginInstance]
) -> None:
    redis = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}
    pks = [gateway.pk for gateway in gateways]
    with override_settings(CACHES={"default": redis}), plugin_settings(VERSION_STORE="auto"):
        django_cache.clear()
        try:
            assert queries_of(lambda: get_instances(pks))[0] == 1
            answer = ask_another_process(pks, redis_url)
            assert answer["queries"] == []
            assert answer["names"] == ["Stripe 0", "Stripe 1", "Stripe 2"]
            assert answer["currencies"] == ["EUR"] * 3
            PluginInstance.objects.filter(pk=pks[0]).update(name="Renamed")
            answer = ask_another_process(pks, redis_url)
            assert len(answer["queries"]) == 1  # the change is read from the database
            assert answer["names"] == ["Renamed", "Stripe 1", "Stripe 2"]
            assert ask_another_process(pks, redis_url)["queries"] == []  # and shared again
            client = django_cache._cache.get_client()  # type: ignore[attr-defined]
            for key in client.keys("*:row:*"):
                raw = client.get(key)
                assert not any(secret.encode() in raw for secret in SECRETS)
        finally:
            django_cache.clear()


def test_with_memcached_a_new_process_reads_no_row_from_the_database(
    gateways: list[PluginInstance],
) -> None:
    from tests.memcached_server import MemcachedUnavailable, throwaway_memcached

    pks = [gateway.pk for gateway in gateways]
    try:
        server = throwaway_memcached()
        address = server.__enter__()
    except MemcachedUnavailable as exc:
        if STRICT:
            pytest.fail(f"Strict mode: {exc}")
        pytest.skip(str(exc))
    memcached = {"BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache"}
    try:
        with override_settings(CACHES={"default": {**memcached, "LOCATION": address}}):
            assert queries_of(lambda: get_instances(pks))[0] == 1
            new_process()
            count, rows = queries_of(lambda: get_instances(pks))
            assert count == 0
            assert load(rows[pks[0]]).config["secret_key"] == STRIPE_CONFIG["secret_key"]
    finally:
        server.__exit__(None, None, None)
