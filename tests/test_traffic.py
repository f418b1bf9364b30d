"""What call_with_failover() records of live traffic: events and statistics, written safely.

A provider's message is stored whatever it holds, and a write that fails never breaks
the caller's transaction.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator

import pytest
from django.db import connection, transaction
from django.test import override_settings

from wagtail_plugin_system import (
    BasePluginItem,
    BasePluginType,
    breaker,
    cache,
    call_with_failover,
    traffic,
)
from wagtail_plugin_system.core.registry import PluginRegistry
from wagtail_plugin_system.models import PluginCallStats, PluginFailoverEvent, PluginInstance
from wagtail_plugin_system.sync import sync_plugins


class ProviderDown(Exception):
    """What the failing provider raises: it triggers failover."""


class LedgerType(BasePluginType):
    name = "traffic_ledger"
    label = "Ledger"
    failover_exceptions = (ProviderDown,)

    @abstractmethod
    def post(self) -> str: ...


class DownLedger(BasePluginItem):
    name = "down"
    plugin_type = LedgerType
    priority = 10

    def post(self) -> str:
        # NUL: PostgreSQL refuses it in text; a lone surrogate: no UTF-8 for it.
        raise ProviderDown("upstream said \x00 and \ud800, then hung up")


class UpLedger(BasePluginItem):
    name = "up"
    plugin_type = LedgerType
    priority = 20

    def post(self) -> str:
        return "posted"


@pytest.fixture
def ledgers(plugin_registry: PluginRegistry, db: None) -> Iterator[None]:
    plugin_registry.register_type(LedgerType)
    plugin_registry.register_item(DownLedger)
    plugin_registry.register_item(UpLedger)
    with override_settings(WAGTAIL_PLUGIN_SYSTEM={"SYNC_AFTER_MIGRATE": False}):
        sync_plugins()
        cache.clear()
        breaker.forget()
        traffic.discard()
        yield
        traffic.discard()
        cache.clear()


def test_a_provider_message_no_database_stores_is_recorded_sanitised(ledgers: None) -> None:
    assert call_with_failover(LedgerType, "post") == "posted"
    event = PluginFailoverEvent.objects.get()
    assert "\x00" not in event.reason
    assert "upstream said \ufffd and \ufffd, then hung up" in event.reason
    assert traffic.flush() == 2
    down = PluginInstance.objects.get(item__name="down")
    stats = PluginCallStats.objects.get(instance=down)
    assert stats.failures == 1
    assert "\x00" not in stats.last_failure


@pytest.mark.postgresql
def test_a_failed_event_write_leaves_the_callers_transaction_usable(ledgers: None) -> None:
    """The events table missing (code deployed before its migration): the call still
    serves, and the caller's transaction goes on (PostgreSQL aborts a transaction at its
    first error unless the failed statement ran in a savepoint)."""
    with transaction.atomic():
        with connection.schema_editor() as editor:
            editor.delete_model(PluginFailoverEvent)
        assert call_with_failover(LedgerType, "post") == "posted"
        assert traffic.flush() == 2
        assert PluginInstance.objects.of_type(LedgerType).count() == 2
        transaction.set_rollback(True)  # and the table comes back
