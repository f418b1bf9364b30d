"""Security of the admin: secrets never leave the database, permissions, tampered requests.

Everything goes through the real admin views with the test client, the real
database and the real registry; nothing is mocked.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from wagtail import hooks
from wagtail.models import ModelLogEntry, Revision
from wagtail.test.utils import WagtailTestUtils
from wagtail.test.utils.form_data import querydict_from_html

from tests.testapp.factories import STRIPE_CONFIG
from tests.testapp.plugins import (
    PaymentGatewayType,
    ProviderError,
    StripeConfiguration,
    StripeGateway,
)
from wagtail_plugin_system import BasePluginItem
from wagtail_plugin_system.core.registry import PluginRegistry
from wagtail_plugin_system.fields import decrypt_text
from wagtail_plugin_system.models import PluginInstance, PluginItem, PluginStatus, PluginType
from wagtail_plugin_system.sync import sync_plugins

pytestmark = pytest.mark.django_db

SECRETS = (STRIPE_CONFIG["secret_key"], STRIPE_CONFIG["webhook_secret"])
UTILS = WagtailTestUtils()
DENIED = "Sorry, you do not have permission to access this area."


class LeakyGateway(BasePluginItem):
    """Stripe's configuration, and a check whose error repeats both secrets."""

    name = "leaky"
    plugin_type = PaymentGatewayType
    configuration = StripeConfiguration

    def create_payment(self, amount: int) -> str:
        return f"leaky:{amount}"

    def check(self) -> None:
        raise ProviderError(
            f"key {self.config['secret_key']} refused, webhook {self.config['webhook_secret']}"
        )


# -- helpers ------------------------------------------------------------------------------


def instance_url(name: str, *args: object) -> str:
    return reverse(PluginInstance.snippet_viewset.get_url_name(name), args=args)  # type: ignore[attr-defined]


def registry_url(viewset: str, name: str, *args: object) -> str:
    return reverse(f"wagtail_plugin_system_{viewset}:{name}", args=args)


def bulk_url(action: str, *ids: object) -> str:
    """A bulk action's URL as the listing builds it: back to the listing afterwards."""
    base = reverse("wagtail_bulk_action", args=("wagtail_plugin_system", "plugininstance", action))
    query = [("next", instance_url("list")), *(("id", pk) for pk in ids)]
    return f"{base}?{urlencode(query)}"


def chooser_url(name: str, *args: object) -> str:
    return reverse(f"wagtailsnippetchoosers_wagtail_plugin_system_plugininstance:{name}", args=args)


def stripe_form_data(name: str, **overrides: str) -> dict[str, str]:
    """What the step 2 form posts for a Stripe instance (an unticked checkbox is not sent)."""
    data = {"name": name, "description": "", "status": "active", "priority": "100"}
    for key, value in STRIPE_CONFIG.items():
        if value is not False:
            data[f"config-{key}"] = str(value)
    data.update(overrides)
    return data


