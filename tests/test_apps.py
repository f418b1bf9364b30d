"""Tests for wagtail_plugin_system.apps: entry points at start-up and the post-migrate sync."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import override_settings

from wagtail_plugin_system.apps import sync_after_migrate
from wagtail_plugin_system.core.exceptions import PluginLoadError
from wagtail_plugin_system.core.registry import EntryPointFailure, PluginRegistry
from wagtail_plugin_system.models import PluginType

APP = "wagtail_plugin_system"


@pytest.mark.django_db
def test_migrate_runs_a_create_only_sync() -> None:
    assert PluginType.objects.count() == 0
    out = io.StringIO()
    with override_settings(WAGTAIL_PLUGIN_SYSTEM={"SYNC_AFTER_MIGRATE": True}):
        call_command("migrate", APP, verbosity=1, stdout=out)
    assert PluginType.objects.count() == 2
    assert "Synced plugins:" in out.getvalue()


@pytest.mark.django_db
def test_post_migrate_sync_can_be_turned_off() -> None:
    call_command("migrate", APP, verbosity=0)
    assert PluginType.objects.count() == 0  # the test settings turn it off


@pytest.mark.django_db
def test_post_migrate_sync_never_prunes(synced: Any, plugin_registry: PluginRegistry) -> None:
    plugin_registry._types.clear()
    with override_settings(WAGTAIL_PLUGIN_SYSTEM={"SYNC_AFTER_MIGRATE": True}):
        sync_after_migrate(apps.get_app_config(APP), verbosity=0)
    assert PluginType.objects.filter(is_missing=True).count() == 2


def test_strict_mode_stops_start_up_on_a_broken_entry_point(
    plugin_registry: PluginRegistry,
) -> None:
    plugin_registry.entry_points_loaded = True  # as if loaded, with one failure
    plugin_registry.entry_point_failures.append(
        EntryPointFailure("acme", "acme.plugins:Gateway", "ImportError: no acme")
    )
    app_config = apps.get_app_config(APP)
    app_config.ready()  # not strict: start-up goes on
    with (
        override_settings(WAGTAIL_PLUGIN_SYSTEM={"STRICT": True}),
        pytest.raises(PluginLoadError, match="Strict mode: 1 plugin entry point"),
    ):
        app_config.ready()
