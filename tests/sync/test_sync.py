"""Tests for wagtail_plugin_system.sync."""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import Any

import pytest
from django.db import connection
from django.db.models import Model
from django.test.utils import CaptureQueriesContext
from wagtail.models import ModelLogEntry

from tests.testapp.factories import STRIPE_CONFIG
from tests.testapp.plugins import (
    EchoSender,
    PaymentGatewayType,
    SmsSenderType,
    StripeGateway,
    sms_sender_renamed,
)
from wagtail_plugin_system import BasePluginItem, BasePluginType
from wagtail_plugin_system.core.registry import EntryPointFailure, PluginRegistry
from wagtail_plugin_system.models import PluginInstance, PluginItem, PluginType
from wagtail_plugin_system.sync import SyncError, sync_plugins

pytestmark = pytest.mark.django_db


@pytest.fixture
def never_synced(db: None) -> None:
    """A database no sync has written to yet (with defaults, migrate's own sync has)."""
    PluginInstance.objects.all().delete()
    PluginItem.objects.all().delete()
    PluginType.objects.all().delete()


def actions(report: Any) -> set[tuple[str, str, str]]:
    return {(a.action, a.kind, a.name) for a in report.actions}


def test_first_sync_creates_types_items_and_default_instances(never_synced: None) -> None:
    report = sync_plugins()
    assert {
        ("create", "type", "payment_gateway"),
        ("create", "type", "sms_sender"),
        ("create", "item", "payment_gateway/stripe"),
        ("create", "item", "payment_gateway/bank_transfer"),
        ("create", "item", "payment_gateway/flaky"),
        ("create", "item", "sms_sender/echo"),
        ("create", "instance", "payment_gateway/bank_transfer"),
        ("create", "instance", "sms_sender/echo"),
    } == actions(report)
    assert report.changed
    stripe = PluginItem.objects.get(name="stripe")
    assert stripe.is_configurable
    assert stripe.description == "Card payments through Stripe."
    assert stripe.plugin_type.description == "Takes payments."
    assert PluginItem.objects.get(name="bank_transfer").default_priority == 50
    default = PluginInstance.objects.get(item__name="bank_transfer")
    assert (default.name, default.status, default.priority) == ("Bank transfer", "active", 50)
    assert default.is_default
    assert default.config == {}
    assert not PluginInstance.objects.filter(item__name="stripe").exists()


def test_sync_is_idempotent(synced: Any) -> None:
    report = sync_plugins()
    assert report.actions == []
    assert not report.changed
    assert PluginInstance.objects.count() == 2


def test_deleted_default_instance_is_recreated_only_when_item_has_none(synced: Any) -> None:
    PluginInstance.objects.filter(item__name="echo").update(status="disabled")
    assert sync_plugins().actions == []
    PluginInstance.objects.filter(item__name="echo").delete()
    assert ("create", "instance", "sms_sender/echo") in actions(sync_plugins())


def test_dry_run_changes_nothing(never_synced: None) -> None:
    report = sync_plugins(dry_run=True)
    assert report.dry_run
    assert ("create", "type", "payment_gateway") in actions(report)
    assert PluginType.objects.count() == 0
    assert PluginInstance.objects.count() == 0


def test_create_mode_keeps_stored_descriptions_update_mode_refreshes(synced: Any) -> None:
    PluginItem.objects.filter(name="stripe").update(description="edited", default_priority=7)
    PluginType.objects.filter(name="sms_sender").update(label="Texts")
    assert sync_plugins(mode="create").actions == []
    assert PluginItem.objects.get(name="stripe").description == "edited"

    report = sync_plugins(mode="update")
    assert actions(report) == {
        ("update", "item", "payment_gateway/stripe"),
        ("update", "type", "sms_sender"),
    }
    stripe = PluginItem.objects.get(name="stripe")
    assert (stripe.description, stripe.default_priority) == ("Card payments through Stripe.", 100)
    assert PluginType.objects.get(name="sms_sender").label == "Sms sender"


def test_unknown_mode_is_refused(db: None) -> None:
    with pytest.raises(SyncError, match="Unknown sync mode 'upsert'"):
        sync_plugins(mode="upsert")  # type: ignore[arg-type]


