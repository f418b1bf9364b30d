"""Jinja2 support: the plugin functions, and configurations that hide their secrets.

Add the extension to the Jinja2 backend, next to Wagtail's own::

    TEMPLATES = [
        ...,
        {
            "BACKEND": "django.template.backends.jinja2.Jinja2",
            "APP_DIRS": True,
            "OPTIONS": {
                "extensions": [
                    "wagtail.jinja2tags.core",
                    "wagtail_plugin_system.jinja2tags.plugins",
                ],
            },
        },
    ]

Templates of that environment then have:

- ``{{ plugin("newsletter_signup") }}`` and ``{{ plugin("map", zoom=12) }}``, the
  ``{% plugin %}`` tag of Django templates: the instance the type selects for the
  request's site, rendered, or nothing;
- ``{{ render_plugin(plugin) }}``, the ``{% render_plugin %}`` tag: a loaded
  item rendered with the template's context, or nothing for anything else.

Django's templates call what is callable, and both forms of a configuration
(an item's :class:`~wagtail_plugin_system.PluginConfig` and an instance row's
decrypted ``config``) give their non-secret fields when called (see
:mod:`wagtail_plugin_system.core.masking`). Jinja2 calls nothing by itself, so
the extension does it wherever a value reaches a template: a configuration
passed in the context (``{{ config.token }}``), reached by an attribute or
item lookup (``plugin.config``, ``value.config``, ``row["config"]``), returned
by a call, looked into (``config.items()``, ``config.values()``,
``config["token"]``), given to a filter (``{{ c|tojson }}`` for each ``c`` of a
list) or printed (``{{ config }}``) is its non-secret view.
``{{ plugin.config.token }}`` is undefined when ``token`` is secret, and
``{{ plugin.config|tojson }}`` leaves it out. Python code reads
``item.config["token"]`` as usual.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from jinja2 import Environment, pass_context
from jinja2.ext import Extension
from jinja2.runtime import Context
from jinja2.utils import _PassArg
from markupsafe import Markup

from .core.masking import public_view
from .rendering import render_loaded_item, render_selected_item

__all__ = ["PluginExtension", "plugins"]


@pass_context
def plugin(context: Context, plugin_type: str, **kwargs: Any) -> Markup:
    """Render the selected instance of ``plugin_type`` for the current site."""
    return Markup(render_selected_item(plugin_type, context.get_all(), "plugin()", **kwargs))


@pass_context
def render_plugin(context: Context, item: Any, **kwargs: Any) -> Markup:
    """Render a loaded plugin item with the template's context; anything else renders nothing."""
    return Markup(render_loaded_item(item, context.get_all(), **kwargs))


class PublicContext(Context):
    """A template context whose variables, and whatever calls return, are public views."""

    def resolve_or_missing(self, key: str) -> Any:
        return public_view(super().resolve_or_missing(key))

    def call(__self, __obj: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return public_view(super().call(__obj, *args, **kwargs))


def _public_filter(func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` receiving the public view of the value it filters."""
    passes = _PassArg.from_obj(func)
    if passes is None:

        @functools.wraps(func)
        def public_filter(value: Any, *args: Any, **kwargs: Any) -> Any:
            return func(public_view(value), *args, **kwargs)

        return public_filter

    @functools.wraps(func)
    def public_filter_passing(first: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
        return func(first, public_view(value), *args, **kwargs)

    return public_filter_passing


class PublicFilters(dict[str, Any]):
    """The environment's filters, each given the public view of the value it filters."""

    def __getitem__(self, name: str) -> Any:
        return _public_filter(super().__getitem__(name))

    def get(self, name: str, default: Any = None) -> Any:
        found = super().get(name)
        return default if found is None else _public_filter(found)


class PluginExtension(Extension):
    """Adds :func:`plugin` and :func:`render_plugin`, and hides configurations' secrets.

    The environment's context class (what a template's variables and calls
    give), its attribute and item lookups (on the value looked into and the
    value found), its filters and its ``finalize`` (what every printed value
    goes through) are wrapped so that a configuration comes out as
    :func:`~wagtail_plugin_system.core.masking.public_view` gives it. Lookups,
    filters, a context class and ``finalize`` set by the environment or by other
    extensions still run, on that view.
    """

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals["plugin"] = plugin
        environment.globals["render_plugin"] = render_plugin
        lookup_attribute = environment.getattr
        lookup_item = environment.getitem

        # Every lookup of every template goes through these.
        def getattr_public(obj: Any, attribute: str) -> Any:
            return public_view(lookup_attribute(public_view(obj), attribute))

        def getitem_public(obj: Any, argument: Any) -> Any:
            return public_view(lookup_item(public_view(obj), argument))

        # Compiled templates call environment.getattr() and environment.getitem().
        setattr(environment, "getattr", getattr_public)  # noqa: B010
        setattr(environment, "getitem", getitem_public)  # noqa: B010
        if not issubclass(environment.context_class, PublicContext):
            environment.context_class = type(
                "PublicContext", (PublicContext, environment.context_class), {}
            )
        if not isinstance(environment.filters, PublicFilters):
            environment.filters = PublicFilters(environment.filters)
        environment.finalize = _public_finalize(environment.finalize)
        dumps = environment.policies.get("json.dumps_function") or json.dumps
        if not getattr(dumps, "_public", False):
            environment.policies["json.dumps_function"] = _public_dumps(dumps)


def _public_deep(value: Any) -> Any:
    """``value`` with every configuration inside lists, tuples and dicts made public."""
    value = public_view(value)
    if isinstance(value, dict):
        return {key: _public_deep(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_public_deep(item) for item in value]
    return value


def _public_dumps(dumps: Callable[..., str]) -> Callable[..., str]:
    """The ``tojson`` serialiser, seeing configurations nested in what it serialises as public."""

    def public_dumps(value: Any, **kwargs: Any) -> str:
        return dumps(_public_deep(value), **kwargs)

    public_dumps._public = True  # type: ignore[attr-defined]
    return public_dumps


def _public_finalize(previous: Callable[..., Any] | None) -> Callable[..., Any]:
    """A ``finalize`` that passes configurations through :func:`public_view` first."""
    if previous is None:
        return public_view
    passes = getattr(previous, "jinja_pass_arg", None)
    if passes is None:

        def finalize(value: Any) -> Any:
            return previous(public_view(value))

        return finalize

    def finalize_passing(first: Any, value: Any) -> Any:
        return previous(first, public_view(value))

    finalize_passing.jinja_pass_arg = passes  # type: ignore[attr-defined]
    return finalize_passing


#: The name to list in the backend's ``extensions``, as Wagtail's ``wagtail.jinja2tags.core``.
plugins = PluginExtension
