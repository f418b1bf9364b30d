"""Tests for wagtail_plugin_system.fields: the encrypted JSON field."""

from __future__ import annotations

import datetime
import decimal
import io
import json
import pickle
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from tests.testapp.factories import STRIPE_CONFIG
from tests.testapp.plugins import BankTransferGateway, StripeGateway
from wagtail_plugin_system.core.exceptions import ConfigDecryptionError, ConfigEncodingError
from wagtail_plugin_system.fields import Ciphertext, encrypt_text, get_crypter
from wagtail_plugin_system.models import PluginInstance

pytestmark = pytest.mark.django_db

OLD_KEY: str = settings.OLD_TEST_KEY
NEW_KEY: str = settings.FIELD_ENCRYPTION_KEY
SECRET = STRIPE_CONFIG["secret_key"]


def raw_config(pk: int) -> str:
    """The column as stored, read with SQL, bypassing the field."""
    table = PluginInstance._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT config FROM {table} WHERE id = %s", [pk])
        row = cursor.fetchone()
    assert row is not None
    return str(row[0])


def test_database_holds_only_ciphertext(make_instance: Any) -> None:
    instance = make_instance(StripeGateway, config=STRIPE_CONFIG)
    stored = raw_config(instance.pk)
    for needle in (SECRET, "secret_key", "publishable_key", "pk_test_123", "EUR"):
        assert needle not in stored
    plaintext = Fernet(NEW_KEY).decrypt(stored.encode()).decode()
    assert json.loads(plaintext)["secret_key"] == SECRET


def test_json_types_round_trip_exactly(make_instance: Any) -> None:
    value = {
        "flag": True,
        "off": False,
        "count": 5,
        "ratio": 1.5,
        "nothing": None,
        "text": "héllo ✓",
        "nested": {"list": [1, "two", {"three": 3.0}], "empty": {}},
    }
    instance = make_instance(BankTransferGateway, validate=False)
    instance.config = value
    instance.save()
    loaded = PluginInstance.objects.get(pk=instance.pk).config
    assert loaded == value
    assert loaded["flag"] is True
    assert type(loaded["count"]) is int
    assert type(loaded["nested"]["list"][2]["three"]) is float


def test_rows_load_without_decrypting(make_instance: Any) -> None:
    instance = make_instance(StripeGateway, config=STRIPE_CONFIG)
    loaded = PluginInstance.objects.get(pk=instance.pk)
    assert isinstance(loaded.__dict__["config"], Ciphertext)
    assert loaded.config["currency"] == "EUR"
    assert isinstance(loaded.__dict__["config"], dict)


def test_deferred_config_loads_on_access(make_instance: Any) -> None:
    instance = make_instance(StripeGateway, config=STRIPE_CONFIG)
    loaded = PluginInstance.objects.defer("config").get(pk=instance.pk)
    assert loaded.config["secret_key"] == SECRET


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"amount": decimal.Decimal("1.5")}, "['amount'] is a Decimal"),
        ({"when": datetime.date(2026, 1, 1)}, "['when'] is a date"),
        ({"tags": {"a", "b"}}, "['tags'] is a set"),
        ({"pair": (1, 2)}, "['pair'] is a tuple"),
        ({1: "x"}, "key of type int"),
        ({"deep": [{"x": object()}]}, "['deep'][0]['x'] is a object"),
    ],
)
def test_values_json_cannot_hold_exactly_are_refused(
    make_instance: Any, value: dict[Any, Any], where: str
) -> None:
    instance = make_instance(BankTransferGateway, validate=False)
    instance.config = value
    with pytest.raises(ConfigEncodingError) as info:
        instance.save()
    assert where in str(info.value)
    assert "clean_config" in str(info.value)


def test_old_keys_decrypt_first_key_encrypts(make_instance: Any) -> None:
    with override_settings(FIELD_ENCRYPTION_KEY=OLD_KEY):
        instance = make_instance(StripeGateway, config=STRIPE_CONFIG)
    old_token = raw_config(instance.pk)
    with override_settings(FIELD_ENCRYPTION_KEY=[NEW_KEY, OLD_KEY]):
        loaded = PluginInstance.objects.get(pk=instance.pk)
        assert loaded.config["secret_key"] == SECRET
        loaded.name = "renamed"
        loaded.save()
    # The config was decrypted, so saving re-encrypted it with the first key.
    Fernet(NEW_KEY).decrypt(raw_config(instance.pk).encode())
    assert raw_config(instance.pk) != old_token


