"""The circuit breaker, against a real provider on loopback called over HTTP.

Each test runs with both stores: the database (Django's local-memory cache is
private to the process, so the version token and circuits live in rows) and
the cache (``VERSION_STORE = "cache"``). Time moves by setting the breaker's
clock, never by waiting for it.
"""

from __future__ import annotations

import logging
from typing import Any

import django
import pytest
from django.core import mail
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from tests.conftest import BREAKER_NOW as NOW
from tests.provider_stub import ProviderStub
from tests.testapp import remote
from wagtail_plugin_system import (
    CircuitOpenError,
    PluginFailoverError,
    breaker,
    cache,
    call_with_failover,
    traffic,
)
from wagtail_plugin_system.core.registry import PluginRegistry
from wagtail_plugin_system.core.signals import circuit_closed, circuit_opened, failed_over
from wagtail_plugin_system.models import (
    PluginCallStats,
    PluginCircuit,
    PluginFailoverEvent,
    PluginInstance,
)
from wagtail_plugin_system.sync import sync_plugins

pytestmark = pytest.mark.slow  # a loopback provider per test

TOKEN = "tok-s3cr3t-value"


@pytest.fixture
def remote_plugins(
    plugin_registry: PluginRegistry, store: str, clock: list[float], stub: ProviderStub, db: None
) -> tuple[PluginInstance, PluginInstance]:
    """A primary calling the stub, and a reserved local backup."""
    remote.register()
    sync_plugins()
    # Sync made default instances of the items with nothing to configure.
    PluginInstance.objects.of_type(remote.RemoteServiceType).delete()
    primary = PluginInstance.objects.create_instance(
        remote.HttpProvider,
        name="Primary",
        config={"url": stub.url, "token": TOKEN, "timeout": 2.0},
    )
    backup = PluginInstance.objects.create_instance(
        remote.LocalBackup, name="Backup", status="reserved"
    )
    return primary, backup


def fetch() -> str:
    return str(call_with_failover(remote.RemoteServiceType, "fetch"))


def test_the_circuit_opens_after_the_failures_and_calls_skip_the_instance(
    remote_plugins: Any, stub: ProviderStub
) -> None:
    primary, _ = remote_plugins
    assert fetch() == "remote:ok"
    stub.set("fail")
    assert [fetch() for _ in range(10)] == ["backup"] * 10
    assert stub.count("fail") == 3  # BREAKER_FAILURES, then skipped
    assert breaker.read(primary).state(NOW) == "open"
    assert breaker.read(primary).probe_at == NOW + 30


def test_moving_the_one_clock_moves_every_reader_of_the_breakers_time(
    clock: list[float],
) -> None:
    """A circuit's state read without a time, and the admin's label of it, follow the
    clock the state machine reads: a test that moves it moves them all."""
    from wagtail_plugin_system.admin.circuits import circuit_label

    circuit = breaker.Circuit(True, NOW, NOW + 30)
    assert circuit.state() == "open"
    assert circuit_label(circuit).startswith("Open until ")
    clock[0] += 29
    assert circuit.state() == "open"
    clock[0] += 1
    assert circuit.state() == "probing"
    assert circuit_label(circuit) == "Probing"


def test_failures_outside_the_window_do_not_add_up(
    remote_plugins: Any, stub: ProviderStub, clock: list[float]
) -> None:
    primary, _ = remote_plugins
    stub.set("fail")
    fetch()
    fetch()
    clock[0] += 61
    fetch()
    fetch()
    assert not breaker.read(primary).is_open
    fetch()
    assert breaker.read(primary).is_open
    assert stub.count("fail") == 5


def test_selection_treats_an_open_circuit_like_a_disabled_instance(
    remote_plugins: Any, stub: ProviderStub
) -> None:
    from wagtail_plugin_system import get_plugin_instance

    primary, backup = remote_plugins
    item = get_plugin_instance(remote.RemoteServiceType)
    assert item is not None
    assert item.plugin_instance.pk == primary.pk
    stub.set("fail")
    for _ in range(3):
        fetch()
    item = get_plugin_instance(remote.RemoteServiceType)
    assert item is not None
    assert item.plugin_instance.pk == backup.pk


