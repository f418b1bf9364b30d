"""Middleware: read the plugin cache's version token once per request.

Add it to ``MIDDLEWARE`` to make warm resolutions inside a request free of
any cache access (see :mod:`wagtail_plugin_system.cache`)::

    MIDDLEWARE = [
        # ...
        "wagtail_plugin_system.middleware.PluginCacheMiddleware",
    ]

Without it, every resolution reads the token from Django's cache (a few
microseconds with the local-memory cache, a network round trip with Redis).
Either way, changes made by other processes are seen by the next request.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from .cache import version_scope

__all__ = ["PluginCacheMiddleware"]


class PluginCacheMiddleware:
    """Wraps each request in a :func:`~wagtail_plugin_system.cache.version_scope`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        with version_scope():
            return self.get_response(request)
