"""Contracts: the classes developers subclass to declare plugins.

* A **plugin type** (:class:`BasePluginType`) is an interface: a stable
  ``name`` and the methods every implementation must provide.
* A **plugin item** (:class:`BasePluginItem`) implements one type.
* A **plugin configuration** (:class:`PluginConfiguration`) declares the Django
  form that editors fill in for each configured instance of an item.

Every mistake in a declaration is reported by the ``class`` statement itself,
as a :class:`~wagtail_plugin_system.core.exceptions.PluginDefinitionError` (a
:class:`TypeError`) whose message names the class and what is wrong.

Identity is the ``name`` attribute, never the module path: moving a class to
another module keeps its database rows; renaming it is done by listing the
former name in ``aliases``.

It needs no settings and no app registry, so plugin modules can define their
classes before Django is set up; it uses :mod:`django.forms` for configuration
forms.
"""

from __future__ import annotations

import inspect
import logging
import re
from abc import ABCMeta
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, NoReturn, Protocol, TypeVar

from django import forms

from .exceptions import (
    MissingPluginMethodError,
    PluginConfigurationDefinitionError,
    PluginDefinitionError,
    PluginItemDefinitionError,
    PluginTypeDefinitionError,
)

__all__ = [
    "NAME_PATTERN",
    "BasePluginItem",
    "BasePluginType",
    "InstanceRecord",
    "PluginConfig",
    "PluginConfiguration",
    "render_item",
    "required_plugin_item_method",
]

#: What a type or item ``name`` (and each alias) may look like: letters, digits,
#: ``_``, ``-`` and ``.``, starting with a letter or digit, at most 100 characters.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")

_REQUIRED_MARK = "__plugin_item_required__"

_logger = logging.getLogger("wagtail_plugin_system.render")


class InstanceRecord(Protocol):
    """What an item knows of the stored instance it was loaded from.

    In a running site it is a :class:`~wagtail_plugin_system.models.PluginInstance`
    row; the core only relies on its primary key and name.
    """

    @property
    def pk(self) -> Any: ...

    @property
    def name(self) -> str: ...


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


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _fail(error: type[PluginDefinitionError], cls: type, problem: str) -> NoReturn:
    raise error(f"{_qualname(cls)}: {problem}")


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


