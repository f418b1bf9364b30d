"""The registry: which plugin types and items this process's code provides.

Register plugins from your app's ``AppConfig.ready()``::

    from wagtail_plugin_system import register_plugin_item, register_plugin_type

    class PaymentsConfig(AppConfig):
        name = "payments"

        def ready(self):
            register_plugin_type(PaymentGatewayType)
            register_plugin_item(StripeGateway)
            register_plugin_item(BankTransferGateway, priority=50)

or from an installed distribution's entry points (group
``wagtail_plugin_system.plugins``), which are loaded once when the app is ready.

The registry is the truth about *code*; the database (see
:mod:`wagtail_plugin_system.sync`) is the truth about *configuration*.
``pluginsync`` mirrors the former into the latter.

Looking things up has one rule, in one place each: :meth:`PluginRegistry.get_type_entry`
takes a type as its class, its name or a former name (an alias) and returns its
registration, or raises :class:`~wagtail_plugin_system.core.exceptions.UnknownPluginError`;
:meth:`PluginRegistry.get_item_entry` does the same for an item within its type.
Everything else (selection, querysets, blocks, the chooser, the sync) goes through them.

It needs no settings and no app registry: plugins can register before Django
is set up.
"""

from __future__ import annotations

import logging
import threading
import types
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from .contracts import NAME_PATTERN, BasePluginItem, BasePluginType
from .exceptions import DuplicatePluginError, PluginRegistrationError, UnknownPluginError
from .registrations import (
    EntryPointFailure,
    GetPlugin,
    RegisteredItem,
    RegisteredType,
    _dict_form,
    _qualname,
    _refuse_clash,
    _require_concrete,
    _same_class,
)

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

