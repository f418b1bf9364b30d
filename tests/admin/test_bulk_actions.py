"""The bulk actions on plugin instances, through Wagtail's real bulk-action URLs."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import reverse
from wagtail.models import ModelLogEntry, Revision
from wagtail.test.utils import WagtailTestUtils

from tests.testapp.factories import STRIPE_CONFIG
from tests.testapp.plugins import FlakyGateway, PaymentGatewayType, StripeGateway
from wagtail_plugin_system import get_plugin_instance
from wagtail_plugin_system.models import PluginInstance, PluginStatus

pytestmark = pytest.mark.django_db

UTILS = WagtailTestUtils()


def instance_url(name: str, *args: object) -> str:
    return reverse(PluginInstance.snippet_viewset.get_url_name(name), args=args)  # type: ignore[attr-defined]


def bulk_url(action: str, *instances: PluginInstance) -> str:
    """The URL the listing's bulk-action bar opens: the selected ids, then back to the listing."""
    base = reverse("wagtail_bulk_action", args=("wagtail_plugin_system", "plugininstance", action))
    query = [("next", instance_url("list")), *(("id", instance.pk) for instance in instances)]
    return f"{base}?{urlencode(query)}"


def messages_after(client: Client, response: Any) -> list[str]:
    """Follow the redirect of a POST and return the messages the next page shows."""
    assert response.status_code == 302, response.status_code
    assert response["Location"] == instance_url("list")
    page = client.get(response["Location"])
    assert page.status_code == 200
    soup = UTILS.get_soup(page.content)
    return [item.get_text(" ", strip=True) for item in soup.select(".messages li")]


def entries(action: str, *instances: PluginInstance) -> list[ModelLogEntry]:
    content_type = ContentType.objects.get_for_model(PluginInstance)
    return list(
        ModelLogEntry.objects.filter(
            action=action,
            content_type=content_type,
            object_id__in=[str(instance.pk) for instance in instances],
        ).order_by("object_id")
    )


def selected_pk() -> int | None:
    item = get_plugin_instance(PaymentGatewayType)
    if item is None:
        return None
    assert item.plugin_instance is not None
    pk: int = item.plugin_instance.pk
    return pk


def reload(*instances: PluginInstance) -> list[PluginInstance]:
    return [PluginInstance.objects.get(pk=instance.pk) for instance in instances]


@pytest.fixture
def gateways(make_instance: Any) -> tuple[PluginInstance, PluginInstance, PluginInstance]:
    """Two active Stripe instances and a reserved Flaky one, all before the bank default (50)."""
    PluginInstance.objects.filter(item__name="bank_transfer").update(status=PluginStatus.DISABLED)
    first = make_instance(StripeGateway, "Stripe first", config=STRIPE_CONFIG, priority=10)
    second = make_instance(StripeGateway, "Stripe second", config=STRIPE_CONFIG, priority=20)
    spare = make_instance(
        FlakyGateway,
        "Flaky spare",
        config={"api_key": "flaky-key"},
        priority=5,
        status=PluginStatus.RESERVED,
    )
    return first, second, spare


def test_listing_offers_the_bulk_actions_in_order(
    admin_client: Client, gateways: tuple[PluginInstance, ...]
) -> None:
    soup = UTILS.get_soup(admin_client.get(instance_url("list")).content)
    base = reverse("wagtail_bulk_action", args=("wagtail_plugin_system", "plugininstance", "x"))
    prefix = base.removesuffix("x/")
    offered = [
        link["href"].removeprefix(prefix).strip("/")
        for link in soup.select("a[href]")
        if link["href"].startswith(prefix)
    ]
    assert offered == ["activate", "reserve", "disable", "set_priority", "delete"]


