"""Tests for the one id parser: anything that is not a primary key is "not found"."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wagtail_plugin_system.core.ids import MAX_ID, parse_id, parse_ids


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, 1),
        ("42", 42),
        (" 7 ", 7),
        (MAX_ID, MAX_ID),
        (str(MAX_ID), MAX_ID),
    ],
)
def test_valid_ids(value: object, expected: int) -> None:
    assert parse_id(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        False,
        0,
        -1,
        "0",
        "-1",
        "+1",
        "1.0",
        1.0,
        "",
        "   ",
        "abc",
        "²",  # a superscript digit: str.isdigit() says yes, int() says no
        "٣",  # an Arabic-Indic digit: int() would accept it
        "1\x00",
        "\x00",
        MAX_ID + 1,
        str(MAX_ID + 1),
        "9" * 40,
        b"1",
        [1],
        {"id": 1},
    ],
)
def test_anything_else_is_none(value: object) -> None:
    assert parse_id(value) is None


def test_parse_ids_takes_one_value_or_many() -> None:
    assert parse_ids(["1", "x", 3]) == [1, None, 3]
    assert parse_ids("12") == [12]
    assert parse_ids(None) == [None]


# -- properties ---------------------------------------------------------------------------


@given(st.text())
def test_any_text_is_an_id_in_range_or_nothing(text: str) -> None:
    parsed = parse_id(text)
    if parsed is not None:
        assert 1 <= parsed <= MAX_ID
        assert text.strip().isascii()
        assert int(text.strip()) == parsed


@given(st.integers())
def test_any_integer_or_its_text_is_itself_when_in_range(number: int) -> None:
    expected = number if 1 <= number <= MAX_ID else None
    assert parse_id(number) == expected
    assert parse_id(str(number)) == (expected if number >= 0 else None)


@given(st.one_of(st.none(), st.booleans(), st.floats(), st.binary(), st.lists(st.integers())))
def test_other_types_are_never_ids(value: object) -> None:
    assert parse_id(value) is None
