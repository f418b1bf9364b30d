"""Template tags: ``{% load plugin_tags %}``.

``{% plugin "newsletter_signup" %}`` renders the instance that type currently
selects for the request's site (see
:meth:`~wagtail_plugin_system.BasePluginItem.render`). It renders nothing,
never an error, when the type has no usable instance or is not registered,
or when the item's rendering fails (logged; in a preview, editors see a
notice): see :func:`~wagtail_plugin_system.rendering.render_item`.
Extra keyword arguments reach the item's template context:
``{% plugin "map" zoom=12 %}``.

``{% render_plugin plugin %}`` renders an item already at hand (the ``plugin``
variable of a block template) with the page's context.

Jinja2 templates have the same two as functions: see
:mod:`wagtail_plugin_system.jinja2tags`.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from ..rendering import render_loaded_item, render_selected_item

register = template.Library()


@register.simple_tag(takes_context=True)
def plugin(context: template.Context, plugin_type: str, **kwargs: Any) -> SafeString:
    """Render the selected instance of ``plugin_type`` for the current site."""
    return render_selected_item(plugin_type, context.flatten(), "{% plugin %}", **kwargs)


@register.simple_tag(takes_context=True)
def render_plugin(context: template.Context, item: Any, **kwargs: Any) -> SafeString:
    """Render a loaded plugin item with the current context (``request``, ``page``...).

    For block templates, which get the item as ``plugin``:
    ``{% render_plugin plugin %}``. ``None`` (or anything else) renders nothing.
    """
    return render_loaded_item(item, context.flatten(), **kwargs)
