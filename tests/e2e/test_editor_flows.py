"""An editor's flows in Chromium, against the live server.

Each test logs in through Wagtail's login form and works only through the
admin's pages, as an editor would; the database is read to check what was
saved. With ``WPS_DOC_SCREENSHOTS=1`` the tests also refresh the screenshots
of the editor's guide in ``docs/images/``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings
from django.urls import reverse
from playwright.sync_api import Locator, Page, expect
from pytest_django.live_server_helper import LiveServer
from wagtail.models import Site
from wagtail.test.utils import WagtailTestUtils

from tests.testapp.factories import STRIPE_CONFIG
from tests.testapp.models import PluginPage
from tests.testapp.plugins import BankTransferGateway, BannerWidget, FlakyGateway, SilentWidget
from wagtail_plugin_system import cache as plugin_cache
from wagtail_plugin_system import get_plugin_instance
from wagtail_plugin_system.core.registry import PluginRegistry
from wagtail_plugin_system.models import PluginInstance, PluginStatus
from wagtail_plugin_system.sync import sync_plugins

# The live server reads what the test writes: the test's writes are committed.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

USERNAME = "editor"
PASSWORD = "correct horse battery staple"
PUBLISHABLE_KEY = str(STRIPE_CONFIG["publishable_key"])
SECRET = str(STRIPE_CONFIG["secret_key"])
WEBHOOK_SECRET = str(STRIPE_CONFIG["webhook_secret"])
BANNER_TOKEN = "banner_TOKEN_secret_5531"

DOC_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
DOC_SCREENSHOTS = os.environ.get("WPS_DOC_SCREENSHOTS") == "1"


def doc_screenshot(page: Page, name: str, height: int) -> None:
    """Save a screenshot for the editor's guide, only when WPS_DOC_SCREENSHOTS=1.

    The admin scrolls inside its own layout, so a full-page screenshot shows no more
    than the window: the window takes ``height`` for the screenshot instead.
    """
    if not DOC_SCREENSHOTS:
        return
    viewport = page.viewport_size
    assert viewport is not None
    page.set_viewport_size({"width": viewport["width"], "height": height})
    page.screenshot(path=str(DOC_IMAGES / name), animations="disabled", caret="hide")
    page.set_viewport_size(viewport)


def instance_url(name: str, *args: Any) -> str:
    return reverse(PluginInstance.snippet_viewset.get_url_name(name), args=args)  # type: ignore[attr-defined]


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def site(
    live_server: LiveServer, plugin_registry: PluginRegistry, default_site: Site
) -> Iterator[Site]:
    """The default site, the registry synced, an editor account; the plugin memo empty."""
    plugin_registry.unregister_item(FlakyGateway)
    plugin_registry.register_item(BannerWidget)
    plugin_registry.register_item(SilentWidget)
    plugin_cache.clear()
    sync_plugins()
    WagtailTestUtils.create_superuser(USERNAME, password=PASSWORD)
    # No avatar requests to gravatar.com from the browser.
    with override_settings(WAGTAIL_GRAVATAR_PROVIDER_URL=None):
        yield default_site
    plugin_cache.clear()


@pytest.fixture
def admin(page: Page, live_server: LiveServer, site: Site) -> Page:
    """The browser page, logged in through Wagtail's login form."""
    page.goto(f"{live_server.url}/admin/login/")
    page.locator('[name="username"]').fill(USERNAME)
    page.locator('[name="password"]').fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}/admin/")
    return page


def listing_row(page: Page, name: str) -> Locator:
    """The listing's table row of the instance called ``name``."""
    return page.locator("tbody tr").filter(has=page.get_by_role("link", name=name, exact=True))


def choose_in_modal(
    page: Page, opener: Locator, choice: str, screenshot: str | None = None
) -> list[str]:
    """Open a chooser modal and pick ``choice``; returns the names the modal offered."""
    opener.click()
    modal = page.locator(".modal-dialog")
    choices = modal.locator("a[data-chooser-modal-choice]")
    chosen = modal.get_by_role("link", name=choice, exact=True)
    expect(chosen).to_be_visible()
    offered = [text.strip() for text in choices.all_inner_texts()]
    if screenshot:
        doc_screenshot(page, screenshot, height=700)
    chosen.click()
    expect(modal).to_be_hidden()
    return offered


