"""Tests for wagtail_plugin_system.instances: rows by id, read once per version of plugin data.

Memoisation needs committed data, as in production: the tests are transactional.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from tests.testapp.plugins import BankTransferGateway, BannerWidget
from wagtail_plugin_system import cache as plugin_cache
from wagtail_plugin_system.core.exceptions import PluginUnavailableError
from wagtail_plugin_system.core.registry import PluginRegistry
from wagtail_plugin_system.instances import get_instances, load
from wagtail_plugin_system.models import PluginInstance
from wagtail_plugin_system.sync import sync_plugins

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def scope() -> Iterator[None]:
    """One unit of work whose token is read already, as a request's first resolution does."""
    plugin_cache.clear()
    with plugin_cache.version_scope():
        plugin_cache.current_version()
        yield
    plugin_cache.clear()


@pytest.fixture
def banners(plugin_registry: PluginRegistry) -> list[PluginInstance]:
    plugin_registry.register_item(BannerWidget)
    sync_plugins()
    made = [
        PluginInstance.objects.create_instance(
            BannerWidget, name=f"Banner {n}", config={"headline": "Hi", "token": f"t-{n}"}
        )
        for n in range(3)
    ]
    plugin_cache.current_version()  # the writes above changed the version: read it again
    return made


def queries_of(func: Callable[[], Any]) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as queries:
        result = func()
    return len(queries), result


def test_one_query_for_what_is_not_read_yet_none_after(banners: list[PluginInstance]) -> None:
    first, second, third = banners
    count, rows = queries_of(lambda: get_instances([first.pk, 999_999]))
    assert count == 1
    assert rows == {first.pk: first}
    assert rows[first.pk].item.plugin_type.name == "widget"  # joined: no query
    count, rows = queries_of(lambda: get_instances([first.pk, second.pk, third.pk, 999_999]))
    assert count == 1  # only the two not read yet; the missing id is remembered as missing
    assert set(rows) == {first.pk, second.pk, third.pk}
    assert queries_of(lambda: get_instances([third.pk, 999_999]))[0] == 0
    assert queries_of(lambda: get_instances([]))[0] == 0


def test_rows_are_shared_not_copied(banners: list[PluginInstance]) -> None:
    row = get_instances([banners[0].pk])[banners[0].pk]
    assert get_instances([banners[0].pk])[banners[0].pk] is row  # no copy per caller


def test_a_change_is_seen_at_once(banners: list[PluginInstance]) -> None:
    get_instances([banners[0].pk])
    PluginInstance.objects.filter(pk=banners[0].pk).update(name="Renamed")
    count, rows = queries_of(lambda: get_instances([banners[0].pk]))
    assert rows[banners[0].pk].name == "Renamed"
    assert count == 2  # the new version token, then the row


def test_past_memo_size_the_least_recently_used_rows_go(banners: list[PluginInstance]) -> None:
    plugin_settings = {**settings.WAGTAIL_PLUGIN_SYSTEM, "MEMO_SIZE": 2}
    with override_settings(WAGTAIL_PLUGIN_SYSTEM=plugin_settings):
        get_instances([banners[0].pk, banners[1].pk])
        assert queries_of(lambda: get_instances([banners[1].pk]))[0] == 0
        get_instances([banners[1].pk, banners[2].pk])  # 3 > 2: banners[0] goes
        assert queries_of(lambda: get_instances([banners[1].pk, banners[2].pk]))[0] == 0
        assert queries_of(lambda: get_instances([banners[0].pk]))[0] == 1


def test_load_is_memoised_and_failures_are_not(
    banners: list[PluginInstance], plugin_registry: PluginRegistry
) -> None:
    row = get_instances([banners[0].pk])[banners[0].pk]
    item = load(row)
    assert item.config["token"] == "t-0"
    assert load(get_instances([banners[0].pk])[banners[0].pk]) is item  # decrypted once
    bank = PluginInstance.objects.create_instance(BankTransferGateway, name="Bank")
    plugin_cache.current_version()
    plugin_registry.unregister_item(BankTransferGateway)
    with pytest.raises(PluginUnavailableError, match="not registered in this process"):
        load(bank)
    plugin_registry.register_item(BankTransferGateway)
    assert load(bank).plugin_instance == bank  # the failure was not kept
