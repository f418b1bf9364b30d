"""Headless sites: the chooser blocks in Wagtail's API v2 and in GraphQL (wagtail-grapple).

Both are read over HTTP from a live server: the API's pages endpoint and grapple's
GraphQL endpoint, as a headless front end reads them. No response may carry a secret.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.request import Request, urlopen

import pytest
from pytest_django.live_server_helper import LiveServer
from wagtail.models import Site

from tests.testapp.factories import STRIPE_CONFIG
from tests.testapp.models import PluginPage
from tests.testapp.plugins import BannerWidget, StripeGateway
from wagtail_plugin_system import cache as plugin_cache
from wagtail_plugin_system.blocks import PluginInstanceChooserBlock
from wagtail_plugin_system.core.registry import PluginRegistry
from wagtail_plugin_system.models import PluginInstance, PluginStatus
from wagtail_plugin_system.sync import sync_plugins

pytestmark = pytest.mark.django_db(transaction=True)

BANNER = {"headline": "Join our list", "token": "banner_TOKEN_secret_6620"}
SECRETS = (
    BANNER["token"],
    str(STRIPE_CONFIG["secret_key"]),
    str(STRIPE_CONFIG["webhook_secret"]),
)

QUERY = """
query ($id: ID) {
  page(id: $id) {
    ... on PluginPage {
      body {
        field
        rawValue
        ... on PluginInstanceChooserBlock { plugin { id type item name status config } }
      }
    }
  }
}
"""


@pytest.fixture
def plugins(plugin_registry: PluginRegistry, default_site: Site) -> Site:
    plugin_registry.register_item(BannerWidget)
    plugin_cache.clear()
    sync_plugins()
    return default_site


def make_page(site: Site, body: list[tuple[str, Any]]) -> PluginPage:
    page = PluginPage(title="Headless", slug="headless", body=body)
    site.root_page.add_child(instance=page)
    page.save_revision().publish()
    return page


def get_json(url: str, data: dict[str, Any] | None = None) -> tuple[str, Any]:
    body = None if data is None else json.dumps(data).encode()
    request = Request(url, data=body, headers={"Content-Type": "application/json"})
    with urlopen(request, timeout=30) as response:
        assert response.status == 200
        text = response.read().decode()
    return text, json.loads(text)


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def banner_expected(instance: PluginInstance) -> dict[str, Any]:
    return {
        "id": instance.pk,
        "type": "widget",
        "item": "banner",
        "name": "Spring banner",
        "status": "active",
        "config": {"headline": "Join our list"},
    }


def test_api_v2_gives_each_chooser_block_its_instance_without_secrets(
    live_server: LiveServer, plugins: Site
) -> None:
    banner = PluginInstance.objects.create_instance(
        BannerWidget, name="Spring banner", config=BANNER
    )
    stripe = PluginInstance.objects.create_instance(
        StripeGateway, name="Stripe", config=STRIPE_CONFIG, status=PluginStatus.RESERVED
    )
    disabled = PluginInstance.objects.create_instance(
        BannerWidget, name="Old banner", config=BANNER, status=PluginStatus.DISABLED
    )
    deleted = PluginInstance.objects.create_instance(BannerWidget, name="Gone", config=BANNER)
    page = make_page(
        plugins,
        [
            ("widget", banner),
            ("gateway", stripe),
            ("widget", disabled),
            ("widget", deleted),
            ("widget_or_default", deleted),
        ],
    )
    deleted.delete()

    text, data = get_json(f"{live_server.url}/api/v2/pages/{page.pk}/")

    assert_no_secret(text)
    values = [block["value"] for block in data["body"]]
    assert values[0] == banner_expected(banner)
    assert values[1] == {
        "id": stripe.pk,
        "type": "payment_gateway",
        "item": "stripe",
        "name": "Stripe",
        "status": "reserved",
        "config": {
            "publishable_key": "pk_test_123",
            "currency": "EUR",
            "sandbox": False,
            "retries": 3,
        },
    }
    assert values[2] is None  # disabled: renders nothing, so nothing to read
    assert values[3] is None  # deleted
    assert values[4] == banner_expected(banner)  # the type's selected instance instead


def test_graphql_gives_each_chooser_block_its_instance_without_secrets(
    live_server: LiveServer, plugins: Site
) -> None:
    banner = PluginInstance.objects.create_instance(
        BannerWidget, name="Spring banner", config=BANNER
    )
    stripe = PluginInstance.objects.create_instance(
        StripeGateway, name="Stripe", config=STRIPE_CONFIG
    )
    gone = PluginInstance.objects.create_instance(BannerWidget, name="Gone", config=BANNER)
    page = make_page(
        plugins,
        [("widget", banner), ("gateway", stripe), ("widget", gone), ("text", "Hi")],
    )
    gone.delete()

    text, data = get_json(
        f"{live_server.url}/graphql/", {"query": QUERY, "variables": {"id": page.pk}}
    )

    assert "errors" not in data, data
    assert_no_secret(text)
    body = data["data"]["page"]["body"]
    banner_block, stripe_block, gone_block, text_block = body
    assert banner_block["field"] == "widget"
    assert banner_block["rawValue"] == str(banner.pk)
    assert {**banner_block["plugin"], "config": json.loads(banner_block["plugin"]["config"])} == (
        banner_expected(banner)
    )
    assert json.loads(stripe_block["plugin"]["config"]) == {
        "publishable_key": "pk_test_123",
        "currency": "EUR",
        "sandbox": False,
        "retries": 3,
    }
    assert gone_block["plugin"] is None
    assert gone_block["rawValue"] == ""
    assert "plugin" not in text_block


def test_api_representation_is_none_for_no_value_and_missing_code(
    plugins: Site, plugin_registry: PluginRegistry
) -> None:
    block = PluginInstanceChooserBlock(plugin_type="widget")
    assert block.get_api_representation(None) is None
    banner = PluginInstance.objects.create_instance(BannerWidget, name="Banner", config=BANNER)
    plugin_registry.unregister_item(BannerWidget)
    plugin_cache.clear()
    assert block.get_api_representation(PluginInstance.objects.get(pk=banner.pk)) is None
