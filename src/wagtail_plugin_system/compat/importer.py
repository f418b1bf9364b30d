"""Import django-plugin-system's data: its types, items and configured instances.

:func:`import_seed_data` is what ``manage.py pluginimport`` runs. It reads
django-plugin-system's three tables in the same database (through unmanaged
models of its own, so django-plugin-system need not be installed any more),
and in one transaction creates our types, items and instances:

* configurations are decrypted the way django-plugin-system stored them
  (django-fernet-encrypted-fields, keys derived from ``SECRET_KEY`` and
  ``SALT_KEY``; install the ``import`` extra) and stored encrypted with ours;
* statuses are mapped, names, descriptions and priorities kept; instances are
  created in django-plugin-system's selection order (priority, then id), so
  ties are broken the same way after the move;
* a configuration that does not decrypt, or does not validate against the
  registered item's form, is imported with its instance **disabled** and
  listed as a problem, never dropped;
* an item (or type) whose code is not registered is imported marked missing,
  as ``pluginsync`` does;
* every django-plugin-system UUID is mapped to our integer id, and the pair is
  kept in an import record (:class:`~wagtail_plugin_system.models.PluginImportRecord`).

Running it again creates nothing new: a row imported before is found by its
old id in the import records, never by name, so an instance that editors
renamed since is left as it is, and one they deleted is not created again
(reported as ``skip``). Types and items not imported before are matched by
name, as ``pluginsync`` creates them from the code's names. The import takes
the same lock as ``pluginsync`` (on PostgreSQL), so a sync that starts during
an import waits for it instead of failing on a duplicate row, and the other
way round.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wagtail_plugin_system import (
    BasePluginType,
    UnknownPluginError,
    registry,
)
from wagtail_plugin_system.models import (
    PluginImportRecord,
    PluginInstance,
    PluginItem,
    PluginStatus,
    PluginType,
)
from wagtail_plugin_system.sync import lock

from .import_report import ImportAction, ImportReport, SeedImportError
from .seed_decryption import decrypt_all
from .seed_tables import INSTANCE_TABLE, ITEM_TABLE, TYPE_TABLE, SeedInstance, SeedItem, SeedType

__all__ = [
    "INSTANCE_TABLE",
    "ITEM_TABLE",
    "TYPE_TABLE",
    "ImportAction",
    "ImportReport",
    "SeedImportError",
    "SeedInstance",
    "SeedItem",
    "SeedType",
    "import_seed_data",
    "missing_tables",
]

#: django-plugin-system's stored statuses, and ours.
STATUSES = {
    "active": PluginStatus.ACTIVE,
    "reserve": PluginStatus.RESERVED,
    "disable": PluginStatus.DISABLED,
}


# -- the import ---------------------------------------------------------------------------


def missing_tables(using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """django-plugin-system's tables that the database lacks."""
    present = set(connections[using].introspection.table_names())
    return [name for name in (TYPE_TABLE, ITEM_TABLE, INSTANCE_TABLE) if name not in present]


