"""Tests for the limits of wagtail_plugin_system.fields: size and depth, read and written.

A stored value no parser should meet (written into the column by another
program) is unreadable like an undecryptable one: skipped, kept, never a
``RecursionError``. A value beyond the limits is refused when saved, with the
limit in the message.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import transaction
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.testapp.factories import STRIPE_CONFIG
from tests.testapp.plugins import BankTransferGateway, PaymentGatewayType, StripeGateway
from wagtail_plugin_system import get_plugin_instance
from wagtail_plugin_system.core.exceptions import ConfigEncodingError, ConfigFormatError
from wagtail_plugin_system.fields import (
    MAX_CONFIG_BYTES,
    MAX_CONFIG_DEPTH,
    Ciphertext,
    EncryptedJSONField,
    encrypt_text,
)
from wagtail_plugin_system.models import PluginInstance

pytestmark = pytest.mark.django_db

FIELD = PluginInstance._meta.get_field("config")
assert isinstance(FIELD, EncryptedJSONField)


def nested_lists(depth: int) -> str:
    """JSON text of lists nested ``depth`` deep, inside an object (which counts as 1)."""
    return '{"a":' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


def nested_objects(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def sized(size: int, filler: str = "x") -> str:
    """An object's compact JSON text of exactly ``size`` bytes of UTF-8."""
    count = (size - 8) // len(filler.encode())
    return '{"k":"' + filler * count + '"}'


BEYOND = {
    "lists 50,000 deep": "[" * 50_000 + "]" * 50_000,
    "objects 50,000 deep": nested_objects(50_000),
    "lists 50,000 deep in an object": nested_lists(50_000),
    "one level too deep": nested_lists(MAX_CONFIG_DEPTH + 1),
    "objects one level too deep": nested_objects(MAX_CONFIG_DEPTH + 1),
    "3 MB": json.dumps({"key": "x" * 3_000_000}),
    "one byte too large": sized(MAX_CONFIG_BYTES + 1),
    "just too large in UTF-8": sized(MAX_CONFIG_BYTES + 2, "é"),
}

WITHIN = {
    "lists at the limit": nested_lists(MAX_CONFIG_DEPTH),
    "objects at the limit": nested_objects(MAX_CONFIG_DEPTH),
    "exactly the largest": sized(MAX_CONFIG_BYTES),
}


def store(instance: PluginInstance, text: str) -> None:
    """Write ``text``, encrypted, into the column, as another program would."""
    PluginInstance.objects.filter(pk=instance.pk).update(config=Ciphertext(encrypt_text(text)))


def test_the_sizes_of_the_cases_are_what_they_say() -> None:
    assert len(BEYOND["one byte too large"].encode()) == MAX_CONFIG_BYTES + 1
    assert len(BEYOND["just too large in UTF-8"]) < MAX_CONFIG_BYTES
    assert len(BEYOND["just too large in UTF-8"].encode()) == MAX_CONFIG_BYTES + 2
    assert len(WITHIN["exactly the largest"].encode()) == MAX_CONFIG_BYTES
    assert FIELD.encode(json.loads(WITHIN["exactly the largest"])) == WITHIN["exactly the largest"]


@pytest.mark.parametrize("case", list(BEYOND))
def test_a_stored_value_beyond_the_limits_is_unreadable_and_kept(
    make_instance: Any, case: str
) -> None:
    instance = make_instance(StripeGateway, "Beyond", config=STRIPE_CONFIG, priority=1)
    store(instance, BEYOND[case])
    token = PluginInstance.objects.filter(pk=instance.pk).values_list("config", flat=True).get()
    row = PluginInstance.objects.get(pk=instance.pk)
    error = row.get_config_error()
    assert isinstance(error, ConfigFormatError)
    assert "larger than" in str(error) or "nested deeper than" in str(error)
    assert f"at most {MAX_CONFIG_BYTES} bytes" in str(error)
    assert "kept unchanged" in str(error)
    with pytest.raises(ConfigFormatError):
        row.load_instance()
    assert not row.has_readable_config
    assert row.public_config() == {}
    # Skipped like an undecryptable one: the next instance is selected.
    selected = get_plugin_instance(PaymentGatewayType)
    assert selected is not None
    assert selected.plugin_instance is not None
    assert selected.plugin_instance.pk != instance.pk
    # Saving the row's other fields writes the stored value back unchanged.
    row.name = "Renamed"
    row.save()
    assert PluginInstance.objects.filter(pk=instance.pk).values_list("config", flat=True).get() == (
        token
    )