def test_one_probe_after_the_cooldown_closes_the_circuit_when_it_succeeds(
    remote_plugins: Any, stub: ProviderStub, clock: list[float]
) -> None:
    primary, _ = remote_plugins
    events: list[str] = []

    def opened(sender: Any, instance: PluginInstance, **kwargs: Any) -> None:
        events.append(f"opened {instance.name} {kwargs['failures']}")

    def closed(sender: Any, instance: PluginInstance, **kwargs: Any) -> None:
        events.append(f"closed {instance.name}")

    circuit_opened.connect(opened)
    circuit_closed.connect(closed)
    try:
        stub.set("fail")
        for _ in range(5):
            fetch()
        stub.set("ok")
        clock[0] += 29
        assert fetch() == "backup"  # still cooling down
        assert stub.count("ok") == 0
        clock[0] += 1
        assert breaker.read(primary).state(clock[0]) == "probing"
        assert fetch() == "remote:ok"  # the probe
        assert stub.count("ok") == 1
        assert not breaker.read(primary).is_open
        assert [fetch() for _ in range(3)] == ["remote:ok"] * 3
    finally:
        circuit_opened.disconnect(opened)
        circuit_closed.disconnect(closed)
    assert events == ["opened Primary 3", "closed Primary"]


def test_a_failed_probe_opens_the_circuit_for_another_cooldown(
    remote_plugins: Any, stub: ProviderStub, clock: list[float]
) -> None:
    primary, _ = remote_plugins
    stub.set("fail")
    for _ in range(3):
        fetch()
    clock[0] += 30
    assert fetch() == "backup"  # the probe failed over
    assert stub.count("fail") == 4
    circuit = breaker.read(primary)
    assert circuit.is_open
    assert circuit.probe_at == clock[0] + 30
    for _ in range(5):
        fetch()
    assert stub.count("fail") == 4


def test_only_one_call_gets_the_probe(remote_plugins: Any, clock: list[float]) -> None:
    primary, _ = remote_plugins
    for _ in range(3):
        breaker.record_failure(primary, breaker.CALL)
    clock[0] += 30
    assert breaker.admit(primary) == breaker.PROBE
    # Another process (its memory of lost reservations is empty) is refused by the store.
    breaker._probe_taken.clear()
    assert breaker.admit(primary) is None
    cache.clear()
    assert breaker.admit(primary) is None


def test_a_new_process_sees_open_circuits_at_once(remote_plugins: Any, stub: ProviderStub) -> None:
    stub.set("fail")
    for _ in range(3):
        fetch()
    cache.clear()  # what a restarted process remembers: nothing
    breaker._probe_taken.clear()
    assert fetch() == "backup"
    assert stub.count("fail") == 3


def test_when_every_candidate_is_open_the_error_says_so_without_calling_them(
    remote_plugins: Any, stub: ProviderStub
) -> None:
    primary, backup = remote_plugins
    backup.status = "disabled"
    backup.save()
    stub.set("fail")
    for _ in range(3):
        with pytest.raises(PluginFailoverError):
            fetch()
    with pytest.raises(CircuitOpenError) as caught:
        fetch()
    assert stub.count("fail") == 3
    assert caught.value.open_until == {primary.pk: NOW + 30}
    assert f"{primary.pk} (probed after " in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_programming_errors_do_not_count(remote_plugins: Any) -> None:
    broken = PluginInstance.objects.create_instance(
        remote.BrokenProvider, name="Broken", priority=1
    )
    for _ in range(6):
        with pytest.raises(KeyError):
            fetch()
    assert not breaker.read(broken).is_open