def test_confirmation_pages_list_the_selection(
    admin_client: Client, gateways: tuple[PluginInstance, ...]
) -> None:
    first, second, spare = gateways
    expected = {
        "activate": "Make these 3 plugin instances active?",
        "reserve": "Make these 3 plugin instances reserved?",
        "disable": "Make these 3 plugin instances disabled?",
        "set_priority": "Set the priority of these 3 plugin instances:",
        "delete": "Stripe second",
    }
    for action, text in expected.items():
        response = admin_client.get(bulk_url(action, first, second, spare))
        assert response.status_code == 200, action
        page = UTILS.get_soup(response.content).get_text(" ", strip=True)
        assert text in " ".join(page.split()), action
        for instance in gateways:
            assert instance.name in page, (action, instance.name)
        assert 'method="post"' in response.content.decode().lower()
    soup = UTILS.get_soup(admin_client.get(bulk_url("set_priority", first)).content)
    assert soup.select_one('input[name="priority"]') is not None
    # Nothing was changed by looking.
    assert [row.status for row in reload(*gateways)] == ["active", "active", "reserved"]


def test_disable_changes_status_logs_once_and_updates_selection(
    admin_client: Client, admin_user: Any, gateways: tuple[PluginInstance, ...]
) -> None:
    first, second, spare = gateways
    assert selected_pk() == first.pk
    PluginInstance.objects.filter(pk=second.pk).update(status=PluginStatus.DISABLED)
    second.refresh_from_db()

    response = admin_client.post(bulk_url("disable", first, second), {})

    assert messages_after(admin_client, response) == ["1 plugin instance is now disabled."]
    new_first, new_second = reload(first, second)
    assert (new_first.status, new_second.status) == (PluginStatus.DISABLED, PluginStatus.DISABLED)
    assert new_first.updated_at > first.updated_at
    assert new_second.updated_at == second.updated_at  # already disabled: untouched
    logged = entries("wagtail_plugin_system.disable", first, second)
    assert [(entry.object_id, entry.user_id) for entry in logged] == [
        (str(first.pk), admin_user.pk)
    ]
    assert logged[0].data == {"previous": "active"}
    assert logged[0].label == "Stripe first"
    # The reserve takes over at once: no active instance of the type is left.
    assert selected_pk() == spare.pk


@pytest.mark.parametrize("action", ["disable", "set_priority"])
def test_every_instance_history_shows_the_bulk_change(
    admin_client: Client, gateways: tuple[PluginInstance, ...], action: str
) -> None:
    """Wagtail's history shows one entry per log uuid and action: one uuid per entry."""
    data = {"priority": "7"} if action == "set_priority" else {}
    admin_client.post(bulk_url(action, *gateways), data)
    expected = "Plugin instance disabled" if action == "disable" else "priority changed"
    for instance in gateways:
        history = admin_client.get(instance_url("history", instance.pk))
        assert history.status_code == 200
        text = UTILS.get_soup(history.content).get_text(" ", strip=True)
        assert expected in text, instance.name


def test_activate_and_reserve(
    admin_client: Client, admin_user: Any, gateways: tuple[PluginInstance, ...]
) -> None:
    first, second, spare = gateways
    assert selected_pk() == first.pk

    response = admin_client.post(bulk_url("activate", first, spare), {})

    assert messages_after(admin_client, response) == ["1 plugin instance is now active."]
    assert [row.status for row in reload(first, spare)] == ["active", "active"]
    logged = entries("wagtail_plugin_system.activate", first, second, spare)
    assert [(entry.object_id, entry.user_id) for entry in logged] == [
        (str(spare.pk), admin_user.pk)
    ]
    assert logged[0].data == {"previous": "reserved"}
    assert selected_pk() == spare.pk  # active now, and priority 5 comes first

    response = admin_client.post(bulk_url("reserve", first, second, spare), {})

    assert messages_after(admin_client, response) == ["3 plugin instances are now reserved."]
    assert {row.status for row in reload(first, second, spare)} == {PluginStatus.RESERVED}
    logged = entries("wagtail_plugin_system.reserve", first, second, spare)
    assert len(logged) == 3
    assert {entry.user_id for entry in logged} == {admin_user.pk}
    assert selected_pk() == spare.pk  # all reserves: priority decides

    # Again: nothing changes, nothing is logged.
    before = reload(first, second, spare)
    response = admin_client.post(bulk_url("reserve", first, second, spare), {})
    assert messages_after(admin_client, response) == ["0 plugin instances are now reserved."]
    assert len(entries("wagtail_plugin_system.reserve", first, second, spare)) == 3
    assert [row.updated_at for row in reload(first, second, spare)] == [
        row.updated_at for row in before
    ]


