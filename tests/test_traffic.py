"""What call_with_failover() records of live traffic: events and statistics, written safely.

A provider's message is stored whatever it holds, and a write that fails never breaks
the caller's transaction.
"""

from __future__ import annotations

import datetime
import threading
from abc import abstractmethod
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from wagtail_plugin_system import (
    BasePluginItem,
    BasePluginType,
    breaker,
    cache,
    call_with_failover,
    traffic,
)
from wagtail_plugin_system.core.registry import PluginRegistry, registry
from wagtail_plugin_system.core.signals import failed_over
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


# -- failover events: one row per failure and minute, with its count ----------------------


def _post_committed(capture: Any) -> str:
    """One call whose transaction commits (so its event row takes the repeats)."""
    with capture(execute=True):
        return call_with_failover(LedgerType, "post")


def test_a_failure_repeated_within_its_minute_is_one_event_with_its_count(
    ledgers: None, clock: list[float], django_capture_on_commit_callbacks: Any
) -> None:
    announced: list[object] = []

    def receiver(**kwargs: Any) -> None:
        announced.append(kwargs["failed"])

    failed_over.connect(receiver)
    try:
        first = _post_committed(django_capture_on_commit_callbacks)
        with CaptureQueriesContext(connection) as repeats:
            for _ in range(4):
                clock[0] += 5
                assert call_with_failover(LedgerType, "post") == first == "posted"
    finally:
        failed_over.disconnect(receiver)
    assert len(announced) == 5  # every call is announced
    assert not [q for q in repeats.captured_queries if "failoverevent" in q["sql"].lower()]
    event = PluginFailoverEvent.objects.get()
    assert (event.count, event.last_at) == (1, None)  # the repeats wait for the flush
    traffic.flush()
    event.refresh_from_db()
    assert event.count == 5
    assert event.last_at is not None
    assert event.last_at.timestamp() == clock[0]


def test_the_next_minute_starts_a_new_event_and_adds_the_last_ones_repeats(
    ledgers: None, clock: list[float], django_capture_on_commit_callbacks: Any
) -> None:
    clock[0] -= clock[0] % 60  # the start of a minute
    _post_committed(django_capture_on_commit_callbacks)
    clock[0] += 30
    call_with_failover(LedgerType, "post")
    clock[0] += 40  # the next minute: its first failure is a row of its own
    _post_committed(django_capture_on_commit_callbacks)
    counts = list(PluginFailoverEvent.objects.order_by("at").values_list("count", flat=True))
    assert counts == [2, 1]  # the first minute's repeat was added when the minute ended


def _ledger_rows() -> tuple[Any, PluginInstance, PluginInstance]:
    """The ledger type's entry, its failing instance and the one that serves."""
    down = PluginInstance.objects.get(item__name="down")
    up = PluginInstance.objects.get(item__name="up")
    return registry.get_type_entry(LedgerType), down, up


def test_a_different_error_class_is_an_event_of_its_own(
    ledgers: None, clock: list[float], django_capture_on_commit_callbacks: Any
) -> None:
    entry, down, up = _ledger_rows()
    for reason, served in [
        ("ProviderDown: busy", up),
        ("TimedOut: 30 s", up),
        ("ProviderDown: busy again", up),  # the same class: a repeat of the first
        ("ProviderDown: busy", None),  # no instance served: another outcome
    ]:
        with django_capture_on_commit_callbacks(execute=True):  # each call commits
            traffic.failed_over_event(entry, "post", [(down, reason)], served)
    traffic.flush()
    rows = PluginFailoverEvent.objects.order_by("pk").values_list("reason", "served_id", "count")
    assert list(rows) == [
        ("ProviderDown: busy", up.pk, 2),
        ("TimedOut: 30 s", up.pk, 1),
        ("ProviderDown: busy", None, 1),
    ]


def test_an_event_row_rolled_back_takes_no_repeats(
    ledgers: None, clock: list[float], django_capture_on_commit_callbacks: Any
) -> None:
    """The caller's transaction rolls back the first row: the next failure writes its own."""
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        call_with_failover(LedgerType, "post")
        transaction.set_rollback(True)
    assert not PluginFailoverEvent.objects.exists()
    _post_committed(django_capture_on_commit_callbacks)
    _post_committed(django_capture_on_commit_callbacks)
    traffic.flush()
    assert list(PluginFailoverEvent.objects.values_list("count", flat=True)) == [2]


def test_repeats_are_not_added_to_another_row_with_the_same_id(
    ledgers: None, clock: list[float], django_capture_on_commit_callbacks: Any
) -> None:
    """The remembered row is gone (purged, or its id reused): its repeats update nothing."""
    _post_committed(django_capture_on_commit_callbacks)
    event = PluginFailoverEvent.objects.get()
    PluginFailoverEvent.objects.filter(pk=event.pk).update(at=event.at - datetime.timedelta(1))
    call_with_failover(LedgerType, "post")
    traffic.flush()
    assert PluginFailoverEvent.objects.get().count == 1


def test_repeats_counted_by_many_threads_at_once_are_all_added(
    ledgers: None, clock: list[float], django_capture_on_commit_callbacks: Any
) -> None:
    entry, down, up = _ledger_rows()
    failed = [(down, "ProviderDown: busy")]
    with django_capture_on_commit_callbacks(execute=True):
        traffic.failed_over_event(entry, "post", failed, up)  # the minute's row
    start = threading.Barrier(8)

    def repeat() -> None:  # counting only: no thread touches the database
        start.wait()
        for _ in range(250):
            traffic.failed_over_event(entry, "post", failed, up)

    threads = [threading.Thread(target=repeat) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    traffic.flush()
    assert PluginFailoverEvent.objects.get().count == 1 + 8 * 250