def test_slow_calls_count_when_the_type_says_so(
    remote_plugins: Any, monkeypatch: pytest.MonkeyPatch, stub: ProviderStub
) -> None:
    primary, _ = remote_plugins
    monkeypatch.setattr(remote.RemoteServiceType, "breaker_slow_call", 0.0)
    assert [fetch() for _ in range(3)] == ["remote:ok"] * 3  # slow, but they answered
    assert breaker.read(primary).is_open
    assert fetch() == "backup"


def test_an_editor_override_applies_to_its_instance(
    remote_plugins: Any, stub: ProviderStub
) -> None:
    primary, _ = remote_plugins
    PluginCircuit.objects.create(instance=primary, failure_threshold=1, cooldown_seconds=5)
    cache.bump_version()
    stub.set("fail")
    fetch()
    circuit = breaker.read(primary)
    assert circuit.is_open
    assert circuit.probe_at == NOW + 5


def test_a_zero_threshold_turns_the_breaker_off(remote_plugins: Any, stub: ProviderStub) -> None:
    with override_settings(WAGTAIL_PLUGIN_SYSTEM={"BREAKER_FAILURES": 0}):
        stub.set("fail")
        for _ in range(6):
            fetch()
    assert stub.count("fail") == 6


def test_reset_closes_the_circuit(remote_plugins: Any, stub: ProviderStub) -> None:
    primary, _ = remote_plugins
    stub.set("fail")
    for _ in range(3):
        fetch()
    stub.set("ok")
    assert breaker.reset(primary) is True
    assert fetch() == "remote:ok"
    assert breaker.reset(primary) is False


@pytest.mark.django_db(transaction=True)
def test_the_warm_path_costs_no_query(remote_plugins: Any) -> None:
    from django.db import connection

    fetch()
    with cache.version_scope():
        fetch()
        with CaptureQueriesContext(connection) as queries:
            for _ in range(5):
                assert fetch() == "remote:ok"
    assert len(queries) == 0


def test_calls_are_counted_per_minute_with_redacted_reasons(
    remote_plugins: Any, stub: ProviderStub, clock: list[float]
) -> None:
    primary, backup = remote_plugins
    fetch()
    stub.set("fail")
    fetch()
    clock[0] += 60  # the next minute: the first one is written
    fetch()
    written = list(PluginCallStats.objects.filter(instance=primary).order_by("minute"))
    assert [(row.calls, row.failures) for row in written] == [(2, 1)]
    assert "RemoteError" in written[0].last_failure
    assert TOKEN not in written[0].last_failure
    assert sum(written[0].latency_histogram) == 2
    traffic.flush()
    rows = PluginCallStats.objects.filter(instance=primary).order_by("minute")
    assert [(row.calls, row.failures) for row in rows] == [(2, 1), (1, 1)]
    served = PluginCallStats.objects.filter(instance=backup)
    assert sum(row.calls for row in served) == 2


def test_failover_events_are_kept_and_signalled(remote_plugins: Any, stub: ProviderStub) -> None:
    primary, backup = remote_plugins
    received: list[Any] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        received.append(kwargs)

    failed_over.connect(receiver)
    try:
        stub.set("fail")
        fetch()
    finally:
        failed_over.disconnect(receiver)
    event = PluginFailoverEvent.objects.get()
    assert (event.failed_id, event.served_id, event.method) == (primary.pk, backup.pk, "fetch")
    assert "RemoteError" in event.reason
    assert TOKEN not in event.reason
    assert received[0]["served"] == backup
    assert received[0]["failed"][0][0] == primary
    assert TOKEN not in received[0]["failed"][0][1]


