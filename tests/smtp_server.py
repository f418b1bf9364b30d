"""Throwaway SMTP servers for the tests, on free loopback ports (aiosmtpd).

:func:`smtp_server` starts one that records every message it accepts, and can
require a login. :meth:`SmtpServer.die_after` makes it stop, the way a
provider goes down, right after it has accepted (and confirmed) a given number
of messages: it stops listening and closes every open connection.
:func:`dead_port` listens on a port and closes each connection at once,
counting them: a server that is down, whose connection attempts can be seen.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

__all__ = ["DeadPort", "SmtpServer", "dead_port", "smtp_server"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class SmtpServer:
    """A running server: its port, the messages it accepted, how many connections it had."""

    def __init__(self, *, login: tuple[str, str] | None, reject: set[str]) -> None:
        self.port = free_port()
        self.login = login
        self.reject = reject
        self.received: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.connections = 0
        self.failed_logins = 0
        self._die_after: int | None = None
        self._sessions: list[SMTP] = []
        self._lock = threading.Lock()
        self.dead = threading.Event()
        self.controller = _Controller(
            self,
            _Handler(self),
            hostname="127.0.0.1",
            port=self.port,
            authenticator=self._authenticate if login else None,
            auth_require_tls=False,
            auth_required=login is not None,
        )

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert self.login is not None
        if (
            isinstance(auth_data, LoginPassword)
            and (
                auth_data.login.decode(),
                auth_data.password.decode(),
            )
            == self.login
        ):
            return AuthResult(success=True)
        self.failed_logins += 1
        return AuthResult(success=False, handled=False)

    def die_after(self, count: int) -> None:
        """Go down right after confirming the ``count``-th message."""
        self._die_after = count

    def _accepted(self, server: SMTP, content: bytes, sender: str, to: list[str]) -> None:
        with self._lock:
            self.received.append(message_from_bytes(content))
            self.envelopes.append((sender, to))
            if self._die_after is not None and len(self.received) >= self._die_after:
                # After the reply is written (a transport flushes what it holds on close).
                self.controller.loop.call_soon(self._go_down)

    def _go_down(self) -> None:
        if self.controller.server is not None:
            self.controller.server.close()
        for session in self._sessions:
            if session.transport is not None:
                session.transport.close()
        self.dead.set()

    def subjects(self) -> list[str]:
        return [str(message["Subject"]) for message in self.received]

    def stop(self) -> None:
        if not self.dead.is_set():
            self.controller.stop()
            self.dead.set()
        else:
            with suppress(Exception):  # its server was closed by _go_down already
                self.controller.stop()


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, server: SMTP, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.server.reject:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        self.server._accepted(server, envelope.content, envelope.mail_from, envelope.rcpt_tos)
        return "250 2.0.0 Message accepted for delivery"


class _Controller(Controller):  # type: ignore[misc]
    def __init__(self, owner: SmtpServer, *args: Any, **kwargs: Any) -> None:
        self.owner = owner
        super().__init__(*args, **kwargs)

    def factory(self) -> SMTP:
        session = super().factory()
        with self.owner._lock:
            self.owner.connections += 1
            self.owner._sessions.append(session)
        return session


@contextmanager
def smtp_server(
    *, login: tuple[str, str] | None = None, reject: set[str] | None = None
) -> Iterator[SmtpServer]:
    """An SMTP server on a free loopback port; stopped afterwards whatever happened."""
    server = SmtpServer(login=login, reject=reject or set())
    server.controller.start()
    try:
        yield server
    finally:
        server.stop()


class DeadPort:
    """Counts the connections made to a port where nothing answers SMTP."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connections = 0
        self._socket = socket.socket()
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", port))
        self._socket.listen(16)
        self._stopping = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _address = self._socket.accept()
            except OSError:
                return
            if self._stopping:
                connection.close()
                return
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self._stopping = True
        with suppress(OSError):
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        self._socket.close()
        self._thread.join(timeout=5)


@contextmanager
def dead_port(port: int) -> Iterator[DeadPort]:
    """Listen on ``port`` and hang up on every connection, counting them."""
    listener = DeadPort(port)
    try:
        yield listener
    finally:
        listener.close()
