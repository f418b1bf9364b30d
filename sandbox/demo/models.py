"""Pages of the sandbox."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest
from wagtail.admin.panels import FieldPanel
from wagtail.models import Page

from wagtail_plugin_system import get_active_plugins, get_plugin_instance, get_reserve_plugins


class HomePage(Page):
    """The site root: shows which configured plugins the site would use right now."""

    intro = models.TextField(blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]

    max_count = 1
    parent_page_types = ["wagtailcore.Page"]

    def get_context(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context(request, *args, **kwargs)
        # What application code does: ask for "the" payment gateway and use it.
        context["payment_gateway"] = get_plugin_instance("payment_gateway")
        context["sms_sender"] = get_plugin_instance("sms_sender")
        # Why that one: every instance in the order selection tries them.
        context["payment_candidates"] = [
            *get_active_plugins("payment_gateway"),
            *get_reserve_plugins("payment_gateway"),
        ]
        return context
