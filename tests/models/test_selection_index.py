"""The selection order is served by an index: the plan reads a type's rows in order."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from tests.testapp.factories import STRIPE_CONFIG
from tests.testapp.plugins import BankTransferGateway, PaymentGatewayType, StripeGateway
from wagtail_plugin_system.models import (
    SELECTABLE_STATUSES,
    PluginInstance,
    PluginItem,
    PluginStatus,
)

pytestmark = pytest.mark.django_db


def selection_query() -> Any:
    return (
        PluginInstance.objects.of_type_for_selection(PaymentGatewayType, SELECTABLE_STATUSES)
        .selectable()
        .in_selection_order()[:8]
    )


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the plan's wording is SQLite's")
def test_the_plan_uses_the_selection_index_for_the_order(synced: Any) -> None:
    plan = selection_query().explain()
    assert "wps_instance_selection_order" in plan, plan
    assert "TEMP B-TREE" not in plan, plan  # no sort: the index gives the order


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
