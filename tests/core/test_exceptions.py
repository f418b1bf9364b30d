"""Tests for wagtail_plugin_system.core.exceptions: errors carry what they are about."""

from __future__ import annotations

import pickle
from abc import abstractmethod
from typing import Any

import pytest
from django.db import connection

from tests.testapp.plugins import BannerWidget, WidgetType
from wagtail_plugin_system import BasePluginItem, BasePluginType
from wagtail_plugin_system.core.exceptions import (
    ConfigDecryptionError,
    ConfigFormatError,
    DuplicatePluginError,
    PluginItemDefinitionError,
    PluginRegistrationError,
    PluginSystemError,
    PluginTypeDefinitionError,
    PluginUnavailableError,
    UnknownPluginError,
)
from wagtail_plugin_system.core.registry import PluginRegistry
from wagtail_plugin_system.models import PluginInstance
from wagtail_plugin_system.sync import sync_plugins


def test_attributes_default_to_none_and_survive_pickling() -> None:
    error = PluginSystemError("plain")
    assert (error.plugin_class, error.type_name, error.item_name, error.instance_id) == (
        None,
        None,
        None,
        None,
    )
    about = UnknownPluginError("gone", type_name="widget", item_name="banner", instance_id=7)
    copied = pickle.loads(pickle.dumps(about))
    assert type(copied) is UnknownPluginError
    assert str(copied) == "gone"
    assert (copied.type_name, copied.item_name, copied.instance_id) == ("widget", "banner", 7)


def test_a_type_definition_error_names_its_class_and_type() -> None:
    with pytest.raises(PluginTypeDefinitionError) as raised:

        class NothingRequired(BasePluginType):
            name = "nothing_required"

    assert raised.value.plugin_class is not None
    assert raised.value.plugin_class.__name__ == "NothingRequired"
    assert raised.value.type_name == "nothing_required"


def test_an_item_definition_error_names_its_class_item_and_type() -> None:
    class LocalType(BasePluginType):
        name = "local_type_for_errors"

        @abstractmethod
        def run(self) -> str: ...

    with pytest.raises(PluginItemDefinitionError) as raised:

        class Incomplete(BasePluginItem):
            name = "incomplete"
            plugin_type = LocalType

    error = raised.value
    assert error.plugin_class is not None
    assert error.plugin_class.__name__ == "Incomplete"
    assert (error.type_name, error.item_name) == ("local_type_for_errors", "incomplete")


def test_registry_errors_name_what_they_are_about(plugin_registry: PluginRegistry) -> None:
    with pytest.raises(UnknownPluginError) as unknown_type:
        plugin_registry.get_type_entry("no_such_type")
    assert unknown_type.value.type_name == "no_such_type"
    plugin_registry.register_item(BannerWidget)
    with pytest.raises(UnknownPluginError) as unknown_item:
        plugin_registry.get_item_entry(WidgetType, "no_such_item")
    assert (unknown_item.value.type_name, unknown_item.value.item_name) == (
        "widget",
        "no_such_item",
    )
    with pytest.raises(PluginRegistrationError) as bad_priority:
        plugin_registry.register_item(BannerWidget, priority="high")  # type: ignore[arg-type]
    assert bad_priority.value.plugin_class is BannerWidget
    assert bad_priority.value.item_name == "banner"

    class OtherBanner(BannerWidget):
        name = "banner"

    with pytest.raises(DuplicatePluginError) as duplicate:
        plugin_registry.register_item(OtherBanner)
    assert duplicate.value.plugin_class is OtherBanner
    assert (duplicate.value.type_name, duplicate.value.item_name) == ("widget", "banner")


@pytest.mark.django_db
def test_loading_errors_name_the_instance(plugin_registry: PluginRegistry, synced: Any) -> None:
    plugin_registry.register_item(BannerWidget)
    sync_plugins()
    row = PluginInstance.objects.create_instance(
        BannerWidget, name="Gone", config={"headline": "x", "token": "y"}
    )
    plugin_registry.unregister_item(BannerWidget)
    with pytest.raises(PluginUnavailableError) as missing:
        PluginInstance.objects.get(pk=row.pk).load_instance()
    assert missing.value.instance_id == row.pk
    assert (missing.value.type_name, missing.value.item_name) == ("widget", "banner")
    # A configuration that is JSON but not an object.
    PluginInstance.objects.filter(pk=row.pk).update(config=["a", "list"])
    not_an_object = PluginInstance.objects.get(pk=row.pk).get_config_error()
    assert isinstance(not_an_object, ConfigFormatError)
    assert not_an_object.instance_id == row.pk
    # A value that is no token of any key.
    with connection.cursor() as cursor:
        table = PluginInstance._meta.db_table
        cursor.execute(f"UPDATE {table} SET config = %s WHERE id = %s", ["not a token", row.pk])
    with pytest.raises(ConfigDecryptionError) as unreadable:
        _ = PluginInstance.objects.get(pk=row.pk).config
    assert unreadable.value.instance_id == row.pk