def test_missing_code_is_marked_and_revived(
    make_instance: Any, plugin_registry: PluginRegistry
) -> None:
    live = make_instance(StripeGateway, "Stripe live", config=STRIPE_CONFIG)
    plugin_registry.unregister_item(StripeGateway)
    report = sync_plugins()
    assert actions(report) == {("mark_missing", "item", "payment_gateway/stripe")}
    row = PluginItem.objects.get(name="stripe")
    assert row.is_missing
    assert row.missing_since is not None
    live.refresh_from_db()
    assert live.config == STRIPE_CONFIG  # kept, with its configuration
    assert sync_plugins().actions == []  # already marked

    plugin_registry.register_item(StripeGateway)
    report = sync_plugins()
    assert actions(report) == {("revive", "item", "payment_gateway/stripe")}
    row.refresh_from_db()
    assert not row.is_missing
    assert row.missing_since is None


def test_missing_type_is_marked(synced: Any, plugin_registry: PluginRegistry) -> None:
    plugin_registry.unregister_type(SmsSenderType)
    report = sync_plugins()
    assert actions(report) == {
        ("mark_missing", "type", "sms_sender"),
        ("mark_missing", "item", "sms_sender/echo"),
    }
    assert PluginType.objects.get(name="sms_sender").is_missing
    assert PluginInstance.objects.filter(item__name="echo").exists()


def test_prune_never_loses_configured_data(
    make_instance: Any, plugin_registry: PluginRegistry
) -> None:
    live = make_instance(StripeGateway, "Stripe live", config=STRIPE_CONFIG)
    plugin_registry.unregister_item(StripeGateway)
    plugin_registry.unregister_type(SmsSenderType)

    report = sync_plugins(prune=True)
    kept = [a for a in report.actions if a.action == "keep_missing"]
    assert [(a.kind, a.name) for a in kept] == [("item", "payment_gateway/stripe")]
    assert "1 editor-made instance(s)" in kept[0].detail
    # The untouched default instance of the sms item went with its item and type.
    assert ("delete", "item", "sms_sender/echo") in actions(report)
    assert ("delete", "type", "sms_sender") in actions(report)
    assert not PluginType.objects.filter(name="sms_sender").exists()
    assert PluginItem.objects.get(name="stripe").is_missing
    live.refresh_from_db()
    assert live.config == STRIPE_CONFIG

    # A kept item is revived when its code returns, with its instances intact.
    plugin_registry.register_item(StripeGateway)
    sync_plugins(prune=True)
    assert not PluginItem.objects.get(name="stripe").is_missing
    assert PluginInstance.objects.get(pk=live.pk).config == STRIPE_CONFIG


def test_prune_keeps_an_edited_default_instance(
    synced: Any, plugin_registry: PluginRegistry
) -> None:
    default = PluginInstance.objects.get(item__name="echo")
    default.priority = 3
    default.save()  # an editor touched it
    plugin_registry.unregister_type(SmsSenderType)
    report = sync_plugins(prune=True)
    assert ("keep_missing", "item", "sms_sender/echo") in actions(report)
    assert ("keep_missing", "type", "sms_sender") in actions(report)
    assert PluginInstance.objects.filter(pk=default.pk).exists()


def test_prune_is_refused_while_an_entry_point_is_broken(
    synced: Any, plugin_registry: PluginRegistry
) -> None:
    plugin_registry.entry_point_failures.append(
        EntryPointFailure("acme", "acme.plugins:Gateway", "ImportError: no acme")
    )
    plugin_registry.unregister_type(SmsSenderType)
    with pytest.raises(SyncError, match="Refusing to prune: entry point\\(s\\) acme"):
        sync_plugins(prune=True)
    assert PluginType.objects.filter(name="sms_sender", is_missing=False).exists()


def test_without_prune_nothing_is_deleted(synced: Any, plugin_registry: PluginRegistry) -> None:
    plugin_registry.unregister_type(SmsSenderType)
    sync_plugins()
    assert PluginType.objects.filter(name="sms_sender").exists()
    assert PluginInstance.objects.filter(item__name="echo").exists()


