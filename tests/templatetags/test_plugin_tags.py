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


# -- a custom selection that fails ------------------------------------------------------------


class SelectionFailed(Exception):
    pass


def raises(plugin_type: Any) -> Any:
    raise SelectionFailed("get_plugin blew up")


def raises_lookup(plugin_type: Any) -> Any:
    return PluginInstance.objects.get(name="nobody has this name")


def returns_nonsense(plugin_type: Any) -> Any:
    return "First"


def returns_another_type(plugin_type: Any) -> Any:
    return PluginInstance.objects.exclude(item__plugin_type=plugin_type).first()


FAILING_SELECTIONS = [raises, raises_lookup, returns_nonsense, returns_another_type]


@pytest.mark.parametrize("get_plugin", FAILING_SELECTIONS)
def test_a_failing_custom_selection_renders_nothing_and_is_logged(
    banners: Any,
    plugin_registry: PluginRegistry,
    get_plugin: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.testapp.plugins import WidgetType

    plugin_registry.register_type(WidgetType, get_plugin=get_plugin)
    with caplog.at_level(logging.ERROR, logger="wagtail_plugin_system.rendering"):
        assert render('[{% plugin "widget" %}]') == "[]"
    assert "{% plugin %} could not select an instance of plugin type 'widget'" in caplog.text
    assert caplog.records[-1].exc_info is not None  # the traceback is in the log
    # The other tags of the page still render.
    first = banners[0].load_instance()
    assert "First" in render('[{% plugin "widget" %}]{% render_plugin item %}', item=first)


@pytest.mark.parametrize("get_plugin", FAILING_SELECTIONS)
def test_a_page_whose_custom_selection_fails_is_served(
    banners: Any,
    plugin_registry: PluginRegistry,
    get_plugin: Any,
    client: Any,
    default_site: Any,
) -> None:
    """The page's {% plugin %} tag and its chooser block falling back to the default."""
    from tests.testapp.models import PluginPage
    from tests.testapp.plugins import WidgetType

    page = PluginPage(
        title="Failing selection",
        slug="failing-selection",
        body=[("widget", banners[1]), ("widget_or_default", None), ("text", "still here")],
    )
    default_site.root_page.add_child(instance=page)
    page.save_revision().publish()
    plugin_registry.register_type(WidgetType, get_plugin=get_plugin)
    response = client.get(page.url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Second" in html  # the block's own choice
    assert "[]" in html  # the fallback block: nothing
    assert "<aside></aside>" in html  # the tag: nothing
    assert "still here" in html


@pytest.mark.parametrize("case", ["lists 50,000 deep", "objects 50,000 deep", "3 MB"])
def test_a_page_whose_instance_is_beyond_the_limits_is_served(
    banners: Any, client: Any, default_site: Any, case: str
) -> None:
    """Its {% plugin %} tag selects the next instance; its chooser block renders nothing."""
    from tests.test_fields_limits import BEYOND
    from tests.testapp.models import PluginPage
    from wagtail_plugin_system.fields import Ciphertext, encrypt_text

    first, _second = banners
    page = PluginPage(title="Beyond", slug="beyond", body=[("widget", first), ("text", "here")])
    default_site.root_page.add_child(instance=page)
    page.save_revision().publish()
    PluginInstance.objects.filter(pk=first.pk).update(config=Ciphertext(encrypt_text(BEYOND[case])))
    response = client.get(page.url)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<aside><div class="banner">Other||Other|Second</div>' in html
    assert "First" not in html
    assert "here" in html
