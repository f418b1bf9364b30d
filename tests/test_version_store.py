"""Tests for wagtail_plugin_system.version_store: which cache and which store hold the token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.core import checks
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from tests.test_cache import _change_in_another_process, selected
from tests.testapp.plugins import BankTransferGateway
from wagtail_plugin_system import cache as plugin_cache
from wagtail_plugin_system import version_store
from wagtail_plugin_system.models import PluginDataVersion, PluginInstance

DATABASE_CACHE = {
    "BACKEND": "django.core.cache.backends.db.DatabaseCache",
    "LOCATION": "wps_test_cache_table",
}
LOCAL_MEMORY = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}


def redis_at(url: str) -> dict[str, str]:
    return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}


def plugin_settings(**values: Any) -> Any:
    return override_settings(WAGTAIL_PLUGIN_SYSTEM={**settings.WAGTAIL_PLUGIN_SYSTEM, **values})


def chosen() -> tuple[str, str]:
    return version_store.cache_alias(), version_store.store()


def test_a_per_process_cache_puts_the_token_in_the_database() -> None:
    with override_settings(CACHES={"default": LOCAL_MEMORY}):
        assert chosen() == ("default", "database")


def test_the_database_cache_puts_the_token_in_the_database_row() -> None:
    """Reading it from the cache table would be a query too, and writing it several."""
    with override_settings(CACHES={"default": DATABASE_CACHE}):
        assert chosen() == ("default", "database")


@pytest.mark.parametrize("default", [DATABASE_CACHE, LOCAL_MEMORY])
def test_a_redis_or_memcached_cache_elsewhere_in_caches_is_preferred(
    default: dict[str, str],
) -> None:
    caches = {
        "default": default,
        "broken": {"BACKEND": "no.such.CacheBackend"},  # left alone: its error is for its users
        "shared": redis_at("redis://127.0.0.1:1/0"),  # made, never connected to here
    }
    with override_settings(CACHES=caches):
        assert chosen() == ("shared", "cache")


def test_cache_alias_when_set_is_used_as_is() -> None:
    caches = {"default": DATABASE_CACHE, "shared": redis_at("redis://127.0.0.1:1/0")}
    with override_settings(CACHES=caches), plugin_settings(CACHE_ALIAS="default"):
        assert chosen() == ("default", "database")
    with override_settings(CACHES=caches), plugin_settings(VERSION_STORE="cache"):
        assert chosen() == ("shared", "cache")


@pytest.mark.django_db
def test_the_deploy_check_says_why_the_database_cache_means_the_database_store() -> None:
    with override_settings(CACHES={"default": DATABASE_CACHE}):
        messages = {m.id: m for m in checks.run_checks(include_deployment_checks=True)}
    message = messages["wagtail_plugin_system.I001"]
    assert "DatabaseCache: reading the token from it would be a query as well" in message.msg
    assert "Redis, Memcached" in (message.hint or "")


def queries_of(func: Callable[[], Any]) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as queries:
        result = func()
    return len(queries), result


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_database_cache_and_redis_a_warm_request_runs_no_query(synced: Any, redis_url: str) -> None:
    """The default cache is the database cache; Redis is configured too: the token is there."""
    PluginInstance.objects.create_instance(BankTransferGateway, name="Second bank", priority=60)
    with override_settings(CACHES={"default": DATABASE_CACHE, "shared": redis_at(redis_url)}):
        from django.core.cache import caches

        caches["shared"].clear()
        plugin_cache.clear()
        assert chosen() == ("shared", "cache")
        with plugin_cache.version_scope():
            assert selected() == "Bank transfer"
        with plugin_cache.version_scope():
            assert queries_of(selected) == (0, "Bank transfer")  # no query, not even the token
        # The other process has Redis as its default cache: the same server, the same key.
        _change_in_another_process(None, redis_url=redis_url)  # disables "Bank transfer"
        with plugin_cache.version_scope():
            assert selected() == "Second bank"
    plugin_cache.clear()


@pytest.mark.django_db
def test_the_database_store_reads_the_row_in_one_query_each_time() -> None:
    """The query is compiled once; each read still asks the database (nothing is kept)."""
    with plugin_settings(VERSION_STORE="database"):
        version_store.bump(None)
        first = version_store.read()
        with CaptureQueriesContext(connection) as queries:
            assert version_store.read() == first
        assert len(queries) == 1
        assert "plugindataversion" in queries[0]["sql"].lower()

        version_store.bump(None)
        assert version_store.read() not in (None, first)

        # A missing row (restore, truncate, flush) is not "never changed": no token, no memo.
        PluginDataVersion.objects.all().delete()
        assert version_store.read() is None


@pytest.mark.django_db
def test_a_missing_token_row_is_said_once_and_made_again_by_a_sync(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Without the row nothing is memoised: a log line says so, and a deploy's sync fixes it."""
    import logging

    from wagtail_plugin_system.sync import sync_plugins

    with plugin_settings(VERSION_STORE="database"):
        sync_plugins()
        PluginDataVersion.objects.all().delete()
        version_store._said_missing[0] = False
        with caplog.at_level(logging.WARNING, logger="wagtail_plugin_system.version_store"):
            assert version_store.read() is None
            assert version_store.read() is None
        said = [record.getMessage() for record in caplog.records]
        assert len(said) == 1
        assert "version row is missing" in said[0]
        assert "manage.py pluginsync" in said[0]

        report = sync_plugins()
        assert not report.changed  # nothing to sync: the row is made all the same
        token = version_store.read()
        assert token is not None
        sync_plugins()  # an existing row is left as it is
        assert version_store.read() == token

        # Missing again later: said again.
        caplog.clear()
        PluginDataVersion.objects.all().delete()
        with caplog.at_level(logging.WARNING, logger="wagtail_plugin_system.version_store"):
            assert version_store.read() is None
        assert len(caplog.records) == 1

    with plugin_settings(VERSION_STORE="cache"):
        PluginDataVersion.objects.all().delete()
        sync_plugins()
        assert not PluginDataVersion.objects.exists()  # the token lives in the cache


def test_changing_databases_forgets_the_compiled_read() -> None:
    from django.core.signals import setting_changed

    version_store._read_queries["default"] = ("SELECT 'stale'", ())
    # Django warns about changing DATABASES in tests; the package forgets its compiled read.
    with pytest.warns(UserWarning, match="DATABASES"):
        setting_changed.send(None, setting="DATABASES", value=settings.DATABASES, enter=True)
    assert version_store._read_queries == {}
