"""A page type with plugin blocks, for the block and rendering tests."""

from __future__ import annotations

from grapple.models import GraphQLStreamfield
from wagtail.admin.panels import FieldPanel
from wagtail.api import APIField
from wagtail.blocks import CharBlock
from wagtail.fields import StreamField
from wagtail.models import Page

from wagtail_plugin_system.blocks import PluginInstanceChooserBlock

from .plugins import PaymentGatewayType


class PluginPage(Page):
    body = StreamField(
        [
            ("widget", PluginInstanceChooserBlock(plugin_type="widget")),
            ("gateway", PluginInstanceChooserBlock(plugin_type=PaymentGatewayType)),
            (
                "widget_or_default",
                PluginInstanceChooserBlock(
                    plugin_type="widget", fallback="default", required=False
                ),
            ),
            (
                "gateway_card",
                PluginInstanceChooserBlock(
                    plugin_type="payment_gateway", template="testapp/gateway_card.html"
                ),
            ),
            ("text", CharBlock()),
        ],
        blank=True,
    )

    content_panels = [*Page.content_panels, FieldPanel("body")]
    # Headless reading: Wagtail's API v2 and GraphQL (wagtail-grapple).
    api_fields = [APIField("body")]
    graphql_fields = [GraphQLStreamfield("body")]

    template = "testapp/plugin_page.html"
