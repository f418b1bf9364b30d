"""Tests for wagtail_plugin_system.admin.chooser: the instance chooser modal."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from wagtail.test.utils import WagtailTestUtils

from tests.testapp.plugins import BankTransferGateway
from wagtail_plugin_system.models import PluginInstance, PluginType
from wagtail_plugin_system.widgets import PluginInstanceChooser

pytestmark = pytest.mark.django_db


def chooser_url(name: str, *args: Any) -> str:
    viewset = PluginInstance.snippet_viewset.chooser_viewset  # type: ignore[attr-defined]
    return reverse(viewset.get_url_name(name), args=args)


@pytest.fixture
def editor(client: Client, synced: Any) -> Client:
    client.force_login(WagtailTestUtils.create_superuser("editor", password="pw"))  # type: ignore[arg-type]
    PluginInstance.objects.create_instance(
        BankTransferGateway, name="Wire backup", status="disabled", description="old bank"
    )
    return client


def modal_html(response: Any) -> str:
    assert response.status_code == 200
    return str(json.loads(response.content)["html"])


def titles(html: str) -> list[str]:
    soup = WagtailTestUtils.get_soup(html)  # type: ignore[arg-type]
    return [a.get_text(strip=True) for a in soup.select("[data-chooser-modal-choice]")]


def test_modal_lists_only_the_requested_type_with_status(editor: Client) -> None:
    everything = titles(modal_html(editor.get(chooser_url("choose"))))
    assert {"Bank transfer", "Wire backup", "Echo"} <= set(everything)
    html = modal_html(editor.get(chooser_url("choose"), {"plugin_type": "payment_gateway"}))
    assert sorted(titles(html)) == ["Bank transfer", "Wire backup"]
    assert "Disabled" in html
    assert "Implementation" in html
    sms = PluginType.objects.get(name="sms_sender")
    html = modal_html(editor.get(chooser_url("choose"), {"plugin_type_id": sms.pk}))
    assert titles(html) == ["Echo"]
    html = modal_html(editor.get(chooser_url("choose"), {"plugin_type_id": "junk"}))
    assert titles(html) == []


def test_modal_search_keeps_the_type_filter(editor: Client) -> None:
    response = editor.get(
        chooser_url("choose_results"), {"plugin_type": "payment_gateway", "q": "old"}
    )
    assert response.status_code == 200
    assert titles(response.content.decode()) == ["Wire backup"]
    response = editor.get(chooser_url("choose_results"), {"plugin_type": "sms_sender", "q": "old"})
    assert titles(response.content.decode()) == []


def test_chosen_title_warns_about_unusable_instances(editor: Client) -> None:
    wire = PluginInstance.objects.get(name="Wire backup")
    data = json.loads(editor.get(chooser_url("chosen", wire.pk)).content)
    assert data["result"]["string"] == (
        "Wire backup (Bank transfer): disabled, so it is not used on the site"
    )
    assert editor.get(chooser_url("chosen", 999999)).status_code == 404


def test_there_is_no_create_tab() -> None:
    from django.urls import NoReverseMatch

    with pytest.raises(NoReverseMatch):
        chooser_url("create")


def test_widget_narrows_the_modal_url(synced: Any) -> None:
    assert (
        PluginInstanceChooser(plugin_type="sms_sender")
        .get_chooser_modal_url()
        .endswith("?plugin_type=sms_sender")
    )
    assert "?" not in PluginInstanceChooser().get_chooser_modal_url()
    widget = PluginInstanceChooser()
    assert widget.get_instance("not-a-number") is None
    assert widget.get_instance(999999) is None


# -- hostile ids and names (issue 12) ---------------------------------------------------------

HUGE = str(2**64)


@pytest.mark.parametrize("bad_id", ["abc", "²", "٣", "-1", "1.5", "%00", HUGE, str(2**63), "0"])
def test_chosen_with_a_malformed_id_is_not_found(editor: Client, bad_id: str) -> None:
    editor.raise_request_exception = True
    base = chooser_url("chosen", 1)
    assert editor.get(base.replace("/1/", f"/{bad_id}/")).status_code == 404


@pytest.mark.parametrize("bad_id", ["abc", "²", HUGE, "", "\x00"])
def test_chosen_multiple_with_a_malformed_id_is_not_found(editor: Client, bad_id: str) -> None:
    editor.raise_request_exception = True
    wire = PluginInstance.objects.get(name="Wire backup")
    response = editor.get(chooser_url("chosen_multiple"), {"id": [str(wire.pk), bad_id]})
    assert response.status_code == 404


def test_chosen_multiple_with_good_ids(editor: Client) -> None:
    wire = PluginInstance.objects.get(name="Wire backup")
    response = editor.get(chooser_url("chosen_multiple"), {"id": [str(wire.pk)]})
    assert response.status_code == 200
    assert "Wire backup" in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {"plugin_type_id": "²"},
        {"plugin_type_id": HUGE},
        {"plugin_type_id": "abc"},
        {"plugin_type": "\x00"},
        {"plugin_type": "payment_gateway\x00"},
        {"plugin_type": "x" * 300},
    ],
)
def test_a_malformed_type_narrows_the_modal_to_nothing(
    editor: Client, query: dict[str, str]
) -> None:
    editor.raise_request_exception = True
    assert titles(modal_html(editor.get(chooser_url("choose"), query))) == []
    results = editor.get(chooser_url("choose_results"), query)
    assert results.status_code == 200
    assert titles(results.content.decode()) == []
    assert titles(modal_html(editor.get(chooser_url("choose")))) != []  # the modal lists some


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=st.text(max_size=25).filter(lambda text: "/" not in text and "?" not in text))
@pytest.mark.slow
def test_any_id_text_in_chooser_urls_is_found_or_not_found(editor: Client, value: str) -> None:
    from urllib.parse import quote

    editor.raise_request_exception = True
    base = chooser_url("chosen", 1)
    response = editor.get(base.replace("/1/", f"/{quote(value, safe='')}/"))
    assert response.status_code in (200, 404)
    response = editor.get(chooser_url("chosen_multiple"), {"id": value})
    assert response.status_code in (200, 404)
    response = editor.get(chooser_url("choose_results"), {"plugin_type_id": value})
    assert response.status_code == 200


def test_the_type_travels_with_search_and_pages(editor: Client) -> None:
    """The modal's search form carries the type; so do the links to other pages."""
    bank = PluginInstance.objects.get(name="Wire backup").item
    PluginInstance.objects.bulk_create(
        [PluginInstance(item=bank, name=f"Wire {n:02d}", config={}) for n in range(30)]
    )
    html = modal_html(editor.get(chooser_url("choose"), {"plugin_type": "payment_gateway"}))
    soup = WagtailTestUtils.get_soup(html)  # type: ignore[arg-type]
    search = soup.select_one("form[data-chooser-modal-search]")
    assert search is not None
    hidden = {field["name"]: field.get("value") for field in search.select("input[type=hidden]")}
    assert hidden["plugin_type"] == "payment_gateway"
    results = editor.get(
        chooser_url("choose_results"), {"plugin_type": "payment_gateway", "q": "wire"}
    )
    pages = [
        link["href"]
        for link in WagtailTestUtils.get_soup(results.content).select(".pagination a[href]")  # type: ignore[arg-type]
    ]
    assert pages
    assert all("plugin_type=payment_gateway" in href for href in pages), pages
