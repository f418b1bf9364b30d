"""Tests for wagtail_plugin_system.jinja2tags: the functions and the hidden secrets."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.template import engines
from django.test import override_settings
from jinja2 import Environment, pass_context, pass_eval_context
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from tests.testapp.plugins import BannerWidget
from wagtail_plugin_system.core.registry import PluginRegistry
from wagtail_plugin_system.models import PluginInstance
from wagtail_plugin_system.sync import sync_plugins

pytestmark = pytest.mark.django_db

EXTENSION = "wagtail_plugin_system.jinja2tags.plugins"
SECRET = "jinja_TOKEN_secret_9125"
CONFIG = {"headline": "Hello", "token": SECRET}
TESTS = Path(__file__).resolve().parent


class JinjaBanner(BannerWidget):
    """The banner with a Jinja2 template that prints its secret every way it can."""

    name = "jinja_banner"
    template_name = "testapp/banner.jinja"


@contextmanager
def jinja2_engine(extensions: list[str]) -> Iterator[Any]:
    """Django's Jinja2 backend with ``extensions``, after the DjangoTemplates one."""
    from django.conf import settings

    jinja2 = {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [TESTS / "jinja2_templates"],
        "OPTIONS": {"extensions": extensions},
    }
    with override_settings(TEMPLATES=[*settings.TEMPLATES, jinja2]):
        yield engines["jinja2"]


@pytest.fixture
def jinja2_backend() -> Iterator[Any]:
    with jinja2_engine([EXTENSION]) as backend:
        yield backend


@pytest.fixture
def banners(plugin_registry: PluginRegistry, synced: Any) -> tuple[PluginInstance, PluginInstance]:
    plugin_registry.register_item(BannerWidget)
    plugin_registry.register_item(JinjaBanner)
    sync_plugins()
    first = PluginInstance.objects.create_instance(
        BannerWidget, name="First", config=CONFIG, priority=1
    )
    jinja = PluginInstance.objects.create_instance(
        JinjaBanner, name="Jinja", config=CONFIG, priority=2
    )
    return first, jinja


def render(backend: Any, source: str, **context: Any) -> str:
    html: str = backend.from_string(source).render(context)
    return html


# -- the functions ------------------------------------------------------------------------------


def test_plugin_renders_what_the_django_tag_renders(jinja2_backend: Any, banners: Any) -> None:
    html = render(jinja2_backend, '[{{ plugin("widget") }}]')
    assert html == '[<div class="banner">Hello||Hello|First</div>\n]'


def test_plugin_passes_keyword_arguments_escaped_once(jinja2_backend: Any, banners: Any) -> None:
    html = render(jinja2_backend, '{{ plugin("widget", extra=value) }}', value="x<y")
    assert html.endswith("First</div><i>x&lt;y</i>\n")


def test_plugin_renders_nothing_when_nothing_is_available(
    jinja2_backend: Any,
    banners: tuple[PluginInstance, PluginInstance],
    caplog: pytest.LogCaptureFixture,
) -> None:
    PluginInstance.objects.of_type("widget").update(status="disabled")
    assert render(jinja2_backend, '[{{ plugin("widget") }}]') == "[]"
    with caplog.at_level(logging.WARNING, logger="wagtail_plugin_system.rendering"):
        assert render(jinja2_backend, '[{{ plugin("no_such_type") }}]') == "[]"
    assert "plugin() got 'no_such_type', which is not a registered plugin type" in caplog.text


def test_render_plugin_renders_an_item_and_nothing_else(
    jinja2_backend: Any, banners: tuple[PluginInstance, PluginInstance]
) -> None:
    item = banners[0].load_instance()
    html = render(jinja2_backend, "{{ render_plugin(item, extra=value) }}", item=item, value="v")
    assert html == '<div class="banner">Hello||Hello|First</div><i>v</i>\n'
    for other in (None, "text", banners[0]):
        assert render(jinja2_backend, "[{{ render_plugin(x) }}]", x=other) == "[]"


def test_an_item_template_in_jinja2_prints_no_secret(
    banners: tuple[PluginInstance, PluginInstance],
) -> None:
    item = banners[1].load_instance()
    with jinja2_engine([EXTENSION]):
        assert item.render() == '<div class="banner">Hello||||Jinja</div>'
    # The item's own `config` is the public view either way; the configuration reached
    # through the item or its row is hidden only by the extension.
    with jinja2_engine([]):
        assert item.render() == f'<div class="banner">Hello||{SECRET}|{SECRET}|Jinja</div>'


# -- the secrets ----------------------------------------------------------------------------------

