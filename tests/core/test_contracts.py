"""Tests for wagtail_plugin_system.core.contracts."""

from __future__ import annotations

import datetime
import decimal
import os
import subprocess
import sys
import textwrap
from abc import abstractmethod
from pathlib import Path

import pytest
from django import forms
from django.core.exceptions import ValidationError

from tests.testapp.plugins import (
    BankTransferGateway,
    EchoSender,
    PaymentGatewayType,
    StripeConfiguration,
    StripeGateway,
)
from wagtail_plugin_system import (
    BasePluginItem,
    BasePluginType,
    PluginConfig,
    PluginConfiguration,
    required_plugin_item_method,
)
from wagtail_plugin_system.core.exceptions import (
    PluginConfigurationDefinitionError,
    PluginDefinitionError,
    PluginItemDefinitionError,
    PluginTypeDefinitionError,
)

ROOT = Path(__file__).resolve().parent.parent


class SimpleForm(forms.Form):
    token = forms.CharField()


# -- the pure core ----------------------------------------------------------------------


@pytest.mark.slow
def test_core_imports_without_django_setup_or_wagtail_admin() -> None:
    code = textwrap.dedent(
        """
        import sys
        import wagtail_plugin_system
        from wagtail_plugin_system.core import contracts, registry, exceptions
        from abc import abstractmethod
        from django.conf import settings

        class T(wagtail_plugin_system.BasePluginType):
            name = "t"
            @abstractmethod
            def run(self): ...

        class I(wagtail_plugin_system.BasePluginItem):
            name = "i"
            plugin_type = T
            def run(self):
                return "ran"

        wagtail_plugin_system.register_plugin_item(I)
        assert wagtail_plugin_system.get_registered_types() == [T]
        assert I().run() == "ran"
        assert not settings.configured, "settings were configured"
        leaked = sorted(m for m in sys.modules if m.startswith(("wagtail.", "django.db.models")))
        assert not [m for m in leaked if m.startswith("wagtail.")], leaked
        print("ok")
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


# -- plugin types -----------------------------------------------------------------------


def test_type_without_name_names_the_class() -> None:
    with pytest.raises(PluginTypeDefinitionError, match=r"NamelessType: .*'name'"):

        class NamelessType(BasePluginType):
            @abstractmethod
            def run(self) -> None: ...


@pytest.mark.parametrize("bad_name", ["", "has space", "-leading", 5, "x" * 101, "é"])
def test_type_with_invalid_name(bad_name: object) -> None:
    with pytest.raises(PluginTypeDefinitionError, match="'name' must be a string"):

        class BadNameType(BasePluginType):
            name = bad_name  # type: ignore[assignment]

            @abstractmethod
            def run(self) -> None: ...


def test_type_without_required_methods() -> None:
    with pytest.raises(PluginTypeDefinitionError, match="at least one method") as info:

        class EmptyType(BasePluginType):
            name = "empty"

            def helper(self) -> None: ...

    assert "EmptyType" in str(info.value)
    assert isinstance(info.value, TypeError)


def test_type_required_methods_from_both_markers_and_bases() -> None:
    class BaseType(BasePluginType):
        abstract = True

        @abstractmethod
        def first(self) -> None: ...

    class ChildType(BaseType):
        name = "child"

        @required_plugin_item_method
        def second(self) -> None: ...

    assert ChildType.required_methods == {"first", "second"}
    assert ChildType.label == "Child"


def test_failover_exceptions_validated_and_normalised() -> None:
    class OneType(BasePluginType):
        name = "one"
        failover_exceptions = ValueError  # type: ignore[assignment]

        @abstractmethod
        def run(self) -> None: ...

    assert OneType.failover_exceptions == (ValueError,)

    with pytest.raises(PluginTypeDefinitionError, match="failover_exceptions"):

        class BadFailoverType(BasePluginType):
            name = "bad_failover"
            failover_exceptions = ("nope",)  # type: ignore[assignment]

            @abstractmethod
            def run(self) -> None: ...


def test_aliases_validated() -> None:
    with pytest.raises(PluginTypeDefinitionError, match="same as the current name"):

        class SelfAliasType(BasePluginType):
            name = "self_alias"
            aliases = ("self_alias",)

            @abstractmethod
            def run(self) -> None: ...

    with pytest.raises(PluginTypeDefinitionError, match="list or tuple"):

        class StringAliasType(BasePluginType):
            name = "string_alias"
            aliases = "old_name"  # type: ignore[assignment]

            @abstractmethod
            def run(self) -> None: ...


# -- plugin items -----------------------------------------------------------------------


def test_item_missing_method_names_method_and_type() -> None:
    with pytest.raises(PluginItemDefinitionError) as info:

        class LazyGateway(BasePluginItem):
            name = "lazy"
            plugin_type = PaymentGatewayType

    message = str(info.value)
    assert "LazyGateway" in message
    assert "create_payment" in message
    assert "payment_gateway" in message


def test_item_missing_method_marked_required() -> None:
    with pytest.raises(PluginItemDefinitionError, match="send"):

        class SilentSender(BasePluginItem):
            name = "silent"
            plugin_type = EchoSender.plugin_type


def test_item_with_incompatible_signature() -> None:
    with pytest.raises(PluginItemDefinitionError, match=r"create_payment\(self\) does not accept"):

        class NoArgsGateway(BasePluginItem):
            name = "no_args"
            plugin_type = PaymentGatewayType

            def create_payment(self) -> str:  # type: ignore[override]
                return ""


def test_item_that_renames_a_parameter_is_refused() -> None:
    """Callers may pass arguments by name: send_code(phone=..., code=...) must bind."""

    class OtpType(BasePluginType):
        name = "otp_rename_test"

        @abstractmethod
        def send_code(self, phone: str, code: str) -> str: ...

    with pytest.raises(
        PluginItemDefinitionError,
        match=r"send_code\(self, phone, otp\) does not accept the arguments of .*"
        r"send_code\(self, phone, code\)",
    ):

        class RenamingSender(BasePluginItem):
            name = "renaming"
            plugin_type = OtpType

            def send_code(self, phone: str, otp: str) -> str:  # type: ignore[override]
                return otp

    class PositionalOnlyType(BasePluginType):
        name = "otp_positional_test"

        @abstractmethod
        def send_code(self, phone: str, code: str, /) -> str: ...

    class AnyNames(BasePluginItem):
        name = "any_names"
        plugin_type = PositionalOnlyType

        def send_code(self, number: str, otp: str, /) -> str:
            return otp

    assert AnyNames().send_code("1", "2") == "2"


def test_item_signature_with_extra_optional_parameter_is_fine() -> None:
    class ExtraGateway(BasePluginItem):
        name = "extra"
        plugin_type = PaymentGatewayType

        def create_payment(self, amount: int, currency: str = "EUR") -> str:
            return f"{amount}{currency}"

    assert ExtraGateway().create_payment(3) == "3EUR"


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"plugin_type": None}, "'plugin_type' must be a BasePluginType subclass"),
        ({"plugin_type": object}, "'plugin_type' must be a BasePluginType subclass"),
        ({"configuration": SimpleForm}, "'configuration' must be a PluginConfiguration"),
        ({"priority": "high"}, "'priority' must be an integer"),
        ({"priority": True}, "'priority' must be an integer"),
        ({"name": None}, "needs a 'name'"),
    ],
)
def test_item_bad_attributes(attrs: dict[str, object], message: str) -> None:
    namespace: dict[str, object] = {
        "name": "bad",
        "plugin_type": PaymentGatewayType,
        "create_payment": lambda self, amount: "",
        **attrs,
    }
    if namespace["name"] is None:
        del namespace["name"]
    with pytest.raises(PluginItemDefinitionError, match=message):
        type("BadItem", (BasePluginItem,), namespace)


def test_item_of_abstract_type_is_refused() -> None:
    class AbstractType(BasePluginType):
        abstract = True

        @abstractmethod
        def run(self) -> None: ...

    with pytest.raises(PluginItemDefinitionError, match="is abstract"):

        class Runner(BasePluginItem):
            name = "runner"
            plugin_type = AbstractType

            def run(self) -> None: ...


def test_abstract_item_base_is_not_validated_but_children_are() -> None:
    class GatewayBase(BasePluginItem):
        abstract = True
        plugin_type = PaymentGatewayType

        def create_payment(self, amount: int) -> str:
            return f"base:{amount}"

    class Child(GatewayBase):
        name = "child"

    assert Child().create_payment(2) == "base:2"
    assert Child.abstract is False


def test_definition_errors_are_type_errors() -> None:
    assert issubclass(PluginDefinitionError, TypeError)


def test_item_is_instance_of_its_type_and_gets_type_helpers() -> None:
    item = StripeGateway(config={"currency": "USD"})
    assert isinstance(item, PaymentGatewayType)
    assert not isinstance(EchoSender(), PaymentGatewayType)
    assert item.plugin_item is item
    assert item.describe() == "stripe for USD"
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        item.nothing_here  # noqa: B018


def test_item_config_and_instance_defaults() -> None:
    item = BankTransferGateway()
    assert item.config == {}
    assert isinstance(item.config, dict)
    assert item.plugin_instance is None
    assert repr(item) == "<BankTransferGateway payment_gateway/bank_transfer>"


def test_plugin_config_is_read_only_and_masks_values() -> None:
    config = PluginConfig({"secret_key": "sk_live_hidden", "n": 1})
    assert config["secret_key"] == "sk_live_hidden"
    assert config.get("missing", 5) == 5
    for mutate in (
        lambda: config.__setitem__("a", 1),
        lambda: config.update(a=1),
        lambda: config.pop("n"),
        lambda: config.clear(),
        lambda: config.setdefault("a", 1),
    ):
        with pytest.raises(TypeError, match="read-only"):
            mutate()
    assert "sk_live_hidden" not in repr(config)
    assert "sk_live_hidden" not in str(config)
    assert "secret_key" in repr(config)
    writable = dict(config)
    writable["n"] = 2
    assert config["n"] == 1


# -- configuration ----------------------------------------------------------------------


def test_configuration_requires_a_form() -> None:
    with pytest.raises(PluginConfigurationDefinitionError, match="'form_class' must be"):

        class NoForm(PluginConfiguration):
            pass

    with pytest.raises(PluginConfigurationDefinitionError, match="'form_class' must be"):

        class NotAForm(PluginConfiguration):
            form_class = dict  # type: ignore[assignment]


def test_configuration_unknown_secret_field_lists_real_fields() -> None:
    with pytest.raises(PluginConfigurationDefinitionError) as info:

        class Typo(PluginConfiguration):
            form_class = SimpleForm
            secret_fields = ["tokn"]

    assert "'tokn'" in str(info.value)
    assert "token" in str(info.value)


def test_secret_fields_include_password_inputs() -> None:
    assert StripeConfiguration.get_secret_fields() == {"secret_key", "webhook_secret"}


def test_initial_and_form() -> None:
    assert StripeConfiguration.get_initial() == {"currency": "EUR", "retries": 3}
    form = StripeConfiguration.get_form(initial={"currency": "USD"})
    assert form.initial == {"currency": "USD", "retries": 3}
    assert not form.is_bound


def test_clean_config_makes_values_json_safe() -> None:
    cleaned = PluginConfiguration.clean_config.__func__(  # type: ignore[attr-defined]
        StripeConfiguration,
        {"when": datetime.date(2026, 1, 2), "amount": decimal.Decimal("1.50"), "n": 3, "b": True},
    )
    assert cleaned == {"when": "2026-01-02", "amount": "1.50", "n": 3, "b": True}


def test_validate_returns_clean_config_or_field_errors_without_values() -> None:
    config = StripeConfiguration.validate(
        {"publishable_key": "pk", "secret_key": "sk_value", "retries": "2"}
    )
    assert config["retries"] == 2
    assert config["currency"] == "EUR"  # omitted: its initial value
    assert config["sandbox"] is False
    with pytest.raises(ValidationError) as info:
        StripeConfiguration.validate({"secret_key": "sk_value_zz", "retries": "-1"})
    errors = info.value.message_dict
    assert set(errors) == {"publishable_key", "retries"}
    assert "sk_value_zz" not in str(info.value)