class PluginConfig(dict[str, Any]):
    """The read-only configuration of a loaded plugin item.

    It is a :class:`dict` (``config["key"]``, ``config.get("key", default)``
    and iteration work as usual) that refuses changes, because one loaded item
    may serve many requests. Its ``repr()`` hides the values, so logging an
    item's configuration by mistake does not leak secrets. Make a writable copy
    with ``dict(config)``.

    Calling it, ``config()``, gives the configuration without its secret
    fields. Django's templates call what is callable, so ``{{ plugin.config }}``
    and ``{{ plugin.config.token }}`` never print a secret.

    It cannot be pickled: it may hold secrets in clear. Pickle the item instead
    (see :meth:`BasePluginItem.__reduce__`), or ``dict(config)`` deliberately.
    """

    __slots__ = ("_secret_fields",)

    def __init__(
        self,
        value: Mapping[str, Any] | Iterable[tuple[str, Any]] = (),
        /,
        *,
        secret: Iterable[str] = (),
    ) -> None:
        super().__init__(value)
        self._secret_fields = frozenset(secret)

    def _readonly(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError(
            "A plugin's configuration is read-only; make a copy with dict(self.config) "
            "to change values locally."
        )

    __setitem__ = __delitem__ = _readonly
    clear = pop = popitem = setdefault = update = _readonly
    __ior__ = _readonly

    def __call__(self) -> PluginConfig:
        """The configuration without its secret fields (what templates see)."""
        return PluginConfig(
            {key: value for key, value in self.items() if key not in self._secret_fields}
        )

    def __repr__(self) -> str:
        return "PluginConfig({" + ", ".join(f"{key!r}: '***'" for key in self) + "})"

    __str__ = __repr__

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        import copy

        return copy.deepcopy(dict(self), memo)

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError(
            "A plugin's configuration is not pickled: it may hold secrets in clear. Pickle the "
            "plugin item instead (it pickles its instance, whose configuration stays "
            "encrypted), or pickle dict(config) if you mean to store the values in clear."
        )

    __reduce__ = __reduce_ex__  # type: ignore[assignment]


class PluginConfiguration:
    """Declares the configuration form of a plugin item.

    ::

        class StripeConfigForm(forms.Form):
            publishable_key = forms.CharField()
            secret_key = forms.CharField(widget=forms.PasswordInput)
            sandbox = forms.BooleanField(required=False)

        class StripeConfiguration(PluginConfiguration):
            form_class = StripeConfigForm
            secret_fields = ["webhook_secret"]  # password inputs are secret already

    Values are stored encrypted. Secret fields are write-only for editors: the
    admin never renders their value.
    """

    #: A :class:`django.forms.Form` subclass whose fields make up the configuration.
    form_class: ClassVar[type[forms.Form]]
    #: Names of form fields whose values are write-only for editors. Fields
    #: whose widget is a :class:`~django.forms.PasswordInput` are secret too.
    secret_fields: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        form_class = getattr(cls, "form_class", None)
        if not (isinstance(form_class, type) and issubclass(form_class, forms.Form)):
            _fail(
                PluginConfigurationDefinitionError,
                cls,
                f"'form_class' must be a django.forms.Form subclass; got {form_class!r}.",
            )
        secret = cls.secret_fields
        if isinstance(secret, str) or not isinstance(secret, Iterable):
            _fail(
                PluginConfigurationDefinitionError,
                cls,
                f"'secret_fields' must be a list or tuple of field names; got {secret!r}.",
            )
        cls.secret_fields = tuple(secret)
        unknown = [name for name in cls.secret_fields if name not in form_class.base_fields]
        if unknown:
            _fail(
                PluginConfigurationDefinitionError,
                cls,
                f"'secret_fields' names {', '.join(map(repr, unknown))}, which "
                f"{'is' if len(unknown) == 1 else 'are'} not a field of "
                f"{_qualname(form_class)}. Its fields are: "
                f"{', '.join(form_class.base_fields) or '(none)'}.",
            )

    @classmethod
    def get_secret_fields(cls) -> frozenset[str]:
        """Names of the write-only fields: :attr:`secret_fields` plus password inputs."""
        password_fields = {
            name
            for name, field in cls.form_class.base_fields.items()
            if isinstance(field.widget, forms.PasswordInput)
        }
        return frozenset(cls.secret_fields) | password_fields

    @classmethod
    def get_initial(cls) -> dict[str, Any]:
        """Initial values for a new instance's form (the form fields' ``initial``)."""
        initial: dict[str, Any] = {}
        for name, field in cls.form_class.base_fields.items():
            value = field.initial() if callable(field.initial) else field.initial
            if value is not None:
                initial[name] = value
        return initial

    @classmethod
    def get_form(
        cls,
        data: Mapping[str, Any] | None = None,
        *,
        initial: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> forms.BaseForm:
        """Return a form, bound to ``data`` when given, with :meth:`get_initial` merged in."""
        return cls.form_class(data=data, initial={**cls.get_initial(), **(initial or {})}, **kwargs)

    @classmethod
    def clean_config(cls, cleaned_data: Mapping[str, Any]) -> dict[str, Any]:
        """Turn a valid form's ``cleaned_data`` into the dict that is stored.

        The default converts values JSON cannot hold exactly (dates, decimals,
        UUIDs...) to their string forms, as :class:`DjangoJSONEncoder` writes
        them. Override it to drop, rename or convert values.
        """
        import json

        from django.core.serializers.json import DjangoJSONEncoder

        result: dict[str, Any] = json.loads(json.dumps(dict(cleaned_data), cls=DjangoJSONEncoder))
        return result

    @classmethod
    def validate(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        """Validate ``data`` with the form and return the config to store.

        Fields missing from ``data`` take their :meth:`get_initial` value.
        Raises :class:`django.core.exceptions.ValidationError` with the form's
        field errors (never the submitted values) when the data is invalid.
        """
        from django.core.exceptions import ValidationError

        form = cls.get_form(data={**cls.get_initial(), **data})
        if not form.is_valid():
            raise ValidationError(
                {
                    field: [ValidationError(message) for message in messages]
                    for field, messages in form.errors.items()
                }
            )
        return cls.clean_config(form.cleaned_data)


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
        secret = cls.get_secret_fields()
        return {key: value for key, value in config.items() if key not in secret}

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
            config=self.public_config(self.config),
            **kwargs,
        )
        return context

    def render(self, parent_context: Mapping[str, Any] | None = None, **kwargs: Any) -> str:
        """Render the item into a page: :attr:`template_name` with :meth:`get_context`.

        Override it to build the HTML another way. An item with no template
        renders nothing. The result is marked safe for templates.
        """
        if not self.template_name:
            return ""
        from django.template.loader import render_to_string
        from django.utils.safestring import mark_safe

        request = parent_context.get("request") if parent_context is not None else None
        html = render_to_string(
            self.template_name, self.get_context(parent_context, **kwargs), request=request
        )
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


def render_item(
    item: BasePluginItem, parent_context: Mapping[str, Any] | None = None, **kwargs: Any
) -> str:
    """Render ``item`` into a page, failing closed: never an exception.

    When :meth:`BasePluginItem.render` raises (a bug, a missing template...),
    nothing is rendered and the error is logged with the item's configuration
    values blanked out. In a preview (a request whose ``is_preview`` is true,
    as Wagtail's previews set it), editors see a notice instead.
    """
    from django.utils.html import format_html
    from django.utils.translation import gettext

    from .redact import describe_exception, format_exception

    try:
        html: str = item.render(parent_context, **kwargs)
        return html
    except Exception as exc:
        config = item.config
        _logger.error(
            "Plugin %r could not be rendered, so nothing was shown in its place: %s. Fix the "
            "item's render() or its template_name (the template must exist).\n%s",
            item,
            describe_exception(exc, config),
            format_exception(exc, config),
        )
    request = parent_context.get("request") if parent_context is not None else None
    if getattr(request, "is_preview", False):
        return format_html(
            '<div class="wps-plugin-error" role="alert">{}</div>',
            gettext(
                "“%(plugin)s” could not be rendered, so it is left out of the page. "
                "The error is in the server log; ask a developer to fix it."
            )
            % {"plugin": item.label},
        )
    return ""


def _check_implementation(cls: type[BasePluginItem], plugin_type: type[BasePluginType]) -> None:
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
