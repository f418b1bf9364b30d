"""Exceptions raised by wagtail-plugin-system.

Every message says what was wrong and how to fix it, and none of them ever
contains a configuration value: configuration may hold secrets.

Like pluggy's errors, each one also carries what it is about as attributes,
so handlers need not parse messages: :attr:`~PluginSystemError.plugin_class`
(the type, item or configuration class), :attr:`~PluginSystemError.type_name`,
:attr:`~PluginSystemError.item_name` and :attr:`~PluginSystemError.instance_id`.
Each is ``None`` when it does not apply or is not known where the error is raised.

It imports nothing from Django: every layer of the package can use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class PluginSystemError(Exception):
    """Base class of every error this package raises on purpose."""

    #: The plugin type, item or configuration class the error is about.
    plugin_class: type | None = None
    #: The name of the plugin type the error is about.
    type_name: str | None = None
    #: The name of the plugin item the error is about.
    item_name: str | None = None
    #: The primary key of the plugin instance the error is about.
    instance_id: Any = None

    def __init__(
        self,
        *args: object,
        plugin_class: type | None = None,
        type_name: str | None = None,
        item_name: str | None = None,
        instance_id: Any = None,
    ) -> None:
        super().__init__(*args)
        self.plugin_class = plugin_class
        self.type_name = type_name
        self.item_name = item_name
        self.instance_id = instance_id

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword arguments are not in self.args: pickling keeps them through the state.
        return (type(self), self.args, dict(self.__dict__))


# -- contracts (raised when a class is defined) ---------------------------------


class PluginDefinitionError(PluginSystemError, TypeError):
    """A plugin type, item or configuration class is declared incorrectly.

    Raised by the class statement itself, so a mistake surfaces as soon as the
    module that holds it is imported. It is a :class:`TypeError`, like Python's
    own error for instantiating an abstract class.
    """


class PluginTypeDefinitionError(PluginDefinitionError):
    """A :class:`~wagtail_plugin_system.core.contracts.BasePluginType` subclass is invalid."""


class PluginItemDefinitionError(PluginDefinitionError):
    """A :class:`~wagtail_plugin_system.core.contracts.BasePluginItem` subclass is invalid."""


class MissingPluginMethodError(PluginItemDefinitionError, AttributeError):
    """An item does not implement a method its plugin type requires.

    Also an :class:`AttributeError` (the method is missing), so code written
    for django-plugin-system, whose tests expect one, catches it too.
    """


class PluginConfigurationDefinitionError(PluginDefinitionError):
    """A :class:`~wagtail_plugin_system.core.contracts.PluginConfiguration` subclass is invalid."""


# -- registry -------------------------------------------------------------------


class PluginRegistrationError(PluginSystemError, TypeError):
    """Something that is not a plugin type or item was passed to a ``register_*`` function."""


class DuplicatePluginError(PluginSystemError, ValueError):
    """Two different classes claim the same name (or alias) in the registry."""


class UnknownPluginError(PluginSystemError, LookupError):
    """A plugin type or item was looked up by a name that is not registered."""


class PluginLoadError(PluginSystemError):
    """One or more entry points failed to load while strict mode is on."""


# -- runtime --------------------------------------------------------------------


class PluginUnavailableError(PluginSystemError):
    """A plugin instance cannot be loaded: its code is missing or its config unreadable."""


class CircuitOpenError(PluginUnavailableError):
    """Every candidate of :func:`~wagtail_plugin_system.call_with_failover` has an open circuit.

    Raised at once, without calling any of them. :attr:`open_until` maps each
    skipped instance's id to the time (seconds since the epoch) when one call
    will probe it again.
    """

    def __init__(self, message: str, open_until: dict[int, float]) -> None:
        super().__init__(message)
        self.open_until = open_until


class ConfigDecryptionError(PluginUnavailableError):
    """Stored configuration cannot be decrypted with any key in ``FIELD_ENCRYPTION_KEY``.

    The stored value is kept as it is: it is never returned as data, never
    re-encrypted, and saving the row writes the same ciphertext back.
    """


class ConfigFormatError(PluginUnavailableError):
    """Stored configuration decrypts, but is not a JSON object.

    Text that is not JSON (a value written by another field or program), JSON
    that is not an object (a list, a string, a number, ``null``) and JSON beyond
    the limits of :mod:`wagtail_plugin_system.fields` (too large, nested too
    deep) raise it on access. The stored value is kept as it is until the configuration is
    saved again (the admin's edit form offers the fields empty for that).
    """


class ConfigEncodingError(PluginSystemError, TypeError):
    """A configuration value cannot be stored as JSON, or is beyond the size or depth limits."""


class PluginSelectionError(PluginSystemError):
    """A type's custom ``get_plugin`` callable returned something unusable."""


class PluginFailoverError(ExceptionGroup, PluginSystemError):
    """Every candidate instance failed in :func:`~wagtail_plugin_system.call_with_failover`.

    An :class:`ExceptionGroup` holding each instance's error, in the order the
    instances were tried; ``except*`` can pick out the kinds it handles.

    Each error it holds is safe to log or report: a copy of the provider's
    exception, of its class (or a subclass of it), whose message has the instance's
    configuration values blanked out, with no attribute, cause or frame of the
    original, and its traceback (blanked out the same way) attached as a note.
    See :func:`~wagtail_plugin_system.core.redact.safe_exception`.

    It carries the plugin it is about: :attr:`type_name`, :attr:`method` (the
    type's method that was called) and :attr:`instance_ids`, the instances
    whose errors it holds, in the same order as :attr:`exceptions`. A group
    split by ``except*`` keeps them.
    """

    #: The name of the type's method that every candidate failed in.
    method: str | None = None
    #: The primary keys of the instances whose errors the group holds, in order.
    instance_ids: tuple[Any, ...] = ()

    def __new__(
        cls,
        message: str,
        exceptions: Sequence[Exception],
        *,
        type_name: str | None = None,
        method: str | None = None,
        instance_ids: Sequence[Any] = (),
    ) -> PluginFailoverError:
        return super().__new__(cls, message, exceptions)

    def __init__(
        self,
        message: str,
        exceptions: Sequence[Exception],
        *,
        type_name: str | None = None,
        method: str | None = None,
        instance_ids: Sequence[Any] = (),
    ) -> None:
        super().__init__(message, exceptions)
        self.type_name = type_name
        self.method = method
        self.instance_ids = tuple(instance_ids)

    def derive(self, excs: Sequence[Exception]) -> PluginFailoverError:  # type: ignore[override]
        """The same group with only ``excs`` (``except*`` and ``split()`` call it)."""
        ids = tuple(
            pk
            for pk, error in zip(self.instance_ids, self.exceptions, strict=False)
            if error in excs
        )
        return PluginFailoverError(
            self.message, excs, type_name=self.type_name, method=self.method, instance_ids=ids
        )