def raw_config(pk: int) -> str:
    table = connection.ops.quote_name(PluginInstance._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT config FROM {table} WHERE id = %s", [pk])
        row = cursor.fetchone()
    assert row is not None
    value: str = row[0]
    return value


def grant(user: Any, *codenames: str) -> Any:
    for codename in codenames:
        # django-plugin-system (installed for the pluginimport tests) has models of the same
        # names, hence permissions with the same codenames: grant ours.
        permissions = Permission.objects.exclude(content_type__app_label="django_plugin_system")
        user.user_permissions.add(permissions.get(codename=codename))
    return user


def client_for(username: str, *codenames: str) -> Client:
    user = UTILS.create_user(username, password="password")
    grant(user, "access_admin", *codenames)
    client = Client()
    client.force_login(user)
    return client


def item_pk(name: str) -> int:
    pk: int = PluginItem.objects.get(name=name).pk
    return pk


def body(response: HttpResponse) -> str:
    return response.content.decode()


def assert_denied(response: HttpResponse) -> None:
    """What Wagtail's admin does when a view raises PermissionDenied: back to the dashboard."""
    assert response.status_code == 302, response
    assert response["Location"] == reverse("wagtailadmin_home")


def field_errors(soup: Any, field_name: str) -> list[str]:
    """The error messages shown next to one field of a Wagtail admin form."""
    field = soup.select_one(f'[data-contentpath="{field_name}"]')
    assert field is not None, field_name
    return [error.get_text(strip=True) for error in field.select(".error-message")]


def messages_of(client: Client) -> str:
    """The pending django messages, as the dashboard renders them."""
    response = client.get(reverse("wagtailadmin_home"))
    assert response.status_code == 200
    return body(response)


# -- 1. the secret crawl ------------------------------------------------------------------


class Crawl:
    """Fetches admin pages and keeps every byte a browser would get back."""

    def __init__(self, client: Client, name: str) -> None:
        self.client = client
        self.name = name
        self.texts: list[tuple[str, str]] = []
        #: Pages that did not render (status, size) or did not show the instance.
        self.problems: list[str] = []
        self.pages_with_name = 0
        self.pages = 0

    def keep(self, label: str, response: HttpResponse) -> str:
        text = body(response)
        headers = "\n".join(f"{key}: {value}" for key, value in response.headers.items())
        self.texts.append((label, f"{text}\n{headers}\n{response.cookies.output()}"))
        if response.context is not None and "messages" in response.context:
            pending = " ".join(str(message) for message in response.context["messages"])
            self.texts.append((f"{label} (messages)", pending))
        return text

    def get(self, url: str, *, expect_name: bool = True) -> str:
        response = self.client.get(url)
        text = self.keep(f"GET {url}", response)
        self.pages += 1
        if response.status_code != 200 or len(text) < 100:
            self.problems.append(f"GET {url}: status {response.status_code}, {len(text)} chars")
        elif self.name in text:
            self.pages_with_name += 1
        elif expect_name:
            self.problems.append(f"GET {url} does not show the instance {self.name!r}")
        return text

    def post(self, url: str, data: dict[str, Any] | Any, *, status: int = 302) -> str:
        """POST, then follow redirects one by one, keeping every response (and messages)."""
        response = self.client.post(url, data)
        text = self.keep(f"POST {url}", response)
        if response.status_code != status:
            self.problems.append(f"POST {url}: status {response.status_code}, not {status}")
        hops = 0
        while response.status_code == 302 and hops < 5:
            location = response["Location"]
            response = self.client.get(location)
            text = self.keep(f"GET {location} (after POST {url})", response)
            if response.status_code != 200:
                self.problems.append(f"GET {location} after POST {url}: {response.status_code}")
            hops += 1
        return text

    def leaks(self, secrets: Iterable[str]) -> list[str]:
        return [label for label, text in self.texts for secret in secrets if secret in text]


def _all_table_rows() -> str:
    rows: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows.extend(f"{table}: {row!r}" for row in cursor.fetchall())
    return "\n".join(rows)


@pytest.mark.slow
def test_secrets_never_leave_the_database(
    client: Client, synced: Any, plugin_registry: PluginRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for logger_name in list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=logger_name)
    plugin_registry.register_item(LeakyGateway)
    sync_plugins()
    admin = UTILS.create_superuser("admin", password="password")
    client.force_login(admin)
    client.raise_request_exception = False  # a page that crashes is a finding, not the end
    crawl = Crawl(client, "Stripe live")
    stripe_pk, leaky_pk = item_pk("stripe"), item_pk("leaky")
    type_pk = PluginType.objects.get(name="payment_gateway").pk

    with CaptureQueriesContext(connection) as queries:
        # Create through step 2 of the admin.
        text = crawl.post(instance_url("add_item", stripe_pk), stripe_form_data("Stripe draft"))
        assert "Stripe draft" in text  # the "created" message
        instance = PluginInstance.objects.get(name="Stripe draft")
        pk = instance.pk
        crawl.post(instance_url("add_item", leaky_pk), stripe_form_data("Leaky one"))
        leaky = PluginInstance.objects.get(name="Leaky one")

        # Edit through the real form: rename, secrets left blank (kept).
        edit_page = crawl.get(instance_url("edit", pk), expect_name=False)
        data = querydict_from_html(edit_page, form_id="w-editor-form")
        assert data["config-secret_key"] == ""
        assert data["config-webhook_secret"] == ""
        data["name"] = "Stripe live"
        text = crawl.post(instance_url("edit", pk), data)
        assert "Stripe live" in text

        # Health checks: one passes, one fails with an error that repeats the secrets.
        text = crawl.post(instance_url("check", pk), {})
        assert "passed its check" in text
        text = crawl.post(instance_url("check", leaky.pk), {})
        assert "failed its check" in text
        assert "key *** refused, webhook ***" in text  # blanked out, not dropped
        assert "ProviderError" not in text  # the class is for the log and the inspect view

        # Bulk actions: disable, set priority.
        crawl.post(bulk_url("disable", pk), {})
        crawl.post(bulk_url("set_priority", pk, leaky.pk), {"priority": "7"})

        instance.refresh_from_db()
        if (instance.status, instance.priority) != (PluginStatus.DISABLED, 7):
            crawl.problems.append(f"bulk actions left {instance.status}, {instance.priority}")
        assert instance.config == STRIPE_CONFIG  # the secrets really are stored

        # Every page of the app.
        pages: list[tuple[str, bool]] = [
            (instance_url("list"), True),
            (instance_url("list") + "?q=Stripe", True),
            (instance_url("list") + "?q=live", True),
            (instance_url("list") + "?status=disabled", True),
            (instance_url("list") + f"?item__plugin_type={type_pk}", True),
            (instance_url("list") + f"?item={stripe_pk}", True),
            (instance_url("list") + "?ordering=-priority", True),
            (instance_url("list") + "?ordering=item__name", True),
            (instance_url("list") + "?ordering=last_check_at", True),
            (instance_url("list") + "?ordering=-usage_count", True),
            (instance_url("list_results") + "?q=Stripe&status=disabled", True),
            (instance_url("list_results"), True),
            (instance_url("add"), False),
            (instance_url("add_item", stripe_pk), False),
            (instance_url("add_item", leaky_pk), False),
            (instance_url("edit", pk), True),
            (instance_url("edit", leaky.pk), False),
            (instance_url("inspect", pk), True),
            (instance_url("history", pk), True),
            (instance_url("history_results", pk), False),
            (instance_url("usage", pk), True),
            (instance_url("delete", pk), True),
            (instance_url("check", pk), True),
            (instance_url("check", leaky.pk), False),
            (bulk_url("activate", pk, leaky.pk), True),
            (bulk_url("reserve", pk), True),
            (bulk_url("disable", pk), True),
            (bulk_url("set_priority", pk), True),
            (bulk_url("delete", pk, leaky.pk), True),
            (registry_url("types", "index"), False),
            (registry_url("types", "index_results"), False),
            (registry_url("types", "inspect", type_pk), False),
            (registry_url("items", "index"), False),
            (registry_url("items", "index") + f"?plugin_type={type_pk}", False),
            (registry_url("items", "index_results"), False),
            (registry_url("items", "inspect", stripe_pk), False),
            (registry_url("items", "inspect", leaky_pk), False),
            (reverse("wagtailadmin_reports:site_history"), True),
            (reverse("wagtailadmin_reports:site_history_results"), True),
            (reverse("wagtailadmin_home"), False),
            (chooser_url("choose"), True),
            (chooser_url("choose_results") + "?q=Stripe", True),
            (chooser_url("chosen", pk), True),
        ]
        for url, expect_name in pages:
            crawl.get(url, expect_name=expect_name)

        # Re-rendered forms after validation errors, with the secrets typed in again.
        data["name"] = ""
        text = crawl.post(instance_url("edit", pk), data, status=200)
        assert "This field is required." in text
        data.update(
            {
                f"config-{key}": value
                for key, value in zip(("secret_key", "webhook_secret"), SECRETS, strict=True)
            }
        )
        text = crawl.post(instance_url("edit", pk), data, status=200)
        assert "This field is required." in text
        text = crawl.post(
            instance_url("add_item", stripe_pk),
            stripe_form_data("Stripe broken", **{"config-retries": "-5"}),
            status=200,
        )
        assert "greater than or equal to 0" in text

    # The crawl really fetched pages, and they showed the instance.
    assert crawl.pages == len(pages) + 1
    expected_with_name = sum(expect_name for _, expect_name in pages)
    assert expected_with_name >= 25
    assert crawl.pages_with_name >= expected_with_name - len(crawl.problems)
    assert not crawl.leaks(SECRETS), crawl.leaks(SECRETS)
    # The search would find a configuration value: the edit form shows the non-secret ones.
    assert crawl.leaks([STRIPE_CONFIG["publishable_key"]])

    # The database: audit log, revisions, the raw column, every table, every query sent.
    entries = list(ModelLogEntry.objects.filter(object_id__in=[str(pk), str(leaky.pk)]))
    actions = {entry.action for entry in entries if entry.object_id == str(pk)}
    assert {"wagtail.create", "wagtail.edit", "wagtail_plugin_system.check"} <= actions
    bulk_logged = {"wagtail_plugin_system.disable", "wagtail_plugin_system.set_priority"}
    if not bulk_logged <= actions:
        crawl.problems.append(f"bulk actions not logged: {bulk_logged - actions}")
    for entry in ModelLogEntry.objects.all():
        dumped = [str(getattr(entry, field.attname)) for field in ModelLogEntry._meta.fields]
        dumped += [json.dumps(entry.data), entry.label, entry.message, str(entry.comment)]
        for secret in SECRETS:
            assert all(secret not in value for value in dumped), entry.action
    for revision in Revision.objects.all():
        assert not any(secret in json.dumps(revision.content) for secret in SECRETS)
    for row_pk in (pk, leaky.pk):
        token = raw_config(row_pk)
        assert not any(secret in token for secret in SECRETS)
        assert token.startswith("gAAAAA")  # a Fernet token
        assert STRIPE_CONFIG["secret_key"] in decrypt_text(token)
    everything = _all_table_rows()
    assert "Stripe live" in everything
    assert not any(secret in everything for secret in SECRETS)
    sent = "\n".join(str(query["sql"]) for query in queries.captured_queries)
    assert raw_config(pk) in sent  # the queries were captured with their parameters
    assert not any(secret in sent for secret in SECRETS)

    # Logs, SQL included: the failed check was logged, with the secrets blanked out.
    assert any(record.name == "django.db.backends" for record in caplog.records)
    assert any("failed" in record.getMessage() for record in caplog.records)
    logged = caplog.text + "\n".join(record.getMessage() for record in caplog.records)
    assert "Leaky one" in logged
    assert not any(secret in logged for secret in SECRETS)

    # dumpdata writes ciphertext only.
    out = io.StringIO()
    call_command("dumpdata", "wagtail_plugin_system", "wagtailcore.ModelLogEntry", stdout=out)
    dump = out.getvalue()
    assert "Stripe live" in dump
    assert raw_config(pk) in dump
    assert not any(secret in dump for secret in SECRETS)

    # Last, so that the secret checks above run whatever happens: every page rendered.
    assert not crawl.problems, "\n".join(crawl.problems)


# -- 2. permissions -----------------------------------------------------------------------


@pytest.fixture
def stripe(make_instance: Any) -> PluginInstance:
    instance: PluginInstance = make_instance(StripeGateway, "Stripe live", config=STRIPE_CONFIG)
    return instance


def _snapshot() -> list[tuple[Any, ...]]:
    """Everything an admin request could change, to compare before and after."""
    instances = [
        (
            row.pk,
            row.name,
            row.status,
            row.priority,
            row.item_id,
            row.updated_at,
            row.last_check_at,
            raw_config(row.pk),
        )
        for row in PluginInstance.objects.order_by("pk")
    ]
    return [*instances, ("log entries", ModelLogEntry.objects.count())]


def _instance_gets(instance: PluginInstance) -> list[str]:
    pk = instance.pk
    return [
        instance_url("list"),
        instance_url("list_results"),
        instance_url("add"),
        instance_url("add_item", instance.item_id),
        instance_url("edit", pk),
        instance_url("inspect", pk),
        instance_url("history", pk),
        instance_url("history_results", pk),
        instance_url("usage", pk),
        instance_url("delete", pk),
        instance_url("check", pk),
    ]


def _registry_gets() -> list[str]:
    type_pk = PluginType.objects.get(name="payment_gateway").pk
    return [
        registry_url("types", "index"),
        registry_url("types", "index_results"),
        registry_url("types", "inspect", type_pk),
        registry_url("items", "index"),
        registry_url("items", "index_results"),
        registry_url("items", "inspect", item_pk("stripe")),
    ]


def _instance_posts(instance: PluginInstance) -> list[tuple[str, dict[str, str]]]:
    pk = instance.pk
    return [
        (instance_url("add"), {}),
        (instance_url("add_item", instance.item_id), stripe_form_data("Created anyway")),
        (instance_url("edit", pk), stripe_form_data("Renamed anyway")),
        (instance_url("check", pk), {}),
        (instance_url("delete", pk), {}),
    ]


def _bulk_posts(instance: PluginInstance) -> list[tuple[str, dict[str, str]]]:
    return [
        (bulk_url("activate", instance.pk), {}),
        (bulk_url("reserve", instance.pk), {}),
        (bulk_url("disable", instance.pk), {}),
        (bulk_url("set_priority", instance.pk), {"priority": "1"}),
        (bulk_url("delete", instance.pk), {}),
    ]


def test_admin_user_without_plugin_permissions_is_turned_away(stripe: PluginInstance) -> None:
    client = client_for("outsider")
    before = _snapshot()
    for url in [*_instance_gets(stripe), *_registry_gets()]:
        response = client.get(url)
        assert_denied(response)
        assert "Stripe live" not in body(response)
    for url, data in _instance_posts(stripe):
        response = client.post(url, data)
        assert_denied(response)
    assert _snapshot() == before
    dashboard = messages_of(client)
    assert DENIED in dashboard
    assert "Stripe live" not in dashboard
    assert not PluginInstance.objects.filter(name__endswith="anyway").exists()


def test_bulk_actions_change_nothing_for_a_user_without_plugin_permissions(
    stripe: PluginInstance,
) -> None:
    client = client_for("outsider")
    before = _snapshot()
    for url, data in _bulk_posts(stripe):
        response = client.post(url, data)
        assert response.status_code in (302, 403), url
        assert "Stripe live" not in body(response)
    assert _snapshot() == before
    assert "Stripe live" not in messages_of(client)


def test_bulk_action_pages_do_not_show_instances_to_a_user_without_plugin_permissions(
    stripe: PluginInstance,
) -> None:
    client = client_for("outsider")
    for action in ("activate", "reserve", "disable", "set_priority", "delete"):
        response = client.get(bulk_url(action, stripe.pk))
        assert "Stripe live" not in body(response), action


def test_snippet_chooser_does_not_list_instances_to_a_user_without_plugin_permissions(
    stripe: PluginInstance,
) -> None:
    client = client_for("outsider")
    for url in (
        chooser_url("choose"),
        chooser_url("choose_results"),
        chooser_url("choose_results") + "?q=Stripe",
        chooser_url("chosen", stripe.pk),
    ):
        response = client.get(url)
        assert "Stripe live" not in body(response), url


def test_view_permission_shows_but_changes_nothing(stripe: PluginInstance) -> None:
    client = client_for("viewer", "view_plugininstance")
    for url in (instance_url("list"), instance_url("inspect", stripe.pk)):
        response = client.get(url)
        assert response.status_code == 200
        assert "Stripe live" in body(response)
        assert not any(secret in body(response) for secret in SECRETS)
    listing = body(client.get(instance_url("list")))
    assert instance_url("add") not in listing  # no "add" button
    assert instance_url("check", stripe.pk) not in listing  # no "test" menu item
    before = _snapshot()
    for url in (
        instance_url("add"),
        instance_url("add_item", stripe.item_id),
        instance_url("edit", stripe.pk),
        instance_url("check", stripe.pk),
        instance_url("delete", stripe.pk),
    ):
        assert_denied(client.get(url))
    for url, data in [*_instance_posts(stripe), *_bulk_posts(stripe)]:
        response = client.post(url, data)
        assert response.status_code == 302, url
    assert _snapshot() == before


def test_change_permission_edits_but_does_not_create(stripe: PluginInstance) -> None:
    client = client_for("editor", "change_plugininstance")
    assert_denied(client.get(instance_url("add")))
    assert_denied(client.get(instance_url("add_item", stripe.item_id)))
    assert_denied(client.post(instance_url("add_item", stripe.item_id), stripe_form_data("New")))
    assert_denied(client.post(instance_url("delete", stripe.pk), {}))
    assert PluginInstance.objects.filter(item__name="stripe").count() == 1

    assert instance_url("check", stripe.pk) in body(client.get(instance_url("list")))
    response = client.get(instance_url("edit", stripe.pk))
    assert response.status_code == 200
    data = querydict_from_html(body(response), form_id="w-editor-form")
    data["name"] = "Stripe renamed"
    response = client.post(instance_url("edit", stripe.pk), data)
    assert response.status_code == 302
    stripe.refresh_from_db()
    assert stripe.name == "Stripe renamed"
    assert stripe.config == STRIPE_CONFIG

    response = client.post(instance_url("check", stripe.pk), {})
    assert response.status_code == 302
    stripe.refresh_from_db()
    assert stripe.last_check_at is not None
    client.post(bulk_url("reserve", stripe.pk), {})
    stripe.refresh_from_db()
    assert stripe.status == PluginStatus.RESERVED
    client.post(bulk_url("delete", stripe.pk), {})
    assert PluginInstance.objects.filter(pk=stripe.pk).exists()


def test_add_permission_creates(stripe: PluginInstance) -> None:
    client = client_for("creator", "add_plugininstance")
    assert client.get(instance_url("add")).status_code == 200
    response = client.post(instance_url("add_item", stripe.item_id), stripe_form_data("Second"))
    assert response.status_code == 302
    assert PluginInstance.objects.get(name="Second").config == STRIPE_CONFIG
    assert instance_url("add") in body(client.get(instance_url("list")))  # the "add" button
    assert_denied(client.get(instance_url("edit", stripe.pk)))


def test_type_view_permission_shows_types_only(stripe: PluginInstance) -> None:
    client = client_for("typewatcher", "view_plugintype")
    response = client.get(registry_url("types", "index"))
    assert response.status_code == 200
    assert "payment_gateway" in body(response)
    type_pk = PluginType.objects.get(name="payment_gateway").pk
    assert client.get(registry_url("types", "inspect", type_pk)).status_code == 200
    assert_denied(client.get(registry_url("items", "index")))
    for url in _instance_gets(stripe):
        assert_denied(client.get(url))


def _registered_permissions() -> set[str]:
    codenames: set[str] = set()
    for hook in hooks.get_hooks("register_permissions"):
        codenames |= {
            f"{permission.content_type.model}.{permission.codename}" for permission in hook()
        }
    return {name for name in codenames if name.startswith("plugin")}


def test_group_editor_offers_only_view_for_the_registry() -> None:
    assert _registered_permissions() == {
        "plugintype.view_plugintype",
        "pluginitem.view_pluginitem",
        "plugininstance.add_plugininstance",
        "plugininstance.change_plugininstance",
        "plugininstance.delete_plugininstance",
        "plugininstance.view_plugininstance",
        # Drafts and locking (Wagtail's snippet permissions for them).
        "plugininstance.publish_plugininstance",
        "plugininstance.lock_plugininstance",
        "plugininstance.unlock_plugininstance",
        # The per-site plugin settings (Settings > Plugins), as for any Wagtail setting.
        "pluginsitesettings.change_pluginsitesettings",
    }
    client = Client()
    client.force_login(UTILS.create_superuser("admin", password="password"))
    soup = UTILS.get_soup(client.get(reverse("wagtailusers_groups:add")).content)
    offered = {
        int(box["value"]) for box in soup.select('input[type="checkbox"][name="permissions"]')
    }
    ours = Permission.objects.filter(content_type__app_label="wagtail_plugin_system")
    assert {p.codename for p in ours if p.pk in offered} == {
        "view_plugintype",
        "view_pluginitem",
        "add_plugininstance",
        "change_plugininstance",
        "delete_plugininstance",
        "view_plugininstance",
        "publish_plugininstance",
        "lock_plugininstance",
        "unlock_plugininstance",
        "change_pluginsitesettings",
    }


# -- 3. tampered requests -----------------------------------------------------------------


@pytest.fixture
def superuser_client(client: Client, db: None) -> Client:
    client.force_login(UTILS.create_superuser("admin", password="password"))
    return client


def test_step_two_refuses_an_item_whose_code_is_missing(
    superuser_client: Client, synced: Any, plugin_registry: PluginRegistry
) -> None:
    stripe_pk = item_pk("stripe")
    plugin_registry.unregister_item(StripeGateway)
    sync_plugins()
    assert PluginItem.objects.get(pk=stripe_pk).is_missing
    before = _snapshot()
    for method in ("get", "post"):
        response = getattr(superuser_client, method)(
            instance_url("add_item", stripe_pk), stripe_form_data("Ghost")
        )
        assert response.status_code == 302
        assert response["Location"] == instance_url("add")
    assert _snapshot() == before
    step_one = body(superuser_client.get(instance_url("add")))
    assert "does not exist or its code is not installed" in step_one
    assert instance_url("add_item", stripe_pk) not in step_one
    assert instance_url("add_item", item_pk("flaky")) in step_one


def test_step_two_refuses_an_item_whose_code_is_gone_but_not_synced_yet(
    superuser_client: Client, synced: Any, plugin_registry: PluginRegistry
) -> None:
    stripe_pk = item_pk("stripe")
    plugin_registry.unregister_item(StripeGateway)  # the row still says the code is there
    response = superuser_client.post(instance_url("add_item", stripe_pk), stripe_form_data("Ghost"))
    assert response.status_code == 302
    assert response["Location"] == instance_url("add")
    assert not PluginInstance.objects.filter(name="Ghost").exists()


def test_step_two_with_an_unknown_or_malformed_item(superuser_client: Client, synced: Any) -> None:
    before = _snapshot()
    unknown = PluginItem.objects.order_by("-pk").first().pk + 1000  # type: ignore[union-attr]
    response = superuser_client.post(instance_url("add_item", unknown), stripe_form_data("Ghost"))
    assert response.status_code == 302
    assert response["Location"] == instance_url("add")
    assert "does not exist" in messages_of(superuser_client)
    base = instance_url("add")
    for tampered in ("abc", "-1", "1.5", "%00"):
        response = superuser_client.post(f"{base}{tampered}/", stripe_form_data("Ghost"))
        assert response.status_code == 404, tampered
    assert _snapshot() == before


def test_invalid_configuration_shows_inline_errors_and_creates_nothing(
    superuser_client: Client, synced: Any
) -> None:
    before = _snapshot()
    response = superuser_client.post(
        instance_url("add_item", item_pk("stripe")),
        stripe_form_data("Broken", **{"config-retries": "-5", "config-publishable_key": ""}),
    )
    assert response.status_code == 200
    soup = UTILS.get_soup(response.content)
    assert field_errors(soup, "config-retries") == [
        "Ensure this value is greater than or equal to 0."
    ]
    assert field_errors(soup, "config-publishable_key") == ["This field is required."]
    assert field_errors(soup, "config-currency") == []
    assert _snapshot() == before
    assert not any(secret in body(response) for secret in SECRETS)


def test_edit_cannot_move_an_instance_to_another_item(
    superuser_client: Client, stripe: PluginInstance
) -> None:
    flaky_pk = item_pk("flaky")
    data = querydict_from_html(
        body(superuser_client.get(instance_url("edit", stripe.pk))), form_id="w-editor-form"
    )
    data["name"] = "Stripe moved?"
    data["item"] = str(flaky_pk)
    data["item_id"] = str(flaky_pk)
    data["config"] = json.dumps({"api_key": "injected"})
    data["is_default"] = "on"
    response = superuser_client.post(instance_url("edit", stripe.pk), data)
    assert response.status_code == 302
    stored = PluginInstance.objects.get(pk=stripe.pk)
    assert stored.name == "Stripe moved?"  # the edit itself went through
    assert stored.item_id == stripe.item_id
    assert stored.config == STRIPE_CONFIG
    assert stored.is_default is False


def test_create_ignores_a_posted_item(superuser_client: Client, synced: Any) -> None:
    data = stripe_form_data("Which item?", item=str(item_pk("flaky")))
    response = superuser_client.post(instance_url("add_item", item_pk("stripe")), data)
    assert response.status_code == 302
    created = PluginInstance.objects.get(name="Which item?")
    assert created.item.name == "stripe"
    assert created.config == STRIPE_CONFIG


def test_bulk_actions_with_unknown_ids(superuser_client: Client, stripe: PluginInstance) -> None:
    missing = PluginInstance.objects.order_by("-pk").first().pk + 1000  # type: ignore[union-attr]
    before = _snapshot()
    for action in ("activate", "reserve", "disable", "set_priority", "delete"):
        assert superuser_client.get(bulk_url(action, missing)).status_code == 404
        response = superuser_client.post(bulk_url(action, missing, missing + 1), {"priority": "5"})
        assert response.status_code == 404, action
    assert _snapshot() == before
    # Known and unknown ids together: only the known one is touched.
    response = superuser_client.post(bulk_url("disable", stripe.pk, missing), {})
    assert response.status_code == 302
    stripe.refresh_from_db()
    assert stripe.status == PluginStatus.DISABLED


# -- 4. broken instances ------------------------------------------------------------------


def _assert_broken_instance_is_manageable(
    client: Client, instance: PluginInstance, warning: str
) -> None:
    token = raw_config(instance.pk)
    response = client.get(instance_url("edit", instance.pk))
    assert response.status_code == 200
    assert warning in body(response)
    assert 'name="config-' not in body(response)  # no configuration fields to overwrite
    inspect = client.get(instance_url("inspect", instance.pk))
    assert inspect.status_code == 200
    assert "Unavailable:" in body(inspect)
    listing = client.get(instance_url("list"))
    assert listing.status_code == 200
    assert instance.name in body(listing)

    data = querydict_from_html(body(response), form_id="w-editor-form")
    data.update({"name": f"{instance.name} (kept)", "status": "disabled", "priority": "3"})
    response = client.post(instance_url("edit", instance.pk), data)
    assert response.status_code == 302, UTILS.get_soup(response.content).select(".error-message")
    stored = PluginInstance.objects.get(pk=instance.pk)
    assert (stored.name, stored.status, stored.priority) == (
        f"{instance.name} (kept)",
        PluginStatus.DISABLED,
        3,
    )
    assert raw_config(instance.pk) == token  # byte for byte
    assert client.get(instance_url("history", instance.pk)).status_code == 200
    assert client.get(instance_url("check", instance.pk)).status_code == 200
    response = client.post(instance_url("check", instance.pk), {})
    assert response.status_code == 302
    assert "failed its check" in messages_of(client)
    assert raw_config(instance.pk) == token


def test_instance_whose_code_is_missing_opens_and_saves_without_touching_its_config(
    superuser_client: Client, stripe: PluginInstance, plugin_registry: PluginRegistry
) -> None:
    plugin_registry.unregister_item(StripeGateway)
    _assert_broken_instance_is_manageable(superuser_client, stripe, "is not installed")
    sync_plugins()  # now also marked missing in the database
    stripe.refresh_from_db()
    _assert_broken_instance_is_manageable(superuser_client, stripe, "is not installed")
    plugin_registry.register_item(StripeGateway)
    assert PluginInstance.objects.get(pk=stripe.pk).config == STRIPE_CONFIG


def test_instance_encrypted_with_another_key_opens_and_saves_without_touching_its_config(
    superuser_client: Client, make_instance: Any
) -> None:
    with override_settings(FIELD_ENCRYPTION_KEY=settings.OLD_TEST_KEY):
        stranger = make_instance(StripeGateway, "Old key", config=STRIPE_CONFIG)
    assert not PluginInstance.objects.get(pk=stranger.pk).has_readable_config
    _assert_broken_instance_is_manageable(superuser_client, stranger, "cannot be decrypted")
    with override_settings(FIELD_ENCRYPTION_KEY=settings.OLD_TEST_KEY):
        assert PluginInstance.objects.get(pk=stranger.pk).config == STRIPE_CONFIG


def test_bulk_action_with_a_malformed_id_is_not_found(
    superuser_client: Client, stripe: PluginInstance
) -> None:
    superuser_client.raise_request_exception = False
    before = _snapshot()
    for action in ("activate", "set_priority", "delete"):
        url = bulk_url(action, "x", stripe.pk)
        assert superuser_client.get(url).status_code == 404, action
        assert superuser_client.post(url, {"priority": "5"}).status_code == 404, action
    assert _snapshot() == before
