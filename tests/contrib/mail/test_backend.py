"""``contrib.mail.EmailBackend``: Django's email through the email_sender instances."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core import mail
from django.test import RequestFactory, override_settings
from wagtail.models import Site

from tests.smtp_server import smtp_server
from wagtail_plugin_system import PluginFailoverError, PluginUnavailableError
from wagtail_plugin_system.contrib.mail import EmailBackend
from wagtail_plugin_system.contrib.mail.middleware import current_request
from wagtail_plugin_system.models import PluginInstance, PluginSiteChoice, PluginSiteSettings

pytestmark = [
    pytest.mark.usefixtures("plugin_backend"),
    # The test servers accept a login without TLS, on loopback.
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
]

PASSWORD = "s3cret-smtp-passw0rd"


def send(subject: str = "Hello", to: str = "user@example.com", **kwargs: Any) -> int:
    return mail.send_mail(subject, "Body", "site@example.com", [to], **kwargs)


def test_console_instance_prints_the_message(
    mail_plugins: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # pluginsync made the console item's default instance: nothing else is configured.
    senders = PluginInstance.objects.filter(item__plugin_type__name="email_sender")
    assert list(senders.values_list("item__name", flat=True)) == ["console"]
    assert send("Printed") == 1
    out = capsys.readouterr().out
    assert "Subject: Printed" in out
    assert "To: user@example.com" in out


def test_return_value_counts_accepted_messages_and_empty_batches_send_nothing(
    smtp_instance: Callable[..., Any], no_default_console: None
) -> None:
    with smtp_server() as server:
        smtp_instance(server, "Only")
        messages = [
            mail.EmailMessage("One", "Body", "a@example.com", ["b@example.com"]),
            mail.EmailMessage("No recipients", "Body", "a@example.com", []),
            mail.EmailMessage("Two", "Body", "a@example.com", ["c@example.com"]),
        ]
        assert EmailBackend().send_messages(messages) == 2
        assert EmailBackend().send_messages([]) == 0
        assert server.subjects() == ["One", "Two"]


def test_message_without_recipients_does_not_connect(
    smtp_instance: Callable[..., Any], no_default_console: None
) -> None:
    with smtp_server() as server:
        smtp_instance(server, "Only")
        before = server.connections
        assert EmailBackend().send_messages([mail.EmailMessage("x", "y", "a@x.com", [])]) == 0
        # Django's backend is given the message, and has nobody to send it to.
        assert server.received == []
        assert server.connections <= before + 1


def test_all_instances_down_raises_a_failover_error_naming_each(
    smtp_instance: Callable[..., Any], no_default_console: None
) -> None:
    with smtp_server() as first, smtp_server() as second:
        smtp_instance(first, "First", priority=1)
        smtp_instance(second, "Second", priority=2)
    # Both stopped: nothing listens on their ports any more.
    with pytest.raises(PluginFailoverError) as caught:
        send()
    messages = [str(error) for error in caught.value.exceptions]
    assert "'First'" in messages[0]
    assert "connecting" in messages[0]
    assert "'Second'" in messages[1]


def test_fail_silently_returns_the_count_instead_of_raising(
    smtp_instance: Callable[..., Any], no_default_console: None, caplog: pytest.LogCaptureFixture
) -> None:
    with smtp_server() as server:
        smtp_instance(server, "Gone")
    with caplog.at_level(logging.ERROR):
        assert send(fail_silently=True) == 0
    assert "1 of 1 email message(s) were not sent" in caplog.text


def test_no_instance_at_all(mail_plugins: Any, no_default_console: None) -> None:
    with pytest.raises(PluginUnavailableError):
        send()
    assert send(fail_silently=True) == 0


def test_a_rejected_message_does_not_stop_the_others_and_is_not_retried_elsewhere(
    smtp_instance: Callable[..., Any], no_default_console: None
) -> None:
    with smtp_server(reject={"nobody@example.com"}) as first, smtp_server() as second:
        smtp_instance(first, "First", priority=1)
        smtp_instance(second, "Second", priority=2)
        messages = [
            mail.EmailMessage("One", "Body", "a@example.com", ["one@example.com"]),
            mail.EmailMessage("Refused", "Body", "a@example.com", ["nobody@example.com"]),
            mail.EmailMessage("Three", "Body", "a@example.com", ["three@example.com"]),
        ]
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            EmailBackend().send_messages(messages)
        assert first.subjects() == ["One", "Three"]
        assert second.received == []  # a refusal is about the message, not the instance

        assert EmailBackend(fail_silently=True).send_messages(messages) == 2
        assert second.received == []


def test_wrong_password_names_the_instance_and_shows_no_secret(
    smtp_instance: Callable[..., Any],
    no_default_console: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with smtp_server(login=("mailer", "right-password")) as server:
        instance = smtp_instance(server, "Provider", username="mailer", password=PASSWORD)
        with caplog.at_level(logging.DEBUG), pytest.raises(PluginFailoverError) as caught:
            send()
        assert server.failed_logins >= 1  # smtplib tries each mechanism the server offers
        assert server.received == []
    error = caught.value.exceptions[0]
    text = str(error)
    assert f"'Provider' (instance {instance.pk})" in text
    assert "refused its username and password" in text
    ours = "\n".join(
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("wagtail_plugin_system")
    )
    for shown in (text, str(caught.value), repr(error), ours, caplog.text):
        assert PASSWORD not in shown
    assert "'Provider'" in ours


def test_login_with_the_right_password_sends_and_the_message_holds_no_secret(
    smtp_instance: Callable[..., Any], no_default_console: None
) -> None:
    with smtp_server(login=("mailer", PASSWORD)) as server:
        smtp_instance(server, "Provider", username="mailer", password=PASSWORD)
        assert send("Logged in") == 1
        assert server.subjects() == ["Logged in"]
        assert PASSWORD not in server.received[0].as_string()


def test_wrong_password_on_the_first_instance_fails_over_to_the_second(
    smtp_instance: Callable[..., Any], no_default_console: None, caplog: pytest.LogCaptureFixture
) -> None:
    with smtp_server(login=("mailer", "right")) as first, smtp_server() as second:
        smtp_instance(first, "First", priority=1, username="mailer", password=PASSWORD)
        smtp_instance(second, "Second", priority=2)
        with caplog.at_level(logging.INFO):
            assert send("Through the second") == 1
        assert second.subjects() == ["Through the second"]
    assert "'First'" in caplog.text
    assert PASSWORD not in caplog.text


# The current site's choice ------------------------------------------------------------


@pytest.fixture
def two_servers(
    smtp_instance: Callable[..., Any], no_default_console: None
) -> Iterator[tuple[Any, Any, PluginInstance, PluginInstance]]:
    with smtp_server() as first, smtp_server() as second:
        one = smtp_instance(first, "First", priority=1)
        two = smtp_instance(second, "Second", priority=2)
        yield first, second, one, two


def choose(site: Site, instance: PluginInstance) -> None:
    PluginSiteChoice.objects.create(
        setting=PluginSiteSettings.for_site(site),
        plugin_type=instance.item.plugin_type,
        instance=instance,
    )


def test_site_choice_comes_first_when_the_site_is_known(
    two_servers: tuple[Any, Any, PluginInstance, PluginInstance], default_site: Site
) -> None:
    first, second, _one, two = two_servers
    choose(default_site, two)
    send("No site known")
    request = RequestFactory().get("/", HTTP_HOST=default_site.hostname)
    with current_request(request):
        send("Request being served")
    EmailBackend(site=default_site).send_messages(
        [mail.EmailMessage("Site given", "Body", "a@x.com", ["b@x.com"])]
    )
    assert first.subjects() == ["No site known"]
    assert second.subjects() == ["Request being served", "Site given"]


def test_failing_site_choice_fails_over_and_is_not_tried_twice(
    two_servers: tuple[Any, Any, PluginInstance, PluginInstance], default_site: Site
) -> None:
    first, second, _one, two = two_servers
    choose(default_site, two)
    second.stop()
    connections = second.connections
    assert (
        EmailBackend(site=default_site).send_messages(
            [mail.EmailMessage("Site choice down", "Body", "a@x.com", ["b@x.com"])]
        )
        == 1
    )
    assert first.subjects() == ["Site choice down"]
    assert second.connections == connections


def test_password_reset_goes_through_the_sites_sender(
    two_servers: tuple[Any, Any, PluginInstance, PluginInstance],
    default_site: Site,
    client: Any,
    django_user_model: Any,
) -> None:
    first, second, _one, two = two_servers
    choose(default_site, two)
    django_user_model.objects.create_user("editor", "editor@example.com", "pw")
    middleware = "wagtail_plugin_system.contrib.mail.middleware.EmailSiteMiddleware"
    with override_settings(MIDDLEWARE=[*_middleware(), middleware]):
        response = client.post(
            "/admin/password_reset/",
            {"email": "editor@example.com"},
            HTTP_HOST=default_site.hostname,
        )
    assert response.status_code == 302
    assert first.received == []
    assert len(second.received) == 1
    assert second.envelopes[0][1] == ["editor@example.com"]


def _middleware() -> list[str]:
    from django.conf import settings

    return list(settings.MIDDLEWARE)


# Anymail ------------------------------------------------------------------------------


@override_settings(WAGTAIL_PLUGIN_SYSTEM_MAIL_ESPS=["test"])
def test_anymail_test_esp_sends_through_failover(
    plugin_registry: Any, db: None, no_default_console: None
) -> None:
    from wagtail_plugin_system.contrib.mail.plugins import anymail_sender, register_mail_plugins
    from wagtail_plugin_system.sync import sync_plugins

    register_mail_plugins()
    sync_plugins()
    item = anymail_sender("test")
    assert item.get_secret_fields() == frozenset({"api_key"})
    PluginInstance.objects.create_instance(item, name="Anymail test", config={}, status="active")
    mail.outbox = []
    assert send("Through Anymail") == 1
    assert [message.subject for message in mail.outbox] == ["Through Anymail"]
    assert mail.outbox[0].anymail_status.status == {"sent"}
