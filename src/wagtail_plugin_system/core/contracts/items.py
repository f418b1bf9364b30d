"""Plugin items: the implementations of plugin types."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

from django.utils.safestring import SafeString, mark_safe

from ..exceptions import PluginItemDefinitionError
from ..masking import without_secrets
from .configuration import PluginConfig, PluginConfiguration
from .rendering import render_template
from .types import BasePluginType, _collect_type_helpers
from .validation import _check_implementation, _check_name, _fail, _qualname

__all__ = ["BasePluginItem", "InstanceRecord"]


class InstanceRecord(Protocol):
    """What an item knows of the stored instance it was loaded from.

    In a running site it is a :class:`~wagtail_plugin_system.models.PluginInstance`
    row; the core only relies on its primary key and name.
    """

    @property
    def pk(self) -> Any: ...

    @property
    def name(self) -> str: ...


class BasePluginItem:
    """An implementation of a plugin type.

    ::

        class StripeGateway(BasePluginItem):
            name = "stripe"
            plugin_type = PaymentGatewayType
            configuration = StripeConfiguration

            def create_payment(self, amount: int) -> str:
                return stripe_client(self.config["secret_key"]).charge(amount)

    A loaded item carries its instance's :attr:`config` and the database row
    it came from, :attr:`plugin_instance`. Items are shared between requests:
    keep per-call state in local variables, not on ``self``.
    """

    #: The stable identifier of the item within its type.
    name: ClassVar[str]
    #: Human-readable name shown to editors; derived from :attr:`name` when empty.
    label: ClassVar[str] = ""
    #: The plugin type this item implements.
    plugin_type: ClassVar[type[BasePluginType]]
    #: Longer explanation shown to editors.
    description: ClassVar[str] = ""
    #: The configuration editors fill in, or ``None`` for an item with nothing to configure.
    configuration: ClassVar[type[PluginConfiguration] | None] = None
    #: Default priority of new instances (lower is preferred).
    priority: ClassVar[int] = 100
    #: Former names of this item, so a rename keeps its instances.
    aliases: ClassVar[tuple[str, ...]] = ()
    #: Set to ``True`` on a base class that is not itself a plugin item.
    abstract: ClassVar[bool] = True
    #: Template that renders the item into a page (content plugins); see :meth:`render`.
    template_name: ClassVar[str | None] = None

    _type_helpers: ClassVar[dict[str, object]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("abstract", False):
            return
        cls.abstract = False
        _check_name(cls, PluginItemDefinitionError, "item")
        plugin_type = getattr(cls, "plugin_type", None)
        if not (isinstance(plugin_type, type) and issubclass(plugin_type, BasePluginType)):
            _fail(
                PluginItemDefinitionError,
                cls,
                f"'plugin_type' must be a BasePluginType subclass; got {plugin_type!r}.",
            )
        if plugin_type.__dict__.get("abstract", False):
            _fail(
                PluginItemDefinitionError,
                cls,
                f"'plugin_type' {_qualname(plugin_type)} is abstract; point it at a concrete "
                f"plugin type (one with a 'name').",
            )
        _check_implementation(cls, plugin_type)
        configuration = cls.configuration
        if configuration is not None and not (
            isinstance(configuration, type) and issubclass(configuration, PluginConfiguration)
        ):
            _fail(
                PluginItemDefinitionError,
                cls,
                f"'configuration' must be a PluginConfiguration subclass or None; "
                f"got {configuration!r}.",
            )
        if isinstance(cls.priority, bool) or not isinstance(cls.priority, int):
            _fail(
                PluginItemDefinitionError,
                cls,
                f"'priority' must be an integer; got {cls.priority!r}.",
            )
        cls._type_helpers = _collect_type_helpers(plugin_type)
        plugin_type.register(cls)

    def __init__(
        self,
        config: Mapping[str, Any] | None = None,
        plugin_instance: InstanceRecord | None = None,
    ) -> None:
        self._config = PluginConfig(config or {}, secret=self.get_secret_fields())
        self._plugin_instance = plugin_instance

    @property
    def config(self) -> PluginConfig:
        """The instance's configuration (read-only; empty for unconfigured items).

        ``config()`` gives it without its secret fields.
        """
        return self._config

    @classmethod
    def get_secret_fields(cls) -> frozenset[str]:
        """Names of the configuration's secret fields (none for an unconfigured item)."""
        return cls.configuration.get_secret_fields() if cls.configuration else frozenset()

    @classmethod
    def public_config(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        """``config`` without the secret fields of this item's configuration."""
        return without_secrets(config, cls.get_secret_fields())

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle the item as its instance row, whose configuration stays encrypted.

        Unpickling loads the item again from that row (so it needs the same
        ``FIELD_ENCRYPTION_KEY`` and the item's code); attributes set on the
        item after loading are not kept. An item made without an instance
        cannot be pickled when it has a configuration: it has nothing but the
        values in clear to pickle.
        """
        instance = self._plugin_instance
        if instance is None or not callable(getattr(instance, "load_instance", None)):
            if self._config:
                raise TypeError(
                    f"{type(self).__name__} was made from a configuration, not loaded from a "
                    f"plugin instance, so pickling it would store its configuration in clear. "
                    f"Pickle the PluginInstance (or the item loaded from it) instead."
                )
            return (type(self), ())
        return (_load_pickled_item, (instance,))

    @property
    def plugin_instance(self) -> InstanceRecord | None:
        """The :class:`~wagtail_plugin_system.models.PluginInstance` row, or ``None``."""
        return self._plugin_instance

    @property
    def plugin_item(self) -> BasePluginItem:
        """The item itself; lets the type's helper methods say ``self.plugin_item``."""
        return self

    def check(self) -> object:
        """Test that the provider is reachable and the configuration works.

        Override it to run a cheap, harmless call against the provider. Raise
        an exception (its message is shown to editors, with configuration
        values blanked out) or return ``False`` when the check fails; return
        ``None`` or ``True`` when it passes. The default does nothing: the
        check then only proves that the instance loads.
        """
        return None

    def get_context(
        self, parent_context: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """The context :meth:`render` gives :attr:`template_name`.

        It holds ``plugin`` (this item), ``instance`` (its row), ``config``
        (the configuration *without* its secret fields, so a template cannot
        print a credential by accident), ``request`` and ``page`` when the
        parent context has them, and any keyword arguments.
        """
        context: dict[str, Any] = {}
        if parent_context is not None:
            for key in ("request", "page", "self", "value"):
                if key in parent_context:
                    context[key] = parent_context[key]
        context.update(
            plugin=self,
            instance=self.plugin_instance,
            config=self._config.public(),
            **kwargs,
        )
        return context

    def render(self, parent_context: Mapping[str, Any] | None = None, **kwargs: Any) -> str:
        """Render the item into a page: :attr:`template_name` with :meth:`get_context`.

        The template sees the page's context (what the context processors put
        there included, as the page's own template saw it) under
        :meth:`get_context`; context processors do not run again for each item.
        Override it to build the HTML another way. An item with no template
        renders nothing. The result is marked safe for templates.
        """
        if not self.template_name:
            return ""
        context = self.get_context(parent_context, **kwargs)
        html = render_template(self.template_name, parent_context, context)
        if isinstance(html, SafeString):  # as Django's templates give it
            return html
        return mark_safe(html)  # rendered by the template engine, autoescaped

    @classmethod
    def has_health_check(cls) -> bool:
        """Whether the item overrides :meth:`check`."""
        return cls.check is not BasePluginItem.check

    def __getattr__(self, name: str) -> Any:
        helper = type(self)._type_helpers.get(name)
        if helper is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        if inspect.isfunction(helper) or isinstance(helper, property):
            return helper.__get__(self, type(self))
        return getattr(self.plugin_type, name)

    def __repr__(self) -> str:
        instance = self._plugin_instance
        where = f" instance={instance.pk}" if instance is not None else ""
        return f"<{type(self).__name__} {self.plugin_type.name}/{self.name}{where}>"


def _load_pickled_item(instance: Any) -> BasePluginItem:
    item: BasePluginItem = instance.load_instance()
    return item
