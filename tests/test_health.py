"""Tests for wagtail_plugin_system.health: what a check records, whatever the provider says,
and how a stored check result reads for editors."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from django.utils import translation
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.testapp.plugins import PaymentGatewayType
from wagtail_plugin_system import BasePluginItem
from wagtail_plugin_system.core.redact import describe_exception
from wagtail_plugin_system.core.registry import PluginRegistry
from wagtail_plugin_system.health import (
    check_message_detail,
    check_message_display,
    run_health_check,
    storable_message,
)
from wagtail_plugin_system.models import PluginInstance
from wagtail_plugin_system.sync import sync_plugins

pytestmark = pytest.mark.django_db

REPLACEMENT = "\ufffd"


class SayingGateway(BasePluginItem):
    """Its check fails with whatever message the test sets."""

    name = "saying"
    plugin_type = PaymentGatewayType
    message: ClassVar[str] = ""

    def create_payment(self, amount: int) -> str:
        return "said"

    def check(self) -> None:
        raise ValueError(type(self).message)


@pytest.fixture
def saying(plugin_registry: PluginRegistry, synced: Any) -> PluginInstance:
    plugin_registry.register_item(SayingGateway)
    sync_plugins()
    instance: PluginInstance = PluginInstance.objects.get(item__name="saying")
    return instance


@pytest.mark.parametrize(
    ("said", "stored"),
    [
        ("nul \x00 byte", f"ValueError: nul {REPLACEMENT} byte"),
        ("lone \ud800 high", f"ValueError: lone {REPLACEMENT} high"),
        ("lone \udfff low", f"ValueError: lone {REPLACEMENT} low"),
        ("split pair \ud83d\ude00", f"ValueError: split pair {REPLACEMENT}{REPLACEMENT}"),
        ("\x00" * 3, f"ValueError: {REPLACEMENT * 3}"),
        ("ünïcødé 🔑 stays", "ValueError: ünïcødé 🔑 stays"),
        ("tab\tand\nnewline stay", "ValueError: tab\tand\nnewline stay"),
    ],
)
def test_a_message_is_recorded_sanitised(
    saying: PluginInstance, monkeypatch: pytest.MonkeyPatch, said: str, stored: str
) -> None:
    monkeypatch.setattr(SayingGateway, "message", said)
    result = run_health_check(saying)
    assert (result.ok, result.message) == (False, stored)
    saying.refresh_from_db()
    assert saying.last_check_message == stored
    assert saying.last_check_ok is False
    stored.encode("utf-8")  # a page can show it


def test_a_long_message_is_cut_after_sanitising(
    saying: PluginInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SayingGateway, "message", "\x00" * 2000)
    result = run_health_check(saying)
    assert result.message == "ValueError: " + REPLACEMENT * 488
    assert len(result.message) == 500


ANY_CHARACTER = st.characters(codec=None, exclude_categories=())


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(said=st.text(alphabet=ANY_CHARACTER | st.sampled_from("\x00\ud800\udc00"), max_size=80))
def test_any_message_is_stored(saying: PluginInstance, said: str) -> None:
    SayingGateway.message = said
    try:
        result = run_health_check(saying)
    finally:
        SayingGateway.message = ""
    saying.refresh_from_db()
    assert saying.last_check_message == result.message
    assert "\x00" not in result.message
    result.message.encode("utf-8")
    assert result.message == storable_message(describe_exception(ValueError(said), {}))


def test_check_messages_for_editors() -> None:
    assert check_message_display("") == ""
    assert check_message_display("PermissionError: The provider refused") == (
        "The provider refused"
    )
    assert check_message_display("mod.Err: HTTP 401: unauthorized") == "HTTP 401: unauthorized"
    assert check_message_display("TimeoutError") == "The check raised an error without a message."
    assert check_message_display("The check passed.") == "The check passed."
    assert check_message_detail("The check passed.") == ""
    assert check_message_detail("TimeoutError") == "TimeoutError"
    with translation.override("fr"):
        assert check_message_display("The check passed.") != "The check passed."
