"""A plugin type whose items call a provider over HTTP (the circuit breaker's tests).

Registered by the tests that use it, and by the test project when
``WPS_TEST_REMOTE_PLUGINS=1`` (the multi-process tests).
"""

from __future__ import annotations

from abc import abstractmethod
from urllib.error import URLError
from urllib.request import urlopen

from django import forms

from wagtail_plugin_system import BasePluginItem, BasePluginType, PluginConfiguration


class RemoteError(Exception):
    """The provider did not answer, or answered with an error: triggers failover."""


class RemoteServiceType(BasePluginType):
    name = "remote_service"
    label = "Remote service"
    failover_exceptions = (RemoteError,)

    @abstractmethod
    def fetch(self) -> str: ...


class HttpProviderForm(forms.Form):
    url = forms.CharField()
    token = forms.CharField(widget=forms.PasswordInput)
    timeout = forms.FloatField(initial=2.0)


class HttpProviderConfiguration(PluginConfiguration):
    form_class = HttpProviderForm


class HttpProvider(BasePluginItem):
    """Fetches its URL with a real HTTP client and a timeout."""

    name = "http_provider"
    plugin_type = RemoteServiceType
    configuration = HttpProviderConfiguration

    def fetch(self) -> str:
        url = f"{self.config['url']}?token={self.config['token']}"
        try:
            with urlopen(url, timeout=float(self.config["timeout"])) as response:
                return f"remote:{response.read().decode()}"
        except (URLError, OSError) as exc:
            raise RemoteError(f"{url} failed: {exc}") from exc

    def check(self) -> bool:
        """The health check: one fetch (the health checks' tests)."""
        self.fetch()
        return True


class LocalBackup(BasePluginItem):
    """Always answers."""

    name = "local_backup"
    plugin_type = RemoteServiceType

    def fetch(self) -> str:
        return "backup"


class BrokenProvider(BasePluginItem):
    """A programming error: an exception that does not fail over."""

    name = "broken_provider"
    plugin_type = RemoteServiceType

    def fetch(self) -> str:
        raise KeyError("a bug")


def register() -> None:
    from wagtail_plugin_system import register_plugin_item, register_plugin_type

    register_plugin_type(RemoteServiceType)
    for item in (HttpProvider, LocalBackup, BrokenProvider):
        register_plugin_item(item)
