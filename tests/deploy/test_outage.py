"""A provider outage under several gunicorn workers: the circuit breaker shared by all.

The test project runs under gunicorn (three workers) on PostgreSQL, once with
the circuit state in the database (Django's local-memory cache, private to each
worker) and once in Redis. A view calls ``call_with_failover()`` on a primary
instance that calls a loopback provider over HTTP, with a local backup behind
it. 1,000 concurrent requests run while the provider hangs and fails; then it
recovers. The provider counts what reached it.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.request import urlopen

import pytest

from tests.deploy.test_gunicorn import WORKERS, gunicorn
from tests.provider_stub import ProviderStub, provider_stub
from tests.testapp import remote
from wagtail_plugin_system.models import PluginInstance
from wagtail_plugin_system.sync import sync_plugins

FAILURES = 5
COOLDOWN = 2.0
REQUESTS = 1000

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgresql,
    pytest.mark.django_db(transaction=True),
]


def ask(url: str) -> tuple[int, str]:
    with urlopen(f"{url}/remote-fetch/", timeout=30) as response:
        data: dict[str, Any] = json.load(response)
    return data["pid"], data["answer"]


def ask_many(url: str, count: int) -> list[tuple[int, str]]:
    with ThreadPoolExecutor(max_workers=12) as pool:
        return list(pool.map(lambda _: ask(url), range(count)))


@pytest.mark.parametrize("cache", ["database", pytest.param("redis", marks=pytest.mark.redis)])
def test_an_outage_costs_the_failures_and_one_probe_per_cooldown(
    cache: str, request: pytest.FixtureRequest, default_site: Any
) -> None:
    settings = {"BREAKER_FAILURES": FAILURES, "BREAKER_COOLDOWN": COOLDOWN}
    extra_env = {
        "WPS_TEST_REMOTE_PLUGINS": "1",
        "WPS_TEST_PLUGIN_SETTINGS": json.dumps(settings),
    }
    if cache == "redis":
        redis_url: str = request.getfixturevalue("redis_url")
        extra_env["WPS_TEST_REDIS_URL"] = redis_url
        import redis

        redis.Redis.from_url(redis_url).flushdb()
    remote.register()
    sync_plugins()
    PluginInstance.objects.of_type(remote.RemoteServiceType).delete()
    with provider_stub() as stub:
        PluginInstance.objects.create_instance(
            remote.HttpProvider,
            name="Primary",
            config={"url": stub.url, "token": "t0ken-value", "timeout": 1.0},
        )
        PluginInstance.objects.create_instance(remote.LocalBackup, name="Backup", status="reserved")
        with gunicorn(extra_env) as url:
            _outage(url, stub)


def _outage(url: str, stub: ProviderStub) -> None:
    before = ask_many(url, 60)
    assert {answer for _, answer in before} == {"remote:ok"}

    # Down: each call that reaches the provider hangs 200 ms, then fails.
    stub.set("hang", 0.2)
    went_down = time.monotonic()
    during = ask_many(url, REQUESTS)
    outage = time.monotonic() - went_down
    answers = Counter(answer for _, answer in during)
    assert answers == {"backup": REQUESTS}, answers
    assert len({pid for pid, _ in during}) == WORKERS
    dead_calls = [at for mode, at in stub.log if mode == "hang"]
    # The failures that open the circuit (plus the workers racing at the edge), then
    # at most one probe per cooldown across all workers.
    probes_allowed = int(outage // COOLDOWN) + 1
    assert len(dead_calls) <= FAILURES + WORKERS + probes_allowed, (len(dead_calls), outage)
    later = dead_calls[FAILURES + WORKERS :]
    gaps = [b - a for a, b in itertools.pairwise(later)]
    assert all(gap >= COOLDOWN * 0.8 for gap in gaps), gaps

    # Back: one probe within a cooldown closes the circuit for every worker.
    stub.set("ok")
    came_back = time.monotonic()
    first_ok = None
    while time.monotonic() - came_back < COOLDOWN * 3:
        if any(answer == "remote:ok" for _, answer in ask_many(url, 12)):
            first_ok = time.monotonic() - came_back
            break
        time.sleep(0.05)
    assert first_ok is not None, "traffic never returned to the recovered provider"
    assert first_ok <= COOLDOWN + 1.0, first_ok
    after = ask_many(url, 120)
    assert Counter(answer for _, answer in after) == {"remote:ok": 120}
