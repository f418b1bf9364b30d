"""Tests for PluginInstance.objects.by_outside_id() and every caller that takes an outside id.

Ids arrive from URLs, form posts and block values; a malformed one is "not
found" everywhere, never an error, and costs no query.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.testapp.plugins import BannerWidget, WidgetType
from wagtail_plugin_system.admin.chooser import InstanceChosenView
from wagtail_plugin_system.blocks import PluginInstanceChooserBlock
from wagtail_plugin_system.core.registry import PluginRegistry
from wagtail_plugin_system.models import PluginInstance, PluginType
from wagtail_plugin_system.selection import get_plugin_instance_by_id
from wagtail_plugin_system.sync import sync_plugins
from wagtail_plugin_system.widgets import PluginInstanceChooser

pytestmark = pytest.mark.django_db

MALFORMED = ["²", "٣", "1e3", "-1", "0", "", " ", "1 2", "1\x00", None, [1], {}, 1.5, True, 2**63]


@pytest.fixture
def banner(plugin_registry: PluginRegistry, synced: Any) -> PluginInstance:
    plugin_registry.register_item(BannerWidget)
    sync_plugins()
    return PluginInstance.objects.create_instance(
        BannerWidget, name="Banner", config={"headline": "Hi", "token": "t"}
    )


@pytest.mark.parametrize("raw", MALFORMED)
def test_a_malformed_id_is_not_found_without_a_query(banner: PluginInstance, raw: Any) -> None:
    with CaptureQueriesContext(connection) as queries:
        assert PluginInstance.objects.by_outside_id(raw) is None
        assert PluginInstance.objects.by_outside_id(raw, plugin_type="widget") is None
    assert len(queries) == 0


def test_an_id_finds_its_instance_with_item_and_type_in_one_query(banner: PluginInstance) -> None:
    for raw in (banner.pk, str(banner.pk), f" {banner.pk}\n"):
        with CaptureQueriesContext(connection) as queries:
            found = PluginInstance.objects.by_outside_id(raw)
            assert found == banner
            assert found is not None
            assert found.item.plugin_type.name == "widget"
        assert len(queries) == 1


def test_a_type_narrows_the_lookup(banner: PluginInstance) -> None:
    row = PluginType.objects.get(name="widget")
    for plugin_type in (WidgetType, "widget", row):
        assert PluginInstance.objects.by_outside_id(banner.pk, plugin_type=plugin_type) == banner
    assert PluginInstance.objects.by_outside_id(banner.pk, plugin_type="payment_gateway") is None
    assert PluginInstance.objects.by_outside_id(banner.pk + 1000) is None


# -- through each caller ----------------------------------------------------------------------


@pytest.mark.parametrize("raw", MALFORMED)
def test_selection_by_id_finds_nothing(banner: PluginInstance, raw: Any) -> None:
    assert get_plugin_instance_by_id(WidgetType, raw) is None


@pytest.mark.parametrize("raw", MALFORMED)
def test_the_widget_shows_nothing_chosen(banner: PluginInstance, raw: Any) -> None:
    assert PluginInstanceChooser(plugin_type="widget").get_instance(raw) is None


@pytest.mark.parametrize("raw", MALFORMED)
def test_the_block_keeps_the_value_for_its_validation(banner: PluginInstance, raw: Any) -> None:
    block = PluginInstanceChooserBlock(plugin_type="widget", required=False)
    assert block.value_from_form(raw) is raw
    assert block.to_python(raw) is None


@pytest.mark.parametrize("raw", MALFORMED)
def test_the_chooser_answers_not_found(banner: PluginInstance, raw: Any) -> None:
    with pytest.raises(PluginInstance.DoesNotExist):
        InstanceChosenView().get_object(raw)


def test_the_callers_find_a_well_formed_id(banner: PluginInstance) -> None:
    assert get_plugin_instance_by_id(WidgetType, str(banner.pk)) is not None
    assert PluginInstanceChooser(plugin_type="widget").get_instance(str(banner.pk)) == banner
    assert PluginInstanceChooser(plugin_type="payment_gateway").get_instance(banner.pk) is None
    block = PluginInstanceChooserBlock(plugin_type="widget")
    assert block.value_from_form(str(banner.pk)) == banner
    assert InstanceChosenView().get_object(str(banner.pk)) == banner
