"""Tests for wagtail_plugin_system.core.masking: a configuration shows no secret by any path.

Both forms of a configuration (an item's ``PluginConfig`` and an instance row's
decrypted ``config``) reach templates in every way a project may hand them
over: passed in the context directly, through an attribute, an item, a method
call, a loop, ``items()``/``values()``, a filter. Each path is rendered by
Django's template engine and by Jinja2 with the extension, and the stored
secret never appears.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.template import Context, Engine
from jinja2 import Environment

from tests.testapp.plugins import BannerWidget
from wagtail_plugin_system import PluginConfig
from wagtail_plugin_system.core.masking import (
    MaskedConfig,
    masked_repr,
    public_view,
    without_secrets,
)
from wagtail_plugin_system.core.registry import PluginRegistry
from wagtail_plugin_system.fields import StoredJSON
from wagtail_plugin_system.models import PluginInstance
from wagtail_plugin_system.sync import sync_plugins

SECRET = "masking_SECRET_value_7731"
CONFIG = {"headline": "Hello", "token": SECRET}
EXTENSION = "wagtail_plugin_system.jinja2tags.plugins"


# -- the one function and the one type ----------------------------------------------------------


def test_without_secrets_drops_the_named_fields_and_everything_when_unknown() -> None:
    assert without_secrets(CONFIG, {"token"}) == {"headline": "Hello"}
    assert without_secrets(CONFIG, ()) == CONFIG
    assert without_secrets(CONFIG, None) == {}


def test_both_forms_of_a_configuration_are_masked_configs() -> None:
    item_config = PluginConfig(CONFIG, secret={"token"})
    assert isinstance(item_config, MaskedConfig)
    assert issubclass(StoredJSON, MaskedConfig)
    assert item_config() == {"headline": "Hello"}
    assert public_view(item_config) == {"headline": "Hello"}
    assert public_view("text") == "text"
    # A row's configuration with no row to say what is secret shows nothing.
    assert StoredJSON(CONFIG)() == {}


def test_repr_str_and_copies_never_show_a_value() -> None:
    for config in (PluginConfig(CONFIG, secret={"token"}), StoredJSON(CONFIG)):
        assert SECRET not in repr(config)
        assert SECRET not in str(config)
        assert masked_repr(config) in repr(config)
        assert type(copy.copy(config)) is dict
        assert type(copy.deepcopy(config)) is dict


# -- every path into a template -----------------------------------------------------------------


@pytest.fixture
def row(plugin_registry: PluginRegistry, synced: Any) -> PluginInstance:
    plugin_registry.register_item(BannerWidget)
    sync_plugins()
    made = PluginInstance.objects.create_instance(BannerWidget, name="Masked", config=CONFIG)
    return PluginInstance.objects.get(pk=made.pk)


def contexts(row: PluginInstance) -> dict[str, Any]:
    item = row.load_instance()
    return {
        "item": item,
        "row": row,
        "rows": [row],
        "config": item.config,
        "row_config": row.config,
        "configs": [item.config, row.config],
        "mapping": {"config": item.config},
        "get_config": lambda: item.config,
    }


DJANGO_PATHS = [
    "{{ config }}",
    "{{ config.token }}",
    "{{ config.items }}",
    "{{ config.values }}",
    "{% for key, value in config.items %}{{ value }}{% endfor %}",
    "{% for value in config.values %}{{ value }}{% endfor %}",
    "{% for key in config %}{{ key }}{% endfor %}",
    "{{ row_config }}",
    "{{ row_config.token }}",
    "{% for key, value in row_config.items %}{{ value }}{% endfor %}",
    "{{ item.config.token }}",
    "{{ item.config.values }}",
    "{{ row.config.token }}",
    "{{ row.config.items }}",
    "{{ rows.0.config.token }}",
    "{{ mapping.config.token }}",
    "{{ get_config }}",
    "{% for c in configs %}{{ c.token }}{{ c }}{{ c.values }}{% endfor %}",
    "{% with c=row.config %}{{ c.token }}{% endwith %}",
    "{{ config|safe }}",
    "{{ row.config|pprint }}",
    "{{ config|json_script:'cfg' }}",
    "{{ item.plugin_instance.config.token }}",
]


@pytest.mark.parametrize("source", DJANGO_PATHS)
def test_no_django_template_path_prints_a_secret(row: PluginInstance, source: str) -> None:
    html = Engine().from_string(source).render(Context(contexts(row)))
    assert SECRET not in html


JINJA2_PATHS = [
    "{{ config }}",
    "{{ config.token }}",
    "{{ config['token'] }}",
    "{{ config.get('token') }}",
    "{{ config|tojson }}",
    "{{ config.values()|list }}",
    "{% for key, value in config.items() %}{{ value }}{% endfor %}",
    "{% for value in config.values() %}{{ value }}{% endfor %}",
    "{% for key in config %}{{ config[key] }}{% endfor %}",
    "{{ row_config.token }}",
    "{{ row_config|tojson }}",
    "{{ row_config.items()|list }}",
    "{{ item.config.token }}",
    "{{ row.config['token'] }}",
    "{{ rows[0].config.token }}",
    "{{ mapping.config.token }}",
    "{{ mapping['config']|tojson }}",
    "{{ get_config().token }}",
    "{{ get_config()|tojson }}",
    "{% for c in configs %}{{ c.token }}{{ c|tojson }}{{ c.values()|join }}{% endfor %}",
    "{{ configs|map(attribute='token')|join }}",
    "{{ configs|first|tojson }}",
    "{{ configs|tojson }}",
    "{{ {'nested': [config, row_config]}|tojson }}",
    "{% set c = config %}{{ c.token }}",
    "{% with c = row.config %}{{ c.token }}{{ c|dictsort }}{% endwith %}",
]


@pytest.mark.parametrize("source", JINJA2_PATHS)
def test_no_jinja2_path_prints_a_secret(row: PluginInstance, source: str) -> None:
    environment = Environment(autoescape=True, extensions=[EXTENSION])
    html = environment.from_string(source).render(contexts(row))
    assert SECRET not in html


def test_without_the_extension_those_paths_reach_the_secret(row: PluginInstance) -> None:
    # The paths above are real ways to the value: without the extension they print it.
    plain = Environment(autoescape=True)
    leaking = [
        source
        for source in JINJA2_PATHS
        if SECRET in plain.from_string(source).render(contexts(row))
    ]
    assert len(leaking) >= len(JINJA2_PATHS) - 2  # all but the whole-config prints


def test_public_values_still_show_by_those_paths(row: PluginInstance) -> None:
    environment = Environment(extensions=[EXTENSION])
    assert environment.from_string("{{ config.headline }}").render(contexts(row)) == "Hello"
    assert environment.from_string("{{ row_config.headline }}").render(contexts(row)) == "Hello"
    django = Engine().from_string("{{ config.headline }}|{{ row.config.headline }}")
    assert django.render(Context(contexts(row))) == "Hello|Hello"
