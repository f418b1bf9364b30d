"""The audit log: history labels, entries written by pluginsync, and by the admin's views."""

from __future__ import annotations

import json
from abc import abstractmethod
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from wagtail.log_actions import log
from wagtail.models import ModelLogEntry
from wagtail.test.utils import WagtailTestUtils

from tests.testapp.factories import STRIPE_CONFIG
from tests.testapp.plugins import (
    BankTransferGateway,
    EchoSender,
    SmsSenderType,
    StripeGateway,
)
from wagtail_plugin_system import BasePluginItem, BasePluginType
from wagtail_plugin_system.audit import (
    ACTIVATE,
    CHECK_LOG_ACTION,
    DISABLE,
    RESERVE,
    SET_PRIORITY,
    SYNC_LOG_ACTION,
)
from wagtail_plugin_system.core.registry import PluginRegistry
from wagtail_plugin_system.models import PluginInstance, PluginItem, PluginType
from wagtail_plugin_system.sync import sync_plugins

pytestmark = pytest.mark.django_db

UTILS = WagtailTestUtils()
SECRETS = (STRIPE_CONFIG["secret_key"], STRIPE_CONFIG["webhook_secret"])
MODELS = (PluginType, PluginItem, PluginInstance)


def instance_url(name: str, *args: object) -> str:
    return reverse(PluginInstance.snippet_viewset.get_url_name(name), args=args)  # type: ignore[attr-defined]


def page_text(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return " ".join(UTILS.get_soup(response.content).get_text(" ", strip=True).split())


def entries_for(row: Any, action: str | None = None) -> list[ModelLogEntry]:
    queryset = ModelLogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(type(row)), object_id=str(row.pk)
    )
    if action is not None:
        queryset = queryset.filter(action=action)
    return list(queryset.order_by("pk"))


def sync_entries() -> list[tuple[str, str, str, bool]]:
    """(model, object id, sync action, deleted) of every sync entry, oldest first."""
    return [
        (entry.content_type.model, entry.object_id, entry.data["action"], entry.deleted)
        for entry in ModelLogEntry.objects.filter(action=SYNC_LOG_ACTION)
        .select_related("content_type")
        .order_by("pk")
    ]


@pytest.fixture
def stripe(make_instance: Any) -> PluginInstance:
    instance: PluginInstance = make_instance(StripeGateway, "Stripe live", config=STRIPE_CONFIG)
    return instance


# -- history labels -----------------------------------------------------------------------

EXPECTED_MESSAGES = [
    "Plugin instance disabled",
    "Plugin instance activated",
    "Plugin instance reserved",
    "Plugin instance priority changed from 100 to 7",
    "Plugin instance tested: the check passed",
    "Plugin instance tested: the check failed",
]


def _log_every_action(
    client: Client, admin_user: Any, instance: PluginInstance, plugin_registry: PluginRegistry
) -> None:
    """Status and priority entries as the bulk actions write them, checks through the admin_user."""
    log(instance, DISABLE, user=admin_user, data={"previous": "active"})
    log(instance, ACTIVATE, user=admin_user, data={"previous": "disabled"})
    log(instance, RESERVE, user=admin_user, data={"previous": "active"})
    log(instance, SET_PRIORITY, user=admin_user, data={"previous": 100, "priority": 7})
    assert client.post(instance_url("check", instance.pk), {}).status_code == 302
    item_class = instance.get_item_class()
    assert item_class is not None
    plugin_registry.unregister_item(item_class)  # the next check cannot load the instance
    assert client.post(instance_url("check", instance.pk), {}).status_code == 302
    plugin_registry.register_item(item_class)
    checks = [entry.data for entry in entries_for(instance, CHECK_LOG_ACTION)]
    assert checks == [{"ok": True}, {"ok": False}]


