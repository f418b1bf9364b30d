"""Plugin types: the interfaces that plugin items implement."""

from __future__ import annotations

import inspect
from abc import ABCMeta
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from ..exceptions import PluginTypeDefinitionError
from .validation import _REQUIRED_MARK, _check_name, _fail, _is_required

__all__ = ["BasePluginType", "required_plugin_item_method"]

F = TypeVar("F", bound=Callable[..., Any])


def required_plugin_item_method(func: F) -> F:
    """Mark a method of a plugin type that every item of the type must define.

    Use it instead of :func:`abc.abstractmethod` when the type's own body is
    documentation or a reference implementation that items must still
    override::

        class SmsSenderType(BasePluginType):
            name = "sms_sender"

            @required_plugin_item_method
            def send(self, number: str, text: str) -> str:
                '''Send ``text`` to ``number``; return the provider's message id.'''
                raise NotImplementedError
    """
    setattr(func, _REQUIRED_MARK, True)
    return func


class BasePluginType(metaclass=ABCMeta):
    """An extension point: the interface that plugin items implement.

    Subclass it, give it a stable :attr:`name` and declare at least one method
    with :func:`abc.abstractmethod` or :func:`required_plugin_item_method`::

        class PaymentGatewayType(BasePluginType):
            name = "payment_gateway"
            description = "Takes card payments."

            @abstractmethod
            def create_payment(self, amount: int) -> str: ...

            def format_amount(self, amount: int) -> str:   # a helper for every item
                return f"{amount / 100:.2f} {self.plugin_item.config.get('currency', 'EUR')}"

    Concrete methods (and properties and attributes) of the type are available
    on every item of the type; inside them ``self`` is the item, also reachable
    as ``self.plugin_item``. ``isinstance(item, PaymentGatewayType)`` is true
    for every item of the type.
    """

    #: The stable identifier of the type; rows in the database are matched by it.
    name: ClassVar[str]
    #: Human-readable name shown to editors; derived from :attr:`name` when empty.
    label: ClassVar[str] = ""
    #: Longer explanation shown to editors.
    description: ClassVar[str] = ""
    #: Former names of this type, so a rename keeps its database rows.
    aliases: ClassVar[tuple[str, ...]] = ()
    #: Exceptions that make :func:`~wagtail_plugin_system.selection.call_with_failover`
    #: try the next instance. Anything else propagates at once.
    failover_exceptions: ClassVar[tuple[type[BaseException], ...]] = (Exception,)
    #: Seconds after which a call that succeeded still counts as a failure for the
    #: instance's circuit breaker (``None``: only exceptions count).
    breaker_slow_call: ClassVar[float | None] = None
    #: Set to ``True`` on a base class that is not itself a plugin type.
    abstract: ClassVar[bool] = True
    #: Names of the methods every item must implement (computed).
    required_methods: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("abstract", False):
            return
        cls.abstract = False
        _check_name(cls, PluginTypeDefinitionError, "type")
        required = frozenset(
            name
            for name in dir(cls)
            if not name.startswith("__") and _is_required(inspect.getattr_static(cls, name))
        )
        if not required:
            _fail(
                PluginTypeDefinitionError,
                cls,
                "a plugin type must declare at least one method for its items to implement. "
                "Decorate a method with @abc.abstractmethod or @required_plugin_item_method.",
            )
        cls.required_methods = required
        failover = cls.failover_exceptions
        if isinstance(failover, type):
            failover = (failover,)
        if not isinstance(failover, tuple) or not all(
            isinstance(exc, type) and issubclass(exc, BaseException) for exc in failover
        ):
            _fail(
                PluginTypeDefinitionError,
                cls,
                f"'failover_exceptions' must be an exception class or a tuple of them; "
                f"got {cls.failover_exceptions!r}.",
            )
        cls.failover_exceptions = failover


def _collect_type_helpers(plugin_type: type[BasePluginType]) -> dict[str, object]:
    """What the type offers its items: everything it defines that items need not implement."""
    helpers: dict[str, object] = {}
    for klass in reversed(plugin_type.__mro__):
        if klass in (object, BasePluginType) or not issubclass(klass, BasePluginType):
            continue
        for attr, value in vars(klass).items():
            if attr.startswith("__") or attr in BasePluginType.__dict__:
                continue
            if attr in ("name", "_abc_impl") or _is_required(value):
                helpers.pop(attr, None)
                continue
            helpers[attr] = value
    return helpers
