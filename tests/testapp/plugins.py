"""Plugins used across the test suite."""

from __future__ import annotations

from abc import abstractmethod

from django import forms

from wagtail_plugin_system import (
    BasePluginItem,
    BasePluginType,
    PluginConfiguration,
    required_plugin_item_method,
)
from wagtail_plugin_system.core.registry import PluginRegistry


class ProviderError(Exception):
    """A transient provider failure: triggers failover."""


class PaymentGatewayType(BasePluginType):
    name = "payment_gateway"
    label = "Payment gateway"
    description = "Takes payments."
    failover_exceptions = (ProviderError,)

    @abstractmethod
    def create_payment(self, amount: int) -> str: ...

    def describe(self) -> str:
        return f"{self.plugin_item.name} for {self.plugin_item.config.get('currency', 'EUR')}"


class StripeForm(forms.Form):
    publishable_key = forms.CharField()
    secret_key = forms.CharField(widget=forms.PasswordInput)
    webhook_secret = forms.CharField(required=False)
    currency = forms.CharField(initial="EUR")
    sandbox = forms.BooleanField(required=False)
    retries = forms.IntegerField(initial=3, min_value=0)


class StripeConfiguration(PluginConfiguration):
    form_class = StripeForm
    secret_fields = ["webhook_secret"]


class StripeGateway(BasePluginItem):
    name = "stripe"
    plugin_type = PaymentGatewayType
    description = "Card payments through Stripe."
    configuration = StripeConfiguration

    def create_payment(self, amount: int) -> str:
        return f"stripe:{amount}:{self.config['currency']}"

    def check(self) -> bool:
        return not self.config.get("sandbox", False)


class BankTransferGateway(BasePluginItem):
    name = "bank_transfer"
    plugin_type = PaymentGatewayType

    def create_payment(self, amount: int) -> str:
        return f"bank:{amount}"


class FlakyForm(forms.Form):
    api_key = forms.CharField(widget=forms.PasswordInput)
    fail_with = forms.CharField(required=False)


class FlakyConfiguration(PluginConfiguration):
    form_class = FlakyForm


class FlakyGateway(BasePluginItem):
    """Fails as its configuration says: 'provider' (fails over), 'bug' (does not) or ''."""

    name = "flaky"
    plugin_type = PaymentGatewayType
    configuration = FlakyConfiguration

    def create_payment(self, amount: int) -> str:
        mode = self.config.get("fail_with", "")
        if mode == "provider":
            raise ProviderError(f"provider rejected key {self.config['api_key']}")
        if mode == "bug":
            raise KeyError("a programming error")
        return f"flaky:{amount}"

    def check(self) -> None:
        if self.config.get("fail_with"):
            raise ProviderError(f"authentication failed for key {self.config['api_key']}")


class SmsSenderType(BasePluginType):
    name = "sms_sender"
    label = "Sms sender"  # as made from the name: the admin tests read it

    @required_plugin_item_method
    def send(self, number: str, text: str) -> str:
        raise NotImplementedError


class EchoSender(BasePluginItem):
    name = "echo"
    plugin_type = SmsSenderType

    def send(self, number: str, text: str) -> str:
        return f"{number}:{text}"


class WidgetType(BasePluginType):
    """A content-driven type: items render themselves into pages."""

    name = "widget"
    label = "Widget"

    @abstractmethod
    def headline(self) -> str: ...


class BannerForm(forms.Form):
    headline = forms.CharField()
    token = forms.CharField(widget=forms.PasswordInput)


class BannerConfiguration(PluginConfiguration):
    form_class = BannerForm


class BannerWidget(BasePluginItem):
    name = "banner"
    plugin_type = WidgetType
    configuration = BannerConfiguration
    template_name = "testapp/banner.html"

    def headline(self) -> str:
        return str(self.config["headline"])


class SilentWidget(BasePluginItem):
    """No template: renders nothing."""

    name = "silent"
    plugin_type = WidgetType

    def headline(self) -> str:
        return "silent"


def sms_sender_renamed(
    registry: PluginRegistry,
) -> tuple[type[BasePluginType], type[BasePluginItem]]:
    """``SmsSenderType`` renamed to ``text_sender`` (its old name kept as an alias), with
    its echo item, registered in ``registry`` in place of the old type."""
    registry.unregister_type(SmsSenderType)

    class TextType(BasePluginType):
        name = "text_sender"
        aliases = ("sms_sender",)

        @abstractmethod
        def send(self, number: str, text: str) -> str: ...

    class Echo(BasePluginItem):
        name = "echo"
        plugin_type = TextType

        def send(self, number: str, text: str) -> str:
            return text

    registry.register_item(Echo)
    return TextType, Echo
