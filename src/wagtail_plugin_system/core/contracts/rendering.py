"""Rendering an item's template inside a page whose context is already built.

A page's template context already holds what the context processors give
(``request``, ``user``, ``csrf_token``...): an item's template rendered inside
it gets that context as it is, instead of running every context processor
again for each item, and its template is looked up once per process.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.signals import setting_changed
from django.template import Context
from django.template import Template as DjangoTemplate
from django.template.loader import get_template
from django.utils.autoreload import file_changed

__all__ = ["clear_templates", "render_template"]

#: Template name -> the engine's template, as ``get_template`` returned it.
_templates: dict[str, Any] = {}


def clear_templates(**kwargs: Any) -> None:
    """Forget the templates looked up (templates or the settings changed)."""
    _templates.clear()


setting_changed.connect(clear_templates, dispatch_uid="wps_clear_templates_settings")
file_changed.connect(clear_templates, dispatch_uid="wps_clear_templates_files")


def _template(name: str) -> Any:
    template = _templates.get(name)
    if template is None:
        template = _templates[name] = get_template(name)
    return template


def render_template(
    name: str, parent_context: Mapping[str, Any] | None, context: Mapping[str, Any]
) -> str:
    """Render template ``name`` with ``context`` over ``parent_context`` (the page's).

    Context processors do not run: what they gave the page is in
    ``parent_context`` already.
    """
    template = _template(name)
    inner = getattr(template, "template", None)
    if isinstance(inner, DjangoTemplate):  # Django's engine: a plain Context, two layers
        base = parent_context
        if base is not None and not isinstance(base, dict):
            base = dict(base)
        layered = Context(base, autoescape=inner.engine.autoescape)  # the page's: not copied
        layered.update(context if isinstance(context, dict) else dict(context))
        request = context.get("request")
        if request is not None:
            layered.request = request  # type: ignore[attr-defined]  # as RequestContext has it
        html: str = inner.render(layered)
        return html
    merged = {**parent_context, **context} if parent_context is not None else dict(context)
    rendered: str = template.render(merged)
    return rendered