def test_instance_history_shows_the_custom_messages(
    admin_client: Client, admin_user: Any, synced: Any, plugin_registry: PluginRegistry
) -> None:
    bank = PluginInstance.objects.get(item__name="bank_transfer")
    _log_every_action(admin_client, admin_user, bank, plugin_registry)

    text = page_text(admin_client.get(instance_url("history", bank.pk)))
    for message in [*EXPECTED_MESSAGES, "Created by plugin sync"]:
        assert message in text, message
    results = page_text(admin_client.get(instance_url("history_results", bank.pk)))
    assert "Plugin instance tested: the check passed" in results
    assert "Plugin instance tested: the check failed" in results


def test_history_filters_offer_the_custom_actions(
    admin_client: Client, admin_user: Any, synced: Any, plugin_registry: PluginRegistry
) -> None:
    bank = PluginInstance.objects.get(item__name="bank_transfer")
    _log_every_action(admin_client, admin_user, bank, plugin_registry)
    response = admin_client.get(instance_url("history", bank.pk) + f"?action={DISABLE}")
    text = page_text(response)
    assert "Plugin instance disabled" in text
    assert "Plugin instance activated" not in text
    soup = UTILS.get_soup(response.content)
    offered = {box["value"] for box in soup.select('input[name="action"]')}
    assert {DISABLE, ACTIVATE, RESERVE, SET_PRIORITY, CHECK_LOG_ACTION} <= offered


def test_site_history_shows_the_custom_messages(
    admin_client: Client, admin_user: Any, synced: Any, plugin_registry: PluginRegistry
) -> None:
    bank = PluginInstance.objects.get(item__name="bank_transfer")
    _log_every_action(admin_client, admin_user, bank, plugin_registry)
    # Only the instance's entries: the registry rows' sync entries have a test of their own.
    ModelLogEntry.objects.exclude(
        content_type=ContentType.objects.get_for_model(PluginInstance)
    ).delete()

    for name in ("wagtailadmin_reports:site_history", "wagtailadmin_reports:site_history_results"):
        text = page_text(admin_client.get(reverse(name)))
        for message in [*EXPECTED_MESSAGES, "Created by plugin sync"]:
            assert message in text, (name, message)
        assert "Bank transfer" in text


def test_site_history_shows_sync_entries_of_types_and_implementations(
    admin_client: Client, synced: Any, plugin_registry: PluginRegistry
) -> None:
    plugin_registry.unregister_item(EchoSender)
    sync_plugins()
    assert ModelLogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(PluginItem)
    ).exists()
    admin_client.raise_request_exception = False

    for name in ("wagtailadmin_reports:site_history", "wagtailadmin_reports:site_history_results"):
        response = admin_client.get(reverse(name))
        assert response.status_code == 200, (name, response.status_code)
        text = page_text(response)
        assert "Created by plugin sync" in text
        assert "Code missing at plugin sync" in text
        assert "Payment gateway" in text


# -- pluginsync ---------------------------------------------------------------------------


def test_sync_logs_created_rows(db: None) -> None:
    report = sync_plugins()
    created = {
        (type(action.row)._meta.model_name, str(action.row.pk), "create", False)
        for action in report.actions
    }
    assert len(created) == 8  # 2 types, 4 items, 2 default instances
    assert sorted(sync_entries()) == sorted(created)
    stripe = PluginItem.objects.get(name="stripe")
    (entry,) = entries_for(stripe)
    assert entry.label == "Stripe"
    assert entry.user_id is None
    assert entry.data == {"action": "create", "name": "payment_gateway/stripe", "detail": ""}
    assert entry.content_changed
    assert not entry.deleted