def import_seed_data(
    *,
    dry_run: bool = False,
    keep_undecryptable: bool = False,
    using: str = DEFAULT_DB_ALIAS,
) -> ImportReport:
    """Import django-plugin-system's rows into ours and return the report.

    Raises :class:`SeedImportError`, changing nothing, when the tables are
    absent, the keys are not set, no stored configuration decrypts (the keys
    are wrong; ``keep_undecryptable`` imports them disabled anyway) or two
    instances would get the same name.
    """
    absent = missing_tables(using)
    if absent:
        raise SeedImportError(
            _(
                "django-plugin-system's tables %(tables)s are not in database %(database)s. "
                "pluginimport reads them in the database it imports into: run it with "
                "--database set to the database that holds them, before dropping them or "
                "migrating django_plugin_system to zero."
            )
            % {"tables": ", ".join(absent), "database": repr(using)}
        )
    report = ImportReport(dry_run=dry_run)
    # One transaction, reads included, so that the rows imported are one consistent state.
    with transaction.atomic(using=using):
        # pluginsync's lock, before reading: a sync running now finishes first, and one
        # starting now waits for this import, so neither meets the other's new rows.
        lock(using)
        types = list(SeedType.objects.using(using).order_by("name", "id"))
        items = list(SeedItem.objects.using(using).order_by("name", "id"))
        instances = list(SeedInstance.objects.using(using).order_by("priority", "id"))
        configs, undecryptable = decrypt_all(instances)
        stored = sum(1 for instance in instances if instance.config is not None)
        if undecryptable and len(undecryptable) == stored and not keep_undecryptable:
            raise SeedImportError(
                _(
                    "None of the %(count)d stored configurations decrypts with the configured "
                    "SECRET_KEY and SALT_KEY: they are not the keys django-plugin-system used. "
                    "Set SECRET_KEY, SALT_KEY (and SECRET_KEY_FALLBACKS) to the old project's "
                    "values and run pluginimport again, or pass --keep-undecryptable to import "
                    "these instances disabled, without their configuration."
                )
                % {"count": len(undecryptable)}
            )
        _Import(report, using, configs, undecryptable).run(types, items, instances)
        if dry_run:
            transaction.set_rollback(True, using=using)
    if dry_run:
        report.actions = [
            a if a.action != "create" else ImportAction(**{**a.__dict__, "id": None})
            for a in report.actions
        ]
        for problem in report.problems:
            if problem["id"] is not None and any(
                a.kind == "instance" and a.seed_id == problem["seed_id"] and a.id is None
                for a in report.actions
            ):
                problem["id"] = None
    return report


