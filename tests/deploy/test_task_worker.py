"""Health checks through a real queue: ``pluginhealth --enqueue`` and django-tasks-db's worker.

The test enqueues the checks of three instances whose provider (a loopback
HTTP server) answers, fails, or hangs for longer than the test lasts; a
``db_worker`` process, started here with the test settings on this test's
database (a SQLite file, or PostgreSQL under ``tests/postgres.py run``), runs
them. The results appear in the admin; the failing instance's circuit is open;
the hanging check did not hold the worker; and an editor pressing Test right
after is shown the worker's result, since the interval is shared by processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse
from wagtail.test.utils import WagtailTestUtils

from tests.provider_stub import provider_stub
from tests.testapp import remote
from wagtail_plugin_system import breaker, cache
from wagtail_plugin_system.models import PluginCheckResult, PluginCircuit, PluginInstance
from wagtail_plugin_system.sync import sync_plugins

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "w0rker-t0ken-value"
#: What both processes use: the worker's checks time out after 1 s; one check a minute.
PLUGIN_SETTINGS = {
    "SYNC_AFTER_MIGRATE": False,
    "CHECK_TIMEOUT": 1,
    "CHECK_MIN_INTERVAL": 60,
    "CHECK_TASK_BACKEND": "queue",
    "BREAKER_FAILURES": 3,
    "BREAKER_COOLDOWN": 30,
}

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@contextmanager
def db_worker() -> Iterator[subprocess.Popen[bytes]]:
    """django-tasks-db's worker for the ``queue`` backend, on this test's database."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "WPS_TEST_REMOTE_PLUGINS": "1",
        "WPS_TEST_PLUGIN_SETTINGS": json.dumps(PLUGIN_SETTINGS),
        "PYTHONPATH": os.pathsep.join(
            [str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")]
        ),
    }
    if connection.vendor == "sqlite":
        env["WPS_SQLITE_NAME"] = str(connection.settings_dict["NAME"])
    else:
        env["PGDATABASE"] = str(connection.settings_dict["NAME"])
    command = [
        sys.executable,
        "-m",
        "django",
        "db_worker",
        "--backend",
        "queue",
        "--interval",
        "0.2",
        "--no-startup-delay",
        "--no-reload",
        # The test project does not list django.contrib.postgres, which Django 6.1's checks
        # ask for on PostgreSQL because of Wagtail's search index; this test is about the
        # worker running the checks' task, not the test project's settings.
        "--skip-checks",
    ]
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=errors
        )
        try:
            yield process
        except BaseException:
            errors.seek(0)
            sys.stderr.write(f"the worker's errors:\n{errors.read()[-6000:]}\n")
            raise
        finally:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_for_results(count: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while PluginCheckResult.objects.count() < count:
        assert process.poll() is None, "the worker stopped"
        assert time.monotonic() < deadline, "the worker did not run the checks"
        time.sleep(0.2)


def test_enqueued_checks_run_in_the_worker_and_show_in_the_admin(default_site: Any) -> None:
    from django_tasks_db.models import DBTaskResult

    remote.register()
    sync_plugins()
    cache.clear()
    breaker.forget()
    PluginInstance.objects.of_type(remote.RemoteServiceType).delete()
    with ExitStack() as stack, override_settings(WAGTAIL_PLUGIN_SYSTEM=PLUGIN_SETTINGS):
        stubs = {mode: stack.enter_context(provider_stub()) for mode in ("ok", "fail", "hang")}
        for mode, stub in stubs.items():
            stub.set(mode, hang=120.0)
        instances = {
            mode: PluginInstance.objects.create_instance(
                remote.HttpProvider,
                name=f"Provider {mode}",
                config={"url": stub.url, "token": TOKEN, "timeout": 120.0},
            )
            for mode, stub in stubs.items()
        }
        out = StringIO()
        call_command("pluginhealth", "--type", "remote_service", "--enqueue", stdout=out)
        assert "3 check(s) enqueued." in out.getvalue()
        assert not PluginCheckResult.objects.exists()  # nothing ran in this process

        with db_worker() as process:
            wait_for_results(3, process)
            statuses = {
                row.instance_id: (row.status, row.source) for row in PluginCheckResult.objects.all()
            }
            assert statuses == {
                instances["ok"].pk: ("passed", "task"),
                instances["fail"].pk: ("failed", "task"),
                instances["hang"].pk: ("timed_out", "task"),
            }
            # The hanging provider (120 s) did not hold the worker: every task finished.
            deadline = time.monotonic() + 10
            while DBTaskResult.objects.exclude(status="SUCCESSFUL").exists():
                assert time.monotonic() < deadline, list(DBTaskResult.objects.values("status"))
                time.sleep(0.2)
            assert stubs["hang"].count("hang") == 1

        # The failed check opened the circuit (the database store, shared with the worker).
        assert PluginCircuit.objects.get(pk=instances["fail"].pk).is_open
        assert not PluginCircuit.objects.filter(pk=instances["ok"].pk, is_open=True).exists()

        client = Client()
        client.force_login(WagtailTestUtils.create_superuser("editor", password="pw"))  # type: ignore[arg-type]
        listing = client.get(reverse("wagtail_plugin_system_instances:list")).content.decode()
        assert "Timed out" in listing
        assert "Failed" in listing
        assert TOKEN not in listing
        inspect = client.get(
            reverse("wagtail_plugin_system_instances:inspect", args=[instances["fail"].pk])
        ).content.decode()
        assert "<svg" in inspect
        assert "A background task" in inspect
        # The worker's check reserved the interval: Test shows its result instead of calling.
        response = client.post(
            reverse("wagtail_plugin_system_instances:check", args=[instances["ok"].pk]),
            follow=True,
        )
        page = response.content.decode()
        assert "was checked" in page
        assert "The next check is allowed in" in page
        assert stubs["ok"].count("ok") == 1
