"""Planner statistics as a production database keeps them."""

from __future__ import annotations

from django.db import connections

from wagtail_plugin_system.models import PluginInstance


def analyze_instances(using: str = "default") -> None:
    """Do what autovacuum does to the instance table after a bulk insert, at once.

    On PostgreSQL, autovacuum analyzes a table (and, after many inserts,
    vacuums it) once enough rows have changed; tests and benchmarks insert
    thousands of rows and query them straight away, before it runs, so they
    call this to see the plans and costs a live site has. ``VACUUM`` cannot run
    inside a transaction: there (a test case) the table is only analyzed.
    SQLite keeps no statistics unless asked to: nothing to do there.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    table = connection.ops.quote_name(PluginInstance._meta.db_table)
    command = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
    with connection.cursor() as cursor:
        cursor.execute(f"{command} {table}")
