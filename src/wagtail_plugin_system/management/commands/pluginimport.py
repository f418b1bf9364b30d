"""``manage.py pluginimport``: move django-plugin-system's data into ours."""

from __future__ import annotations

import json
import os
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS
from django.utils.translation import gettext as _

from wagtail_plugin_system.compat.importer import ImportReport, SeedImportError, import_seed_data


class Command(BaseCommand):
    help = (
        "Import django-plugin-system's plugin types, items and configured instances from its "
        "tables in the same database. Safe to run again: it creates nothing twice."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Show what would be imported; change nothing."
        )
        parser.add_argument(
            "--id-map",
            metavar="FILE",
            help="Write django-plugin-system's ids mapped to ours as JSON to FILE.",
        )
        parser.add_argument(
            "--keep-undecryptable",
            action="store_true",
            help=(
                "Import instances disabled, without their configuration, even when no stored "
                "configuration decrypts (normally a sign of wrong keys, which stops the import)."
            ),
        )
        parser.add_argument(
            "--format", choices=["text", "json"], default="text", help="Output format."
        )
        parser.add_argument(
            "--database",
            default=DEFAULT_DB_ALIAS,
            help="The database holding both packages' tables (default: default).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["id_map"] and options["dry_run"]:
            raise CommandError(
                _("--id-map cannot be used with --dry-run: a dry run creates no ids. Drop one.")
            )
        if options["id_map"]:
            self.check_writable(Path(options["id_map"]))
        try:
            report = import_seed_data(
                dry_run=options["dry_run"],
                keep_undecryptable=options["keep_undecryptable"],
                using=options["database"],
            )
        except SeedImportError as exc:
            raise CommandError(str(exc)) from None
        if options["id_map"]:
            Path(options["id_map"]).write_text(
                json.dumps(report.id_map(), indent=2) + "\n", encoding="utf-8"
            )
        if options["format"] == "json":
            self.stdout.write(report.to_json())
        else:
            self.write_text(report, options["id_map"])

    def check_writable(self, path: Path) -> None:
        """Refuse, before importing anything, an id map file that cannot be written."""
        folder = path.parent if str(path.parent) else Path(".")
        writable = folder.is_dir() and os.access(folder, os.W_OK)
        if path.exists():
            writable = path.is_file() and os.access(path, os.W_OK)
        if not writable:
            raise CommandError(
                _(
                    "Cannot write the id map to %(file)s: its folder does not exist or the file "
                    "is not writable. Choose another path for --id-map; nothing was imported."
                )
                % {"file": path}
            )

    def write_text(self, report: ImportReport, id_map: str | None) -> None:
        title = _("Import from django-plugin-system%(extra)s") % {
            "extra": _(" (dry run: nothing was changed)") if report.dry_run else ""
        }
        self.stdout.write(self.style.MIGRATE_HEADING(title))
        if not report.actions:
            self.stdout.write(_("django-plugin-system's tables are empty: nothing to import."))
            return
        headers = (_("ACTION"), _("KIND"), _("NAME"), _("OLD ID"), _("NEW ID"), _("DETAIL"))
        rows = [
            (a.action, a.kind, a.name, a.seed_id, "-" if a.id is None else str(a.id), a.detail)
            for a in report.actions
        ]
        widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(5)]
        for number, row in enumerate([headers, *rows]):
            line = "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False))
            line = f"{line}  {row[5]}".rstrip()
            self.stdout.write(self.style.SQL_FIELD(line) if number == 0 else line)
        summary = ", ".join(f"{count} {key}" for key, count in report.counts().items())
        self.stdout.write(_("Summary: %(summary)s.") % {"summary": summary})
        if report.problems:
            self.stdout.write(
                self.style.WARNING(
                    _("%(count)d instance(s) imported disabled:") % {"count": len(report.problems)}
                )
            )
            for problem in report.problems:
                self.stdout.write(self.style.WARNING(f"- {problem['name']}: {problem['reason']}"))
        if id_map:
            self.stdout.write(_("Id map written to %(file)s.") % {"file": id_map})
