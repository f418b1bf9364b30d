"""Tests for the pluginrotatekeys management command."""

from __future__ import annotations

import io
from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from tests.testapp.factories import STRIPE_CONFIG
from tests.testapp.plugins import StripeGateway
from wagtail_plugin_system.models import PluginInstance

pytestmark = pytest.mark.django_db

NEW_KEY = settings.FIELD_ENCRYPTION_KEY
OLD_KEY = settings.OLD_TEST_KEY
THIRD_KEY = Fernet.generate_key().decode()


def stored_tokens() -> dict[int, str]:
    table = PluginInstance._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, config FROM {table} ORDER BY id")
        return dict(cursor.fetchall())


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("pluginrotatekeys", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def on_old_key(make_instance: Any) -> list[PluginInstance]:
    """Three configured instances (plus the sync's two defaults) encrypted with the old key."""
    with override_settings(FIELD_ENCRYPTION_KEY=OLD_KEY):
        instances = [
            make_instance(StripeGateway, f"Stripe {n}", config=STRIPE_CONFIG) for n in range(3)
        ]
        PluginInstance.objects.filter(is_default=True).update(config={})
    return instances


def test_rotation_reencrypts_with_the_first_key(on_old_key: list[PluginInstance]) -> None:
    before = stored_tokens()
    with override_settings(FIELD_ENCRYPTION_KEY=[NEW_KEY, OLD_KEY]):
        dry = run("--dry-run")
        assert "5 configuration(s) checked: 5 would be re-encrypted, 0 already" in dry
        assert stored_tokens() == before

        output = run("--batch-size", "2")
        assert "5 configuration(s) checked: 5 re-encrypted, 0 already on the first key" in output
        assert STRIPE_CONFIG["secret_key"] not in output

        # Running again finds nothing left to do.
        assert "0 re-encrypted, 5 already on the first key, 0 undecryptable" in run()

    for token in stored_tokens().values():
        Fernet(NEW_KEY).decrypt(token.encode())
        with pytest.raises(InvalidToken):
            Fernet(OLD_KEY).decrypt(token.encode())
    # The old key can go now.
    with override_settings(FIELD_ENCRYPTION_KEY=NEW_KEY):
        assert PluginInstance.objects.get(pk=on_old_key[0].pk).config == STRIPE_CONFIG


def test_rotation_resumes_after_an_interruption(on_old_key: list[PluginInstance]) -> None:
    with override_settings(FIELD_ENCRYPTION_KEY=[NEW_KEY, OLD_KEY]):
        # As if a first run was stopped after one row: that row is on the new key already.
        first = PluginInstance.objects.get(pk=on_old_key[0].pk)
        first.config = dict(first.config)
        first.save()
        output = run()
    assert "5 configuration(s) checked: 4 re-encrypted, 1 already on the first key" in output


def test_rotation_does_not_touch_updated_at(on_old_key: list[PluginInstance]) -> None:
    before = {i.pk: i.updated_at for i in PluginInstance.objects.all()}
    with override_settings(FIELD_ENCRYPTION_KEY=[NEW_KEY, OLD_KEY]):
        run()
    assert before == {i.pk: i.updated_at for i in PluginInstance.objects.all()}


def test_undecryptable_rows_are_listed_kept_and_fail_the_command(
    on_old_key: list[PluginInstance],
) -> None:
    before = stored_tokens()
    with (
        override_settings(FIELD_ENCRYPTION_KEY=[THIRD_KEY, NEW_KEY]),
        pytest.raises(CommandError) as info,
    ):
        run()
    assert info.value.returncode == 1
    ids = ", ".join(str(pk) for pk in sorted(before))
    assert f"instance(s) {ids}" in str(info.value)
    assert "FIELD_ENCRYPTION_KEY" in str(info.value)
    after = stored_tokens()
    assert after == before


def test_missing_key_is_a_command_error(db: None) -> None:
    with override_settings(FIELD_ENCRYPTION_KEY=None), pytest.raises(CommandError, match="not set"):
        run()


def test_bad_batch_size(db: None) -> None:
    with pytest.raises(CommandError, match="--batch-size must be a positive"):
        run("--batch-size", "0")


def revision_tokens() -> dict[int, str]:
    from wagtail.models import Revision

    return {
        revision.pk: revision.content["config"]
        for revision in Revision.objects.filter(base_content_type__model="plugininstance").order_by(
            "pk"
        )
    }


def test_rotation_reencrypts_revisions_and_resumes(on_old_key: list[PluginInstance]) -> None:
    from wagtail.models import Revision

    from wagtail_plugin_system.fields import rotate_token

    with override_settings(FIELD_ENCRYPTION_KEY=OLD_KEY):
        for instance in on_old_key:
            instance.save_live_revision()
        on_old_key[0].config = {**STRIPE_CONFIG, "secret_key": "sk_live_OLDER_ONE_55e1"}
        on_old_key[0].save()
        on_old_key[0].save_live_revision()
    first = Revision.objects.for_instance(on_old_key[0]).order_by("pk").first()
    assert first is not None
    with override_settings(FIELD_ENCRYPTION_KEY=[NEW_KEY, OLD_KEY]):
        assert "4 revision(s) checked: 4 would be re-encrypted" in run("--dry-run")
        # As if a first run was stopped after one revision: it is on the new key already.
        token = rotate_token(first.content["config"])
        assert token is not None
        Revision.objects.filter(pk=first.pk).update(content={**first.content, "config": token})
        output = run("--batch-size", "3")
        assert "4 revision(s) checked: 3 re-encrypted, 1 already on the first key" in output
        assert (
            "0 re-encrypted, 4 already on the first key, 0 undecryptable" in run().splitlines()[1]
        )
    for token in revision_tokens().values():
        Fernet(NEW_KEY).decrypt(token.encode())
        with pytest.raises(InvalidToken):
            Fernet(OLD_KEY).decrypt(token.encode())
    # With the old key gone, reverting to the oldest revision still restores its secret.
    with override_settings(FIELD_ENCRYPTION_KEY=NEW_KEY):
        restored = Revision.objects.get(pk=first.pk).as_object()
        assert restored.config == STRIPE_CONFIG


def test_an_undecryptable_revision_is_reported_and_kept(on_old_key: list[PluginInstance]) -> None:
    with override_settings(FIELD_ENCRYPTION_KEY=OLD_KEY):
        on_old_key[0].save_live_revision()
    before = revision_tokens()
    err = io.StringIO()
    with override_settings(FIELD_ENCRYPTION_KEY=[NEW_KEY, THIRD_KEY]), pytest.raises(CommandError):
        call_command("pluginrotatekeys", stdout=io.StringIO(), stderr=err)
    assert f"revision(s) {next(iter(before))} of plugin instances" in err.getvalue()
    assert revision_tokens() == before
