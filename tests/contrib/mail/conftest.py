"""Fixtures of the contrib.mail tests: its plugins registered and synced, instances made."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import override_settings

from wagtail_plugin_system.contrib.mail.plugins import register_mail_plugins
from wagtail_plugin_system.core.registry import PluginRegistry

BACKEND = "wagtail_plugin_system.contrib.mail.EmailBackend"


@pytest.fixture
def mail_plugins(plugin_registry: PluginRegistry, db: None) -> PluginRegistry:
    """The email_sender type and its items, registered and mirrored into the database."""
    from wagtail_plugin_system.sync import sync_plugins

    register_mail_plugins()
    sync_plugins()
    return plugin_registry


@pytest.fixture
def plugin_backend(mail_plugins: PluginRegistry) -> Iterator[None]:
    """EMAIL_BACKEND is the package's (pytest-django points it at locmem otherwise)."""
    with override_settings(EMAIL_BACKEND=BACKEND):
        yield


@pytest.fixture
def smtp_instance(mail_plugins: PluginRegistry) -> Callable[..., Any]:
    """Make an active SMTP instance pointing at a test server."""
    from wagtail_plugin_system.contrib.mail.plugins import SmtpSender
    from wagtail_plugin_system.models import PluginInstance

    def make(
        server: Any, name: str, *, priority: int = 10, status: str = "active", **config: Any
    ) -> PluginInstance:
        values = {
            "host": "127.0.0.1",
            "port": server.port,
            "use_tls": False,
            "use_ssl": False,
            "timeout": 20,
            **config,
        }
        return PluginInstance.objects.create_instance(
            SmtpSender, name=name, config=values, status=status, priority=priority
        )

    return make


@pytest.fixture
def no_default_console(mail_plugins: PluginRegistry) -> None:
    """Disable the console instance that pluginsync made (it would take over on failure)."""
    from wagtail_plugin_system.models import PluginInstance

    PluginInstance.objects.filter(item__name="console").update(status="disabled")
