"""Comparing an instance's revisions without showing a secret.

Wagtail's compare view asks the edit handler's panels for comparisons. The
configuration is not a model field the default panels know, so
:class:`ConfigurationComparisonPanel` compares it field by field: a plain
field shows its old and new values; a secret field (``secret_fields`` of the
configuration, password inputs) only says that it changed, never a value or a
fragment of one. Fields that did not change are not listed, as Wagtail does
for the other fields.
"""

from __future__ import annotations

import functools
from typing import Any

from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables
from wagtail.admin.compare import diff_text
from wagtail.admin.panels import FieldPanel, ObjectList, Panel
from wagtail.snippets.views import snippets as snippet_views

from ...models import PluginInstance

__all__ = [
    "ConfigurationComparisonPanel",
    "ConfigurationFieldComparison",
    "InstanceCompareView",
    "InstanceHistoryView",
    "comparison_panel",
]

#: What a revision's configuration value is when it cannot be read.
_UNREADABLE = object()


@sensitive_variables()
def _stored_value(instance: PluginInstance, name: str | None) -> Any:
    """The configuration (``name`` None) or one of its values, or :data:`_UNREADABLE`."""
    if instance.get_config_error() is not None:
        return _UNREADABLE
    config = instance.config
    return dict(config) if name is None else config.get(name)


class ConfigurationFieldComparison:
    """One configuration field of two revisions; a secret one only says it changed."""

    is_field = True
    is_child_relation = False

    @sensitive_variables()
    def __init__(
        self,
        name: str | None,
        label: str,
        secret: bool,
        obj_a: PluginInstance,
        obj_b: PluginInstance,
    ) -> None:
        self.name = name
        self.label = label
        self.secret = secret
        value_a = _stored_value(obj_a, name)
        value_b = _stored_value(obj_b, name)
        self.readable = value_a is not _UNREADABLE and value_b is not _UNREADABLE
        if self.readable:
            self._changed = value_a != value_b
        else:  # one version cannot be read: it changed when only one of them can
            self._changed = (value_a is _UNREADABLE) != (value_b is _UNREADABLE)
        # Only a plain field's values are kept for display; a secret's never are.
        self._shown: tuple[str, str] | None = None
        if self.readable and not secret:
            self._shown = (_display(value_a), _display(value_b))

    def field_label(self) -> str:
        return self.label

    def has_changed(self) -> bool:
        return bool(self._changed)

    def htmldiff(self) -> SafeString:
        if not self.readable:
            return format_html(
                "<em>{}</em>",
                _("Changed. A version cannot be decrypted with the configured keys."),
            )
        if self._shown is None:
            return format_html(
                "<em>{}</em>",
                _("Changed (a secret value: values are never shown)")
                if self._changed
                else _("Unchanged"),
            )
        html: SafeString = diff_text(*self._shown).to_html()
        return html


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return str(value)


class ConfigurationComparisonPanel(Panel):
    """Compares the configuration of two revisions, field by field; shows no form field."""

    class BoundPanel(Panel.BoundPanel):
        def is_shown(self) -> bool:
            return False  # nothing to render in a form, only comparisons

        def get_comparison(self) -> list[Any]:
            instance: PluginInstance = self.instance
            item_class = instance.get_item_class()
            configuration = item_class.configuration if item_class is not None else None
            if configuration is None:
                # Unknown fields: the whole configuration counts as one secret value.
                return [
                    functools.partial(
                        ConfigurationFieldComparison,
                        None,
                        capfirst(str(PluginInstance._meta.get_field("config").verbose_name)),
                        True,
                    )
                ]
            secret = configuration.get_secret_fields()
            comparisons: list[Any] = []
            for name, field in configuration.form_class.base_fields.items():
                label = str(field.label) if field.label is not None else name.replace("_", " ")
                comparisons.append(
                    functools.partial(
                        ConfigurationFieldComparison, name, capfirst(label), name in secret
                    )
                )
            # Keys the current form does not declare (renamed or removed fields) count as
            # secret: their values are never shown.
            comparisons.append(
                functools.partial(_OtherKeysComparison, set(configuration.form_class.base_fields))
            )
            return comparisons


class _OtherKeysComparison(ConfigurationFieldComparison):
    """Configuration keys the implementation's form does not declare (never shown)."""

    @sensitive_variables()
    def __init__(self, declared: set[str], obj_a: PluginInstance, obj_b: PluginInstance) -> None:
        super().__init__(None, _("Other configuration values"), True, obj_a, obj_b)
        if self.readable:
            value_a = _stored_value(obj_a, None)
            value_b = _stored_value(obj_b, None)
            for name in declared:
                value_a.pop(name, None)
                value_b.pop(name, None)
            self._changed = value_a != value_b


def comparison_panel() -> Panel:
    """The panels the compare view uses: the instance's own fields and its configuration."""
    panel: Panel = ObjectList(
        [
            FieldPanel("name"),
            FieldPanel("description"),
            FieldPanel("status"),
            FieldPanel("priority"),
            FieldPanel("go_live_at"),
            FieldPanel("expire_at"),
            ConfigurationComparisonPanel(),
        ]
    ).bind_to_model(PluginInstance)
    return panel


class InstanceCompareView(snippet_views.RevisionsCompareView):
    """Wagtail's compare view, with the configuration compared without values of secrets."""

    def get_edit_handler(self) -> Panel:
        return comparison_panel()


class InstanceHistoryView(snippet_views.HistoryView):
    """Wagtail's history; without drafts for the type, no "Current draft" labels.

    Every save of such an instance goes live at once, so no version is a draft.
    """

    @cached_property
    def columns(self) -> list[Any]:
        columns: list[Any] = list(super().columns)
        instance: PluginInstance = self.object
        if not instance.drafts_enabled:
            for column in columns:
                if hasattr(column, "draftstate_enabled"):
                    column.draftstate_enabled = False
        return columns
