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
decrypted ``config``) give their non-secret fields when called. Jinja2 calls
nothing by itself, so the extension does it where Django would: a
configuration reached by an attribute or item lookup (``plugin.config``,
``value.config``, ``row["config"]``), or printed (``{{ config }}``), is its
non-secret view. ``{{ plugin.config.token }}`` is undefined when ``token`` is
secret, and ``{{ plugin.config|tojson }}`` leaves it out. Python code reads
``item.config["token"]`` as usual.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jinja2 import Environment, pass_context
from jinja2.ext import Extension
from jinja2.runtime import Context
from markupsafe import Markup

from .core.contracts import PluginConfig
from .fields import StoredJSON
from .rendering import render_given, render_selected

__all__ = ["PluginExtension", "plugins"]


#: The two forms of a configuration; calling either gives its non-secret fields.
CONFIGURATIONS = (PluginConfig, StoredJSON)


def public_view(value: Any) -> Any:
    """``value`` itself, or its non-secret fields when it is a plugin configuration."""
    return value() if isinstance(value, CONFIGURATIONS) else value


@pass_context
def plugin(context: Context, plugin_type: str, **kwargs: Any) -> Markup:
    """Render the selected instance of ``plugin_type`` for the current site."""
    return Markup(render_selected(plugin_type, context.get_all(), "plugin()", **kwargs))


@pass_context
def render_plugin(context: Context, item: Any, **kwargs: Any) -> Markup:
    """Render a loaded plugin item with the template's context; anything else renders nothing."""
    return Markup(render_given(item, context.get_all(), **kwargs))


class PluginExtension(Extension):
    """Adds :func:`plugin` and :func:`render_plugin`, and hides configurations' secrets.

    The environment's attribute and item lookups, and its ``finalize`` (what
    every printed value goes through), are wrapped so that a configuration
    comes out as :func:`public_view` gives it. Lookups and ``finalize`` set by
    the environment or by other extensions still run, on that view.
    """

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals["plugin"] = plugin
        environment.globals["render_plugin"] = render_plugin
        lookup_attribute = environment.getattr
        lookup_item = environment.getitem

        # Every lookup of every template goes through these: public_view() inlined.
        def getattr_public(obj: Any, attribute: str) -> Any:
            value = lookup_attribute(obj, attribute)
            return value() if isinstance(value, CONFIGURATIONS) else value

        def getitem_public(obj: Any, argument: Any) -> Any:
            value = lookup_item(obj, argument)
            return value() if isinstance(value, CONFIGURATIONS) else value

        # Compiled templates call environment.getattr() and environment.getitem().
        setattr(environment, "getattr", getattr_public)  # noqa: B010
        setattr(environment, "getitem", getitem_public)  # noqa: B010
        environment.finalize = _public_finalize(environment.finalize)


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
