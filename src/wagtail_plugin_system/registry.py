"""The registry: which plugin types and items this process's code provides.

Register plugins from your app's ``AppConfig.ready()``::

    from wagtail_plugin_system.registry import register_plugin_item, register_plugin_type

    class PaymentsConfig(AppConfig):
        name = "payments"

        def ready(self):
            register_plugin_type(PaymentGatewayType)
            register_plugin_item(StripeGateway)
            register_plugin_item(BankTransferGateway, priority=50)

or from an installed distribution's entry points (group
``wagtail_plugin_system.plugins``), which are loaded once when the app is ready.

The registry is the truth about *code*; the database (see :mod:`.sync`) is
the truth about *configuration*. ``pluginsync`` mirrors the former into the
latter.

This module is pure Python: it imports without Django settings or apps.
"""

from __future__ import annotations

import logging
import threading
import types
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any

from .contracts import BasePluginItem, BasePluginType
from .exceptions import DuplicatePluginError, PluginRegistrationError, UnknownPluginError

if TYPE_CHECKING:
    from .models import PluginInstance, PluginType

__all__ = [
    "ENTRY_POINT_GROUP",
    "EntryPointFailure",
    "PluginRegistry",
    "RegisteredItem",
    "RegisteredType",
    "get_plugin_item_class",
    "get_plugin_type_class",
    "get_registered_items",
    "get_registered_types",
    "register_plugin_item",
    "register_plugin_type",
    "registry",
]

logger = logging.getLogger(__name__)

#: The entry-point group scanned for plugins.
ENTRY_POINT_GROUP = "wagtail_plugin_system.plugins"

#: A type's custom selection: receives the type's database row and returns the
#: instance to use, or ``None``.
GetPlugin = Callable[["PluginType"], "PluginInstance | None"]


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _same_class(a: type, b: type) -> bool:
    """The same class, or the same class defined again (a reloaded module)."""
    return a is b or _qualname(a) == _qualname(b)


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


@dataclass(frozen=True)
class EntryPointFailure:
    """An entry point that could not be loaded, kept for system checks and ``pluginsync``."""

    name: str
    value: str
    error: str

    def __str__(self) -> str:
        return f"{self.name} = {self.value}: {self.error}"


