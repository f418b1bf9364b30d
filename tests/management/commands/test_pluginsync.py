"""Tests for the pluginsync management command."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from tests.processes import ROOT, sqlite_project_env
from tests.testapp.plugins import SmsSenderType, StripeGateway
from wagtail_plugin_system.core.registry import EntryPointFailure, PluginRegistry
from wagtail_plugin_system.models import PluginInstance, PluginType

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("pluginsync", *args, stdout=out)
    return out.getvalue()


def test_prints_a_table_of_changes(db: None) -> None:
    output = run()
    assert "Plugin sync (mode: create)" in output
    lines = output.splitlines()
    header = next(line for line in lines if line.startswith("ACTION"))
    assert header.split() == ["ACTION", "KIND", "NAME", "DETAIL"]
    assert any(line.split()[:3] == ["create", "type", "payment_gateway"] for line in lines)
    assert "default instance (nothing to configure)" in output
    assert "Summary: 2 create instance, 4 create item, 2 create type." in output
    assert PluginType.objects.count() == 2


def test_second_run_says_nothing_to_do(synced: Any) -> None:
    assert "Nothing to do" in run()


def test_dry_run_changes_nothing(db: None) -> None:
    output = run("--dry-run")
    assert "dry run: nothing was changed" in output
    assert "create" in output
    assert PluginType.objects.count() == 0


def test_check_exits_non_zero_when_out_of_sync(db: None) -> None:
    with pytest.raises(CommandError) as info:
        run("--check")
    assert info.value.returncode == 1
    assert "not in sync" in str(info.value)
    assert PluginType.objects.count() == 0
    run()
    assert "Nothing to do" in run("--check")


@pytest.mark.slow
def test_check_exit_status_from_the_shell(migrated_sqlite: Path) -> None:
    """The status a deploy pipeline sees, from a real process on a fresh database."""
    env = sqlite_project_env(migrated_sqlite)
    manage = [sys.executable, "-m", "django"]
    out_of_sync = subprocess.run(
        [*manage, "pluginsync", "--check"], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert out_of_sync.returncode == 1, out_of_sync.stderr
    assert "not in sync" in out_of_sync.stderr
    subprocess.run([*manage, "pluginsync"], env=env, cwd=ROOT, check=True, capture_output=True)
    in_sync = subprocess.run(
        [*manage, "pluginsync", "--check"], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert in_sync.returncode == 0, in_sync.stderr


def test_missing_key_is_a_command_error(db: None) -> None:
    from django.test import override_settings

    with (
        override_settings(FIELD_ENCRYPTION_KEY=None),
        pytest.raises(CommandError, match="FIELD_ENCRYPTION_KEY is not set"),
    ):
        run()
    assert PluginType.objects.count() == 0  # one transaction: nothing half-written


def test_json_format(db: None) -> None:
    data = json.loads(run("--format", "json"))
    assert data["changed"] is True
    assert data["mode"] == "create"
    assert {"action": "create", "kind": "type", "name": "sms_sender", "detail": ""} in data[
        "actions"
    ]
    assert json.loads(run("--format", "json"))["actions"] == []


def test_prune_reports_what_it_keeps(make_instance: Any, plugin_registry: PluginRegistry) -> None:
    make_instance(
        StripeGateway,
        "Stripe live",
        config={
            "publishable_key": "pk",
            "secret_key": "sk_cmd_secret_93",
            "currency": "EUR",
            "retries": 1,
        },
    )
    plugin_registry.unregister_item(StripeGateway)
    plugin_registry.unregister_type(SmsSenderType)
    output = run("--prune")
    assert "keep missing" in output
    assert "1 editor-made instance(s) depend on it" in output
    rows = [line.split()[:3] for line in output.splitlines()]
    assert ["delete", "type", "sms_sender"] in rows
    assert ["keep", "missing", "item"] in rows
    assert "sk_cmd_secret_93" not in output
    assert PluginInstance.objects.filter(name="Stripe live").exists()


def test_prune_refused_is_a_command_error(synced: Any, plugin_registry: PluginRegistry) -> None:
    plugin_registry.entry_point_failures.append(EntryPointFailure("acme", "acme:X", "boom"))
    with pytest.raises(CommandError, match="Refusing to prune"):
        run("--prune")


def test_update_mode(synced: Any) -> None:
    PluginType.objects.filter(name="sms_sender").update(description="old")
    assert "Nothing to do" in run("--mode", "create")
    assert "update" in run("--mode", "update")


def test_nothing_registered_says_where_registration_goes(
    db: None, plugin_registry: PluginRegistry
) -> None:
    for plugin_type in plugin_registry.get_types():
        plugin_registry.unregister_type(plugin_type)
    output = run()
    assert "No plugins are registered" in output
    assert "ready()" in output
    assert "Nothing to do" not in output


@pytest.mark.slow
def test_before_migrate_says_to_run_migrate(tmp_path: Path) -> None:
    """One line, no traceback, on a database without the tables."""
    env = sqlite_project_env(tmp_path / "db.sqlite3")
    result = subprocess.run(
        [sys.executable, "-m", "django", "pluginsync"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "CommandError: The plugin tables do not exist yet in the database 'default'. Run "
        "'manage.py migrate' first."
    ]
