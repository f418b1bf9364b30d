"""Tests for the admin's combined instance form and its write-only secrets."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import pytest
from django import forms
from django.conf import settings
from django.test import override_settings

from tests.testapp.factories import STRIPE_CONFIG
from tests.testapp.plugins import BankTransferGateway, StripeGateway
from wagtail_plugin_system import BasePluginItem, BasePluginType, PluginConfiguration
from wagtail_plugin_system.admin.forms import (
    clear_field_name,
    config_field_name,
    instance_form_class,
)
from wagtail_plugin_system.core.registry import PluginRegistry
from wagtail_plugin_system.models import PluginInstance, PluginItem
from wagtail_plugin_system.sync import sync_plugins

pytestmark = pytest.mark.django_db

SECRET = STRIPE_CONFIG["secret_key"]
WEBHOOK = STRIPE_CONFIG["webhook_secret"]


def stripe_row() -> PluginItem:
    return PluginItem.objects.get(plugin_type__name="payment_gateway", name="stripe")


def post_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Stripe live",
        "description": "",
        "status": "active",
        "priority": "10",
        **{config_field_name(k): v for k, v in STRIPE_CONFIG.items() if k != "sandbox"},
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_fields_of_the_combined_form(synced: Any) -> None:
    form_class = instance_form_class(stripe_row())
    fields = set(form_class.base_fields)
    assert {"name", "description", "status", "priority"} <= fields
    assert {config_field_name(n) for n in STRIPE_CONFIG} <= fields
    # A required secret is replaced, never cleared.
    assert clear_field_name("secret_key") not in fields
    assert clear_field_name("webhook_secret") in fields
    assert clear_field_name("publishable_key") not in fields
    assert "item" not in fields
    assert "config" not in fields


def test_new_instance_gets_defaults_and_saves_its_config(synced: Any) -> None:
    form_class = instance_form_class(stripe_row())
    empty = form_class()
    assert empty.initial["priority"] == 100
    assert empty.initial[config_field_name("currency")] == "EUR"
    form = form_class(data=post_data())
    assert form.is_valid(), form.errors
    instance = form.save()
    instance.refresh_from_db()
    assert instance.item == stripe_row()
    assert instance.config == STRIPE_CONFIG
    assert instance.priority == 10


def test_invalid_config_errors_are_on_the_config_fields(synced: Any) -> None:
    form = instance_form_class(stripe_row())(
        data=post_data(**{config_field_name("retries"): "-1", config_field_name("currency"): ""})
    )
    assert not form.is_valid()
    assert set(form.errors) == {config_field_name("retries"), config_field_name("currency")}
    assert len(form.errors[config_field_name("currency")]) == 1  # not reported twice


def test_cross_field_errors_of_the_configuration_form(
    synced: Any, plugin_registry: PluginRegistry
) -> None:
    class RangeForm(forms.Form):
        low = forms.IntegerField()
        high = forms.IntegerField()

        def clean(self) -> dict[str, Any]:
            data = super().clean() or {}
            if data.get("low", 0) > data.get("high", 0):
                raise forms.ValidationError("low must not exceed high")
            return data

    class RangeType(BasePluginType):
        name = "ranger"

        @abstractmethod
        def run(self) -> None: ...

    class Ranger(BasePluginItem):
        name = "ranger"
        plugin_type = RangeType
        configuration = type(
            "RangeConfiguration", (PluginConfiguration,), {"form_class": RangeForm}
        )

        def run(self) -> None: ...

    plugin_registry.register_item(Ranger)
    sync_plugins()
    form_class = instance_form_class(PluginItem.objects.get(name="ranger"))
    form = form_class(
        data={
            "name": "r",
            "status": "active",
            "priority": "1",
            "config-low": "5",
            "config-high": "1",
        }
    )
    assert not form.is_valid()
    assert form.non_field_errors() == ["low must not exceed high"]


def test_secrets_are_write_only(make_instance: Any) -> None:
    instance = make_instance(StripeGateway, "Stripe live", config=STRIPE_CONFIG)
    form = instance_form_class(stripe_row())(instance=instance)
    html = str(form)
    assert SECRET not in html
    assert WEBHOOK not in html
    assert "A value is stored. Leave blank to keep it." in html
    assert not form.fields[config_field_name("secret_key")].required
    # Non-secret values are shown.
    assert STRIPE_CONFIG["publishable_key"] in html
    assert form.initial[config_field_name("publishable_key")] == "pk_test_123"
    assert config_field_name("secret_key") not in form.initial


def test_blank_secret_keeps_the_stored_value(make_instance: Any) -> None:
    instance = make_instance(StripeGateway, "Stripe live", config=STRIPE_CONFIG)
    form = instance_form_class(stripe_row())(
        instance=instance,
        data=post_data(
            name="Renamed",
            **{config_field_name("secret_key"): "", config_field_name("webhook_secret"): ""},
        ),
    )
    assert form.is_valid(), form.errors
    form.save()
    instance.refresh_from_db()
    assert instance.name == "Renamed"
    assert instance.config["secret_key"] == SECRET
    assert instance.config["webhook_secret"] == WEBHOOK


def test_new_secret_replaces_and_clear_removes(make_instance: Any) -> None:
    instance = make_instance(StripeGateway, "Stripe live", config=STRIPE_CONFIG)
    form_class = instance_form_class(stripe_row())
    form = form_class(
        instance=instance,
        data=post_data(
            **{
                config_field_name("secret_key"): "sk_new_value",
                config_field_name("webhook_secret"): "",
                clear_field_name("webhook_secret"): "on",
            }
        ),
    )
    assert form.is_valid(), form.errors
    form.save()
    instance.refresh_from_db()
    assert instance.config["secret_key"] == "sk_new_value"
    assert instance.config["webhook_secret"] == ""

    # A required secret cannot be cleared: no checkbox, a forged one changes nothing.
    form = form_class(
        instance=instance,
        data=post_data(
            **{config_field_name("secret_key"): "", clear_field_name("secret_key"): "on"}
        ),
    )
    assert clear_field_name("secret_key") not in form.fields
    assert form.is_valid(), form.errors
    form.save()
    instance.refresh_from_db()
    assert instance.config["secret_key"] == "sk_new_value"
    assert "sk_new_value" not in str(form)


def test_a_required_secret_is_replaced_not_cleared(make_instance: Any) -> None:
    instance = make_instance(StripeGateway, "Stripe live", config=STRIPE_CONFIG)
    form = instance_form_class(stripe_row())(instance=instance)
    assert clear_field_name("secret_key") not in form.fields
    assert clear_field_name("webhook_secret") in form.fields
    assert form.fields[config_field_name("secret_key")].help_text == (
        "This value is required, so it cannot be cleared. To replace it, type the new value."
    )


def test_nothing_to_clear_on_create(synced: Any) -> None:
    form = instance_form_class(stripe_row())()
    assert not [name for name in form.fields if name.endswith("-clear")]


def test_rerendered_invalid_form_does_not_echo_secrets(make_instance: Any) -> None:
    instance = make_instance(StripeGateway, "Stripe live", config=STRIPE_CONFIG)
    form = instance_form_class(stripe_row())(
        instance=instance,
        data=post_data(name="", **{config_field_name("secret_key"): "sk_typed_just_now"}),
    )
    assert not form.is_valid()
    assert "sk_typed_just_now" not in str(form)


def test_item_without_configuration_has_no_config_fields(synced: Any) -> None:
    row = PluginItem.objects.get(name="bank_transfer")
    form_class = instance_form_class(row)
    assert not [name for name in form_class.base_fields if name.startswith("config-")]
    form = form_class(data={"name": "Bank", "status": "reserved", "priority": "3"})
    assert form.is_valid(), form.errors
    instance = form.save()
    assert instance.config == {}
    assert instance.load_instance().create_payment(2) == "bank:2"
    assert isinstance(instance.load_instance(), BankTransferGateway)


def test_missing_code_edits_metadata_and_keeps_config(
    make_instance: Any, plugin_registry: PluginRegistry
) -> None:
    instance = make_instance(StripeGateway, "Stripe live", config=STRIPE_CONFIG)
    plugin_registry.unregister_item(StripeGateway)
    row = stripe_row()
    form = instance_form_class(row)(
        instance=PluginInstance.objects.get(pk=instance.pk),
        data={"name": "Still here", "status": "disabled", "priority": "1"},
    )
    assert form.config_problem is not None
    assert "not installed or not registered" in form.config_problem
    assert form.is_valid(), form.errors
    form.save()
    plugin_registry.register_item(StripeGateway)
    instance.refresh_from_db()
    assert (instance.name, instance.status) == ("Still here", "disabled")
    assert instance.config == STRIPE_CONFIG


def test_undecryptable_config_edits_metadata_and_keeps_config(synced: Any) -> None:
    with override_settings(FIELD_ENCRYPTION_KEY=settings.OLD_TEST_KEY):
        instance = PluginInstance.objects.create_instance(
            StripeGateway, name="Old key", config=STRIPE_CONFIG
        )
    stored = PluginInstance.objects.filter(pk=instance.pk).values_list("config", flat=True)[0]
    form = instance_form_class(stripe_row())(
        instance=PluginInstance.objects.get(pk=instance.pk),
        data={"name": "Old key, renamed", "status": "disabled", "priority": "1"},
    )
    assert form.config_problem is not None
    assert "FIELD_ENCRYPTION_KEY" in form.config_problem
    assert form.is_valid(), form.errors
    form.save()
    after = PluginInstance.objects.filter(pk=instance.pk).values_list("config", flat=True)[0]
    assert after == stored
    with override_settings(
        FIELD_ENCRYPTION_KEY=[settings.FIELD_ENCRYPTION_KEY, settings.OLD_TEST_KEY]
    ):
        assert PluginInstance.objects.get(pk=instance.pk).config == STRIPE_CONFIG