# -- instances: create, edit with a secret, bulk disable ----------------------------------


def test_editor_creates_edits_and_disables_an_instance(
    admin: Page, live_server: LiveServer
) -> None:
    page = admin
    PluginInstance.objects.create_instance(
        BankTransferGateway, name="Bank transfer - backup", status="reserved", priority=60
    )
    page.goto(f"{live_server.url}{instance_url('list')}")
    page.get_by_role("link", name="Add plugin instance").click()

    # Step 1: the implementations, grouped by type.
    expect(page.get_by_role("heading", name="Payment gateway")).to_be_visible()
    doc_screenshot(page, "choose-implementation.png", height=880)
    page.get_by_role("link", name="Stripe", exact=True).click()

    # Step 2: one form, the instance's fields and the configuration; nothing to clear yet,
    # and every input is inside a panel.
    expect(page.locator('input[name$="-clear"]')).to_have_count(0)
    stray = page.locator("form[data-edit-form] input:not([type=hidden])").evaluate_all(
        "inputs => inputs.filter(i => !i.closest('section, [data-panel], .w-panel'))"
        ".map(i => i.name)"
    )
    assert stray == []
    page.locator('[name="name"]').fill("Stripe - main account")
    page.locator('[name="priority"]').fill("10")
    page.locator('[name="config-publishable_key"]').fill(PUBLISHABLE_KEY)
    secret_input = page.locator('[name="config-secret_key"]')
    expect(secret_input).to_have_attribute("type", "password")
    secret_input.fill(SECRET)
    page.locator('[name="config-webhook_secret"]').fill(WEBHOOK_SECRET)
    page.get_by_role("button", name="Save", exact=True).click()

    row = listing_row(page, "Stripe - main account")
    expect(row).to_contain_text("Active")
    created = PluginInstance.objects.get(name="Stripe - main account")
    assert created.item.name == "stripe"
    assert created.config["secret_key"] == SECRET
    doc_screenshot(page, "instances.png", height=640)

    # Edit: the secret is write-only.
    row.get_by_role("link", name="Stripe - main account", exact=True).click()
    name_input = page.locator('[name="name"]')
    expect(name_input).to_have_value("Stripe - main account")
    secret_input = page.locator('[name="config-secret_key"]')
    expect(secret_input).to_have_value("")
    expect(secret_input).to_have_attribute("placeholder", re.compile("A value is stored"))
    expect(page.locator('[name="config-webhook_secret"]')).to_have_value("")
    html = page.content()
    assert SECRET not in html
    assert WEBHOOK_SECRET not in html
    expect(page.locator('[name="config-publishable_key"]')).to_have_value(PUBLISHABLE_KEY)
    doc_screenshot(page, "edit-instance.png", height=1500)
    name_input.fill("Stripe - main account (EUR)")
    page.get_by_role("button", name="Save", exact=True).click()

    row = listing_row(page, "Stripe - main account (EUR)")
    expect(row).to_be_visible()
    created.refresh_from_db()
    assert created.name == "Stripe - main account (EUR)"
    assert created.config["secret_key"] == SECRET
    assert created.config["webhook_secret"] == WEBHOOK_SECRET

    # Disable it with the bulk action.
    row.locator("input[data-bulk-action-checkbox]").check()
    footer = page.locator("[data-bulk-action-footer]")
    expect(footer.locator("[data-bulk-action-num-objects]")).to_have_text(
        "1 plugin instance selected"
    )
    footer.locator("[data-bulk-action-button]").filter(
        has_text=re.compile(r"^\s*Disable\s*$")
    ).click()
    expect(page.get_by_text("Make this plugin instance disabled?")).to_be_visible()
    page.get_by_role("button", name="Yes").click()

    row = listing_row(page, "Stripe - main account (EUR)")
    expect(row).to_contain_text("Disabled")
    created.refresh_from_db()
    assert created.status == PluginStatus.DISABLED


