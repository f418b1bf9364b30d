"""Concurrency: simultaneous syncs and simultaneous edits lose nothing.

The real-concurrency tests need PostgreSQL (SQLite serialises writers); the
PostgreSQL run of ``make test`` runs them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections

from tests.testapp.factories import STRIPE_CONFIG
from tests.testapp.plugins import StripeGateway
from wagtail_plugin_system.admin.forms import config_field_name, instance_form_class
from wagtail_plugin_system.models import PluginInstance, PluginItem, PluginType
from wagtail_plugin_system.sync import sync_plugins

ROOT = Path(__file__).resolve().parent.parent


def edit_data(instance: PluginInstance, **overrides: str) -> dict[str, str]:
    data = {
        "name": instance.name,
        "description": instance.description,
        "status": instance.status,
        "priority": str(instance.priority),
        config_field_name("publishable_key"): str(instance.config["publishable_key"]),
        config_field_name("secret_key"): "",
        config_field_name("webhook_secret"): "",
        config_field_name("currency"): str(instance.config["currency"]),
        config_field_name("retries"): str(instance.config["retries"]),
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_an_edit_keeps_changes_made_since_the_form_was_opened(make_instance: Any) -> None:
    instance = make_instance(StripeGateway, "Stripe live", config=STRIPE_CONFIG)
    row = PluginItem.objects.get(name="stripe")
    form_class = instance_form_class(row)
    opened = PluginInstance.objects.get(pk=instance.pk)
    stale_form_data = edit_data(opened, name="Renamed by A")

    # Meanwhile, another editor replaces the secret and a bulk action reserves it.
    other = form_class(
        instance=PluginInstance.objects.get(pk=instance.pk),
        data=edit_data(opened, **{config_field_name("secret_key"): "sk_new_from_B"}),
    )
    assert other.is_valid(), other.errors
    other.save()
    PluginInstance.objects.filter(pk=instance.pk).update(status="reserved")

    form = form_class(instance=opened, data=stale_form_data)
    assert form.is_valid(), form.errors
    form.save()
    instance.refresh_from_db()
    assert instance.name == "Renamed by A"
    assert instance.config["secret_key"] == "sk_new_from_B"  # not the value A's page held
    assert instance.status == "reserved"  # A did not touch the status


SYNC_IN_ANOTHER_PROCESS = textwrap.dedent(
    """
    import os, time
    import django
    django.setup()
    from abc import abstractmethod
    from wagtail_plugin_system import BasePluginItem, BasePluginType, registry
    from wagtail_plugin_system.sync import sync_plugins

    for t in range(20):
        plugin_type = type(f"T{t}", (BasePluginType,), {
            "name": f"race_type_{t}", "run": abstractmethod(lambda self: None)})
        for i in range(25):
            registry.register_item(type(f"I{t}_{i}", (BasePluginItem,), {
                "name": f"item_{i}", "plugin_type": plugin_type, "run": lambda self: None}))
    start = float(os.environ["START_AT"])
    while time.time() < start:
        time.sleep(0.005)
    report = sync_plugins()
    print(len(report.actions))
    """
)


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_four_syncs_at_once_make_no_error_and_no_duplicates() -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PGDATABASE": connection.settings_dict["NAME"],
        "START_AT": str(time.time() + 4),
    }
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", SYNC_IN_ANOTHER_PROCESS],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr
    changes = sorted(int(stdout.strip()) for stdout, _ in outputs)
    # One process did the work (types, items, default instances, plus the test app's);
    # the others, serialised behind it, found nothing left to do.
    assert changes[:3] == [0, 0, 0]
    assert changes[3] >= 20 + 500 + 500
    assert PluginType.objects.filter(name__startswith="race_type_").count() == 20
    assert PluginItem.objects.filter(plugin_type__name__startswith="race_type_").count() == 500
    defaults = PluginInstance.objects.filter(item__plugin_type__name__startswith="race_type_")
    assert defaults.count() == 500  # one default instance per item, never two


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_edits_of_one_instance_lose_no_config() -> None:
    sync_plugins()
    instance = PluginInstance.objects.create_instance(
        StripeGateway, name="Stripe live", config=STRIPE_CONFIG
    )
    form_class = instance_form_class(PluginItem.objects.get(name="stripe"))
    errors: list[BaseException] = []
    rounds = 15

    def edit(make_data: Any) -> None:
        try:
            for number in range(rounds):
                current = PluginInstance.objects.get(pk=instance.pk)
                form = form_class(instance=current, data=make_data(current, number))
                assert form.is_valid(), form.errors
                form.save()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    def new_secret(current: PluginInstance, number: int) -> dict[str, str]:
        return edit_data(current, **{config_field_name("secret_key"): f"sk_round_{number}"})

    def new_name(current: PluginInstance, number: int) -> dict[str, str]:
        return edit_data(current, name=f"name {number}")

    def new_publishable_key(current: PluginInstance, number: int) -> dict[str, str]:
        return edit_data(current, **{config_field_name("publishable_key"): f"pk_{number}"})

    threads = [
        threading.Thread(target=edit, args=(make,))
        for make in (new_secret, new_name, new_publishable_key)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    instance.refresh_from_db()
    assert instance.config["secret_key"] == f"sk_round_{rounds - 1}"
    assert instance.config["publishable_key"] == f"pk_{rounds - 1}"
    assert instance.name == f"name {rounds - 1}"
    assert instance.config["webhook_secret"] == STRIPE_CONFIG["webhook_secret"]


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_two_settings_saves_committing_together_make_no_server_error(
    monkeypatch: pytest.MonkeyPatch, default_site: Any
) -> None:
    """Both editors add a row for the same type; the second save waits for the first.

    Without the form's lock on the settings row, the second insert meets the
    first's uncommitted row in the unique constraint and raises ``IntegrityError``.
    Saving the settings row itself would also lock it, by accident; the test saves
    only the rows, so that it is the form's lock that is tested.
    """
    from django.db.models.signals import post_save
    from django.test import Client
    from django.urls import reverse
    from wagtail.test.utils import WagtailTestUtils
    from wagtail.test.utils.form_data import inline_formset, nested_form_data

    from tests.testapp.plugins import BankTransferGateway
    from wagtail_plugin_system.admin.site_settings import PluginSiteSettingsForm
    from wagtail_plugin_system.models import PluginSiteChoice, PluginSiteSettings

    sync_plugins()
    site = default_site
    PluginSiteSettings.for_site(site)
    payment = PluginType.objects.get(name="payment_gateway")
    main = PluginInstance.objects.get(item__name="bank_transfer")
    backup = PluginInstance.objects.create_instance(BankTransferGateway, name="Backup bank")
    user = WagtailTestUtils.create_superuser("editor", password="pw")  # type: ignore[arg-type]
    url = reverse(
        "wagtailsettings:edit", args=("wagtail_plugin_system", "pluginsitesettings", site.pk)
    )
    first_inserted = threading.Event()
    second_validated = threading.Event()
    release_first = threading.Event()
    responses: dict[str, int] = {}
    errors: list[BaseException] = []

    def hold_the_first(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
        if created and threading.current_thread().name == "first":
            first_inserted.set()
            release_first.wait(timeout=30)

    def save(name: str, chosen: PluginInstance) -> None:
        try:
            client = Client(raise_request_exception=True)
            client.force_login(user)
            data = nested_form_data(
                {"choices": inline_formset([{"plugin_type": payment.pk, "instance": chosen.pk}])}
            )
            responses[name] = client.post(url, data).status_code
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    save_settings = PluginSiteSettings.save

    def save_only_the_rows(self: PluginSiteSettings, **kwargs: Any) -> None:
        save_settings(self, update_fields=["choices"])

    monkeypatch.setattr(PluginSiteSettings, "save", save_only_the_rows)
    save_form = PluginSiteSettingsForm.save

    def note_the_second_validated(self: PluginSiteSettingsForm, commit: bool = True) -> Any:
        if threading.current_thread().name == "second":
            second_validated.set()  # its form is valid: it is about to save
        return save_form(self, commit=commit)

    monkeypatch.setattr(PluginSiteSettingsForm, "save", note_the_second_validated)
    post_save.connect(hold_the_first, sender=PluginSiteChoice)
    try:
        first = threading.Thread(target=save, args=("first", main), name="first")
        second = threading.Thread(target=save, args=("second", backup), name="second")
        first.start()
        assert first_inserted.wait(timeout=30)
        # The first save has inserted its row and not committed; the second one has
        # validated the same type against the committed rows (none) and now saves.
        second.start()
        assert second_validated.wait(timeout=30)
        time.sleep(0.5)  # time to reach the lock; validated before the commit either way
        release_first.set()
        first.join(timeout=60)
        second.join(timeout=60)
    finally:
        release_first.set()
        post_save.disconnect(hold_the_first, sender=PluginSiteChoice)
    assert not errors, errors
    assert responses["first"] == 302
    # The second save validated before the first committed, so it is saved after it,
    # replacing its row as any later save of the page would.
    assert responses["second"] == 302
    choices = list(PluginSiteChoice.objects.filter(setting__site=site))
    assert [choice.instance for choice in choices] == [backup]
