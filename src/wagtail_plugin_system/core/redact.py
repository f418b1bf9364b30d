"""Keep configuration values out of messages shown to editors or written to logs.

A provider's error often repeats what it was given (``Invalid API key
'sk_live_...'``). :func:`redact` blanks out every value of an instance's
configuration that appears in such a text before it is stored, shown or
logged.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["REDACTED", "redact"]

#: What a redacted value is replaced with.
REDACTED = "***"

#: Shorter strings are too likely to occur by chance ("EUR", "yes") to be blanked out.
MIN_LENGTH = 4


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for nested in value.values():
            yield from _strings(nested)
    elif isinstance(value, list | tuple):
        for nested in value:
            yield from _strings(nested)


def redact(text: str, config: Mapping[str, Any]) -> str:
    """Replace every string value of ``config`` (4+ characters) found in ``text``."""
    values = {value for value in _strings(config) if len(value) >= MIN_LENGTH}
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return text