def test_set_priority(
    admin_client: Client, admin_user: Any, gateways: tuple[PluginInstance, ...]
) -> None:
    first, second, _ = gateways
    assert selected_pk() == first.pk

    response = admin_client.post(bulk_url("set_priority", first, second), {"priority": "20"})

    assert messages_after(admin_client, response) == [
        "The priority of 1 plugin instance was changed."
    ]
    new_first, new_second = reload(first, second)
    assert (new_first.priority, new_second.priority) == (20, 20)
    assert new_first.updated_at > first.updated_at
    assert new_second.updated_at == second.updated_at
    logged = entries("wagtail_plugin_system.set_priority", first, second)
    assert [(entry.object_id, entry.user_id) for entry in logged] == [
        (str(first.pk), admin_user.pk)
    ]
    assert logged[0].data == {"previous": 10, "priority": 20}
    assert selected_pk() == first.pk  # equal priorities: the older one first

    response = admin_client.post(bulk_url("set_priority", second), {"priority": "-3"})
    assert messages_after(admin_client, response) == [
        "The priority of 1 plugin instance was changed."
    ]
    assert selected_pk() == second.pk


@pytest.mark.parametrize("value", ["", "high", "1.5", str(2**31), str(-(2**31) - 1)])
def test_set_priority_with_an_invalid_value_changes_nothing(
    admin_client: Client, gateways: tuple[PluginInstance, ...], value: str
) -> None:
    first, second, _ = gateways
    before = reload(first, second)
    count = ModelLogEntry.objects.count()

    response = admin_client.post(bulk_url("set_priority", first, second), {"priority": value})

    assert response.status_code == 200
    soup = UTILS.get_soup(response.content)
    field = soup.select_one('input[name="priority"]')
    assert field is not None
    errors = " ".join(error.get_text(" ", strip=True) for error in soup.select(".error-message"))
    assert errors, soup.get_text(" ", strip=True)[:500]
    assert "Stripe first" in soup.get_text()
    after = reload(first, second)
    assert [(row.priority, row.updated_at) for row in after] == [
        (row.priority, row.updated_at) for row in before
    ]
    assert ModelLogEntry.objects.count() == count


def test_delete_logs_one_entry_per_instance(
    admin_client: Client, admin_user: Any, gateways: tuple[PluginInstance, ...]
) -> None:
    first, second, spare = gateways

    response = admin_client.post(bulk_url("delete", first, spare), {})

    assert messages_after(admin_client, response) == ["2 Plugin instances deleted."]
    assert list(PluginInstance.objects.filter(pk__in=[first.pk, second.pk, spare.pk])) == [second]
    logged = entries("wagtail.delete", first, second, spare)
    assert [(entry.object_id, entry.user_id, entry.deleted) for entry in logged] == sorted(
        [(str(first.pk), admin_user.pk, True), (str(spare.pk), admin_user.pk, True)]
    )
    assert {entry.label for entry in logged} == {"Stripe first", "Flaky spare"}
    assert selected_pk() == second.pk

    response = admin_client.post(bulk_url("delete", second), {})
    assert messages_after(admin_client, response) == ["Plugin instance 'Stripe second' deleted."]
    assert len(entries("wagtail.delete", second)) == 1
    assert selected_pk() is None  # the bank default is disabled, nothing else is left


