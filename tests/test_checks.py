"""Tests for wagtail_plugin_system.checks (run through Django's check framework)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core import checks
from django.test import override_settings

from tests.testapp.plugins import SmsSenderType
from wagtail_plugin_system.core.registry import EntryPointFailure, PluginRegistry

# The out-of-sync check reads the database whenever checks run.
pytestmark = pytest.mark.django_db


def run_checks() -> dict[str, checks.CheckMessage]:
    return {message.id: message for message in checks.run_checks() if message.id}


def ids() -> set[str]:
    return {i for i in run_checks() if i.startswith("wagtail_plugin_system.")}


def test_clean_configuration_has_no_messages(synced: Any) -> None:
    assert ids() == set()


@pytest.mark.parametrize("value", [None, "", "not-a-key", ["also-not-a-key"]])
def test_missing_or_malformed_key_is_an_error(value: object) -> None:
    with override_settings(FIELD_ENCRYPTION_KEY=value):
        message = run_checks()["wagtail_plugin_system.E001"]
    assert message.level == checks.ERROR
    assert "FIELD_ENCRYPTION_KEY" in message.msg
    assert "Fernet.generate_key()" in message.msg


def test_failed_entry_point_is_a_warning_or_in_strict_mode_an_error(
    plugin_registry: PluginRegistry,
) -> None:
    plugin_registry.entry_point_failures.append(
        EntryPointFailure("acme", "acme.plugins:Gateway", "ImportError: no module named acme")
    )
    warning = run_checks()["wagtail_plugin_system.W001"]
    assert warning.level == checks.WARNING
    assert "'acme'" in warning.msg
    assert "acme.plugins:Gateway" in warning.msg
    assert "no module named acme" in warning.msg
    with override_settings(WAGTAIL_PLUGIN_SYSTEM={"STRICT": True}):
        found = run_checks()
        assert found["wagtail_plugin_system.E002"].level == checks.ERROR
        assert "wagtail_plugin_system.W001" not in found


def test_database_out_of_sync_is_a_warning(synced: Any, plugin_registry: PluginRegistry) -> None:
    plugin_registry.unregister_type(SmsSenderType)
    message = run_checks()["wagtail_plugin_system.W002"]
    assert "mark missing type" in message.msg
    assert message.hint is not None
    assert "pluginsync" in message.hint


def test_out_of_sync_check_on_an_empty_database(db: None) -> None:
    assert "wagtail_plugin_system.W002" in ids()


def test_unknown_setting_is_a_warning() -> None:
    with override_settings(WAGTAIL_PLUGIN_SYSTEM={"STRICTT": True}):
        message = run_checks()["wagtail_plugin_system.W003"]
    assert "'STRICTT'" in message.msg


@pytest.mark.parametrize("value", [-1, "1", True, None])
def test_a_bad_check_interval_is_an_error(value: Any) -> None:
    from django.conf import settings

    with override_settings(
        WAGTAIL_PLUGIN_SYSTEM={**settings.WAGTAIL_PLUGIN_SYSTEM, "VERSION_CHECK_INTERVAL": value}
    ):
        message = run_checks()["wagtail_plugin_system.E004"]
    assert "VERSION_CHECK_INTERVAL" in message.msg
    assert repr(value) in message.msg


@pytest.mark.parametrize("value", [0, 2, 0.5])
def test_a_check_interval_in_seconds_passes(value: float) -> None:
    from django.conf import settings

    with override_settings(
        WAGTAIL_PLUGIN_SYSTEM={**settings.WAGTAIL_PLUGIN_SYSTEM, "VERSION_CHECK_INTERVAL": value}
    ):
        assert "wagtail_plugin_system.E004" not in run_checks()


# -- number settings ----------------------------------------------------------------------

#: Each number setting, its check, and values it refuses beyond a string, a negative and a bool.
NUMBERS = {
    "VERSION_CHECK_INTERVAL": ("E004", []),
    "BREAKER_FAILURES": ("E008", []),
    "BREAKER_WINDOW": ("E008", []),
    "BREAKER_COOLDOWN": ("E008", []),
    "CHECK_TIMEOUT": ("E009", []),
    "CHECK_MIN_INTERVAL": ("E009", []),
    "CHECK_HISTORY_DAYS": ("E009", []),
    "CHECK_STALE_AFTER": ("E009", []),
    "MEMO_SIZE": ("E010", [0, 2.5]),
    "CALL_STATS_RETENTION_DAYS": ("E011", []),
    "ROW_CACHE_TIMEOUT": ("E012", [2.5]),
}


def test_every_number_setting_is_checked() -> None:
    from wagtail_plugin_system.checks import NUMBER_SETTINGS
    from wagtail_plugin_system.core.settings import DEFAULTS

    numbers = {name for name, value in DEFAULTS.items() if type(value) in (int, float)}
    assert {setting.name for setting in NUMBER_SETTINGS} == numbers == set(NUMBERS)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (name, value)
        for name, (_, extra) in NUMBERS.items()
        for value in ["10", -1, True, None, [1], *extra]
    ],
)
def test_a_bad_number_setting_is_an_error_with_its_id(name: str, value: Any) -> None:
    check_id = f"wagtail_plugin_system.{NUMBERS[name][0]}"
    with _plugin_settings(**{name: value}):
        found = [
            message
            for message in checks.run_checks()
            if message.id == check_id and f"[{name!r}]" in message.msg
        ]
    assert len(found) == 1, f"{name}={value!r} gave no {check_id}"
    message = found[0]
    assert message.level == checks.ERROR
    assert f"got {value!r}." in message.msg
    assert message.hint


@pytest.mark.parametrize("name", list(NUMBERS))
def test_a_good_number_setting_passes(name: str) -> None:
    good = 1 if name in ("MEMO_SIZE", "ROW_CACHE_TIMEOUT") else 0.5
    with _plugin_settings(**{name: good}):
        assert not [m for m in checks.run_checks() if f"[{name!r}]" in m.msg]


def test_each_bad_breaker_setting_has_its_own_error() -> None:
    with _plugin_settings(BREAKER_WINDOW="60", BREAKER_COOLDOWN=-1):
        found = [m.msg for m in checks.run_checks() if m.id == "wagtail_plugin_system.E008"]
    assert len(found) == 2
    assert "'BREAKER_WINDOW'] must be a number, 0 or more" in found[0]
    assert "'BREAKER_COOLDOWN'] must be a number, 0 or more" in found[1]


# -- the version store --------------------------------------------------------------------


def _plugin_settings(**values: object) -> Any:
    from django.conf import settings

    return override_settings(WAGTAIL_PLUGIN_SYSTEM={**settings.WAGTAIL_PLUGIN_SYSTEM, **values})


def deploy_messages() -> dict[str, checks.CheckMessage]:
    return {
        message.id: message
        for message in checks.run_checks(include_deployment_checks=True)
        if message.id
    }


def test_deploy_check_names_the_database_store_and_its_cost() -> None:
    message = deploy_messages()["wagtail_plugin_system.I001"]
    assert message.level == checks.INFO
    assert "through the database" in message.msg
    assert "LocMemCache" in message.msg
    assert "one small query" in message.msg
    assert "wagtail_plugin_system.I001" not in run_checks()  # only with --deploy


def test_deploy_check_names_the_cache_store_with_a_shared_cache(tmp_path: Any) -> None:
    file_cache = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path),
        }
    }
    with override_settings(CACHES=file_cache):
        message = deploy_messages()["wagtail_plugin_system.I001"]
    assert "through the cache 'default' (FileBasedCache" in message.msg
    assert "runs no query" in message.msg


def test_the_cache_store_with_a_per_process_cache_is_a_warning() -> None:
    with _plugin_settings(VERSION_STORE="cache"):
        message = run_checks()["wagtail_plugin_system.W004"]
    assert message.level == checks.WARNING
    assert "never seen by the others" in message.msg


def test_an_unknown_version_store_is_an_error() -> None:
    with _plugin_settings(VERSION_STORE="redis"):
        message = run_checks()["wagtail_plugin_system.E005"]
    assert message.level == checks.ERROR
    assert "'auto', 'cache', 'database'" in message.msg


def test_a_type_without_label_is_asked_for_one(
    synced: Any, plugin_registry: PluginRegistry
) -> None:
    from abc import abstractmethod

    from wagtail_plugin_system import BasePluginType

    class OtpSenderType(BasePluginType):
        name = "otp_sender"

        @abstractmethod
        def send_code(self, phone: str, code: str) -> str: ...

    plugin_registry.register_type(OtpSenderType)
    message = run_checks()["wagtail_plugin_system.I002"]
    assert message.level == checks.INFO
    assert "'Otp sender'" in message.msg
    assert "Set label on OtpSenderType" in str(message.hint)
    OtpSenderType.label = "OTP sender"
    OtpSenderType._label_from_name = False  # type: ignore[attr-defined]
    assert "wagtail_plugin_system.I002" not in ids()


def test_deploy_check_is_silent_while_no_plugin_type_is_registered(
    plugin_registry: PluginRegistry,
) -> None:
    for type_class in plugin_registry.get_types():
        plugin_registry.unregister_type(type_class)
    assert "wagtail_plugin_system.I001" not in deploy_messages()


@pytest.mark.parametrize(
    ("name", "value"),
    [("DRAFTS", "payment_gateway"), ("DRAFTS", [1]), ("APPROVAL", True), ("APPROVAL", "x")],
)
def test_malformed_drafts_or_approval_is_an_error(name: str, value: Any) -> None:
    from django.conf import settings

    with override_settings(WAGTAIL_PLUGIN_SYSTEM={**settings.WAGTAIL_PLUGIN_SYSTEM, name: value}):
        message = run_checks()["wagtail_plugin_system.E006"]
    assert name in message.msg
    assert repr(value) in message.msg


@pytest.mark.parametrize(
    ("name", "value"),
    [("DRAFTS", True), ("DRAFTS", False), ("DRAFTS", ["payment_gateway"]), ("APPROVAL", [])],
)
def test_drafts_and_approval_as_documented_pass(name: str, value: Any) -> None:
    from django.conf import settings

    with override_settings(WAGTAIL_PLUGIN_SYSTEM={**settings.WAGTAIL_PLUGIN_SYSTEM, name: value}):
        assert "wagtail_plugin_system.E007" not in run_checks()


# -- django-plugin-system listed first ------------------------------------------------------


def _apps_in_order(monkeypatch: pytest.MonkeyPatch, *front: str, without: str = "") -> None:
    """The app registry's order with ``front`` first (reloading the apps is not needed)."""
    from django.apps import apps

    configs = [config for config in apps.get_app_configs() if config.name != without]
    ordered = [c for n in front for c in configs if c.name == n] + [
        c for c in configs if c.name not in front
    ]
    monkeypatch.setattr(apps, "get_app_configs", lambda: ordered)


