"""Tests for wagtail_plugin_system.selection."""

from __future__ import annotations

import gc
import logging
from typing import Any

import pytest
from django.test import override_settings

from tests.testapp.factories import STRIPE_CONFIG
from tests.testapp.plugins import (
    BankTransferGateway,
    EchoSender,
    FlakyConfiguration,
    FlakyGateway,
    PaymentGatewayType,
    ProviderError,
    StripeGateway,
)
from wagtail_plugin_system import (
    BasePluginItem,
    call_with_failover,
    get_active_plugins,
    get_plugin_instance,
    get_plugin_instance_by_id,
    get_reserve_plugins,
)
from wagtail_plugin_system.cache import version_scope
from wagtail_plugin_system.core.exceptions import (
    PluginFailoverError,
    PluginSelectionError,
    PluginUnavailableError,
    UnknownPluginError,
)
from wagtail_plugin_system.core.registry import PluginRegistry
from wagtail_plugin_system.fields import Ciphertext, encrypt_text
from wagtail_plugin_system.models import PluginInstance, PluginStatus
from wagtail_plugin_system.sync import sync_plugins

pytestmark = pytest.mark.django_db

FLAKY = {"api_key": "flaky_key_SECRET_91b2"}


@pytest.fixture
def clean(synced: Any) -> None:
    """Synced, without the default instance sync creates for the bank transfer item."""
    PluginInstance.objects.of_type("payment_gateway").delete()


def selected_name(plugin_type: Any = PaymentGatewayType) -> str | None:
    item = get_plugin_instance(plugin_type)
    return item.plugin_instance.name if item is not None and item.plugin_instance else None


def test_active_beats_reserved_whatever_the_priority(clean: None, make_instance: Any) -> None:
    make_instance(StripeGateway, "Stripe production", config=STRIPE_CONFIG, priority=10)
    make_instance(StripeGateway, "Stripe backup", config=STRIPE_CONFIG, priority=20)
    make_instance(
        StripeGateway, "Stripe sandbox", config=STRIPE_CONFIG, priority=1, status="reserved"
    )
    assert selected_name() == "Stripe production"
    assert [i.name for i in get_active_plugins(PaymentGatewayType)] == [
        "Stripe production",
        "Stripe backup",
    ]
    assert [i.name for i in get_reserve_plugins("payment_gateway")] == ["Stripe sandbox"]


def test_reserved_is_used_when_no_active(clean: None, make_instance: Any) -> None:
    make_instance(BankTransferGateway, "Bank", status="reserved")
    make_instance(StripeGateway, "Off", config=STRIPE_CONFIG, status="disabled", priority=0)
    assert selected_name() == "Bank"


def test_disabled_is_never_selected(clean: None, make_instance: Any) -> None:
    make_instance(StripeGateway, "Off", config=STRIPE_CONFIG, status="disabled", priority=0)
    assert get_plugin_instance(PaymentGatewayType) is None
    assert get_active_plugins(PaymentGatewayType) == []
    assert get_reserve_plugins(PaymentGatewayType) == []


def test_ties_are_broken_by_creation_order(clean: None, make_instance: Any) -> None:
    first = make_instance(BankTransferGateway, "first", priority=5)
    make_instance(BankTransferGateway, "second", priority=5)
    assert selected_name() == "first"
    first.delete()
    assert selected_name() == "second"


def test_type_can_be_given_by_name(clean: None, make_instance: Any) -> None:
    make_instance(BankTransferGateway, "Bank")
    assert selected_name("payment_gateway") == "Bank"
    sender = get_plugin_instance("sms_sender")
    assert sender is not None
    assert sender.send("+1", "hi") == "+1:hi"
    assert isinstance(sender, EchoSender)


def test_unknown_type_name_is_an_error(db: None) -> None:
    with pytest.raises(UnknownPluginError, match="'no_such_type' is not registered"):
        get_plugin_instance("no_such_type")
    with pytest.raises(UnknownPluginError):
        get_plugin_instance_by_id("no_such_type", 1)


