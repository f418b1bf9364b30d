"""Tests for wagtail_plugin_system.admin.views and viewsets: the editor's flows in the admin."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from wagtail.models import ModelLogEntry
from wagtail.test.utils import WagtailTestUtils
from wagtail.test.utils.form_data import querydict_from_html

from tests.testapp.factories import STRIPE_CONFIG
from tests.testapp.plugins import (
    BankTransferGateway,
    FlakyGateway,
    PaymentGatewayType,
    StripeGateway,
)
from wagtail_plugin_system import BasePluginItem, PluginConfiguration
from wagtail_plugin_system.admin.forms import config_field_name
from wagtail_plugin_system.core.registry import PluginRegistry
from wagtail_plugin_system.fields import Ciphertext, encrypt_text
from wagtail_plugin_system.models import PluginInstance, PluginItem, PluginType
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


def test_test_buttons_lead_back_to_the_listing_as_it_was(
    editor: Client, make_instance: Any
) -> None:
    from urllib.parse import parse_qs, urlsplit

    stripe = make_instance(StripeGateway, "Stripe live", config=STRIPE_CONFIG, priority=5)
    wire = make_instance(BankTransferGateway, "Wire", status="disabled")
    query = {"ordering": "-priority", "q": "i"}
    for listing in (url("list"), url("list_results")):
        soup = WagtailTestUtils.get_soup(editor.get(listing, query).content)  # type: ignore[arg-type]
        buttons = {
            a["href"].split("?")[0]: a["href"]
            for a in soup.select("a[href]")
            if "/check/" in a["href"]
        }
        for instance in (stripe, wire):
            href = buttons[url("check", instance.pk)]
            (back,) = parse_qs(urlsplit(href).query)["next"]
            # The listing page itself (not the results-only view), with its query.
            assert urlsplit(back).path == url("list")
            assert parse_qs(urlsplit(back).query) == {"ordering": ["-priority"], "q": ["i"]}


def test_usage_count_links_to_the_usage_view(editor: Client, make_instance: Any) -> None:
    instance = make_instance(StripeGateway, "Stripe live", config=STRIPE_CONFIG)
    soup = WagtailTestUtils.get_soup(editor.get(url("list")).content)  # type: ignore[arg-type]
    links = [(a.get_text(" ", strip=True), a["href"]) for a in soup.select("tbody td a")]
    usage = [href for text, href in links if text.startswith("Used")]
    assert usage
    assert "" not in usage
    assert url("usage", instance.pk) in usage
    assert editor.get(url("usage", instance.pk)).status_code == 200


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


@pytest.mark.parametrize(
    "said", ["nul \x00 byte", "lone \ud800 surrogate", "\udfff\x00", "pair \ud83d\ude00"]
)
def test_health_check_whose_message_no_database_stores_is_no_server_error(
    editor: Client,
    plugin_registry: PluginRegistry,
    monkeypatch: pytest.MonkeyPatch,
    said: str,
) -> None:
    from tests.test_health import SayingGateway

    plugin_registry.register_item(SayingGateway)
    sync_plugins()
    instance = PluginInstance.objects.get(item__name="saying")
    monkeypatch.setattr(SayingGateway, "message", said)
    editor.raise_request_exception = True
    response = editor.post(url("check", instance.pk), follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "failed its check" in html
    expected = said.replace("\x00", "\ufffd")
    for surrogate in ("\ud800", "\udfff", "\ud83d", "\ude00"):
        expected = expected.replace(surrogate, "\ufffd")
    assert expected in html  # shown without the exception's type name
    instance.refresh_from_db()
    assert instance.last_check_message == f"ValueError: {expected}"
    listing = editor.get(url("list"))
    assert listing.status_code == 200
    assert editor.get(url("inspect", instance.pk)).status_code == 200


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


# -- fault isolation (issue 12) -------------------------------------------------------------


#: A secret an editor types in (defined here, far from any line an error report quotes).
TYPED_SECRET = "whsec_TYPED_NEW_1234"

BROKEN_TEXTS = {
    "not json": "publishable_key=pk; secret_key=sk_live_UNIQUE_SECRET_7f3a9c",
    "a list": '["sk_live_UNIQUE_SECRET_7f3a9c"]',
    "a string": '"sk_live_UNIQUE_SECRET_7f3a9c"',
    "a number": "90417733",
    "null": "null",
}


def _stripe(make_instance: Any, name: str = "Stripe live") -> PluginInstance:
    instance: PluginInstance = make_instance(StripeGateway, name, config=STRIPE_CONFIG)
    return instance


def _raw(pk: int) -> str:
    return str(PluginInstance.objects.filter(pk=pk).values_list("config", flat=True).get().token)


@pytest.mark.parametrize("how", list(BROKEN_TEXTS))
def test_a_configuration_that_is_not_a_json_object_can_be_entered_again(
    editor: Client, make_instance: Any, how: str
) -> None:
    instance = _stripe(make_instance)
    token = encrypt_text(BROKEN_TEXTS[how])
    PluginInstance.objects.filter(pk=instance.pk).update(config=Ciphertext(token))

    inspect = editor.get(url("inspect", instance.pk))
    assert inspect.status_code == 200
    assert "it is not a JSON object" in inspect.content.decode()
    listing = editor.get(url("list"))
    assert listing.status_code == 200
    check = editor.post(url("check", instance.pk), {})
    assert check.status_code == 302

    response = editor.get(url("edit", instance.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert "is not a JSON object" in html
    assert SECRET not in html
    assert "90417733" not in html
    data = querydict_from_html(html, form_id="w-editor-form")
    assert data["config-publishable_key"] == ""  # offered empty, to be filled in again

    # Metadata alone cannot be saved without the configuration: the secret key is required.
    data["name"] = "Stripe again"
    response = editor.post(url("edit", instance.pk), data)
    assert response.status_code == 200
    assert _raw(instance.pk) == token  # kept until a valid configuration is saved
    for key, value in STRIPE_CONFIG.items():
        if value is not False:
            data[config_field_name(key)] = str(value)
    response = editor.post(url("edit", instance.pk), data)
    assert response.status_code == 302
    stored = PluginInstance.objects.get(pk=instance.pk)
    assert stored.name == "Stripe again"
    assert stored.config == STRIPE_CONFIG
    assert stored.load_instance().create_payment(1) == "stripe:1:EUR"


@pytest.mark.parametrize("case", ["lists 50,000 deep", "objects 50,000 deep", "3 MB"])
def test_a_configuration_beyond_the_limits_is_no_server_error(
    editor: Client, make_instance: Any, case: str
) -> None:
    from tests.test_fields_limits import BEYOND

    instance = _stripe(make_instance)
    token = encrypt_text(BEYOND[case])
    PluginInstance.objects.filter(pk=instance.pk).update(config=Ciphertext(token))
    editor.raise_request_exception = True

    inspect = editor.get(url("inspect", instance.pk))
    assert inspect.status_code == 200
    assert "or is larger or nested deeper than a configuration may be" in (inspect.content.decode())
    assert editor.get(url("list")).status_code == 200
    check = editor.post(url("check", instance.pk), {}, follow=True)
    assert check.status_code == 200
    assert "Its stored configuration is damaged" in check.content.decode()
    dashboard = editor.get(reverse("wagtailadmin_home"))
    assert dashboard.status_code == 200
    assert "Its stored configuration is damaged: it is skipped." in dashboard.content.decode()

    response = editor.get(url("edit", instance.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert "or is larger or nested deeper than a configuration may be" in html
    data = querydict_from_html(html, form_id="w-editor-form")
    assert data["config-publishable_key"] == ""
    assert _raw(instance.pk) == token
    for key, value in STRIPE_CONFIG.items():
        if value is not False:
            data[config_field_name(key)] = str(value)
    response = editor.post(url("edit", instance.pk), data)
    assert response.status_code == 302
    assert PluginInstance.objects.get(pk=instance.pk).config == STRIPE_CONFIG


def test_a_configuration_too_large_to_store_is_a_form_error(
    editor: Client, make_instance: Any
) -> None:
    from wagtail_plugin_system.fields import MAX_CONFIG_BYTES

    instance = _stripe(make_instance)
    token = _raw(instance.pk)
    editor.raise_request_exception = True
    html = editor.get(url("edit", instance.pk)).content.decode()
    data = querydict_from_html(html, form_id="w-editor-form")
    data[config_field_name("publishable_key")] = "p" * (MAX_CONFIG_BYTES + 1)
    response = editor.post(url("edit", instance.pk), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "The configuration cannot be stored: it must be at most 1024 KiB of JSON" in page
    assert _raw(instance.pk) == token
    response = create_stripe(editor, **{config_field_name("publishable_key"): "p" * 2_000_000})
    assert response.status_code == 200
    assert "The configuration cannot be stored" in response.content.decode()
    assert (
        PluginInstance.objects.count() == PluginInstance.objects.filter(pk__lte=instance.pk).count()
    )


@pytest.mark.parametrize("key", ["not-a-key", ["bad", "worse"], None, 12345])
def test_a_malformed_key_is_explained_not_a_server_error(
    editor: Client, make_instance: Any, key: object
) -> None:
    instance = _stripe(make_instance)
    token = _raw(instance.pk)
    editor.raise_request_exception = True
    with override_settings(FIELD_ENCRYPTION_KEY=key):
        response = editor.get(url("edit", instance.pk))
        assert response.status_code == 200
        html = response.content.decode()
        assert "FIELD_ENCRYPTION_KEY setting is missing or malformed" in html
        assert 'name="config-' not in html
        inspect = editor.get(url("inspect", instance.pk))
        assert inspect.status_code == 200
        assert "Unavailable:" in inspect.content.decode()
        assert editor.get(url("list")).status_code == 200
        response = editor.post(url("check", instance.pk), {})
        assert response.status_code == 302
        assert "failed its check" in editor.get(reverse("wagtailadmin_home")).content.decode()
        data = querydict_from_html(html, form_id="w-editor-form")
        data["name"] = "Renamed anyway"
        assert editor.post(url("edit", instance.pk), data).status_code == 302
        response = create_stripe(editor, name="Created with a bad key")
        assert response.status_code == 200
        assert "FIELD_ENCRYPTION_KEY setting is missing or malformed" in response.content.decode()
        assert SECRET not in response.content.decode()
    assert _raw(instance.pk) == token
    assert PluginInstance.objects.get(pk=instance.pk).name == "Renamed anyway"
    assert not PluginInstance.objects.filter(name="Created with a bad key").exists()


class ExplodingForm(forms.Form):
    api_key = forms.CharField(widget=forms.PasswordInput)
    when = forms.CharField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.data.get(f"{self.prefix}-when") == "init":
            raise RuntimeError("the form cannot start")

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean()
        if cleaned.get("when") == "clean":
            raise KeyError(f"no account for {cleaned.get('api_key')}")
        return cleaned


class ExplodingConfiguration(PluginConfiguration):
    form_class = ExplodingForm


class ExplodingFormGateway(BasePluginItem):
    name = "exploding_form"
    plugin_type = PaymentGatewayType
    configuration = ExplodingConfiguration

    def create_payment(self, amount: int) -> str:
        return "exploding"


@pytest.fixture
def exploding(editor: Client, plugin_registry: PluginRegistry) -> PluginItem:
    plugin_registry.register_item(ExplodingFormGateway)
    sync_plugins()
    return PluginItem.objects.get(name="exploding_form")


@pytest.mark.parametrize("when", ["init", "clean"])
def test_a_configuration_form_that_raises_gives_an_error_message(
    editor: Client, exploding: PluginItem, when: str, caplog: pytest.LogCaptureFixture
) -> None:
    typed = "typed_SECRET_key_5521"
    data = {"name": "Boom", "description": "", "status": "active", "priority": "1"}
    data.update({"config-api_key": typed, "config-when": when})
    response = editor.post(url("add_item", exploding.pk), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "failed while checking the values" in html
    assert typed not in html
    assert not PluginInstance.objects.filter(name="Boom").exists()

    instance = PluginInstance.objects.create_instance(
        ExplodingFormGateway, name="Stored", config={"api_key": "stored_SECRET_9090", "when": ""}
    )
    token = _raw(instance.pk)
    page = editor.get(url("edit", instance.pk)).content.decode()
    data = querydict_from_html(page, form_id="w-editor-form")
    data.update({"name": "Stored, renamed", "config-when": when})
    response = editor.post(url("edit", instance.pk), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "failed while checking the values" in html
    assert "stored_SECRET_9090" not in html
    assert _raw(instance.pk) == token
    assert PluginInstance.objects.get(pk=instance.pk).name == "Stored"
    assert "stored_SECRET_9090" not in caplog.text


def test_the_error_report_of_a_crashing_edit_holds_no_secret(
    editor: Client, make_instance: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = _stripe(make_instance)
    page = editor.get(url("edit", instance.pk)).content.decode()
    data = querydict_from_html(page, form_id="w-editor-form")
    data["name"] = "Renamed"
    data[config_field_name("webhook_secret")] = TYPED_SECRET

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(PluginInstance, "save", crash)
    report = _error_report(editor, url("edit", instance.pk), data)
    assert "the database went away" in report  # it is the report of that error
    assert "Renamed" in report or "name" in report  # with the request's data and locals
    for secret in (SECRET, STRIPE_CONFIG["webhook_secret"], TYPED_SECRET):
        assert secret not in report


def _error_report(client: Client, path: str, data: Any) -> str:
    """The HTML error report a crashing POST gives (as the admins' e-mail handler sends it)."""
    import sys

    from django.core.signals import got_request_exception
    from django.views.debug import ExceptionReporter

    reports: list[str] = []

    def receiver(sender: Any, request: Any, **kwargs: Any) -> None:
        reports.append(ExceptionReporter(request, *sys.exc_info()).get_traceback_html())

    client.raise_request_exception = False
    got_request_exception.connect(receiver)
    try:
        response = client.post(path, data)
    finally:
        got_request_exception.disconnect(receiver)
    assert response.status_code == 500
    assert len(reports) == 1
    return reports[0]


HUGE = str(2**64)


@pytest.mark.parametrize(
    "view", ["edit", "delete", "history", "history_results", "usage", "inspect", "check"]
)
@pytest.mark.parametrize("bad_id", [HUGE, str(2**63), "0"])
def test_hostile_ids_in_instance_urls_are_not_found(editor: Client, view: str, bad_id: str) -> None:
    editor.raise_request_exception = True
    base = url(view, 1)
    assert editor.get(base.replace("/1/", f"/{bad_id}/")).status_code == 404


@pytest.mark.parametrize("bad_id", [HUGE, "0"])
def test_hostile_ids_in_registry_and_create_urls_are_not_found(editor: Client, bad_id: str) -> None:
    editor.raise_request_exception = True
    for name in ("wagtail_plugin_system_types:inspect", "wagtail_plugin_system_items:inspect"):
        assert editor.get(reverse(name, args=(1,)).replace("/1/", f"/{bad_id}/")).status_code == 404
    assert editor.get(url("add_item", 1).replace("/1/", f"/{bad_id}/")).status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        f"?item={HUGE}",
        f"?item__plugin_type={HUGE}",
        "?item__plugin_type=%00",
        "?item=%C2%B2",
        "?status=%00",
    ],
)
def test_hostile_listing_filters_are_not_a_server_error(editor: Client, query: str) -> None:
    editor.raise_request_exception = True
    assert editor.get(url("list") + query).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "wagtail_plugin_system_instances:list",
        "wagtail_plugin_system_instances:list_results",
        "wagtail_plugin_system_types:index",
        "wagtail_plugin_system_items:index",
        "wagtailsnippetchoosers_wagtail_plugin_system_plugininstance:choose_results",
    ],
)
def test_a_nul_byte_in_a_search_is_not_a_server_error(editor: Client, path: str) -> None:
    # PostgreSQL refuses NUL bytes in text: the search must never send one.
    editor.raise_request_exception = True
    for query in ({"q": "\x00"}, {"q": "stripe\x00"}, {"plugin_type": "\x00", "q": "a"}):
        assert editor.get(reverse(path), query).status_code == 200


