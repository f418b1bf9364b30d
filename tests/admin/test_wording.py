"""What editors read on the plugin screens: titles, buttons, empty states, deleted instances."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse
from wagtail.models import ReferenceIndex, Site
from wagtail.test.utils import WagtailTestUtils
from wagtail.users.models import UserProfile

from tests.testapp.factories import STRIPE_CONFIG
from tests.testapp.plugins import StripeGateway
from wagtail_plugin_system.core.registry import PluginRegistry
from wagtail_plugin_system.models import (
    PluginInstance,
    PluginSiteChoice,
    PluginSiteSettings,
    PluginType,
)

pytestmark = pytest.mark.django_db


def url(name: str, *args: Any) -> str:
    return reverse(PluginInstance.snippet_viewset.get_url_name(name), args=args)  # type: ignore[attr-defined]


def login(client: Client, language: str = "en") -> Client:
    user = WagtailTestUtils.create_superuser(f"editor-{language}", password="pw")  # type: ignore[arg-type]
    profile = UserProfile.get_for_user(user)
    profile.preferred_language = language
    profile.save()
    client.force_login(user)
    return client


def chooser_url(name: str) -> str:
    chooser = PluginInstance.snippet_viewset.chooser_viewset  # type: ignore[attr-defined]
    return reverse(chooser.get_url_name(name))


@pytest.mark.parametrize(
    ("language", "title"),
    [
        ("en", "Choose a plugin instance"),
        ("fr", "Choisir une instance de plugin"),
        ("de", "Plugin-Instanz auswählen"),
    ],
)
def test_the_chooser_title_is_in_the_editors_language(
    client: Client, synced: Any, language: str, title: str
) -> None:
    login(client, language)
    html = json.loads(client.get(chooser_url("choose")).content)["html"]
    header = WagtailTestUtils.get_soup(html.encode()).select_one("header")  # type: ignore[arg-type]
    assert header is not None
    assert header.get_text(" ", strip=True) == title


def test_an_empty_chooser_search_speaks_of_plugin_instances(client: Client, synced: Any) -> None:
    login(client)
    response = client.get(chooser_url("choose_results") + "?q=nothing-like-this")
    text = WagtailTestUtils.get_soup(response.content).get_text(" ", strip=True)  # type: ignore[arg-type]
    assert "No plugin instance matches “ nothing-like-this ”" in text
    assert "snippet" not in text


def test_the_set_priority_confirmation_names_its_action(client: Client, make_instance: Any) -> None:
    login(client)
    instance = make_instance(StripeGateway, "Stripe live", config=STRIPE_CONFIG)
    base = reverse(
        "wagtail_bulk_action", args=("wagtail_plugin_system", "plugininstance", "set_priority")
    )
    response = client.get(f"{base}?{urlencode({'next': url('list'), 'id': instance.pk})}")
    soup = WagtailTestUtils.get_soup(response.content)  # type: ignore[arg-type]
    assert soup.title is not None
    assert soup.title.get_text().startswith("Set priority: Plugin instances")
    heading = soup.select_one("h1")
    assert heading is not None
    assert "Set priority" in heading.get_text()


def test_site_settings_read_as_plugins_for_a_site_and_have_no_ordering(
    client: Client, make_instance: Any, default_site: Site
) -> None:
    login(client)
    instance = make_instance(StripeGateway, "Stripe live", config=STRIPE_CONFIG)
    second = Site.objects.create(
        hostname="second.example", root_page=default_site.root_page, site_name="Second site"
    )
    settings = PluginSiteSettings.objects.create(site=second)
    PluginSiteChoice.objects.create(
        setting=settings,
        plugin_type=PluginType.objects.get(name="payment_gateway"),
        instance=instance,
    )
    ReferenceIndex.create_or_update_for_object(settings)
    assert str(settings) == "Plugins for Second site"
    usage = client.get(url("usage", instance.pk)).content.decode()
    assert "Plugins for Second site" in usage

    edit = reverse(
        "wagtailsettings:edit", args=("wagtail_plugin_system", "pluginsitesettings", second.pk)
    )
    soup = WagtailTestUtils.get_soup(client.get(edit).content)  # type: ignore[arg-type]
    add = soup.select_one("#id_choices-ADD")
    assert add is not None
    assert add.get_text(" ", strip=True) == "Add a choice"
    panel = soup.select_one("#id_choices-FORMS")
    assert panel is not None
    assert panel.select('[name$="-ORDER"]') == []
    assert panel.select("[data-inline-panel-child-move-up], [data-inline-panel-child-drag]") == []
    assert '"canOrder": false' in str(soup)


def test_the_missing_code_warning_has_its_icon(
    client: Client, make_instance: Any, plugin_registry: PluginRegistry
) -> None:
    login(client)
    instance = make_instance(StripeGateway, "Stripe live", config=STRIPE_CONFIG)
    plugin_registry.unregister_item(StripeGateway)
    soup = WagtailTestUtils.get_soup(client.get(url("edit", instance.pk)).content)  # type: ignore[arg-type]
    warning = soup.select_one(".help-block.help-warning")
    assert warning is not None
    assert warning.select_one("svg.icon") is not None
    assert warning.get_text(strip=True)


def test_going_back_to_a_deleted_instance_says_it_was_deleted(
    client: Client, make_instance: Any
) -> None:
    login(client)
    instance = make_instance(StripeGateway, "Stripe live", config=STRIPE_CONFIG)
    pk = instance.pk
    response = client.post(url("delete", pk))
    assert response.status_code == 302
    for name in ("edit", "delete", "inspect"):
        response = client.get(url(name, pk), follow=True)
        assert response.redirect_chain == [(url("list"), 302)], name
        assert "The plugin instance “Stripe live” has been deleted." in response.content.decode()
    # An id that never existed is still "not found".
    assert client.get(url("edit", pk + 1000)).status_code == 404


def test_the_implementations_listing_says_when_code_went_missing_in_its_code_column(
    client: Client, synced: Any, plugin_registry: PluginRegistry
) -> None:
    from django.utils import timezone

    from wagtail_plugin_system.models import PluginItem

    login(client)
    plugin_registry.unregister_item(StripeGateway)
    PluginItem.objects.filter(name="stripe").update(is_missing=True, missing_since=timezone.now())
    response = client.get(reverse("wagtail_plugin_system_items:index"))
    soup = WagtailTestUtils.get_soup(response.content)  # type: ignore[arg-type]
    headings = [th.get_text(" ", strip=True) for th in soup.select("thead th")]
    assert "Code" in headings
    assert "Missing since" not in headings  # one column fewer: it fits a laptop's screen
    rows = {
        row.select_one("td a").get_text(strip=True): row.get_text(" ", strip=True)  # type: ignore[union-attr]
        for row in soup.select("tbody tr")
    }
    assert "Missing since" in rows["Stripe"]
    assert "Missing since" not in rows["Bank transfer"]