LOOKUPS = [
    "{{ item.config.token }}",
    "{{ item.config['token'] }}",
    "{{ item.config.get('token') }}",
    "{{ item.config }}",
    "{{ item.config|tojson }}",
    "{% for key, value in item.config.items() %}{{ value }}{% endfor %}",
    "{{ item.plugin_instance.config.token }}",
    "{{ row.config }}",
    "{{ row.config.token }}",
    "{{ row['config']['token'] }}",
    "{{ row.config|tojson }}",
    "{{ row.config|dictsort }}",
    "{{ config }}",
    "{{ row_config }}",
]
PRINTED_WHOLE = {"{{ item.config }}", "{{ row.config }}", "{{ config }}", "{{ row_config }}"}


@pytest.mark.parametrize("source", LOOKUPS)
def test_no_lookup_prints_a_secret(
    banners: tuple[PluginInstance, PluginInstance], source: str
) -> None:
    row = PluginInstance.objects.get(pk=banners[0].pk)
    item = row.load_instance()
    context = {"item": item, "row": row, "config": item.config, "row_config": row.config}
    plain = Environment(autoescape=True).from_string(source).render(context)
    hidden = Environment(autoescape=True, extensions=[EXTENSION]).from_string(source)
    # Without the extension, a lookup reaches the secret; a configuration printed whole
    # shows only its masked repr().
    if source in PRINTED_WHOLE:
        assert "***" in plain
        assert SECRET not in plain
    else:
        assert SECRET in plain
    assert SECRET not in hidden.render(context)


def test_public_values_still_print(banners: tuple[PluginInstance, PluginInstance]) -> None:
    row = PluginInstance.objects.get(pk=banners[0].pk)
    item = row.load_instance()
    environment = Environment(extensions=[EXTENSION])
    source = "{{ item.config.headline }}|{{ row.config.headline }}|{{ row.name }}|{{ item.label }}"
    assert environment.from_string(source).render(item=item, row=row) == (
        f"Hello|Hello|First|{item.label}"
    )
    # Python code keeps the whole configuration.
    assert item.config["token"] == SECRET
    assert row.config["token"] == SECRET


def test_an_existing_finalize_still_runs_on_the_public_view(
    banners: tuple[PluginInstance, PluginInstance],
) -> None:
    row = PluginInstance.objects.get(pk=banners[0].pk)
    seen: list[Any] = []

    def blank_none(value: Any) -> Any:
        seen.append(value)
        return "" if value is None else value

    @pass_context
    def with_context(context: Any, value: Any) -> Any:
        seen.append(value)
        return f"<{value}>"

    @pass_eval_context
    def with_eval_context(eval_context: Any, value: Any) -> Any:
        seen.append(value)
        return value

    for finalize in (blank_none, with_context, with_eval_context):
        environment = Environment(finalize=finalize, extensions=[EXTENSION])
        html = environment.from_string("{{ nothing }}{{ config }}").render(config=row.config)
        assert SECRET not in html
        assert SECRET not in repr(seen)
        seen.clear()
    blank = Environment(finalize=blank_none, extensions=[EXTENSION])
    assert blank.from_string("[{{ nothing }}]").render(nothing=None) == "[]"


def test_a_sandbox_stays_a_sandbox(banners: tuple[PluginInstance, PluginInstance]) -> None:
    row = PluginInstance.objects.get(pk=banners[0].pk)
    environment = SandboxedEnvironment(extensions=[EXTENSION])
    assert SECRET not in environment.from_string("{{ row.config }}").render(row=row)
    with pytest.raises(SecurityError):
        environment.from_string("{{ row.config.__init__.__globals__ }}").render(row=row)


def test_chooser_blocks_render_in_a_jinja2_page_with_wagtails_extension(
    banners: tuple[PluginInstance, PluginInstance], default_site: Any
) -> None:
    from tests.testapp.models import PluginPage

    first, _ = banners
    page = PluginPage(title="Jinja page", slug="jinja-page", body=[("widget", first)])
    default_site.root_page.add_child(instance=page)
    page = PluginPage.objects.get(pk=page.pk)
    with jinja2_engine(["wagtail.jinja2tags.core", EXTENSION]) as backend:
        html = render(
            backend,
            "{% for block in page.body %}{% include_block block %}{% endfor %}"
            "|{{ page.body[0].value.config }}|{{ page.body[0].value.config.token }}",
            page=page,
        )
    assert html.startswith('<div class="banner">Hello||Hello|First</div>')
    assert SECRET not in html
    assert "headline" in html  # the row's public view: its non-secret fields


def test_plugin_renders_nothing_when_a_custom_selection_raises(
    jinja2_backend: Any,
    banners: tuple[PluginInstance, PluginInstance],
    plugin_registry: PluginRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.testapp.plugins import WidgetType

    def get_plugin(plugin_type: Any) -> Any:
        raise RuntimeError("the project's selection failed")

    plugin_registry.register_type(WidgetType, get_plugin=get_plugin)
    with caplog.at_level(logging.ERROR, logger="wagtail_plugin_system.rendering"):
        assert render(jinja2_backend, '[{{ plugin("widget") }}]') == "[]"
    assert "plugin() could not select an instance of plugin type 'widget'" in caplog.text
    assert "the project's selection failed" in caplog.text
