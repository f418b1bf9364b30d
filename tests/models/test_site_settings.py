"""Tests for wagtail_plugin_system.site_settings and site-aware selection."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from wagtail.models import Page, Site
from wagtail.test.utils import WagtailTestUtils
from wagtail.test.utils.form_data import inline_formset, nested_form_data

from tests.testapp.plugins import BankTransferGateway, EchoSender, PaymentGatewayType
from wagtail_plugin_system import get_plugin_instance
from wagtail_plugin_system.cache import version_scope
from wagtail_plugin_system.core.registry import PluginRegistry
from wagtail_plugin_system.models import (
    PluginInstance,
    PluginSiteChoice,
    PluginSiteSettings,
    PluginType,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def sites(synced: Any) -> tuple[Site, Site]:
    default = Site.objects.get(is_default_site=True)
    root = Page.get_first_root_node()
    home = root.add_child(instance=Page(title="Second home", slug="second-home"))
    second = Site.objects.create(hostname="second.test", port=80, root_page=home)
    return default, second


@pytest.fixture
def gateways(synced: Any) -> tuple[PluginInstance, PluginInstance]:
    """The default bank transfer (active, priority 50) and a reserved backup."""
    main = PluginInstance.objects.get(item__name="bank_transfer")
    backup = PluginInstance.objects.create_instance(
        BankTransferGateway, name="Backup bank", status="reserved", priority=1
    )
    return main, backup


def choose(site: Site, instance: PluginInstance) -> PluginSiteChoice:
    setting = PluginSiteSettings.for_site(site)
    choice: PluginSiteChoice = PluginSiteChoice.objects.create(
        setting=setting, plugin_type=instance.item.plugin_type, instance=instance
    )
    return choice


def name_of(item: Any) -> str | None:
    return item.plugin_instance.name if item is not None else None


def request_for(site: Site) -> Any:
    return RequestFactory().get("/", HTTP_HOST=site.hostname, SERVER_PORT=str(site.port))


def test_site_choice_wins_and_other_sites_use_the_usual_selection(
    sites: tuple[Site, Site], gateways: tuple[PluginInstance, PluginInstance]
) -> None:
    default, second = sites
    main, backup = gateways
    choose(second, backup)
    assert name_of(get_plugin_instance(PaymentGatewayType, site=second)) == "Backup bank"
    assert name_of(get_plugin_instance(PaymentGatewayType, site=default)) == main.name
    assert name_of(get_plugin_instance(PaymentGatewayType)) == main.name
    assert name_of(get_plugin_instance("payment_gateway", request=request_for(second))) == (
        "Backup bank"
    )
    assert name_of(get_plugin_instance("payment_gateway", request=request_for(default))) == (
        main.name
    )


def test_unusable_choice_falls_back_to_the_usual_selection(
    sites: tuple[Site, Site],
    gateways: tuple[PluginInstance, PluginInstance],
    plugin_registry: PluginRegistry,
) -> None:
    _, second = sites
    main, backup = gateways
    choose(second, backup)
    backup.status = "disabled"
    backup.save()
    assert name_of(get_plugin_instance(PaymentGatewayType, site=second)) == main.name

    backup.status = "active"
    backup.save()
    plugin_registry.unregister_item(BankTransferGateway)
    assert get_plugin_instance(PaymentGatewayType, site=second) is None  # nothing usable at all


def test_deleting_the_chosen_instance_removes_the_choice(
    sites: tuple[Site, Site], gateways: tuple[PluginInstance, PluginInstance]
) -> None:
    _, second = sites
    main, backup = gateways
    choose(second, backup)
    backup.delete()
    assert not PluginSiteChoice.objects.exists()
    assert name_of(get_plugin_instance(PaymentGatewayType, site=second)) == main.name


def test_choices_are_read_once_per_request(
    sites: tuple[Site, Site], gateways: tuple[PluginInstance, PluginInstance]
) -> None:
    _, second = sites
    _, backup = gateways
    choose(second, backup)
    sender = PluginInstance.objects.get(item__name="echo")
    choose(second, sender)
    request = request_for(second)
    with version_scope():  # as the middleware opens for each request
        assert name_of(get_plugin_instance(PaymentGatewayType, request=request)) == "Backup bank"
        with CaptureQueriesContext(connection) as queries:
            assert (
                name_of(get_plugin_instance(PaymentGatewayType, request=request)) == "Backup bank"
            )
            assert name_of(get_plugin_instance("sms_sender", request=request)) == sender.name
    assert len(queries) == 0


def test_changes_reach_the_next_request(
    sites: tuple[Site, Site], gateways: tuple[PluginInstance, PluginInstance]
) -> None:
    _, second = sites
    main, backup = gateways
    choice = choose(second, backup)
    assert name_of(get_plugin_instance(PaymentGatewayType, request=request_for(second))) == (
        "Backup bank"
    )
    choice.instance = main
    choice.save()
    assert name_of(get_plugin_instance(PaymentGatewayType, request=request_for(second))) == (
        main.name
    )


def test_choice_of_another_type_is_invalid(
    sites: tuple[Site, Site], gateways: tuple[PluginInstance, PluginInstance]
) -> None:
    from django.core.exceptions import ValidationError

    _, second = sites
    sender = PluginInstance.objects.get(item__name="echo")
    choice = PluginSiteChoice(
        setting=PluginSiteSettings.for_site(second),
        plugin_type=PluginType.objects.get(name="payment_gateway"),
        instance=sender,
    )
    with pytest.raises(ValidationError, match="not of Payment gateway"):
        choice.full_clean()


# -- the settings screen ------------------------------------------------------------------------


def settings_url(site: Site) -> str:
    return reverse(
        "wagtailsettings:edit", args=("wagtail_plugin_system", "pluginsitesettings", site.pk)
    )


def post_settings(client: Client, site: Site, rows: list[dict[str, Any]]) -> Any:
    data = nested_form_data({"choices": inline_formset(rows)})
    return client.post(settings_url(site), data)


@pytest.fixture
def editor(client: Client, db: None) -> Client:
    client.force_login(WagtailTestUtils.create_superuser("editor", password="pw"))  # type: ignore[arg-type]
    return client


def test_settings_screen_saves_a_valid_choice(
    editor: Client, sites: tuple[Site, Site], gateways: tuple[PluginInstance, PluginInstance]
) -> None:
    _, second = sites
    _, backup = gateways
    response = editor.get(settings_url(second))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Plugin instance per type" in html
    assert "plugin_type_id" in html  # the chooser is narrowed to the row's type
    payment = PluginType.objects.get(name="payment_gateway")
    response = post_settings(editor, second, [{"plugin_type": payment.pk, "instance": backup.pk}])
    assert response.status_code == 302, response.content.decode()[:2000]
    assert name_of(get_plugin_instance(PaymentGatewayType, site=second)) == "Backup bank"


def test_settings_screen_refuses_tampered_rows(
    editor: Client, sites: tuple[Site, Site], gateways: tuple[PluginInstance, PluginInstance]
) -> None:
    _, second = sites
    main, backup = gateways
    payment = PluginType.objects.get(name="payment_gateway")
    sender = PluginInstance.objects.get(item__name="echo")
    for rows, message in [
        ([{"plugin_type": payment.pk, "instance": sender.pk}], "not of Payment gateway"),
        ([{"plugin_type": payment.pk, "instance": 999999}], "Select a valid choice"),
        ([{"plugin_type": payment.pk, "instance": "x"}], "Select a valid choice"),
        ([{"plugin_type": 999999, "instance": main.pk}], "Select a valid choice"),
        (
            [
                {"plugin_type": payment.pk, "instance": main.pk},
                {"plugin_type": payment.pk, "instance": backup.pk},
            ],
            "Each plugin type can have only one row.",
        ),
    ]:
        response = post_settings(editor, second, rows)
        assert response.status_code == 200, rows
        assert message in response.content.decode(), rows
    assert not PluginSiteChoice.objects.exists()
    html = post_settings(editor, second, rows).content.decode()
    assert "This plugin type already has a row above." in html
    assert "Please correct the duplicate data" not in html


def test_settings_need_their_permission(
    client: Client, sites: tuple[Site, Site], gateways: tuple[PluginInstance, PluginInstance]
) -> None:
    _, second = sites
    from django.contrib.auth.models import Permission

    user = WagtailTestUtils.create_user("nobody", password="pw")  # type: ignore[call-arg]
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(user)
    payment = PluginType.objects.get(name="payment_gateway")
    response = post_settings(
        client, second, [{"plugin_type": payment.pk, "instance": gateways[1].pk}]
    )
    assert response.status_code in (302, 403)
    assert not PluginSiteChoice.objects.exists()


def test_unknown_type_with_site_is_still_an_error(sites: tuple[Site, Site]) -> None:
    from wagtail_plugin_system.core.exceptions import UnknownPluginError

    with pytest.raises(UnknownPluginError):
        get_plugin_instance("no_such_type", site=sites[1])


def test_sms_sender_unaffected_by_payment_choice(
    sites: tuple[Site, Site], gateways: tuple[PluginInstance, PluginInstance]
) -> None:
    _, second = sites
    choose(second, gateways[1])
    sender = get_plugin_instance("sms_sender", site=second)
    assert isinstance(sender, EchoSender)


def test_site_choice_counts_as_usage(
    editor: Client, sites: tuple[Site, Site], gateways: tuple[PluginInstance, PluginInstance]
) -> None:
    from wagtail.models import ReferenceIndex

    _, second = sites
    _, backup = gateways
    payment = PluginType.objects.get(name="payment_gateway")
    post_settings(editor, second, [{"plugin_type": payment.pk, "instance": backup.pk}])
    assert ReferenceIndex.get_references_to(backup).count() == 1
    viewset = PluginInstance.snippet_viewset  # type: ignore[attr-defined]
    delete_page = editor.get(reverse(viewset.get_url_name("delete"), args=(backup.pk,)))
    assert "referenced 1 time" in delete_page.content.decode()


# -- two editors (issue 12) -----------------------------------------------------------------


def test_a_row_saved_meanwhile_by_another_editor_is_a_form_error(
    editor: Client, sites: tuple[Site, Site], gateways: tuple[PluginInstance, PluginInstance]
) -> None:
    _, second = sites
    main, backup = gateways
    payment = PluginType.objects.get(name="payment_gateway")
    editor.raise_request_exception = True
    # Both editors opened the empty form; the first one saves a row for the type...
    response = post_settings(editor, second, [{"plugin_type": payment.pk, "instance": main.pk}])
    assert response.status_code == 302
    # ... then the second one saves a row for the same type from their stale form.
    response = post_settings(editor, second, [{"plugin_type": payment.pk, "instance": backup.pk}])
    assert response.status_code == 200
    assert "already has a choice for Payment gateway" in response.content.decode()
    assert [choice.instance for choice in PluginSiteChoice.objects.all()] == [main]
    # Changing the saved row itself (the form the page shows after a reload) works.
    choice = PluginSiteChoice.objects.get()
    data = nested_form_data(
        {
            "choices": inline_formset(
                [{"id": choice.pk, "plugin_type": payment.pk, "instance": backup.pk}], initial=1
            )
        }
    )
    response = editor.post(settings_url(second), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert [choice.instance for choice in PluginSiteChoice.objects.all()] == [backup]


ROW_VALUES = st.one_of(
    st.just("TYPE"),
    st.just("INSTANCE"),
    st.just("OTHER"),
    st.text(max_size=8),
    st.integers(min_value=-5, max_value=2**70).map(str),
)


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.tuples(ROW_VALUES, ROW_VALUES), max_size=3))
@pytest.mark.slow
def test_any_settings_rows_are_saved_or_refused_never_a_server_error(
    editor: Client,
    sites: tuple[Site, Site],
    gateways: tuple[PluginInstance, PluginInstance],
    rows: list[tuple[str, str]],
) -> None:
    _, second = sites
    main, _ = gateways
    payment = PluginType.objects.get(name="payment_gateway")
    sender = PluginInstance.objects.get(item__name="echo")
    known = {"TYPE": str(payment.pk), "INSTANCE": str(main.pk), "OTHER": str(sender.pk)}
    editor.raise_request_exception = True
    PluginSiteChoice.objects.all().delete()
    response = post_settings(
        editor,
        second,
        [{"plugin_type": known.get(t, t), "instance": known.get(i, i)} for t, i in rows],
    )
    assert response.status_code in (200, 302)
    saved = list(PluginSiteChoice.objects.all())
    assert len({choice.plugin_type_id for choice in saved}) == len(saved)
    assert all(choice.instance.item.plugin_type_id == choice.plugin_type_id for choice in saved)