def test_listing_filters_speak_the_editors_words(editor: Client) -> None:
    soup = WagtailTestUtils.get_soup(editor.get(url("list")).content)  # type: ignore[arg-type]
    text = soup.get_text(" ", strip=True)
    assert "Implementation plugin type" not in text
    assert "---------" not in text
    labels = {label.get_text(" ", strip=True) for label in soup.select("label")}
    assert {"Status", "Type", "Implementation"} <= labels
    select = soup.select_one('select[name="item__plugin_type"]')
    assert select is not None
    assert select.select("option")[0].get_text(strip=True) == "All"


def test_registry_pages_show_values_in_words(editor: Client) -> None:
    payment = PluginType.objects.get(name="payment_gateway")
    bank = PluginItem.objects.get(name="bank_transfer")
    for address in (
        reverse("wagtail_plugin_system_types:inspect", args=(payment.pk,)),
        reverse("wagtail_plugin_system_items:inspect", args=(bank.pk,)),
    ):
        soup = WagtailTestUtils.get_soup(editor.get(address).content)  # type: ignore[arg-type]
        values = [dd.get_text(" ", strip=True) for dd in soup.select("dd")]
        labels = [dt.get_text(" ", strip=True) for dt in soup.select("dt")]
        assert "Code present in this process" in labels
        assert "Is code present" not in labels
        assert not {"True", "False", "None"} & set(values), values
    soup = WagtailTestUtils.get_soup(  # type: ignore[arg-type]
        editor.get(reverse("wagtail_plugin_system_items:index")).content
    )
    row = next(tr for tr in soup.select("tbody tr") if "Bank transfer" in tr.get_text())
    # Nothing to configure is not a fault: "No" in words, not a red cross.
    assert "No" in [td.get_text(strip=True) for td in row.select("td")]


