"""Tests for wagtail_plugin_system.admin.site_settings: Settings > Plugins' form and panels."""

from __future__ import annotations

from pathlib import Path

from wagtail.admin.panels import get_edit_handler

from wagtail_plugin_system.admin.site_settings import (
    PluginChoiceFormSet,
    PluginSiteSettingsForm,
)
from wagtail_plugin_system.models import PluginSiteChoice, PluginSiteSettings
from wagtail_plugin_system.models import site_settings as storage


def test_the_setting_gets_its_form_and_panels_from_the_admin_layer() -> None:
    form_class = get_edit_handler(PluginSiteSettings).get_form_class()
    assert issubclass(form_class, PluginSiteSettingsForm)
    formset = form_class.formsets["choices"]
    assert issubclass(formset, PluginChoiceFormSet)
    assert {"plugin_type", "instance"} <= set(formset.form.base_fields)
    widget = formset.form.base_fields["instance"].widget
    assert "plugin_type" in str(widget.linked_fields)


def test_the_models_hold_no_admin_code() -> None:
    assert "panels" not in PluginSiteSettings.__dict__
    assert "base_form_class" not in PluginSiteSettings.__dict__
    assert "panels" not in PluginSiteChoice.__dict__
    source = Path(storage.__file__).read_text(encoding="utf-8")
    assert "wagtail.admin" not in source
