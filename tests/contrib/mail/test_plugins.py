"""The email_sender type and its items: registration, configuration, health checks, batches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from tests.smtp_server import smtp_server
from wagtail_plugin_system.contrib.mail.apps import MailConfig
from wagtail_plugin_system.contrib.mail.batch import MessageBatch
from wagtail_plugin_system.contrib.mail.plugins import (
    ConsoleSender,
    EmailDeliveryError,
    EmailSenderType,
    SmtpConfiguration,
    SmtpSender,
    anymail_sender,
    register_mail_plugins,
)
from wagtail_plugin_system.core.registry import PluginRegistry
from wagtail_plugin_system.health import run_health_check

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")

PASSWORD = "s3cret-smtp-passw0rd"


def test_the_app_registers_the_type_and_its_items(plugin_registry: PluginRegistry) -> None:
    import wagtail_plugin_system.contrib.mail as package

    MailConfig("wagtail_plugin_system.contrib.mail", package).ready()
    entry = plugin_registry.get_type_entry("email_sender")
    assert entry.type_class is EmailSenderType
    assert {item.name for item in plugin_registry.get_items(EmailSenderType)} == {
        "smtp",
        "console",
    }
    register_mail_plugins()  # a second time changes nothing


@override_settings(WAGTAIL_PLUGIN_SYSTEM_MAIL_ESPS=["test", "sendgrid"])
def test_one_item_per_listed_anymail_esp(plugin_registry: PluginRegistry) -> None:
    register_mail_plugins()
    names = {item.name for item in plugin_registry.get_items(EmailSenderType)}
    assert names == {"smtp", "console", "anymail_test", "anymail_sendgrid"}
    assert anymail_sender("sendgrid").label == "Sendgrid (Anymail)"
    assert anymail_sender("test") is anymail_sender("test")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("sendgrid", "must be a list of Anymail ESP names"),
        (["no_such_esp"], "anymail.backends.no_such_esp.EmailBackend cannot be imported"),
        (["../x"], "is not the name of a module"),
    ],
)
def test_a_wrong_esp_setting_is_a_clear_error(
    plugin_registry: PluginRegistry, value: Any, message: str
) -> None:
    with (
        override_settings(WAGTAIL_PLUGIN_SYSTEM_MAIL_ESPS=value),
        pytest.raises(ImproperlyConfigured, match=message),
    ):
        register_mail_plugins()


def test_smtp_configuration_keeps_the_password_secret_and_refuses_tls_with_ssl() -> None:
    assert SmtpSender.get_secret_fields() == frozenset({"password"})
    valid = SmtpConfiguration.validate(
        {"host": "mail.example.com", "port": 587, "use_tls": True, "timeout": 10}
    )
    assert valid["use_tls"] is True
    assert valid["use_ssl"] is False
    form = SmtpConfiguration.get_form(
        data={"host": "mail.example.com", "port": 465, "use_tls": "on", "use_ssl": "on"}
    )
    assert not form.is_valid()
    assert "Choose STARTTLS or implicit TLS, not both." in form.non_field_errors()


@pytest.fixture
def smtp_item() -> Callable[..., SmtpSender]:
    def make(server: Any, **config: Any) -> SmtpSender:
        values = {"host": "127.0.0.1", "port": server.port, "use_tls": False, "timeout": 5}
        return SmtpSender({**values, **config})

    return make


def test_smtp_check_says_ehlo_and_noop_without_sending(
    smtp_item: Callable[..., SmtpSender],
) -> None:
    with smtp_server(login=("mailer", PASSWORD)) as server:
        assert smtp_item(server, username="mailer", password=PASSWORD).check() is True
        assert server.received == []
        with pytest.raises(EmailDeliveryError, match="refused its username and password") as bad:
            smtp_item(server, username="mailer", password="wrong-password").check()
        assert PASSWORD not in str(bad.value)
        assert "wrong-password" not in str(bad.value)
    with pytest.raises(EmailDeliveryError, match="failed while connecting"):
        smtp_item(server).check()  # stopped: nothing listens any more


def test_health_check_of_an_instance_records_the_outcome(
    mail_plugins: PluginRegistry, smtp_instance: Callable[..., Any]
) -> None:
    with smtp_server(login=("mailer", "right")) as server:
        good = smtp_instance(server, "Good", username="mailer", password="right")
        bad = smtp_instance(server, "Bad", username="mailer", password=PASSWORD)
        assert run_health_check(good).ok
        result = run_health_check(bad)
    assert not result.ok
    assert f"'Bad' (instance {bad.pk})" in result.message
    assert PASSWORD not in result.message


def test_send_messages_through_one_instance(
    smtp_item: Callable[..., SmtpSender],
) -> None:
    with smtp_server() as server:
        from django.core.mail import EmailMessage

        item = smtp_item(server)
        sent = item.send_messages([EmailMessage("Direct", "Body", "a@x.com", ["b@x.com"])])
        assert sent == 1
        assert server.subjects() == ["Direct"]


def test_console_sender_writes_to_standard_output(capsys: pytest.CaptureFixture[str]) -> None:
    from django.core.mail import EmailMessage

    sent = ConsoleSender().send_messages([EmailMessage("On screen", "Body", "a@x.com", ["b@x"])])
    assert sent == 1
    assert "Subject: On screen" in capsys.readouterr().out


def test_message_batch_settles_each_message_once() -> None:
    batch = MessageBatch(["first", "second", "third", "fourth"])
    batch.accept(0)
    batch.reject(1, ValueError("refused"))
    batch.skip(2)
    assert batch.pending() == [(3, "fourth")]
    assert batch.accepted_count == 1
    with pytest.raises(ValueError, match="already accepted"):
        batch.accept(0)
    with pytest.raises(ValueError, match="refused"):
        batch.raise_first_rejection()
    assert repr(batch) == (
        "<MessageBatch {'pending': 1, 'accepted': 1, 'rejected': 1, 'skipped': 1}>"
    )
