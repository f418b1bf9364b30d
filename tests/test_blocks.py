"""Tests for wagtail_plugin_system.blocks: the StreamField block, on real pages."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from wagtail.blocks import CharBlock, ListBlock, StreamBlock, StreamValue, StructBlock
from wagtail.models import Page, ReferenceIndex, Site
from wagtail.test.utils import WagtailTestUtils

from tests.testapp.factories import STRIPE_CONFIG
from tests.testapp.models import PluginPage
from tests.testapp.plugins import (
    BankTransferGateway,
    BannerWidget,
    PaymentGatewayType,
    SilentWidget,
    StripeGateway,
)
from wagtail_plugin_system import blocks as plugin_blocks
from wagtail_plugin_system import cache as plugin_cache
from wagtail_plugin_system.blocks import (
    PluginInstanceChooserBlock,
    can_contain_chooser,
    prefetch_plugin_blocks,
)
from wagtail_plugin_system.core.registry import PluginRegistry
from wagtail_plugin_system.models import PluginInstance
from wagtail_plugin_system.sync import sync_plugins

pytestmark = pytest.mark.django_db

BANNER = {"headline": "Join our list", "token": "banner_TOKEN_secret_8812"}


@pytest.fixture
def widgets(plugin_registry: PluginRegistry, synced: Any) -> PluginRegistry:
    """The content-driven widget plugins, registered and synced."""
    plugin_registry.register_item(BannerWidget)
    plugin_registry.register_item(SilentWidget)
    sync_plugins()
    return plugin_registry


def banner(name: str = "Banner", **fields: Any) -> PluginInstance:
    instance: PluginInstance = PluginInstance.objects.create_instance(
        BannerWidget, name=name, config=BANNER, **fields
    )
    return instance


def make_page(body: list[tuple[str, Any]], title: str = "Plugins") -> PluginPage:
    root = Site.objects.get(is_default_site=True).root_page
    page = PluginPage(title=title, slug=title.lower().replace(" ", "-"), body=body)
    root.add_child(instance=page)
    page.save_revision().publish()
    return page


def render(page: Page, client: Client) -> str:
    response = client.get(page.url)
    assert response.status_code == 200
    return response.content.decode()


# -- definition -----------------------------------------------------------------------------


def test_block_serializes_by_type_name() -> None:
    path, args, kwargs = PluginInstanceChooserBlock(plugin_type=PaymentGatewayType).deconstruct()
    assert path == "wagtail_plugin_system.blocks.PluginInstanceChooserBlock"
    assert kwargs["plugin_type"] == "payment_gateway"
    _, args, kwargs = PluginInstanceChooserBlock(PaymentGatewayType, required=False).deconstruct()
    assert args == ("payment_gateway",)
    assert kwargs == {"required": False}


def test_bad_fallback_is_refused() -> None:
    with pytest.raises(ValueError, match="fallback='first'"):
        PluginInstanceChooserBlock(plugin_type="widget", fallback="first")
    with pytest.raises(ValueError, match="needs a plugin_type"):
        PluginInstanceChooserBlock(fallback="default")


# -- validation on the server -----------------------------------------------------------------


def test_only_instances_of_the_block_type_are_accepted(widgets: PluginRegistry) -> None:
    block = PluginInstanceChooserBlock(plugin_type="widget")
    mine = banner()
    other = PluginInstance.objects.of_type("payment_gateway").first()
    assert other is not None
    assert block.clean(mine) == mine
    assert block.clean(mine.pk) == mine
    for bad in (other, other.pk, 999999, "abc", "1; drop table", "²", "1e3", " ", [1], {}):
        with pytest.raises(ValidationError):
            block.clean(bad)


def test_an_instance_of_another_type_is_refused_without_naming_it(
    widgets: PluginRegistry,
) -> None:
    block = PluginInstanceChooserBlock(plugin_type="widget")
    other = PluginInstance.objects.of_type("payment_gateway").first()
    assert other is not None
    for posted in (other.pk, str(other.pk), other):
        with pytest.raises(ValidationError) as raised:
            block.clean(posted)
        assert raised.value.messages == [
            "This block takes instances of Widget only; choose one of them."
        ]
        message = raised.value.messages[0]
        # Nothing of the other instance: not its name, its item or its type.
        for name in (other.name, str(other.item), str(other.item.plugin_type)):
            assert name not in message


def test_required_block(widgets: PluginRegistry) -> None:
    with pytest.raises(ValidationError):
        PluginInstanceChooserBlock(plugin_type="widget").clean(None)
    assert PluginInstanceChooserBlock(plugin_type="widget", required=False).clean(None) is None


def test_tampered_value_in_the_page_editor_is_refused(widgets: PluginRegistry) -> None:
    from wagtail.test.utils.form_data import nested_form_data, streamfield

    page = make_page([])
    client = Client()
    client.force_login(WagtailTestUtils.create_superuser("editor", password="pw"))  # type: ignore[arg-type]
    gateway = PluginInstance.objects.of_type("payment_gateway").first()
    assert gateway is not None
    edit_url = reverse("wagtailadmin_pages:edit", args=(page.pk,))
    for bad in (gateway.pk, 999999, "x", "²", "1e3", "-1", str(2**63)):
        data = nested_form_data(
            {
                "title": "Plugins",
                "slug": "plugins",
                "body": streamfield([("widget", bad)]),
                "action-publish": "publish",
            }
        )
        response = client.post(edit_url, data)
        assert response.status_code == 200, bad  # re-rendered with errors, not saved
        content = response.content.decode()
        if bad == gateway.pk:
            assert "This block takes instances of Widget only" in content
        else:
            assert "Select a valid" in content, bad
        # The editor learns nothing of the instance behind the posted id.
        assert gateway.name not in content, bad
    page.refresh_from_db()
    assert list(page.body) == []

    good = banner()
    data = nested_form_data(
        {
            "title": "Plugins",
            "slug": "plugins",
            "body": streamfield([("widget", good.pk)]),
            "action-publish": "publish",
        }
    )
    assert client.post(edit_url, data).status_code == 302
    page.refresh_from_db()
    assert page.body[0].value == good


# -- loading ----------------------------------------------------------------------------------


def _page_load_queries(page_id: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        page = PluginPage.objects.get(pk=page_id)
        values = [child.value for child in page.body]
    assert values
    return len(queries)


def test_many_blocks_load_in_a_constant_number_of_queries(widgets: PluginRegistry) -> None:
    instances = [banner(f"Banner {n}") for n in range(20)]
    small = make_page([("widget", instance) for instance in instances[:2]], title="Small")
    large = make_page([("widget", instance) for instance in instances], title="Large")
    assert _page_load_queries(large.pk) == _page_load_queries(small.pk)
    loaded = [child.value for child in PluginPage.objects.get(pk=large.pk).body]
    assert loaded == instances
    # Related rows come with them: reading the type costs nothing more.
    with CaptureQueriesContext(connection) as queries:
        names = {value.item.plugin_type.name for value in loaded}
    assert names == {"widget"}
    assert len(queries) == 0


def test_bulk_to_python_keeps_order_duplicates_and_gaps(widgets: PluginRegistry) -> None:
    first, second = banner("One"), banner("Two")
    block = PluginInstanceChooserBlock(plugin_type="widget")
    result = block.bulk_to_python([second.pk, None, 999999, first.pk, second.pk, "junk"])
    assert result[0] == second
    assert result[1:3] == [None, None]
    assert result[3] == first
    assert result[4] == second
    assert result[4] is result[0]  # shared read-only, not copied
    assert result[5] is None


# -- rendering --------------------------------------------------------------------------------


def test_page_renders_the_chosen_plugin_without_secrets(
    widgets: PluginRegistry, client: Client
) -> None:
    chosen = banner("Chosen banner")
    page = make_page([("widget", chosen), ("text", "hello")])
    html = render(page, client)
    assert '<div class="banner">Join our list||Join our list|Chosen banner</div>' in html
    assert BANNER["token"] not in html
    assert "[hello]" in html


def test_unusable_choices_render_nothing_never_none(
    widgets: PluginRegistry, client: Client
) -> None:
    disabled = banner("Disabled", status="disabled")
    deleted = banner("Deleted")
    missing = PluginInstance.objects.create_instance(SilentWidget, name="Will go missing")
    page = make_page([("widget", disabled), ("widget", deleted), ("widget", missing)])
    deleted.delete()
    widgets.unregister_item(SilentWidget)
    html = render(page, client)
    assert "<main>[][][]</main>" in html
    assert "None" not in html


def test_item_without_template_renders_nothing(widgets: PluginRegistry, client: Client) -> None:
    silent = PluginInstance.objects.create_instance(SilentWidget, name="Silent", priority=1)
    page = make_page([("widget", silent)])
    assert "<main>[]</main>" in render(page, client)


def test_fallback_renders_the_selected_instance(widgets: PluginRegistry, client: Client) -> None:
    PluginInstance.objects.of_type("widget").update(status="disabled")  # the silent default
    selected = banner("Selected", priority=1)
    off = banner("Off", status="disabled")
    page = make_page([("widget_or_default", off), ("widget_or_default", None)])
    html = render(page, client)
    rendered = '<div class="banner">Join our list||Join our list|Selected</div>'
    assert html.count(rendered) == 2 + 1  # two fallbacks, plus {% plugin "widget" %}
    selected.status = "disabled"
    selected.save()
    assert "<main>[][]</main>" in render(page, client)


def test_block_template_gets_value_and_plugin(widgets: PluginRegistry, client: Client) -> None:
    bank = PluginInstance.objects.get(item__name="bank_transfer")
    off = PluginInstance.objects.create_instance(BankTransferGateway, name="Off", status="disabled")
    page = make_page([("gateway_card", bank), ("gateway_card", off)])
    html = render(page, client)
    assert '<div class="gateway-card">Bank transfer:bank_transfer</div>' in html
    assert '<div class="gateway-card">no gateway</div>' in html


def test_editor_sees_a_warning_for_unusable_choices(widgets: PluginRegistry) -> None:
    block = PluginInstanceChooserBlock(plugin_type="widget")
    state = block.get_form_state(banner("Off", status="disabled"))
    assert "disabled, so it is not used on the site" in json.dumps(state)
    missing = PluginInstance.objects.create_instance(SilentWidget, name="Gone")
    widgets.unregister_item(SilentWidget)
    state = block.get_form_state(PluginInstance.objects.get(pk=missing.pk))
    assert "code is missing" in json.dumps(state)
    assert "banner_TOKEN" not in json.dumps(block.get_form_state(banner("Fine")))


# -- references -------------------------------------------------------------------------------


def test_usage_is_recorded_in_the_reference_index(widgets: PluginRegistry) -> None:
    used = banner("Used")
    page = make_page([("widget", used)])
    references = ReferenceIndex.get_references_to(used)
    assert [ref.object_id for ref in references] == [str(page.pk)]
    client = Client()
    client.force_login(WagtailTestUtils.create_superuser("editor", password="pw"))  # type: ignore[arg-type]
    usage = client.get(
        reverse(PluginInstance.snippet_viewset.get_url_name("usage"), args=(used.pk,))  # type: ignore[attr-defined]
    ).content.decode()
    assert "Plugins" in usage  # the page's title
    delete = client.get(
        reverse(PluginInstance.snippet_viewset.get_url_name("delete"), args=(used.pk,))  # type: ignore[attr-defined]
    ).content.decode()
    assert "referenced 1 time" in delete
    listing = client.get(
        reverse(PluginInstance.snippet_viewset.get_url_name("list"))  # type: ignore[attr-defined]
    ).content.decode()
    assert "Used 1 time" in listing


def test_stripe_values_are_fine_in_gateway_blocks(widgets: PluginRegistry, client: Client) -> None:
    stripe = PluginInstance.objects.create_instance(
        StripeGateway, name="Stripe", config=STRIPE_CONFIG
    )
    page = make_page([("gateway_card", stripe)])
    html = render(page, client)
    assert "Stripe:stripe" in html
    assert STRIPE_CONFIG["secret_key"] not in html


# -- fault isolation and secrets (issue 12) ---------------------------------------------------


class CrashingWidget(BannerWidget):
    """Its render() fails, repeating its token."""

    name = "crashing"

    def render(self, parent_context: Any = None, **kwargs: Any) -> str:
        raise RuntimeError(f"cannot render with {self.config['token']}")


class TemplatelessWidget(BannerWidget):
    """Its template does not exist."""

    name = "templateless"
    template_name = "testapp/no_such_template.html"


@pytest.fixture
def broken_widgets(widgets: PluginRegistry) -> PluginRegistry:
    widgets.register_item(CrashingWidget)
    widgets.register_item(TemplatelessWidget)
    sync_plugins()
    PluginInstance.objects.of_type("widget").update(status="disabled")  # the silent default
    return widgets


def test_a_plugin_whose_rendering_fails_is_left_out_of_the_page(
    broken_widgets: PluginRegistry, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    crashing = PluginInstance.objects.create_instance(
        CrashingWidget, name="Crashing", config=BANNER, priority=1
    )
    templateless = PluginInstance.objects.create_instance(
        TemplatelessWidget, name="Templateless", config=BANNER, priority=2
    )
    page = make_page(
        [
            ("widget", crashing),
            ("widget", templateless),
            ("widget_or_default", None),
            ("text", "ok"),
        ]
    )
    with caplog.at_level(logging.ERROR, logger="wagtail_plugin_system"):
        html = render(page, client)  # {% plugin "widget" %} selects the crashing one too
    assert "<main>[][][][ok]</main>" in html
    assert "<aside></aside>" in html
    assert BANNER["token"] not in html
    assert "could not be rendered" in caplog.text
    assert "cannot render with ***" in caplog.text
    assert "TemplateDoesNotExist" in caplog.text
    assert BANNER["token"] not in caplog.text
    assert "wps-plugin-error" not in html  # visitors see no notice


def test_in_a_preview_editors_see_a_notice_instead(broken_widgets: PluginRegistry) -> None:
    from django.template import Context, Template
    from django.test import RequestFactory

    crashing = PluginInstance.objects.create_instance(
        CrashingWidget, name="Crashing", config=BANNER, priority=1
    )
    request = RequestFactory().get("/")
    request.is_preview = True  # type: ignore[attr-defined]
    block = PluginInstanceChooserBlock(plugin_type="widget")
    html = str(block.render(crashing, context={"request": request}))
    assert "wps-plugin-error" in html
    assert "could not be rendered" in html
    tag = Template('{% load plugin_tags %}{% plugin "widget" %}').render(
        Context({"request": request})
    )
    assert "wps-plugin-error" in tag
    assert BANNER["token"] not in html + tag


def test_block_templates_never_print_a_secret(widgets: PluginRegistry) -> None:
    from django.template import engines

    chosen = banner("Chosen")
    block = PluginInstanceChooserBlock(plugin_type="widget")
    template = engines["django"].from_string(
        "{{ value.config }}|{{ value.config.token }}|{{ self.config.token }}|"
        "{{ plugin.config.token }}|{{ plugin.config }}|{{ value.config.headline }}"
    )
    html = template.render(block.get_context(chosen))
    assert BANNER["token"] not in html
    assert "Join our list" in html


BLOCK_VALUES = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


@hypothesis_settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(BLOCK_VALUES, max_size=6))
def test_any_stored_block_value_loads_as_an_instance_or_none(
    widgets: PluginRegistry, values: list[Any]
) -> None:
    block = PluginInstanceChooserBlock(plugin_type="widget")
    loaded = block.bulk_to_python(values)
    assert len(loaded) == len(values)
    assert all(value is None or isinstance(value, PluginInstance) for value in loaded)
    for value in values:
        assert block.to_python(value) is None or isinstance(block.to_python(value), PluginInstance)
        assert str(block.render(block.to_python(value))) in ("", str(block.render(None)))


# -- one query for a page (issue: pages ran one query per chooser block kind) ----------------
# Memoisation needs committed data, as in production: these tests are transactional.

INSTANCE_TABLE = PluginInstance._meta.db_table


def instance_reads_by_id(queries: CaptureQueriesContext) -> int:
    """The queries that read instances by their ids (what chooser blocks need)."""
    marker = f'"{INSTANCE_TABLE}"."id" IN ('
    return sum(marker in query["sql"] for query in queries.captured_queries)


def serve(page: Page, client: Client, *, cold: bool) -> tuple[int, int, str]:
    """(queries, of which instance reads by id, html) of one request for the page."""
    if cold:
        plugin_cache.clear()
    with CaptureQueriesContext(connection) as queries:
        html = render(page, client)
    return len(queries), instance_reads_by_id(queries), html


@pytest.mark.django_db(transaction=True)
def test_a_served_page_reads_its_chosen_instances_in_one_query_whatever_their_kinds(
    widgets: PluginRegistry, default_site: Site, client: Client
) -> None:
    banners = [banner(f"Banner {n}") for n in range(3)]
    stripe = PluginInstance.objects.create_instance(
        StripeGateway, name="Stripe", config=STRIPE_CONFIG
    )
    bank = PluginInstance.objects.get(item__name="bank_transfer")
    kinds = [
        ("widget", banners[0]),
        ("gateway", stripe),
        ("widget_or_default", banners[1]),
        ("gateway_card", bank),
    ]
    mixed = make_page(kinds * 5, title="Four kinds")
    single = make_page([("widget", banners[n % 3]) for n in range(20)], title="One kind")
    render(single, client)  # Wagtail reads and caches the site's root paths on a first request

    mixed_cold, mixed_reads, html = serve(mixed, client, cold=True)
    assert mixed_reads == 1
    assert html.count('class="banner"') == 10
    assert html.count("Bank transfer:bank_transfer") == 5
    mixed_warm, warm_reads, again = serve(mixed, client, cold=False)
    assert warm_reads == 0  # read since plugin data last changed: no query at all
    assert again == html

    single_cold, single_reads, _ = serve(single, client, cold=True)
    assert single_reads == 1
    assert mixed_cold == single_cold  # four kinds of blocks cost what one kind costs
    assert mixed_warm == serve(single, client, cold=False)[0]

    # A change is seen at the next request, by every kind of block.
    stripe.name = "Stripe (renamed)"
    stripe.save()
    bank.status = "disabled"
    bank.save()
    _, reads, html = serve(mixed, client, cold=False)
    assert reads == 1
    assert "Bank transfer:bank_transfer" not in html
    assert html.count('<div class="gateway-card">no gateway</div>') == 5


NESTED = StreamBlock(
    [
        (
            "card",
            StructBlock(
                [
                    ("widget", PluginInstanceChooserBlock(plugin_type="widget")),
                    ("gateway", PluginInstanceChooserBlock(plugin_type=PaymentGatewayType)),
                    ("caption", CharBlock()),
                ]
            ),
        ),
        ("widgets", ListBlock(PluginInstanceChooserBlock(plugin_type="widget"))),
        (
            "inner",
            StreamBlock([("gateway", PluginInstanceChooserBlock(plugin_type="payment_gateway"))]),
        ),
        ("widget", PluginInstanceChooserBlock(plugin_type="widget")),
        ("text", CharBlock()),
    ]
)


def chosen_values(value: Any) -> list[Any]:
    """Every chooser value in a nested stream value, depth first."""
    found: list[Any] = []
    for child in value:
        if child.block_type == "card":
            found += [child.value["widget"], child.value["gateway"]]
        elif child.block_type == "widgets":
            found += list(child.value)
        elif child.block_type == "inner":
            found += [inner.value for inner in child.value]
        elif child.block_type == "widget":
            found.append(child.value)
    return found


@pytest.mark.django_db(transaction=True)
def test_prefetch_reads_nested_struct_list_and_stream_blocks_in_one_query(
    widgets: PluginRegistry,
) -> None:
    one, two = banner("One"), banner("Two")
    bank = PluginInstance.objects.get(item__name="bank_transfer")
    raw = [
        {"type": "card", "value": {"widget": one.pk, "gateway": bank.pk, "caption": "x"}},
        {"type": "widgets", "value": [{"type": "item", "value": two.pk, "id": "a"}, one.pk]},
        {"type": "inner", "value": [{"type": "gateway", "value": bank.pk}]},
        {"type": "widget", "value": one.pk},
        {"type": "widget", "value": bank.pk},  # of another type: None
        {"type": "text", "value": "hello"},
    ]
    expected = [one, bank, two, one, bank, one, None]
    with plugin_cache.version_scope():
        plugin_cache.current_version()  # the token read a request makes anyway
        without = NESTED.to_python(raw)
        with CaptureQueriesContext(connection) as queries:
            assert chosen_values(without) == expected
        assert len(queries) > 1  # block by block, Wagtail reads ids one kind at a time

        plugin_cache.clear()
        plugin_cache.current_version()
        value = NESTED.to_python(raw)
        with CaptureQueriesContext(connection) as queries:
            prefetch_plugin_blocks(value)
        assert len(queries) == 1
        with CaptureQueriesContext(connection) as queries:
            loaded = chosen_values(value)
        assert len(queries) == 0
    assert loaded == expected
    # The same instance chosen twice is one shared, read-only row, and so is a later read.
    assert loaded[0] is loaded[3]
    with plugin_cache.version_scope():
        assert chosen_values(NESTED.to_python(raw))[0] is loaded[0]


NO_CHOOSER = StreamBlock(
    [
        ("heading", CharBlock()),
        ("card", StructBlock([("title", CharBlock()), ("tags", ListBlock(CharBlock()))])),
    ]
)


def test_content_that_cannot_hold_a_chooser_is_not_walked(
    widgets: PluginRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    walked: list[object] = []
    collect = plugin_blocks._collect

    def counting(block: Any, raw: Any, found: set[int]) -> None:
        walked.append(block)
        collect(block, raw, found)

    monkeypatch.setattr(plugin_blocks, "_collect", counting)
    raw = [
        {"type": "heading", "value": f"Heading {n}", "id": str(n)}
        if n % 2
        else {"type": "card", "value": {"title": "T", "tags": ["a", "b"]}, "id": str(n)}
        for n in range(375)
    ]
    assert not can_contain_chooser(NO_CHOOSER)
    assert can_contain_chooser(NESTED)
    with CaptureQueriesContext(connection) as queries:
        prefetch_plugin_blocks(StreamValue(NO_CHOOSER, raw, is_lazy=True))
    assert walked == []  # skipped unread, whatever the size of the content
    assert len(queries) == 0
    prefetch_plugin_blocks(StreamValue(NESTED, [], is_lazy=True))
    assert walked == [NESTED]  # a stream that can hold one is walked


@pytest.mark.django_db(transaction=True)
def test_prefetch_takes_pages_and_skips_deferred_fields(
    widgets: PluginRegistry, default_site: Site
) -> None:
    page = make_page([("widget", banner("One")), ("gateway_card", banner("Two"))])
    plugin_cache.clear()  # publishing read the rows (for the reference index)
    with plugin_cache.version_scope():
        plugin_cache.current_version()
        deferred = PluginPage.objects.defer("body").get(pk=page.pk)
        with CaptureQueriesContext(connection) as queries:
            prefetch_plugin_blocks(deferred, None, "not a model")
        assert len(queries) == 0  # loading the deferred body would be a query of its own
        fetched = PluginPage.objects.get(pk=page.pk)
        with CaptureQueriesContext(connection) as queries:
            prefetch_plugin_blocks(fetched)
            values = [child.value for child in fetched.body]
        assert len(queries) == 1
    assert values[0].name == "One"
    assert values[1] is None  # a banner in a gateway block


RAW_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["type", "value", "id", "widget", "x"]), inner, max_size=3
        )
    ),
    max_leaves=12,
)


@hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.lists(RAW_JSON, max_size=5))
def test_prefetch_never_fails_on_any_stored_data(widgets: PluginRegistry, raw: list[Any]) -> None:
    items = [
        {"type": name, "value": value}
        for name, value in zip(
            ["card", "widgets", "inner", "widget", "text"] * 2, raw, strict=False
        )
    ]
    prefetch_plugin_blocks(StreamValue(NESTED, items, is_lazy=True))
    prefetch_plugin_blocks(StreamValue(NESTED, raw, is_lazy=True))