@pytest.mark.parametrize("gone", [["first"], ["first", "spare"], ["first", "second", "spare"]])
def test_delete_logs_nothing_for_instances_deleted_meanwhile(
    admin_client: Client, gateways: tuple[PluginInstance, ...], gone: list[str]
) -> None:
    """Instances someone else deleted after the bulk delete read its selection."""
    from wagtail import hooks

    by_name = dict(zip(["first", "second", "spare"], gateways, strict=True))
    pks = {name: instance.pk for name, instance in by_name.items()}

    def delete_meanwhile(request: Any, instances: Any) -> None:
        PluginInstance.objects.filter(pk__in=[pks[name] for name in gone]).delete()

    with hooks.register_temporarily("before_delete_snippet", delete_meanwhile):
        response = admin_client.post(bulk_url("delete", *gateways), {})
    assert response.status_code == 302
    assert not PluginInstance.objects.filter(pk__in=pks.values()).exists()
    content_type = ContentType.objects.get_for_model(PluginInstance)
    logged = ModelLogEntry.objects.filter(
        action="wagtail.delete", content_type=content_type, object_id__in=map(str, pks.values())
    )
    assert sorted(entry.object_id for entry in logged) == sorted(
        str(pk) for name, pk in pks.items() if name not in gone
    )


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_two_bulk_deletes_at_once_log_one_entry_per_instance(admin_user: Any) -> None:
    """The second delete reads the same rows, then waits on the first's transaction."""
    import threading

    from django.db import connection, connections
    from django.db.models.signals import post_delete

    from tests.testapp.plugins import BankTransferGateway
    from wagtail_plugin_system.sync import sync_plugins

    sync_plugins()
    chosen = [
        PluginInstance.objects.create_instance(BankTransferGateway, name=f"Bank {n}")
        for n in range(3)
    ]
    first_deleted = threading.Event()
    release_first = threading.Event()
    statuses: dict[str, int] = {}
    errors: list[BaseException] = []

    def hold_the_first(sender: Any, **kwargs: Any) -> None:
        if threading.current_thread().name == "first":
            first_deleted.set()
            release_first.wait(timeout=30)

    def delete(name: str) -> None:
        try:
            client = Client(raise_request_exception=True)
            client.force_login(admin_user)
            statuses[name] = client.post(bulk_url("delete", *chosen), {}).status_code
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    def waiting_on_a_lock() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            row = cursor.fetchone()
        return int(row[0]) if row else 0

    post_delete.connect(hold_the_first, sender=PluginInstance)
    try:
        first = threading.Thread(target=delete, args=("first",), name="first")
        second = threading.Thread(target=delete, args=("second",), name="second")
        first.start()
        assert first_deleted.wait(timeout=30)  # deleted and logged, not committed
        second.start()
        for _ in range(600):  # until the second transaction waits for the first's rows
            if waiting_on_a_lock() or not second.is_alive():
                break
            threading.Event().wait(0.05)
        assert waiting_on_a_lock() == 1
        release_first.set()
        first.join(timeout=60)
        second.join(timeout=60)
    finally:
        release_first.set()
        post_delete.disconnect(hold_the_first, sender=PluginInstance)
    assert not errors, errors
    assert statuses == {"first": 302, "second": 302}
    assert not PluginInstance.objects.filter(pk__in=[row.pk for row in chosen]).exists()
    logged = entries("wagtail.delete", *chosen)
    assert sorted(entry.object_id for entry in logged) == sorted(str(row.pk) for row in chosen)


# -- hostile ids (issue 12) -----------------------------------------------------------------


@pytest.mark.parametrize("bad_id", ["²", "٣", "abc", "-1", str(2**64), "\x00", ""])
@pytest.mark.parametrize("action", ["activate", "disable", "set_priority", "delete"])
def test_a_malformed_id_in_a_bulk_action_is_not_found(
    client: Client,
    gateways: tuple[PluginInstance, PluginInstance, PluginInstance],
    action: str,
    bad_id: str,
) -> None:
    client.force_login(WagtailTestUtils.create_superuser("admin", password="pw"))  # type: ignore[arg-type]
    client.raise_request_exception = True
    base = reverse("wagtail_bulk_action", args=("wagtail_plugin_system", "plugininstance", action))
    url = f"{base}?{urlencode([('id', gateways[0].pk), ('id', bad_id)])}"
    before = [(row.status, row.priority) for row in reload(*gateways)]
    assert client.get(url).status_code == 404
    assert client.post(url, {"priority": "5"}).status_code == 404
    assert [(row.status, row.priority) for row in reload(*gateways)] == before


