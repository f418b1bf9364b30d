"""Template tags: ``{% load plugin_tags %}``.

``{% plugin "newsletter_signup" %}`` renders the instance that type currently
selects for the request's site (see
:meth:`~wagtail_plugin_system.BasePluginItem.render`). It renders nothing,
never an error, when the type has no usable instance or is not registered,
or when the item's rendering fails (logged; in a preview, editors see a
notice): see :func:`~wagtail_plugin_system.core.contracts.render_item`.
Extra keyword arguments reach the item's template context:
``{% plugin "map" zoom=12 %}``.

``{% render_plugin plugin %}`` renders an item already at hand (the ``plugin``
variable of a block template) with the page's context.
"""

from __future__ import annotations

import logging
from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from ..core.contracts import BasePluginItem, render_item
from ..core.exceptions import UnknownPluginError
from ..selection import get_plugin_instance

register = template.Library()
logger = logging.getLogger(__name__)


@register.simple_tag(takes_context=True)
def plugin(context: template.Context, plugin_type: str, **kwargs: Any) -> SafeString:
    """Render the selected instance of ``plugin_type`` for the current site."""
    request = context.get("request")
    try:
        item = get_plugin_instance(plugin_type, request=request)
    except UnknownPluginError:
        logger.warning("{%% plugin %%} got %r, which is not a registered plugin type.", plugin_type)
        return mark_safe("")
    if item is None:
        return mark_safe("")
    flat: dict[str, Any] = {str(key): value for key, value in context.flatten().items()}
    return mark_safe(render_item(item, flat, **kwargs))  # rendered by its template


@register.simple_tag(takes_context=True)
def render_plugin(context: template.Context, item: Any, **kwargs: Any) -> SafeString:
    """Render a loaded plugin item with the current context (``request``, ``page``...).

    For block templates, which get the item as ``plugin``:
    ``{% render_plugin plugin %}``. ``None`` (or anything else) renders nothing.
    """
    if not isinstance(item, BasePluginItem):
        return mark_safe("")
    flat: dict[str, Any] = {str(key): value for key, value in context.flatten().items()}
    return mark_safe(render_item(item, flat, **kwargs))  # rendered by its template