def test_inspect_shows_check_results_in_words(editor: Client, make_instance: Any) -> None:
    instance = make_instance(StripeGateway, "Stripe live", config=STRIPE_CONFIG)
    soup = WagtailTestUtils.get_soup(editor.get(url("inspect", instance.pk)).content)  # type: ignore[arg-type]
    values = [dd.get_text(" ", strip=True) for dd in soup.select("dd")]
    assert "Not tested" in values
    assert not {"True", "False", "None"} & set(values), values


def test_a_failed_check_shows_editors_the_message_and_keeps_the_class_for_detail(
    editor: Client, make_instance: Any
) -> None:
    bad = make_instance(
        FlakyGateway, "Flaky", config={"api_key": "flaky_key_SECRET_55x", "fail_with": "x"}
    )
    flash = editor.post(url("check", bad.pk), follow=True).content.decode()
    bad.refresh_from_db()
    assert bad.last_check_message.startswith("ProviderError: authentication failed")
    assert "failed its check: authentication failed for key ***" in flash
    listing = editor.get(url("list")).content.decode()
    test_page = editor.get(url("check", bad.pk)).content.decode()
    for html in (flash, listing, test_page):
        assert "authentication failed for key ***" in html
        assert "ProviderError" not in html
    soup = WagtailTestUtils.get_soup(editor.get(url("inspect", bad.pk)).content)  # type: ignore[arg-type]
    fields = {
        dt.get_text(" ", strip=True): dd.get_text(" ", strip=True)
        for dt, dd in zip(soup.select("dt"), soup.select("dd"), strict=True)
    }
    assert fields["Last check result"].startswith("authentication failed for key ***")
    assert fields["Technical detail of the last check"].startswith(
        "ProviderError: authentication failed for key ***"
    )


def test_test_page_returns_where_the_editor_came_from(editor: Client, make_instance: Any) -> None:
    instance = make_instance(StripeGateway, "Stripe live", config=STRIPE_CONFIG)
    inspect = url("inspect", instance.pk)
    page = editor.get(url("check", instance.pk), HTTP_REFERER=f"http://testserver{inspect}")
    soup = WagtailTestUtils.get_soup(page.content)  # type: ignore[arg-type]
    form = soup.select_one("main form")
    assert form is not None
    response = editor.post(form["action"])
    assert response.status_code == 302
    assert response["Location"] == f"http://testserver{inspect}"
    # Another site's page is no place to return to: the instance's edit page is.
    editor.get(url("check", instance.pk), HTTP_REFERER="https://elsewhere.example/")
    response = editor.post(url("check", instance.pk), HTTP_REFERER="https://elsewhere.example/")
    assert response["Location"] == url("edit", instance.pk)
