"""The ``email_sender`` plugin type and its items: SMTP, console, and Anymail's ESPs.

Every item sends through one of Django's (or Anymail's) email backends, built
from the instance's configuration, one message at a time on one connection:
a message counts as sent once the provider has accepted it (for SMTP, the
``250`` reply after ``DATA``), and is then never given to another instance
(see :class:`~.batch.MessageBatch`).

What a failure means:

* the instance cannot be reached, refuses the login, or fails part-way
  (connection lost, a temporary ``4xx`` reply, an ESP's API error): the item
  raises :class:`EmailDeliveryError`, and :func:`~wagtail_plugin_system.call_with_failover`
  gives the messages not yet accepted to the next instance;
* the provider refuses one message for good (every recipient refused, a
  permanent ``5xx`` reply to its data, an invalid address): that message is
  *rejected*; the other messages go on through the same instance, and the
  rejection is not retried elsewhere.
"""

from __future__ import annotations

import logging
import smtplib
import sys
from abc import abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail.backends.base import BaseEmailBackend
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from wagtail_plugin_system.core.contracts import (
    BasePluginItem,
    BasePluginType,
    PluginConfiguration,
)
from wagtail_plugin_system.core.redact import describe_exception
from wagtail_plugin_system.core.registry import register_plugin_item, register_plugin_type

from .batch import MessageBatch

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "ESPS_SETTING",
    "ConsoleSender",
    "EmailDeliveryError",
    "EmailSenderType",
    "SmtpSender",
    "anymail_sender",
    "register_mail_plugins",
]

logger = logging.getLogger(__name__)

#: The setting that lists the Anymail ESPs (module names under ``anymail.backends``)
#: that get an item each, e.g. ``["sendgrid", "mailgun"]``.
ESPS_SETTING = "WAGTAIL_PLUGIN_SYSTEM_MAIL_ESPS"


class EmailDeliveryError(Exception):
    """An email sender instance could not send: unreachable, login refused, or failed part-way.

    The message names the instance; the provider's own message follows, with
    the instance's configuration values blanked out.
    """


class EmailSenderType(BasePluginType):
    """Sends Django's email messages; the backend ``contrib.mail.EmailBackend`` calls it."""

    name = "email_sender"
    label = "Email sender"
    description = (
        "Sends the site's email: password resets, form submissions, notifications. "
        "When the first instance fails, the next one sends what it had not sent."
    )

    @abstractmethod
    def deliver(self, batch: MessageBatch) -> None:
        """Send each message ``batch.pending()`` lists, recording each outcome in ``batch``.

        Call ``batch.accept(index)`` as soon as the provider has accepted a
        message, ``batch.reject(index, error)`` when it refused that message
        for good; raise (an :class:`EmailDeliveryError`) when the instance
        cannot go on, leaving what it did not send pending for the next one.
        """

    def send_messages(self, messages: Iterable[Any]) -> int:
        """Send ``messages`` through this instance alone; return how many were accepted.

        A rejected message raises its error after the others were sent.
        """
        batch = MessageBatch(messages)
        self.deliver(batch)
        batch.raise_first_rejection()
        return batch.accepted_count


class BackendSender(BasePluginItem):
    """An item that sends through a Django email backend built from its configuration."""

    abstract = True
    plugin_type = EmailSenderType

    #: Errors of one message (not of the instance): the message is rejected, not retried.
    rejection_errors: ClassVar[tuple[type[BaseException], ...]] = (ValueError,)

    def get_backend(self) -> BaseEmailBackend:
        """A new, unopened backend for one delivery."""
        raise NotImplementedError

    def is_rejection(self, error: BaseException) -> bool:
        """Whether ``error``, raised while sending one message, concerns only that message."""
        return isinstance(error, self.rejection_errors)

    def describe(self) -> str:
        """How messages and logs name this instance: ``email sender 'name' (instance 3)``."""
        record = self.plugin_instance
        if record is None:
            return f"email sender {self.label!r}"
        return f"email sender {record.name!r} (instance {record.pk})"

    def failure(self, doing: str, error: BaseException) -> EmailDeliveryError:
        """The error that says this instance failed while ``doing``, with no secret in it."""
        return EmailDeliveryError(
            f"The {self.describe()} failed while {doing}: {describe_exception(error, self.config)}"
        )

    def open_backend(self) -> BaseEmailBackend:
        """The backend, connected (and logged in); :class:`EmailDeliveryError` when it cannot."""
        backend = self.get_backend()
        try:
            backend.open()
        except Exception as exc:
            _close_quietly(backend)
            raise self.failure("connecting", exc) from None
        return backend

    def deliver(self, batch: MessageBatch) -> None:
        pending = batch.pending()
        if not pending:
            return
        record = self.plugin_instance
        key = record.pk if record is not None else id(self)
        if key in batch.failed_instances:
            # Tried first for the current site, and failed: no second connection.
            raise EmailDeliveryError(
                f"The {self.describe()} already failed on this batch; it is not tried again."
            )
        try:
            self._deliver(batch, pending)
        except Exception:
            batch.failed_instances.add(key)
            raise

    def _deliver(self, batch: MessageBatch, pending: list[tuple[int, Any]]) -> None:
        backend = self.open_backend()
        try:
            for index, message in pending:
                try:
                    sent = backend.send_messages([message])
                except Exception as exc:
                    if self.is_rejection(exc):
                        batch.reject(index, exc)
                        continue
                    raise self.failure("sending", exc) from None
                if sent:
                    batch.accept(index)
                else:
                    batch.skip(index)  # nothing to send (no recipients), as Django counts it
        finally:
            _close_quietly(backend)