class PluginRegistry:
    """Holds the plugin types and items of this process, keyed by name.

    One instance, :data:`registry`, serves the whole process; the module-level
    functions are shortcuts to it. Registration is thread-safe and idempotent.
    """

    def __init__(self) -> None:
        self._types: dict[str, RegisteredType] = {}
        self._lock = threading.RLock()
        self.entry_point_failures: list[EntryPointFailure] = []
        self.entry_points_loaded = False
        #: Incremented on every change; lets caches know the registry moved.
        self.generation = 0

    # -- registration -----------------------------------------------------------------

    def register_type(
        self,
        type_class: type[BasePluginType] | Mapping[str, Any],
        *,
        get_plugin: GetPlugin | None = None,
    ) -> type[BasePluginType]:
        """Register a plugin type; return the class.

        Accepts the class, or django-plugin-system's dict form
        ``{"interface": TypeClass, "get_plugin": callable}``. ``get_plugin``
        replaces the default selection for this type (see :mod:`.selection`).
        Registering the same class again is a no-op (a new ``get_plugin``
        replaces the old one); another class under a taken name raises
        :class:`~wagtail_plugin_system.exceptions.DuplicatePluginError`.
        """
        if isinstance(type_class, Mapping):
            options = dict(type_class)
            type_class = options.pop("interface", None)
            get_plugin = options.pop("get_plugin", get_plugin)
            if options:
                raise PluginRegistrationError(
                    f"register_plugin_type() got unknown keys {sorted(options)}; the dict form "
                    f"takes 'interface' and 'get_plugin'."
                )
        if not (
            isinstance(type_class, type)
            and issubclass(type_class, BasePluginType)
            and not type_class.__dict__.get("abstract", False)
        ):
            raise PluginRegistrationError(
                f"register_plugin_type() needs a concrete BasePluginType subclass; "
                f"got {type_class!r}."
            )
        if get_plugin is not None and not callable(get_plugin):
            raise PluginRegistrationError(
                f"'get_plugin' for plugin type {type_class.name!r} must be callable; "
                f"got {get_plugin!r}."
            )
        with self._lock:
            entry = self._register_type(type_class)
            if get_plugin is not None:
                entry.get_plugin = get_plugin
            self.generation += 1
        return type_class

    def _register_type(self, type_class: type[BasePluginType]) -> RegisteredType:
        existing = self._types.get(type_class.name)
        if existing is not None:
            if not _same_class(existing.type_class, type_class):
                raise DuplicatePluginError(
                    f"Plugin type name {type_class.name!r} is taken by "
                    f"{_qualname(existing.type_class)}; {_qualname(type_class)} cannot use it "
                    f"too. Give one of them another name."
                )
            existing.type_class = type_class
            return existing
        for other in self._types.values():
            clash = {type_class.name, *type_class.aliases} & {other.name, *other.type_class.aliases}
            if clash:
                raise DuplicatePluginError(
                    f"Plugin type {_qualname(type_class)} uses the name or alias "
                    f"{sorted(clash)[0]!r}, which {_qualname(other.type_class)} uses already. "
                    f"Remove it from one of them."
                )
        entry = RegisteredType(type_class)
        self._types[type_class.name] = entry
        return entry

    def register_item(
        self,
        item_class: type[BasePluginItem] | Mapping[str, Any],
        *,
        priority: int | None = None,
    ) -> type[BasePluginItem]:
        """Register a plugin item (and its type, if needed); return the class.

        Accepts the class, or django-plugin-system's dict form
        ``{"plugin_class": ItemClass, "priority": 10}``. ``priority`` overrides
        the class's default priority for new instances.
        """
        if isinstance(item_class, Mapping):
            options = dict(item_class)
            item_class = options.pop("plugin_class", None)
            priority = options.pop("priority", priority)
            if options:
                raise PluginRegistrationError(
                    f"register_plugin_item() got unknown keys {sorted(options)}; the dict form "
                    f"takes 'plugin_class' and 'priority'."
                )
        if not (
            isinstance(item_class, type)
            and issubclass(item_class, BasePluginItem)
            and not item_class.__dict__.get("abstract", False)
        ):
            raise PluginRegistrationError(
                f"register_plugin_item() needs a concrete BasePluginItem subclass; "
                f"got {item_class!r}."
            )
        if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int)):
            raise PluginRegistrationError(
                f"'priority' for plugin item {item_class.name!r} must be an integer; "
                f"got {priority!r}."
            )
        with self._lock:
            type_entry = self._register_type(item_class.plugin_type)
            existing = type_entry.items.get(item_class.name)
            if existing is not None and not _same_class(existing.item_class, item_class):
                raise DuplicatePluginError(
                    f"Plugin item name {item_class.name!r} of type {type_entry.name!r} is taken "
                    f"by {_qualname(existing.item_class)}; {_qualname(item_class)} cannot use it "
                    f"too. Give one of them another name."
                )
            if existing is None:
                names = {item_class.name, *item_class.aliases}
                for other in type_entry.items.values():
                    clash = names & {other.name, *other.item_class.aliases}
                    if clash:
                        raise DuplicatePluginError(
                            f"Plugin item {_qualname(item_class)} uses the name or alias "
                            f"{sorted(clash)[0]!r}, which {_qualname(other.item_class)} uses "
                            f"already in type {type_entry.name!r}. Remove it from one of them."
                        )
            type_entry.items[item_class.name] = RegisteredItem(
                item_class, item_class.priority if priority is None else priority
            )
            self.generation += 1
        return item_class

    def unregister_item(self, item_class: type[BasePluginItem]) -> None:
        """Forget an item (mostly for tests); its rows are marked missing at the next sync."""
        with self._lock:
            entry = self._types.get(item_class.plugin_type.name)
            if entry is not None and item_class.name in entry.items:
                del entry.items[item_class.name]
                self.generation += 1

    def unregister_type(self, type_class: type[BasePluginType]) -> None:
        """Forget a type and its items (mostly for tests)."""
        with self._lock:
            if self._types.pop(type_class.name, None) is not None:
                self.generation += 1

    # -- introspection ----------------------------------------------------------------

    def find_type(self, name: str) -> type[BasePluginType] | None:
        """The registered type class called ``name`` (aliases count), or ``None``."""
        entry = self._types.get(name)
        if entry is None:
            for candidate in self._types.values():
                if name in candidate.type_class.aliases:
                    return candidate.type_class
            return None
        return entry.type_class

    def get_types(self) -> list[type[BasePluginType]]:
        """The registered type classes, sorted by name."""
        return [self._types[name].type_class for name in sorted(self._types)]

    def get_type_entries(self) -> list[RegisteredType]:
        """The registered types with their items and options, sorted by name."""
        return [self._types[name] for name in sorted(self._types)]

    def get_type_entry(self, plugin_type: type[BasePluginType] | str) -> RegisteredType:
        """The registration of a type, looked up by class or name.

        Raises :class:`~wagtail_plugin_system.exceptions.UnknownPluginError`
        when the type is not registered.
        """
        name = plugin_type if isinstance(plugin_type, str) else getattr(plugin_type, "name", None)
        entry = self._types.get(name) if isinstance(name, str) else None
        if entry is None or (
            not isinstance(plugin_type, str) and not _same_class(entry.type_class, plugin_type)
        ):
            known = ", ".join(sorted(self._types)) or "none"
            raise UnknownPluginError(
                f"Plugin type {name or plugin_type!r} is not registered (registered types: "
                f"{known}). Register it with register_plugin_type() in an AppConfig.ready() or "
                f"through a '{ENTRY_POINT_GROUP}' entry point."
            )
        return entry

    def get_type(self, plugin_type: type[BasePluginType] | str) -> type[BasePluginType]:
        """The registered type class for a class or a name."""
        return self.get_type_entry(plugin_type).type_class

    def get_items(self, plugin_type: type[BasePluginType] | str) -> list[type[BasePluginItem]]:
        """The item classes registered for a type, sorted by name."""
        items = self.get_type_entry(plugin_type).items
        return [items[name].item_class for name in sorted(items)]

    def get_item_entry(self, type_name: str, item_name: str) -> RegisteredItem | None:
        """The registration of an item by type and item name (aliases count), or ``None``."""
        entry = self._types.get(type_name)
        if entry is None:
            return None
        found = entry.items.get(item_name)
        if found is None:
            for candidate in entry.items.values():
                if item_name in candidate.item_class.aliases:
                    return candidate
        return found

    def get_item(self, type_name: str, item_name: str) -> type[BasePluginItem] | None:
        """The item class by type and item name (aliases count), or ``None``."""
        found = self.get_item_entry(type_name, item_name)
        return found.item_class if found is not None else None

    def __contains__(self, plugin_type: object) -> bool:
        name = plugin_type if isinstance(plugin_type, str) else getattr(plugin_type, "name", None)
        return isinstance(name, str) and name in self._types

    # -- entry points -----------------------------------------------------------------

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> list[EntryPointFailure]:
        """Load every entry point of ``group`` once; return the failures.

        Each entry point names an item class, a type class, or a module whose
        import registers plugins. A failure is logged with its traceback and
        kept in :attr:`entry_point_failures`; it never stops the others.
        """
        with self._lock:
            if self.entry_points_loaded:
                return list(self.entry_point_failures)
            self.entry_points_loaded = True
            for entry_point in sorted(entry_points(group=group), key=lambda ep: ep.name):
                self._load_entry_point(entry_point)
            return list(self.entry_point_failures)

    def _load_entry_point(self, entry_point: EntryPoint) -> None:
        try:
            target = entry_point.load()
            if isinstance(target, types.ModuleType):
                return
            if isinstance(target, type) and issubclass(target, BasePluginItem):
                self.register_item(target)
            elif isinstance(target, type) and issubclass(target, BasePluginType):
                self.register_type(target)
            else:
                raise PluginRegistrationError(
                    f"it points at {target!r}, which is neither a plugin item class, a plugin "
                    f"type class nor a module. Point it at one of those."
                )
        except Exception as exc:
            failure = EntryPointFailure(
                entry_point.name, entry_point.value, f"{type(exc).__name__}: {exc}"
            )
            self.entry_point_failures.append(failure)
            logger.exception(
                "Plugin entry point %r (%s) in group %r failed to load; its plugins are "
                "unavailable until it is fixed.",
                entry_point.name,
                entry_point.value,
                entry_point.group,
            )

    # -- tests ------------------------------------------------------------------------

    @contextmanager
    def isolated(self) -> Iterator[PluginRegistry]:
        """Run a block with a copy of the registry and restore the original afterwards."""
        with self._lock:
            saved = (
                {
                    name: RegisteredType(entry.type_class, entry.get_plugin, dict(entry.items))
                    for name, entry in self._types.items()
                },
                list(self.entry_point_failures),
                self.entry_points_loaded,
            )
        try:
            yield self
        finally:
            with self._lock:
                self._types, self.entry_point_failures, self.entry_points_loaded = saved
                self.generation += 1


