"""Revisions in Chromium: an editor compares two versions and restores the older one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings
from django.urls import reverse
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer
from wagtail.models import Revision, Site
from wagtail.test.utils import WagtailTestUtils

from tests.testapp.factories import STRIPE_CONFIG
from tests.testapp.plugins import FlakyGateway
from wagtail_plugin_system import cache as plugin_cache
from wagtail_plugin_system.core.registry import PluginRegistry
from wagtail_plugin_system.models import PluginInstance, PluginItem
from wagtail_plugin_system.sync import sync_plugins

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

USERNAME = "editor"
PASSWORD = "correct horse battery staple"
SECRET = str(STRIPE_CONFIG["secret_key"])
WEBHOOK_SECRET = str(STRIPE_CONFIG["webhook_secret"])
NEW_SECRET = "sk_live_BROWSER_NEW_SECRET_77c1"


def instance_url(name: str, *args: Any) -> str:
    return reverse(PluginInstance.snippet_viewset.get_url_name(name), args=args)  # type: ignore[attr-defined]


@pytest.fixture
def admin(
    page: Page, live_server: LiveServer, plugin_registry: PluginRegistry, default_site: Site
) -> Iterator[Page]:
    """Logged in through Wagtail's login form, the registry synced, the memo empty."""
    plugin_registry.unregister_item(FlakyGateway)
    plugin_cache.clear()
    sync_plugins()
    WagtailTestUtils.create_superuser(USERNAME, password=PASSWORD)
    with override_settings(WAGTAIL_GRAVATAR_PROVIDER_URL=None):
        page.goto(f"{live_server.url}/admin/login/")
        page.locator('[name="username"]').fill(USERNAME)
        page.locator('[name="password"]').fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(f"{live_server.url}/admin/")
        yield page
    plugin_cache.clear()


def test_editor_compares_versions_and_restores_the_old_secret(
    admin: Page, live_server: LiveServer
) -> None:
    page = admin
    item = PluginItem.objects.get(name="stripe")
    page.goto(f"{live_server.url}{instance_url('add_item', item.pk)}")
    page.locator('[name="name"]').fill("Stripe - main account")
    page.locator('[name="config-publishable_key"]').fill(str(STRIPE_CONFIG["publishable_key"]))
    page.locator('[name="config-secret_key"]').fill(SECRET)
    page.locator('[name="config-webhook_secret"]').fill(WEBHOOK_SECRET)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("link", name="Stripe - main account", exact=True)).to_be_visible()
    instance = PluginInstance.objects.get(name="Stripe - main account")

    # A second version: a new secret key and another currency.
    page.goto(f"{live_server.url}{instance_url('edit', instance.pk)}")
    page.locator('[name="config-secret_key"]').fill(NEW_SECRET)
    page.locator('[name="config-currency"]').fill("USD")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("link", name="Stripe - main account", exact=True)).to_be_visible()
    first, second = Revision.objects.for_instance(instance).order_by("created_at", "pk")

    # The history lists both versions, with a link to compare them.
    page.goto(f"{live_server.url}{instance_url('history', instance.pk)}")
    compare = instance_url("revisions_compare", instance.pk, first.pk, second.pk)
    edited = page.locator("tbody tr").filter(has_text="Edited")
    edited.get_by_role("button", name="Actions").click()
    edited.get_by_role("link", name="Compare with previous version").click()
    expect(page).to_have_url(f"{live_server.url}{compare}")

    rows = page.locator("table.listing tbody tr")
    currency = rows.filter(has_text="Currency")
    expect(currency.locator(".deletion")).to_have_text("EUR")
    expect(currency.locator(".addition")).to_have_text("USD")
    secret_row = rows.filter(has_text="Secret key")
    expect(secret_row).to_contain_text("Changed (a secret value: values are never shown)")
    expect(rows.filter(has_text="Webhook secret")).to_have_count(0)
    html = page.content()
    for secret in (SECRET, NEW_SECRET, WEBHOOK_SECRET):
        assert secret not in html
        assert secret[-6:] not in html

    # Restore the first version; the secrets stay blank and take that version's values.
    page.goto(f"{live_server.url}{instance_url('revisions_revert', instance.pk, first.pk)}")
    expect(page.locator('[name="config-currency"]')).to_have_value("EUR")
    expect(page.locator('[name="config-secret_key"]')).to_have_value("")
    assert NEW_SECRET not in page.content()
    assert SECRET not in page.content()
    page.locator("button.action-save").click()
    expect(page.get_by_role("link", name="Stripe - main account", exact=True)).to_be_visible()
    instance.refresh_from_db()
    assert instance.config["secret_key"] == SECRET
    assert instance.config["currency"] == "EUR"
