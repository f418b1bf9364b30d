"""Several worker processes: a change made through the admin reaches every one of them.

The test project runs under gunicorn with three worker processes on PostgreSQL,
once with Django's default cache (local memory: private to each worker) and
once with Redis. An editor disables the selected payment gateway through the
admin over HTTP; then at least 200 requests, spread over every worker, must all
use the next gateway.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, Request, build_opener, urlopen

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import reverse

from tests.testapp.plugins import BankTransferGateway
from wagtail_plugin_system.models import PluginInstance
from wagtail_plugin_system.sync import sync_plugins

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 3
REQUESTS = 240

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgresql,
    pytest.mark.django_db(transaction=True),
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def gunicorn(extra_env: dict[str, str]) -> Iterator[str]:
    """The test project under gunicorn (3 workers) on this test's database; yields its URL."""
    port = _free_port()
    env = {
        **os.environ,
        **extra_env,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PGDATABASE": connection.settings_dict["NAME"],
        "WPS_TEST_SERVER_ERRORS": "1",
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "tests.wsgi:application",
        "--workers",
        str(WORKERS),
        "--bind",
        f"127.0.0.1:{port}",
        "--timeout",
        "60",
    ]
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=errors
        )
        try:
            _wait_until_it_answers(url, process, errors)
            try:
                yield url
            except Exception:
                errors.seek(0)
                sys.stderr.write(f"gunicorn's errors:\n{errors.read()[-6000:]}\n")
                raise
        finally:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_it_answers(url: str, process: subprocess.Popen[bytes], errors: Any) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urlopen(f"{url}/selected-gateway/", timeout=5):
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()
                errors.seek(0)
                pytest.fail(f"gunicorn did not start: {errors.read()[-3000:]}")
            time.sleep(0.2)


def ask(url: str) -> tuple[int, str | None]:
    with urlopen(f"{url}/selected-gateway/", timeout=30) as response:
        data: dict[str, Any] = json.load(response)
    return data["pid"], data["instance"]


def ask_many(url: str, count: int) -> list[tuple[int, str | None]]:
    """``count`` requests from 8 concurrent clients, so that every worker takes some."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda _: ask(url), range(count)))


def disable_through_the_admin(url: str, instance: PluginInstance, password: str) -> None:
    """Log in to the admin over HTTP and disable ``instance`` with the bulk action."""
    opener = build_opener(HTTPCookieProcessor(CookieJar()))

    def csrf_token(page: str) -> str:
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert found, "no CSRF token on the page"
        return found.group(1)

    login = f"{url}/admin/login/"
    with opener.open(login, timeout=30) as response:
        token = csrf_token(response.read().decode())
    form = {"csrfmiddlewaretoken": token, "username": "editor", "password": password}
    request = Request(login, data=urlencode(form).encode(), headers={"Referer": login})
    with opener.open(request, timeout=30) as response:
        assert "/admin/login/" not in response.geturl(), "the login failed"
    action = reverse(
        "wagtail_bulk_action", args=("wagtail_plugin_system", "plugininstance", "disable")
    )
    listing = reverse("wagtail_plugin_system_instances:list")
    action_url = f"{url}{action}?{urlencode({'next': listing, 'id': instance.pk})}"
    with opener.open(action_url, timeout=30) as response:
        token = csrf_token(response.read().decode())
    request = Request(
        action_url,
        data=urlencode({"csrfmiddlewaretoken": token}).encode(),
        headers={"Referer": action_url},
    )
    with opener.open(request, timeout=30) as response:
        assert response.status == 200


@pytest.mark.parametrize("cache", ["default", pytest.param("redis", marks=pytest.mark.redis)])
def test_a_change_through_the_admin_reaches_every_worker(
    cache: str, request: pytest.FixtureRequest, default_site: Any
) -> None:
    extra_env: dict[str, str] = {}
    if cache == "redis":
        redis_url: str = request.getfixturevalue("redis_url")
        extra_env["WPS_TEST_REDIS_URL"] = redis_url
        import redis

        redis.Redis.from_url(redis_url).flushdb()
    sync_plugins()
    selected = PluginInstance.objects.get(item__name="bank_transfer")
    PluginInstance.objects.create_instance(BankTransferGateway, name="Next bank", priority=80)
    password = "a-test-password"
    get_user_model().objects.create_superuser("editor", "editor@example.com", password)

    with gunicorn(extra_env) as url:
        before = ask_many(url, 60)
        assert {name for _, name in before} == {selected.name}
        disable_through_the_admin(url, selected, password)
        after = ask_many(url, REQUESTS)

    answers = Counter(name for _, name in after)
    workers = {pid for pid, _ in after}
    assert len(workers) == WORKERS, f"only {len(workers)} worker(s) answered"
    assert answers == {"Next bank": REQUESTS}, f"stale answers: {answers}"
