"""``manage.py pluginhealth``: the checks of active and reserved instances, from cron or a probe."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from tests.provider_stub import ProviderStub
from tests.testapp import remote
from wagtail_plugin_system import breaker, cache
from wagtail_plugin_system.core.registry import PluginRegistry
from wagtail_plugin_system.models import PluginCheckResult, PluginInstance
from wagtail_plugin_system.sync import sync_plugins

pytestmark = pytest.mark.django_db

TOKEN = "cr0n-t0ken-value"


@pytest.fixture
def instances(plugin_registry: PluginRegistry, stub: ProviderStub) -> dict[str, PluginInstance]:
    remote.register()
    sync_plugins()
    cache.clear()
    breaker.forget()
    PluginInstance.objects.of_type(remote.RemoteServiceType).delete()
    config = {"url": stub.url, "token": TOKEN, "timeout": 5.0}
    return {
        "primary": PluginInstance.objects.create_instance(
            remote.HttpProvider, name="Primary", config=config
        ),
        "backup": PluginInstance.objects.create_instance(
            remote.LocalBackup, name="Backup", status="reserved"
        ),
        "off": PluginInstance.objects.create_instance(
            remote.LocalBackup, name="Off", status="disabled"
        ),
    }


def run(*args: str) -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command("pluginhealth", *args, stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def test_a_table_of_active_and_reserved_instances(instances: dict[str, Any]) -> None:
    out, error = run("--type", "remote_service")
    assert error is None
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "Type", "Instance", "Status", "Result", "ms", "Message"]
    rows = {line.split()[2]: line for line in lines[1:]}
    assert set(rows) == {"Primary", "Backup"}  # not the disabled one
    assert "passed" in rows["Primary"]
    assert "The check passed." in rows["Primary"]
    sources = set(PluginCheckResult.objects.values_list("source", flat=True))
    assert sources == {"command"}


def test_json_and_a_non_zero_exit_when_an_active_instance_fails(
    instances: dict[str, Any], stub: ProviderStub
) -> None:
    stub.set("fail")
    out, error = run("--type", "remote_service", "--format", "json")
    assert error is not None
    assert error.returncode == 1
    assert "Primary" in str(error)
    rows = {row["name"]: row for row in json.loads(out)}
    assert rows["Primary"]["status"] == "failed"
    assert rows["Primary"]["message"].startswith("RemoteError: ")
    assert TOKEN not in out
    assert rows["Backup"]["status"] == "passed"
    assert rows["Backup"]["instance_status"] == "reserved"


def test_a_failing_reserved_instance_is_reported_without_failing_the_run(
    instances: dict[str, Any], stub: ProviderStub
) -> None:
    stub.set("fail")
    PluginInstance.objects.filter(pk=instances["primary"].pk).update(status="reserved")
    out, error = run("--type", "remote_service")
    assert error is None
    assert "FAILED" in out


def test_one_instance_whatever_its_status(instances: dict[str, Any]) -> None:
    out, error = run("--instance", str(instances["off"].pk), "--format", "json")
    assert error is None
    assert [row["name"] for row in json.loads(out)] == ["Off"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--type", "nope"], "There is no plugin type named 'nope'"),
        (["--instance", "abc"], "'abc' is not an instance id."),
        (["--instance", "999999"], "No plugin instance has the id(s) 999999."),
    ],
)
def test_bad_arguments_are_explained(
    instances: dict[str, Any], args: list[str], message: str
) -> None:
    _, error = run(*args)
    assert error is not None
    assert message in str(error)
    assert not PluginCheckResult.objects.exists()


def test_within_the_interval_the_last_result_counts(
    instances: dict[str, Any], stub: ProviderStub
) -> None:
    stub.set("fail")
    settings = {"SYNC_AFTER_MIGRATE": False, "CHECK_MIN_INTERVAL": 300}
    with override_settings(WAGTAIL_PLUGIN_SYSTEM=settings):
        _, first = run("--type", "remote_service")
        stub.set("ok")
        out, second = run("--type", "remote_service", "--format", "json")
    assert first is not None
    assert second is not None  # the failure stands until the next check is allowed
    rows = {row["name"]: row for row in json.loads(out)}
    assert rows["Primary"]["status"] == "skipped"
    assert rows["Primary"]["last_status"] == "failed"
    assert rows["Primary"]["next_check_at"]
    assert stub.count("ok") == 0


def test_enqueue_with_the_immediate_backend_runs_the_checks_inline(
    instances: dict[str, Any],
) -> None:
    out, error = run("--type", "remote_service", "--enqueue")
    assert error is None
    assert "2 check(s) enqueued." in out
    sources = list(PluginCheckResult.objects.values_list("source", flat=True))
    assert sources == ["task", "task"]


def test_enqueue_with_a_queue_leaves_the_checks_to_its_worker(
    instances: dict[str, Any],
) -> None:
    from django_tasks_db.models import DBTaskResult

    settings = {"SYNC_AFTER_MIGRATE": False, "CHECK_TASK_BACKEND": "queue"}
    with override_settings(WAGTAIL_PLUGIN_SYSTEM=settings):
        out, error = run("--type", "remote_service", "--enqueue", "--format", "json")
    assert error is None
    queued = json.loads(out)
    assert {row["id"] for row in queued} == {instances["primary"].pk, instances["backup"].pk}
    rows = DBTaskResult.objects.filter(pk__in=[row["task_result_id"] for row in queued])
    assert rows.count() == 2
    assert {row.task_path for row in rows} == {"wagtail_plugin_system.tasks.check_plugins"}
    assert not PluginCheckResult.objects.exists()  # nothing ran here
