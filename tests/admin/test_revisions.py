"""Revisions of plugin instances in the admin: history, compare, revert, drafts, scheduling.

Every test that writes a secret ends by searching the whole revision table, the
audit log and the pages it opened for it: no plaintext secret may be there.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from wagtail.models import ModelLogEntry, Revision
from wagtail.test.utils import WagtailTestUtils
from wagtail.test.utils.form_data import querydict_from_html

from tests.testapp.factories import STRIPE_CONFIG
from tests.testapp.plugins import PaymentGatewayType
from wagtail_plugin_system import get_plugin_instance
from wagtail_plugin_system.admin.forms import config_field_name
from wagtail_plugin_system.fields import decrypt_text
from wagtail_plugin_system.models import PluginInstance, PluginItem

pytestmark = pytest.mark.django_db

SECRET_A = STRIPE_CONFIG["secret_key"]
WEBHOOK_A = STRIPE_CONFIG["webhook_secret"]
SECRET_B = "sk_live_SECOND_SECRET_b81e02"
SECRET_C = "sk_live_DRAFTED_SECRET_c5d7aa"


def url(name: str, *args: Any) -> str:
    return reverse(PluginInstance.snippet_viewset.get_url_name(name), args=args)  # type: ignore[attr-defined]


def plugin_settings(**values: Any) -> Any:
    from django.conf import settings

    return override_settings(WAGTAIL_PLUGIN_SYSTEM={**settings.WAGTAIL_PLUGIN_SYSTEM, **values})


def drafts(value: Any = True) -> Any:
    return plugin_settings(DRAFTS=value)


@pytest.fixture
def editor(client: Client, synced: Any) -> Client:
    user = WagtailTestUtils.create_superuser("editor", password="pw")  # type: ignore[arg-type]
    client.force_login(user)
    return client


def form_data(editor: Client, page_url: str, **changes: Any) -> Any:
    """The edit form as the page renders it (secrets blank), with ``changes`` applied."""
    response = editor.get(page_url)
    assert response.status_code == 200
    data = querydict_from_html(response.content.decode(), form_id="w-editor-form")
    for key, value in changes.items():
        data[config_field_name(key[7:]) if key.startswith("config_") else key] = value
    return data


def create_stripe(editor: Client) -> PluginInstance:
    item = PluginItem.objects.get(name="stripe")
    data = {
        "name": "Stripe live",
        "description": "Main account",
        "status": "active",
        "priority": "10",
        **{config_field_name(k): v for k, v in STRIPE_CONFIG.items() if k != "sandbox"},
    }
    response = editor.post(url("add_item", item.pk), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return PluginInstance.objects.get(name="Stripe live")


def edit(editor: Client, instance: PluginInstance, **changes: Any) -> Any:
    data = form_data(editor, url("edit", instance.pk), **changes)
    return editor.post(url("edit", instance.pk), data)


def stored_texts() -> list[str]:
    """Everything the database holds about revisions and the audit log, as text."""
    texts: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT CAST(content AS TEXT), object_str FROM wagtailcore_revision")
        texts += [" ".join(str(part) for part in row) for row in cursor.fetchall()]
        cursor.execute(
            "SELECT label, CAST(data AS TEXT) FROM wagtailcore_modellogentry "
            "UNION ALL SELECT label, CAST(data AS TEXT) FROM wagtailcore_pagelogentry"
        )
        texts += [" ".join(str(part) for part in row) for row in cursor.fetchall()]
    return texts


def assert_no_plaintext(secrets: Iterable[str], *pages: str) -> None:
    texts = [*stored_texts(), *pages]
    assert texts
    for secret in secrets:
        # Not the value, nor its first or last characters (no masked fragments either).
        for fragment in (secret, secret[:8], secret[-6:]):
            found = [text[:80] for text in texts if fragment in text]
            assert not found, f"{fragment!r} is stored or shown in plaintext"


# -- revisions without drafts (the default) ---------------------------------------------


def test_every_admin_save_is_a_live_revision_holding_ciphertext(editor: Client) -> None:
    instance = create_stripe(editor)
    response = edit(editor, instance, config_secret_key=SECRET_B, description="Rotated")
    assert response.status_code == 302
    instance.refresh_from_db()
    # Save made the edit live, as before drafts existed.
    assert instance.config["secret_key"] == SECRET_B
    assert instance.description == "Rotated"
    revisions = list(Revision.objects.for_instance(instance).order_by("created_at", "pk"))
    assert len(revisions) == 2
    assert instance.latest_revision == revisions[-1] == instance.live_revision
    assert instance.live
    assert not instance.has_unpublished_changes
    # Each revision holds the configuration as a token of the configured key.
    assert decrypt_text(revisions[0].content["config"]).count(SECRET_A) == 1
    assert decrypt_text(revisions[1].content["config"]).count(SECRET_B) == 1
    # The revision's token is the row's own: nothing was encrypted again for it.
    row = PluginInstance.objects.get(pk=instance.pk)
    assert revisions[1].content["config"] == row.__dict__["config"].token
    actions = list(
        ModelLogEntry.objects.for_instance(instance)
        .order_by("timestamp", "pk")
        .values_list("action", flat=True)
    )
    assert actions == ["wagtail.create", "wagtail.edit"]
    history = editor.get(url("history", instance.pk))
    assert history.status_code == 200
    links = [a["href"] for a in WagtailTestUtils.get_soup(history.content).select("td a")]  # type: ignore[arg-type]
    assert url("revisions_compare", instance.pk, revisions[0].pk, revisions[1].pk) in links
    assert url("revisions_revert", instance.pk, revisions[0].pk) in links
    # Both versions went live when saved: none is called a draft.
    assert "Current draft" not in history.content.decode()
    assert_no_plaintext([SECRET_A, SECRET_B, WEBHOOK_A], history.content.decode())


def test_the_edit_form_offers_save_only_without_drafts(editor: Client) -> None:
    instance = create_stripe(editor)
    html = editor.get(url("edit", instance.pk)).content.decode()
    soup = WagtailTestUtils.get_soup(html)  # type: ignore[arg-type]
    assert soup.select_one('button[name="action-publish"]') is None
    assert "Save draft" not in html
    assert soup.select_one("button.action-save") is not None
    assert 'name="go_live_at"' not in html
    # A save goes live: the form never saves by itself while the editor types.
    assert "data-w-autosave-interval-value" not in html
    add_page = editor.get(url("add_item", instance.item_id)).content.decode()
    assert "data-w-autosave-interval-value" not in add_page
    assert "Save draft" not in add_page


def test_compare_shows_what_changed_and_only_that_a_secret_changed(editor: Client) -> None:
    instance = create_stripe(editor)
    edit(editor, instance, config_secret_key=SECRET_B, config_currency="USD")
    first, second = Revision.objects.for_instance(instance).order_by("created_at", "pk")
    response = editor.get(url("revisions_compare", instance.pk, first.pk, second.pk))
    assert response.status_code == 200
    html = response.content.decode()
    soup = WagtailTestUtils.get_soup(html)  # type: ignore[arg-type]
    rows = {
        row.select_one("td.title").get_text(strip=True).rstrip(":"): row.select_one(
            "td.comparison"
        ).get_text(" ", strip=True)
        for row in soup.select("table.listing tbody tr")
    }
    assert rows["Currency"] == "EUR USD"
    assert rows["Secret key"] == "Changed (a secret value: values are never shown)"
    # Unchanged fields are not listed, secret or not.
    assert "Webhook secret" not in rows
    assert "Publishable key" not in rows
    assert_no_plaintext([SECRET_A, SECRET_B, WEBHOOK_A], html)


def test_compare_with_the_live_row_and_an_unreadable_revision(editor: Client) -> None:
    instance = create_stripe(editor)
    edit(editor, instance, config_webhook_secret="whsec_NEW_ONE_93ad")
    first = Revision.objects.for_instance(instance).order_by("created_at", "pk").first()
    assert first is not None
    response = editor.get(url("revisions_compare", instance.pk, first.pk, "live"))
    assert "Webhook secret" in response.content.decode()
    # A revision written with a key that is no longer configured: said, never a 500.
    first.content["config"] = "gAAAAAnot-a-token"
    first.save(update_fields=["content"])
    response = editor.get(url("revisions_compare", instance.pk, first.pk, "live"))
    assert response.status_code == 200
    assert "cannot be decrypted" in response.content.decode()
    assert_no_plaintext([SECRET_A, "whsec_NEW_ONE_93ad"], response.content.decode())


def test_revert_restores_the_old_configuration_secrets_included(editor: Client) -> None:
    instance = create_stripe(editor)
    edit(editor, instance, config_secret_key=SECRET_B, config_currency="USD", name="Renamed")
    first = Revision.objects.for_instance(instance).order_by("created_at", "pk").first()
    assert first is not None
    revert_url = url("revisions_revert", instance.pk, first.pk)
    page = editor.get(revert_url)
    assert page.status_code == 200
    assert_no_plaintext([SECRET_A, SECRET_B, WEBHOOK_A], page.content.decode())
    # The editor leaves the secrets blank: they take the revision's values.
    data = querydict_from_html(page.content.decode(), form_id="w-editor-form")
    assert data[config_field_name("secret_key")] == ""
    response = editor.post(revert_url, data)
    assert response.status_code == 302
    instance.refresh_from_db()
    assert instance.name == "Stripe live"
    assert instance.config["secret_key"] == SECRET_A
    assert instance.config["currency"] == "EUR"
    assert instance.live_revision == instance.latest_revision
    assert ModelLogEntry.objects.for_instance(instance).filter(action="wagtail.revert").exists()
    # Selection uses the restored configuration at once.
    assert get_plugin_instance(PaymentGatewayType).config["secret_key"] == SECRET_A
    assert_no_plaintext([SECRET_A, SECRET_B, WEBHOOK_A])


# -- drafts and scheduled publishing ------------------------------------------------------


def test_a_draft_does_not_reach_selection_until_published(editor: Client) -> None:
    instance = create_stripe(editor)
    with drafts():
        html = editor.get(url("edit", instance.pk)).content.decode()
        assert "Save draft" in html
        assert 'name="action-publish"' in html
        response = edit(editor, instance, config_secret_key=SECRET_C, priority="5")
        assert response.status_code == 302
        instance.refresh_from_db()
        assert instance.has_unpublished_changes
        # The row, which selection reads, is still the live configuration.
        assert instance.config["secret_key"] == SECRET_A
        assert instance.priority == 10
        assert get_plugin_instance(PaymentGatewayType).config["secret_key"] == SECRET_A
        # The editor goes on from the draft: its secret is kept when left blank.
        data = form_data(editor, url("edit", instance.pk))
        assert data["priority"] == "5"
        data["action-publish"] = "action-publish"
        response = editor.post(url("edit", instance.pk), data)
        assert response.status_code == 302
    instance.refresh_from_db()
    assert instance.config["secret_key"] == SECRET_C
    assert instance.priority == 5
    assert not instance.has_unpublished_changes
    assert get_plugin_instance(PaymentGatewayType).config["secret_key"] == SECRET_C
    assert_no_plaintext([SECRET_A, SECRET_C, WEBHOOK_A])


def test_drafts_only_for_the_named_types(editor: Client) -> None:
    instance = create_stripe(editor)
    with drafts(["sms_sender"]):
        assert "Save draft" not in editor.get(url("edit", instance.pk)).content.decode()
    with drafts(["payment_gateway"]):
        assert "Save draft" in editor.get(url("edit", instance.pk)).content.decode()


def test_a_new_instance_saved_as_draft_is_never_selected(editor: Client) -> None:
    item = PluginItem.objects.get(name="stripe")
    with drafts():
        data = form_data(editor, url("add_item", item.pk), name="Draft gateway", priority="1")
        for key, value in STRIPE_CONFIG.items():
            if key != "sandbox":
                data[config_field_name(key)] = str(value)
        response = editor.post(url("add_item", item.pk), data)
        assert response.status_code == 302
    instance = PluginInstance.objects.get(name="Draft gateway")
    assert not instance.live
    # Selection goes past it, to the implementation without configuration.
    selected = get_plugin_instance(PaymentGatewayType)
    assert selected is not None
    assert selected.plugin_instance.pk != instance.pk


def test_a_scheduled_change_goes_live_through_publish_scheduled(editor: Client) -> None:
    instance = create_stripe(editor)
    go_live = timezone.now() + datetime.timedelta(hours=1)
    with drafts():
        data = form_data(editor, url("edit", instance.pk), config_secret_key=SECRET_C)
        data["go_live_at"] = timezone.localtime(go_live).strftime("%Y-%m-%d %H:%M")
        data["action-publish"] = "action-publish"
        response = editor.post(url("edit", instance.pk), data)
        assert response.status_code == 302, response.content.decode()[:3000]
    instance.refresh_from_db()
    scheduled = instance.scheduled_revision
    assert scheduled is not None
    assert scheduled.approved_go_live_at is not None
    assert instance.config["secret_key"] == SECRET_A
    assert get_plugin_instance(PaymentGatewayType).config["secret_key"] == SECRET_A

    call_command("publish_scheduled")  # not yet: nothing changes
    instance.refresh_from_db()
    assert instance.config["secret_key"] == SECRET_A

    # The time comes.
    past = timezone.now() - datetime.timedelta(minutes=1)
    scheduled.content["go_live_at"] = past.isoformat()
    scheduled.approved_go_live_at = past
    scheduled.save(update_fields=["content", "approved_go_live_at"])
    call_command("publish_scheduled")
    instance.refresh_from_db()
    assert instance.config["secret_key"] == SECRET_C
    assert get_plugin_instance(PaymentGatewayType).config["secret_key"] == SECRET_C
    assert_no_plaintext([SECRET_A, SECRET_C, WEBHOOK_A])


def test_an_expired_instance_leaves_selection(editor: Client) -> None:
    instance = create_stripe(editor)
    PluginInstance.objects.filter(pk=instance.pk).update(
        expire_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    selected = get_plugin_instance(PaymentGatewayType)
    assert selected is not None
    assert selected.plugin_instance.pk == instance.pk
    call_command("publish_scheduled")
    instance.refresh_from_db()
    assert not instance.live
    assert instance.expired
    selected = get_plugin_instance(PaymentGatewayType)
    assert selected is not None
    assert selected.plugin_instance.pk != instance.pk


# -- locking ----------------------------------------------------------------------------


def test_a_locked_instance_cannot_be_saved_by_another_editor(editor: Client) -> None:
    instance = create_stripe(editor)
    response = editor.post(url("lock", instance.pk))
    assert response.status_code == 302
    instance.refresh_from_db()
    assert instance.locked
    other = Client()
    other.force_login(WagtailTestUtils.create_superuser("other", password="pw"))  # type: ignore[arg-type]
    page = other.get(url("edit", instance.pk)).content.decode()
    assert "Locked" in page
    response = edit(other, instance, config_secret_key=SECRET_B)
    instance.refresh_from_db()
    assert instance.config["secret_key"] == SECRET_A
    assert Revision.objects.for_instance(instance).count() == 1


# -- approval workflow --------------------------------------------------------------------


@pytest.fixture
def credentials_workflow(db: None) -> Any:
    """A one-step workflow, approved by "Plugin moderators", assigned to plugin instances."""
    from django.contrib.auth.models import Group
    from django.contrib.contenttypes.models import ContentType
    from wagtail.models import GroupApprovalTask, Workflow, WorkflowContentType, WorkflowTask

    moderators = Group.objects.create(name="Plugin moderators")
    task = GroupApprovalTask.objects.create(name="Approve credentials")
    task.groups.set([moderators])
    workflow = Workflow.objects.create(name="Credentials approval")
    WorkflowTask.objects.create(workflow=workflow, task=task, sort_order=0)
    WorkflowContentType.objects.create(
        content_type=ContentType.objects.get_for_model(PluginInstance), workflow=workflow
    )
    return moderators


def author_client() -> Client:
    """An editor who may change instances but not publish them."""
    from django.contrib.auth.models import Permission

    user = WagtailTestUtils.create_user("author", password="pw")  # type: ignore[arg-type]
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin"),
        *Permission.objects.filter(
            content_type__app_label="wagtail_plugin_system",
            codename__in=["add_plugininstance", "change_plugininstance", "view_plugininstance"],
        ),
    )
    client = Client()
    client.force_login(user)
    return client


def test_a_moderator_approves_before_credentials_change(
    editor: Client, credentials_workflow: Any, mailoutbox: list[Any]
) -> None:
    instance = create_stripe(editor)
    # Without APPROVAL naming the type, Save still makes the change live: no workflow.
    assert instance.get_workflow() is None
    author = author_client()
    with plugin_settings(APPROVAL=["payment_gateway"]):
        instance = PluginInstance.objects.get(pk=instance.pk)
        assert instance.get_workflow() is not None
        html = author.get(url("edit", instance.pk)).content.decode()
        assert 'name="action-submit"' in html
        assert 'name="action-publish"' not in html
        data = form_data(author, url("edit", instance.pk), config_secret_key=SECRET_B)
        data["action-submit"] = "Submit"
        response = author.post(url("edit", instance.pk), data)
        assert response.status_code == 302
        instance = PluginInstance.objects.get(pk=instance.pk)
        assert instance.workflow_in_progress
        # Waiting for approval: the live credentials are the old ones.
        assert instance.config["secret_key"] == SECRET_A
        assert get_plugin_instance(PaymentGatewayType).config["secret_key"] == SECRET_A

        moderator = WagtailTestUtils.create_superuser("moderator", password="pw")  # type: ignore[arg-type]
        moderator.groups.add(credentials_workflow)
        reviewer = Client()
        reviewer.force_login(moderator)
        task_state = instance.current_workflow_task_state
        response = reviewer.post(
            url("workflow_action", instance.pk, "approve", task_state.pk), follow=True
        )
        assert response.status_code == 200
    instance = PluginInstance.objects.get(pk=instance.pk)
    assert not instance.workflow_in_progress
    assert instance.config["secret_key"] == SECRET_B
    assert get_plugin_instance(PaymentGatewayType).config["secret_key"] == SECRET_B
    mails = [
        f"{mail.subject} {mail.body} {getattr(mail, 'alternatives', '')}" for mail in mailoutbox
    ]
    assert mails  # the moderators were told
    assert_no_plaintext([SECRET_A, SECRET_B, WEBHOOK_A], *mails)


# -- the listing --------------------------------------------------------------------------


def _listing(editor: Client) -> tuple[int, dict[str, str]]:
    """The listing's query count, and each instance's publishing status."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = editor.get(url("list"))
    soup = WagtailTestUtils.get_soup(response.content)  # type: ignore[arg-type]
    headers = [th.get_text(" ", strip=True) for th in soup.select("table.listing thead th")]
    statuses: dict[str, str] = {}
    if "Publishing" in headers:
        column = headers.index("Publishing")
        for row in soup.select("table.listing tbody tr"):
            cells = row.select("td")
            name = cells[1].select_one("a")
            assert name is not None
            statuses[name.get_text(strip=True)] = cells[column].get_text(" ", strip=True)
    return len(queries), statuses


def test_the_listing_shows_publishing_status_only_with_drafts(editor: Client) -> None:
    instance = create_stripe(editor)
    assert _listing(editor)[1] == {}
    with drafts():
        statuses = _listing(editor)[1]
        assert statuses["Stripe live"] == "live"
        edit(editor, instance, config_currency="USD")
        assert _listing(editor)[1]["Stripe live"] == "live + draft"
        data = form_data(editor, url("edit", instance.pk))
        go_live = timezone.now() + datetime.timedelta(days=1)
        data["go_live_at"] = timezone.localtime(go_live).strftime("%Y-%m-%d %H:%M")
        data["action-publish"] = "action-publish"
        editor.post(url("edit", instance.pk), data)
        many, statuses = _listing(editor)
        assert statuses["Stripe live"] == "live + scheduled"
        # The status costs no query per row.
        item = PluginItem.objects.get(name="bank_transfer")
        PluginInstance.objects.bulk_create(
            [PluginInstance(item=item, name=f"Bank {n}", config={}) for n in range(20)]
        )
        assert _listing(editor)[0] == many
