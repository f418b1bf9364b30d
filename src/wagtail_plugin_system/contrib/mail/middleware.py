"""The request being served, so email sent while serving it uses its site's sender.

Add :class:`EmailSiteMiddleware` to ``MIDDLEWARE``; password resets and form
pages call ``send_mail()`` without saying which site they serve, and
:class:`~.backend.EmailBackend` then tries that site's choice in Settings >
Plugins first.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.http import HttpRequest, HttpResponseBase

__all__ = ["EmailSiteMiddleware", "current_request", "request_being_served"]

_current_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar(
    "wagtail_plugin_system_mail_request", default=None
)


@contextmanager
def current_request(request: HttpRequest | None) -> Iterator[None]:
    """Make ``request`` the one whose site chooses the email sender, inside the block."""
    token = _current_request.set(request)
    try:
        yield
    finally:
        _current_request.reset(token)


class EmailSiteMiddleware:
    """Makes each request the one whose site chooses the email sender while it is served."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        with current_request(request):
            return self.get_response(request)


def request_being_served() -> HttpRequest | None:
    """The request :class:`EmailSiteMiddleware` (or :func:`current_request`) is serving."""
    return _current_request.get()