def test_alias_renames_the_row_and_keeps_instances(
    make_instance: Any, plugin_registry: PluginRegistry
) -> None:
    live = make_instance(StripeGateway, "Stripe live", config=STRIPE_CONFIG)
    plugin_registry.unregister_item(StripeGateway)

    class StripeCheckout(BasePluginItem):
        name = "stripe_checkout"
        aliases = ("stripe",)
        plugin_type = PaymentGatewayType
        configuration = StripeGateway.configuration

        def create_payment(self, amount: int) -> str:
            return "checkout"

    plugin_registry.register_item(StripeCheckout)
    report = sync_plugins()
    assert actions(report) == {("rename", "item", "payment_gateway/stripe_checkout")}
    live.refresh_from_db()
    assert live.item.name == "stripe_checkout"
    loaded = live.load_instance()
    assert isinstance(loaded, StripeCheckout)
    assert loaded.config == STRIPE_CONFIG


def test_alias_merges_instances_when_both_rows_exist(
    make_instance: Any, plugin_registry: PluginRegistry
) -> None:
    old = make_instance(StripeGateway, "Old", config=STRIPE_CONFIG)

    class Checkout(BasePluginItem):
        name = "checkout"
        plugin_type = PaymentGatewayType

        def create_payment(self, amount: int) -> str:
            return "checkout"

    plugin_registry.register_item(Checkout)
    sync_plugins()  # a row for "checkout" now exists next to "stripe"
    plugin_registry.unregister_item(StripeGateway)
    plugin_registry.unregister_item(Checkout)
    Checkout.aliases = ("stripe",)
    plugin_registry.register_item(Checkout)
    report = sync_plugins()
    assert ("merge", "item", "payment_gateway/checkout") in actions(report)
    old.refresh_from_db()
    assert old.item.name == "checkout"
    assert not PluginItem.objects.filter(name="stripe").exists()


def test_type_alias_renames_the_type_row(synced: Any, plugin_registry: PluginRegistry) -> None:
    sms_sender_renamed(plugin_registry)
    report = sync_plugins()
    assert actions(report) == {("rename", "type", "text_sender")}
    assert PluginInstance.objects.of_type("text_sender").count() == 1


def test_configurable_flag_follows_the_code(synced: Any, plugin_registry: PluginRegistry) -> None:
    assert not PluginItem.objects.get(name="echo").is_configurable
    plugin_registry.unregister_item(EchoSender)

    class ConfiguredEcho(EchoSender):
        name = "echo"
        configuration = StripeGateway.configuration

    plugin_registry.register_item(ConfiguredEcho)
    sync_plugins()
    assert PluginItem.objects.get(name="echo").is_configurable


def test_report_counts_and_json(never_synced: None) -> None:
    report = sync_plugins(dry_run=True)
    assert report.counts() == {"create instance": 2, "create item": 4, "create type": 2}
    data = report.as_dict()
    assert data["changed"] is True
    assert data["dry_run"] is True
    assert len(data["actions"]) == 8


def _register_many(registry: PluginRegistry, types: int, items_per_type: int) -> None:
    for t in range(types):
        type_class = type(
            f"BulkType{t}",
            (BasePluginType,),
            {"name": f"bulk_type_{t}", "run": abstractmethod(lambda self: None)},
        )
        for i in range(items_per_type):
            registry.register_item(
                type(
                    f"BulkItem{t}_{i}",
                    (BasePluginItem,),
                    {"name": f"item_{i}", "plugin_type": type_class, "run": lambda self: None},
                )
            )


def _count_sync_queries() -> tuple[int, int]:
    with CaptureQueriesContext(connection) as first:
        sync_plugins()
    with CaptureQueriesContext(connection) as again:
        assert not sync_plugins().changed
    return len(first), len(again)


def _sync_a_few_then_empty_the_tables(plugin_registry: PluginRegistry) -> tuple[int, int]:
    """The queries of a first sync and a re-sync of 4 generated items (2 types)."""
    _register_many(plugin_registry, types=2, items_per_type=2)
    counts = _count_sync_queries()
    PluginInstance.objects.all().delete()
    PluginItem.objects.all().delete()
    PluginType.objects.all().delete()
    return counts


