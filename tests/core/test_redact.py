"""Tests for redacting configuration values out of messages."""

from __future__ import annotations

import json
import traceback
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from django.utils.html import escape
from hypothesis import given
from hypothesis import strategies as st

from wagtail_plugin_system.core.redact import (
    REDACTED,
    RedactedError,
    describe_exception,
    format_exception,
    redact,
    safe_exception,
)


def test_string_values_anywhere_in_the_config_are_blanked_out() -> None:
    config = {"key": "sk_live_abc", "nested": {"token": "tok-123"}, "list": ["secret-x"]}
    text = "bad key sk_live_abc (token tok-123, also secret-x)"
    assert redact(text, config) == f"bad key {REDACTED} (token {REDACTED}, also {REDACTED})"


def test_longer_values_win_over_their_prefixes() -> None:
    assert redact("abcdefgh", {"a": "abcd", "b": "abcdefgh"}) == REDACTED


def test_short_values_are_left_alone() -> None:
    assert redact("currency EUR", {"currency": "EUR"}) == "currency EUR"


# -- numbers, encodings, exceptions (issue 12) ------------------------------------------------


def test_numbers_are_blanked_out() -> None:
    config = {"pin": 90417733, "rate": 1234.5, "retries": 3, "sandbox": True}
    text = "pin 90417733 refused at rate 1234.5 after 3 retries (True)"
    assert (
        redact(text, config) == f"pin {REDACTED} refused at rate {REDACTED} after 3 retries (True)"
    )


@pytest.mark.parametrize(
    "spell",
    [
        lambda value: repr(value),
        lambda value: ascii(value),
        lambda value: json.dumps(value),
        lambda value: quote(value, safe=""),
        lambda value: quote_plus(value),
        lambda value: escape(value),
    ],
    ids=["repr", "ascii", "json", "url", "url-plus", "html"],
)
def test_common_encodings_of_a_value_are_blanked_out(spell: Any) -> None:
    secret = "s3cr\u00e9t/k\"y<&>'\\x 9"
    text = f"provider said: {spell(secret)}!"
    assert secret not in redact(text, {"key": secret})
    assert spell(secret) not in redact(text, {"key": secret})


def test_a_replacement_never_joins_a_value_back_together() -> None:
    assert redact("aa***", {"key": "a***"}) == REDACTED


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)


@given(config=st.dictionaries(st.text(max_size=8), json_values, max_size=5), noise=st.text())
def test_no_value_of_four_characters_or_more_survives(config: dict[str, Any], noise: str) -> None:
    values = [
        str(value)
        for value in _leaves(config)
        if not isinstance(value, bool) and value is not None and len(str(value)) >= 4
    ]
    text = noise.join([*values, noise])
    redacted = redact(text, config)
    for value in values:
        assert value not in redacted


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for nested in value.values() for leaf in _leaves(nested)]
    if isinstance(value, list):
        return [leaf for nested in value for leaf in _leaves(nested)]
    return [value]


class ProviderError(Exception):
    pass


class CustomMessageError(Exception):
    def __init__(self, key: str) -> None:
        super().__init__("refused")
        self.key = key

    def __str__(self) -> str:
        return f"key {self.key} refused"


class UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no")


CONFIG = {"api_key": "sk_live_SECRET_1", "pin": 90417733}


def _raised(error: Exception) -> Exception:
    try:
        try:
            raise ValueError(f"inner with {CONFIG['api_key']}")
        except ValueError as inner:
            raise error from inner
    except Exception as exc:
        return exc


def test_describe_exception_survives_an_unprintable_error() -> None:
    assert describe_exception(UnprintableError(), CONFIG).startswith("UnprintableError: ")


def test_format_exception_blanks_out_the_whole_chain() -> None:
    text = format_exception(_raised(ProviderError("pin 90417733 for sk_live_SECRET_1")), CONFIG)
    assert "inner with ***" in text
    assert "pin *** for ***" in text
    assert "SECRET" not in text
    assert "90417733" not in text


@pytest.mark.parametrize(
    "error",
    [ProviderError("pin 90417733 for sk_live_SECRET_1"), CustomMessageError("sk_live_SECRET_1")],
)
def test_safe_exception_keeps_the_class_and_drops_everything_else(error: Exception) -> None:
    safe = safe_exception(_raised(error), CONFIG)
    assert isinstance(safe, type(error))
    assert safe.__cause__ is None
    assert safe.__context__ is None
    assert safe.__traceback__ is None
    assert not hasattr(safe, "key")
    printed = "".join(traceback.format_exception(safe)) + repr(safe) + str(safe)
    assert "SECRET" not in printed
    assert "90417733" not in printed
    assert "refused" in str(safe) or "pin ***" in str(safe)
    assert "Original traceback" in printed  # where it failed is kept, as text
    caught: list[BaseException] = []
    try:
        raise ExceptionGroup("all failed", [safe])
    except* type(error) as group:
        caught.extend(group.exceptions)
    assert caught == [safe]


def test_safe_exception_of_a_class_that_cannot_be_copied() -> None:
    safe = safe_exception(_raised(OSError(2, "no such key sk_live_SECRET_1")), CONFIG)
    assert isinstance(safe, OSError | RedactedError)
    assert "SECRET" not in "".join(traceback.format_exception(safe))
