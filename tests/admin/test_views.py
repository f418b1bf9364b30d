"""Tests for wagtail_plugin_system.admin.views and viewsets: the editor's flows in the admin."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from wagtail.models import ModelLogEntry
from wagtail.test.utils import WagtailTestUtils

from tests.testapp.factories import STRIPE_CONFIG
from tests.testapp.plugins import BankTransferGateway, FlakyGateway, StripeGateway
from wagtail_plugin_system.admin.forms import config_field_name
from wagtail_plugin_system.core.registry import PluginRegistry
from wagtail_plugin_system.models import PluginInstance, PluginItem
from wagtail_plugin_system.sync import sync_plugins

pytestmark = pytest.mark.django_db

SECRET = STRIPE_CONFIG["secret_key"]


def url(name: str, *args: Any) -> str:
    return reverse(PluginInstance.snippet_viewset.get_url_name(name), args=args)  # type: ignore[attr-defined]


@pytest.fixture
def editor(client: Client, synced: Any) -> Client:
    user = WagtailTestUtils.create_superuser("editor", password="pw")  # type: ignore[arg-type]
    client.force_login(user)
    return client


def stripe_row() -> PluginItem:
    return PluginItem.objects.get(name="stripe")


def create_stripe(editor: Client, **overrides: str) -> Any:
    data = {
        "name": "Stripe live",
        "description": "Main account",
        "status": "active",
        "priority": "10",
        **{config_field_name(k): v for k, v in STRIPE_CONFIG.items() if k != "sandbox"},
        **overrides,
    }
    return editor.post(url("add_item", stripe_row().pk), data)


def test_menu_has_the_plugins_group(editor: Client) -> None:
    html = editor.get(reverse("wagtailadmin_home")).content.decode()
    for label in ("Plugins", "Instances", "Types", "Implementations"):
        assert label in html
    assert "/admin/plugins/instances/" in html


def test_step_one_lists_present_implementations_by_type(
    editor: Client, plugin_registry: PluginRegistry
) -> None:
    plugin_registry.unregister_item(FlakyGateway)
    sync_plugins()
    response = editor.get(url("add"))
    assert response.status_code == 200
    soup = WagtailTestUtils.get_soup(response.content)  # type: ignore[arg-type]
    headings = [h.get_text(strip=True) for h in soup.select("section h2")]
    assert headings == ["Payment gateway", "Sms sender"]
    links = {a.get_text(strip=True): a["href"] for a in soup.select("section a")}
    assert links["Stripe"] == url("add_item", stripe_row().pk)
    assert "Bank transfer" in links
    assert "Flaky" not in links  # its code is missing
    assert "Card payments through Stripe." in response.content.decode()


def test_step_two_with_unknown_or_missing_implementation_goes_back(
    editor: Client, plugin_registry: PluginRegistry
) -> None:
    response = editor.get(url("add_item", 999999))
    assert response.status_code == 302
    assert response["Location"] == url("add")
    flaky = PluginItem.objects.get(name="flaky")
    plugin_registry.unregister_item(FlakyGateway)
    response = editor.post(url("add_item", flaky.pk), {"name": "x", "status": "active"})
    assert response.status_code == 302
    assert not PluginInstance.objects.filter(name="x").exists()


def test_create_through_the_admin(editor: Client) -> None:
    response = editor.get(url("add_item", stripe_row().pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="config-secret_key"' in html
    assert 'name="config-currency"' in html
    assert "Card payments through Stripe." in html

    response = create_stripe(editor)
    assert response.status_code == 302
    instance = PluginInstance.objects.get(name="Stripe live")
    assert instance.item == stripe_row()
    assert instance.config == STRIPE_CONFIG
    assert ModelLogEntry.objects.filter(
        action="wagtail.create", object_id=str(instance.pk)
    ).exists()


def test_create_with_invalid_config_shows_inline_errors(editor: Client) -> None:
    response = create_stripe(editor, **{config_field_name("retries"): "-3"})
    assert response.status_code == 200
    soup = WagtailTestUtils.get_soup(response.content)  # type: ignore[arg-type]
    retries = soup.select_one('[name="config-retries"]')
    assert retries is not None
    field_wrapper = retries.find_parent(attrs={"data-field": True}) or retries.find_parent("div")
    assert "greater than or equal to 0" in response.content.decode()
    assert field_wrapper is not None
    assert SECRET not in response.content.decode()
    assert not PluginInstance.objects.filter(name="Stripe live").exists()


def test_edit_masks_secrets_and_keeps_them(editor: Client) -> None:
    create_stripe(editor)
    instance = PluginInstance.objects.get(name="Stripe live")
    response = editor.get(url("edit", instance.pk))
    html = response.content.decode()
    assert response.status_code == 200
    assert SECRET not in html
    assert STRIPE_CONFIG["webhook_secret"] not in html
    assert "A value is stored. Leave blank to keep it." in html
    assert "Clear the stored value" in html
    assert "pk_test_123" in html

    response = editor.post(
        url("edit", instance.pk),
        {
            "name": "Stripe main",
            "description": "",
            "status": "reserved",
            "priority": "4",
            "config-publishable_key": "pk_live_999",
            "config-secret_key": "",
            "config-webhook_secret": "",
            "config-currency": "USD",
            "config-retries": "1",
        },
    )
    assert response.status_code == 302
    instance.refresh_from_db()
    assert (instance.name, instance.status, instance.priority) == ("Stripe main", "reserved", 4)
    assert instance.config["secret_key"] == SECRET
    assert instance.config["publishable_key"] == "pk_live_999"
    assert instance.config["currency"] == "USD"


def test_copy_is_turned_off(editor: Client) -> None:
    with pytest.raises(NoReverseMatch):
        url("copy", 1)


def test_inspect_shows_no_config_values(editor: Client) -> None:
    create_stripe(editor)
    instance = PluginInstance.objects.get(name="Stripe live")
    html = editor.get(url("inspect", instance.pk)).content.decode()
    assert "Stripe live" in html
    assert "fields filled in (values are not shown here)" in html
    assert SECRET not in html
    assert "pk_test_123" not in html


def test_listing_columns_filters_search_and_ordering(editor: Client, make_instance: Any) -> None:
    make_instance(StripeGateway, "Stripe live", config=STRIPE_CONFIG, priority=5)
    make_instance(BankTransferGateway, "Wire", status="disabled")
    response = editor.get(url("list"))
    soup = WagtailTestUtils.get_soup(response.content)  # type: ignore[arg-type]
    headers = [th.get_text(" ", strip=True) for th in soup.select("thead th")]
    for label in ("Name", "Type", "Implementation", "Status", "Priority", "Last check", "Usage"):
        assert any(label in header for header in headers), (label, headers)
    body = soup.select_one("tbody")
    assert body is not None
    text = body.get_text(" ", strip=True)
    assert "Stripe live" in text
    assert "Payment gateway" in text
    assert "Not tested" in text

    def names(response: Any) -> list[str]:
        soup = WagtailTestUtils.get_soup(response.content)  # type: ignore[arg-type]
        return [row.select("td a")[0].get_text(strip=True) for row in soup.select("tbody tr")]

    assert names(editor.get(url("list"), {"status": "disabled"})) == ["Wire"]
    assert names(editor.get(url("list"), {"q": "stripe"})) == ["Stripe live"]
    assert names(editor.get(url("list"), {"q": "sms"})) == ["Echo"]
    stripe = PluginItem.objects.get(name="stripe")
    assert names(editor.get(url("list"), {"item": stripe.pk})) == ["Stripe live"]
    ordered = names(editor.get(url("list"), {"ordering": "-priority"}))
    assert ordered.index("Bank transfer") < ordered.index("Stripe live")


def _listing_queries(editor: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = editor.get(url("list"))
    assert response.status_code == 200
    return len(queries)


def test_listing_query_count_does_not_grow_with_rows(editor: Client) -> None:
    bank = PluginItem.objects.get(name="bank_transfer")
    stripe = stripe_row()
    PluginInstance.objects.bulk_create(
        [PluginInstance(item=bank, name=f"few {n}", config={}) for n in range(3)]
    )
    few = _listing_queries(editor)
    PluginInstance.objects.bulk_create(
        [
            PluginInstance(item=stripe if n % 2 else bank, name=f"many {n}", config={})
            for n in range(500)
        ]
    )
    many = _listing_queries(editor)
    assert many == few, (few, many)


def test_health_check_pass_and_fail_with_redacted_message(
    editor: Client, make_instance: Any
) -> None:
    good = make_instance(StripeGateway, "Stripe live", config=STRIPE_CONFIG)
    response = editor.get(url("check", good.pk))
    assert response.status_code == 200
    assert "Run the check" in response.content.decode()
    response = editor.post(url("check", good.pk), follow=True)
    assert "passed its check" in response.content.decode()
    good.refresh_from_db()
    assert good.last_check_ok is True
    assert good.last_check_at is not None

    bad = make_instance(
        FlakyGateway, "Flaky", config={"api_key": "flaky_key_SECRET_55x", "fail_with": "x"}
    )
    response = editor.post(url("check", bad.pk), follow=True)
    html = response.content.decode()
    assert "failed its check" in html
    assert "authentication failed for key ***" in html
    assert "flaky_key_SECRET_55x" not in html
    bad.refresh_from_db()
    assert bad.last_check_ok is False
    assert "flaky_key_SECRET_55x" not in bad.last_check_message
    listing = editor.get(url("list")).content.decode()
    assert "Failed" in listing
    assert "Passed" in listing
    assert ModelLogEntry.objects.filter(
        action="wagtail_plugin_system.check", object_id=str(bad.pk), data__ok=False
    ).exists()


def test_health_check_of_unloadable_instance(
    editor: Client, make_instance: Any, plugin_registry: PluginRegistry
) -> None:
    instance = make_instance(StripeGateway, "Stripe live", config=STRIPE_CONFIG)
    plugin_registry.unregister_item(StripeGateway)
    response = editor.post(url("check", instance.pk), follow=True)
    assert "failed its check" in response.content.decode()
    instance.refresh_from_db()
    assert instance.last_check_ok is False
    assert "not registered" in instance.last_check_message


def test_health_check_of_unknown_instance_is_404(editor: Client) -> None:
    assert editor.get(url("check", 999999)).status_code == 404
    assert editor.post("/admin/plugins/instances/check/abc/").status_code == 404


def test_registry_views(
    editor: Client, make_instance: Any, plugin_registry: PluginRegistry
) -> None:
    make_instance(StripeGateway, "Stripe live", config=STRIPE_CONFIG)
    make_instance(StripeGateway, "Stripe backup", config=STRIPE_CONFIG, status="reserved")
    plugin_registry.unregister_item(FlakyGateway)
    sync_plugins()
    types = editor.get("/admin/plugins/types/")
    assert types.status_code == 200
    items = editor.get("/admin/plugins/implementations/")
    soup = WagtailTestUtils.get_soup(items.content)  # type: ignore[arg-type]
    rows = {
        tr.select_one("td a").get_text(strip=True): tr.get_text(" ", strip=True)
        for tr in soup.select("tbody tr")
        if tr.select_one("td a")
    }
    assert set(rows) == {"Stripe", "Bank transfer", "Flaky", "Echo"}
    stripe = rows["Stripe"]
    assert "Card payments through Stripe." in stripe
    # active, reserved, disabled counts
    assert " 1 1 0 " in f" {stripe} "
    assert "Add" not in [b.get_text(strip=True) for b in soup.select("header a")]
    flaky = PluginItem.objects.get(name="flaky")
    inspect = editor.get(f"/admin/plugins/implementations/inspect/{flaky.pk}/")
    assert inspect.status_code == 200
    assert "install and register it" in inspect.content.decode()
    assert editor.get("/admin/plugins/implementations/new/").status_code == 404
    assert editor.get(f"/admin/plugins/types/edit/{flaky.plugin_type_id}/").status_code == 404
