"""Prune deletes only what nobody relies on, by the keys it planned, checked again under lock."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import close_old_connections, connection
from django.test import Client
from wagtail.log_actions import log
from wagtail.models import Site

from tests.testapp.models import PluginPage
from tests.testapp.plugins import BankTransferGateway
from wagtail_plugin_system.core.registry import PluginRegistry
from wagtail_plugin_system.health import run_health_check
from wagtail_plugin_system.models import (
    PluginInstance,
    PluginItem,
    PluginSiteChoice,
    PluginSiteSettings,
)
from wagtail_plugin_system.sync import Action, database, sync_plugins

pytestmark = pytest.mark.django_db

NAME = "payment_gateway/bank_transfer"


def bank_default() -> PluginInstance:
    instance: PluginInstance = PluginInstance.objects.get(item__name="bank_transfer")
    assert instance.is_default
    return instance


def choose_on_the_default_site(instance: PluginInstance) -> PluginSiteChoice:
    setting = PluginSiteSettings.for_site(Site.objects.get(is_default_site=True))
    choice: PluginSiteChoice = PluginSiteChoice.objects.create(
        setting=setting, plugin_type=instance.item.plugin_type, instance=instance
    )
    return choice


def page_with_a_gateway_block(instance: PluginInstance) -> PluginPage:
    root = Site.objects.get(is_default_site=True).root_page
    page = PluginPage(title="Checkout", slug="checkout", body=[("gateway_card", instance)])
    root.add_child(instance=page)
    page.save_revision().publish()
    return page


def prune_without_bank_transfer(plugin_registry: PluginRegistry) -> Any:
    plugin_registry.unregister_item(BankTransferGateway)
    sync_plugins()
    return sync_plugins(prune=True)


def kept_detail(report: Any) -> str:
    kept = [
        a for a in report.actions if (a.action, a.kind, a.name) == ("keep_missing", "item", NAME)
    ]
    assert len(kept) == 1, report.actions
    return str(kept[0].detail)


def test_an_unused_untouched_default_instance_is_deleted(
    synced: Any, plugin_registry: PluginRegistry
) -> None:
    default = bank_default()
    report = prune_without_bank_transfer(plugin_registry)
    assert (Action.DELETE, "instance", NAME) in [(a.action, a.kind, a.name) for a in report.actions]
    assert not PluginInstance.objects.filter(pk=default.pk).exists()
    assert not PluginItem.objects.filter(name="bank_transfer").exists()


@pytest.mark.parametrize(
    ("use", "reason"),
    [
        (lambda instance: run_health_check(instance), "tested"),
        (choose_on_the_default_site, "Plugin choice"),
        (page_with_a_gateway_block, "referenced by content"),
        (lambda instance: log(instance, "wagtail.edit"), "history beyond its creation"),
    ],
    ids=["tested", "chosen-for-a-site", "in-a-page", "edited-history"],
)
def test_a_default_instance_that_something_uses_is_kept(
    synced: Any, plugin_registry: PluginRegistry, use: Any, reason: str
) -> None:
    default = bank_default()
    use(default)
    report = prune_without_bank_transfer(plugin_registry)
    assert reason in kept_detail(report)
    assert PluginInstance.objects.filter(pk=default.pk).exists()
    assert PluginItem.objects.get(name="bank_transfer").is_missing
    assert "delete" not in {str(a.action) for a in report.actions if a.name == NAME}


def test_code_removed_synced_pruned_and_restored_keeps_everything(
    synced: Any, plugin_registry: PluginRegistry
) -> None:
    """The default instance: tested, chosen in Settings > Plugins, used in a page block."""
    default = bank_default()
    run_health_check(default)
    choice = choose_on_the_default_site(default)
    page = page_with_a_gateway_block(default)

    report = prune_without_bank_transfer(plugin_registry)
    detail = kept_detail(report)
    assert "Plugin choice" in detail
    assert "referenced by content" in detail
    assert "history beyond its creation" in detail  # the health check's entry
    assert '"keep_missing"' in report.to_json()

    plugin_registry.register_item(BankTransferGateway, priority=50)
    sync_plugins()  # revives the implementation
    assert not PluginItem.objects.get(name="bank_transfer").is_missing
    assert PluginInstance.objects.filter(pk=default.pk).exists()  # the same id
    assert PluginSiteChoice.objects.filter(pk=choice.pk, instance_id=default.pk).exists()
    html = Client().get(page.url).content.decode()
    assert f'<div class="gateway-card">{default.name}:bank_transfer</div>' in html


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_an_edit_between_plan_and_delete_is_kept(
    plugin_registry: PluginRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An editor saves the default instance after prune planned to delete it."""
    sync_plugins()
    default = bank_default()
    plugin_registry.unregister_item(BankTransferGateway)
    sync_plugins()

    planned = threading.Event()
    edited = threading.Event()
    read_snapshot = database.read_snapshot

    def read_then_wait(using: str, *, prune: bool) -> Any:
        snapshot = read_snapshot(using, prune=prune)
        planned.set()
        assert edited.wait(30), "the editor never saved"
        return snapshot

    def editor() -> None:
        try:
            assert planned.wait(30)
            instance = PluginInstance.objects.get(pk=default.pk)
            instance.name = "Bank transfer (kept by an editor)"
            instance.save()
        finally:
            edited.set()
            close_old_connections()

    monkeypatch.setattr(database, "read_snapshot", read_then_wait)
    import wagtail_plugin_system.sync as sync_module

    monkeypatch.setattr(sync_module, "read_snapshot", read_then_wait)
    thread = threading.Thread(target=editor)
    thread.start()
    report = sync_plugins(prune=True)
    thread.join(30)
    assert connection.vendor == "postgresql"
    assert PluginInstance.objects.get(pk=default.pk).name == "Bank transfer (kept by an editor)"
    assert PluginItem.objects.filter(name="bank_transfer").exists()
    kept = [a for a in report.actions if a.action == "keep_missing" and a.kind == "instance"]
    assert kept
    assert "while the sync ran" in kept[0].detail
