"""``manage.py pluginsync``: mirror the plugin registry into the database."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils.translation import gettext as _

from wagtail_plugin_system.core.registry import registry
from wagtail_plugin_system.models import PluginType
from wagtail_plugin_system.sync import Action, SyncError, SyncReport, sync_plugins

#: Actions printed as warnings: code is missing.
_WARNINGS = (Action.MARK_MISSING, Action.KEEP_MISSING)


class Command(BaseCommand):
    # The system checks include "the database is not in sync", which is exactly what this
    # command fixes: printing it before every deploy's sync would only be noise.
    requires_system_checks: list[str] = []
    help = (
        "Mirror the registered plugin types and items into the database. Safe to run on every "
        "deploy: it never deletes configured instances."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--mode",
            choices=["create", "update"],
            default="create",
            help=(
                "'create' (default) adds what is missing and keeps stored labels, descriptions "
                "and default priorities; 'update' also refreshes those from code."
            ),
        )
        parser.add_argument(
            "--prune",
            action="store_true",
            help=(
                "Delete rows of types and implementations whose code is gone, when nothing "
                "uses them (no editor-made instance; a default instance that is untouched, "
                "untested, chosen by no site and referenced by nothing). Others stay, marked "
                "missing, and the report says why."
            ),
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Show what would change; change nothing."
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="Change nothing; exit with status 1 when the database differs from the code.",
        )
        parser.add_argument(
            "--format", choices=["text", "json"], default="text", help="Output format."
        )
        parser.add_argument(
            "--database", default=DEFAULT_DB_ALIAS, help="The database to sync (default: default)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run = options["dry_run"] or options["check"]
        connection = connections[options["database"]]
        if PluginType._meta.db_table not in connection.introspection.table_names():
            raise CommandError(
                _(
                    "The plugin tables do not exist yet in the database '%(database)s'. Run "
                    "'manage.py migrate' first."
                )
                % {"database": options["database"]}
            )
        try:
            report = sync_plugins(
                mode=options["mode"],
                prune=options["prune"],
                dry_run=dry_run,
                using=options["database"],
            )
        except (SyncError, ImproperlyConfigured) as exc:
            raise CommandError(str(exc)) from None
        if options["format"] == "json":
            self.stdout.write(report.to_json())
        else:
            self.write_table(report)
        if options["check"] and report.changed:
            raise CommandError(
                _(
                    "The database is not in sync with the registered plugins. Run "
                    "'manage.py pluginsync' to apply the changes above."
                ),
                returncode=1,
            )

    def write_table(self, report: SyncReport) -> None:
        title = _("Plugin sync (mode: %(mode)s%(extra)s)") % {
            "mode": report.mode,
            "extra": (_(", prune") if report.prune else "")
            + (_(", dry run: nothing was changed") if report.dry_run else ""),
        }
        self.stdout.write(self.style.MIGRATE_HEADING(title))
        for warning in report.warnings:
            self.stdout.write(self.style.WARNING(warning))
        if not report.actions and not registry.get_types():
            self.stdout.write(
                self.style.WARNING(
                    _(
                        "No plugins are registered, so there is nothing to sync. Register plugin "
                        "types and items in the ready() method of the AppConfig of an app in "
                        "INSTALLED_APPS (register_plugin_type(), register_plugin_item()), or "
                        "through the 'wagtail_plugin_system.plugins' entry-point group."
                    )
                )
            )
            return
        if not report.actions:
            self.stdout.write(_("Nothing to do: the database matches the registered plugins."))
            return
        headers = (_("ACTION"), _("KIND"), _("NAME"), _("DETAIL"))
        rows = [
            (action.action.replace("_", " "), action.kind, action.name, action.detail)
            for action in report.actions
        ]
        kinds = [None, *(action.action for action in report.actions)]
        widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(3)]
        for number, (action, row) in enumerate(zip(kinds, [headers, *rows], strict=True)):
            line = "  ".join(
                str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)
            )
            line = f"{line}  {row[3]}".rstrip()
            style = (
                self.style.SQL_FIELD
                if number == 0
                else (self.style.WARNING if action in _WARNINGS else str)
            )
            self.stdout.write(style(line))
        summary = ", ".join(f"{count} {key}" for key, count in report.counts().items())
        self.stdout.write(_("Summary: %(summary)s.") % {"summary": summary})
