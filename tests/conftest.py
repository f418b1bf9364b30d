"""Shared fixtures for the test suite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from wagtail_plugin_system.registry import PluginRegistry, registry


@pytest.fixture
def plugin_registry() -> Iterator[PluginRegistry]:
    """The process registry, restored to its state before the test afterwards."""
    with registry.isolated() as isolated:
        yield isolated


@pytest.fixture
def synced(db: None) -> Any:
    """The registry mirrored into the database; returns the sync report."""
    from wagtail_plugin_system.sync import sync_plugins

    return sync_plugins()


@pytest.fixture
def make_instance(synced: Any) -> Callable[..., Any]:
    """Create a plugin instance of a registered item class, with validated config."""
    from wagtail_plugin_system.models import PluginInstance

    def make(item_class: type, name: str | None = None, **kwargs: Any) -> PluginInstance:
        return PluginInstance.objects.create_instance(
            item_class, name=name or f"{item_class.name} instance", **kwargs
        )

    return make