# -- a plugin in a page, through the chooser modal ----------------------------------------


def test_editor_adds_a_plugin_block_to_a_page_and_publishes(
    admin: Page, live_server: LiveServer, site: Site
) -> None:
    page = admin
    banner = PluginInstance.objects.create_instance(
        BannerWidget,
        name="Spring banner",
        config={"headline": "Spring sale: 20% off", "token": BANNER_TOKEN},
    )
    PluginInstance.objects.create_instance(SilentWidget, name="Quiet widget")
    widget_names = set(PluginInstance.objects.of_type("widget").values_list("name", flat=True))
    wagtail_page = PluginPage(title="Offers", slug="offers")
    site.root_page.add_child(instance=wagtail_page)

    page.goto(f"{live_server.url}{reverse('wagtailadmin_pages:edit', args=(wagtail_page.pk,))}")
    page.get_by_role("button", name="Insert a block").click()
    page.get_by_role("option", name="Widget", exact=True).click()
    opener = page.get_by_role("button", name="Choose plugin instance")
    offered = choose_in_modal(page, opener, "Spring banner", "chooser.png")
    # Only widgets: no payment gateway, though some exist.
    assert sorted(offered) == sorted(widget_names)
    assert "Bank transfer" not in offered
    expect(page.locator("[data-chooser-title]").first).to_contain_text("Spring banner")

    page.get_by_role("button", name="More actions").click()
    page.locator('button[name="action-publish"]').click()
    expect(page.get_by_text("Page 'Offers' has been published")).to_be_visible()

    wagtail_page.refresh_from_db()
    assert wagtail_page.live
    assert wagtail_page.body[0].value == banner

    page.goto(f"{live_server.url}{wagtail_page.url}")
    expect(page.locator("main .banner")).to_contain_text("Spring sale: 20% off")
    assert BANNER_TOKEN not in page.content()


# -- per-site settings --------------------------------------------------------------------


def test_editor_switches_the_sites_payment_gateway(
    admin: Page, live_server: LiveServer, site: Site
) -> None:
    page = admin
    usual = get_plugin_instance("payment_gateway", site=site)
    assert usual is not None
    assert usual.plugin_instance is not None
    assert usual.plugin_instance.name == "Bank transfer"
    backup = PluginInstance.objects.create_instance(
        BankTransferGateway, name="Bank transfer - backup", status="reserved", priority=60
    )
    PluginInstance.objects.create_instance(
        BannerWidget, name="Spring banner", config={"headline": "Sale", "token": BANNER_TOKEN}
    )
    gateway_names = set(
        PluginInstance.objects.of_type("payment_gateway").values_list("name", flat=True)
    )

    # Settings > Plugins: with a single site, Wagtail opens that site's settings.
    menu = page.get_by_role("navigation", name="Main menu")
    menu.get_by_role("button", name="Settings").click()
    menu.get_by_role("link", name="Plugins", exact=True).click()
    settings_url = reverse(
        "wagtailsettings:edit", args=("wagtail_plugin_system", "pluginsitesettings", site.pk)
    )
    expect(page).to_have_url(f"{live_server.url}{settings_url}")
    page.get_by_role("button", name="Add a choice").click()
    page.locator('[name="choices-0-plugin_type"]').select_option(label="Payment gateway")
    row = page.locator("#inline_child_choices-0")
    opener = row.get_by_role("button", name="Choose plugin instance")
    offered = choose_in_modal(page, opener, backup.name)
    # Only the payment gateways of the row's type: no widget, no SMS sender.
    assert sorted(offered) == sorted(gateway_names)
    assert "Spring banner" not in offered
    expect(row.locator("[data-chooser-title]")).to_contain_text(backup.name)
    doc_screenshot(page, "site-settings.png", height=700)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Plugins updated.")).to_be_visible()

    chosen = get_plugin_instance("payment_gateway", site=site)
    assert chosen is not None
    assert chosen.plugin_instance is not None
    assert chosen.plugin_instance.pk == backup.pk


# -- the chooser keeps the block's type while searching -----------------------------------


