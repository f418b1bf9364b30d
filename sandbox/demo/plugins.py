"""Example plugins of the sandbox.

Three plugin types, each an interface that the rest of the site codes against:

* ``payment_gateway`` with two implementations: ``stripe``, a *simulated*
  Stripe-like card gateway that editors configure with a secret API key, and
  ``bank_transfer``, which has nothing to configure.
* ``sms_sender`` with one implementation, ``console``, which writes messages to
  the log instead of sending them.
* ``newsletter_signup``, a *content* plugin: its item renders a sign-up box into
  pages through a template (``template_name``). Pages place it with a StreamField
  block or the ``{% plugin %}`` template tag.

Nothing here contacts any real service.
"""

from __future__ import annotations

import logging
import uuid
from abc import abstractmethod

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from wagtail_plugin_system import (
    BasePluginItem,
    BasePluginType,
    PluginConfiguration,
    required_plugin_item_method,
)

logger = logging.getLogger(__name__)


def format_cents(amount: int, currency: str) -> str:
    """``1999, "EUR"`` -> ``"19.99 EUR"``."""
    return f"{amount / 100:.2f} {currency}"


# -- payment gateways ----------------------------------------------------------------------


class PaymentGatewayType(BasePluginType):
    name = "payment_gateway"
    label = _("Payment gateway")
    description = _("Takes a payment and returns the provider's reference for it.")

    @abstractmethod
    def create_payment(self, amount: int) -> str:
        """Start a payment of ``amount`` cents; return the provider's reference."""


class StripeForm(forms.Form):
    api_key = forms.CharField(
        label=_("Secret API key"),
        help_text=_("Starts with sk_test_ or sk_live_. Stored encrypted; never shown again."),
        widget=forms.PasswordInput,
    )
    currency = forms.ChoiceField(
        label=_("Currency"),
        choices=[("EUR", _("Euro")), ("USD", _("US dollar")), ("GBP", _("Pound sterling"))],
        initial="EUR",
    )
    statement_descriptor = forms.CharField(
        label=_("Statement descriptor"),
        required=False,
        max_length=22,
        help_text=_("Shown on the customer's card statement."),
    )

    def clean_api_key(self) -> str:
        key: str = self.cleaned_data["api_key"].strip()
        if not key.startswith(("sk_test_", "sk_live_")):
            raise ValidationError(_("A secret API key starts with sk_test_ or sk_live_."))
        return key


class StripeConfiguration(PluginConfiguration):
    form_class = StripeForm


class StripeGateway(BasePluginItem):
    name = "stripe"
    label = _("Stripe (simulated)")
    description = _("A stand-in for a card gateway: it only makes up a payment reference.")
    plugin_type = PaymentGatewayType
    configuration = StripeConfiguration
    priority = 10

    @property
    def is_test_mode(self) -> bool:
        return str(self.config.get("api_key", "")).startswith("sk_test_")

    def check(self) -> bool:
        """A simulated account lookup, as Test runs it: a revoked key is refused."""
        if "revoked" in str(self.config.get("api_key", "")):
            raise PermissionError("The provider refused the API key: it has been revoked.")
        return True

    def create_payment(self, amount: int) -> str:
        reference = f"pi_demo_{uuid.uuid4().hex[:16]}"
        logger.info(
            "Simulated card payment of %s (%s mode): %s",
            format_cents(amount, self.config["currency"]),
            "test" if self.is_test_mode else "live",
            reference,
        )
        return reference


class BankTransferGateway(BasePluginItem):
    name = "bank_transfer"
    label = _("Bank transfer")
    description = _("Asks the customer to transfer the amount; nothing to configure.")
    plugin_type = PaymentGatewayType

    def create_payment(self, amount: int) -> str:
        return f"TRANSFER-{uuid.uuid4().hex[:8].upper()}"


# -- SMS senders ---------------------------------------------------------------------------


class SmsSenderType(BasePluginType):
    name = "sms_sender"
    label = _("SMS sender")
    description = _("Sends a short text message to a phone number.")

    @required_plugin_item_method
    def send(self, number: str, text: str) -> str:
        """Send ``text`` to ``number``; return the provider's message id."""
        raise NotImplementedError


class ConsoleSmsForm(forms.Form):
    sender_id = forms.CharField(
        label=_("Sender name"),
        max_length=11,
        initial="Sandbox",
        help_text=_("What the recipient sees as the sender (at most 11 characters)."),
    )


class ConsoleSmsConfiguration(PluginConfiguration):
    form_class = ConsoleSmsForm


class ConsoleSmsSender(BasePluginItem):
    name = "console"
    label = _("Console (log only)")
    description = _("Writes each message to the server log instead of sending it.")
    plugin_type = SmsSenderType
    configuration = ConsoleSmsConfiguration

    def send(self, number: str, text: str) -> str:
        message_id = f"sms_demo_{uuid.uuid4().hex[:12]}"
        logger.info(
            "SMS from %s to %s: %s (%s)", self.config["sender_id"], number, text, message_id
        )
        return message_id


# -- newsletter sign-up (a content plugin) -------------------------------------------------


class NewsletterSignupType(BasePluginType):
    name = "newsletter_signup"
    label = _("Newsletter sign-up")
    description = _("A sign-up box for a mailing list, placed in pages by editors.")

    @abstractmethod
    def subscribe(self, email: str) -> str:
        """Add ``email`` to the list; return the provider's subscriber id."""


class MailingListForm(forms.Form):
    list_name = forms.CharField(
        label=_("List name"),
        max_length=60,
        help_text=_("Shown as the heading of the sign-up box."),
    )
    button_text = forms.CharField(label=_("Button text"), max_length=30, initial="Subscribe")
    api_key = forms.CharField(
        label=_("Secret API key"),
        help_text=_("Stored encrypted; never shown again, and never given to templates."),
        widget=forms.PasswordInput,
    )


class MailingListConfiguration(PluginConfiguration):
    form_class = MailingListForm


class MailingListSignup(BasePluginItem):
    name = "mailing_list"
    label = _("Mailing list (simulated)")
    description = _("Renders a sign-up form; subscribing only writes to the log.")
    plugin_type = NewsletterSignupType
    configuration = MailingListConfiguration
    # The template gets `plugin`, `instance`, `config` (without `api_key`), `request`
    # and `page`; see BasePluginItem.get_context().
    template_name = "demo/plugins/newsletter_signup.html"

    def subscribe(self, email: str) -> str:
        subscriber_id = f"sub_demo_{uuid.uuid4().hex[:12]}"
        logger.info("Subscribed %s to %r: %s", email, self.config["list_name"], subscriber_id)
        return subscriber_id
