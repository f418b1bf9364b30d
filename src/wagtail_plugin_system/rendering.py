"""Rendering plugin items into pages: what the template tags and Jinja2 functions share.

Both fail closed: an unknown type, a type with no usable instance, a custom
selection (a type's ``get_plugin``) that raises, or an item whose rendering
fails gives ``""`` (see
:func:`~wagtail_plugin_system.core.contracts.render_item`), never an error.
:func:`select_for_page` is the selection they (and the chooser block's
fallback) share.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.utils.safestring import SafeString, mark_safe

from .core.contracts import BasePluginItem, render_item
from .core.exceptions import UnknownPluginError
from .selection import get_plugin_instance

__all__ = ["render_given", "render_selected", "select_for_page"]

logger = logging.getLogger(__name__)


def render_selected(
    plugin_type: str, context: Mapping[Any, Any], spelling: str, **kwargs: Any
) -> SafeString:
    """The HTML of the instance ``plugin_type`` selects for ``context``'s request, or ``""``.

    ``spelling`` is how the template called it, for the warning about an
    unknown type.
    """
    try:
        item = select_for_page(plugin_type, context.get("request"), spelling)
    except UnknownPluginError:
        logger.warning(
            "%s got %r, which is not a registered plugin type. Use the name of a registered "
            "type (its name attribute), or register the type.",
            spelling,
            plugin_type,
        )
        return mark_safe("")
    return render_given(item, context, **kwargs)


def select_for_page(plugin_type: str, request: Any, spelling: str) -> BasePluginItem | None:
    """The item ``plugin_type`` selects for ``request``, or ``None`` when selection fails.

    A type's own ``get_plugin`` runs the project's code, and whatever it raises
    (or an unusable value it returns) must not take a page down: it is logged,
    with its traceback, and the page gets no instance. An unregistered type
    still raises :class:`~wagtail_plugin_system.core.exceptions.UnknownPluginError`,
    which each caller reports in its own words.
    """
    try:
        return get_plugin_instance(plugin_type, request=request)
    except UnknownPluginError:
        raise
    except Exception:
        logger.exception(
            "%s could not select an instance of plugin type %r, so it renders none. Fix the "
            "type's get_plugin, or the data it reads.",
            spelling,
            plugin_type,
        )
        return None


def render_given(item: Any, context: Mapping[Any, Any], **kwargs: Any) -> SafeString:
    """The HTML of a loaded plugin item with ``context``; ``""`` for anything else."""
    if not isinstance(item, BasePluginItem):
        return mark_safe("")
    flat: dict[str, Any] = {str(key): value for key, value in context.items()}
    return mark_safe(render_item(item, flat, **kwargs))  # rendered by its template
