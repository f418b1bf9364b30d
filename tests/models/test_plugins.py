"""Tests for wagtail_plugin_system.models."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.template import Context, Template
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.testapp.factories import STRIPE_CONFIG
from tests.testapp.plugins import BankTransferGateway, PaymentGatewayType, StripeGateway
from wagtail_plugin_system import BasePluginItem, PluginConfig
from wagtail_plugin_system.core.exceptions import ConfigFormatError, PluginUnavailableError
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


# -- faults and secrets (issue 12) ------------------------------------------------------------


SECRET = STRIPE_CONFIG["secret_key"]
WEBHOOK = STRIPE_CONFIG["webhook_secret"]


def test_a_loaded_item_pickles_without_its_configuration_in_clear(make_instance: Any) -> None:
    instance = make_instance(StripeGateway, config=STRIPE_CONFIG)
    item = PluginInstance.objects.get(pk=instance.pk).load_instance()
    assert item.config["secret_key"] == SECRET
    data = pickle.dumps(item)
    assert SECRET.encode() not in data
    assert WEBHOOK.encode() not in data
    assert b"secret_key" not in data
    restored = pickle.loads(data)
    assert isinstance(restored, StripeGateway)
    assert restored.config == STRIPE_CONFIG
    assert restored.plugin_instance is not None
    assert restored.plugin_instance.pk == instance.pk


def test_a_configuration_and_an_item_made_from_one_refuse_to_be_pickled() -> None:
    with pytest.raises(TypeError, match="not pickled"):
        pickle.dumps(PluginConfig({"secret_key": SECRET}))
    with pytest.raises(TypeError, match="would store its configuration in clear"):
        pickle.dumps(StripeGateway(config=STRIPE_CONFIG))
    assert isinstance(pickle.loads(pickle.dumps(BankTransferGateway())), BankTransferGateway)


def test_templates_never_print_a_secret_of_a_loaded_item(make_instance: Any) -> None:
    instance = make_instance(StripeGateway, config=STRIPE_CONFIG)
    item = PluginInstance.objects.get(pk=instance.pk).load_instance()
    rendered = Template(
        "{{ plugin.config }}|{{ plugin.config.secret_key }}|{{ plugin.config.webhook_secret }}|"
        "{{ plugin.config.publishable_key }}|{{ plugin.plugin_instance.config.secret_key }}|"
        "{{ plugin.plugin_item.config.secret_key }}|{{ instance.config }}|"
        "{% for key, value in plugin.config.items %}{{ value }};{% endfor %}"
    ).render(Context({"plugin": item, "instance": item.plugin_instance}))
    assert SECRET not in rendered
    assert WEBHOOK not in rendered
    assert "pk_test_123" in rendered
    assert item.config["secret_key"] == SECRET  # code reads it as before
    assert item.config() == {
        k: v for k, v in STRIPE_CONFIG.items() if k not in {"secret_key", "webhook_secret"}
    }


def test_a_row_whose_code_is_missing_shows_templates_no_configuration(
    make_instance: Any, plugin_registry: PluginRegistry
) -> None:
    instance = make_instance(StripeGateway, config=STRIPE_CONFIG)
    plugin_registry.unregister_item(StripeGateway)
    row = PluginInstance.objects.get(pk=instance.pk)
    assert Template("{{ row.config }}").render(Context({"row": row})) == "{}"


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=25,
)


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=JSON_VALUES)
def test_any_stored_json_value_loads_or_is_refused_cleanly(make_instance: Any, value: Any) -> None:
    from wagtail_plugin_system.fields import Ciphertext, encrypt_text

    instance = PluginInstance.objects.filter(name="Any value").first() or make_instance(
        BankTransferGateway, "Any value"
    )
    token = encrypt_text(json.dumps(value))
    PluginInstance.objects.filter(pk=instance.pk).update(config=Ciphertext(token))
    row = PluginInstance.objects.get(pk=instance.pk)
    if isinstance(value, dict):
        assert row.has_readable_config
        assert row.load_instance().config == value
    else:
        assert isinstance(row.get_config_error(), ConfigFormatError)
        with pytest.raises(ConfigFormatError):
            row.load_instance()
        assert row.public_config() == {}


def test_rows_show_the_codes_label_in_the_active_language(
    plugin_registry: PluginRegistry, db: None
) -> None:
    from django.utils.translation import gettext_lazy, override

    from wagtail_plugin_system import BasePluginType, required_plugin_item_method
    from wagtail_plugin_system.sync import sync_plugins

    class TranslatedType(BasePluginType):
        name = "translated"
        label = gettext_lazy("Test")  # a msgid of the package's catalog: "Tester" in French
        description = gettext_lazy("Passed")

        @required_plugin_item_method
        def run(self) -> None: ...

    class TranslatedItem(BasePluginItem):
        name = "translated_item"
        label = gettext_lazy("Failed")
        plugin_type = TranslatedType

        def run(self) -> None:
            return None

    plugin_registry.register_type(TranslatedType)
    plugin_registry.register_item(TranslatedItem)
    with override("fr"):
        sync_plugins()
    row = PluginType.objects.get(name="translated")
    item = PluginItem.objects.select_related("plugin_type").get(name="translated_item")
    # The rows keep the source text, whatever language the sync ran in...
    assert (row.label, row.description, item.label) == ("Test", "Passed", "Failed")
    # ...and show the code's label in the language of the reader.
    with override("fr"):
        assert (str(row), row.display_description, str(item)) == ("Tester", "Réussie", "Échouée")
    with override("en"):
        assert str(row) == "Test"
    # Without its code, the stored label.
    plugin_registry.unregister_item(TranslatedItem)
    plugin_registry.unregister_type(TranslatedType)
    with override("fr"):
        assert str(PluginType.objects.get(name="translated")) == "Test"