def test_chooser_search_keeps_the_blocks_plugin_type(
    admin: Page, live_server: LiveServer, site: Site
) -> None:
    page = admin
    PluginInstance.objects.create_instance(
        BannerWidget, name="Spring banner", config={"headline": "Sale", "token": BANNER_TOKEN}
    )
    PluginInstance.objects.create_instance(SilentWidget, name="Spring quiet widget")
    PluginInstance.objects.create_instance(
        BankTransferGateway, name="Spring bank transfer", status="disabled"
    )
    wagtail_page = PluginPage(title="Offers", slug="offers")
    site.root_page.add_child(instance=wagtail_page)

    page.goto(f"{live_server.url}{reverse('wagtailadmin_pages:edit', args=(wagtail_page.pk,))}")
    page.get_by_role("button", name="Insert a block").click()
    page.get_by_role("option", name="Widget", exact=True).click()
    page.get_by_role("button", name="Choose plugin instance").click()
    modal = page.locator(".modal-dialog")
    expect(modal.get_by_role("link", name="Spring banner", exact=True)).to_be_visible()
    with page.expect_response(lambda response: "q=spring" in response.url) as search:
        modal.get_by_role("textbox").first.fill("spring")
    # The search's results: only widgets, though a (disabled) gateway matches too.
    assert "plugin_type=widget" in search.value.url
    expect(modal.get_by_role("link", name="Spring quiet widget", exact=True)).to_be_visible()
    expect(modal.get_by_role("link", name="Spring banner", exact=True)).to_be_visible()
    expect(modal.get_by_role("link", name="Spring bank transfer", exact=True)).to_have_count(0)


# -- testing an instance, and back to the listing -----------------------------------------


def test_editor_tests_an_instance_from_the_listing(admin: Page, live_server: LiveServer) -> None:
    page = admin
    instance = PluginInstance.objects.create_instance(
        BankTransferGateway, name="Bank transfer - backup", status="reserved", priority=60
    )
    listing = f"{live_server.url}{instance_url('list')}?status=reserved"
    page.goto(listing)
    row = listing_row(page, instance.name)
    row.get_by_role("button", name="More options").click()
    row.get_by_role("link", name="Test").click()

    # The instance's header, as on its edit page: "Test" after breadcrumbs that lead to the
    # listing and to the instance.
    breadcrumbs = page.locator("[data-controller='w-breadcrumbs']")
    expect(breadcrumbs.locator("li:not([hidden])").last).to_have_text(re.compile(r"^\s*Test"))
    page.get_by_role("button", name="Toggle breadcrumbs").click()
    expect(breadcrumbs.get_by_role("link", name="Plugin instances")).to_be_visible()
    expect(breadcrumbs.get_by_role("link", name=instance.name)).to_have_attribute(
        "href", instance_url("edit", instance.pk)
    )
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Test plugin instance: {instance.name}"
    )
    doc_screenshot(page, "test-instance.png", height=480)
    page.get_by_role("button", name="Run the check").click()

    # Back where the editor came from: the filtered listing, with the result.
    expect(page).to_have_url(listing)
    expect(page.get_by_text("passed its check")).to_be_visible()
    expect(listing_row(page, instance.name)).to_contain_text("Passed")


# -- the dashboard: what needs attention ----------------------------------------------------


def test_dashboard_shows_what_needs_attention(
    admin: Page, live_server: LiveServer, plugin_registry: PluginRegistry
) -> None:
    page = admin
    plugin_registry.register_item(FlakyGateway)
    sync_plugins()
    flaky = PluginInstance.objects.create_instance(
        FlakyGateway,
        name="Flaky gateway",
        config={"api_key": "flaky-key-123", "fail_with": "provider"},
        status="reserved",
    )
    page.goto(f"{live_server.url}/admin/")
    expect(page.locator("#plugin-problems-section")).to_have_count(0)

    # Tested from its row: it fails, and the listing says why.
    page.goto(f"{live_server.url}{instance_url('check', flaky.pk)}")
    page.get_by_role("button", name="Run the check").click()
    expect(page.get_by_text("failed its check")).to_be_visible()

    page.goto(f"{live_server.url}/admin/")
    panel = page.locator("#plugin-problems-section")
    expect(panel).to_contain_text("Plugins that need attention")
    row = panel.locator("tbody tr").filter(has_text="Flaky gateway")
    expect(row).to_contain_text("Its last check failed: authentication failed")
    expect(row).not_to_contain_text("ProviderError")
    assert "flaky-key-123" not in page.content()
    doc_screenshot(page, "dashboard.png", height=640)
    row.get_by_role("link", name="Test again").click()
    expect(page.get_by_role("button", name="Run the check")).to_be_visible()


