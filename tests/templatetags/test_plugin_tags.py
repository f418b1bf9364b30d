"""Tests for the {% plugin %} template tag."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from wagtail.models import Page, Site

from tests.testapp.plugins import BannerWidget
from wagtail_plugin_system.core.registry import PluginRegistry
from wagtail_plugin_system.models import PluginInstance, PluginSiteChoice, PluginSiteSettings
from wagtail_plugin_system.sync import sync_plugins

pytestmark = pytest.mark.django_db

CONFIG = {"headline": "Hello", "token": "tag_TOKEN_secret_4471"}


@pytest.fixture
def banners(plugin_registry: PluginRegistry, synced: Any) -> tuple[PluginInstance, PluginInstance]:
    plugin_registry.register_item(BannerWidget)
    sync_plugins()
    first = PluginInstance.objects.create_instance(
        BannerWidget, name="First", config=CONFIG, priority=1
    )
    second = PluginInstance.objects.create_instance(
        BannerWidget, name="Second", config={**CONFIG, "headline": "Other"}, priority=2
    )
    return first, second


def render(source: str, **context: Any) -> str:
    return Template("{% load plugin_tags %}" + source).render(Context(context))


def test_tag_renders_the_selected_instance(banners: Any) -> None:
    html = render('{% plugin "widget" %}')
    assert html == '<div class="banner">Hello||Hello|First</div>\n'
    assert CONFIG["token"] not in html


def test_tag_passes_keyword_arguments(banners: Any) -> None:
    html = render('{% plugin "widget" extra=value %}', value="x<y")
    assert html.endswith("First</div><i>x&lt;y</i>\n")


def test_tag_uses_the_request_site(banners: tuple[PluginInstance, PluginInstance]) -> None:
    root = Page.get_first_root_node()
    home = root.add_child(instance=Page(title="Elsewhere", slug="elsewhere"))
    site = Site.objects.create(hostname="elsewhere.test", port=80, root_page=home)
    _, second = banners
    PluginSiteChoice.objects.create(
        setting=PluginSiteSettings.for_site(site),
        plugin_type=second.item.plugin_type,
        instance=second,
    )
    request = RequestFactory().get("/", HTTP_HOST="elsewhere.test", SERVER_PORT="80")
    assert "Second" in render('{% plugin "widget" %}', request=request)
    assert "First" in render('{% plugin "widget" %}')


def test_tag_renders_nothing_when_nothing_is_available(
    banners: tuple[PluginInstance, PluginInstance], caplog: pytest.LogCaptureFixture
) -> None:
    PluginInstance.objects.of_type("widget").update(status="disabled")
    assert render('[{% plugin "widget" %}]') == "[]"
    with caplog.at_level(logging.WARNING, logger="wagtail_plugin_system.rendering"):
        assert render('[{% plugin "no_such_type" %}]') == "[]"
    assert "no_such_type" in caplog.text


def test_render_plugin_uses_the_page_context(
    banners: tuple[PluginInstance, PluginInstance],
) -> None:
    first = banners[0].load_instance()
    html = render("{% render_plugin item extra=value %}", item=first, value="from the page")
    assert html.startswith('<div class="banner">Hello||Hello|First</div><i>from the page</i>')
    assert render("[{% render_plugin item %}]", item=None) == "[]"