@pytest.mark.parametrize(
    ("order", "refused"),
    [
        (("django_plugin_system", "wagtail_plugin_system"), True),
        (("tests.testapp", "django_plugin_system", "wagtail_plugin_system"), True),
        (("wagtail_plugin_system", "django_plugin_system"), False),
        (("wagtail_plugin_system",), False),  # django_plugin_system last, as documented
    ],
)
def test_django_plugin_system_listed_first_is_an_error(
    monkeypatch: pytest.MonkeyPatch, order: tuple[str, ...], refused: bool
) -> None:
    _apps_in_order(monkeypatch, *order)
    found = run_checks()
    if not refused:
        assert "wagtail_plugin_system.E007" not in found
        return
    message = found["wagtail_plugin_system.E007"]
    assert message.level == checks.ERROR
    assert "'django_plugin_system' is listed before 'wagtail_plugin_system'" in message.msg
    assert "pluginimport" in message.msg
    assert message.hint is not None
    assert "List 'wagtail_plugin_system' before 'django_plugin_system'" in message.hint


def test_without_django_plugin_system_nothing_is_said(monkeypatch: pytest.MonkeyPatch) -> None:
    _apps_in_order(monkeypatch, without="django_plugin_system")
    assert "wagtail_plugin_system.E007" not in run_checks()