@pytest.mark.parametrize("case", list(WITHIN))
def test_a_stored_value_at_the_limits_reads(make_instance: Any, case: str) -> None:
    instance = make_instance(BankTransferGateway, "Within")
    store(instance, WITHIN[case])
    row = PluginInstance.objects.get(pk=instance.pk)
    assert row.get_config_error() is None
    assert row.config == json.loads(WITHIN[case])


def test_a_token_too_long_for_the_limit_is_not_decrypted(
    make_instance: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = make_instance(BankTransferGateway, "Huge")
    store(instance, BEYOND["3 MB"])
    from wagtail_plugin_system import fields

    def no_decryption() -> Any:
        raise AssertionError("decrypted a token longer than any value within the limits")

    monkeypatch.setattr(fields, "_reading_crypter", no_decryption)
    assert isinstance(
        PluginInstance.objects.get(pk=instance.pk).get_config_error(), ConfigFormatError
    )


def deep_list(depth: int) -> Any:
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


def deep_dict(depth: int) -> Any:
    value: Any = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def containing_itself() -> Any:
    value: dict[str, Any] = {"name": "loop"}
    value["self"] = value
    return value


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ({"a": deep_list(50_000)}, "nested deeper than the limit"),
        (deep_dict(50_000), "nested deeper than the limit"),
        (deep_dict(MAX_CONFIG_DEPTH + 1), "nested deeper than the limit"),
        ({"a": deep_list(MAX_CONFIG_DEPTH)}, "nested deeper than the limit"),
        (containing_itself(), "nested deeper than the limit"),
        ({"key": "x" * 3_000_000}, "larger than the limit"),
        (json.loads(sized(MAX_CONFIG_BYTES + 1)), f"is {MAX_CONFIG_BYTES + 1} bytes of JSON"),
        (json.loads(sized(MAX_CONFIG_BYTES + 2, "é")), "larger than the limit"),
        ({"k": "lone \ud800 surrogate"}, "lone surrogate"),
    ],
)
def test_saving_a_value_beyond_the_limits_is_refused_clearly(
    make_instance: Any, value: Any, says: str
) -> None:
    instance = make_instance(BankTransferGateway, "Refused")
    instance.config = value
    # A failed save spoils the transaction around it, as any failed save does.
    with pytest.raises(ConfigEncodingError) as caught, transaction.atomic():
        instance.save()
    message = str(caught.value)
    assert says in message
    if "lone" not in says:
        assert f"at most {MAX_CONFIG_BYTES} bytes of JSON text" in message
        assert f"nested at most {MAX_CONFIG_DEPTH} levels deep" in message
    with pytest.raises(ConfigEncodingError), transaction.atomic():
        PluginInstance.objects.create(item=instance.item, name="New", config=value)
    assert not PluginInstance.objects.filter(name="New").exists()


def test_a_value_at_the_limits_is_saved(make_instance: Any) -> None:
    instance = make_instance(BankTransferGateway, "At the limits")
    largest = json.loads(sized(MAX_CONFIG_BYTES))
    for value in (deep_dict(MAX_CONFIG_DEPTH), {"a": deep_list(MAX_CONFIG_DEPTH - 1)}, largest):
        instance.config = value
        instance.save()
        assert PluginInstance.objects.get(pk=instance.pk).config == value


def nesting(depth: int) -> st.SearchStrategy[Any]:
    leaf = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
    strategy: st.SearchStrategy[Any] = leaf
    for _ in range(depth - 1):
        strategy = st.lists(strategy, min_size=1, max_size=2) | st.dictionaries(
            st.text(max_size=3), strategy, min_size=1, max_size=2
        )
    return strategy


@hypothesis_settings(deadline=None, max_examples=60)
@given(depth=st.integers(min_value=1, max_value=2 * MAX_CONFIG_DEPTH), data=st.data())
def test_any_nesting_is_stored_or_refused_never_a_recursion_error(depth: int, data: Any) -> None:
    inner = data.draw(nesting(min(depth, 8)))
    value: Any = {"v": inner}
    for _ in range(max(depth - 9, 0)):
        value = {"v": value}
    measured = 1
    probe = value
    stack = [(probe, 1)]
    while stack:
        current, level = stack.pop()
        measured = max(measured, level)
        children = current.values() if isinstance(current, dict) else current
        stack.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    if measured > MAX_CONFIG_DEPTH:
        with pytest.raises(ConfigEncodingError, match="nested deeper than the limit"):
            FIELD.encode(value)
        # The same text written by another program is refused on reading.
        text = json.dumps(value)
        with pytest.raises(ConfigFormatError, match="nested deeper than"):
            FIELD.decrypt(Ciphertext(encrypt_text(text)))
    else:
        assert FIELD.decrypt(Ciphertext(encrypt_text(FIELD.encode(value)))) == value
