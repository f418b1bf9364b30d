"""Django 6.1's ``MAILERS``: the backend as a mailer, the default one and one named by ``using=``.

Deselected on Django 5.2 and 6.0 (see tests/conftest.py); the Python 3.13 run
with Django 6.1 runs it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.test import override_settings

from tests.smtp_server import smtp_server

from .conftest import BACKEND

pytestmark = [pytest.mark.mailers, pytest.mark.usefixtures("mail_plugins", "no_default_console")]

MAILERS = {
    "default": {"BACKEND": BACKEND},
    "plugins": {"BACKEND": BACKEND},
    "local": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"},
}
TOTAL = 200
HALF = 100


@override_settings(MAILERS=MAILERS)
def test_mailers_batch_survives_first_server_dying_mid_batch(
    smtp_instance: Callable[..., Any],
) -> None:
    with smtp_server() as first, smtp_server() as second:
        smtp_instance(first, "First", priority=1)
        smtp_instance(second, "Second", priority=2)
        first.die_after(HALF)
        datatuple = [
            (f"Message {number}", "Body", "site@example.com", [f"user{number}@example.com"])
            for number in range(TOTAL)
        ]
        assert mail.send_mass_mail(datatuple, using="plugins") == TOTAL
        received = Counter(first.subjects() + second.subjects())
        assert received == Counter(f"Message {number}" for number in range(TOTAL))
        assert len(first.received) == HALF


@override_settings(MAILERS=MAILERS)
def test_mailers_default_and_using_go_through_the_instances(
    smtp_instance: Callable[..., Any],
) -> None:
    with smtp_server() as first, smtp_server() as second:
        smtp_instance(first, "First", priority=1)
        smtp_instance(second, "Second", priority=2)
        results = []
        for number in range(TOTAL):
            if number == HALF:
                first.stop()
            message = mail.EmailMessage(f"Message {number}", "Body", "a@x.com", ["b@x.com"])
            results.append(message.send(using="plugins" if number % 2 else None))
        assert results == [1] * TOTAL
        received = Counter(first.subjects() + second.subjects())
        assert received == Counter(f"Message {number}" for number in range(TOTAL))
        assert len(first.received) == HALF

        assert isinstance(mail.mailers["plugins"], mail.mailers["default"].__class__)
        assert mail.mailers["plugins"].alias == "plugins"
        mail.send_mail("Elsewhere", "Body", "a@x.com", ["b@x.com"], using="local")
        assert [message.subject for message in mail.outbox] == ["Elsewhere"]
        assert "Elsewhere" not in second.subjects()
