"""Tests for ``manage.py pluginimport``, against rows written by django-plugin-system 2.0.9.

The rows are written through django-plugin-system's own models, so its
configurations are encrypted by its own field (django-fernet-encrypted-fields,
keys from ``SECRET_KEY`` and ``SALT_KEY``). Item classes are not defined with
django-plugin-system (2.0.9 cannot define them); ours are registered under the
same names, as after a switch.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import uuid
from abc import abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django import forms
from django.core.management import CommandError, call_command
from django_plugin_system import models as seed

from tests.processes import ROOT, sqlite_project_env
from wagtail_plugin_system import (
    BasePluginItem,
    BasePluginType,
    PluginConfiguration,
    get_plugin_instance,
    registry,
)
from wagtail_plugin_system.compat import importer
from wagtail_plugin_system.models import PluginInstance, PluginItem, PluginStatus, PluginType
from wagtail_plugin_system.sync import sync_plugins

pytestmark = pytest.mark.django_db

SECRET = "s3cr3t-merchant-value-do-not-print"
UNICODE = "Zahlung ünïcødé 密钥 🔑 \u2013 ok"
LARGE = "x" * 200_000


class SeedPayType(BasePluginType):
    name = "seedpay"

    @abstractmethod
    def pay(self, amount: int) -> str: ...


class StripeForm(forms.Form):
    merchant_id = forms.CharField()
    sandbox = forms.BooleanField(required=False)
    retries = forms.IntegerField(required=False)


class StripeConfiguration(PluginConfiguration):
    form_class = StripeForm


class Stripe(BasePluginItem):
    name = "stripe"
    plugin_type = SeedPayType
    configuration = StripeConfiguration

    def pay(self, amount: int) -> str:
        return f"stripe {amount}"


class Cash(BasePluginItem):
    name = "cash"
    plugin_type = SeedPayType

    def pay(self, amount: int) -> str:
        return f"cash {amount}"


@pytest.fixture
def plugins() -> Iterator[None]:
    with registry.isolated():
        registry.register_item(Stripe)
        registry.register_item(Cash)
        yield


def tie_id(n: int) -> uuid.UUID:
    return uuid.UUID(int=n)


@pytest.fixture
def seed_rows(plugins: None) -> dict[str, Any]:
    """A django-plugin-system database: configured instances of every status and more."""
    pay = seed.PluginType.objects.create(name="seedpay", manager="shop.plugins", description="P")
    old = seed.PluginType.objects.create(name="old_type", manager="gone.plugins", description="")
    stripe = seed.PluginItem.objects.create(
        plugin_type=pay, module="shop.stripe", name="stripe", configurable=True, priority=7
    )
    cash = seed.PluginItem.objects.create(
        plugin_type=pay, module="shop.cash", name="cash", configurable=False, priority=0
    )
    legacy = seed.PluginItem.objects.create(
        plugin_type=pay,
        module="shop.legacy",
        name="legacy",
        configurable=True,
        priority=3,
        description=None,
    )
    gone = seed.PluginItem.objects.create(
        plugin_type=old, module="gone.item", name="gone", configurable=False, priority=0
    )
    make = seed.PluginInstance.objects.create
    rows = {
        "prod": make(
            item=stripe,
            name="Prod",
            status="active",
            priority=10,
            description="main",
            config={"merchant_id": SECRET, "sandbox": True, "retries": 3},
        ),
        "backup": make(
            item=stripe,
            name=UNICODE,
            status="reserve",
            priority=20,
            config={"merchant_id": UNICODE},
        ),
        "off": make(
            item=stripe, name="Off", status="disable", priority=5, config={"merchant_id": "o"}
        ),
        "broken": make(
            item=stripe, name="Broken", status="reserve", priority=1, config={"sandbox": True}
        ),
        "big": make(
            item=stripe,
            name="Big",
            status="active",
            priority=30,
            config={"merchant_id": LARGE, "extra": {"nested": [1, "two"]}},
        ),
        "tie_b": make(
            id=tie_id(2),
            item=stripe,
            name="TieB",
            status="active",
            priority=-1,
            config={"merchant_id": "b"},
        ),
        "tie_a": make(
            id=tie_id(1),
            item=stripe,
            name="TieA",
            status="active",
            priority=-1,
            config={"merchant_id": "a"},
        ),
        "cash": make(item=cash, name="cash", status="active", priority=0),
        "legacy": make(item=legacy, name="L", status="reserve", priority=2, config={"k": "v"}),
        "gone": make(item=gone, name="gone", status="active", priority=0),
        "undecryptable": make(item=stripe, name="Other key", status="active", priority=50),
    }
    # A configuration encrypted with keys this project does not have.
    token = Fernet(Fernet.generate_key()).encrypt(b"elsewhere").decode()
    importer.SeedInstance.objects.filter(pk=rows["undecryptable"].pk).update(
        config=json.dumps({"merchant_id": token})
    )
    return rows


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("pluginimport", *args, stdout=out)
    return out.getvalue()


def our(rows: dict[str, Any], key: str, id_map: dict[str, Any]) -> PluginInstance:
    return PluginInstance.objects.get(pk=id_map["instances"][str(rows[key].pk)])


def test_imports_every_row(seed_rows: dict[str, Any], tmp_path: Path) -> None:
    map_file = tmp_path / "ids.json"
    output = run("--id-map", str(map_file))
    id_map = json.loads(map_file.read_text())
    # 0 rows lost: every row of django-plugin-system has one of ours.
    assert set(id_map["types"]) == {
        str(pk) for pk in seed.PluginType.objects.values_list("pk", flat=True)
    }
    assert set(id_map["items"]) == {
        str(pk) for pk in seed.PluginItem.objects.values_list("pk", flat=True)
    }
    assert set(id_map["instances"]) == {
        str(pk) for pk in seed.PluginInstance.objects.values_list("pk", flat=True)
    }
    assert len(set(id_map["instances"].values())) == 11
    assert PluginInstance.objects.count() == 11
    for row in seed.PluginInstance.objects.all():
        mine = PluginInstance.objects.get(pk=id_map["instances"][str(row.pk)])
        assert (mine.name, mine.priority, mine.description) == (
            row.name,
            row.priority,
            row.description or "",
        )
    assert str(seed_rows["prod"].pk) in output
    assert SECRET not in output


def test_configurations_statuses_and_problems(seed_rows: dict[str, Any]) -> None:
    report = importer.import_seed_data()
    ids = report.id_map()
    prod = our(seed_rows, "prod", ids)
    # Validated by the registered form: the strings django-plugin-system stored get types back.
    assert prod.config == {"merchant_id": SECRET, "sandbox": True, "retries": 3}
    assert prod.status == PluginStatus.ACTIVE
    backup = our(seed_rows, "backup", ids)
    assert (backup.name, backup.status, backup.config["merchant_id"]) == (
        UNICODE,
        PluginStatus.RESERVED,
        UNICODE,
    )
    assert our(seed_rows, "off", ids).status == PluginStatus.DISABLED
    big = our(seed_rows, "big", ids)
    assert big.config["merchant_id"] == LARGE
    assert big.config["extra"] == {"nested": ["1", "two"]}  # kept, as stored
    # Not valid for the form: disabled, values kept, listed.
    broken = our(seed_rows, "broken", ids)
    assert broken.status == PluginStatus.DISABLED
    assert broken.config == {"sandbox": "True"}
    # Not decryptable: disabled, listed.
    other = our(seed_rows, "undecryptable", ids)
    assert (other.status, other.config) == (PluginStatus.DISABLED, {})
    problems = {p["name"]: p["reason"] for p in report.problems}
    assert set(problems) == {"seedpay/stripe/Broken", "seedpay/stripe/Other key"}
    assert "merchant_id" in problems["seedpay/stripe/Broken"]
    assert "decrypt" in problems["seedpay/stripe/Other key"]
    # Code not registered: imported as missing, values kept.
    legacy = our(seed_rows, "legacy", ids)
    assert legacy.item.is_missing
    assert legacy.config == {"k": "v"}
    assert legacy.status == PluginStatus.RESERVED
    gone = our(seed_rows, "gone", ids)
    assert gone.item.is_missing
    assert gone.item.plugin_type.is_missing
    stripe = PluginItem.objects.get(plugin_type__name="seedpay", name="stripe")
    assert (stripe.default_priority, stripe.is_configurable, stripe.is_missing) == (7, True, False)
    assert PluginType.objects.get(name="seedpay").description == "P"
    # New instances of an imported item get django-plugin-system's item priority.
    new = PluginInstance.objects.create_instance(Stripe, name="new", config={"merchant_id": "n"})
    assert new.priority == 7


def test_selection_matches_django_plugin_system(seed_rows: dict[str, Any]) -> None:
    pay = seed.PluginType.objects.get(name="seedpay")
    chosen = seed.PluginInstance.default_get_single_plugin(pay)
    assert chosen is not None
    assert chosen.name == "TieA"
    ids = importer.import_seed_data().id_map()
    item = get_plugin_instance(SeedPayType)
    assert item is not None
    assert item.plugin_instance is not None
    assert item.plugin_instance.pk == ids["instances"][str(chosen.pk)]
    # django-plugin-system orders equal priorities by id when it selects one.
    active = sorted(
        seed.PluginInstance.get_available_plugins(pay), key=lambda r: (r.priority, r.pk)
    )
    from wagtail_plugin_system import get_active_plugins

    assert [row.pk for row in get_active_plugins(SeedPayType)] == [
        ids["instances"][str(row.pk)] for row in active if row.name not in ("Other key",)
    ]


def test_second_run_creates_nothing(seed_rows: dict[str, Any]) -> None:
    first = importer.import_seed_data()
    counts = (
        PluginType.objects.count(),
        PluginItem.objects.count(),
        PluginInstance.objects.count(),
    )
    second = importer.import_seed_data()
    assert not second.changed
    assert {a.action for a in second.actions} == {"exists"}
    assert second.id_map() == first.id_map()
    assert counts == (
        PluginType.objects.count(),
        PluginItem.objects.count(),
        PluginInstance.objects.count(),
    )


def test_reuses_the_default_instance_pluginsync_made(seed_rows: dict[str, Any]) -> None:
    sync_plugins()
    default = PluginInstance.objects.get(item__name="cash", is_default=True)
    ids = importer.import_seed_data().id_map()
    assert ids["instances"][str(seed_rows["cash"].pk)] == default.pk
    assert PluginInstance.objects.filter(item__name="cash").count() == 1
    default.refresh_from_db()
    assert (default.name, default.priority) == ("cash", 0)


def test_dry_run_changes_nothing(seed_rows: dict[str, Any]) -> None:
    output = run("--dry-run")
    assert "dry run" in output
    assert PluginInstance.objects.count() == 0
    assert PluginType.objects.filter(name="seedpay").count() == 0
    report = importer.import_seed_data(dry_run=True)
    assert report.counts()["create instance"] == 11
    assert all(a.id is None for a in report.actions if a.action == "create")


def test_json_output(seed_rows: dict[str, Any]) -> None:
    data = json.loads(run("--format", "json"))
    assert data["counts"]["create instance"] == 11
    assert len(data["problems"]) == 2
    assert len(data["id_map"]["instances"]) == 11
    assert SECRET not in json.dumps(data)
    assert LARGE not in json.dumps(data)


def test_wrong_keys_stop_the_import(seed_rows: dict[str, Any], settings: Any) -> None:
    settings.SALT_KEY = "not-the-old-salt"
    with pytest.raises(CommandError) as caught:
        run()
    message = str(caught.value)
    assert "SALT_KEY" in message
    assert "SECRET_KEY" in message
    assert "--keep-undecryptable" in message
    assert settings.SECRET_KEY not in message
    assert PluginInstance.objects.count() == 0
    report = importer.import_seed_data(keep_undecryptable=True)
    assert len(report.problems) == 9  # every configured instance; "cash" and "gone" had none
    assert all(row.config == {} for row in PluginInstance.objects.all())
    enabled = PluginInstance.objects.exclude(status=PluginStatus.DISABLED)
    assert sorted(enabled.values_list("name", flat=True)) == ["cash", "gone"]


def test_missing_salt_key(seed_rows: dict[str, Any], settings: Any) -> None:
    del settings.SALT_KEY
    with pytest.raises(CommandError, match="SALT_KEY is not set"):
        run()


def test_absent_tables(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "INSTANCE_TABLE", "django_plugin_system_absent")
    with pytest.raises(CommandError) as caught:
        run()
    assert "django_plugin_system_absent" in str(caught.value)
    assert "--database" in str(caught.value)


def test_id_map_with_dry_run_is_refused(db: None, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="--id-map"):
        run("--dry-run", "--id-map", str(tmp_path / "x.json"))
    assert not (tmp_path / "x.json").exists()


WRITE_SEED_ROWS = """
import django
django.setup()
from django_plugin_system import models as seed
kind = seed.PluginType.objects.create(name="notify", manager="old.notify", description="")
item = seed.PluginItem.objects.create(
    plugin_type=kind, module="old.mail", name="mail", configurable=True, priority=4
)
for n, status in enumerate(["active", "reserve", "disable"]):
    seed.PluginInstance.objects.create(
        item=item, name=f"mail {n}", status=status, priority=n, config={"host": f"h{n}"}
    )
