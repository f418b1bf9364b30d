"""``wagtail_plugin_system.compat``: django-plugin-system's documented behaviour, over ours."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator
from typing import Any

import pytest
from django import forms

from wagtail_plugin_system import registry
from wagtail_plugin_system.compat import helpers
from wagtail_plugin_system.compat.models import PluginInstance, PluginItem, PluginStatus, PluginType
from wagtail_plugin_system.compat.plugin_core import (
    BasePluginItem,
    BasePluginType,
    MissingPluginMethodError,
    PluginConfiguration,
)
from wagtail_plugin_system.compat.register import (
    load_plugin_item,
    load_plugin_type,
    register_plugin_item,
    register_plugin_type,
)
from wagtail_plugin_system.compat.services.sync import sync_registered_plugins_to_db

pytestmark = pytest.mark.django_db


class MailType(BasePluginType):
    name = "compat_mail"

    @abstractmethod
    def send(self, to: str) -> str: ...


class MailForm(forms.Form):
    host = forms.CharField()
    port = forms.IntegerField(required=False)


class MailConfiguration(PluginConfiguration):
    form_class = MailForm

    def clean_config(self, form: forms.BaseForm) -> dict[str, Any]:
        data = dict(form.cleaned_data)
        data["host"] = data["host"].lower()
        return data


class Smtp(BasePluginItem):
    name = "smtp"
    plugin_type = MailType
    configuration = MailConfiguration

    def send(self, to: str) -> str:
        return f"{self.config['host']}:{to}"


class Log(BasePluginItem):
    name = "log"
    plugin_type = MailType

    def send(self, to: str) -> str:
        return f"log:{to}"


@pytest.fixture
def plugins() -> Iterator[None]:
    with registry.isolated():
        for other in registry.get_types():
            registry.unregister_type(other)
        register_plugin_type({"interface": MailType, "name": "ignored", "manager": "x"})
        register_plugin_item({"plugin_class": Smtp, "module": "ignored"})
        register_plugin_item({"plugin_class": Log})
        yield


def test_unknown_type_returns_none_and_empty_lists(db: None) -> None:
    assert helpers.get_plugin_instance("no_such_type") is None
    assert helpers.get_plugin_instance_by_id("no_such_type", 1) is None
    assert helpers.get_active_plugins("no_such_type") == []
    assert helpers.get_reserve_plugins("no_such_type") == []


def test_missing_method_is_both_type_and_attribute_error() -> None:
    with pytest.raises(MissingPluginMethodError) as caught:

        class Broken(BasePluginItem):
            name = "broken"
            plugin_type = MailType

    assert isinstance(caught.value, TypeError)
    assert isinstance(caught.value, AttributeError)


def test_seed_defaults_label_and_priority() -> None:
    assert (Smtp.label, Smtp.priority) == ("smtp", 0)


def test_sync_counts_default_instance_and_selection(plugins: None) -> None:
    counts = sync_registered_plugins_to_db(mode="create", prune=False)
    assert counts["types_created"] == 1
    assert counts["items_created"] == 2
    assert counts["instances_created"] == 1
    default = PluginInstance.objects.get(item__name="log")
    assert (default.name, default.priority, default.status) == ("log", 0, PluginStatus.ACTIVE)
    again = sync_registered_plugins_to_db()
    assert (again["types_found"], again["items_found"], again["instances_found"]) == (1, 2, 1)
    kind = PluginType.objects.get(name="compat_mail")
    assert kind.manager == MailType.__module__
    assert PluginType.get_plugin_type_by_class(MailType) == kind
    assert kind.get_single_plugin() == default
    item = PluginItem.objects.get(name="smtp")
    assert (item.configurable, item.module, item.priority) == (True, Smtp.__module__, 0)
    loaded = default.load_implementation()
    assert isinstance(loaded, Log)
    assert loaded.send("a") == "log:a"


def test_seed_construction_and_configuration(plugins: None) -> None:
    sync_registered_plugins_to_db(prune=False)
    item = PluginItem.objects.get(name="smtp")
    instance = PluginInstance.objects.create(item=item, name="main", config={"host": "MX"})
    plugin = Smtp(instance)
    assert plugin.config == {"host": "MX"}
    assert plugin.plugin_instance == instance
    configuration = MailConfiguration(plugin_item=item, plugin_instance=instance)
    form = configuration.get_form(data={"cfg-host": "New.Example"}, prefix="cfg")
    assert form.initial["host"] == "MX"
    assert form.is_valid()
    assert configuration.clean_config(form) == {"host": "new.example", "port": None}
    # The class-level path (admin, create_instance) runs the override too.
    made = PluginInstance.objects.create_instance(Smtp, name="code", config={"host": "UP"})
    assert made.config["host"] == "up"


def test_by_id_spellings_and_prevent_disable(plugins: None) -> None:
    sync_registered_plugins_to_db(prune=False)
    item = PluginItem.objects.get(name="smtp")
    off = PluginInstance.objects.create(
        item=item, name="off", config={"host": "h"}, status=PluginStatus.DISABLED
    )
    assert isinstance(helpers.get_plugin_instance_by_id(MailType, instance_id=off.pk), Smtp)
    assert isinstance(helpers.get_plugin_instance_by_id(MailType, plugin_id=str(off.pk)), Smtp)
    assert helpers.get_plugin_instance_by_id(MailType, off.pk, prevent_disable=True) is None
    with pytest.warns(DeprecationWarning, match="deprecated"):
        found = helpers.get_plugin_instance_by_id_name_manager("compat_mail", "x", off.pk)
    assert isinstance(found, Smtp)


def test_prune_is_the_safe_prune(plugins: None) -> None:
    sync_registered_plugins_to_db(prune=False)
    item = PluginItem.objects.get(name="smtp")
    kept = PluginInstance.objects.create(item=item, name="keep me", config={"host": "h"})
    registry.unregister_type(MailType)
    counts = sync_registered_plugins_to_db()  # prune=True, the default
    assert counts["pruned_instances"] == 1  # only log's untouched default instance
    assert PluginInstance.objects.filter(pk=kept.pk).exists()


def test_load_lookups(plugins: None) -> None:
    assert load_plugin_type("compat_mail", "any.module")["interface"] is MailType
    assert load_plugin_item("smtp", "m", "compat_mail", "t")["plugin_class"] is Smtp
    with pytest.raises(KeyError):
        load_plugin_item("nope", "m", "compat_mail", "t")


def test_compat_adds_no_models_and_no_migrations(db: None) -> None:
    from django.apps import apps
    from django.core.management import call_command

    import wagtail_plugin_system.compat.importer  # noqa: F401 - its read-only models too

    models = list(apps.get_app_config("wagtail_plugin_system").get_models())
    # Every model of the app is one of ours, with its migration; compat's proxies and the
    # importer's read-only models are not among them.
    assert {model.__module__.rpartition(".")[0] for model in models} == {
        "wagtail_plugin_system.models"
    }
    assert {"PluginInstance", "PluginImportRecord"} <= {model.__name__ for model in models}
    # Exits with status 1 when our app's models differ from its migrations.
    call_command("makemigrations", "wagtail_plugin_system", "--check", "--dry-run", verbosity=0)


def test_importing_compat_changes_none_of_our_classes() -> None:
    from wagtail_plugin_system import models as ours
    from wagtail_plugin_system.compat import models as compat_models
    from wagtail_plugin_system.core.contracts import PluginConfiguration as OurConfiguration

    for name in ("manager", "get_single_plugin", "get_plugin_by_id", "get_plugin_type_by_info"):
        assert not hasattr(ours.PluginType, name)
    for name in ("configurable", "module", "load_class", "load_plugin_class", "load_instance"):
        assert not hasattr(ours.PluginItem, name)
    for name in ("load_implementation", "get_plugin_class", "get_available_plugins"):
        assert not hasattr(ours.PluginInstance, name)
    assert ours.PluginItem.__dict__.get("priority") is None
    assert "clean_config" not in OurConfiguration.__dict__ or not hasattr(
        OurConfiguration.__dict__["clean_config"], "on_object"
    )
    # The compat names are proxies of ours: same tables, and rows compare equal.
    for proxy, model in (
        (compat_models.PluginType, ours.PluginType),
        (compat_models.PluginItem, ours.PluginItem),
        (compat_models.PluginInstance, ours.PluginInstance),
    ):
        assert proxy._meta.proxy
        assert proxy._meta.concrete_model is model


def test_one_missing_method_check_ours_raises_the_compatible_error() -> None:
    from wagtail_plugin_system import BasePluginItem as OurItem

    with pytest.raises(MissingPluginMethodError, match="does not implement send"):

        class Broken(OurItem):
            name = "broken_ours"
            plugin_type = MailType


def test_an_instance_made_without_a_priority_ranks_as_in_django_plugin_system(
    plugins: None,
) -> None:
    from wagtail_plugin_system import models as ours

    sync_registered_plugins_to_db(prune=False)
    item = PluginItem.objects.get(name="smtp")
    ours.PluginInstance.objects.create(item=item, name="ours")  # our model's default: 100
    made = PluginInstance.objects.create(item=item, name="compat")
    made.config = {"host": "b"}
    made.save()
    assert PluginInstance.objects.get(pk=made.pk).priority == 0
    assert ours.PluginInstance.objects.get(name="ours").priority == 100
    # Before "ours" (100); tied with the default "log" instance (0), made earlier.
    assert [row.name for row in helpers.get_active_plugins("compat_mail")] == [
        "log",
        "compat",
        "ours",
    ]
    read = PluginInstance.objects.get(pk=made.pk)  # a row read back keeps its priority
    read.priority = 5
    read.save()
    assert PluginInstance.objects.get(pk=made.pk).priority == 5


@pytest.mark.django_db(transaction=True)
def test_writes_through_the_proxies_invalidate_the_memo(plugins: None) -> None:
    from django.conf import settings
    from django.test import override_settings

    from wagtail_plugin_system import cache as plugin_cache
    from wagtail_plugin_system import get_plugin_instance

    sync_registered_plugins_to_db(prune=False)
    with override_settings(
        WAGTAIL_PLUGIN_SYSTEM={**settings.WAGTAIL_PLUGIN_SYSTEM, "VERSION_STORE": "cache"}
    ):
        plugin_cache.clear()
        first = get_plugin_instance(MailType)
        assert first is not None
        assert first.send("x") == "log:x"
        item = PluginItem.objects.get(name="smtp")
        made = PluginInstance(item=item, name="smtp", priority=-1)
        made.config = {"host": "mail"}
        made.save()  # signalled with the proxy as sender
        chosen = get_plugin_instance(MailType)
        assert chosen is not None
        assert chosen.send("x") == "mail:x"
        PluginInstance.objects.get(pk=made.pk).delete()
        again = get_plugin_instance(MailType)
        assert again is not None
        assert again.send("x") == "log:x"
    plugin_cache.clear()


class VaultForm(forms.Form):
    url = forms.CharField()
    api_key = forms.CharField()
    password = forms.CharField(widget=forms.PasswordInput(render_value=True))


class VaultConfiguration(PluginConfiguration):
    form_class = VaultForm
    secret_fields = ["api_key"]


class Vault(BasePluginItem):
    name = "vault"
    plugin_type = MailType
    configuration = VaultConfiguration

    def send(self, to: str) -> str:
        return "vault:" + to


STORED_SECRET = "compat_STORED_secret_4410"


@pytest.mark.parametrize("field", ["api_key", "password"])
@pytest.mark.parametrize("bound", [False, True])
def test_seed_configuration_form_renders_no_stored_secret(
    plugins: None, field: str, bound: bool
) -> None:
    registry.register_item(Vault)
    sync_registered_plugins_to_db(prune=False)
    config = {"url": "https://vault.example", "api_key": "k", "password": "p", field: STORED_SECRET}
    instance = PluginInstance.objects.create_instance(Vault, name="vault", config=config)
    item = PluginItem.objects.get(name="vault")
    configuration = VaultConfiguration(plugin_item=item, plugin_instance=instance)
    assert STORED_SECRET not in repr(configuration.get_initial())
    form = configuration.get_form(data={"url": "https://new.example"} if bound else None)
    html = str(form)
    assert "https://" in html  # the form is rendered, with what is not secret
    assert STORED_SECRET not in html
    assert form.initial["url"] == "https://vault.example"
    assert field not in form.initial


@pytest.mark.parametrize("raw", ["²", "٣", "1e3", "-1", " ", None, [1], {}, 1.0, True, str(2**63)])
def test_get_plugin_by_id_finds_nothing_for_a_malformed_id(plugins: None, raw: Any) -> None:
    sync_registered_plugins_to_db(prune=False)
    kind = PluginType.objects.get(name="compat_mail")
    assert kind.get_plugin_by_id(raw) is None


def test_get_plugin_by_id_finds_its_types_instances_only(plugins: None) -> None:
    sync_registered_plugins_to_db(prune=False)
    kind = PluginType.objects.get(name="compat_mail")
    default = PluginInstance.objects.get(item__name="log")
    assert kind.get_plugin_by_id(f" {default.pk} ") == default
    registry.register_item(Vault)
    other_kind = PluginType.objects.create(name="compat_other")
    assert other_kind.get_plugin_by_id(default.pk) is None