def test_undecryptable_value_raises_clear_error_and_is_kept(make_instance: Any) -> None:
    with override_settings(FIELD_ENCRYPTION_KEY=OLD_KEY):
        instance = make_instance(StripeGateway, config=STRIPE_CONFIG)
    token = raw_config(instance.pk)

    loaded = PluginInstance.objects.get(pk=instance.pk)
    with pytest.raises(ConfigDecryptionError) as info:
        loaded.config  # noqa: B018
    message = str(info.value)
    assert "FIELD_ENCRYPTION_KEY" in message
    assert f"plugin instance {instance.pk}" in message
    assert token not in message
    assert token[:20] not in message
    assert not loaded.has_readable_config

    # Editing the metadata of such a row keeps the stored value byte for byte.
    loaded.name = "still here"
    loaded.status = "disabled"
    loaded.save()
    assert raw_config(instance.pk) == token
    # ... and after that failed read, too.
    with pytest.raises(ConfigDecryptionError):
        loaded.config  # noqa: B018
    loaded.save(update_fields=["name", "config"])
    assert raw_config(instance.pk) == token

    with override_settings(FIELD_ENCRYPTION_KEY=[NEW_KEY, OLD_KEY]):
        assert PluginInstance.objects.get(pk=instance.pk).config["secret_key"] == SECRET


def test_key_is_read_at_use_time() -> None:
    first = get_crypter()
    with override_settings(FIELD_ENCRYPTION_KEY=OLD_KEY):
        assert get_crypter() is not first
        token = encrypt_text("x")
    Fernet(OLD_KEY).decrypt(token.encode())
    assert get_crypter() is first


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "FIELD_ENCRYPTION_KEY is not set"),
        ("", "FIELD_ENCRYPTION_KEY is not set"),
        ([], "is an empty list"),
        ("not-a-key", "FIELD_ENCRYPTION_KEY is not a valid Fernet key"),
        ([NEW_KEY, "bad"], "Key number 2 of FIELD_ENCRYPTION_KEY is not a valid"),
        (12345, "must be a key string or a list"),
    ],
)
def test_missing_or_malformed_key(value: object, message: str) -> None:
    with override_settings(FIELD_ENCRYPTION_KEY=value), pytest.raises(ImproperlyConfigured) as info:
        get_crypter()
    assert message in str(info.value)
    assert "Fernet.generate_key()" in str(info.value)


def test_tokens_of_django_encrypted_model_fields_are_readable(make_instance: Any) -> None:
    from encrypted_model_fields.fields import encrypt_str

    instance = make_instance(BankTransferGateway)
    token = encrypt_str(json.dumps({"merchant_id": "abc123"})).decode()
    PluginInstance.objects.filter(pk=instance.pk).update(config=Ciphertext(token))
    assert PluginInstance.objects.get(pk=instance.pk).config == {"merchant_id": "abc123"}


def test_dumpdata_exports_ciphertext_and_loaddata_restores(
    make_instance: Any, tmp_path: Any
) -> None:
    instance = make_instance(StripeGateway, config=STRIPE_CONFIG)
    out = io.StringIO()
    call_command("dumpdata", "wagtail_plugin_system.plugininstance", stdout=out)
    dumped = out.getvalue()
    assert SECRET not in dumped
    assert "secret_key" not in dumped
    assert raw_config(instance.pk) in dumped

    fixture = tmp_path / "instances.json"
    fixture.write_text(dumped)
    PluginInstance.objects.all().delete()
    call_command("loaddata", str(fixture), verbosity=0)
    assert PluginInstance.objects.get(pk=instance.pk).config["secret_key"] == SECRET


def test_pickled_instances_hold_no_plaintext(make_instance: Any) -> None:
    instance = make_instance(StripeGateway, config=STRIPE_CONFIG)
    instance.refresh_from_db()
    assert instance.config["secret_key"] == SECRET  # decrypted in memory
    data = pickle.dumps(instance)
    assert SECRET.encode() not in data
    assert b"secret_key" not in data
    restored = pickle.loads(data)
    assert restored.config["secret_key"] == SECRET
    assert instance.config["secret_key"] == SECRET


def test_field_is_not_editable_in_model_forms() -> None:
    from django.forms import modelform_factory

    form_class = modelform_factory(PluginInstance, fields="__all__")
    assert "config" not in form_class.base_fields


def test_ciphertext_repr_hides_token() -> None:
    assert repr(Ciphertext("gAAAAAsecret")) == "<Ciphertext>"
