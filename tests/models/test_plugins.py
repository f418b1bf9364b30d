"""Tests for wagtail_plugin_system.models."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from tests.testapp.factories import STRIPE_CONFIG
from tests.testapp.plugins import BankTransferGateway, PaymentGatewayType, StripeGateway
from wagtail_plugin_system import BasePluginItem
from wagtail_plugin_system.core.exceptions import PluginUnavailableError
from wagtail_plugin_system.core.registry import PluginRegistry
from wagtail_plugin_system.models import PluginInstance, PluginItem, PluginStatus, PluginType

pytestmark = pytest.mark.django_db


def test_status_choices_and_django_plugin_system_spelling() -> None:
    assert PluginStatus.values == ["active", "reserved", "disabled"]
    assert PluginStatus.Active is PluginStatus.ACTIVE  # type: ignore[attr-defined]
    assert PluginStatus.Reserved is PluginStatus.RESERVED  # type: ignore[attr-defined]
    assert PluginStatus.Disabled is PluginStatus.DISABLED  # type: ignore[attr-defined]


def test_load_instance_returns_item_with_config_and_row(make_instance: Any) -> None:
    instance = make_instance(StripeGateway, config=STRIPE_CONFIG)
    loaded = PluginInstance.objects.get(pk=instance.pk).load_instance()
    assert isinstance(loaded, StripeGateway)
    assert isinstance(loaded, PaymentGatewayType)
    assert loaded.config["secret_key"] == STRIPE_CONFIG["secret_key"]
    assert loaded.plugin_instance is not None
    assert loaded.plugin_instance.pk == instance.pk
    assert loaded.create_payment(5) == "stripe:5:EUR"
    assert repr(loaded) == f"<StripeGateway payment_gateway/stripe instance={instance.pk}>"


def test_load_instance_of_missing_code_explains(
    make_instance: Any, plugin_registry: PluginRegistry
) -> None:
    instance = make_instance(StripeGateway, name="Stripe live", config=STRIPE_CONFIG)
    plugin_registry.unregister_item(StripeGateway)
    instance.refresh_from_db()
    assert not instance.is_code_present
    with pytest.raises(PluginUnavailableError) as info:
        instance.load_instance()
    message = str(info.value)
    assert "'Stripe live'" in message
    assert "payment_gateway/stripe" in message
    assert STRIPE_CONFIG["secret_key"] not in message


def test_load_instance_with_non_dict_config(make_instance: Any) -> None:
    instance = make_instance(BankTransferGateway)
    instance.config = ["not", "a", "dict"]
    instance.save()
    with pytest.raises(PluginUnavailableError, match="not an object"):
        PluginInstance.objects.get(pk=instance.pk).load_instance()


def test_create_instance_validates_config_through_the_form(synced: Any) -> None:
    with pytest.raises(ValidationError) as info:
        PluginInstance.objects.create_instance(
            StripeGateway, name="bad", config={"secret_key": "sk_not_shown_0"}
        )
    assert {"publishable_key"} <= set(info.value.message_dict)
    assert "sk_not_shown_0" not in str(info.value)
    assert not PluginInstance.objects.filter(name="bad").exists()

    instance = PluginInstance.objects.create_instance(
        StripeGateway, name="ok", config={**STRIPE_CONFIG, "retries": "4"}
    )
    assert instance.config["retries"] == 4
    assert instance.priority == 100
    assert instance.status == PluginStatus.ACTIVE


def test_create_instance_from_row_and_default_priority(synced: Any) -> None:
    row = PluginItem.objects.get(plugin_type__name="payment_gateway", name="bank_transfer")
    instance = PluginInstance.objects.create_instance(row, name="bank", status="reserved")
    assert instance.priority == 50  # registered with priority=50
    assert instance.status == PluginStatus.RESERVED
    with pytest.raises(ValidationError, match="has no configuration"):
        PluginInstance.objects.create_instance(row, name="bank", config={"x": 1})


def test_create_instance_before_sync_explains(db: None) -> None:
    with pytest.raises(PluginUnavailableError, match=r"run 'manage\.py pluginsync' first"):
        PluginInstance.objects.create_instance(StripeGateway, name="x", config=STRIPE_CONFIG)


def test_create_instance_of_row_without_code(synced: Any, plugin_registry: PluginRegistry) -> None:
    row = PluginItem.objects.get(name="stripe")
    plugin_registry.unregister_item(StripeGateway)
    with pytest.raises(PluginUnavailableError, match="not registered in this process"):
        PluginInstance.objects.create_instance(row, name="x", config=STRIPE_CONFIG)


def test_rows_know_their_code(synced: Any) -> None:
    type_row = PluginType.objects.get(name="payment_gateway")
    assert type_row.get_type_class() is PaymentGatewayType
    assert type_row.is_code_present
    item_row = PluginItem.objects.get(name="stripe")
    assert item_row.get_item_class() is StripeGateway
    assert str(item_row) == "Stripe"
    assert str(type_row) == "Payment gateway"


def test_queryset_helpers(make_instance: Any) -> None:
    stripe = make_instance(StripeGateway, config=STRIPE_CONFIG, priority=1)
    assert stripe in PluginInstance.objects.of_type(PaymentGatewayType)
    assert stripe in PluginInstance.objects.of_type("payment_gateway")
    assert stripe not in PluginInstance.objects.of_type("sms_sender")
    assert isinstance(stripe.load_instance(), BasePluginItem)
    assert stripe.plugin_type.name == "payment_gateway"