def test_missing_code_is_skipped(
    clean: None, make_instance: Any, plugin_registry: PluginRegistry
) -> None:
    make_instance(StripeGateway, "Stripe", config=STRIPE_CONFIG, priority=1)
    make_instance(BankTransferGateway, "Bank", priority=2)
    plugin_registry.unregister_item(StripeGateway)
    assert selected_name() == "Bank"
    assert [i.name for i in get_active_plugins(PaymentGatewayType)] == ["Bank"]


def test_rows_marked_missing_by_sync_are_skipped(
    clean: None, make_instance: Any, plugin_registry: PluginRegistry
) -> None:
    make_instance(StripeGateway, "Stripe", config=STRIPE_CONFIG, priority=1)
    plugin_registry.unregister_item(StripeGateway)
    sync_plugins()
    plugin_registry.register_item(StripeGateway)  # code back, but rows not revived yet
    # (The sync also created the default instance of the unconfigured bank transfer item.)
    assert selected_name() == "Bank transfer"
    sync_plugins()
    assert selected_name() == "Stripe"


def test_undecryptable_instance_is_skipped_with_a_logged_error(
    clean: None, make_instance: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from django.conf import settings

    with override_settings(FIELD_ENCRYPTION_KEY=settings.OLD_TEST_KEY):
        make_instance(StripeGateway, "Old key", config=STRIPE_CONFIG, priority=1)
    make_instance(BankTransferGateway, "Bank", priority=2)
    with caplog.at_level(logging.ERROR, logger="wagtail_plugin_system.selection"):
        assert selected_name() == "Bank"
    assert "FIELD_ENCRYPTION_KEY" in caplog.text
    assert "'Old key'" in caplog.text
    assert STRIPE_CONFIG["secret_key"] not in caplog.text


def test_custom_get_plugin_overrides_the_choice(
    clean: None, make_instance: Any, plugin_registry: PluginRegistry
) -> None:
    make_instance(StripeGateway, "Stripe", config=STRIPE_CONFIG, priority=1)
    make_instance(BankTransferGateway, "Bank b", priority=9)
    make_instance(BankTransferGateway, "Bank a", priority=9, status="reserved")
    seen: list[Any] = []

    def by_name(plugin_type: Any) -> PluginInstance | None:
        seen.append(plugin_type)
        return (
            PluginInstance.objects.filter(item__plugin_type=plugin_type, name__startswith="Bank")
            .order_by("name")
            .first()
        )

    plugin_registry.register_type(PaymentGatewayType, get_plugin=by_name)
    assert selected_name() == "Bank a"
    assert seen[0].name == "payment_gateway"

    plugin_registry.register_type(PaymentGatewayType, get_plugin=lambda t: None)
    assert get_plugin_instance(PaymentGatewayType) is None


def test_custom_get_plugin_returning_nonsense_is_reported(
    clean: None, plugin_registry: PluginRegistry
) -> None:
    plugin_registry.register_type(PaymentGatewayType, get_plugin=lambda t: "stripe")
    with pytest.raises(PluginSelectionError, match="returned str"):
        get_plugin_instance(PaymentGatewayType)

    sender = PluginInstance.objects.of_type("sms_sender").get()
    plugin_registry.register_type(PaymentGatewayType, get_plugin=lambda t: sender)
    with pytest.raises(PluginSelectionError, match="belongs to plugin type 'sms_sender'"):
        get_plugin_instance(PaymentGatewayType)


# -- by id ------------------------------------------------------------------------------


def test_by_id(clean: None, make_instance: Any) -> None:
    stripe = make_instance(StripeGateway, "Stripe", config=STRIPE_CONFIG, status="disabled")
    loaded = get_plugin_instance_by_id(PaymentGatewayType, stripe.pk)
    assert isinstance(loaded, StripeGateway)
    assert get_plugin_instance_by_id(PaymentGatewayType, str(stripe.pk)) is not None
    assert get_plugin_instance_by_id(PaymentGatewayType, plugin_id=stripe.pk) is not None
    assert get_plugin_instance_by_id(PaymentGatewayType, stripe.pk, prevent_disabled=True) is None
    with pytest.raises(TypeError, match="either instance_id or plugin_id"):
        get_plugin_instance_by_id(PaymentGatewayType, stripe.pk, plugin_id=stripe.pk)


@pytest.mark.parametrize(
    "bad_id", [None, "", "abc", "12abc", -1, 0, True, 1.5, 10**30, "99999999", [1], 999999]
)
def test_by_id_malformed_or_unknown_gives_none(clean: None, bad_id: object) -> None:
    assert get_plugin_instance_by_id(PaymentGatewayType, bad_id) is None


def test_by_id_of_another_type_gives_none(clean: None) -> None:
    sender = PluginInstance.objects.of_type("sms_sender").get()
    assert get_plugin_instance_by_id("sms_sender", sender.pk) is not None
    assert get_plugin_instance_by_id(PaymentGatewayType, sender.pk) is None


def test_by_id_missing_code_gives_none(
    clean: None, make_instance: Any, plugin_registry: PluginRegistry
) -> None:
    stripe = make_instance(StripeGateway, "Stripe", config=STRIPE_CONFIG)
    plugin_registry.unregister_item(StripeGateway)
    assert get_plugin_instance_by_id(PaymentGatewayType, stripe.pk) is None


# -- changes are seen by the next resolution ---------------------------------------------


def test_every_orm_path_is_seen_by_the_next_resolution(clean: None, make_instance: Any) -> None:
    first = make_instance(BankTransferGateway, "first", priority=1)
    second = make_instance(BankTransferGateway, "second", priority=2)
    assert selected_name() == "first"

    first.status = PluginStatus.DISABLED
    first.save()
    assert selected_name() == "second"

    PluginInstance.objects.filter(pk=first.pk).update(status="active", priority=0)
    assert selected_name() == "first"

    PluginInstance.objects.filter(pk=first.pk).delete()
    assert selected_name() == "second"

    second.delete()
    assert selected_name() is None

    sync_plugins()  # recreates the default instance of the unconfigured bank transfer item
    assert selected_name() == "Bank transfer"


# -- failover ---------------------------------------------------------------------------


def test_failover_moves_on_to_the_next_candidate(
    clean: None, make_instance: Any, caplog: pytest.LogCaptureFixture
) -> None:
    make_instance(FlakyGateway, "Flaky", config={**FLAKY, "fail_with": "provider"}, priority=1)
    make_instance(BankTransferGateway, "Bank", status="reserved")
    with caplog.at_level(logging.WARNING, logger="wagtail_plugin_system.selection"):
        assert call_with_failover(PaymentGatewayType, "create_payment", 7) == "bank:7"
    assert "'Flaky'" in caplog.text
    assert "ProviderError" in caplog.text
    assert FLAKY["api_key"] not in caplog.text
    assert "rejected key ***" in caplog.text


def test_a_failed_candidate_leaves_no_reference_cycle(
    transactional_db: None, clean: None, make_instance: Any
) -> None:
    """Its error's traceback holds the call's frame, which held the error: a cycle each
    failed call left for the garbage collector (a pause every few dozen calls)."""
    make_instance(FlakyGateway, "Flaky", config={**FLAKY, "fail_with": "provider"}, priority=1)
    make_instance(BankTransferGateway, "Bank", status="reserved")
    # Committed rows, in a request's scope, warm: the calls below read and write nothing
    # (the ORM's own objects hold cycles of their own).
    with override_settings(WAGTAIL_PLUGIN_SYSTEM={"BREAKER_FAILURES": 0}), version_scope():
        call_with_failover(PaymentGatewayType, "create_payment", 7)
        gc.collect()
        gc.disable()
        try:
            for _ in range(20):
                assert call_with_failover(PaymentGatewayType, "create_payment", 7) == "bank:7"
            assert gc.collect() == 0
        finally:
            gc.enable()


def test_failover_records_which_instance_served(
    clean: None, make_instance: Any, caplog: pytest.LogCaptureFixture
) -> None:
    flaky = make_instance(FlakyGateway, "Flaky", config={**FLAKY, "fail_with": "provider"})
    bank = make_instance(BankTransferGateway, "Bank", status="reserved")
    with caplog.at_level(logging.INFO, logger="wagtail_plugin_system.selection"):
        assert call_with_failover(PaymentGatewayType, "create_payment", 7) == "bank:7"
    served = [
        record
        for record in caplog.records
        if record.levelno == logging.INFO and record.name == "wagtail_plugin_system.selection"
    ]
    assert [record.getMessage() for record in served] == [
        f"Plugin instance {bank.pk} ('Bank') of type 'payment_gateway' served "
        "create_payment() after 1 other candidate(s) could not."
    ]
    # The first candidate serving is the normal case: nothing to record.
    caplog.clear()
    flaky.delete()
    with caplog.at_level(logging.INFO, logger="wagtail_plugin_system.selection"):
        assert call_with_failover(PaymentGatewayType, "create_payment", 8) == "bank:8"
    assert not [
        record
        for record in caplog.records
        if record.levelno == logging.INFO and record.name == "wagtail_plugin_system.selection"
    ]


def test_failover_skips_unloadable_instances_whatever_the_failover_exceptions(
    clean: None, make_instance: Any, plugin_registry: PluginRegistry
) -> None:
    from django.conf import settings

    # PaymentGatewayType fails over on ProviderError only.
    with override_settings(FIELD_ENCRYPTION_KEY=settings.OLD_TEST_KEY):
        make_instance(StripeGateway, "Old key", config=STRIPE_CONFIG, priority=1)
    make_instance(FlakyGateway, "No code", config=FLAKY, priority=2)
    make_instance(BankTransferGateway, "Bank", priority=3)
    plugin_registry.unregister_item(FlakyGateway)
    assert call_with_failover(PaymentGatewayType, "create_payment", 4) == "bank:4"

    PluginInstance.objects.filter(name="Bank").delete()
    with pytest.raises(PluginFailoverError) as info:
        call_with_failover(PaymentGatewayType, "create_payment", 4)
    assert [type(exc).__name__ for exc in info.value.exceptions] == ["ConfigDecryptionError"]


def test_failover_first_success_wins(clean: None, make_instance: Any) -> None:
    make_instance(FlakyGateway, "Flaky ok", config=FLAKY, priority=1)
    make_instance(BankTransferGateway, "Bank", priority=2)
    assert call_with_failover("payment_gateway", "create_payment", amount=3) == "flaky:3"


def test_failover_does_not_catch_other_exceptions(clean: None, make_instance: Any) -> None:
    make_instance(FlakyGateway, "Buggy", config={**FLAKY, "fail_with": "bug"}, priority=1)
    make_instance(BankTransferGateway, "Bank", priority=2)
    with pytest.raises(KeyError, match="a programming error"):
        call_with_failover(PaymentGatewayType, "create_payment", 1)


def test_all_failing_raises_an_exception_group(clean: None, make_instance: Any) -> None:
    make_instance(FlakyGateway, "A", config={**FLAKY, "fail_with": "provider"}, priority=1)
    make_instance(FlakyGateway, "B", config={**FLAKY, "fail_with": "provider"}, status="reserved")
    with pytest.raises(PluginFailoverError) as info:
        call_with_failover(PaymentGatewayType, "create_payment", 1)
    group = info.value
    assert isinstance(group, ExceptionGroup)
    assert len(group.exceptions) == 2
    assert all(isinstance(exc, ProviderError) for exc in group.exceptions)
    assert "All 2 instances of plugin type 'payment_gateway' failed" in str(group)

    caught: list[BaseException] = []
    try:
        call_with_failover(PaymentGatewayType, "create_payment", 1)
    except* ProviderError as provider_errors:
        caught.extend(provider_errors.exceptions)
    assert len(caught) == 2


def test_the_failover_group_carries_the_plugin_it_is_about(clean: None, make_instance: Any) -> None:
    import pickle

    from django.conf import settings

    a = make_instance(FlakyGateway, "A", config={**FLAKY, "fail_with": "provider"}, priority=1)
    with override_settings(FIELD_ENCRYPTION_KEY=settings.OLD_TEST_KEY):
        b = make_instance(StripeGateway, "Old key", config=STRIPE_CONFIG, priority=2)
    with pytest.raises(PluginFailoverError) as info:
        call_with_failover(PaymentGatewayType, "create_payment", 1)
    group = info.value
    assert group.type_name == "payment_gateway"
    assert group.method == "create_payment"
    assert group.instance_ids == (a.pk, b.pk)
    assert [type(exc).__name__ for exc in group.exceptions] == [
        "ProviderError",
        "ConfigDecryptionError",
    ]

    # except* and split() keep them, with the ids of the errors each part holds.
    matched, rest = group.split(ProviderError)
    assert isinstance(matched, PluginFailoverError)
    assert isinstance(rest, PluginFailoverError)
    assert (matched.type_name, matched.method, matched.instance_ids) == (
        "payment_gateway",
        "create_payment",
        (a.pk,),
    )
    assert rest.instance_ids == (b.pk,)

    again = pickle.loads(pickle.dumps(group))
    assert (again.type_name, again.method, again.instance_ids) == (
        "payment_gateway",
        "create_payment",
        (a.pk, b.pk),
    )


def test_failover_without_candidates(clean: None) -> None:
    with pytest.raises(PluginUnavailableError, match="No active or reserved instance"):
        call_with_failover(PaymentGatewayType, "create_payment", 1)


def test_failover_refuses_methods_the_type_does_not_have(clean: None) -> None:
    with pytest.raises(AttributeError, match="no public method 'delete_everything'"):
        call_with_failover(PaymentGatewayType, "delete_everything")
    with pytest.raises(AttributeError, match="no public method '__init__'"):
        call_with_failover(PaymentGatewayType, "__init__")


def test_failover_exceptions_of_the_type_decide(clean: None) -> None:
    assert PaymentGatewayType.failover_exceptions == (ProviderError,)


# -- fault isolation (issue 12) -------------------------------------------------------------


class ExplodingGateway(BasePluginItem):
    """Its __init__ fails, repeating its key in the message."""

    name = "exploding"
    plugin_type = PaymentGatewayType
    configuration = FlakyConfiguration

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        raise RuntimeError(f"cannot connect with key {self.config['api_key']}")

    def create_payment(self, amount: int) -> str:
        raise AssertionError("never reached")


def _break(instance: PluginInstance, how: str) -> None:
    """Make the stored configuration of ``instance`` unusable in one of the reviewed ways."""
    text = {
        "not json": "api_key=flaky_key_SECRET_91b2",  # as EncryptedTextField would write it
        "a list": '["flaky_key_SECRET_91b2"]',
        "a string": '"flaky_key_SECRET_91b2"',
        "a number": "4",
        "null": "null",
    }[how]
    PluginInstance.objects.filter(pk=instance.pk).update(config=Ciphertext(encrypt_text(text)))


BROKEN_CONFIGS = ["not json", "a list", "a string", "a number", "null"]


@pytest.mark.parametrize("how", BROKEN_CONFIGS)
def test_a_configuration_that_is_not_a_json_object_is_skipped(
    clean: None, make_instance: Any, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    broken = make_instance(FlakyGateway, "Broken", config=FLAKY, priority=1)
    make_instance(BankTransferGateway, "Bank", priority=2)
    _break(broken, how)
    with caplog.at_level(logging.ERROR, logger="wagtail_plugin_system.selection"):
        assert selected_name() == "Bank"
        assert call_with_failover(PaymentGatewayType, "create_payment", 2) == "bank:2"
        assert get_plugin_instance_by_id(PaymentGatewayType, broken.pk) is None
    assert "'Broken'" in caplog.text
    assert "save its configuration again" in caplog.text or "Save the configuration" in caplog.text
    assert FLAKY["api_key"] not in caplog.text


def test_an_item_whose_init_raises_is_skipped_and_its_error_redacted(
    clean: None,
    make_instance: Any,
    plugin_registry: PluginRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    plugin_registry.register_item(ExplodingGateway)
    sync_plugins()
    exploding = make_instance(ExplodingGateway, "Exploding", config=FLAKY, priority=1)
    make_instance(BankTransferGateway, "Bank", priority=2)
    with caplog.at_level(logging.ERROR, logger="wagtail_plugin_system.selection"):
        assert selected_name() == "Bank"
        assert call_with_failover(PaymentGatewayType, "create_payment", 2) == "bank:2"
        assert get_plugin_instance_by_id(PaymentGatewayType, exploding.pk) is None
    assert "RuntimeError: cannot connect with key ***" in caplog.text
    assert FLAKY["api_key"] not in caplog.text
    with pytest.raises(PluginUnavailableError) as info:
        PluginInstance.objects.get(pk=exploding.pk).load_instance()
    assert "__init__" in str(info.value)
    assert FLAKY["api_key"] not in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__context__ is None


@pytest.mark.parametrize("key", ["not-a-key", ["bad"], [], None, 12345])
def test_a_malformed_key_skips_instances_instead_of_failing(
    clean: None, make_instance: Any, key: object
) -> None:
    stripe = make_instance(StripeGateway, "Stripe", config=STRIPE_CONFIG, priority=1)
    bank = make_instance(BankTransferGateway, "Bank", priority=2)
    with override_settings(FIELD_ENCRYPTION_KEY=key):
        # Bank has nothing to configure: it needs no key and keeps working.
        assert selected_name() == "Bank"
        assert get_plugin_instance_by_id(PaymentGatewayType, stripe.pk) is None
        assert get_plugin_instance_by_id(PaymentGatewayType, bank.pk) is not None
        assert call_with_failover(PaymentGatewayType, "create_payment", 2) == "bank:2"
        PluginInstance.objects.filter(pk=bank.pk).update(status=PluginStatus.DISABLED)
        with pytest.raises(PluginFailoverError) as info:
            call_with_failover(PaymentGatewayType, "create_payment", 2)
        assert all("FIELD_ENCRYPTION_KEY" in str(exc) for exc in info.value.exceptions)


def test_a_malformed_old_key_during_a_rotation_leaves_the_rest_working(
    clean: None, make_instance: Any
) -> None:
    from django.conf import settings

    make_instance(StripeGateway, "Stripe", config=STRIPE_CONFIG, priority=1)
    with override_settings(FIELD_ENCRYPTION_KEY=[settings.FIELD_ENCRYPTION_KEY, "typo"]):
        assert selected_name() == "Stripe"


@pytest.mark.parametrize("bad_id", ["²", "٣", "abc", "1.5", "-1", "\x00", str(2**64), 2**64, None])
def test_by_id_with_hostile_ids_gives_none(clean: None, bad_id: object) -> None:
    assert get_plugin_instance_by_id(PaymentGatewayType, bad_id) is None


def test_the_failover_group_is_safe_to_log_and_report(
    clean: None, make_instance: Any, caplog: pytest.LogCaptureFixture
) -> None:
    import sys
    import traceback

    from django.views.debug import ExceptionReporter

    make_instance(FlakyGateway, "A", config={**FLAKY, "fail_with": "provider"}, priority=1)
    make_instance(FlakyGateway, "B", config={**FLAKY, "fail_with": "provider"}, status="reserved")
    app_logger = logging.getLogger("an_application")
    try:
        call_with_failover(PaymentGatewayType, "create_payment", 1)
    except PluginFailoverError as group:
        printed = "".join(traceback.format_exception(group))
        with caplog.at_level(logging.ERROR, logger="an_application"):
            app_logger.exception("payment failed")
        report = ExceptionReporter(None, *sys.exc_info()).get_traceback_text()
        members = group.exceptions
    assert "rejected key ***" in printed
    assert all(isinstance(exc, ProviderError) for exc in members)
    assert all(exc.__cause__ is None and exc.__traceback__ is None for exc in members)
    for text in (printed, caplog.text, report, repr(members)):
        assert FLAKY["api_key"] not in text


@pytest.mark.parametrize("how", BROKEN_CONFIGS)
def test_the_check_of_a_broken_configuration_fails_cleanly(
    clean: None, make_instance: Any, how: str
) -> None:
    from wagtail_plugin_system.health import run_health_check

    broken = make_instance(FlakyGateway, "Broken", config=FLAKY, priority=1)
    _break(broken, how)
    result = run_health_check(PluginInstance.objects.get(pk=broken.pk))
    assert not result.ok
    assert FLAKY["api_key"] not in result.message


class UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("str() fails too")


class UnprintableCheckGateway(BasePluginItem):
    name = "unprintable"
    plugin_type = PaymentGatewayType

    def create_payment(self, amount: int) -> str:
        return "unprintable"

    def check(self) -> None:
        raise UnprintableError


def test_a_check_error_whose_str_raises_is_reported(
    clean: None, make_instance: Any, plugin_registry: PluginRegistry
) -> None:
    from wagtail_plugin_system.health import run_health_check

    plugin_registry.register_item(UnprintableCheckGateway)
    sync_plugins()
    instance = make_instance(UnprintableCheckGateway, "Unprintable")
    result = run_health_check(instance)
    assert not result.ok
    assert result.message.startswith("UnprintableError")


# -- cold paths do not grow with the number of instances ----------------------------------


def _many_bank_transfers(count: int) -> None:
    """``count`` more active bank-transfer instances, behind the synced default one."""
    item = PluginInstance.objects.get(item__name="bank_transfer", is_default=True).item
    PluginInstance.objects.bulk_create(
        PluginInstance(item=item, name=f"Bank {n}", priority=1000 + n, config={})
        for n in range(count)
    )


def _cold(func: Any) -> tuple[int, int, Any]:
    """(queries, instance rows built, result) of ``func`` with nothing memoised."""
    from django.db import connection
    from django.db.models.signals import post_init
    from django.test.utils import CaptureQueriesContext

    from wagtail_plugin_system import cache

    cache.clear()
    built = 0

    def count(sender: Any, **kwargs: Any) -> None:
        nonlocal built
        built += 1

    post_init.connect(count, sender=PluginInstance)
    try:
        with CaptureQueriesContext(connection) as queries:
            result = func()
    finally:
        post_init.disconnect(count, sender=PluginInstance)
    return len(queries), built, result


@pytest.mark.parametrize("extra", [10, 1000])
def test_a_cold_resolution_reads_one_small_batch(synced: Any, extra: int) -> None:
    _many_bank_transfers(extra)
    queries, built, item = _cold(lambda: get_plugin_instance(PaymentGatewayType))
    assert item.plugin_instance.name == "Bank transfer"
    assert built <= 8
    assert queries <= 3  # (the version,) the first batch of candidates


@pytest.mark.parametrize("extra", [10, 1000])
def test_a_cold_failover_loads_only_what_it_tries(synced: Any, extra: int) -> None:
    _many_bank_transfers(extra)
    queries, built, result = _cold(
        lambda: call_with_failover(PaymentGatewayType, "create_payment", 5)
    )
    assert result == "bank:5"
    assert built <= 8
    assert queries <= 3
