"""Plugin configurations: the form editors fill in, and the read-only values an item gets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, NoReturn

from django import forms

from ..exceptions import PluginConfigurationDefinitionError
from ..masking import MaskedConfig, masked_repr, without_secrets
from .validation import _fail, _qualname

__all__ = ["PluginConfig", "PluginConfiguration"]


class PluginConfig(MaskedConfig):
    """The read-only configuration of a loaded plugin item.

    It is a :class:`dict` (``config["key"]``, ``config.get("key", default)``
    and iteration work as usual) that refuses changes, because one loaded item
    may serve many requests. It is a
    :class:`~wagtail_plugin_system.core.masking.MaskedConfig`: its ``repr()``
    hides the values, so logging an item's configuration by mistake does not
    leak secrets, and calling it, ``config()``, gives the configuration without
    its secret fields (Django's templates call what is callable, so
    ``{{ plugin.config }}`` and ``{{ plugin.config.token }}`` never print a
    secret). Make a writable copy with ``dict(config)``.

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

    def public(self) -> dict[str, Any]:
        """The configuration without its secret fields."""
        return without_secrets(self, self._secret_fields)

    def __call__(self) -> PluginConfig:
        """The configuration without its secret fields (what templates see)."""
        return PluginConfig(self.public())

    def __repr__(self) -> str:
        return f"PluginConfig({masked_repr(self)})"

    __str__ = __repr__

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