def _close_quietly(backend: BaseEmailBackend) -> None:
    try:
        backend.close()
    except Exception:  # a connection that is already gone: nothing left to close
        logger.debug("Closing an email connection failed", exc_info=True)


def _backend_alias() -> dict[str, str]:
    """Django 6.1's backends take their options only from ``alias`` construction."""
    import django

    return {"alias": "wagtail_plugin_system"} if django.VERSION >= (6, 1) else {}


# SMTP ---------------------------------------------------------------------------------


class SmtpForm(forms.Form):
    host = forms.CharField(label=_("Host"), max_length=255)
    port = forms.IntegerField(label=_("Port"), min_value=1, max_value=65535, initial=587)
    username = forms.CharField(label=_("Username"), required=False, max_length=255)
    password = forms.CharField(
        label=_("Password"), required=False, widget=forms.PasswordInput(render_value=False)
    )
    use_tls = forms.BooleanField(
        label=_("Use STARTTLS"),
        required=False,
        initial=True,
        help_text=_("Upgrade the connection with STARTTLS (usually on port 587)."),
    )
    use_ssl = forms.BooleanField(
        label=_("Use implicit TLS"),
        required=False,
        help_text=_("Connect over TLS from the start (usually on port 465)."),
    )
    timeout = forms.IntegerField(
        label=_("Timeout (seconds)"), min_value=1, max_value=300, initial=10
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("use_tls") and cleaned.get("use_ssl"):
            raise forms.ValidationError(
                _("Choose STARTTLS or implicit TLS, not both."), code="tls_and_ssl"
            )
        return cleaned


class SmtpConfiguration(PluginConfiguration):
    form_class = SmtpForm


class SmtpSender(BackendSender):
    """Sends through an SMTP server; its check connects and says EHLO and NOOP."""

    name = "smtp"
    label = "SMTP server"
    description = "Sends through an SMTP server (your provider's or your own)."
    configuration = SmtpConfiguration

    def get_backend(self) -> BaseEmailBackend:
        from django.core.mail.backends.smtp import EmailBackend as SmtpBackend

        config = self.config
        alias: Any = _backend_alias()
        return SmtpBackend(
            host=config["host"],
            port=int(config["port"]),
            username=config.get("username") or "",
            password=config.get("password") or "",
            use_tls=bool(config.get("use_tls")),
            use_ssl=bool(config.get("use_ssl")),
            timeout=config.get("timeout") or None,
            **alias,
        )

    def is_rejection(self, error: BaseException) -> bool:
        if isinstance(error, smtplib.SMTPRecipientsRefused):
            codes = [code for code, _message in error.recipients.values()]
            return bool(codes) and all(code >= 500 for code in codes)
        if isinstance(error, smtplib.SMTPDataError):
            return int(error.smtp_code) >= 500
        return super().is_rejection(error)

    def failure(self, doing: str, error: BaseException) -> EmailDeliveryError:
        if isinstance(error, smtplib.SMTPAuthenticationError):
            return EmailDeliveryError(
                f"The SMTP server of the {self.describe()} refused its username and "
                f"password: {describe_exception(error, self.config)}. Correct them in "
                f"Plugins > Instances."
            )
        return super().failure(doing, error)

    def check(self) -> object:
        """Connect, start TLS and log in as configured, say EHLO and NOOP; send nothing."""
        backend = self.open_backend()
        try:
            connection = backend.connection  # type: ignore[attr-defined]
            connection.ehlo_or_helo_if_needed()
            code, _reply = connection.noop()
            if code != 250:
                raise self.failure("checking", smtplib.SMTPResponseException(code, _reply))
        except smtplib.SMTPException as exc:
            raise self.failure("checking", exc) from None
        finally:
            _close_quietly(backend)
        return True


# Console ------------------------------------------------------------------------------


class ConsoleSender(BackendSender):
    """Prints messages on the standard output instead of sending them (development)."""

    name = "console"
    label = "Console (development)"
    description = "Prints each message on the server's standard output instead of sending it."
    priority = 1000

    def get_backend(self) -> BaseEmailBackend:
        from django.core.mail.backends.console import EmailBackend as ConsoleBackend

        return ConsoleBackend(stream=sys.stdout)


# Anymail ------------------------------------------------------------------------------


class AnymailForm(forms.Form):
    api_key = forms.CharField(
        label=_("API key"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave empty when the ESP needs none, or reads it from ANYMAIL settings."),
    )


class AnymailConfiguration(PluginConfiguration):
    form_class = AnymailForm


class AnymailSender(BackendSender):
    """Sends through one of Anymail's ESP backends; :func:`anymail_sender` makes one per ESP."""

    abstract = True
    configuration = AnymailConfiguration
    #: The module of the ESP's backend under ``anymail.backends``.
    esp: ClassVar[str] = ""

    def get_backend(self) -> BaseEmailBackend:
        backend_class = import_string(f"anymail.backends.{self.esp}.EmailBackend")
        options: dict[str, Any] = {}
        if self.config.get("api_key"):
            options["api_key"] = self.config["api_key"]
        return backend_class(**options)  # type: ignore[no-any-return]

    def is_rejection(self, error: BaseException) -> bool:
        from anymail.exceptions import AnymailInvalidAddress, AnymailRecipientsRefused

        if isinstance(error, AnymailRecipientsRefused | AnymailInvalidAddress):
            return True
        return super().is_rejection(error)


_anymail_items: dict[str, type[AnymailSender]] = {}


def anymail_sender(esp: str) -> type[AnymailSender]:
    """The item class for one Anymail ESP (``"sendgrid"``, ``"mailgun"``...), made once."""
    if not esp.isidentifier():
        raise ImproperlyConfigured(
            f"{ESPS_SETTING} lists {esp!r}, which is not the name of a module of "
            f"anymail.backends (such as 'sendgrid' or 'mailgun')."
        )
    if esp not in _anymail_items:
        try:
            import_string(f"anymail.backends.{esp}.EmailBackend")
        except ImportError as exc:
            raise ImproperlyConfigured(
                f"{ESPS_SETTING} lists {esp!r}, but anymail.backends.{esp}.EmailBackend cannot "
                f"be imported ({exc}). Install django-anymail with that ESP's extra, e.g. "
                f"pip install 'django-anymail[{esp}]'."
            ) from None
        spelled = esp.replace("_", " ").title()
        item = type(
            f"AnymailSender_{esp}",
            (AnymailSender,),
            {
                "__module__": __name__,
                "__qualname__": f"AnymailSender_{esp}",
                "name": f"anymail_{esp}",
                "label": f"{spelled} (Anymail)",
                "description": f"Sends through {spelled}'s API with django-anymail.",
                "esp": esp,
            },
        )
        _anymail_items[esp] = item
    return _anymail_items[esp]


def configured_esps() -> list[str]:
    """The ESPs that ``WAGTAIL_PLUGIN_SYSTEM_MAIL_ESPS`` lists (none by default)."""
    value = getattr(settings, ESPS_SETTING, None) or []
    if isinstance(value, str) or not all(isinstance(esp, str) for esp in value):
        raise ImproperlyConfigured(
            f"{ESPS_SETTING} must be a list of Anymail ESP names, such as ['sendgrid']; "
            f"got {value!r}."
        )
    return list(value)


def register_mail_plugins() -> None:
    """Register ``email_sender`` with SMTP, console and the configured Anymail ESPs."""
    register_plugin_type(EmailSenderType)
    register_plugin_item(SmtpSender)
    register_plugin_item(ConsoleSender)
    for esp in configured_esps():
        register_plugin_item(anymail_sender(esp))
