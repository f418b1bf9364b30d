"""The checks a plugin declaration must pass, run by its ``class`` statement.

Every mistake is reported as a
:class:`~wagtail_plugin_system.core.exceptions.PluginDefinitionError` (a
:class:`TypeError`) whose message names the class and what is wrong.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

from ..exceptions import (
    MissingPluginMethodError,
    PluginDefinitionError,
    PluginItemDefinitionError,
    PluginTypeDefinitionError,
)

__all__ = ["NAME_PATTERN"]

#: What a type or item ``name`` (and each alias) may look like: letters, digits,
#: ``_``, ``-`` and ``.``, starting with a letter or digit, at most 100 characters.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")

_REQUIRED_MARK = "__plugin_item_required__"


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _fail(error: type[PluginDefinitionError], cls: type, problem: str) -> NoReturn:
    name = cls.__dict__.get("name")
    name = name if isinstance(name, str) else None
    plugin_type = getattr(cls, "plugin_type", None)
    type_name = getattr(plugin_type, "name", None) if isinstance(plugin_type, type) else None
    if issubclass(error, PluginItemDefinitionError):
        names = {"item_name": name, "type_name": type_name if isinstance(type_name, str) else None}
    elif error is PluginTypeDefinitionError:
        names = {"type_name": name}
    else:
        names = {}
    raise error(f"{_qualname(cls)}: {problem}", plugin_class=cls, **names)


def _check_name(cls: type, error: type[PluginDefinitionError], kind: str) -> None:
    name = cls.__dict__.get("name")
    if name is None:
        _fail(
            error,
            cls,
            f"a plugin {kind} needs a 'name' class attribute: a stable identifier such as "
            f"'payment_gateway'. Set it, or set 'abstract = True' if the class is only a base "
            f"for other {kind}s.",
        )
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        _fail(
            error,
            cls,
            f"'name' must be a string of letters, digits, '_', '-' or '.' that starts with a "
            f"letter or digit (at most 100 characters); got {name!r}.",
        )
    aliases = cls.__dict__.get("aliases", ())
    if isinstance(aliases, str) or not isinstance(aliases, Iterable):
        _fail(error, cls, f"'aliases' must be a list or tuple of former names; got {aliases!r}.")
    aliases = tuple(aliases)
    for alias in aliases:
        if not isinstance(alias, str) or not NAME_PATTERN.match(alias):
            _fail(error, cls, f"alias {alias!r} is not a valid name (see 'name').")
        if alias == name:
            _fail(error, cls, f"alias {alias!r} is the same as the current name; remove it.")
    cls.aliases = aliases  # type: ignore[attr-defined]
    # Remembered so a system check can ask for a label where the name reads badly.
    cls._label_from_name = not cls.__dict__.get("label")  # type: ignore[attr-defined]
    if not cls.__dict__.get("label"):
        cls.label = name.replace("_", " ").replace("-", " ").strip().capitalize()  # type: ignore[attr-defined]


def _is_required(value: object) -> bool:
    return bool(
        getattr(value, "__isabstractmethod__", False) or getattr(value, _REQUIRED_MARK, False)
    )


def _check_implementation(cls: type, plugin_type: Any) -> None:
    """Refuse an item class that lacks or mis-declares a method ``plugin_type`` requires."""
    missing: list[str] = []
    for method_name in sorted(plugin_type.required_methods):
        implementation = getattr(cls, method_name, None)
        if implementation is None or _is_required(implementation) or not callable(implementation):
            missing.append(method_name)
            continue
        declared = getattr(plugin_type, method_name)
        if callable(declared) and not _accepts_same_arguments(declared, implementation):
            _fail(
                PluginItemDefinitionError,
                cls,
                f"{method_name}{_signature(implementation)} does not accept the arguments of "
                f"{plugin_type.__qualname__}.{method_name}{_signature(declared)}. Give it the "
                f"same parameters.",
            )
    if missing:
        _fail(
            MissingPluginMethodError,
            cls,
            f"does not implement {', '.join(missing)}, required by plugin type "
            f"{_qualname(plugin_type)} ({plugin_type.name!r}).",
        )


def _signature(func: Callable[..., Any]) -> str:
    """The parameter list without annotations, e.g. ``(self, amount, *, currency='EUR')``."""
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return "(...)"
    bare = [
        parameter.replace(annotation=inspect.Parameter.empty)
        for parameter in signature.parameters.values()
    ]
    return str(signature.replace(parameters=bare, return_annotation=inspect.Signature.empty))


def _accepts_same_arguments(
    declared: Callable[..., Any], implementation: Callable[..., Any]
) -> bool:
    """Whether every call the declared signature allows also binds to the implementation.

    Two calls are tried: every argument by position, and every argument that may be
    passed by name by its name (``send_code(phone=..., code=...)``), so a renamed
    parameter is caught too.
    """
    try:
        expected = inspect.signature(declared)
        actual = inspect.signature(implementation)
    except (TypeError, ValueError):
        return True
    positional: list[object] = []
    by_name: list[object] = []
    by_name_kwargs: dict[str, object] = {}
    kwargs: dict[str, object] = {}
    for index, parameter in enumerate(expected.parameters.values()):
        if parameter.kind is parameter.POSITIONAL_ONLY or (
            # The first parameter is self: always passed by position.
            parameter.kind is parameter.POSITIONAL_OR_KEYWORD and index == 0
        ):
            positional.append(None)
            by_name.append(None)
        elif parameter.kind is parameter.POSITIONAL_OR_KEYWORD:
            positional.append(None)
            by_name_kwargs[parameter.name] = None
        elif parameter.kind is parameter.KEYWORD_ONLY:
            kwargs[parameter.name] = None
    try:
        actual.bind(*positional, **kwargs)
        actual.bind(*by_name, **by_name_kwargs, **kwargs)
    except TypeError:
        return False
    return True
