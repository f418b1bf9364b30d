"""How large and how deep a stored configuration may be, and the checks of both.

:data:`MAX_CONFIG_BYTES` and :data:`MAX_CONFIG_DEPTH` bound what
:class:`~wagtail_plugin_system.fields.EncryptedJSONField` stores and reads; the
checks here walk a value without recursion, so no depth of nesting can raise a
``RecursionError``.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "LIMITS",
    "MAX_CONFIG_BYTES",
    "MAX_CONFIG_DEPTH",
    "MAX_TOKEN_LENGTH",
    "TOO_DEEP",
    "deeper_than",
    "find_non_json",
]

#: The largest configuration stored or read: its JSON text, in bytes of UTF-8.
MAX_CONFIG_BYTES = 1024 * 1024

#: How deep lists and objects may be nested in a configuration (the top object is 1).
MAX_CONFIG_DEPTH = 32

# The longest Fernet token of MAX_CONFIG_BYTES of plaintext: version, time, IV and HMAC
# (57 bytes), the padded ciphertext, in base64 (4 characters per 3 bytes).
MAX_TOKEN_LENGTH = 4 * ((57 + MAX_CONFIG_BYTES + 16 + 2) // 3)

#: The limits, as error messages state them.
LIMITS = (
    f"at most {MAX_CONFIG_BYTES} bytes of JSON text, lists and objects nested at most "
    f"{MAX_CONFIG_DEPTH} levels deep"
)

#: The kind :func:`find_non_json` gives a value nested too deep.
TOO_DEEP = "too deep"


def find_non_json(value: Any) -> tuple[str, str] | None:
    """The path and kind of the first value JSON cannot hold, or that is nested too deep.

    Iterative, so a value nested any depth (even one that contains itself) gives an
    answer, never a ``RecursionError``.
    """
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        current, path, depth = stack.pop()
        if current is None or isinstance(current, str | bool | int | float):
            continue
        if not isinstance(current, dict | list):
            return path, type(current).__name__
        if depth >= MAX_CONFIG_DEPTH:
            return path or "the top level", TOO_DEEP
        children: list[tuple[Any, str, int]] = []
        if isinstance(current, dict):
            for key, item in current.items():
                if not isinstance(key, str):
                    return f"{path}[{key!r}]", f"key of type {type(key).__name__}"
                children.append((item, f"{path}[{key!r}]", depth + 1))
        else:
            children.extend(
                (item, f"{path}[{index}]", depth + 1) for index, item in enumerate(current)
            )
        stack.extend(reversed(children))  # first child first, as the order of the value
    return None


def deeper_than(value: Any, limit: int) -> bool:
    """Whether lists and objects in ``value`` (parsed JSON) nest more than ``limit`` deep."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict):
            children: Any = current.values()
        elif isinstance(current, list):
            children = current
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