# Django 6.0 takes plain addresses and deprecates (name, address) pairs; 5.2 takes pairs.
# Django 6.1 deprecates sending without MAILERS (EMAIL_BACKEND alone), as a site on it
# configures mail.
MAIL_SETTINGS: dict[str, Any] = {
    "ADMINS": ["ops@example.com"] if django.VERSION >= (6, 0) else [("Ops", "ops@example.com")]
}
if django.VERSION >= (6, 1):
    MAIL_SETTINGS["MAILERS"] = {
        "default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    }


@override_settings(**MAIL_SETTINGS)
def test_admins_are_told_once_when_opted_in(
    remote_plugins: Any, stub: ProviderStub, clock: list[float]
) -> None:
    primary, _ = remote_plugins
    with override_settings(
        WAGTAIL_PLUGIN_SYSTEM={"BREAKER_FAILURES": 1, "BREAKER_NOTIFY_ADMINS": True}
    ):
        stub.set("fail")
        fetch()
        breaker.reset(primary)
        fetch()  # opens again within the hour: no second mail
    assert len(mail.outbox) == 1
    assert "Primary" in mail.outbox[0].subject
    assert TOKEN not in mail.outbox[0].body


def test_no_notice_without_opting_in(remote_plugins: Any, stub: ProviderStub) -> None:
    stub.set("fail")
    for _ in range(3):
        fetch()
    assert mail.outbox == []


_exporter: list[Any] = []


def span_exporter() -> Any:
    """An in-memory exporter on the process's tracer provider (installed once)."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    if not _exporter:
        provider = trace.get_tracer_provider()
        if not isinstance(provider, TracerProvider):
            provider = TracerProvider()
            trace.set_tracer_provider(provider)
        exporter = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        _exporter.append(exporter)
    _exporter[0].clear()
    return _exporter[0]


def test_each_call_is_a_span_without_secrets(remote_plugins: Any, stub: ProviderStub) -> None:
    exporter = span_exporter()
    primary, backup = remote_plugins
    stub.set("fail")
    fetch()
    spans = exporter.get_finished_spans()
    attributes = [dict(span.attributes or {}) for span in spans]
    assert attributes == [
        {
            "plugin.type": "remote_service",
            "plugin.item": "http_provider",
            "plugin.instance.id": primary.pk,
            "error.type": "RemoteError",
        },
        {
            "plugin.type": "remote_service",
            "plugin.item": "local_backup",
            "plugin.instance.id": backup.pk,
        },
    ]
    assert all(TOKEN not in str(span.to_json()) for span in spans)


@pytest.mark.redis
def test_an_unreachable_store_lets_calls_through_and_says_so_once(
    plugin_registry: PluginRegistry,
    stub: ProviderStub,
    db: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.redis_server import throwaway_redis

    with throwaway_redis() as url:
        caches = {
            "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
        }
        with override_settings(CACHES=caches, WAGTAIL_PLUGIN_SYSTEM={"BREAKER_FAILURES": 2}):
            cache.clear()
            remote.register()
            sync_plugins()
            PluginInstance.objects.of_type(remote.RemoteServiceType).delete()
            PluginInstance.objects.create_instance(
                remote.HttpProvider,
                name="Primary",
                config={"url": stub.url, "token": TOKEN, "timeout": 2.0},
            )
            PluginInstance.objects.create_instance(remote.LocalBackup, name="Backup", priority=200)
            scope = cache.version_scope()
            scope.__enter__()
            assert fetch() == "remote:ok"  # the token is read now, while Redis answers
    # Redis is gone; the version token was read in this scope before it went.
    try:
        with override_settings(CACHES=caches, WAGTAIL_PLUGIN_SYSTEM={"BREAKER_FAILURES": 2}):
            stub.set("fail")
            with caplog.at_level(logging.WARNING, logger="wagtail_plugin_system.breaker"):
                assert [fetch() for _ in range(5)] == ["backup"] * 5
    finally:
        scope.__exit__(None, None, None)
        cache.clear()
    assert stub.count("fail") == 5  # no circuit could open: every call tried the primary
    warnings = [r for r in caplog.records if "cannot be reached" in r.getMessage()]
    assert len(warnings) == 1


@pytest.mark.django_db(transaction=True)
def test_an_open_circuit_costs_no_query_once_known(remote_plugins: Any, stub: ProviderStub) -> None:
    from django.db import connection

    stub.set("fail")
    for _ in range(3):
        fetch()
    traffic.flush()
    with cache.version_scope():
        fetch()
        with CaptureQueriesContext(connection) as queries:
            for _ in range(5):
                assert fetch() == "backup"
    assert [query["sql"] for query in queries] == []
    assert stub.count("fail") == 3


@pytest.mark.parametrize("name", ["BREAKER_FAILURES", "BREAKER_WINDOW", "BREAKER_COOLDOWN"])
def test_a_bad_setting_is_a_system_check_error(name: str) -> None:
    from wagtail_plugin_system.checks import check_settings

    with override_settings(WAGTAIL_PLUGIN_SYSTEM={name: "five"}):
        errors = [message for message in check_settings() if message.id.endswith(".E008")]
    assert len(errors) == 1
    assert name in errors[0].msg


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_warm_call_makes_one_round_trip_to_redis(
    plugin_registry: PluginRegistry, stub: ProviderStub, redis_url: str
) -> None:
    """Outside a request, a warm call reads the version token and nothing else."""
    import redis

    caches = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}
    }
    server = redis.Redis.from_url(redis_url)
    with override_settings(CACHES=caches, WAGTAIL_PLUGIN_SYSTEM={"SYNC_AFTER_MIGRATE": False}):
        server.flushdb()
        cache.clear()
        remote.register()
        sync_plugins()
        PluginInstance.objects.of_type(remote.RemoteServiceType).delete()
        PluginInstance.objects.create_instance(
            remote.HttpProvider,
            name="Primary",
            config={"url": stub.url, "token": TOKEN, "timeout": 2.0},
        )
        fetch()
        server.config_resetstat()
        for _ in range(5):
            assert fetch() == "remote:ok"
        closed = commands_since_reset(server)
        PluginInstance.objects.create_instance(remote.LocalBackup, name="Backup", status="reserved")
        stub.set("fail")
        for _ in range(6):
            fetch()
        assert stub.count("fail") == 5  # the circuit opened
        server.config_resetstat()
        for _ in range(5):
            assert fetch() == "backup"
        opened = commands_since_reset(server)
        traffic.discard()
        cache.clear()
    assert closed == {"get": 5}  # the version token, once per call
    assert opened == {"get": 5}  # the same with the primary's circuit open


def commands_since_reset(server: Any) -> dict[str, int]:
    commands = {
        name.removeprefix("cmdstat_"): stats["calls"]
        for name, stats in server.info("commandstats").items()
    }
    commands.pop("config|resetstat", None)
    return commands


def test_the_site_settings_apply_as_soon_as_they_change(
    remote_plugins: Any, stub: ProviderStub
) -> None:
    from django.conf import settings

    primary, _ = remote_plugins
    stub.set("fail")
    current = settings.WAGTAIL_PLUGIN_SYSTEM
    with override_settings(WAGTAIL_PLUGIN_SYSTEM={**current, "BREAKER_FAILURES": 0}):
        for _ in range(4):
            fetch()
    assert not breaker.read(primary).is_open
    with override_settings(WAGTAIL_PLUGIN_SYSTEM={**current, "BREAKER_FAILURES": 2}):
        for _ in range(4):
            fetch()
    assert breaker.read(primary).is_open
    assert stub.count("fail") == 6


def test_the_sites_limits_follow_a_change_of_settings() -> None:
    """They are checked once and kept: a change of settings must still be seen."""
    with override_settings(WAGTAIL_PLUGIN_SYSTEM={"BREAKER_FAILURES": 3}):
        assert breaker.site_limits().failures == 3
        with override_settings(WAGTAIL_PLUGIN_SYSTEM={"BREAKER_FAILURES": 7, "BREAKER_WINDOW": 9}):
            limits = breaker.site_limits()
            assert (limits.failures, limits.window) == (7, 9)
        assert breaker.site_limits().failures == 3
