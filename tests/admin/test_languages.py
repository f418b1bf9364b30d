"""The plugin screens for a French and a German editor: none of our English strings left.

Every screen an editor meets is rendered for an admin user whose preferred
language is French, then German, and its text (and the attributes people read:
titles, placeholders, labels for screen readers) is searched for the msgids of
our catalog whose translation differs from the English. Wagtail's own strings
are Wagtail's concern: only ours are looked for.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.translation import override
from wagtail.models import Site
from wagtail.test.utils import WagtailTestUtils
from wagtail.test.utils.form_data import inline_formset, nested_form_data
from wagtail.users.models import UserProfile

from tests.test_i18n import compiled, msgids
from tests.testapp.factories import STRIPE_CONFIG
from tests.testapp.plugins import FlakyGateway, StripeGateway
from wagtail_plugin_system.admin.forms import config_field_name
from wagtail_plugin_system.health import run_health_check
from wagtail_plugin_system.models import PluginInstance, PluginItem, PluginStatus, PluginType

pytestmark = pytest.mark.django_db

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}")
#: Attributes whose text people read.
READ_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt", "data-w-tooltip-content-value")


def english_strings(language: str) -> list[str]:
    """Our msgids (the fixed parts of those with placeholders) translated differently."""
    catalog = compiled(language)
    translations = "\n".join(str(value) for value in catalog.values())
    found = set()
    for key, plural in msgids("en"):
        msgid = key.split("\x04")[-1]
        translation = catalog.get(key) if plural is None else catalog.get((key, 0))
        if not translation or translation == msgid:
            continue
        for part in [msgid, *([plural] if plural else [])]:
            for fragment in PLACEHOLDER.split(part):
                fragment = fragment.strip(" .,:;()“”\"'")
                # A fragment too short to be ours alone ("s", "of") says nothing.
                if len(fragment) >= 4 or fragment == part.strip():
                    found.add(fragment)
    # Words the language shares with English ("Active" in French, "Reserve" in German) are
    # not leftovers: nothing that one of our translations says counts.
    return sorted(
        (string for string in found if not leftovers(translations, [string])),
        key=len,
        reverse=True,
    )


def readable_text(html: str) -> str:
    soup = WagtailTestUtils.get_soup(html.encode())  # type: ignore[arg-type]
    # Not read, or Wagtail's own furniture (the sidebar, the status side panel).
    for hidden in soup.select("script, style, template, svg, aside, [data-side-panel]"):
        hidden.decompose()
    parts = [soup.get_text("\n")]
    for attribute in READ_ATTRIBUTES:
        parts += [str(element[attribute]) for element in soup.select(f"[{attribute}]")]
    return "\n".join(parts)


def leftovers(text: str, strings: list[str]) -> list[str]:
    return [
        string for string in strings if re.search(rf"(?<![\w-]){re.escape(string)}(?![\w-])", text)
    ]


def url(name: str, *args: object) -> str:
    return reverse(PluginInstance.snippet_viewset.get_url_name(name), args=args)  # type: ignore[attr-defined]


def registry_url(model: type, name: str, *args: object) -> str:
    viewset = (
        "wagtail_plugin_system_types" if model is PluginType else "wagtail_plugin_system_items"
    )
    return reverse(f"{viewset}:{name}", args=args)


@pytest.fixture
def screens(
    synced: Any, default_site: Site, make_instance: Any
) -> list[tuple[str, str, dict[str, Any] | None]]:
    """(name, URL, POST data or None) of every screen, with instances in every state."""
    stripe = make_instance(StripeGateway, "Stripe live", config=STRIPE_CONFIG, priority=5)
    spare = make_instance(StripeGateway, "Stripe spare", config=STRIPE_CONFIG)
    PluginInstance.objects.filter(pk=spare.pk).update(status=PluginStatus.RESERVED)
    flaky = make_instance(FlakyGateway, "Flaky", config={"api_key": "k", "fail_with": "provider"})
    run_health_check(flaky)
    bank = PluginInstance.objects.get(item__name="bank_transfer")
    PluginInstance.objects.filter(pk=bank.pk).update(status=PluginStatus.DISABLED)
    # A type with no usable instance, for the dashboard panel.
    PluginInstance.objects.filter(item__plugin_type__name="sms_sender").update(
        status=PluginStatus.DISABLED
    )
    payment = PluginType.objects.get(name="payment_gateway")
    item = PluginItem.objects.get(name="stripe")
    ids = [stripe.pk, spare.pk, flaky.pk]
    chooser = PluginInstance.snippet_viewset.chooser_viewset  # type: ignore[attr-defined]

    def bulk(action: str) -> str:
        base = reverse(
            "wagtail_bulk_action", args=("wagtail_plugin_system", "plugininstance", action)
        )
        return f"{base}?{urlencode([('next', url('list')), *(('id', pk) for pk in ids)])}"

    settings = reverse(
        "wagtailsettings:edit",
        args=("wagtail_plugin_system", "pluginsitesettings", default_site.pk),
    )
    duplicate = nested_form_data(
        {
            "choices": inline_formset(
                [
                    {"plugin_type": payment.pk, "instance": stripe.pk},
                    {"plugin_type": payment.pk, "instance": spare.pk},
                ]
            )
        }
    )
    edit_with_errors = {
        "name": "",
        "status": "active",
        "priority": "x",
        config_field_name("publishable_key"): "",
    }
    return [
        ("dashboard", reverse("wagtailadmin_home"), None),
        ("listing", url("list"), None),
        ("listing filtered", url("list") + "?status=reserved", None),
        ("create, step 1", url("add"), None),
        ("create, step 2", url("add_item", item.pk), None),
        ("create, with errors", url("add_item", item.pk), {"name": ""}),
        ("edit", url("edit", stripe.pk), None),
        ("edit, with errors", url("edit", stripe.pk), edit_with_errors),
        ("inspect", url("inspect", flaky.pk), None),
        ("history", url("history", stripe.pk), None),
        ("usage", url("usage", stripe.pk), None),
        ("test", url("check", flaky.pk), None),
        ("test, failed", url("check", flaky.pk), {}),
        ("test, passed", url("check", stripe.pk), {}),
        *(
            (f"bulk {action}", bulk(action), None)
            for action in ("activate", "reserve", "disable", "set_priority", "delete")
        ),
        ("bulk set_priority, invalid", bulk("set_priority"), {"priority": "x"}),
        ("types", registry_url(PluginType, "index"), None),
        ("type", registry_url(PluginType, "inspect", payment.pk), None),
        ("implementations", registry_url(PluginItem, "index"), None),
        ("implementation", registry_url(PluginItem, "inspect", item.pk), None),
        ("settings", settings, None),
        ("settings, duplicate", settings, duplicate),
        ("chooser", reverse(chooser.get_url_name("choose")) + "?plugin_type=payment_gateway", None),
        ("chooser search", reverse(chooser.get_url_name("choose_results")) + "?q=stripe", None),
    ]


@pytest.mark.parametrize("language", ["fr", "de"])
@pytest.mark.slow
def test_no_english_left_on_the_plugin_screens(
    client: Client, screens: list[tuple[str, str, dict[str, Any] | None]], language: str
) -> None:
    user = WagtailTestUtils.create_superuser(f"editor-{language}", password="pw")  # type: ignore[arg-type]
    profile = UserProfile.get_for_user(user)
    profile.preferred_language = language
    profile.save()
    client.force_login(user)
    strings = english_strings(language)
    assert "Plugins that need attention" in strings  # the list is not empty by mistake
    found: dict[str, list[str]] = {}
    for name, address, data in screens:
        post = data is not None
        response = client.post(address, data, follow=True) if post else client.get(address)
        assert response.status_code == 200, (name, response.status_code)
        html = response.content.decode()
        if response["Content-Type"].startswith("application/json"):
            html = str(json.loads(html).get("html", ""))
        english = leftovers(readable_text(html), strings)
        if english:
            found[name] = english
    assert found == {}


def test_the_check_is_not_blind() -> None:
    """The same search finds our English on a screen rendered in English."""
    with override("en"):
        strings = english_strings("fr")
    text = "Plugins that need attention\nLast check\nAll plugin instances in listing selected"
    assert {
        "All plugin instances in listing selected",
        "Plugins that need attention",
        "Last check",
    } <= set(leftovers(text, strings))
