"""The French and German catalogs: complete, compiled, and used by the code and the admin."""

from __future__ import annotations

import gettext
import re
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import override
from wagtail.test.utils import WagtailTestUtils
from wagtail.users.models import UserProfile

from tests.testapp.factories import STRIPE_CONFIG
from tests.testapp.plugins import StripeGateway
from wagtail_plugin_system.admin.bulk_actions import ReserveBulkAction, SetPriorityBulkAction
from wagtail_plugin_system.admin.forms import configuration_problem
from wagtail_plugin_system.audit import PriorityFormatter
from wagtail_plugin_system.models import PluginInstance, PluginStatus, PluginType

LOCALE = Path(__file__).resolve().parent.parent / "src" / "wagtail_plugin_system" / "locale"
TRANSLATED = ("fr", "de")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}")


def msgids(language: str) -> list[tuple[str, str | None]]:
    """(msgid, msgid_plural) of every entry of a .po file, read with msgfmt's rules.

    An entry with a context has the key gettext gives it: the context, EOT, the msgid.
    """
    text = (LOCALE / language / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    entries = []
    for block in re.split(r"\n\s*\n", text):
        strings: dict[str, str] = {}
        keyword = ""
        for line in block.splitlines():
            if line.startswith("#"):
                continue
            if not line.startswith('"'):
                keyword, _space, line = line.partition(" ")
            strings[keyword] = strings.get(keyword, "") + line.strip()[1:-1]
        if strings.get("msgid"):
            msgid = unescape(strings["msgid"])
            if "msgctxt" in strings:
                # How gettext keys an entry with a context (pgettext).
                msgid = f"{unescape(strings['msgctxt'])}\x04{msgid}"
            entries.append((msgid, unescape(strings.get("msgid_plural"))))
    return entries


def unescape(text: str | None) -> Any:
    if text is None:
        return None
    return text.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def shipped(language: str) -> gettext.GNUTranslations:
    """The compiled catalog, as it is in the wheel."""
    with (LOCALE / language / "LC_MESSAGES" / "django.mo").open("rb") as handle:
        return gettext.GNUTranslations(handle)


def compiled(language: str) -> dict[Any, str]:
    return dict(shipped(language)._catalog)  # type: ignore[attr-defined]


# -- the catalogs -----------------------------------------------------------------------


def test_the_english_catalog_lists_the_strings() -> None:
    assert len(msgids("en")) > 100
    assert ("plugin instance", None) in msgids("en")


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_string_has_a_translation_in_the_shipped_mo_file(language: str) -> None:
    catalog = compiled(language)
    assert msgids(language) == msgids("en")
    untranslated = []
    for msgid, plural in msgids("en"):
        if plural is None:
            translations = [catalog.get(msgid, "")]
        else:
            translations = [catalog.get((msgid, index), "") for index in (0, 1)]
        if not all(translation.strip() for translation in translations):
            untranslated.append(msgid)
    assert untranslated == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_the_placeholders(language: str) -> None:
    catalog = compiled(language)
    for msgid, plural in msgids("en"):
        if plural is None:
            assert sorted(PLACEHOLDER.findall(catalog[msgid])) == sorted(
                PLACEHOLDER.findall(msgid)
            ), msgid
        else:
            # The plural form has every placeholder; the singular may leave the count out.
            assert set(PLACEHOLDER.findall(catalog[(msgid, 1)])) == set(
                PLACEHOLDER.findall(plural)
            ), plural
            assert set(PLACEHOLDER.findall(catalog[(msgid, 0)])) <= set(
                PLACEHOLDER.findall(plural)
            ), msgid


def test_plural_forms_of_each_language() -> None:
    """French uses the singular for 0 and 1, German for 1 only."""
    assert [shipped("fr").plural(n) for n in (0, 1, 2)] == [0, 0, 1]  # type: ignore[attr-defined]
    assert [shipped("de").plural(n) for n in (0, 1, 2)] == [1, 0, 1]  # type: ignore[attr-defined]


# -- the code, in the editor's language ---------------------------------------------------


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fr", ["instance de plugin", "instances de plugin", "type de plugin", "statut"]),
        ("de", ["Plugin-Instanz", "Plugin-Instanzen", "Plugin-Typ", "Status"]),
    ],
)
def test_model_names(language: str, expected: list[str]) -> None:
    with override(language):
        assert [
            str(PluginInstance._meta.verbose_name),
            str(PluginInstance._meta.verbose_name_plural),
            str(PluginType._meta.verbose_name),
            str(PluginInstance._meta.get_field("status").verbose_name),
        ] == expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fr", ["Active", "En réserve", "Désactivée"]),
        ("de", ["Aktiv", "Reserviert", "Deaktiviert"]),
    ],
)
def test_status_labels(language: str, expected: list[str]) -> None:
    with override(language):
        assert [str(status.label) for status in PluginStatus] == expected


def test_wagtails_add_button_names_the_model_in_the_language() -> None:
    """The issue's "Ajouter un(e) plugin instance": Wagtail's string with our model name."""
    with override("fr"):
        add = _("Add %(model_name)s") % {"model_name": PluginInstance._meta.verbose_name}
        assert add == "Ajouter un(e) instance de plugin"
    with override("de"):
        add = _("Add %(model_name)s") % {"model_name": PluginInstance._meta.verbose_name}
        assert add == "Plugin-Instanz hinzufügen"