# -- the admin in French: none of our English left ------------------------------------------


def test_a_french_editor_meets_no_english_of_ours(
    admin: Page, live_server: LiveServer, site: Site, plugin_registry: PluginRegistry
) -> None:
    """Every plugin screen, as the browser shows it to a French editor (scripts run)."""
    from wagtail.users.models import UserProfile

    from tests.admin.test_languages import english_strings, leftovers
    from wagtail_plugin_system.models import PluginItem, PluginType

    page = admin
    profile = UserProfile.get_for_user(get_user_model().objects.get(username=USERNAME))
    profile.preferred_language = "fr"
    profile.save()
    plugin_registry.register_item(FlakyGateway)
    sync_plugins()
    flaky = PluginInstance.objects.create_instance(
        FlakyGateway,
        name="Flaky gateway",
        config={"api_key": "flaky-key-123", "fail_with": "provider"},
    )
    stripe_item = PluginItem.objects.get(name="stripe")
    strings = english_strings("fr")
    assert "Plugins that need attention" in strings  # the list is not empty by mistake
    screens = [
        ("dashboard", "/admin/"),
        ("listing", instance_url("list")),
        ("create, step 1", instance_url("add")),
        ("create, step 2", instance_url("add_item", stripe_item.pk)),
        ("edit", instance_url("edit", flaky.pk)),
        ("inspect", instance_url("inspect", flaky.pk)),
        ("test", instance_url("check", flaky.pk)),
        ("types", reverse("wagtail_plugin_system_types:index")),
        (
            "type",
            reverse(
                "wagtail_plugin_system_types:inspect",
                args=(PluginType.objects.get(name="payment_gateway").pk,),
            ),
        ),
        ("implementations", reverse("wagtail_plugin_system_items:index")),
        (
            "settings",
            reverse(
                "wagtailsettings:edit",
                args=("wagtail_plugin_system", "pluginsitesettings", site.pk),
            ),
        ),
    ]
    found: dict[str, list[str]] = {}

    def look(name: str) -> None:
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        text = page.locator("body").inner_text()
        attributes = page.eval_on_selector_all(
            "[title], [placeholder], [aria-label], [alt]",
            """elements => elements.flatMap(element => ['title', 'placeholder', 'aria-label',
                'alt'].map(name => element.getAttribute(name)).filter(Boolean))""",
        )
        english = leftovers("\n".join([text, *attributes]), strings)
        if english:
            found[name] = english

    for name, path in screens:
        page.goto(f"{live_server.url}{path}")
        look(name)
    # The check run from the Test page, its flash message, then the chooser of the settings.
    page.goto(f"{live_server.url}{instance_url('check', flaky.pk)}")
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_text("authentication failed")).to_be_visible()
    look("test, failed")
    page.goto(f"{live_server.url}{screens[-1][1]}")
    page.get_by_role("button", name="Ajouter un choix").click()
    page.locator('[name="choices-0-plugin_type"]').select_option(label="Payment gateway")
    page.locator("#inline_child_choices-0 .chooser__choose-button").click()
    modal = page.locator(".modal-dialog")
    expect(modal.get_by_role("heading", name="Choisir une instance de plugin")).to_be_visible()
    look("chooser")
    modal.locator("input[name=q]").fill("nothing-like-this")
    expect(modal.get_by_text("Aucune instance de plugin ne correspond")).to_be_visible()
    look("chooser, empty search")
    assert found == {}
