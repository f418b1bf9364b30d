"""Bulk insert: thousands of rows in a few statements, without compiling every value.

Django's ``bulk_create`` runs each value of each row through its model field
(``pre_save`` and ``get_db_prep_save``). For the thousands of rows a first
``pluginsync`` writes (types, implementations, default instances and their
history entries) that compilation, not the database, is most of the time.

:func:`insert_rows` writes rows given as tuples of attribute values:

* a value is prepared by its field once per distinct value object, so a
  timestamp or a ciphertext shared by every row is adapted once;
* a plain ``str`` for a text field, ``int`` for an integer field or key, and
  ``bool`` for a boolean field goes to the driver as it is, since that is
  what Django's preparation would return for it;
* on PostgreSQL all rows go in one ``INSERT ... SELECT * FROM UNNEST(...)``
  statement with one array parameter per column (as ``bulk_create`` does
  there); elsewhere each batch (as many rows as the backend's parameter
  limit allows) is one ``INSERT ... VALUES (...), (...)`` statement;
* ``RETURNING`` gives the new primary keys where the backend can return them.

Unlike ``bulk_create`` it does not call ``pre_save``: ``auto_now`` and
``auto_now_add`` fields are written as given, and a column left out gets the
field's default. It sends no signals, as ``bulk_create`` sends none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections
from django.db.models import Field, Model

__all__ = ["insert_rows", "returns_primary_keys"]

#: Field kinds whose database preparation leaves a value of this Python type unchanged.
_PASSTHROUGH: dict[str, type] = {
    "CharField": str,
    "TextField": str,
    "SlugField": str,
    "BooleanField": bool,
    "IntegerField": int,
    "BigIntegerField": int,
    "SmallIntegerField": int,
    "PositiveIntegerField": int,
    "PositiveBigIntegerField": int,
    "PositiveSmallIntegerField": int,
    "AutoField": int,
    "BigAutoField": int,
    "SmallAutoField": int,
}


def returns_primary_keys(using: str) -> bool:
    """Whether :func:`insert_rows` can return the new primary keys on this database."""
    return bool(connections[using].features.can_return_rows_from_bulk_insert)


def _kind(field: Field[Any, Any]) -> str:
    """The internal type of the column: that of the referenced key for a foreign key."""
    target: Any = getattr(field, "target_field", field) if field.is_relation else field
    return str(target.get_internal_type())


def insert_rows(
    model: type[Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    using: str,
    return_keys: bool = False,
) -> list[Any]:
    """Insert ``rows`` into ``model``'s table; their values follow ``columns`` (attribute names).

    Values are Python values, not query expressions. Columns of ``model``
    not named get their field's default (evaluated once for all rows). With
    ``return_keys`` the new primary keys are returned in the order of
    ``rows``; that needs a backend that returns rows from bulk inserts
    (see :func:`returns_primary_keys`), else :class:`NotImplementedError`.
    """
    if not rows:
        return []
    connection = connections[using]
    if return_keys and not connection.features.can_return_rows_from_bulk_insert:
        raise NotImplementedError(
            f"The {connection.vendor} backend does not return primary keys from bulk inserts."
        )
    meta = model._meta
    named = [meta.get_field(column) for column in columns]
    defaults = [
        field
        for field in meta.concrete_fields
        if not field.primary_key and field.attname not in columns and field not in named
    ]
    fields: list[Field[Any, Any]] = [*named, *defaults]  # type: ignore[list-item]
    default_values = tuple(field.get_default() for field in defaults)
    width = len(fields)
    # Column by column: values of the type the field passes through go as they are; the
    # others are prepared once per distinct value object.
    columns_values: list[Sequence[Any]] = []
    for index, field in enumerate(fields):
        if index < len(named):
            values: list[Any] = [row[index] for row in rows]
        else:
            values = [default_values[index - len(named)]] * len(rows)
        kind = _PASSTHROUGH.get(_kind(field))
        if kind is None or not all(type(value) is kind or value is None for value in values):
            values = _prepare_column(field, values, connection)
        columns_values.append(values)
    quote = connection.ops.quote_name
    head = "INSERT INTO {} ({}) ".format(
        quote(meta.db_table), ", ".join(quote(field.column) for field in fields)
    )
    returning = ""
    if return_keys:
        returning_sql, _ = connection.ops.return_insert_columns([meta.pk])
        returning = " " + returning_sql
    ops: Any = connection.ops  # fetch_returned_insert_rows() is not in the stubs
    keys: list[Any] = []
    with connection.cursor() as cursor:
        if _can_unnest(connection, fields):
            # PostgreSQL: one array per column, so the statement and its plan stay small.
            # No length or precision: varchar[] rather than varchar(100)[].
            db_types = [str(field.db_type(connection)).split("(")[0] for field in fields]
            types = ", ".join(f"(%s)::{db_type}[]" for db_type in db_types)
            cursor.execute(
                f"{head}SELECT * FROM UNNEST({types}){returning}",
                [list(values) for values in columns_values],
            )
            if return_keys:
                keys.extend(row[0] for row in ops.fetch_returned_insert_rows(cursor))
            return keys
        prepared_rows = list(zip(*columns_values, strict=True))
        placeholder = "(" + ", ".join(["%s"] * width) + ")"
        batch = max(1, connection.ops.bulk_batch_size(fields, rows))
        for start in range(0, len(rows), batch):
            chunk = prepared_rows[start : start + batch]
            params = [value for row in chunk for value in row]
            cursor.execute(
                f"{head}VALUES {', '.join([placeholder] * len(chunk))}{returning}", params
            )
            if return_keys:
                keys.extend(row[0] for row in ops.fetch_returned_insert_rows(cursor))
    return keys


def _can_unnest(connection: Any, fields: list[Field[Any, Any]]) -> bool:
    """Whether the rows can go as one array per column (PostgreSQL, plain column types)."""
    return connection.vendor == "postgresql" and not any(
        hasattr(field, "get_placeholder") or _kind(field) not in connection.data_types
        for field in fields
    )


def _prepare_column(field: Field[Any, Any], values: list[Any], connection: Any) -> list[Any]:
    """``field.get_db_prep_save()`` of each value, computed once per distinct value object."""
    done: dict[int, Any] = {}
    prepared = []
    for value in values:
        key = id(value)
        if key not in done:
            done[key] = field.get_db_prep_save(value, connection)
        prepared.append(done[key])
    return prepared