@pytest.mark.parametrize(
    ("language", "one", "three"),
    [
        (
            "fr",
            "1 instance de plugin a maintenant le statut «\u00a0en réserve\u00a0».",
            "3 instances de plugin ont maintenant le statut «\u00a0en réserve\u00a0».",
        ),
        (
            "de",
            "1 Plugin-Instanz ist jetzt reserviert.",
            "3 Plugin-Instanzen sind jetzt reserviert.",
        ),
    ],
)
def test_bulk_action_messages_with_a_count_and_a_status(
    language: str, one: str, three: str
) -> None:
    action = ReserveBulkAction(RequestFactory().get("/"), PluginInstance)
    with override(language):
        assert action.get_success_message(1, 0) == one
        assert action.get_success_message(3, 0) == three


def test_messages_with_placeholders() -> None:
    entry = SimpleNamespace(data={"previous": 100, "priority": 5})
    with override("fr"):
        assert PriorityFormatter().format_message(entry) == (
            "Priorité de l\u2019instance de plugin modifiée de 100 à 5"
        )
        action = SetPriorityBulkAction(RequestFactory().get("/"), PluginInstance)
        assert action.get_success_message(2, 0) == (
            "La priorité de 2 instances de plugin a été modifiée."
        )
    with override("de"):
        assert PriorityFormatter().format_message(entry) == (
            "Priorität der Plugin-Instanz von 100 auf 5 geändert"
        )


def test_form_messages() -> None:
    with override("fr"):
        assert configuration_problem(None, None).startswith(  # type: ignore[union-attr]
            "Le code de cette implémentation n\u2019est pas installé"
        )
    with override("de"):
        assert configuration_problem(None, None).startswith(  # type: ignore[union-attr]
            "Der Code dieser Implementierung ist nicht installiert"
        )


@pytest.mark.parametrize(("language", "expected"), [("fr", "Non testée"), ("de", "Nicht getestet")])
def test_templates(language: str, expected: str) -> None:
    instance = SimpleNamespace(last_check_at=None)
    with override(language):
        html = render_to_string(
            "wagtail_plugin_system/tables/health_cell.html",
            {"instance": instance, "column": SimpleNamespace(classname="")},
        )
    assert expected in html


# -- the admin, for an editor who chose French --------------------------------------------


@pytest.mark.django_db
def test_the_instance_listing_in_french(client: Client, make_instance: Any) -> None:
    make_instance(
        StripeGateway, name="Stripe de secours", config=STRIPE_CONFIG, status=PluginStatus.RESERVED
    )
    user = WagtailTestUtils.create_superuser("editeur", password="pw")  # type: ignore[arg-type]
    profile = UserProfile.get_for_user(user)
    profile.preferred_language = "fr"
    profile.save()
    client.force_login(user)
    index = reverse(PluginInstance.snippet_viewset.get_url_name("list"))  # type: ignore[attr-defined]
    html = client.get(index).content.decode()
    assert "Ajouter un(e) instance de plugin" in html
    assert "En réserve" in html
    assert "Reserved" not in html
    assert "Dernière vérification" in html
    choose = client.get(reverse(PluginInstance.snippet_viewset.get_url_name("add")))  # type: ignore[attr-defined]
    assert (
        "Choisissez l\u2019implémentation que la nouvelle instance utilisera."
        in choose.content.decode()
    )


def _translations_script() -> Any:
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "scripts" / "translations.py"
    spec = importlib.util.spec_from_file_location("translations_script", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_catalog_check_finds_template_text_outside_the_translation_tags(
    tmp_path: Path,
) -> None:
    script = _translations_script()
    template = tmp_path / "t.html"
    template.write_text(
        "{% load i18n %}{# a note #}<p>{% trans 'Fine' %}</p>"
        "{% blocktrans %}Also fine {{ x }}{% endblocktrans %}{% comment %}Hidden{% endcomment %}"
        '<div class="w-flex" data-x="{{ y }}">{{ z }} &nbsp; &mdash; 42</div>'
        "<script>var text = 'code';</script><!-- A comment -->"
    )
    assert script.untranslated_template_text(template) == []
    template.write_text(
        '{% load i18n %}<button title="Run it">Run the check</button>'
        '<input placeholder="{% trans "Search" %}">'
    )
    assert script.untranslated_template_text(template) == ["Run it", "Run the check"]


def test_every_template_of_the_package_shows_only_translated_text() -> None:
    script = _translations_script()
    assert script.check_templates(script.PACKAGE) == []


@pytest.mark.parametrize("language", ["fr", "de"])
def test_the_demos_labels_and_descriptions_are_translated(language: str) -> None:
    """The sandbox's plugins, read in French or German: none of their words left English."""
    import importlib.util

    from django import forms

    from wagtail_plugin_system import BasePluginItem, BasePluginType

    demo = Path(__file__).resolve().parents[1] / "sandbox" / "demo"
    spec = importlib.util.spec_from_file_location("sandbox_demo_plugins", demo / "plugins.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    texts: list[Any] = []
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, BasePluginType | BasePluginItem):
            if value.__module__ == module.__name__:
                texts += [value.label, value.description]
        elif isinstance(value, type) and issubclass(value, forms.Form):
            for form_field in value.base_fields.values():
                texts += [form_field.label, form_field.help_text]
                texts += [label for _, label in getattr(form_field, "choices", [])]
    catalog = gettext.translation("django", demo / "locale", languages=[language])
    with override(None):
        sources = sorted({str(text) for text in texts if text})
    assert len(sources) > 20
    same_in_both = {"Euro"}
    untranslated = [
        text for text in sources if catalog.gettext(text) == text and text not in same_in_both
    ]
    assert untranslated == []
