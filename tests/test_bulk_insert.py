"""Tests for wagtail_plugin_system.bulk_insert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from wagtail.models import ModelLogEntry

from wagtail_plugin_system.bulk_insert import insert_rows, returns_primary_keys
from wagtail_plugin_system.fields import Ciphertext, encrypt_text
from wagtail_plugin_system.models import PluginInstance, PluginItem, PluginType

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 4, 3, 2, 1, 123456, tzinfo=UTC)


def _insert_types(count: int) -> list[Any]:
    """Insert ``count`` types named type_0, type_1...; return their keys."""
    return insert_rows(
        PluginType,
        ["name", "label", "created_at", "updated_at"],
        [(f"type_{n}", f"Type {n}", NOW, NOW) for n in range(count)],
        using="default",
        return_keys=True,
    )


def test_rows_round_trip_with_their_keys_in_order(db: None) -> None:
    keys = _insert_types(3)
    assert len(keys) == 3
    rows = {row.pk: row for row in PluginType.objects.all()}
    for n, key in enumerate(keys):
        row = rows[key]
        assert (row.name, row.label) == (f"type_{n}", f"Type {n}")
        assert row.created_at == row.updated_at == NOW  # written as given, not now()
        # Columns not named get their field's default.
        assert (row.description, row.is_missing, row.missing_since) == ("", False, None)


def test_values_that_need_preparing_are_prepared(db: None) -> None:
    """A datetime, JSON, a boolean given as an int, a key given as a string."""
    content_type = ContentType.objects.get_for_model(PluginType)
    later = NOW + timedelta(hours=1)
    insert_rows(
        ModelLogEntry,
        ["content_type_id", "label", "action", "data", "timestamp", "object_id", "deleted"],
        [
            (content_type.pk, "one", "test.bulk", {"n": 1, "ok": True}, NOW, "1", 0),
            (str(content_type.pk), "two", "test.bulk", [1, "two", None], later, "2", 1),
        ],
        using="default",
    )
    one, two = ModelLogEntry.objects.filter(action="test.bulk").order_by("label")
    assert (one.data, one.timestamp, one.deleted) == ({"n": 1, "ok": True}, NOW, False)
    assert (two.data, two.timestamp, two.deleted) == ([1, "two", None], later, True)
    assert one.content_type == two.content_type == content_type
    assert one.content_changed is False  # the field's default


def test_a_shared_value_is_prepared_once_and_encrypted_values_stay_encrypted(db: None) -> None:
    item_type = PluginType.objects.create(name="t")
    item = PluginItem.objects.create(plugin_type=item_type, name="i")
    token = Ciphertext(encrypt_text('{"api_key": "bulk-secret-7c1"}'))
    insert_rows(
        PluginInstance,
        ["item_id", "name", "config", "created_at", "updated_at"],
        [(item.pk, f"n{n}", token, NOW, NOW) for n in range(3)],
        using="default",
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT config FROM {PluginInstance._meta.db_table}")
        stored = [row[0] for row in cursor.fetchall()]
    assert stored == [token.token] * 3
    assert all("bulk-secret-7c1" not in value for value in stored)
    assert [i.config for i in PluginInstance.objects.all()] == [{"api_key": "bulk-secret-7c1"}] * 3


def test_a_callable_default_fills_a_column_not_named(db: None) -> None:
    item_type = PluginType.objects.create(name="t")
    item = PluginItem.objects.create(plugin_type=item_type, name="i")
    insert_rows(
        PluginInstance,
        ["item_id", "name", "created_at", "updated_at"],
        [(item.pk, "a", NOW, NOW), (item.pk, "b", NOW, NOW)],
        using="default",
    )
    first, second = PluginInstance.objects.order_by("name")
    assert first.config == second.config == {}  # config's default is dict


def test_many_rows_are_one_statement(db: None) -> None:
    """With the sync's raised SQLite limit or on PostgreSQL, 2,000 rows are one INSERT."""
    from wagtail_plugin_system.sync import _full_batches

    with _full_batches("default"), CaptureQueriesContext(connection) as queries:
        keys = _insert_types(2000)
    assert len([q for q in queries if q["sql"].startswith("INSERT")]) == 1
    assert sorted(keys) == sorted(PluginType.objects.values_list("pk", flat=True))
    assert PluginType.objects.get(pk=keys[1999]).name == "type_1999"


def test_batches_follow_the_backends_parameter_limit(db: None) -> None:
    """SQLite: batches within Django's 999 parameters; PostgreSQL: one array per column."""
    with CaptureQueriesContext(connection) as queries:
        keys = _insert_types(400)
    inserts = [q["sql"] for q in queries if q["sql"].startswith("INSERT")]
    if connection.vendor == "postgresql":
        assert len(inserts) == 1
        assert "UNNEST(" in inserts[0]
    else:
        # 7 columns a row (3 of them defaults): 142 rows a batch.
        assert len(inserts) == 3
    assert len(set(keys)) == 400
    assert PluginType.objects.get(pk=keys[399]).name == "type_399"


def test_no_rows_is_no_query(db: None) -> None:
    with CaptureQueriesContext(connection) as queries:
        assert insert_rows(PluginType, ["name"], [], using="default", return_keys=True) == []
    assert len(queries) == 0


def test_keys_are_refused_where_the_database_cannot_return_them(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As on MySQL: the backend's features say so (patched on the class, restored afterwards).
    monkeypatch.setattr(type(connection.features), "can_return_rows_from_bulk_insert", False)
    assert not returns_primary_keys("default")
    with pytest.raises(NotImplementedError, match="does not return primary keys"):
        insert_rows(PluginType, ["name"], [("x",)], using="default", return_keys=True)
    assert not PluginType.objects.exists()
    # Without asking for keys, the rows are written.
    written = insert_rows(
        PluginType, ["name", "created_at", "updated_at"], [("x", NOW, NOW)], using="default"
    )
    assert written == []
    assert PluginType.objects.get().name == "x"
