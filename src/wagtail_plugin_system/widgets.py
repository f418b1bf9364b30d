"""The plugin instance chooser widget, apart from the chooser's views.

Models (the per-site settings' panels) and blocks use the widget; the modal's
views live in :mod:`wagtail_plugin_system.admin.chooser`. Like Wagtail's own
``wagtail.snippets.widgets``, this module imports only Wagtail's widgets, so
importing the models never loads the admin's views. It does not import the
models either (the site settings' models import it): the widget looks the
instance model up in the app registry when it is built.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.apps import apps
from django.db.models import Model
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from wagtail.snippets.widgets import AdminSnippetChooser

__all__ = [
    "TYPE_ID_PARAMETER",
    "TYPE_NAME_PARAMETER",
    "PluginInstanceChooser",
    "instance_display_title",
]

#: URL parameters that narrow the chooser modal to one plugin type.
TYPE_NAME_PARAMETER = "plugin_type"
TYPE_ID_PARAMETER = "plugin_type_id"


def instance_display_title(instance: Any) -> str:
    """How a chosen instance is shown in editors' forms, with a warning when it will not work."""
    values = {"name": instance, "implementation": instance.item}
    if instance.is_disabled:
        return _("%(name)s (%(implementation)s): disabled, so it is not used on the site") % values
    if not instance.is_code_present:
        return (
            _(
                "%(name)s (%(implementation)s): its implementation's code is missing, so it is not "
                "used"
            )
            % values
        )
    return _("%(name)s (%(implementation)s, %(status)s)") % {
        **values,
        "status": instance.get_status_display().lower(),
    }


def _format_model_text(msgid: str, model: Any) -> str:
    # Wagtail's own msgids: translated by Wagtail's catalog.
    return _(msgid) % {"object": model._meta.verbose_name}


_lazy_model_text = lazy(_format_model_text, str)


class PluginInstanceChooser(AdminSnippetChooser):
    """The chooser widget, optionally narrowed to one plugin type.

    ``plugin_type`` (a type name) narrows the modal to that type;
    ``linked_fields`` (Wagtail's chooser option) can narrow it from another
    field of the form, as the per-site settings do with ``plugin_type_id``.
    """

    def __init__(self, plugin_type: str | None = None, **kwargs: Any) -> None:
        self.plugin_type = plugin_type
        kwargs.setdefault("icon", "plug")
        # Not ready yet while the site settings' models are being defined: look it up as is.
        model = apps.get_model("wagtail_plugin_system", "PluginInstance", require_ready=False)
        super().__init__(model, **kwargs)
        # Wagtail formats these once, in the language active when the widget is built: for a
        # widget built at import time (the site settings' panels), always English. Formatted
        # when rendered instead, in the editor's language.
        for attribute, msgid in (
            ("choose_one_text", "Choose %(object)s"),
            ("choose_another_text", "Choose another %(object)s"),
            ("link_to_chosen_text", "Edit this %(object)s"),
        ):
            if attribute not in kwargs:
                setattr(self, attribute, _lazy_model_text(msgid, model))

    def get_chooser_modal_url(self) -> str:
        url: str = super().get_chooser_modal_url()
        if self.plugin_type:
            url += "?" + urlencode({TYPE_NAME_PARAMETER: self.plugin_type})
        return url

    def get_display_title(self, instance: Any) -> str:
        return instance_display_title(instance)

    def get_instance(self, value: Any) -> Model | None:
        """An instance of the widget's type, or ``None`` for any other id (never an error)."""
        if value is None or isinstance(value, self.model):
            return value
        # Only the widget's type: an id of another type's instance shows as nothing chosen.
        instance: Model | None = self.model._default_manager.by_outside_id(
            value, plugin_type=self.plugin_type or None
        )
        return instance
