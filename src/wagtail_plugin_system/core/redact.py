"""Keep configuration values out of messages shown to editors or written to logs.

A provider's error often repeats what it was given (``Invalid API key
'sk_live_...'``). :func:`redact` blanks out every value of an instance's
configuration that appears in such a text before it is stored, shown or
logged: strings and numbers, as they are and in the forms they commonly take
inside a message (``repr()`` escapes, JSON, URL and HTML encodings).

:func:`describe_exception` and :func:`format_exception` turn an exception
into safe text; :func:`safe_exception` makes a copy of an exception that
carries nothing but that text, so it can travel on (in a
:class:`~wagtail_plugin_system.core.exceptions.PluginFailoverError`) and be
logged by anyone.
"""

from __future__ import annotations

import html
import json
import re
import traceback
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

from .contracts.configuration import PluginConfig
from .exceptions import PluginSystemError

__all__ = [
    "REDACTED",
    "RedactedError",
    "describe_exception",
    "format_exception",
    "redact",
    "safe_exception",
    "storable",
]

#: Characters no database column of text takes everywhere: NUL (PostgreSQL refuses it) and
#: lone surrogates (no UTF-8 encoding).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """``text`` with each NUL and lone surrogate replaced by U+FFFD, so any database stores it."""
    return _UNSTORABLE.sub("\ufffd", text)


#: What a redacted value is replaced with.
REDACTED = "***"

#: Shorter values are too likely to occur by chance ("EUR", "yes", "3") to be blanked out.
MIN_LENGTH = 4


def _values(value: Any) -> Iterator[str]:
    """Every string and number (as text) in a configuration, however deeply nested."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float):
        yield str(value)
        yield repr(value)
    elif isinstance(value, Mapping):
        for nested in value.values():
            yield from _values(nested)
    elif isinstance(value, list | tuple | set | frozenset):
        for nested in value:
            yield from _values(nested)


def _forms(value: str) -> Iterator[str]:
    """``value`` and the ways a message may spell it."""
    yield value
    yield repr(value)[1:-1]
    yield ascii(value)[1:-1]
    yield json.dumps(value)[1:-1]
    yield json.dumps(value, ensure_ascii=False)[1:-1]
    yield quote(value, safe="")
    yield quote(value)
    yield quote_plus(value)
    yield html.escape(value)
    yield html.escape(value, quote=False)


#: Needles of loaded items' configurations (read-only, shared): id -> (config, needles).
_NEEDLES: dict[int, tuple[Mapping[str, Any], list[str]]] = {}
_NEEDLES_SIZE = 256


def _needles(config: Mapping[str, Any]) -> list[str]:
    """The texts to blank out for ``config``; worked out once per loaded item's configuration."""
    memoised = _NEEDLES.get(id(config))  # only loaded items' configurations are kept there
    if memoised is not None and memoised[0] is config:
        return memoised[1]
    found = {form for value in _values(config) for form in _forms(value)}
    needles = sorted((form for form in found if len(form) >= MIN_LENGTH), key=len, reverse=True)
    if isinstance(config, PluginConfig):
        if len(_NEEDLES) >= _NEEDLES_SIZE:
            _NEEDLES.clear()
        _NEEDLES[id(config)] = (config, needles)  # the config is kept, so its id is not reused
    return needles


def redact(text: str, config: Mapping[str, Any]) -> str:
    """Replace every value of ``config`` (4+ characters) found in ``text``.

    Strings and numbers are blanked out wherever they are nested, as written
    and in their ``repr()``-escaped, JSON-escaped, URL-encoded and
    HTML-escaped forms. Longer values are replaced first.
    """
    return _redact(text, _needles(config))


def _redact(text: str, needles: list[str]) -> str:
    changed = True
    while changed:  # a replacement can join two halves into a value: go on until none is left
        changed = False
        for needle in needles:
            if needle in text:
                text = text.replace(needle, REDACTED)
                changed = True
    return text


def _text_of(exc: BaseException) -> str:
    """``str(exc)``, or a placeholder when even that fails."""
    try:
        return str(exc)
    except Exception:
        return "(the error's message could not be read)"


def describe_exception(exc: BaseException, config: Mapping[str, Any]) -> str:
    """``"TypeName: message"`` with the configuration's values blanked out.

    The text is :func:`storable`: a NUL or lone surrogate in a provider's message would
    break a database column, a UTF-8 log file or a page.
    """
    return _describe(exc, _needles(config))


def _describe(exc: BaseException, needles: list[str]) -> str:
    message = storable(_redact(_text_of(exc), needles))
    name = type(exc).__name__
    return f"{name}: {message}" if message else name


def format_exception(exc: BaseException, config: Mapping[str, Any]) -> str:
    """The traceback of ``exc`` (with its causes) as text, configuration values blanked out.

    Only the text is kept: no frame, so no local variable, survives.
    """
    return _format(exc, _needles(config))


def _format(exc: BaseException, needles: list[str]) -> str:
    try:
        text = "".join(traceback.format_exception(exc))
    except Exception:
        text = _describe(exc, needles)
    return storable(_redact(text, needles))


class RedactedError(PluginSystemError):
    """Stands for an error that could not be copied by :func:`safe_exception`."""


_SAFE_CLASSES: dict[type[BaseException], type[BaseException]] = {}


def _safe_class(cls: type[BaseException]) -> type[BaseException]:
    """A subclass of ``cls`` whose text is whatever was stored in its ``args``."""
    found = _SAFE_CLASSES.get(cls)
    if found is None:

        def __str__(self: BaseException) -> str:
            return str(self.args[0]) if self.args else ""

        def __repr__(self: BaseException) -> str:
            return f"{cls.__name__}({str(self)!r})"

        found = type(
            cls.__name__,
            (cls,),
            {
                "__str__": __str__,
                "__repr__": __repr__,
                "__module__": cls.__module__,
                "__qualname__": cls.__qualname__,
                "__doc__": f"{cls.__qualname__}, with configuration values blanked out.",
            },
        )
        _SAFE_CLASSES[cls] = found
    return found


def safe_exception(exc: Exception, config: Mapping[str, Any]) -> Exception:
    """A copy of ``exc`` that is safe to log, print or report, whatever it held.

    The copy is an instance of ``exc``'s class (or, when that class builds its
    message from something other than its arguments, of a subclass of it), so
    ``except`` and ``except*`` clauses for that class still catch it. Its
    message is ``str(exc)`` with configuration values blanked out. It carries none
    of the original's attributes, causes or frames; its traceback, with
    configuration values blanked out, is attached as a note. A class that
    cannot be subclassed gives a :class:`RedactedError` instead.
    """
    needles = _needles(config)  # the costly part of redacting: once per exception
    message = _redact(_text_of(exc), needles)
    trace = _format(exc, needles)
    safe: Exception | None = None
    for attempt in range(2):
        try:
            cls = type(exc) if attempt == 0 else _safe_class(type(exc))
            made = BaseException.__new__(cls)
            made.args = (message,)
            if isinstance(made, Exception) and str(made) == message:
                safe = made
                break
        except Exception:
            continue
    if safe is None:
        safe = RedactedError(f"{type(exc).__name__}: {message}")
    safe.__cause__ = None
    safe.__context__ = None
    safe.__suppress_context__ = True
    safe.__traceback__ = None
    safe.add_note(f"Original traceback (configuration values blanked out):\n{trace}".rstrip())
    return safe
