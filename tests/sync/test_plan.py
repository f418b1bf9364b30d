"""Tests for the sync's plan: pure, from a registry and a snapshot to typed actions.

None of these tests has database access: a query would fail them.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tests.testapp.plugins import BankTransferGateway, PaymentGatewayType, StripeGateway
from wagtail_plugin_system.core.registry import PluginRegistry
from wagtail_plugin_system.models import PluginInstance, PluginItem, PluginType
from wagtail_plugin_system.sync.plan import InstanceCounts, Snapshot, plan_sync
from wagtail_plugin_system.sync.report import Action, Kind

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _registry(*items: type) -> PluginRegistry:
    registry = PluginRegistry()
    for item in items:
        registry.register_item(item)
    return registry


def _plan(registry: PluginRegistry, snapshot: Snapshot, **options: object) -> list[tuple[str, ...]]:
    actions = plan_sync(
        registry.get_type_entries(),
        snapshot,
        mode=options.get("mode", "create"),  # type: ignore[arg-type]
        prune=bool(options.get("prune", False)),
        now=NOW,
    )
    return [(str(a.action), str(a.kind), a.name) for a in actions]


def _stored() -> tuple[PluginType, PluginItem, PluginItem]:
    type_row = PluginType(pk=1, name="payment_gateway", label="Payment gateway")
    stripe = PluginItem(pk=10, plugin_type=type_row, name="stripe", is_configurable=True)
    bank = PluginItem(pk=11, plugin_type=type_row, name="bank_transfer")
    return type_row, stripe, bank


def test_an_empty_database_plans_rows_for_everything_registered() -> None:
    snapshot = Snapshot(types={}, items={}, counts={})
    actions = plan_sync(
        _registry(StripeGateway, BankTransferGateway).get_type_entries(),
        snapshot,
        mode="create",
        prune=False,
        now=NOW,
    )
    assert [(a.action, a.kind, a.name) for a in actions] == [
        (Action.CREATE, Kind.TYPE, "payment_gateway"),
        (Action.CREATE, Kind.ITEM, "payment_gateway/bank_transfer"),
        (Action.CREATE, Kind.ITEM, "payment_gateway/stripe"),
        (Action.CREATE, Kind.INSTANCE, "payment_gateway/bank_transfer"),
    ]
    type_row, bank, _, default = (a.row for a in actions)
    # New rows are built unsaved, linked to their (unsaved) parents.
    assert type_row.pk is None
    assert bank.plugin_type is type_row
    assert isinstance(default, PluginInstance)
    assert default.item is bank
    assert default.is_default


def test_a_database_that_matches_plans_nothing() -> None:
    type_row, stripe, bank = _stored()
    snapshot = Snapshot(
        types={"payment_gateway": type_row},
        items={1: {"stripe": stripe, "bank_transfer": bank}},
        counts={11: InstanceCounts(total=1)},
    )
    assert _plan(_registry(StripeGateway, BankTransferGateway), snapshot) == []


def test_code_that_is_gone_is_marked_missing_and_never_deleted_without_prune() -> None:
    type_row, stripe, bank = _stored()
    snapshot = Snapshot(
        types={"payment_gateway": type_row},
        items={1: {"stripe": stripe, "bank_transfer": bank}},
        counts={11: InstanceCounts(total=1)},
    )
    actions = plan_sync(
        _registry(StripeGateway).get_type_entries(), snapshot, mode="create", prune=False, now=NOW
    )
    assert [(a.action, a.name) for a in actions] == [
        (Action.MARK_MISSING, "payment_gateway/bank_transfer")
    ]
    assert actions[0].changes == {"is_missing": True, "missing_since": NOW}
    assert bank.is_missing is False  # planning changes no row: applying does


def test_prune_keeps_what_editors_made_and_deletes_untouched_defaults() -> None:
    type_row, stripe, bank = _stored()
    default = PluginInstance(pk=100, item=bank, name="Bank transfer", is_default=True)
    snapshot = Snapshot(
        types={"payment_gateway": type_row},
        items={1: {"stripe": stripe, "bank_transfer": bank}},
        counts={10: InstanceCounts(total=2, editor=2), 11: InstanceCounts(total=1)},
        defaults={11: [default]},
    )
    assert _plan(PluginRegistry(), snapshot, prune=True) == [
        ("mark_missing", "item", "payment_gateway/stripe"),
        ("mark_missing", "item", "payment_gateway/bank_transfer"),
        ("mark_missing", "type", "payment_gateway"),
        ("keep_missing", "item", "payment_gateway/stripe"),
        ("delete", "item", "payment_gateway/bank_transfer"),
        ("delete", "instance", "payment_gateway/bank_transfer"),
        ("keep_missing", "type", "payment_gateway"),
    ]


def test_update_mode_refreshes_labels_from_code() -> None:
    type_row, stripe, bank = _stored()
    type_row.label = "Old label"
    snapshot = Snapshot(
        types={"payment_gateway": type_row},
        items={1: {"stripe": stripe, "bank_transfer": bank}},
        counts={11: InstanceCounts(total=1)},
    )
    registry = _registry(StripeGateway, BankTransferGateway)
    assert ("update", "type", "payment_gateway") in _plan(registry, snapshot, mode="update")
    assert ("update", "type", "payment_gateway") not in _plan(registry, snapshot)
    assert PaymentGatewayType.label != "Old label"
