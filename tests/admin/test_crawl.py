"""The crawl: every page an editor can reach holds no secret and is never a server error.

Instances whose secret fields hold unique markers (a string and a number) are
created next to broken ones (a configuration that is not JSON, an item whose
``__init__`` raises, a check that fails repeating its secrets, a plugin whose
rendering fails); then every admin URL reachable from the Plugins menu, the
settings panel, the page editor with the chooser block, the chooser's JSON,
the history and the public pages is fetched, following the links each page
shows, as a superuser and as a user who may only view plugins.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections import deque
from html import unescape
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from django import forms
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from wagtail.models import Page, Site
from wagtail.test.utils import WagtailTestUtils

from tests.testapp.models import PluginPage
from tests.testapp.plugins import BannerForm, BannerWidget, PaymentGatewayType, ProviderError
from wagtail_plugin_system import BasePluginItem, PluginConfiguration
from wagtail_plugin_system.core.registry import PluginRegistry
from wagtail_plugin_system.fields import Ciphertext, encrypt_text
from wagtail_plugin_system.health import run_health_check
from wagtail_plugin_system.models import (
    PluginInstance,
    PluginSiteChoice,
    PluginSiteSettings,
    PluginType,
)
from wagtail_plugin_system.sync import sync_plugins

pytestmark = pytest.mark.django_db

STRING_MARKER = "zq_MARKER_s3cr3t_key_51c7"
NUMBER_MARKER = 918273645
MARKERS = (STRING_MARKER, str(NUMBER_MARKER))

#: Paths the crawl follows links into.
FOLLOWED = (
    "/admin/plugins/",
    "/admin/settings/wagtail_plugin_system/",
    "/admin/snippets/choose/wagtail_plugin_system/",
    "/admin/reports/site-history/",
)
#: The most URLs fetched for one path (listings link to many orderings and filters).
PER_PATH = 6
#: The most URLs fetched in one crawl.
LIMIT = 400


class MarkerForm(forms.Form):
    api_key = forms.CharField(widget=forms.PasswordInput)
    pin = forms.IntegerField()
    label = forms.CharField(required=False)


class MarkerConfiguration(PluginConfiguration):
    form_class = MarkerForm
    secret_fields = ["pin"]


class MarkerGateway(BasePluginItem):
    """A gateway whose check fails repeating both secrets."""

    name = "marker"
    plugin_type = PaymentGatewayType
    configuration = MarkerConfiguration

    def create_payment(self, amount: int) -> str:
        return f"marker:{amount}"

    def check(self) -> None:
        raise ProviderError(f"key {self.config['api_key']} and pin {self.config['pin']} refused")


class ExplodingMarkerGateway(MarkerGateway):
    name = "exploding_marker"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        raise RuntimeError(f"cannot start with {self.config['api_key']}")


class MarkerWidgetForm(BannerForm):
    pin = forms.IntegerField()


class MarkerWidgetConfiguration(PluginConfiguration):
    form_class = MarkerWidgetForm
    secret_fields = ["pin"]


class MarkerWidget(BannerWidget):
    name = "marker_widget"
    configuration = MarkerWidgetConfiguration


class CrashingMarkerWidget(MarkerWidget):
    name = "crashing_marker_widget"

    def render(self, parent_context: Any = None, **kwargs: Any) -> str:
        raise RuntimeError(f"render failed with {self.config['token']} {self.config['pin']}")


GATEWAY_CONFIG = {"api_key": STRING_MARKER, "pin": NUMBER_MARKER, "label": "Marked"}
WIDGET_CONFIG = {"headline": "Marked widget", "token": STRING_MARKER, "pin": NUMBER_MARKER}


@pytest.fixture
def marked_site(plugin_registry: PluginRegistry, synced: Any, default_site: Site) -> dict[str, Any]:
    """Marked instances, broken ones, a page using them, a site choice, failed checks."""
    for item in (MarkerGateway, ExplodingMarkerGateway, BannerWidget, MarkerWidget):
        plugin_registry.register_item(item)
    plugin_registry.register_item(CrashingMarkerWidget)
    sync_plugins()
    create = PluginInstance.objects.create_instance
    gateway = create(MarkerGateway, name="Marked gateway", config=GATEWAY_CONFIG, priority=1)
    exploding = create(ExplodingMarkerGateway, name="Exploding gateway", config=GATEWAY_CONFIG)
    not_json = create(MarkerGateway, name="Not JSON gateway", config=GATEWAY_CONFIG)
    PluginInstance.objects.filter(pk=not_json.pk).update(
        config=Ciphertext(encrypt_text(f"api_key={STRING_MARKER}; pin={NUMBER_MARKER}"))
    )
    a_list = create(MarkerGateway, name="List gateway", config=GATEWAY_CONFIG)
    PluginInstance.objects.filter(pk=a_list.pk).update(
        config=Ciphertext(encrypt_text(json.dumps([STRING_MARKER, NUMBER_MARKER])))
    )
    widget = create(MarkerWidget, name="Marked widget", config=WIDGET_CONFIG, priority=1)
    crashing = create(CrashingMarkerWidget, name="Crashing widget", config=WIDGET_CONFIG)
    for instance in (gateway, exploding, not_json, a_list):
        run_health_check(PluginInstance.objects.get(pk=instance.pk))

    root = default_site.root_page
    page = PluginPage(
        title="Marked page",
        slug="marked-page",
        body=[
            ("widget", widget),
            ("widget", crashing),
            ("gateway", gateway),
            ("gateway_card", gateway),
            ("widget_or_default", None),
        ],
    )
    root.add_child(instance=page)
    page.save_revision().publish()
    setting = PluginSiteSettings.for_site(default_site)
    PluginSiteChoice.objects.create(
        setting=setting,
        plugin_type=PluginType.objects.get(name="payment_gateway"),
        instance=gateway,
    )
    return {
        "page": page,
        "site": default_site,
        "instances": [gateway, exploding, not_json, a_list, widget, crashing],
    }


def _links(text: str, base: str) -> list[str]:
    """Every same-site URL in a page (href, src of forms, data-*-url attributes, JSON)."""
    if text.lstrip().startswith("{"):
        with contextlib.suppress(ValueError, AttributeError):
            text = " ".join(str(value) for value in json.loads(text).values())
    found = re.findall(r'(?<![\w-])(?:href|action|src|data-[\w-]*url)="([^"#]+)', text)
    urls = []
    for raw in found:
        url = urljoin(base, unescape(raw))
        parts = urlsplit(url)
        if parts.netloc not in ("", "testserver", "localhost"):
            continue
        urls.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return urls


class Crawler:
    def __init__(self, client: Client, extra_paths: tuple[str, ...]) -> None:
        self.client = client
        self.client.raise_request_exception = False  # a 500 is a finding, not the end
        self.followed = FOLLOWED + extra_paths
        self.seen: set[str] = set()
        self.per_path: dict[str, int] = {}
        self.fetched: list[tuple[str, int]] = []
        self.leaks: list[str] = []
        self.errors: list[str] = []

    def wanted(self, url: str) -> bool:
        path = urlsplit(url).path
        if url in self.seen or not path.startswith(self.followed) or "logout" in path:
            return False
        return self.per_path.get(path, 0) < PER_PATH

    def crawl(self, seeds: list[str]) -> None:
        queue = deque(seeds)
        while queue and len(self.fetched) < LIMIT:
            url = queue.popleft()
            if url in self.seen:
                continue
            self.seen.add(url)
            path = urlsplit(url).path
            self.per_path[path] = self.per_path.get(path, 0) + 1
            response = self.client.get(
                url, HTTP_X_REQUESTED_WITH="XMLHttpRequest" if "/choose/" in url else ""
            )
            raw = (
                b"".join(response.streaming_content)  # type: ignore[attr-defined]
                if response.streaming
                else response.content
            )
            text = raw.decode(errors="replace")
            headers = "\n".join(f"{key}: {value}" for key, value in response.headers.items())
            self.fetched.append((url, response.status_code))
            if response.status_code >= 500:
                self.errors.append(f"GET {url}: {response.status_code}")
            for marker in MARKERS:
                if marker in text or marker in headers:
                    self.leaks.append(f"GET {url} shows {marker}")
            if response.status_code in (301, 302):
                location = urljoin(url, response["Location"])
                if self.wanted(location):
                    queue.append(location)
                continue
            for link in _links(text, url):
                if self.wanted(link):
                    queue.append(link)


def _seeds(site: dict[str, Any]) -> list[str]:
    page: Page = site["page"]
    instances: list[PluginInstance] = site["instances"]
    chooser = "wagtailsnippetchoosers_wagtail_plugin_system_plugininstance"
    seeds = [
        reverse("wagtailadmin_home"),
        reverse("wagtail_plugin_system_instances:list"),
        reverse("wagtail_plugin_system_types:index"),
        reverse("wagtail_plugin_system_items:index"),
        reverse(
            "wagtailsettings:edit",
            args=("wagtail_plugin_system", "pluginsitesettings", site["site"].pk),
        ),
        reverse("wagtailadmin_pages:edit", args=(page.pk,)),
        reverse("wagtailadmin_pages:history", args=(page.pk,)),
        reverse(f"{chooser}:choose"),
        reverse(f"{chooser}:choose") + "?plugin_type=payment_gateway",
        reverse(f"{chooser}:choose_results") + "?q=Marked",
        reverse(f"{chooser}:chosen_multiple") + "?" + "&".join(f"id={i.pk}" for i in instances),
        reverse("wagtailadmin_reports:site_history"),
        page.url or "/",
        "/",
    ]
    for instance in instances:
        for name in ("edit", "inspect", "history", "usage", "check", "delete"):
            seeds.append(reverse(f"wagtail_plugin_system_instances:{name}", args=(instance.pk,)))
        seeds.append(reverse(f"{chooser}:chosen", args=(instance.pk,)))
    return seeds


def _crawl_as(client: Client, site: dict[str, Any]) -> Crawler:
    page: Page = site["page"]
    crawler = Crawler(client, (f"/admin/pages/{page.pk}/", urlsplit(page.url or "/").path))
    crawler.crawl(_seeds(site))
    return crawler


@pytest.mark.slow
def test_superuser_crawl_finds_no_secret_and_no_server_error(
    client: Client, marked_site: dict[str, Any]
) -> None:
    client.force_login(WagtailTestUtils.create_superuser("admin", password="pw"))  # type: ignore[arg-type]
    crawler = _crawl_as(client, marked_site)
    ok = [url for url, status in crawler.fetched if status == 200]
    assert len(ok) >= 150, crawler.fetched  # it really went through the admin (about 210 pages)
    for must in (
        "/plugins/instances/edit/",
        "/plugins/instances/inspect/",
        "/plugins/instances/history/",
        "/plugins/instances/usage/",
        "/plugins/instances/check/",
        "/plugins/implementations/inspect/",
        "/plugininstance/chosen/",
        "/plugininstance/chosen-multiple/",
        "/settings/wagtail_plugin_system/",
        f"/admin/pages/{marked_site['page'].pk}/edit/",
        "/admin/reports/site-history/",
        marked_site["page"].url,
    ):
        assert any(must in url for url in ok), must
    public = marked_site["page"].url
    page_html = client.get(public).content.decode()
    assert "Marked widget" in page_html  # the page does show the plugins
    assert not crawler.errors, crawler.errors
    assert not crawler.leaks, crawler.leaks


@pytest.mark.slow
def test_view_only_crawl_finds_no_secret_and_no_server_error(
    client: Client, marked_site: dict[str, Any]
) -> None:
    user = WagtailTestUtils.create_user("viewer", password="pw")  # type: ignore[call-arg]
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    for codename in ("view_plugininstance", "view_plugintype", "view_pluginitem"):
        user.user_permissions.add(
            Permission.objects.get(
                codename=codename, content_type__app_label="wagtail_plugin_system"
            )
        )
    client.force_login(user)
    crawler = _crawl_as(client, marked_site)
    ok = [url for url, status in crawler.fetched if status == 200]
    assert any("/inspect/" in url for url in ok)
    assert any("/plugins/instances/" in url for url in ok)
    assert not crawler.errors, crawler.errors
    assert not crawler.leaks, crawler.leaks
