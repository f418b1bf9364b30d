"""``manage.py pluginhealth``: run the health checks of plugin instances, or enqueue them."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from wagtail_plugin_system.core.ids import parse_id
from wagtail_plugin_system.health import (
    check_instances,
    check_message_display,
    checkable_instances,
    outcome_summary,
)
from wagtail_plugin_system.models import CheckSource, PluginInstance, PluginStatus, PluginType
from wagtail_plugin_system.tasks import enqueue_checks


class Command(BaseCommand):
    help = (
        "Run the health checks of the active and reserved plugin instances and print the "
        "results. Exits with status 1 when an active instance fails its check (for cron or a "
        "container probe)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--type", dest="plugin_type", help="Only instances of this type.")
        parser.add_argument(
            "--instance",
            dest="instances",
            action="append",
            metavar="ID",
            help="Only this instance, whatever its status (repeatable).",
        )
        parser.add_argument(
            "--format", choices=["text", "json"], default="text", help="Output format."
        )
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="Hand the checks to the task backend (CHECK_TASK_BACKEND) instead of "
            "running them here.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        plugin_type: str | None = options["plugin_type"]
        ids = self._instance_ids(options["instances"])
        if plugin_type is not None and not PluginType.objects.filter(name=plugin_type).exists():
            raise CommandError(
                _("There is no plugin type named %(name)r (see manage.py pluginsync).")
                % {"name": plugin_type}
            )
        try:
            if options["enqueue"]:
                self._enqueue(plugin_type, ids, options["format"])
                return
            instances = checkable_instances(plugin_type=plugin_type, instance_ids=ids)
            outcomes = check_instances(instances, source=CheckSource.COMMAND)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        summaries = [outcome_summary(instance, outcome) for instance, outcome in outcomes]
        if options["format"] == "json":
            self.stdout.write(json.dumps(summaries, indent=2))
        else:
            self._table(summaries)
        failing = [
            summary
            for summary in summaries
            if summary["instance_status"] == PluginStatus.ACTIVE
            and _result(summary) not in ("passed", None)
        ]
        if failing:
            raise CommandError(
                _("%(count)d active instance(s) failed their check: %(names)s.")
                % {
                    "count": len(failing),
                    "names": ", ".join(f"{row['name']} (id {row['id']})" for row in failing),
                },
                returncode=1,
            )

    def _instance_ids(self, values: list[str] | None) -> list[int] | None:
        if not values:
            return None
        ids = []
        for value in values:
            pk = parse_id(value)
            if pk is None:
                raise CommandError(_("%(value)r is not an instance id.") % {"value": value})
            ids.append(pk)
        found = set(PluginInstance.objects.filter(pk__in=ids).values_list("pk", flat=True))
        missing = [str(pk) for pk in ids if pk not in found]
        if missing:
            raise CommandError(
                _("No plugin instance has the id(s) %(ids)s.") % {"ids": ", ".join(missing)}
            )
        return ids

    def _enqueue(self, plugin_type: str | None, ids: list[int] | None, output: str) -> None:
        pairs = enqueue_checks(plugin_type=plugin_type, instance_ids=ids)
        if output == "json":
            self.stdout.write(
                json.dumps([{"id": pk, "task_result_id": result} for pk, result in pairs])
            )
            return
        self.stdout.write(_("%(count)d check(s) enqueued.") % {"count": len(pairs)})

    def _table(self, summaries: list[dict[str, Any]]) -> None:
        if not summaries:
            self.stdout.write(_("No plugin instance to check."))
            return
        labels = {
            "passed": _("passed"),
            "failed": _("FAILED"),
            "timed_out": _("TIMED OUT"),
            "unavailable": _("UNAVAILABLE"),
        }
        header = [
            _("ID"),
            _("Type"),
            _("Instance"),
            _("Status"),
            _("Result"),
            _("ms"),
            _("Message"),
        ]
        rows = []
        for row in summaries:
            result = labels.get(row["status"], row["status"])
            if row["status"] == "skipped":
                last = labels.get(row["last_status"] or "", _("none"))
                result = _("%(last)s (checked recently)") % {"last": last}
            duration = row.get("duration_ms")
            rows.append(
                [
                    str(row["id"]),
                    row["type"],
                    row["name"],
                    row["instance_status"],
                    result,
                    "" if duration is None else f"{duration:.0f}",
                    check_message_display(row["message"]),
                ]
            )
        widths = [max(len(line[col]) for line in [header, *rows]) for col in range(len(header))]
        for line in [header, *rows]:
            cells = [cell.ljust(width) for cell, width in zip(line[:-1], widths, strict=False)]
            self.stdout.write("  ".join([*cells, line[-1]]).rstrip())


def _result(summary: dict[str, Any]) -> str | None:
    """The result that counts: the check's, or for a skipped one the last one's."""
    if summary["status"] == "skipped":
        last: str | None = summary["last_status"]
        return last
    status: str = summary["status"]
    return status