@pytest.mark.slow
def test_query_count_does_not_grow_with_the_number_of_plugins(
    db: None, plugin_registry: PluginRegistry
) -> None:
    """1,000 items across 100 types cost the same queries as 4 (first sync and re-sync)."""
    small_first, small_again = _sync_a_few_then_empty_the_tables(plugin_registry)
    _register_many(plugin_registry, types=100, items_per_type=10)
    large_first, large_again = _count_sync_queries()
    assert PluginItem.objects.count() == 4 + 1000  # bulk_type_0/1 were replaced
    assert PluginInstance.objects.filter(is_default=True).count() == 2 + 1000
    # Beyond one statement per table, only the batches the backend splits inserts into.
    extra = _extra_batches(
        {PluginType: 100, PluginItem: 1000, PluginInstance: 1000, ModelLogEntry: 2100}
    )
    assert large_first == small_first + extra
    assert large_again == small_again
    # savepoint, (PostgreSQL lock,) three reads, (the version row kept with the database
    # store,) release
    assert large_again <= 7
    # savepoint, (lock,) three reads, four inserts (types, items, instances, history), the
    # default instances' "untouched" mark, (the version row with the database store,) release
    assert small_first <= 12


def _extra_batches(rows: dict[type[Model], int]) -> int:
    """Statements beyond one per table that ``bulk_create`` needs for so many rows.

    Django splits a bulk insert into batches the backend's parameter limit
    allows (999 parameters on SQLite with Django 5.2; PostgreSQL sends one
    array per column, so one statement).
    """
    extra = 0
    for model, count in rows.items():
        fields = [field for field in model._meta.concrete_fields if not field.primary_key]
        batch = connection.ops.bulk_batch_size(fields, [None] * count)
        extra += math.ceil(count / max(batch, 1)) - 1
    return extra


def test_created_rows_in_the_report_are_saved_rows(never_synced: None) -> None:
    """Receivers of plugins_synced get rows with keys, and their relations without a query."""
    report = sync_plugins()
    created = [a.row for a in report.actions if a.action == "create"]
    assert created
    for row in created:
        assert row.pk is not None
        assert not row._state.adding
        assert row._state.db == "default"
    item = next(r for r in created if isinstance(r, PluginItem) and r.name == "bank_transfer")
    default = next(r for r in created if isinstance(r, PluginInstance) and r.item_id == item.pk)
    with CaptureQueriesContext(connection) as queries:
        assert default.item.plugin_type.name == "payment_gateway"
    assert len(queries) == 0
    # Untouched defaults: created_at is exactly updated_at, as stored.
    stored = PluginInstance.objects.get(pk=default.pk)
    assert stored.created_at == stored.updated_at == default.created_at


def test_first_sync_where_the_database_cannot_return_new_keys(
    db: None, plugin_registry: PluginRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As on MySQL: the new keys are read back, one query per table, whatever the number."""
    monkeypatch.setattr(type(connection.features), "can_return_rows_from_bulk_insert", False)
    small_first, _ = _sync_a_few_then_empty_the_tables(plugin_registry)
    _register_many(plugin_registry, types=20, items_per_type=10)
    with CaptureQueriesContext(connection) as large:
        report = sync_plugins()
    extra = _extra_batches(
        {PluginType: 20, PluginItem: 200, PluginInstance: 200, ModelLogEntry: 420}
    )
    assert len(large) == small_first + extra
    created = {
        (type(a.row).__name__, a.name): a.row for a in report.actions if a.action == "create"
    }
    for (kind, name), row in created.items():
        stored = type(row).objects.get(pk=row.pk)
        if kind == "PluginType":
            assert stored.name == name
        elif kind == "PluginItem":
            assert f"{stored.plugin_type.name}/{stored.name}" == name
        else:
            assert f"{stored.item.plugin_type.name}/{stored.item.name}" == name
    assert PluginInstance.objects.filter(is_default=True).count() == 2 + 200  # test app: 2
    assert not sync_plugins().changed