def test_pluginsync_logs_missing_revived_and_pruned_rows(
    synced: Any, plugin_registry: PluginRegistry
) -> None:
    ModelLogEntry.objects.all().delete()
    echo = PluginItem.objects.get(name="echo")
    echo_default = PluginInstance.objects.get(item=echo)
    sms = PluginType.objects.get(name="sms_sender")
    bank = PluginItem.objects.get(name="bank_transfer")

    plugin_registry.unregister_item(EchoSender)
    plugin_registry.unregister_type(SmsSenderType)
    plugin_registry.unregister_item(BankTransferGateway)
    call_command("pluginsync", "--format", "json", stdout=_Sink())
    assert sorted(sync_entries()) == sorted(
        [
            ("pluginitem", str(echo.pk), "mark_missing", False),
            ("plugintype", str(sms.pk), "mark_missing", False),
            ("pluginitem", str(bank.pk), "mark_missing", False),
        ]
    )
    ModelLogEntry.objects.all().delete()

    plugin_registry.register_item(BankTransferGateway)
    call_command("pluginsync", "--prune", stdout=_Sink())
    assert sorted(sync_entries()) == sorted(
        [
            ("pluginitem", str(bank.pk), "revive", False),
            ("plugininstance", str(echo_default.pk), "delete", True),
            ("pluginitem", str(echo.pk), "delete", True),
            ("plugintype", str(sms.pk), "delete", True),
        ]
    )
    (deleted,) = entries_for(echo)
    assert deleted.label == "Echo"
    assert not deleted.content_changed
    assert not PluginItem.objects.filter(pk=echo.pk).exists()


def test_prune_logs_the_default_instances_it_deletes(
    synced: Any, plugin_registry: PluginRegistry
) -> None:
    echo_default = PluginInstance.objects.get(item__name="echo")
    assert entries_for(echo_default, SYNC_LOG_ACTION)  # "Created by plugin sync"
    plugin_registry.unregister_item(EchoSender)
    sync_plugins()
    sync_plugins(prune=True)
    assert not PluginInstance.objects.filter(pk=echo_default.pk).exists()
    deleted = [entry for entry in entries_for(echo_default) if entry.deleted]
    assert len(deleted) == 1, [entry.data for entry in entries_for(echo_default)]


def test_no_op_sync_and_dry_run_log_nothing(synced: Any, plugin_registry: PluginRegistry) -> None:
    count = ModelLogEntry.objects.count()
    assert count == 8
    assert not sync_plugins().changed
    call_command("pluginsync", stdout=_Sink())
    assert ModelLogEntry.objects.count() == count

    plugin_registry.unregister_item(StripeGateway)
    report = sync_plugins(dry_run=True)
    assert report.changed
    call_command("pluginsync", "--dry-run", stdout=_Sink())
    call_command("pluginsync", "--prune", "--dry-run", stdout=_Sink())
    assert ModelLogEntry.objects.count() == count
    assert not PluginItem.objects.get(name="stripe").is_missing


def test_sync_history_can_be_turned_off(db: None, plugin_registry: PluginRegistry) -> None:
    from django.conf import settings
    from django.test import override_settings

    with override_settings(
        WAGTAIL_PLUGIN_SYSTEM={**settings.WAGTAIL_PLUGIN_SYSTEM, "SYNC_HISTORY": False}
    ):
        report = sync_plugins()
        plugin_registry.unregister_item(StripeGateway)
        sync_plugins()
    assert report.changed
    assert PluginItem.objects.get(name="stripe").is_missing
    assert not ModelLogEntry.objects.filter(action=SYNC_LOG_ACTION).exists()
    # Back on (the default), the next change is logged.
    plugin_registry.register_item(StripeGateway)
    sync_plugins()
    revived = ModelLogEntry.objects.get(action=SYNC_LOG_ACTION)
    assert revived.data["action"] == "revive"


def test_sync_entries_never_hold_configuration(
    stripe: PluginInstance, plugin_registry: PluginRegistry
) -> None:
    plugin_registry.unregister_item(StripeGateway)
    sync_plugins()
    sync_plugins(prune=True)  # kept: an editor-made instance depends on it
    plugin_registry.register_item(StripeGateway)
    sync_plugins()
    actions = [entry.data["action"] for entry in entries_for(stripe.item)]
    assert actions == ["create", "mark_missing", "revive"]
    for entry in ModelLogEntry.objects.filter(action=SYNC_LOG_ACTION):
        assert set(entry.data) == {"action", "name", "detail"}
        stored = json.dumps(entry.data) + entry.label
        assert not any(value in stored for value in (*SECRETS, "pk_test_123"))
    assert PluginInstance.objects.get(pk=stripe.pk).config == STRIPE_CONFIG


