"""django-plugin-system's ``plugin_core``: the contracts, constructed its way.

* :class:`BasePluginType` and :func:`required_plugin_item_method` are ours.
* :class:`BasePluginItem` accepts django-plugin-system's constructor,
  ``Item(plugin_instance)``, as well as ours; its default ``priority`` is 0 and
  its default ``label`` is its ``name``, as django-plugin-system shows and
  names things.
* :class:`PluginConfiguration` can be instantiated
  (``PluginConfiguration(plugin_item=..., plugin_instance=...)``) and its
  ``get_initial()``, ``get_form()`` and ``clean_config(form)`` work on the
  object, as in django-plugin-system; called on the class they are ours, so
  the Wagtail admin and :meth:`~PluginConfiguration.validate` keep working,
  also with a ``clean_config(self, form)`` you override.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import FunctionType, MethodType
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms

from wagtail_plugin_system import BasePluginItem as _BasePluginItem
from wagtail_plugin_system import BasePluginType, PluginDefinitionError, required_plugin_item_method
from wagtail_plugin_system import PluginConfiguration as _PluginConfiguration
from wagtail_plugin_system.core.exceptions import MissingPluginMethodError
from wagtail_plugin_system.core.masking import public_view

if TYPE_CHECKING:
    from wagtail_plugin_system.models import PluginInstance, PluginItem

__all__ = [
    "BasePluginItem",
    "BasePluginType",
    "MissingPluginMethodError",
    "PluginConfiguration",
    "required_plugin_item_method",
]


class _NoConfigurationForm(forms.Form):
    """Stands in for ``form_class`` on the base class, which configures nothing."""


def _seed_get_initial(self: PluginConfiguration) -> dict[str, Any]:
    instance = self.plugin_instance
    if instance is None:
        return {}
    # The stored values prefill the form, except secrets: a form renders what it is given.
    return dict(public_view(instance.config or {}))


def _seed_clean_config(self: PluginConfiguration, form: forms.BaseForm) -> Any:
    return _OUR_CLEAN_CONFIG(type(self), form.cleaned_data)


def _seed_get_form(
    self: PluginConfiguration,
    data: Any = None,
    files: Any = None,
    prefix: str | None = None,
) -> forms.BaseForm:
    form: forms.BaseForm = type(self).get_form(
        data=data, files=files, prefix=prefix, initial=self.get_initial()
    )
    return form


class _SeedStyle:
    """A method that is django-plugin-system's on objects and ours on the class.

    ``bridge`` (when set) adapts a django-plugin-system style override so that
    the class-level call, which our admin and ``validate()`` make, runs it too.
    """

    def __init__(
        self,
        on_object: Callable[..., Any],
        on_class: Callable[..., Any],
        bridge: Callable[..., Any] | None = None,
    ) -> None:
        self.on_object = on_object
        self.on_class = on_class
        self.bridge = bridge

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        if obj is not None:
            return MethodType(self.on_object, obj)
        return MethodType(self.bridge or self.on_class, owner)


def _bridge_clean_config(override: Callable[..., Any]) -> Callable[..., Any]:
    def clean_config(cls: type[PluginConfiguration], cleaned_data: Mapping[str, Any]) -> Any:
        form = cls.form_class()
        form.cleaned_data = dict(cleaned_data)
        return override(cls(), form)

    return clean_config


def _bridge_get_initial(override: Callable[..., Any]) -> Callable[..., Any]:
    def get_initial(cls: type[PluginConfiguration]) -> Any:
        return {**_OUR_GET_INITIAL(cls), **(override(cls()) or {})}

    return get_initial


# Our class methods' functions, called on the class they are given.
_OUR_CLEAN_CONFIG: Callable[..., Any] = _PluginConfiguration.__dict__["clean_config"].__func__
_OUR_GET_INITIAL: Callable[..., Any] = _PluginConfiguration.__dict__["get_initial"].__func__
_OUR_GET_FORM: Callable[..., Any] = _PluginConfiguration.__dict__["get_form"].__func__


class PluginConfiguration(_PluginConfiguration):
    """Declares an item's configuration form, usable the django-plugin-system way too."""

    form_class: ClassVar[type[forms.Form]] = _NoConfigurationForm

    # django-plugin-system's methods on objects, ours on the class. (The class statement
    # does not run __init_subclass__ for this class, so these are not taken for overrides.)
    get_initial = _SeedStyle(_seed_get_initial, _OUR_GET_INITIAL)
    clean_config = _SeedStyle(_seed_clean_config, _OUR_CLEAN_CONFIG)
    get_form = _SeedStyle(_seed_get_form, _OUR_GET_FORM)

    def __init__(
        self,
        plugin_item: PluginItem | None = None,
        plugin_instance: PluginInstance | None = None,
    ) -> None:
        self.plugin_item = plugin_item
        self.plugin_instance = plugin_instance

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if cls.form_class is _NoConfigurationForm:
            raise PluginDefinitionError(
                f"{cls.__module__}.{cls.__qualname__}: 'form_class' must be a "
                f"django.forms.Form subclass; set it."
            )
        super().__init_subclass__(**kwargs)
        own = cls.__dict__
        if isinstance(own.get("clean_config"), FunctionType):
            override = own["clean_config"]
            cls.clean_config = _SeedStyle(
                override, _OUR_CLEAN_CONFIG, _bridge_clean_config(override)
            )
        if isinstance(own.get("get_initial"), FunctionType):
            override = own["get_initial"]
            cls.get_initial = _SeedStyle(override, _OUR_GET_INITIAL, _bridge_get_initial(override))


class BasePluginItem(_BasePluginItem):
    """An implementation of a plugin type, constructed either way.

    ``Item(plugin_instance)`` (django-plugin-system) and
    ``Item(config=..., plugin_instance=...)`` (ours) both work.
    """

    abstract = True
    #: django-plugin-system's default priority for new instances.
    priority: ClassVar[int] = 0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        own_label = bool(cls.__dict__.get("label"))
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("abstract", False) and not own_label:
            cls.label = cls.name

    def __init__(
        self,
        instance: PluginInstance | None = None,
        *,
        config: Mapping[str, Any] | None = None,
        plugin_instance: PluginInstance | None = None,
    ) -> None:
        if instance is not None:
            if plugin_instance is not None:
                raise TypeError(
                    "Pass the plugin instance once: positionally or as plugin_instance=."
                )
            plugin_instance = instance
            if config is None:
                config = instance.config
        super().__init__(
            config=config if isinstance(config, Mapping) else None,
            plugin_instance=plugin_instance,
        )