class _Import:
    def __init__(
        self, report: ImportReport, using: str, configs: dict[str, Any], undecryptable: set[str]
    ) -> None:
        self.report = report
        self.using = using
        self.configs = configs
        self.undecryptable = undecryptable
        self.now = timezone.now()
        self.type_rows: dict[str, PluginType] = {}
        self.item_rows: dict[str, PluginItem] = {}
        self.type_names: dict[str, str] = {}
        #: Our ids of the rows imported before, by kind and old id.
        self.records: dict[tuple[str, str], int] = {
            (kind, str(seed_id)): target_id
            for kind, seed_id, target_id in PluginImportRecord.objects.using(using).values_list(
                "kind", "seed_id", "target_id"
            )
        }
        #: Names of the types and items deleted since they were imported, by old id.
        self.deleted: dict[str, str] = {}

    def record(self, kind: str, seed_id: str, target_id: int) -> None:
        """Keep (or correct) which row of ours ``seed_id`` became."""
        if self.records.get((kind, seed_id)) == target_id:
            return
        PluginImportRecord.objects.using(self.using).update_or_create(
            kind=kind, seed_id=seed_id, defaults={"target_id": target_id}
        )
        self.records[(kind, seed_id)] = target_id

    def skip(self, kind: str, name: str, seed_id: str, detail: str) -> None:
        self.report.actions.append(ImportAction("skip", kind, name, seed_id, None, detail))

    def run(
        self, types: list[SeedType], items: list[SeedItem], instances: list[SeedInstance]
    ) -> None:
        for seed_type in types:
            self.import_type(seed_type)
        for seed_item in items:
            self.import_item(seed_item)
        self.check_instance_names(instances)
        claimed_defaults: set[int] = set()
        for seed_instance in instances:
            self.import_instance(seed_instance, claimed_defaults)

    # -- types and items ----------------------------------------------------------------

    def import_type(self, seed: SeedType) -> None:
        try:
            type_class: type[BasePluginType] | None = registry.get_type_entry(seed.name).type_class
        except UnknownPluginError:
            type_class = None
        name = type_class.name if type_class is not None else seed.name
        seed_id = str(seed.pk)
        recorded = self.records.get(("type", seed_id))
        rows = PluginType.objects.using(self.using)
        row = rows.filter(pk=recorded).first() if recorded is not None else None
        if row is None:
            row = rows.filter(name=name).first()
        if row is not None:
            action, detail = "exists", ""
        elif recorded is not None:
            self.deleted[seed_id] = name
            self.skip("type", name, seed_id, _("deleted since it was imported: not created again"))
            return
        else:
            missing = type_class is None
            row = PluginType(
                name=name,
                description=seed.description or "",
                is_missing=missing,
                missing_since=self.now if missing else None,
            )
            row.save(using=self.using)
            action = "create"
            detail = _("code not registered: marked missing") if missing else ""
        self.record("type", seed_id, row.pk)
        self.type_rows[seed_id] = row
        self.report.actions.append(ImportAction(action, "type", row.name, seed_id, row.pk, detail))

    def import_item(self, seed: SeedItem) -> None:
        seed_id = str(seed.pk)
        type_row = self.type_rows.get(str(seed.plugin_type_id))
        if type_row is None:
            type_name = self.deleted.get(str(seed.plugin_type_id))
            if type_name is not None:
                self.deleted[seed_id] = f"{type_name}/{seed.name}"
                self.skip(
                    "item",
                    self.deleted[seed_id],
                    seed_id,
                    _("its type was deleted since it was imported"),
                )
            return  # otherwise a dangling row: django-plugin-system cascades deletes
        item_class = registry.get_item(type_row.name, seed.name)
        name = item_class.name if item_class is not None else seed.name
        full_name = f"{type_row.name}/{name}"
        recorded = self.records.get(("item", seed_id))
        rows = PluginItem.objects.using(self.using).filter(plugin_type=type_row)
        row = rows.filter(pk=recorded).first() if recorded is not None else None
        if row is None:
            row = rows.filter(name=name).first()
        if row is None and recorded is not None:
            self.deleted[seed_id] = full_name
            self.skip(
                "item", full_name, seed_id, _("deleted since it was imported: not created again")
            )
            return
        if row is not None:
            full_name = f"{type_row.name}/{row.name}"
            if row.default_priority != seed.priority:
                row.default_priority = seed.priority
                row.save(using=self.using, update_fields=["default_priority", "updated_at"])
                action = "update"
                detail = _("default priority set to django-plugin-system's %(priority)d") % {
                    "priority": seed.priority
                }
            else:
                action, detail = "exists", ""
        else:
            missing = item_class is None
            configurable = (
                item_class.configuration is not None
                if item_class is not None
                else seed.configurable
            )
            row = PluginItem(
                plugin_type=type_row,
                name=name,
                description=seed.description or "",
                default_priority=seed.priority,
                is_configurable=configurable,
                is_missing=missing,
                missing_since=self.now if missing else None,
            )
            row.save(using=self.using)
            action = "create"
            detail = _("code not registered: marked missing") if missing else ""
        self.record("item", seed_id, row.pk)
        self.item_rows[seed_id] = row
        self.report.actions.append(ImportAction(action, "item", full_name, seed_id, row.pk, detail))

    # -- instances ----------------------------------------------------------------------

    def check_instance_names(self, instances: list[SeedInstance]) -> None:
        seen: dict[tuple[int, str], SeedInstance] = {}
        clashes: list[str] = []
        for seed in instances:
            item_row = self.item_rows.get(str(seed.item_id))
            if item_row is None:
                continue
            key = (item_row.pk, seed.name)
            if key in seen:
                clashes.append(f"{seed.name!r} ({seen[key].pk}, {seed.pk})")
            else:
                seen[key] = seed
        if clashes:
            raise SeedImportError(
                _(
                    "Several django-plugin-system instances would become one, because their "
                    "types or items have the same name under different module paths: "
                    "%(clashes)s. Rename one of each pair in django-plugin-system's admin and "
                    "run pluginimport again."
                )
                % {"clashes": "; ".join(clashes)}
            )

    def import_instance(self, seed: SeedInstance, claimed_defaults: set[int]) -> None:
        seed_id = str(seed.pk)
        item_row = self.item_rows.get(str(seed.item_id))
        recorded = self.records.get(("instance", seed_id))
        if recorded is not None:
            # Imported before: by its old id, whatever editors did to its name since.
            existing = (
                PluginInstance.objects.using(self.using)
                .select_related("item__plugin_type")
                .filter(pk=recorded)
                .first()
            )
            if existing is not None:
                item = existing.item
                name = f"{item.plugin_type.name}/{item.name}/{existing.name}"
                self.report.actions.append(
                    ImportAction("exists", "instance", name, seed_id, existing.pk)
                )
            else:
                item_name = self.deleted.get(str(seed.item_id), "?")
                if item_row is not None:
                    item_name = f"{item_row.plugin_type.name}/{item_row.name}"
                name = f"{item_name}/{seed.name}"
                self.skip(
                    "instance",
                    name,
                    seed_id,
                    _("deleted since it was imported: not created again"),
                )
            return
        if item_row is None:
            deleted_item = self.deleted.get(str(seed.item_id))
            if deleted_item is not None:
                self.skip(
                    "instance",
                    f"{deleted_item}/{seed.name}",
                    seed_id,
                    _("its implementation was deleted since it was imported"),
                )
            return
        full_name = f"{item_row.plugin_type.name}/{item_row.name}/{seed.name}"
        status = STATUSES.get(seed.status)
        config, problem = self.configuration(seed, item_row)
        if status is None:
            problem = problem or _(
                "unknown status %(status)r: imported disabled; choose its status in the admin"
            ) % {"status": seed.status}
        if problem is not None:
            status = PluginStatus.DISABLED
        values = {
            "name": seed.name,
            "description": seed.description or "",
            "status": status,
            "priority": seed.priority,
            "config": config,
        }
        row: PluginInstance | None = None
        if not item_row.is_configurable:
            row = (
                PluginInstance.objects.using(self.using)
                .filter(item=item_row, is_default=True)
                .exclude(pk__in=claimed_defaults)
                .first()
            )
        if row is not None:
            claimed_defaults.add(row.pk)
            for attribute, value in values.items():
                setattr(row, attribute, value)
            row.save(using=self.using)
            action = "update"
            detail = _("the default instance pluginsync had created")
        else:
            row = PluginInstance(item=item_row, **values)
            row.save(using=self.using)
            action, detail = "create", ""
        self.record("instance", seed_id, row.pk)
        if item_row.is_missing:
            detail = ", ".join(
                filter(None, [detail, _("code not registered: values kept as stored text")])
            )
        self.report.actions.append(
            ImportAction(action, "instance", full_name, seed_id, row.pk, detail)
        )
        if problem is not None:
            self.report.problems.append(
                {"name": full_name, "seed_id": seed_id, "id": row.pk, "reason": problem}
            )

    def configuration(
        self, seed: SeedInstance, item_row: PluginItem
    ) -> tuple[dict[str, Any], str | None]:
        """The configuration to store, and why the instance must be disabled (or ``None``)."""
        seed_id = str(seed.pk)
        if seed_id in self.undecryptable:
            return {}, _(
                "its configuration does not decrypt with SECRET_KEY and SALT_KEY: imported "
                "disabled without it; enter it again in the admin"
            )
        data = self.configs.get(seed_id)
        if data is None:
            data = {}
        if not isinstance(data, dict):
            return {}, _(
                "its configuration is not a mapping of names to values: imported disabled "
                "without it; enter it again in the admin"
            )
        item_class = item_row.get_item_class()
        if item_class is None or item_class.configuration is None:
            return data, None
        configuration = item_class.configuration
        try:
            validated = configuration.validate(data)
        except ValidationError as exc:
            fields = sorted(getattr(exc, "error_dict", {}) or {"__all__": None})
            return data, _(
                "its configuration does not validate against the form of %(item)s (fields: "
                "%(fields)s): imported disabled with the values as stored; correct them in "
                "the admin"
            ) % {
                "item": f"{item_row.plugin_type.name}/{item_row.name}",
                "fields": ", ".join(fields),
            }
        # Values the form does not have are kept as stored, never dropped.
        form_fields = configuration.form_class.base_fields
        kept = {key: value for key, value in data.items() if key not in form_fields}
        return {**kept, **validated}, None
