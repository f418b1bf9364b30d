"""The shared cache and the version row never take the site down nor make it stale.

Real servers, started by the tests and stopped or starved under them: a Redis
server killed, or refusing writes as it does when out of memory; a memcached
server killed; the database store's version row deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from tests.conftest import STRICT
from tests.memcached_server import MemcachedUnavailable, throwaway_memcached
from tests.redis_server import RedisUnavailable, throwaway_redis
from tests.test_cache import _change_in_another_process, _store, selected
from tests.testapp.plugins import BankTransferGateway, PaymentGatewayType, StripeGateway
from wagtail_plugin_system import (
    cache as plugin_cache,
)
from wagtail_plugin_system import (
    call_with_failover,
    get_plugin_instance,
    get_plugin_instance_by_id,
)
from wagtail_plugin_system.models import PluginDataVersion, PluginInstance, PluginStatus

CACHE_LOGGER = "wagtail_plugin_system.cache"


@pytest.fixture(autouse=True)
def fresh_memo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    plugin_cache.clear()
    # A cache failure logged by an earlier test would silence this test's log line.
    monkeypatch.setattr(plugin_cache, "_health", plugin_cache._StoreHealth())
    yield
    plugin_cache.clear()


@pytest.fixture
def gateways(synced: Any) -> tuple[PluginInstance, PluginInstance]:
    first = PluginInstance.objects.get(item__name="bank_transfer")
    second = PluginInstance.objects.create_instance(
        BankTransferGateway, name="Second bank", priority=60
    )
    return first, second


def _redis_caches(url: str) -> dict[str, Any]:
    return {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}


def _memcached_caches(address: str) -> dict[str, Any]:
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
            "LOCATION": address,
        }
    }


def _server(
    start: Callable[[], AbstractContextManager[str]], unavailable: type[Exception]
) -> tuple[AbstractContextManager[str], str]:
    context = start()
    try:
        location = context.__enter__()
    except unavailable as exc:
        if STRICT:
            pytest.fail(f"Strict mode: {exc}")
        pytest.skip(str(exc))
    return context, location


def _errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.name == CACHE_LOGGER and record.levelno >= logging.ERROR
    ]


def _every_surface_works(gateways: tuple[PluginInstance, PluginInstance]) -> None:
    """Resolution, by id, failover and a page: each several times, each right."""
    first, second = gateways
    for _ in range(3):
        assert selected() == "Bank transfer"
        item = get_plugin_instance_by_id(PaymentGatewayType, first.pk)
        assert item is not None
        assert item.plugin_instance == first
        assert call_with_failover(PaymentGatewayType, "create_payment", 5) == "bank:5"
        response = Client().get("/selected-gateway/")
        assert response.status_code == 200
        assert response.json()["instance"] == "Bank transfer"
    # A change is still seen at once: read from the database, not from a memo.
    PluginInstance.objects.filter(pk=first.pk).update(status=PluginStatus.DISABLED)
    assert selected() == "Second bank"
    assert Client().get("/selected-gateway/").json()["instance"] == "Second bank"
    assert get_plugin_instance_by_id(PaymentGatewayType, first.pk, prevent_disabled=True) is None
    second.name = "Renamed in the admin"
    second.save()  # the signal's token write fails: the save does not
    assert selected() == "Renamed in the admin"


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_redis_killed_keeps_every_surface_working_with_one_log_line(
    gateways: tuple[PluginInstance, PluginInstance], caplog: pytest.LogCaptureFixture
) -> None:
    server, url = _server(throwaway_redis, RedisUnavailable)
    with override_settings(CACHES=_redis_caches(url)):
        assert plugin_cache.version_store.store() == "cache"
        assert selected() == "Bank transfer"
        server.__exit__(None, None, None)  # the server is gone, with the token it held
        with caplog.at_level(logging.INFO, logger=CACHE_LOGGER):
            _every_surface_works(gateways)
        assert len(_errors(caplog)) == 1, [r.getMessage() for r in _errors(caplog)]
        assert "without the in-process memo" in _errors(caplog)[0].getMessage()


@pytest.mark.django_db(transaction=True)
def test_memcached_killed_keeps_every_surface_working(
    gateways: tuple[PluginInstance, PluginInstance], caplog: pytest.LogCaptureFixture
) -> None:
    server, address = _server(throwaway_memcached, MemcachedUnavailable)
    with override_settings(CACHES=_memcached_caches(address)):
        assert plugin_cache.version_store.store() == "cache"
        assert selected() == "Bank transfer"
        server.__exit__(None, None, None)
        with caplog.at_level(logging.INFO, logger=CACHE_LOGGER):
            _every_surface_works(gateways)
        assert len(_errors(caplog)) <= 1


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_redis_refusing_writes_does_not_leave_another_process_stale(
    gateways: tuple[PluginInstance, PluginInstance], caplog: pytest.LogCaptureFixture
) -> None:
    """The other process's write of the token fails (out of memory); this one must not keep
    serving what it memoised."""
    import redis

    server, url = _server(throwaway_redis, RedisUnavailable)
    try:
        with override_settings(CACHES=_redis_caches(url)):
            with plugin_cache.version_scope():
                assert selected() == "Bank transfer"
            with plugin_cache.version_scope(), CaptureQueriesContext(connection) as queries:
                assert selected() == "Bank transfer"
            assert len(queries) == 0  # memoised
            client = redis.Redis.from_url(url)
            client.config_set("maxmemory-policy", "noeviction")
            client.config_set("maxmemory", 1)
            with pytest.raises(redis.exceptions.ResponseError, match="maxmemory"):
                client.set("probe", "x")

            _change_in_another_process(None, redis_url=url)  # disables "Bank transfer"

            with caplog.at_level(logging.INFO, logger=CACHE_LOGGER):
                for _ in range(3):
                    with plugin_cache.version_scope():
                        assert selected() == "Second bank"
            assert len(_errors(caplog)) == 1  # this process cannot add a token either

            # This process's own write is refused too: it distrusts its memo until one succeeds.
            PluginInstance.objects.filter(name="Bank transfer").update(status="active")
            assert selected() == "Bank transfer"
            assert plugin_cache._health.unsent
            client.config_set("maxmemory", 0)
            with plugin_cache.version_scope():
                assert selected() == "Bank transfer"
            assert not plugin_cache._health.unsent  # the retried write went through
            with plugin_cache.version_scope(), CaptureQueriesContext(connection) as queries:
                assert selected() == "Bank transfer"
            assert len(queries) == 0  # memoised again
    finally:
        server.__exit__(None, None, None)


# -- The database store's row ---------------------------------------------------------------


def _raw_rename(pk: int, name: str) -> None:
    """Change a row behind the ORM's back, as a restore does."""
    table = PluginInstance._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET name = %s WHERE id = %s", [name, pk])


