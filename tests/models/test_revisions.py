"""Revisions of PluginInstance: what they store, what restoring keeps, what selection reads."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from wagtail.models import Revision

from tests.testapp.factories import STRIPE_CONFIG
from tests.testapp.plugins import PaymentGatewayType, StripeGateway
from wagtail_plugin_system import cache, get_plugin_instance
from wagtail_plugin_system.fields import Ciphertext, decrypt_text
from wagtail_plugin_system.models import PluginInstance
from wagtail_plugin_system.sync import sync_plugins

ROOT = Path(__file__).resolve().parent.parent.parent
SECRET = STRIPE_CONFIG["secret_key"]
NEW_SECRET = "sk_live_SCHEDULED_SECRET_0e4b19"


@pytest.mark.django_db
def test_revision_content_holds_the_token_never_the_value(make_instance: Any) -> None:
    instance = make_instance(StripeGateway, "Stripe", config=STRIPE_CONFIG)
    instance.config = {**STRIPE_CONFIG, "secret_key": NEW_SECRET}  # decrypted, edited
    revision = instance.save_revision()
    stored = Revision.objects.get(pk=revision.pk).content
    assert isinstance(stored["config"], str)
    assert json.loads(decrypt_text(stored["config"]))["secret_key"] == NEW_SECRET
    assert NEW_SECRET not in json.dumps(stored)
    assert SECRET not in json.dumps(stored)
    # Restoring reads it lazily: nothing is decrypted until the configuration is used.
    restored = revision.as_object()
    assert isinstance(restored.__dict__["config"], Ciphertext)
    assert restored.config["secret_key"] == NEW_SECRET


@pytest.mark.django_db
def test_restoring_keeps_what_belongs_to_the_row(make_instance: Any) -> None:
    instance = make_instance(StripeGateway, "Stripe", config=STRIPE_CONFIG)
    revision = instance.save_live_revision()
    checked_at = timezone.now()
    PluginInstance.objects.filter(pk=instance.pk).update(
        last_check_at=checked_at, last_check_ok=False, last_check_message="Refused", name="New"
    )
    live = PluginInstance.objects.get(pk=instance.pk)
    restored = live.with_content_json(revision.content)
    assert restored.name == "Stripe"  # the revision's
    assert restored.last_check_ok is False  # the row's: a test result is not content
    assert restored.last_check_message == "Refused"
    assert restored.created_at == live.created_at


@pytest.mark.django_db
def test_existing_and_synced_instances_are_live(make_instance: Any) -> None:
    instance = make_instance(StripeGateway, "Stripe", config=STRIPE_CONFIG)
    assert instance.live
    assert PluginInstance.objects.filter(is_default=True).exists()
    assert not PluginInstance.objects.filter(live=False).exists()


@pytest.mark.django_db
def test_selection_and_lookups_ignore_instances_that_are_not_live(make_instance: Any) -> None:
    from wagtail_plugin_system import get_plugin_instance_by_id

    instance = make_instance(StripeGateway, "Stripe", config=STRIPE_CONFIG, priority=0)
    selected = get_plugin_instance(PaymentGatewayType)
    assert selected is not None
    assert selected.plugin_instance.pk == instance.pk
    instance.unpublish()
    selected = get_plugin_instance(PaymentGatewayType)
    assert selected is not None
    assert selected.plugin_instance.pk != instance.pk
    assert get_plugin_instance_by_id(PaymentGatewayType, instance.pk) is None


PUBLISH_IN_ANOTHER_PROCESS = """
import django
django.setup()
from django.core.management import call_command
call_command("publish_scheduled")
print("published")
"""


@pytest.mark.django_db(transaction=True)
def test_a_scheduled_change_reaches_a_process_that_memoised_the_old_one(
    plugin_registry: Any,
) -> None:
    """``publish_scheduled`` run by cron in another process; this one switches at its next scope."""
    sync_plugins()
    instance = PluginInstance.objects.create_instance(
        StripeGateway, name="Stripe", config=STRIPE_CONFIG, priority=0
    )
    instance.save_live_revision()
    with cache.version_scope():
        assert get_plugin_instance(PaymentGatewayType).config["secret_key"] == SECRET

    # A draft with new credentials, approved to go live a minute ago.
    draft = PluginInstance.objects.get(pk=instance.pk)
    draft.config = {**STRIPE_CONFIG, "secret_key": NEW_SECRET}
    draft.go_live_at = timezone.now() - datetime.timedelta(minutes=1)
    revision = draft.save_revision()
    revision.approved_go_live_at = draft.go_live_at
    revision.save(update_fields=["approved_go_live_at"])

    with cache.version_scope():
        # Memoised: no query, and still the old credentials.
        from django.test.utils import CaptureQueriesContext

        get_plugin_instance(PaymentGatewayType)
        with CaptureQueriesContext(connection) as queries:
            item = get_plugin_instance(PaymentGatewayType)
        assert len(queries) == 0
        assert item.config["secret_key"] == SECRET

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    env.pop("WPS_TEST_CACHE_DIR", None)
    env.pop("WPS_TEST_REDIS_URL", None)
    if connection.vendor == "sqlite":
        env["WPS_SQLITE_NAME"] = connection.settings_dict["NAME"]
    else:
        env["PGDATABASE"] = connection.settings_dict["NAME"]
    result = subprocess.run(
        [sys.executable, "-c", PUBLISH_IN_ANOTHER_PROCESS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("published")

    with cache.version_scope():
        assert get_plugin_instance(PaymentGatewayType).config["secret_key"] == NEW_SECRET
    assert PluginInstance.objects.get(pk=instance.pk).live_revision_id == revision.pk


def test_instances_are_not_exposed_through_wagtails_api() -> None:
    """Wagtail 8's API serves snippets and their revisions only for the models registered
    with it; plugin instances are not (Wagtail 7.4 has no such API)."""
    import wagtail

    try:
        from wagtail.api.v3.registry import registry as api_registry
    except ImportError:
        assert wagtail.VERSION < (8, 0)
        return
    assert not api_registry.has(PluginInstance._meta.label)
