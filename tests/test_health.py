"""Tests for wagtail_plugin_system.health: how a stored check result reads for editors."""

from __future__ import annotations

from django.utils import translation

from wagtail_plugin_system.health import check_message_detail, check_message_display


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
