"""``manage.py pluginrotatekeys``: re-encrypt plugin configuration with the first key."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS
from django.utils.translation import gettext as _

from wagtail_plugin_system.rotation import rotate_keys


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored plugin configuration, and the revisions of plugin "
        "instances, with the first key of FIELD_ENCRYPTION_KEY. Safe to interrupt and run "
        "again."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would change; change nothing."
        )
        parser.add_argument(
            "--batch-size", type=int, default=500, help="Rows per transaction (default: 500)."
        )
        parser.add_argument(
            "--database", default=DEFAULT_DB_ALIAS, help="The database to use (default: default)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError(_("--batch-size must be a positive number."))
        try:
            report = rotate_keys(
                dry_run=options["dry_run"],
                batch_size=options["batch_size"],
                using=options["database"],
            )
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        verb = _("would be re-encrypted") if report.dry_run else _("re-encrypted")
        self.stdout.write(
            _(
                "%(total)d configuration(s) checked: %(rotated)d %(verb)s, %(current)d already "
                "on the first key, %(failed)d undecryptable."
            )
            % {
                "total": report.total,
                "rotated": report.rotated,
                "verb": verb,
                "current": report.current,
                "failed": report.failed,
            }
        )
        self.stdout.write(
            _(
                "%(total)d revision(s) checked: %(rotated)d %(verb)s, %(current)d already on "
                "the first key, %(failed)d undecryptable."
            )
            % {
                "total": report.revisions_total,
                "rotated": report.revisions_rotated,
                "verb": verb,
                "current": report.revisions_current,
                "failed": report.revisions_failed,
            }
        )
        if report.failed_revision_ids:
            # Old history: it can no longer be restored, but nothing in use depends on it.
            self.stderr.write(
                _(
                    "No key in FIELD_ENCRYPTION_KEY decrypts revision(s) %(ids)s of plugin "
                    "instances; they were left unchanged and cannot be restored until the key "
                    "they were encrypted with is added back."
                )
                % {"ids": ", ".join(str(pk) for pk in report.failed_revision_ids)}
            )
        if report.failed_ids:
            raise CommandError(
                _(
                    "No key in FIELD_ENCRYPTION_KEY decrypts the configuration of plugin "
                    "instance(s) %(ids)s. Add the key they were encrypted with as a later entry "
                    "of FIELD_ENCRYPTION_KEY and run this command again; they were left unchanged."
                )
                % {"ids": ", ".join(str(pk) for pk in report.failed_ids)},
                returncode=1,
            )
