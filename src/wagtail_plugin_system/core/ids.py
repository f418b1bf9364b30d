"""Ids from the outside world: one parser, so that anything malformed is "not found".

Ids reach the package from URLs, query strings, form posts, block values and
application code. :func:`parse_id` accepts exactly the values a row's primary
key can have and turns everything else into ``None``, so callers answer "not
found" instead of passing a value to the database that it would reject (a
``ValueError`` from ``int('²')``, an ``OverflowError`` for a number beyond 64
bits on SQLite, a NUL byte that PostgreSQL refuses).
"""

from __future__ import annotations

__all__ = ["MAX_ID", "parse_id", "parse_ids"]

#: The largest value of a 64-bit signed primary key (``BigAutoField``).
MAX_ID = 2**63 - 1

_ASCII_DIGITS = frozenset("0123456789")


def parse_id(value: object) -> int | None:
    """The primary key ``value`` stands for, or ``None`` when it cannot be one.

    Accepted: an ``int`` (not a ``bool``) from 1 to :data:`MAX_ID`, or a string
    of ASCII digits (surrounding white space allowed) with such a value.
    Everything else (other types, signs, other scripts' digits such as ``'²'``
    or ``'٣'``, control characters, numbers out of range) gives ``None``.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value <= MAX_ID else None
    if isinstance(value, str):
        text = value.strip()
        if not text or len(text) > 19 or not _ASCII_DIGITS.issuperset(text):
            return None
        number = int(text)
        return number if 0 < number <= MAX_ID else None
    return None


def parse_ids(values: object) -> list[int | None]:
    """:func:`parse_id` of each value of an iterable (a string counts as one value)."""
    if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
        return [parse_id(values)]
    return [parse_id(value) for value in values]
