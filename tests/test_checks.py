"""Tests for wagtail_plugin_system.checks (run through Django's check framework)."""

from __future__ import annotations

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