COUNT_SEED_ROWS = """
import django
django.setup()
from wagtail_plugin_system.compat.importer import SeedInstance, SeedItem, SeedType
print(SeedType.objects.count(), SeedItem.objects.count(), SeedInstance.objects.count())
"""


def test_pluginsync_with_django_plugin_system_first_deletes_nothing(
    migrated_sqlite: Path,
) -> None:
    """``manage.py pluginsync`` in a project listing the old app first: refused, rows kept.

    With ``--skip-checks`` the old package's command runs, and its sync deletes the
    rows: that is the loss the check prevents.
    """
    import subprocess
    import sys

    from tests.management.commands.test_pluginimport import WRITE_SEED_ROWS
    from tests.processes import ROOT, sqlite_project_env

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        env = sqlite_project_env(migrated_sqlite, **extra)
        command = [sys.executable, *args]
        return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)

    assert run("-c", WRITE_SEED_ROWS).returncode == 0
    assert run("-c", COUNT_SEED_ROWS).stdout.split() == ["1", "1", "3"]

    refused = run("-m", "django", "pluginsync", WPS_SEED_APP_FIRST="1")
    assert refused.returncode != 0
    assert "wagtail_plugin_system.E007" in refused.stderr
    assert "List 'wagtail_plugin_system' before 'django_plugin_system'" in refused.stderr
    assert "Plugin registry sync completed" not in refused.stdout
    assert run("-c", COUNT_SEED_ROWS).stdout.split() == ["1", "1", "3"]

    # In the documented order, this package's pluginsync runs and keeps the old rows.
    synced = run("-m", "django", "pluginsync")
    assert synced.returncode == 0, synced.stderr
    assert run("-c", COUNT_SEED_ROWS).stdout.split() == ["1", "1", "3"]

    # What the check prevents: the old command, run past the checks, deletes them all.
    forced = run("-m", "django", "pluginsync", "--skip-checks", WPS_SEED_APP_FIRST="1")
    assert "Plugin registry sync completed" in forced.stdout, forced.stderr
    assert run("-c", COUNT_SEED_ROWS).stdout.split() == ["0", "0", "0"]
