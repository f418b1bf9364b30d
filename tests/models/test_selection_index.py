"""The selection order is served by an index: the plan reads a type's rows in order."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from tests.testapp.factories import STRIPE_CONFIG
from tests.testapp.plugins import (
    BankTransferGateway,
    PaymentGatewayType,
    StripeGateway,
    sms_sender_renamed,
)
from tests.testapp.statistics import analyze_instances
from wagtail_plugin_system.core.registry import PluginRegistry, registry
from wagtail_plugin_system.models import (
    SELECTABLE_STATUSES,
    PluginInstance,
    PluginItem,
    PluginStatus,
    PluginType,
)
from wagtail_plugin_system.selection import BATCH_SIZE, get_candidates, selection_rows

pytestmark = pytest.mark.django_db

INDEX = "wps_instance_selection_order"


def selection_query() -> Any:
    """The first batch cold selection reads, built by selection itself."""
    entry = registry.get_type_entry(PaymentGatewayType)
    return selection_rows(entry, SELECTABLE_STATUSES)[:BATCH_SIZE]


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def assert_index_gives_the_order() -> None:
    if connection.vendor == "postgresql":
        raw = selection_query().explain(format="json")
        nodes = list(_nodes(json.loads(raw)[0]["Plan"]))
        scans = [n for n in nodes if n.get("Index Name") == INDEX]
        assert [n["Node Type"] for n in scans] in (["Index Scan"], ["Index Only Scan"]), raw
        assert not [n for n in nodes if n["Node Type"] in ("Sort", "Incremental Sort")], raw
    else:  # SQLite: the plan is text; a sort shows as a temporary B-tree
        plan = selection_query().explain()
        assert INDEX in plan, plan
        assert "TEMP B-TREE" not in plan, plan


def bulk_instances(count: int) -> None:
    """``count`` reserved Stripe instances in one insert, as an import would add them."""
    item = PluginItem.objects.get(name=StripeGateway.name)
    PluginInstance.objects.bulk_create(
        [
            PluginInstance(item=item, name=f"Bulk {n}", status=PluginStatus.RESERVED, priority=n)
            for n in range(count)
        ],
        batch_size=1000,
    )


def analyze_plugin_tables() -> None:
    analyze_instances()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (PluginItem, PluginType):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


@pytest.fixture
def own_statistics(synced: Any) -> None:
    """Planner statistics that describe this test's tables, taken before it starts.

    Otherwise the plan depends on what the same database left behind: an
    ``ANALYZE`` inside a rolled-back test keeps its row counts, and autovacuum
    analyzes whatever rows committed tests left.
    """
    analyze_plugin_tables()


def test_the_plan_uses_the_selection_index_for_the_order(own_statistics: None) -> None:
    """With thousands of rows of the type, read with up-to-date statistics.

    No plan is asserted for a handful of rows: whether PostgreSQL sorts three
    rows or reads them from the index is a matter of estimates, and costs the
    same; the order matters once a type has many rows.
    """
    bulk_instances(5000)
    analyze_instances()  # what autovacuum does on a live database
    assert_index_gives_the_order()


def test_the_plan_uses_the_index_right_after_a_bulk_insert(own_statistics: None) -> None:
    """The statistics still describe a table of a few rows: the order comes from the index."""
    bulk_instances(5000)
    assert_index_gives_the_order()


def test_stored_rank_and_type_follow_every_kind_of_write(synced: Any) -> None:
    stripe = PluginInstance.objects.create_instance(
        StripeGateway, name="Stripe", config=STRIPE_CONFIG, status=PluginStatus.RESERVED
    )
    stripe.refresh_from_db()
    assert (stripe.selection_rank, stripe.item_type.name) == (1, "payment_gateway")
    stripe.status = PluginStatus.DISABLED
    stripe.save(update_fields=["status"])
    stripe.refresh_from_db()
    assert stripe.selection_rank == 2
    PluginInstance.objects.filter(pk=stripe.pk).update(status=PluginStatus.ACTIVE)
    stripe.refresh_from_db()
    assert stripe.selection_rank == 0
    stripe.status = PluginStatus.RESERVED
    PluginInstance.objects.bulk_update([stripe], ["status"])
    stripe.refresh_from_db()
    assert stripe.selection_rank == 1
    bank_item = PluginItem.objects.get(name=BankTransferGateway.name)
    made = PluginInstance.objects.bulk_create(
        [PluginInstance(item_id=bank_item.pk, name="Bulk", status=PluginStatus.RESERVED)]
    )
    row = PluginInstance.objects.get(pk=made[0].pk)
    assert (row.selection_rank, row.item_type_id) == (1, bank_item.plugin_type_id)
    ordered = list(selection_query())
    assert [r.name for r in ordered] == [
        r.name
        for r in sorted(
            ordered,
            key=lambda r: (
                [PluginStatus.ACTIVE, PluginStatus.RESERVED].index(r.status),
                r.priority,
                r.created_at,
                r.pk,
            ),
        )
    ]


def test_a_type_with_a_former_name_finds_its_rows_under_both_names(
    synced: Any, plugin_registry: PluginRegistry
) -> None:
    """Until ``pluginsync`` renames it, a type may have a row under each of its names."""
    text_type, _echo = sms_sender_renamed(plugin_registry)
    new_type = PluginType.objects.create(name="text_sender", label="Text sender")
    new_item = PluginItem.objects.create(plugin_type=new_type, name="echo", label="Echo")
    old_item = PluginItem.objects.get(plugin_type__name="sms_sender", name="echo")
    PluginInstance.objects.filter(item=old_item).update(priority=20)
    PluginInstance.objects.create(item=new_item, name="New first", priority=10)
    PluginInstance.objects.create(item=old_item, name="Old last", priority=30)
    assert [(i.item.plugin_type.name, i.priority) for i in get_candidates(text_type)] == [
        ("text_sender", 10),
        ("sms_sender", 20),
        ("sms_sender", 30),
    ]