#: A type or an item as callers name it: its class, or its name or a former name.
TypeRef = type[BasePluginType] | str
ItemRef = type[BasePluginItem] | str


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
        replaces the default selection for this type (see
        :mod:`wagtail_plugin_system.selection`). Registering the same class
        again is a no-op (a new ``get_plugin`` replaces the old one); another
        class under a taken name raises
        :class:`~wagtail_plugin_system.core.exceptions.DuplicatePluginError`.
        """
        if isinstance(type_class, Mapping):
            type_class, get_plugin = _dict_form(
                type_class, "register_plugin_type", "interface", "get_plugin", get_plugin
            )
        _require_concrete(type_class, BasePluginType, "register_plugin_type")
        assert isinstance(type_class, type)
        if get_plugin is not None and not callable(get_plugin):
            raise PluginRegistrationError(
                f"'get_plugin' for plugin type {type_class.name!r} must be callable; "
                f"got {get_plugin!r}.",
                plugin_class=type_class,
                type_name=type_class.name,
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
                    f"too. Give one of them another name.",
                    plugin_class=type_class,
                    type_name=type_class.name,
                )
            existing.type_class = type_class
            return existing
        _refuse_clash(type_class, (entry.type_class for entry in self._types.values()))
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
            item_class, priority = _dict_form(
                item_class, "register_plugin_item", "plugin_class", "priority", priority
            )
        _require_concrete(item_class, BasePluginItem, "register_plugin_item")
        assert isinstance(item_class, type)
        if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int)):
            raise PluginRegistrationError(
                f"'priority' for plugin item {item_class.name!r} must be an integer; "
                f"got {priority!r}.",
                plugin_class=item_class,
                item_name=item_class.name,
            )
        with self._lock:
            type_entry = self._register_type(item_class.plugin_type)
            existing = type_entry.items.get(item_class.name)
            if existing is not None and not _same_class(existing.item_class, item_class):
                raise DuplicatePluginError(
                    f"Plugin item name {item_class.name!r} of type {type_entry.name!r} is taken "
                    f"by {_qualname(existing.item_class)}; {_qualname(item_class)} cannot use it "
                    f"too. Give one of them another name.",
                    plugin_class=item_class,
                    type_name=type_entry.name,
                    item_name=item_class.name,
                )
            if existing is None:
                _refuse_clash(
                    item_class,
                    (other.item_class for other in type_entry.items.values()),
                    f" in type {type_entry.name!r}",
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

    # -- lookups ----------------------------------------------------------------------

    def get_type_entry(self, plugin_type: TypeRef) -> RegisteredType:
        """The registration of a type, given as its class, its name or a former name.

        A class must be the registered one (or the same class defined again).
        Raises :class:`~wagtail_plugin_system.core.exceptions.UnknownPluginError`
        when the type is not registered.
        """
        if isinstance(plugin_type, str):
            entry = self._types.get(plugin_type)
            if entry is None:
                entry = next(
                    (e for e in self._types.values() if plugin_type in e.type_class.aliases),
                    None,
                )
        else:
            name = getattr(plugin_type, "name", None)
            entry = self._types.get(name) if isinstance(name, str) else None
            if entry is not None and not (
                isinstance(plugin_type, type) and _same_class(entry.type_class, plugin_type)
            ):
                entry = None
        if entry is None:
            name = plugin_type if isinstance(plugin_type, str) else getattr(plugin_type, "name", "")
            known = ", ".join(sorted(self._types)) or "none"
            raise UnknownPluginError(
                f"Plugin type {name or plugin_type!r} is not registered (registered types: "
                f"{known}). Register it with register_plugin_type() in an AppConfig.ready() or "
                f"through a '{ENTRY_POINT_GROUP}' entry point.",
                type_name=name if isinstance(name, str) else None,
            )
        return entry

    def get_item_entry(self, plugin_type: TypeRef, item: ItemRef) -> RegisteredItem:
        """The registration of an item of a type; each given as its class, name or former name.

        Raises :class:`~wagtail_plugin_system.core.exceptions.UnknownPluginError`
        when the type or the item is not registered.
        """
        type_entry = self.get_type_entry(plugin_type)
        name = item if isinstance(item, str) else getattr(item, "name", None)
        found = type_entry.items.get(name) if isinstance(name, str) else None
        if found is None and isinstance(item, str):
            found = next(
                (e for e in type_entry.items.values() if item in e.item_class.aliases), None
            )
        if (
            found is not None
            and not isinstance(item, str)
            and not (isinstance(item, type) and _same_class(found.item_class, item))
        ):
            found = None
        if found is None:
            known = ", ".join(sorted(type_entry.items)) or "none"
            raise UnknownPluginError(
                f"Plugin item {name or item!r} of type {type_entry.name!r} is not registered "
                f"(its registered items: {known}). Register it with register_plugin_item() in "
                f"an AppConfig.ready() or through a '{ENTRY_POINT_GROUP}' entry point.",
                type_name=type_entry.name,
                item_name=name if isinstance(name, str) else None,
            )
        return found

    def get_item(self, plugin_type: TypeRef, item: ItemRef) -> type[BasePluginItem] | None:
        """The item class, or ``None`` when the type or item is not registered.

        The same lookup as :meth:`get_item_entry`, for code that asks whether an
        item's code is present.
        """
        try:
            return self.get_item_entry(plugin_type, item).item_class
        except UnknownPluginError:
            return None

    def type_names(self, plugin_type: TypeRef) -> tuple[str, ...]:
        """The names a type's database row may carry: its name and former names.

        For a name that is not registered (a type whose code is missing), that
        name alone, and none for a string that cannot be a name (so a query by
        it matches nothing, and never sends a database a value it refuses, such
        as a NUL byte); an unregistered class raises
        :class:`~wagtail_plugin_system.core.exceptions.UnknownPluginError`.
        """
        try:
            return self.get_type_entry(plugin_type).names
        except UnknownPluginError:
            if isinstance(plugin_type, str):
                return (plugin_type,) if NAME_PATTERN.match(plugin_type) else ()
            raise

    def get_types(self) -> list[type[BasePluginType]]:
        """The registered type classes, sorted by name."""
        return [self._types[name].type_class for name in sorted(self._types)]

    def get_type_entries(self) -> list[RegisteredType]:
        """The registered types with their items and options, sorted by name."""
        return [self._types[name] for name in sorted(self._types)]

    def get_items(self, plugin_type: TypeRef) -> list[type[BasePluginItem]]:
        """The item classes registered for a type, sorted by name."""
        items = self.get_type_entry(plugin_type).items
        return [items[name].item_class for name in sorted(items)]

    def __contains__(self, plugin_type: object) -> bool:
        if not isinstance(plugin_type, str | type):
            return False
        try:
            self.get_type_entry(plugin_type)
        except UnknownPluginError:
            return False
        return True

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


def get_registered_items(plugin_type: TypeRef) -> list[type[BasePluginItem]]:
    """The item classes registered for a type (a class or its name), sorted by name."""
    return registry.get_items(plugin_type)


def get_plugin_type_class(plugin_type: TypeRef) -> type[BasePluginType]:
    """The registered type class for a class, a name or a former name; raises if unknown."""
    return registry.get_type_entry(plugin_type).type_class


def get_plugin_item_class(plugin_type: TypeRef, item: ItemRef) -> type[BasePluginItem] | None:
    """The registered item class of a type (names and former names count), or ``None``."""
    return registry.get_item(plugin_type, item)
