"""Rendering plugin items into pages: the one path every surface takes.

The template tags, the Jinja2 functions and the chooser block all render
through this module. An item defines *how* it renders
(:meth:`~wagtail_plugin_system.BasePluginItem.render` and
:meth:`~wagtail_plugin_system.BasePluginItem.get_context`); this module
decides *what* is rendered and makes it fail closed: an unknown type, a type
with no usable instance, a custom selection (a type's ``get_plugin``) that
raises, or an item whose rendering fails gives ``""`` (see
:func:`render_item`), never an error. :func:`select_for_page` is the selection
the tags, the functions and the chooser block's fallback share.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from .core.contracts import BasePluginItem
from .core.exceptions import UnknownPluginError
from .core.redact import describe_exception, format_exception
from .selection import get_plugin_instance

__all__ = [
    "flat_context",
    "render_item",
    "render_loaded_item",
    "render_selected_item",
    "select_for_page",
]

logger = logging.getLogger(__name__)

# The name failures have always been logged under.
_render_logger = logging.getLogger("wagtail_plugin_system.render")


def flat_context(context: Any) -> dict[str, Any]:
    """A template context (Django's ``Context``, Jinja2's, or a mapping) as a new dict."""
    if context is None:
        return {}
    if type(context) is dict:  # what Wagtail gives a block: copied whole, at C speed
        return dict(context)
    flatten = getattr(context, "flatten", None)
    if callable(flatten):
        flat: dict[str, Any] = flatten()  # a new dict already
        return flat
    return {str(key): value for key, value in context.items()}


def render_item(
    item: BasePluginItem, parent_context: Mapping[str, Any] | None = None, **kwargs: Any
) -> str:
    """Render ``item`` into a page, failing closed: never an exception.

    When :meth:`BasePluginItem.render` raises (a bug, a missing template...),
    nothing is rendered and the error is logged with the item's configuration
    values blanked out. In a preview (a request whose ``is_preview`` is true,
    as Wagtail's previews set it), editors see a notice instead.
    """
    try:
        html: str = item.render(parent_context, **kwargs)
        return html
    except Exception as exc:
        config = item.config
        _render_logger.error(
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


def render_selected_item(
    plugin_type: str, context: Any, spelling: str, **kwargs: Any
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
    return render_loaded_item(item, context, **kwargs)


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


def render_loaded_item(item: Any, context: Any, **kwargs: Any) -> SafeString:
    """The HTML of a loaded plugin item with ``context``; ``""`` for anything else."""
    if not isinstance(item, BasePluginItem):
        return mark_safe("")
    html = render_item(item, flat_context(context), **kwargs)
    if isinstance(html, SafeString):  # what templates give: no need to wrap it again
        return html
    return mark_safe(html)  # rendered by its template