# -- revisions ----------------------------------------------------------------------------


def test_a_bulk_change_is_a_live_revision(
    admin_client: Client, gateways: tuple[PluginInstance, ...]
) -> None:
    first, second, _spare = gateways
    admin_client.post(bulk_url("set_priority", first, second), {"priority": "7"})
    for instance in reload(first, second):
        latest = Revision.objects.for_instance(instance).order_by("-created_at", "-pk").first()
        assert latest is not None
        assert instance.live_revision == instance.latest_revision == latest
        assert latest.content["priority"] == 7
        assert not instance.has_unpublished_changes
        assert instance.live


def test_a_waiting_draft_gets_the_bulk_change_so_publishing_it_keeps_it(
    admin_client: Client, admin_user: Any, gateways: tuple[PluginInstance, ...]
) -> None:
    """An editor's draft saved before a bulk disable: publishing it later must not make the
    instance active again, and must keep the draft's own changes."""
    first = gateways[0]
    first.save_live_revision(user=admin_user)
    draft = PluginInstance.objects.get(pk=first.pk)
    draft.description = "Renegotiated fees"
    draft.save_revision(user=admin_user, clean=False)  # a draft: the row is unchanged

    admin_client.post(bulk_url("disable", first), {})

    (row,) = reload(first)
    assert (row.status, row.description) == (PluginStatus.DISABLED, "")
    assert row.has_unpublished_changes
    assert row.latest_revision is not None
    waiting = row.latest_revision.content
    assert (waiting["status"], waiting["description"]) == ("disabled", "Renegotiated fees")

    row.latest_revision.publish(user=admin_user)
    (published,) = reload(first)
    assert (published.status, published.description) == (
        PluginStatus.DISABLED,
        "Renegotiated fees",
    )
    assert selected_pk() != first.pk
    # Every revision holds the configuration as ciphertext only.
    contents = [str(r.content) for r in Revision.objects.for_instance(first)]
    assert len(contents) == 3
    assert not [c for c in contents if STRIPE_CONFIG["secret_key"] in c]


def test_a_bulk_change_leaves_an_expired_instance_expired(
    admin_client: Client, gateways: tuple[PluginInstance, ...]
) -> None:
    second = gateways[1]
    PluginInstance.objects.filter(pk=second.pk).update(live=False, expired=True)
    admin_client.post(bulk_url("set_priority", second), {"priority": "3"})
    (row,) = reload(second)
    assert (row.priority, row.live, row.expired) == (3, False, True)
    assert row.latest_revision is not None
    assert row.latest_revision.content["priority"] == 3


def test_a_draft_no_code_can_read_does_not_stop_a_bulk_change(
    admin_client: Client, admin_user: Any, gateways: tuple[PluginInstance, ...]
) -> None:
    first = gateways[0]
    first.save_live_revision(user=admin_user)
    draft = PluginInstance.objects.get(pk=first.pk)
    revision = draft.save_revision(user=admin_user, clean=False)
    Revision.objects.filter(pk=revision.pk).update(content={"priority": "not a number"})

    response = admin_client.post(bulk_url("disable", first), {})

    assert messages_after(admin_client, response) == ["1 plugin instance is now disabled."]
    (row,) = reload(first)
    assert row.status == PluginStatus.DISABLED
    assert row.latest_revision == row.live_revision
    assert row.latest_revision is not None
    assert row.latest_revision.content["status"] == "disabled"
    assert Revision.objects.filter(pk=revision.pk).exists()  # the draft stays in the history