#: The process-wide registry.
registry = PluginRegistry()


def register_plugin_type(
    type_class: type[BasePluginType] | Mapping[str, Any], *, get_plugin: GetPlugin | None = None
) -> type[BasePluginType]:
    """Register a plugin type with the process-wide :data:`registry`.

    See :meth:`PluginRegistry.register_type`.
    """
    return registry.register_type(type_class, get_plugin=get_plugin)


def register_plugin_item(
    item_class: type[BasePluginItem] | Mapping[str, Any], *, priority: int | None = None
) -> type[BasePluginItem]:
    """Register a plugin item (and its type) with the process-wide :data:`registry`.

    See :meth:`PluginRegistry.register_item`.
    """
    return registry.register_item(item_class, priority=priority)


def get_registered_types() -> list[type[BasePluginType]]:
    """The registered plugin type classes, sorted by name."""
    return registry.get_types()


def get_registered_items(plugin_type: type[BasePluginType] | str) -> list[type[BasePluginItem]]:
    """The item classes registered for a type (a class or its name), sorted by name."""
    return registry.get_items(plugin_type)


def get_plugin_type_class(plugin_type: type[BasePluginType] | str) -> type[BasePluginType]:
    """The registered type class for a class or a name; raises if it is not registered."""
    return registry.get_type(plugin_type)


def get_plugin_item_class(type_name: str, item_name: str) -> type[BasePluginItem] | None:
    """The registered item class by type name and item name (aliases count), or ``None``."""
    return registry.get_item(type_name, item_name)
