"""Two real SMTP servers, the first going down mid-way: every message arrives exactly once.

The servers are aiosmtpd on loopback ports, started by the tests. Acceptance is
per message (the ``250`` after ``DATA``), so the messages the first server
confirmed before it went down are not sent again, and the others reach the
second server.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail

from tests.smtp_server import SmtpServer, dead_port, smtp_server

pytestmark = pytest.mark.usefixtures("plugin_backend", "no_default_console")

TOTAL = 200
HALF = 100


def subjects(*servers: SmtpServer) -> Counter[str]:
    return Counter(subject for server in servers for subject in server.subjects())


def expected() -> Counter[str]:
    return Counter(f"Message {number}" for number in range(TOTAL))


def test_send_mass_mail_batch_survives_first_server_dying_mid_batch(
    smtp_instance: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    with smtp_server() as first, smtp_server() as second:
        smtp_instance(first, "First", priority=1)
        smtp_instance(second, "Second", priority=2)
        first.die_after(HALF)
        datatuple = [
            (f"Message {number}", "Body", "site@example.com", [f"user{number}@example.com"])
            for number in range(TOTAL)
        ]
        with caplog.at_level(logging.INFO):
            sent = mail.send_mass_mail(datatuple)

        assert sent == TOTAL
        assert len(first.received) == HALF
        assert len(second.received) == TOTAL - HALF
        assert subjects(first, second) == expected()  # each exactly once, none lost
        assert first.subjects() == [f"Message {number}" for number in range(HALF)]
        # The second server got the messages in order, from the first one not confirmed.
        assert second.subjects() == [f"Message {number}" for number in range(HALF, TOTAL)]
        assert any("'First'" in record.getMessage() for record in caplog.records)


def test_message_send_one_by_one_survives_first_server_stopping(
    smtp_instance: Callable[..., Any],
) -> None:
    with smtp_server() as first, smtp_server() as second:
        smtp_instance(first, "First", priority=1)
        smtp_instance(second, "Second", priority=2)
        results = []
        for number in range(TOTAL):
            if number == HALF:
                first.stop()
            message = mail.EmailMessage(
                f"Message {number}", "Body", "site@example.com", [f"user{number}@example.com"]
            )
            results.append(message.send())

        assert results == [1] * TOTAL
        assert len(first.received) == HALF
        assert len(second.received) == TOTAL - HALF
        assert subjects(first, second) == expected()


def test_dead_server_gets_a_connection_per_send_without_a_breaker(
    smtp_instance: Callable[..., Any],
) -> None:
    """What the breaker is for: without it, each send knocks on the dead server first."""
    with smtp_server() as first, smtp_server() as second:
        smtp_instance(first, "First", priority=1)
        smtp_instance(second, "Second", priority=2)
        for number in range(10):
            mail.EmailMessage(f"Message {number}", "Body", "a@example.com", ["b@x.com"]).send()
        first.stop()
        with dead_port(first.port) as dead:
            for number in range(10, 30):
                sent = mail.EmailMessage(
                    f"Message {number}", "Body", "a@example.com", ["b@x.com"]
                ).send()
                assert sent == 1
        assert len(second.received) == 20
        assert dead.connections >= 1
