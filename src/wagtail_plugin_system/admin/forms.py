"""Admin forms: one form for an instance's own fields and its implementation's configuration.

:func:`instance_form_class` builds, per implementation, a
:class:`~wagtail.admin.forms.WagtailAdminModelForm` for ``PluginInstance``
that also carries a copy of every field of the implementation's
configuration form, named ``config-<field>``. The copies are for display;
validation is done by the configuration form itself (so its ``clean()``
runs), and its errors are shown on the copies.

Secret fields (``PluginConfiguration.secret_fields`` and password inputs) are
write-only: their widgets never render a value, a placeholder says when one
is stored, leaving them blank keeps it, and a "clear" checkbox removes it
(offered only on an instance that has a value stored in an optional field: a
required secret can be replaced, not cleared).
"""

from __future__ import annotations

import copy
import logging
from typing import Any, ClassVar

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.db import transaction
from django.forms.utils import ErrorList, pretty_name
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables
from wagtail.admin.forms import WagtailAdminModelForm

from ..core.contracts import BasePluginItem, PluginConfiguration
from ..core.exceptions import ConfigEncodingError, ConfigFormatError
from ..core.masking import without_secrets
from ..core.redact import describe_exception, format_exception
from ..fields import MAX_CONFIG_BYTES, MAX_CONFIG_DEPTH, key_setting_problem, writing_problem
from ..models import PluginInstance, PluginItem

__all__ = [
    "CONFIG_PREFIX",
    "PluginInstanceForm",
    "WriteOnlyWidgetMixin",
    "clear_field_name",
    "config_field_name",
    "configuration_problem",
    "configuration_to_replace",
    "instance_form_class",
]

logger = logging.getLogger(__name__)

CONFIG_PREFIX = "config"
#: The instance's own fields that the admin form edits.
INSTANCE_FIELDS = ["name", "description", "status", "priority"]


def config_field_name(name: str) -> str:
    """The admin form's name for a configuration field."""
    return f"{CONFIG_PREFIX}-{name}"


def clear_field_name(name: str) -> str:
    """The admin form's name for the "clear the stored value" checkbox of a secret field."""
    return f"{CONFIG_PREFIX}-{name}-clear"


class WriteOnlyWidgetMixin:
    """Never renders a value: what was stored or submitted stays out of the page."""

    def format_value(self, value: Any) -> None:
        return None

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context(name, None, attrs)  # type: ignore[misc]
        context["widget"]["value"] = None
        return context


_write_only_classes: dict[type[forms.Widget], type[forms.Widget]] = {}


def _write_only_class(widget_class: type[forms.Widget]) -> type[forms.Widget]:
    if issubclass(widget_class, WriteOnlyWidgetMixin):
        return widget_class
    if widget_class not in _write_only_classes:
        _write_only_classes[widget_class] = type(
            f"WriteOnly{widget_class.__name__}", (WriteOnlyWidgetMixin, widget_class), {}
        )
    return _write_only_classes[widget_class]


def _write_only(field: forms.Field) -> forms.Field:
    widget = copy.copy(field.widget)
    widget.__class__ = _write_only_class(type(widget))
    if isinstance(widget, forms.PasswordInput):
        widget.render_value = False
    widget.attrs = {**widget.attrs, "autocomplete": "new-password"}
    field.widget = widget
    return field


