"""Tests for wagtail_plugin_system.core.registry, including entry points of a real distribution."""

from __future__ import annotations

import logging
import sys
import textwrap
from abc import abstractmethod
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.testapp.plugins import (
    BankTransferGateway,
    EchoSender,
    FlakyGateway,
    PaymentGatewayType,
    SmsSenderType,
    StripeGateway,
)
from wagtail_plugin_system import BasePluginItem, BasePluginType
from wagtail_plugin_system.core.exceptions import (
    DuplicatePluginError,
    PluginRegistrationError,
    UnknownPluginError,
)
from wagtail_plugin_system.core.registry import (
    PluginRegistry,
    get_plugin_type_class,
    get_registered_items,
    get_registered_types,
    register_plugin_item,
    register_plugin_type,
)


class NewsType(BasePluginType):
    name = "newsletter"

    @abstractmethod
    def subscribe(self, email: str) -> None: ...


class ListServe(BasePluginItem):
    name = "listserve"
    plugin_type = NewsType

    def subscribe(self, email: str) -> None:
        return None


def make_item(name: str, plugin_type: type[BasePluginType] = NewsType, **attrs: object) -> type:
    return type(
        f"Item_{name}",
        (BasePluginItem,),
        {"name": name, "plugin_type": plugin_type, "subscribe": lambda self, email: None, **attrs},
    )


def test_testapp_registrations_are_listed() -> None:
    assert PaymentGatewayType in get_registered_types()
    assert get_registered_items(PaymentGatewayType) == [
        BankTransferGateway,
        FlakyGateway,
        StripeGateway,
    ]
    assert get_registered_items("sms_sender") == [EchoSender]
    assert get_plugin_type_class("sms_sender") is SmsSenderType


def test_register_item_registers_its_type() -> None:
    registry = PluginRegistry()
    registry.register_item(ListServe)
    assert registry.get_types() == [NewsType]
    assert registry.get_items("newsletter") == [ListServe]
    assert registry.get_item("newsletter", "listserve") is ListServe
    assert registry.get_type_entry(NewsType).items["listserve"].priority == 100


def test_dict_forms_of_django_plugin_system() -> None:
    registry = PluginRegistry()

    def chooser(type_row: object) -> None:
        return None

    registry.register_type({"interface": NewsType, "get_plugin": chooser})
    registry.register_item({"plugin_class": ListServe, "priority": 7})
    entry = registry.get_type_entry("newsletter")
    assert entry.get_plugin is chooser
    assert entry.items["listserve"].priority == 7


def test_dict_forms_reject_unknown_keys() -> None:
    registry = PluginRegistry()
    with pytest.raises(PluginRegistrationError, match="unknown keys \\['priorty'\\]"):
        registry.register_item({"plugin_class": ListServe, "priorty": 7})
    with pytest.raises(PluginRegistrationError, match="'interface' and 'get_plugin'"):
        registry.register_type({"interfce": NewsType})


@pytest.mark.parametrize("bad", [None, object, "newsletter", BasePluginType, BasePluginItem])
def test_registering_non_plugins_is_refused(bad: object) -> None:
    registry = PluginRegistry()
    with pytest.raises(PluginRegistrationError):
        registry.register_type(bad)  # type: ignore[arg-type]
    with pytest.raises(PluginRegistrationError):
        registry.register_item(bad)  # type: ignore[arg-type]


def test_bad_priority_and_get_plugin_refused() -> None:
    registry = PluginRegistry()
    with pytest.raises(PluginRegistrationError, match="must be an integer"):
        registry.register_item(ListServe, priority="1")  # type: ignore[arg-type]
    with pytest.raises(PluginRegistrationError, match="must be callable"):
        registry.register_type(NewsType, get_plugin="nope")  # type: ignore[arg-type]


def test_reregistering_the_same_class_is_a_no_op() -> None:
    registry = PluginRegistry()
    registry.register_item(ListServe)
    registry.register_item(ListServe)
    registry.register_type(NewsType)
    assert registry.get_items(NewsType) == [ListServe]


def test_another_class_under_a_taken_name_names_both() -> None:
    registry = PluginRegistry()
    registry.register_item(ListServe)
    impostor = make_item("listserve")
    with pytest.raises(DuplicatePluginError) as info:
        registry.register_item(impostor)
    message = str(info.value)
    assert "tests.core.test_registry.ListServe" in message
    assert "Item_listserve" in message

    class OtherNewsType(BasePluginType):
        name = "newsletter"

        @abstractmethod
        def subscribe(self, email: str) -> None: ...

    with pytest.raises(DuplicatePluginError, match=r"NewsType.*OtherNewsType"):
        registry.register_type(OtherNewsType)


def test_alias_clashing_with_a_name_is_refused() -> None:
    registry = PluginRegistry()
    registry.register_item(ListServe)
    with pytest.raises(DuplicatePluginError, match="'listserve'"):
        registry.register_item(make_item("mailer", aliases=("listserve",)))