@pytest.mark.django_db(transaction=True)
def test_a_deleted_version_row_is_not_never_changed(
    gateways: tuple[PluginInstance, PluginInstance],
) -> None:
    with _store("database"):
        first = gateways[0]
        assert selected() == "Bank transfer"
        # Restore, truncate or flush: the row goes, and the data changes without the ORM.
        PluginDataVersion.objects.all().delete()
        _raw_rename(first.pk, "Restored once")
        assert selected() == "Restored once"
        _raw_rename(first.pk, "Restored twice")  # the row is still missing
        assert selected() == "Restored twice"
        # The next write makes the row again, and the memo is back on.
        PluginInstance.objects.filter(pk=first.pk).update(name="Bank transfer")
        assert PluginDataVersion.objects.exists()
        assert selected() == "Bank transfer"
        with CaptureQueriesContext(connection) as queries:
            assert selected() == "Bank transfer"
        assert len(queries) == 1  # the token's read only


# -- No usable encryption key ---------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "not-a-key"])
@pytest.mark.django_db
def test_without_a_usable_key_items_with_nothing_to_configure_keep_working(
    synced: Any, key: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    from django.core import checks

    stripe = PluginInstance.objects.create_instance(
        StripeGateway,
        name="Stripe",
        priority=1,
        config={"publishable_key": "pk_1", "secret_key": "sk_live_1", "currency": "EUR"},
    )
    bank = PluginInstance.objects.get(item__name="bank_transfer")
    chosen = get_plugin_instance(PaymentGatewayType)
    assert chosen is not None
    assert chosen.plugin_instance == stripe
    plugin_cache.clear()
    with override_settings(FIELD_ENCRYPTION_KEY=key):
        with caplog.at_level(logging.ERROR):
            item = get_plugin_instance(PaymentGatewayType)
        assert item is not None
        assert item.plugin_instance == bank
        assert item.config == {}
        assert "Skipping plugin instance" in caplog.text
        assert "sk_live_1" not in caplog.text
        assert call_with_failover(PaymentGatewayType, "create_payment", 3) == "bank:3"
        assert get_plugin_instance_by_id(PaymentGatewayType, stripe.pk) is None
        by_id = get_plugin_instance_by_id(PaymentGatewayType, bank.pk)
        assert by_id is not None
        assert by_id.plugin_instance == bank
        messages = [message.msg for message in checks.run_checks()]
        assert any("FIELD_ENCRYPTION_KEY" in message for message in messages)
