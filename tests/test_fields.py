"""Tests for wagtail_plugin_system.fields: the encrypted JSON field."""

from __future__ import annotations

import datetime
import decimal
import io
import json
import logging
import pickle
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

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
    # Quoted as the JSON holds them: a Fernet token (URL-safe base64) has no quote, so a short
    # value such as "EUR" cannot turn up in it by chance (it did, once in a few thousand).
    for needle in (SECRET, '"secret_key"', '"publishable_key"', '"pk_test_123"', '"EUR"'):
        assert needle not in stored
    assert '"' not in stored
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


# -- faults: what decrypts but is not JSON, keys that are malformed at run time -------------


def test_text_that_is_not_json_raises_a_clear_error_and_is_kept(make_instance: Any) -> None:
    from encrypted_model_fields.fields import encrypt_str

    from wagtail_plugin_system.core.exceptions import ConfigFormatError

    instance = make_instance(BankTransferGateway)
    token = encrypt_str("merchant=abc123; not json").decode()  # as EncryptedTextField writes
    PluginInstance.objects.filter(pk=instance.pk).update(config=Ciphertext(token))
    row = PluginInstance.objects.get(pk=instance.pk)
    with pytest.raises(ConfigFormatError) as info:
        row.config  # noqa: B018
    assert "is not JSON text" in str(info.value)
    assert "abc123" not in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__
    row.name = "renamed"
    row.save()
    assert raw_config(instance.pk) == token


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (None, "FIELD_ENCRYPTION_KEY is not set"),
        ([], "is an empty list"),
        ("not-a-key", "FIELD_ENCRYPTION_KEY is not a valid Fernet key"),
        (["bad", "worse"], "Key number 1 of FIELD_ENCRYPTION_KEY is not a valid"),
        (12345, "must be a key string or a list"),
    ],
)
def test_a_malformed_key_makes_reading_fail_like_a_wrong_key(
    make_instance: Any, value: object, problem: str
) -> None:
    from wagtail_plugin_system.fields import key_setting_problem, writing_problem

    instance = make_instance(StripeGateway, config=STRIPE_CONFIG)
    with override_settings(FIELD_ENCRYPTION_KEY=value):
        row = PluginInstance.objects.get(pk=instance.pk)
        with pytest.raises(ConfigDecryptionError) as info:
            row.config  # noqa: B018
        assert problem in str(info.value)
        assert "Fix the setting" in str(info.value)
        assert not row.has_readable_config
        assert isinstance(row.get_config_error(), ConfigDecryptionError)
        assert key_setting_problem() is not None
        assert writing_problem() is not None


def test_one_malformed_key_in_a_list_leaves_the_others_working(make_instance: Any) -> None:
    from wagtail_plugin_system.fields import key_setting_problem, writing_problem

    instance = make_instance(StripeGateway, config=STRIPE_CONFIG)
    with override_settings(FIELD_ENCRYPTION_KEY=[NEW_KEY, "bad-old-key"]):
        row = PluginInstance.objects.get(pk=instance.pk)
        assert row.config == STRIPE_CONFIG
        assert "Key number 2 of FIELD_ENCRYPTION_KEY" in (key_setting_problem() or "")
        assert writing_problem() is None  # the first key encrypts
        row.config = {**STRIPE_CONFIG, "retries": 4}
        row.save()
    with override_settings(FIELD_ENCRYPTION_KEY=["bad-new-key", NEW_KEY]):
        row = PluginInstance.objects.get(pk=instance.pk)
        assert row.config["retries"] == 4  # still readable
        assert writing_problem() is not None
        with pytest.raises(ImproperlyConfigured):
            encrypt_text("x")


# -- templates ----------------------------------------------------------------------------


def test_templates_never_print_a_secret_of_a_row(make_instance: Any) -> None:
    from django.template import Context, Template

    instance = make_instance(StripeGateway, config=STRIPE_CONFIG)
    row = PluginInstance.objects.get(pk=instance.pk)
    rendered = Template(
        "{{ row.config }}|{{ row.config.secret_key }}|{{ row.config.webhook_secret }}|"
        "{{ row.config.publishable_key }}|{% for k, v in row.config.items %}{{ v }},{% endfor %}|"
        "{{ row.item.instances.all.0.config.secret_key }}"
    ).render(Context({"row": row}))
    assert SECRET not in rendered
    assert STRIPE_CONFIG["webhook_secret"] not in rendered
    assert "pk_test_123" in rendered  # what is not secret still shows
    assert row.config["secret_key"] == SECRET  # code reads it as before


def test_stored_json_repr_and_str_hide_the_values(make_instance: Any) -> None:
    instance = make_instance(StripeGateway, config=STRIPE_CONFIG)
    row = PluginInstance.objects.get(pk=instance.pk)
    logged = logging.LogRecord("x", logging.INFO, "", 0, "%s %r", (row.config, row.config), None)
    for shown in (repr(row.config), str(row.config), f"{row.config}", logged.getMessage()):
        for value in STRIPE_CONFIG.values():
            if isinstance(value, str):
                assert value not in shown
        assert "'secret_key': '***'" in shown
    # Inside other containers too, as a debug page or an error report shows locals.
    assert SECRET not in repr({"config": row.config, "rows": [row.config]})


def test_stored_json_copies_and_pickles_as_a_plain_dict(make_instance: Any) -> None:
    import copy

    instance = make_instance(StripeGateway, config=STRIPE_CONFIG)
    row = PluginInstance.objects.get(pk=instance.pk)
    for copied in (copy.copy(row.config), copy.deepcopy(row.config), dict(row.config)):
        assert type(copied) is dict
        assert copied == STRIPE_CONFIG
    assert type(pickle.loads(pickle.dumps(row.config))) is dict


# -- properties ---------------------------------------------------------------------------


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=10), children, max_size=6)
    ),
    max_leaves=40,
)


@hypothesis_settings(deadline=None)
@given(JSON_VALUES)
def test_any_json_value_round_trips_through_the_field(value: Any) -> None:
    field = PluginInstance._meta.get_field("config")
    token = field.get_prep_value(value)  # type: ignore[attr-defined]
    if value is None:
        assert token is None  # SQL NULL
        return
    assert token.startswith("gAAAAA")
    assert field.decrypt(Ciphertext(token)) == value  # type: ignore[attr-defined]


@hypothesis_settings(deadline=None, max_examples=50)
@given(st.text(max_size=200))
def test_any_decrypted_text_reads_as_json_or_raises_the_format_error(text: str) -> None:
    from wagtail_plugin_system.core.exceptions import ConfigFormatError

    field = PluginInstance._meta.get_field("config")
    token = encrypt_text(text)
    try:
        expected = json.loads(text)
    except ValueError:
        with pytest.raises(ConfigFormatError):
            field.decrypt(Ciphertext(token))  # type: ignore[attr-defined]
    else:
        assert field.decrypt(Ciphertext(token)) == expected  # type: ignore[attr-defined]