def test_unknown_type_lists_registered_ones() -> None:
    registry = PluginRegistry()
    registry.register_item(ListServe)
    with pytest.raises(UnknownPluginError, match=r"'nope' is not registered.*newsletter"):
        registry.get_type_entry("nope")
    with pytest.raises(UnknownPluginError):
        registry.get_items(PaymentGatewayType)
    assert isinstance(UnknownPluginError("x"), LookupError)


def test_lookup_by_alias() -> None:
    registry = PluginRegistry()
    renamed = make_item("mailer", aliases=("old_mailer",))
    registry.register_item(renamed)
    assert registry.get_item("newsletter", "old_mailer") is renamed
    assert registry.get_item("newsletter", "unknown") is None
    assert registry.get_item("unknown", "mailer") is None


def test_module_functions_use_the_process_registry(plugin_registry: PluginRegistry) -> None:
    register_plugin_type(NewsType)
    register_plugin_item(ListServe, priority=3)
    assert plugin_registry.get_type_entry("newsletter").items["listserve"].priority == 3
    assert NewsType in get_registered_types()


def test_isolated_restores_previous_state() -> None:
    registry = PluginRegistry()
    registry.register_type(SmsSenderType)
    with registry.isolated():
        registry.register_item(ListServe)
        assert "newsletter" in registry
    assert "newsletter" not in registry
    assert registry.get_types() == [SmsSenderType]


# -- entry points, from a real installed distribution -------------------------------------


@pytest.fixture
def distribution(tmp_path: Path) -> Iterator[Path]:
    """Install a tiny distribution (a dist-info folder) that advertises entry points."""
    package = tmp_path / "acme_plugins"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "items.py").write_text(
        textwrap.dedent(
            """
            from abc import abstractmethod
            from wagtail_plugin_system import BasePluginItem, BasePluginType

            class MapsType(BasePluginType):
                name = "maps"

                @abstractmethod
                def embed(self, lat, lon): ...

            class OpenMaps(BasePluginItem):
                name = "openmaps"
                plugin_type = MapsType

                def embed(self, lat, lon):
                    return f"{lat},{lon}"

            class StandaloneType(BasePluginType):
                name = "standalone"

                @abstractmethod
                def run(self): ...

            NOT_A_PLUGIN = 42
            """
        )
    )
    (package / "autoregister.py").write_text(
        textwrap.dedent(
            """
            from abc import abstractmethod
            from wagtail_plugin_system import BasePluginItem, BasePluginType, register_plugin_item

            class StorageType(BasePluginType):
                name = "storage"

                @abstractmethod
                def put(self, key, data): ...

            class MemoryStorage(BasePluginItem):
                name = "memory"
                plugin_type = StorageType

                def put(self, key, data):
                    return key

            register_plugin_item(MemoryStorage)
            """
        )
    )
    (package / "broken.py").write_text("raise ImportError('acme-sdk is not installed')\n")
    dist_info = tmp_path / "acme_plugins-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-plugins\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(
        textwrap.dedent(
            """
            [wagtail_plugin_system.plugins]
            openmaps = acme_plugins.items:OpenMaps
            standalone = acme_plugins.items:StandaloneType
            storage = acme_plugins.autoregister
            broken = acme_plugins.broken:Thing
            number = acme_plugins.items:NOT_A_PLUGIN

            [some.other.group]
            ignored = acme_plugins.broken
            """
        )
    )
    sys.path.insert(0, str(tmp_path))
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.startswith("acme_plugins")]:
            del sys.modules[name]


def test_entry_points_load_items_types_and_modules(
    distribution: Path, plugin_registry: PluginRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    plugin_registry.entry_points_loaded = False
    with caplog.at_level(logging.ERROR, logger="wagtail_plugin_system.core.registry"):
        failures = plugin_registry.load_entry_points()
    assert "maps" in plugin_registry
    assert plugin_registry.get_item("maps", "openmaps") is not None
    assert "standalone" in plugin_registry
    assert plugin_registry.get_item("storage", "memory") is not None
    assert sorted(failure.name for failure in failures) == ["broken", "number"]
    broken = next(failure for failure in failures if failure.name == "broken")
    assert broken.value == "acme_plugins.broken:Thing"
    assert "acme-sdk is not installed" in broken.error
    number = next(failure for failure in failures if failure.name == "number")
    assert "neither a plugin item class" in number.error
    logged = [record for record in caplog.records if "failed to load" in record.getMessage()]
    assert len(logged) == 2
    assert logged[0].exc_info is not None


def test_entry_points_are_loaded_once(distribution: Path, plugin_registry: PluginRegistry) -> None:
    plugin_registry.entry_points_loaded = False
    plugin_registry.load_entry_points()
    plugin_registry.load_entry_points()
    assert len(plugin_registry.entry_point_failures) == 2
