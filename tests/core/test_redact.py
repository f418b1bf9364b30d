"""Tests for redacting configuration values out of messages."""

from __future__ import annotations

from wagtail_plugin_system.core.redact import REDACTED, redact


def test_string_values_anywhere_in_the_config_are_blanked_out() -> None:
    config = {"key": "sk_live_abc", "nested": {"token": "tok-123"}, "list": ["secret-x"]}
    text = "bad key sk_live_abc (token tok-123, also secret-x)"
    assert redact(text, config) == f"bad key {REDACTED} (token {REDACTED}, also {REDACTED})"


def test_longer_values_win_over_their_prefixes() -> None:
    assert redact("abcdefgh", {"a": "abcd", "b": "abcdefgh"}) == REDACTED


def test_short_values_are_left_alone() -> None:
    assert redact("currency EUR", {"currency": "EUR"}) == "currency EUR"