"""


@pytest.mark.slow
def test_works_without_the_seed_app_installed(migrated_sqlite: Path) -> None:
    """A project that already removed django-plugin-system from INSTALLED_APPS, tables kept."""
    env = sqlite_project_env(migrated_sqlite)
    subprocess.run([sys.executable, "-c", WRITE_SEED_ROWS], env=env, cwd=ROOT, check=True)
    without = {**env, "WPS_WITHOUT_SEED_APP": "1"}
    check = "from django.apps import apps; import django; django.setup(); "
    check += "print(apps.is_installed('django_plugin_system'))"
    installed = subprocess.run(
        [sys.executable, "-c", check], env=without, cwd=ROOT, capture_output=True, text=True
    )
    assert installed.stdout.strip() == "False", installed.stderr
    result = subprocess.run(
        [sys.executable, "-m", "django", "pluginimport", "--format", "json"],
        env=without,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["counts"] == {"create instance": 3, "create item": 1, "create type": 1}
    assert data["problems"] == []


def test_text_output_lists_the_problems(seed_rows: dict[str, Any]) -> None:
    output = run()
    assert "2 instance(s) imported disabled" in output
    assert "seedpay/stripe/Broken" in output
    assert "seedpay/stripe/Other key" in output
    assert SECRET not in output


def test_instances_that_would_merge_stop_the_import(plugins: None) -> None:
    """Two types of the same name under different module paths, each with an instance "a"."""
    for manager in ("one.plugins", "two.plugins"):
        kind = seed.PluginType.objects.create(name="seedpay", manager=manager, description="")
        item = seed.PluginItem.objects.create(
            plugin_type=kind, module=manager, name="cash", configurable=False, priority=0
        )
        seed.PluginInstance.objects.create(item=item, name="a", status="active", priority=0)
    with pytest.raises(CommandError) as caught:
        run()
    assert "'a'" in str(caught.value)
    assert "Rename" in str(caught.value)
    assert not PluginType.objects.filter(name="seedpay").exists()


def test_unwritable_id_map_is_refused_before_importing(
    seed_rows: dict[str, Any], tmp_path: Path
) -> None:
    with pytest.raises(CommandError, match="Choose another path"):
        run("--id-map", str(tmp_path / "no-such-folder" / "ids.json"))
    assert PluginInstance.objects.count() == 0
