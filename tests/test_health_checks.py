"""Health checks as a service: history, timeout, the interval across processes, the breaker.

The provider is a real HTTP server on loopback (``tests.provider_stub``) that a
test makes answer, fail or hang; the instance's check calls it with urllib.
Each test that depends on the shared store runs with both stores (rows in the
database, keys in the cache). Time moves by setting the breaker's clock.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import override_settings
from django.utils import timezone
from wagtail.models import ModelLogEntry

from tests.conftest import BREAKER_NOW as NOW
from tests.provider_stub import ProviderStub
from tests.testapp import remote
from wagtail_plugin_system import breaker, health
from wagtail_plugin_system.audit import CHECK_LOG_ACTION
from wagtail_plugin_system.core.registry import PluginRegistry
from wagtail_plugin_system.health import HealthResult, Throttled, check_instance
from wagtail_plugin_system.models import (
    CheckSource,
    CheckStatus,
    PluginCheckResult,
    PluginCircuit,
    PluginInstance,
)
from wagtail_plugin_system.sync import sync_plugins

TOKEN = "tok-h34lth-s3cret"


def configure(**changes: Any) -> Any:
    """The settings in force (the store's, in a test that has one), with ``changes``."""
    return override_settings(WAGTAIL_PLUGIN_SYSTEM={**settings.WAGTAIL_PLUGIN_SYSTEM, **changes})


@pytest.fixture
def primary(
    plugin_registry: PluginRegistry, store: str, clock: list[float], stub: ProviderStub, db: None
) -> PluginInstance:
    remote.register()
    sync_plugins()
    PluginInstance.objects.of_type(remote.RemoteServiceType).delete()
    return PluginInstance.objects.create_instance(
        remote.HttpProvider,
        name="Primary",
        config={"url": stub.url, "token": TOKEN, "timeout": 5.0},
    )


def fresh(instance: PluginInstance) -> PluginInstance:
    return PluginInstance.objects.select_related("item__plugin_type").get(pk=instance.pk)


def test_each_result_is_kept_with_its_status_duration_and_who_ran_it(
    primary: PluginInstance, stub: ProviderStub
) -> None:
    user = get_user_model().objects.create_user("ed", password="pw")
    passed = health.run_health_check(primary, user=user, source=CheckSource.EDITOR)
    stub.set("fail")
    failed = health.run_health_check(fresh(primary), source=CheckSource.COMMAND)
    assert (passed.status, failed.status) == (CheckStatus.PASSED, CheckStatus.FAILED)
    rows = list(PluginCheckResult.objects.filter(instance=primary))  # newest first
    assert [(row.status, row.source, row.user_id) for row in rows] == [
        ("failed", "command", None),
        ("passed", "editor", user.pk),
    ]
    assert all(row.duration_ms > 0 for row in rows)
    # The provider's error repeats the token in its URL: blanked out before it is stored.
    assert rows[0].message.startswith("RemoteError: ")
    assert TOKEN not in rows[0].message
    assert "***" in rows[0].message
    # The instance repeats the newest result.
    instance = fresh(primary)
    assert (instance.last_check_ok, instance.last_check_message) == (False, rows[0].message)
    assert instance.last_check_at == rows[0].checked_at


def test_a_hanging_check_times_out_and_is_not_started_twice(
    primary: PluginInstance, stub: ProviderStub
) -> None:
    stub.set("hang", hang=3.0)
    with configure(CHECK_TIMEOUT=0.3):
        first = health.run_health_check(primary, source=CheckSource.TASK)
        assert first.status == CheckStatus.TIMED_OUT
        assert first.message == health.TIMED_OUT_MESSAGE
        # The first one still hangs: the second is not started, and says so.
        second = health.run_health_check(fresh(primary), source=CheckSource.TASK)
        assert second.status == CheckStatus.TIMED_OUT
        assert second.message == health.STILL_RUNNING_MESSAGE
        assert stub.count("hang") == 1
        health._hung[primary.pk].join(10)  # the provider answers in the end
        stub.set("ok")
        third = health.run_health_check(fresh(primary), source=CheckSource.TASK)
    assert third.status == CheckStatus.PASSED
    statuses = list(
        PluginCheckResult.objects.filter(instance=primary).values_list("status", flat=True)
    )
    assert statuses == ["passed", "timed_out", "timed_out"]


def test_no_timeout_runs_the_check_in_the_callers_thread(
    primary: PluginInstance, stub: ProviderStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[threading.Thread] = []
    original = remote.HttpProvider.check

    def check(self: remote.HttpProvider) -> bool:
        threads.append(threading.current_thread())
        return original(self)

    monkeypatch.setattr(remote.HttpProvider, "check", check)
    with configure(CHECK_TIMEOUT=0):
        assert health.run_health_check(primary).status == CheckStatus.PASSED
    with configure(CHECK_TIMEOUT=5):
        assert health.run_health_check(fresh(primary)).status == CheckStatus.PASSED
    assert threads[0] is threading.current_thread()
    assert threads[1] is not threading.current_thread()


def test_one_check_per_interval_then_the_last_result_and_when_the_next_is_allowed(
    primary: PluginInstance, stub: ProviderStub, clock: list[float], store: str
) -> None:
    with configure(CHECK_MIN_INTERVAL=60):
        first = check_instance(primary)
        assert isinstance(first, HealthResult)
        assert first.ok
        stub.set("fail")
        clock[0] += 59
        again = check_instance(fresh(primary))
        assert isinstance(again, Throttled)
        assert again.next_at == dt.datetime.fromtimestamp(NOW + 60, tz=dt.UTC)
        assert again.wait_seconds == 1  # by the breaker's clock, which reserved the check
        assert again.last is not None
        assert again.last.status == CheckStatus.PASSED
        assert stub.count("fail") == 0  # the provider was not called
        clock[0] += 1
        later = check_instance(fresh(primary))
    assert isinstance(later, HealthResult)
    assert later.status == CheckStatus.FAILED
    assert PluginCheckResult.objects.filter(instance=primary).count() == 2


def test_the_interval_is_per_instance(
    primary: PluginInstance, stub: ProviderStub, store: str
) -> None:
    other = PluginInstance.objects.create_instance(
        remote.HttpProvider, name="Other", config={"url": stub.url, "token": "x", "timeout": 5.0}
    )
    with configure(CHECK_MIN_INTERVAL=60):
        assert isinstance(check_instance(primary), HealthResult)
        assert isinstance(check_instance(other), HealthResult)
        assert isinstance(check_instance(fresh(primary)), Throttled)


def test_a_failed_scheduled_check_opens_the_circuit_and_a_pass_after_the_cooldown_closes_it(
    primary: PluginInstance, stub: ProviderStub, clock: list[float], store: str
) -> None:
    opened: list[Any] = []
    from wagtail_plugin_system.core.signals import circuit_opened

    circuit_opened.connect(lambda **kw: opened.append(kw), weak=False, dispatch_uid="t-open")
    try:
        stub.set("fail")
        # An editor's test does not move traffic.
        health.run_health_check(primary, source=CheckSource.EDITOR)
        assert not breaker.read(primary).is_open
        health.run_health_check(fresh(primary), source=CheckSource.TASK)
        circuit = breaker.read(primary)
        assert circuit.is_open
        assert circuit.probe_at == NOW + 30
        assert len(opened) == 1
        # Within the cooldown a passing check leaves it open (calls skip it meanwhile).
        stub.set("ok")
        health.run_health_check(fresh(primary), source=CheckSource.TASK)
        assert breaker.read(primary).is_open
        clock[0] += 31
        health.run_health_check(fresh(primary), source=CheckSource.COMMAND)
        assert not breaker.read(primary).is_open
    finally:
        circuit_opened.disconnect(dispatch_uid="t-open")


def test_a_failed_probe_by_a_check_keeps_the_circuit_open_for_another_cooldown(
    primary: PluginInstance, stub: ProviderStub, clock: list[float]
) -> None:
    stub.set("fail")
    health.run_health_check(primary, source=CheckSource.TASK)
    clock[0] += 31
    health.run_health_check(fresh(primary), source=CheckSource.TASK)
    circuit = breaker.read(primary)
    assert circuit.is_open
    assert circuit.probe_at == NOW + 31 + 30


def test_with_the_breaker_off_a_failed_check_opens_nothing(
    primary: PluginInstance, stub: ProviderStub, store: str
) -> None:
    stub.set("fail")
    with configure(BREAKER_FAILURES=0):
        health.run_health_check(primary, source=CheckSource.TASK)
        assert not breaker.read(primary).is_open
    assert not PluginCircuit.objects.filter(pk=primary.pk, is_open=True).exists()


def test_scheduled_checks_write_history_entries_only_when_the_outcome_changes(
    primary: PluginInstance, stub: ProviderStub
) -> None:
    def entries() -> list[Any]:
        return [
            entry.data
            for entry in ModelLogEntry.objects.filter(
                action=CHECK_LOG_ACTION, object_id=str(primary.pk)
            ).order_by("pk")
        ]

    for _ in range(3):
        health.run_health_check(fresh(primary), source=CheckSource.TASK)
    stub.set("fail")
    for _ in range(2):
        health.run_health_check(fresh(primary), source=CheckSource.TASK)
    health.run_health_check(fresh(primary), source=CheckSource.EDITOR)  # always written
    assert entries() == [{"ok": True}, {"ok": False}, {"ok": False}]
    assert PluginCheckResult.objects.filter(instance=primary).count() == 6


def test_results_older_than_the_retention_are_deleted(
    primary: PluginInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = PluginCheckResult.objects.create(
        instance=primary,
        checked_at=timezone.now() - dt.timedelta(days=31),
        status=CheckStatus.PASSED,
        source=CheckSource.TASK,
    )
    kept = PluginCheckResult.objects.create(
        instance=primary,
        checked_at=timezone.now() - dt.timedelta(days=29),
        status=CheckStatus.PASSED,
        source=CheckSource.TASK,
    )
    monkeypatch.setattr(health, "_last_purge", [0.0])
    health.run_health_check(primary, source=CheckSource.TASK)
    remaining = set(PluginCheckResult.objects.values_list("pk", flat=True))
    assert old.pk not in remaining
    assert kept.pk in remaining
    assert len(remaining) == 2


def test_an_instance_that_cannot_load_is_unavailable_and_leaves_the_circuit_alone(
    primary: PluginInstance, plugin_registry: PluginRegistry
) -> None:
    plugin_registry.unregister_item(remote.HttpProvider)
    result = health.run_health_check(fresh(primary), source=CheckSource.TASK)
    assert result.status == CheckStatus.UNAVAILABLE
    assert not result.ok
    assert not breaker.read(primary).is_open


def test_what_checks_run_active_and_reserved_or_the_ids_asked_for(
    primary: PluginInstance, stub: ProviderStub
) -> None:
    reserved = PluginInstance.objects.create_instance(
        remote.LocalBackup, name="Backup", status="reserved"
    )
    disabled = PluginInstance.objects.create_instance(
        remote.LocalBackup, name="Off", status="disabled"
    )
    names = {i.name for i in health.checkable_instances(plugin_type="remote_service")}
    assert names == {"Primary", "Backup"}
    assert [i.pk for i in health.checkable_instances(instance_ids=[disabled.pk])] == [disabled.pk]
    assert reserved.pk not in [i.pk for i in health.checkable_instances(plugin_type="payment")]


@pytest.mark.parametrize(
    "name", ["CHECK_TIMEOUT", "CHECK_MIN_INTERVAL", "CHECK_HISTORY_DAYS", "CHECK_STALE_AFTER"]
)
def test_a_malformed_check_setting_is_a_system_check_error(name: str) -> None:
    from wagtail_plugin_system.checks import check_settings

    with configure(**{name: "ten"}):
        errors = [message for message in check_settings() if message.id.endswith(".E009")]
    assert len(errors) == 1
    assert name in errors[0].msg
    with configure():
        assert not [message for message in check_settings() if message.id.endswith(".E009")]