class PluginInstanceForm(WagtailAdminModelForm):
    """The admin form of a plugin instance. Use :func:`instance_form_class` to get one."""

    #: The implementation's row and class, set by :func:`instance_form_class`.
    plugin_item: ClassVar[PluginItem | None] = None
    item_class: ClassVar[type[BasePluginItem] | None] = None
    #: Restoring a revision: every field and the whole configuration are written as the
    #: form holds them, instead of only what the editor changed (a secret left blank keeps
    #: the revision's value, which the form was filled from).
    restoring: bool = False

    class Meta:
        model = PluginInstance
        fields = INSTANCE_FIELDS
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    @sensitive_variables()
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instance = self.instance
        if instance.pk is None and self.plugin_item is not None:
            instance.item = self.plugin_item
            self.initial.setdefault("priority", self.plugin_item.default_priority)
        self.new_config: dict[str, Any] | None = None
        self.config_problem = configuration_problem(self.item_class, instance)
        #: The stored configuration decrypts but is not a JSON object: it is entered again.
        self.config_replaced = self.config_problem is None and configuration_to_replace(instance)
        self.stored_config: dict[str, Any] = {}
        if self.config_problem is None and instance.pk is not None and not self.config_replaced:
            self.stored_config = dict(instance.config)
        configuration = self.configuration
        if self.config_problem is not None:
            # Nothing of the configuration is shown, validated or saved.
            for key in [k for k in self.fields if k.startswith(f"{CONFIG_PREFIX}-")]:
                del self.fields[key]
            return
        if configuration is None:
            return
        initial = configuration.get_initial() if instance.pk is None else {}
        # What the form may show of the stored values: never a secret.
        shown = without_secrets(self.stored_config, self.secret_fields)
        for name in configuration.form_class.base_fields:
            key = config_field_name(name)
            if name in self.secret_fields:
                if self.has_stored_secret(name):
                    field = self.fields[key]
                    if field.required:
                        field.help_text = _(
                            "This value is required, so it cannot be cleared. To replace it, "
                            "type the new value."
                        )
                    field.required = False
                    field.widget.attrs["placeholder"] = str(
                        _("A value is stored. Leave blank to keep it.")
                    )
                else:
                    # Nothing stored (always so on create): nothing to clear.
                    self.fields.pop(clear_field_name(name), None)
                continue
            value = shown.get(name, initial.get(name))
            if value is not None:
                self.initial[key] = value

    # -- what the form edits ----------------------------------------------------------

    @property
    def configuration(self) -> type[PluginConfiguration] | None:
        return self.item_class.configuration if self.item_class is not None else None

    @property
    def secret_fields(self) -> frozenset[str]:
        configuration = self.configuration
        return configuration.get_secret_fields() if configuration is not None else frozenset()

    @property
    def config_editable(self) -> bool:
        return self.configuration is not None and self.config_problem is None

    def has_stored_secret(self, name: str) -> bool:
        return self.stored_config.get(name) not in (None, "")

    # -- validation -------------------------------------------------------------------

    @sensitive_variables()
    def clean(self) -> dict[str, Any]:
        cleaned_data: dict[str, Any] = super().clean()
        configuration = self.configuration
        if configuration is None or not self.config_editable:
            return cleaned_data
        problem = writing_problem()
        if problem is not None:
            self.add_error(
                None,
                _(
                    "The configuration cannot be saved: the FIELD_ENCRYPTION_KEY setting is "
                    "missing or malformed (%(problem)s). Fix the setting ('manage.py check' "
                    "reports it too); nothing was saved."
                )
                % {"problem": problem},
            )
            return cleaned_data
        names = list(configuration.form_class.base_fields)
        # The copies only display; the configuration form decides.
        for name in names:
            self._errors.pop(config_field_name(name), None)
            cleaned_data.pop(config_field_name(name), None)
        data = self.data.copy()
        for name in self.secret_fields:
            key = self.add_prefix(config_field_name(name))
            if (
                not data.get(key)
                and self.has_stored_secret(name)
                and not self.cleaned_data.get(clear_field_name(name))
            ):
                data[key] = self.stored_config[name]
        try:
            config_form = configuration.get_form(
                data=data, files=self.files, prefix=self.add_prefix(CONFIG_PREFIX)
            )
            if config_form.is_valid():
                self.new_config = configuration.clean_config(config_form.cleaned_data)
                self._check_storable(self.new_config)
                return cleaned_data
            errors_found = list(config_form.errors.items())
        except Exception as exc:
            # A bug in the implementation's form: an error message, never a server error.
            stored = self.stored_config
            logger.error(
                "The configuration form of %s raised while checking an editor's values, so "
                "nothing was saved (the editor was shown an error): %s. Fix the form's "
                "__init__() or clean().\n%s",
                self.plugin_item or configuration.__qualname__,
                describe_exception(exc, stored),
                format_exception(exc, stored),
            )
            self.add_error(
                None,
                _(
                    "The implementation's configuration form failed while checking the values "
                    "(%(error)s), so nothing was saved and the stored configuration is kept. "
                    "This is a bug in the implementation: tell its developers; the details are "
                    "in the server log."
                )
                % {"error": type(exc).__name__},
            )
            return cleaned_data
        for field, errors in errors_found:
            target = None if field == NON_FIELD_ERRORS else config_field_name(field)
            for error in errors.as_data() if isinstance(errors, ErrorList) else errors:
                self.add_error(target, error)
        return cleaned_data

    @sensitive_variables()
    def _check_storable(self, config: dict[str, Any]) -> None:
        """A form error, instead of a failed save, for a configuration beyond the limits."""
        try:
            PluginInstance._meta.get_field("config").encode(config)
        except ConfigEncodingError:
            self.new_config = None
            self.add_error(
                None,
                _(
                    "The configuration cannot be stored: it must be at most %(size)d KiB of "
                    "JSON, with lists and objects nested at most %(depth)d levels deep, and "
                    "hold only text, numbers, booleans, lists and objects. Nothing was saved."
                )
                % {"size": MAX_CONFIG_BYTES // 1024, "depth": MAX_CONFIG_DEPTH},
            )

    @sensitive_variables()
    def save(self, commit: bool = True) -> PluginInstance:
        """Create, or save only what this editor changed, merged into the current row.

        Editing locks the row, re-reads its stored configuration and applies
        only the fields this form changed (a secret left blank keeps the
        *current* value, not the one read when the form was opened), then
        saves only the changed columns, so a concurrent edit, status change
        or key rotation is not undone.
        """
        if self.instance.pk is None or not commit:
            if self.new_config is not None:
                self.instance.config = self.new_config
            instance: PluginInstance = super().save(commit=commit)
            return instance
        with transaction.atomic():
            current = PluginInstance.objects.select_for_update().get(pk=self.instance.pk)
            fields = [
                name for name in INSTANCE_FIELDS if self.restoring or name in self.changed_data
            ]
            if self.new_config is not None and (
                self.restoring or configuration_to_replace(current)
            ):
                # A revision restored, or what was stored is not a JSON object: the form's
                # values replace it whole.
                self.instance.config = dict(self.new_config)
                fields.append("config")
            elif self.new_config is not None:
                merged = self._merge_config(current)
                if merged != current.config:
                    self.instance.config = merged
                    fields.append("config")
                else:
                    self.instance.config = current.config
            else:
                # Nothing of the configuration is edited here: keep what is stored now.
                self.instance.__dict__["config"] = current.__dict__["config"]
            if fields:
                self.instance.save(update_fields=[*fields, "updated_at"])
        saved: PluginInstance = self.instance
        return saved

    @sensitive_variables()
    def _merge_config(self, current: PluginInstance) -> dict[str, Any]:
        """The stored configuration with this form's changes applied."""
        assert self.new_config is not None
        configuration = self.configuration
        assert configuration is not None
        if configuration.clean_config.__func__ is not PluginConfiguration.clean_config.__func__:  # type: ignore[attr-defined]
            # A custom clean_config() may rename or compute keys: store its result whole.
            return dict(self.new_config)
        merged = dict(current.config)
        for name in configuration.form_class.base_fields:
            key = config_field_name(name)
            if name in self.secret_fields:
                submitted = self.data.get(self.add_prefix(key))
                cleared = self.cleaned_data.get(clear_field_name(name))
                if not submitted and not cleared:
                    continue  # left blank: keep the current value
            elif key not in self.changed_data and name in merged:
                continue
            if name in self.new_config:
                merged[name] = self.new_config[name]
        return merged


def configuration_problem(
    item_class: type[BasePluginItem] | None, instance: PluginInstance | None
) -> str | None:
    """Why an instance's configuration cannot be shown or edited in the admin, or ``None``."""
    if item_class is None:
        return str(
            _(
                "The code of this implementation is not installed or not registered, so its "
                "configuration cannot be shown or changed. The stored configuration is kept. "
                "You can still edit the other fields, disable or delete the instance."
            )
        )
    if instance is None or instance.pk is None:
        return None
    error = instance.get_config_error()
    if error is None or isinstance(error, ConfigFormatError):
        return None
    problem = key_setting_problem()
    if problem is not None:
        return str(
            _(
                "The stored configuration cannot be read because the FIELD_ENCRYPTION_KEY "
                "setting is missing or malformed (%(problem)s). Fix the setting; the "
                "configuration is kept as it is. You can still edit the other fields, disable "
                "or delete the instance."
            )
            % {"problem": problem}
        )
    return str(
        _(
            "The stored configuration cannot be decrypted with the configured keys "
            "(FIELD_ENCRYPTION_KEY), so it cannot be shown or changed here. It is kept as "
            "it is. You can still edit the other fields, disable or delete the instance."
        )
    )


def configuration_to_replace(instance: PluginInstance | None) -> bool:
    """Whether the stored configuration decrypts but is not a JSON object (so is entered again)."""
    if instance is None or instance.pk is None:
        return False
    return isinstance(instance.get_config_error(), ConfigFormatError)


def instance_form_class(item: PluginItem | None) -> type[PluginInstanceForm]:
    """The admin form class for instances of ``item`` (``None``: metadata only)."""
    item_class = item.get_item_class() if item is not None else None
    attrs: dict[str, Any] = {
        "plugin_item": item,
        "item_class": item_class,
        "__module__": __name__,
    }
    configuration = item_class.configuration if item_class is not None else None
    if configuration is not None:
        secret = configuration.get_secret_fields()
        for name, field in configuration.form_class.base_fields.items():
            copied = copy.deepcopy(field)
            # The label the configuration form would show, not one made from "config-<name>".
            copied.label = field.label if field.label is not None else pretty_name(name)
            if name in secret:
                attrs[config_field_name(name)] = _write_only(copied)
                if field.required:
                    continue  # replaced, never cleared
                attrs[clear_field_name(name)] = forms.BooleanField(
                    # Built per request, so this is in the editor's language.
                    label=_("Clear the stored value of “%(label)s”") % {"label": copied.label},
                    required=False,
                )
            else:
                attrs[config_field_name(name)] = copied
    return type("PluginInstanceForm", (PluginInstanceForm,), attrs)
