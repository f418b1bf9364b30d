"""Pages of the sandbox."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest
from modelcluster.fields import ParentalKey
from wagtail import blocks
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, MultiFieldPanel
from wagtail.contrib.forms.models import AbstractEmailForm, AbstractFormField
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page, Site

from wagtail_plugin_system import get_active_plugins, get_plugin_instance, get_reserve_plugins
from wagtail_plugin_system.blocks import PluginInstanceChooserBlock
from wagtail_plugin_system.sites import site_choices


class HomePage(Page):
    """The root of a site: shows which configured plugins this site would use right now.

    The sandbox has two sites, each rooted at a home page; the per-site plugin settings
    (Settings > Plugins) make them use different instances.
    """

    intro = models.TextField(blank=True)
    body = StreamField(
        [
            ("paragraph", blocks.RichTextBlock(features=["bold", "italic", "link", "ol", "ul"])),
            (
                "newsletter",
                PluginInstanceChooserBlock(
                    plugin_type="newsletter_signup",
                    help_text="A sign-up box; choose which configured list it offers.",
                ),
            ),
        ],
        blank=True,
    )

    content_panels = [*Page.content_panels, FieldPanel("intro"), FieldPanel("body")]

    parent_page_types = ["wagtailcore.Page"]

    def get_context(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context(request, *args, **kwargs)
        # What application code does: ask for "the" payment gateway of this request's site.
        # The site's choice under Settings > Plugins wins; without one, the usual selection.
        context["current_site"] = Site.find_for_request(request)
        gateway = get_plugin_instance("payment_gateway", request=request)
        context["payment_gateway"] = gateway
        context["sms_sender"] = get_plugin_instance("sms_sender", request=request)
        # Whether that is the site's own choice (read once per request, so no extra query).
        chosen = site_choices(request=request).get("payment_gateway")
        context["payment_gateway_chosen_by_site"] = (
            gateway is not None and chosen is not None and chosen.pk == gateway.plugin_instance.pk
        )
        # The usual selection order, for comparison: every instance in the order it is tried.
        context["payment_candidates"] = [
            *get_active_plugins("payment_gateway"),
            *get_reserve_plugins("payment_gateway"),
        ]
        return context


class ContactFormField(AbstractFormField):
    page = ParentalKey("ContactPage", on_delete=models.CASCADE, related_name="form_fields")


class ContactPage(AbstractEmailForm):
    """A contact form (wagtail.contrib.forms) whose submissions are emailed to the editors.

    The email goes through the email_sender plugin instances (the console one prints it on
    the server's output), the site's choice under Settings > Plugins first.
    """

    intro = RichTextField(blank=True)
    thank_you_text = RichTextField(blank=True)

    content_panels = [
        *AbstractEmailForm.content_panels,
        FieldPanel("intro"),
        InlinePanel("form_fields", label="Form fields"),
        FieldPanel("thank_you_text"),
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("from_address"), FieldPanel("to_address")]),
                FieldPanel("subject"),
            ],
            "Email",
        ),
    ]

    parent_page_types = ["demo.HomePage"]
    subpage_types: list[str] = []