def _register_many(registry: PluginRegistry, prefix: str, types: int, items: int) -> None:
    for t in range(types):
        type_class = type(
            f"{prefix.capitalize()}Type{t}",
            (BasePluginType,),
            {"name": f"{prefix}_type_{t}", "run": abstractmethod(lambda self: None)},
        )
        for i in range(items):
            registry.register_item(
                type(
                    f"{prefix.capitalize()}Item{t}_{i}",
                    (BasePluginItem,),
                    {"name": f"item_{i}", "plugin_type": type_class, "run": lambda self: None},
                )
            )


def _measure_sync() -> tuple[int, int, int]:
    """(queries, inserts into the log, entries written) of one sync."""
    for model in MODELS:  # warm the content type cache: its first lookups are not the sync's
        ContentType.objects.get_for_model(model)
    before = ModelLogEntry.objects.count()
    with CaptureQueriesContext(connection) as queries:
        report = sync_plugins()
    assert report.changed
    table = ModelLogEntry._meta.db_table
    inserts = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith("INSERT") and table in query["sql"]
    ]
    return len(queries), len(inserts), ModelLogEntry.objects.count() - before


def test_sync_logs_in_one_insert_whatever_the_number_of_rows(
    db: None, plugin_registry: PluginRegistry
) -> None:
    _register_many(plugin_registry, "small", types=1, items=2)
    small = _measure_sync()
    _register_many(plugin_registry, "large", types=6, items=5)
    large = _measure_sync()
    # A type, its items and their default instances (nothing to configure), each logged;
    # the first sync also creates the test app's 8 rows.
    assert small[2] == 8 + 1 + 2 + 2
    assert large[2] == 6 + 30 + 30
    assert small[1] == large[1] == 1
    assert small[0] == large[0]


class _Sink:
    """A stdout for management commands that keeps nothing."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        return None


# -- the admin's own create, edit and delete ----------------------------------------------


def test_admin_create_edit_and_delete_are_logged(
    admin_client: Client, admin_user: Any, synced: Any
) -> None:
    stripe_pk = PluginItem.objects.get(name="stripe").pk
    data = {"name": "Stripe new", "description": "", "status": "active", "priority": "100"}
    data.update({f"config-{key}": str(value) for key, value in STRIPE_CONFIG.items() if value})
    response = admin_client.post(instance_url("add_item", stripe_pk), data)
    assert response.status_code == 302
    instance = PluginInstance.objects.get(name="Stripe new")
    (created,) = entries_for(instance, "wagtail.create")
    assert (created.user_id, created.label) == (admin_user.pk, "Stripe new")

    data.update({"name": "Stripe renamed", "config-secret_key": "", "config-webhook_secret": ""})
    response = admin_client.post(instance_url("edit", instance.pk), data)
    assert response.status_code == 302
    (edited,) = entries_for(instance, "wagtail.edit")
    assert (edited.user_id, edited.label) == (admin_user.pk, "Stripe renamed")
    assert PluginInstance.objects.get(pk=instance.pk).config == STRIPE_CONFIG

    text = page_text(admin_client.get(instance_url("history", instance.pk)))
    assert "Created" in text
    assert "Edited" in text

    response = admin_client.post(instance_url("delete", instance.pk), {})
    assert response.status_code == 302
    assert not PluginInstance.objects.filter(pk=instance.pk).exists()
    (deleted,) = entries_for(instance, "wagtail.delete")
    assert (deleted.user_id, deleted.label) == (admin_user.pk, "Stripe renamed")

    for entry in entries_for(instance):
        stored = json.dumps(entry.data) + entry.label
        assert not any(value in stored for value in (*SECRETS, "pk_test_123"))
