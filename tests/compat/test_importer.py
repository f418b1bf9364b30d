"""Tests for re-running ``pluginimport`` after editors changed what it imported, and for
running it while ``pluginsync`` (or another import) runs.

The django-plugin-system rows are the ones of the ``pluginimport`` command's tests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections
from django.db.models.signals import post_save
from django_plugin_system import models as seed

from wagtail_plugin_system.compat import importer
from wagtail_plugin_system.models import (
    PluginImportRecord,
    PluginInstance,
    PluginItem,
    PluginStatus,
    PluginType,
)
from wagtail_plugin_system.sync import sync_plugins

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, int, int]:
    return PluginType.objects.count(), PluginItem.objects.count(), PluginInstance.objects.count()


def ours(ids: dict[str, Any], rows: dict[str, Any], key: str) -> PluginInstance:
    return PluginInstance.objects.get(pk=ids["instances"][str(rows[key].pk)])


def rename(instance: PluginInstance) -> None:
    instance.name = f"{instance.name} (renamed)"
    instance.save()


def rename_to_another_imported_name(instance: PluginInstance) -> None:
    instance.name = "Off"  # the name of another imported instance
    instance.save()


def delete(instance: PluginInstance) -> None:
    instance.delete()


def change_everything(instance: PluginInstance) -> None:
    instance.name = "Stripe, main account"
    instance.priority = 99
    instance.status = PluginStatus.DISABLED
    instance.config = {**instance.config, "merchant_id": "a-new-merchant"}
    instance.save()


def move_to_another_item(instance: PluginInstance) -> None:
    instance.item = PluginItem.objects.get(name="legacy")
    instance.save()


EDITS: dict[str, Callable[[PluginInstance], None]] = {
    "renamed": rename,
    "renamed to another imported name": rename_to_another_imported_name,
    "re-keyed and changed": change_everything,
    "moved to another item": move_to_another_item,
    "deleted": delete,
}


@pytest.mark.parametrize("edit", list(EDITS))
@pytest.mark.parametrize("key", ["prod", "cash", "off", "legacy"])
def test_a_second_run_after_editors_changed_an_instance_creates_nothing(
    seed_rows: dict[str, Any],
    edit: str,
    key: str,
) -> None:
    first = importer.import_seed_data()
    ids = first.id_map()
    instance = ours(ids, seed_rows, key)
    EDITS[edit](instance)
    before = counts()
    kept = {row.pk: (row.name, row.item_id, row.priority) for row in PluginInstance.objects.all()}

    second = importer.import_seed_data()

    assert counts() == before
    assert not second.changed
    assert {
        row.pk: (row.name, row.item_id, row.priority) for row in PluginInstance.objects.all()
    } == (kept)
    action = next(a for a in second.actions if a.seed_id == str(seed_rows[key].pk))
    if edit == "deleted":
        assert (action.action, action.id) == ("skip", None)
        assert "deleted since it was imported" in action.detail
        assert second.id_map()["instances"][str(seed_rows[key].pk)] is None
    else:
        assert (action.action, action.id) == ("exists", instance.pk)
        assert action.name.endswith(PluginInstance.objects.get(pk=instance.pk).name)
    others = {k: v for k, v in second.id_map()["instances"].items() if k != str(seed_rows[key].pk)}
    assert others == {k: v for k, v in ids["instances"].items() if k != str(seed_rows[key].pk)}


def test_every_imported_row_is_recorded_by_its_old_id(seed_rows: dict[str, Any]) -> None:
    ids = importer.import_seed_data().id_map()
    recorded = {
        (record.kind, str(record.seed_id)): record.target_id
        for record in PluginImportRecord.objects.all()
    }
    expected = {
        (kind[:-1], seed_id): target
        for kind, mapping in ids.items()
        for seed_id, target in mapping.items()
    }
    assert recorded == expected
    assert len(recorded) == seed.PluginType.objects.count() + seed.PluginItem.objects.count() + (
        seed.PluginInstance.objects.count()
    )


def test_a_dry_run_records_nothing(seed_rows: dict[str, Any]) -> None:
    importer.import_seed_data(dry_run=True)
    assert not PluginImportRecord.objects.exists()


def test_an_instance_added_to_the_old_package_since_is_imported(
    seed_rows: dict[str, Any],
) -> None:
    """Matched by old id: a new row is new, even under the name an editor gave another."""
    ids = importer.import_seed_data().id_map()
    prod = ours(ids, seed_rows, "prod")
    prod.name = "Later"
    prod.save()
    later = seed.PluginInstance.objects.create(
        item=seed_rows["prod"].item,
        name="Later",
        status="active",
        priority=40,
        config={"merchant_id": "later"},
    )
    report = importer.import_seed_data()
    assert report.counts() == {
        "create instance": 1,
        "exists instance": 11,
        "exists item": 4,
        "exists type": 2,
    }
    new = PluginInstance.objects.get(pk=report.id_map()["instances"][str(later.pk)])
    assert (new.name, new.config["merchant_id"]) == ("Later", "later")
    assert PluginInstance.objects.filter(name="Later").count() == 2


def test_types_and_items_deleted_since_are_not_created_again(
    seed_rows: dict[str, Any],
) -> None:
    """The type whose code is gone, pruned after the import (its instance deleted first)."""
    ids = importer.import_seed_data().id_map()
    gone = ours(ids, seed_rows, "gone")
    item, kind = gone.item, gone.item.plugin_type
    gone.delete()
    item.delete()
    kind.delete()
    before = counts()
    report = importer.import_seed_data()
    assert counts() == before
    skipped = {(a.kind, a.name) for a in report.actions if a.action == "skip"}
    assert skipped == {
        ("type", "old_type"),
        ("item", "old_type/gone"),
        ("instance", "old_type/gone/gone"),
    }
    assert not PluginType.objects.filter(name="old_type").exists()


def test_a_type_made_again_by_pluginsync_is_matched_by_name(
    seed_rows: dict[str, Any],
) -> None:
    """A recorded type whose row was replaced (pruned, then its code came back): by name."""
    importer.import_seed_data()
    record = PluginImportRecord.objects.get(
        kind="type", seed_id=seed_rows["prod"].item.plugin_type_id
    )
    PluginImportRecord.objects.filter(pk=record.pk).update(target_id=10**9)  # a row gone
    before = counts()
    report = importer.import_seed_data()
    assert counts() == before
    assert not report.changed
    record.refresh_from_db()
    assert record.target_id == PluginType.objects.get(name="seedpay").pk


# -- at the same time as pluginsync, or another import --------------------------------------


def _waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("other", ["pluginsync", "pluginimport"])
def test_a_sync_or_import_during_an_import_waits_for_it(
    seed_rows: dict[str, Any],
    other: str,
) -> None:
    """The import holds its transaction open after creating rows; the other one starts.

    Without the shared lock, the sync would insert the same type and items and fail on
    the unique constraint once the import commits, and a second import would create
    every instance again.
    """
    created = threading.Event()
    release = threading.Event()
    errors: list[BaseException] = []
    results: dict[str, Any] = {}

    def hold_the_import(sender: Any, **kwargs: Any) -> None:
        if threading.current_thread().name == "import":
            created.set()
            release.wait(timeout=30)

    def run(name: str) -> None:
        try:
            if name == "pluginsync":
                results[name] = sync_plugins()
            else:
                results[name] = importer.import_seed_data()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    post_save.connect(hold_the_import, sender=PluginInstance)
    try:
        first = threading.Thread(target=run, args=("import",), name="import")
        second = threading.Thread(target=run, args=(other,), name=other)
        first.start()
        assert created.wait(timeout=30)  # types, items and one instance written, uncommitted
        second.start()
        for _ in range(600):
            if _waiting_on_a_lock() or not second.is_alive():
                break
            threading.Event().wait(0.05)
        assert _waiting_on_a_lock() == 1  # the other one waits for the import's lock
        release.set()
        first.join(timeout=60)
        second.join(timeout=60)
    finally:
        release.set()
        post_save.disconnect(hold_the_import, sender=PluginInstance)
    assert not errors, errors
    assert PluginType.objects.filter(name="seedpay").count() == 1
    assert PluginItem.objects.filter(plugin_type__name="seedpay", name="stripe").count() == 1
    imported = results["import"].id_map()["instances"]
    assert PluginInstance.objects.filter(pk__in=imported.values()).count() == 11
    if other == "pluginimport":
        assert results[other].id_map()["instances"] == imported
        assert not results[other].changed
    # One instance per old row, and pluginsync's defaults only for items without one.
    assert PluginInstance.objects.filter(item__name="stripe").count() == 8
    assert PluginInstance.objects.filter(item__name="cash").count() == 1
