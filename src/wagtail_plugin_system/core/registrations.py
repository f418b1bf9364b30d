"""What the registry holds: the records of registered classes, and the rules they obey.

:class:`RegisteredType` and :class:`RegisteredItem` are the registrations
:mod:`~wagtail_plugin_system.core.registry` keeps; the functions below check
what a ``register_*`` call was given (a concrete class, django-plugin-system's
dict form, no name or alias taken by another class).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .contracts import BasePluginItem, BasePluginType
from .exceptions import DuplicatePluginError, PluginRegistrationError

__all__ = ["EntryPointFailure", "GetPlugin", "RegisteredItem", "RegisteredType"]

#: A type's custom selection: receives the type's database row (a
#: :class:`~wagtail_plugin_system.models.PluginType`) and returns the instance to use
#: (a :class:`~wagtail_plugin_system.models.PluginInstance`), or ``None``.
GetPlugin = Callable[[Any], Any]


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _same_class(a: type, b: type) -> bool:
    """The same class, or the same class defined again (a reloaded module)."""
    return a is b or _qualname(a) == _qualname(b)


def _names(cls: type[BasePluginType] | type[BasePluginItem]) -> tuple[str, ...]:
    return (cls.name, *cls.aliases)


@dataclass
class RegisteredItem:
    """An item class as registered, with its effective default priority."""

    item_class: type[BasePluginItem]
    priority: int

    @property
    def name(self) -> str:
        return self.item_class.name


@dataclass
class RegisteredType:
    """A type class as registered, with its custom selection and its items by name."""

    type_class: type[BasePluginType]
    get_plugin: GetPlugin | None = None
    items: dict[str, RegisteredItem] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.type_class.name

    @property
    def names(self) -> tuple[str, ...]:
        """The type's name and its former names: what its database row may be called."""
        return _names(self.type_class)


@dataclass(frozen=True)
class EntryPointFailure:
    """An entry point that could not be loaded, kept for system checks and ``pluginsync``."""

    name: str
    value: str
    error: str

    def __str__(self) -> str:
        return f"{self.name} = {self.value}: {self.error}"


def _dict_form(
    value: Mapping[str, Any], function: str, class_key: str, option_key: str, option: Any
) -> tuple[Any, Any]:
    """django-plugin-system's dict form: ``{class_key: cls, option_key: value}``."""
    options = dict(value)
    cls = options.pop(class_key, None)
    option = options.pop(option_key, option)
    if options:
        raise PluginRegistrationError(
            f"{function}() got unknown keys {sorted(options)}; the dict form takes "
            f"{class_key!r} and {option_key!r}."
        )
    return cls, option


def _require_concrete(cls: object, base: type, function: str) -> None:
    if not (isinstance(cls, type) and issubclass(cls, base) and not cls.__dict__.get("abstract")):
        raise PluginRegistrationError(
            f"{function}() needs a concrete {base.__name__} subclass; got {cls!r}.",
            plugin_class=cls if isinstance(cls, type) else None,
        )


def _refuse_clash(
    new: type[BasePluginType] | type[BasePluginItem],
    others: Iterable[type[BasePluginType] | type[BasePluginItem]],
    where: str = "",
) -> None:
    """Refuse a class whose name or an alias is a name or an alias of another one."""
    for other in others:
        clash = set(_names(new)) & set(_names(other))
        if clash:
            raise DuplicatePluginError(
                f"Plugin {'item' if issubclass(new, BasePluginItem) else 'type'} "
                f"{_qualname(new)} uses the name or alias {sorted(clash)[0]!r}, which "
                f"{_qualname(other)} uses already{where}. Remove it from one of them.",
                plugin_class=new,
                type_name=new.name if issubclass(new, BasePluginType) else None,
                item_name=new.name if issubclass(new, BasePluginItem) else None,
            )
