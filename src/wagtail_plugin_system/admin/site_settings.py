"""The admin of Settings > Plugins: its form, the formset of its rows, and its panels.

Wagtail reads a setting's form and panels from its ``edit_handler``;
:func:`attach` sets it on :class:`~wagtail_plugin_system.models.PluginSiteSettings`
when the app is ready, so the models themselves stay free of admin code.
"""

from __future__ import annotations

from typing import Any

from django.db import models, transaction
from django.utils.translation import gettext_lazy as _
from modelcluster.forms import BaseChildFormSet
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import FieldPanel, InlinePanel, ObjectList

from ..models import PluginSiteChoice, PluginSiteSettings
from ..widgets import TYPE_ID_PARAMETER, PluginInstanceChooser

__all__ = [
    "PluginChoiceFormSet",
    "PluginChoicesPanel",
    "PluginSiteSettingsForm",
    "attach",
    "edit_handler",
]


class PluginSiteSettingsForm(WagtailAdminModelForm):
    """The settings form: a row for a type that already has one is a form error.

    The form's own rows are checked against each other by the formset; this
    checks them against the rows saved since the form was opened (by another
    editor), which the database's unique constraint would otherwise refuse
    with a server error.

    Two saves of one site's choices run one after the other: saving locks the
    site's settings row first. A save that was validated before another one
    committed a row for the same type replaces that row, as the later of two
    edits of one row does; it never meets the row in the unique constraint.
    """

    def clean(self) -> dict[str, Any]:
        cleaned_data: dict[str, Any] = super().clean()
        formset = self.formsets.get("choices")
        if formset is None or self.instance.pk is None or not formset.is_valid():
            return cleaned_data
        clashes, wanted = self._rows_saved_meanwhile(formset)
        for clash in clashes.select_related("plugin_type"):
            wanted[clash.plugin_type_id].add_error(
                "plugin_type",
                _(
                    "This site already has a choice for %(type)s, saved since you opened this "
                    "page (by another editor, perhaps). Reload the page, then change that row "
                    "instead of adding another."
                )
                % {"type": clash.plugin_type},
            )
        return cleaned_data

    def save(self, commit: bool = True) -> Any:
        formset = self.formsets.get("choices")
        if not commit or formset is None or self.instance.pk is None:
            return super().save(commit=commit)
        with transaction.atomic():
            locked = PluginSiteSettings.objects.select_for_update().filter(pk=self.instance.pk)
            list(locked.values_list("pk", flat=True))
            # Rows committed for the same types between this form's validation and the
            # lock: this save is the later edit, so its rows take their place.
            clashes, _wanted = self._rows_saved_meanwhile(formset)
            clashes.delete()
            return super().save(commit=commit)

    def _rows_saved_meanwhile(
        self, formset: Any
    ) -> tuple[models.QuerySet[PluginSiteChoice], dict[Any, Any]]:
        """The stored rows for a type this form saves a row for, that the form does not hold.

        Returns them with the form of each type whose row this form saves.
        """
        in_form = {form.instance.pk for form in formset.forms if form.instance.pk is not None}
        wanted: dict[Any, Any] = {}
        for form in formset.forms:
            if not form.has_changed() and form.instance.pk is None:
                continue
            if formset.can_delete and formset._should_delete_form(form):
                continue
            plugin_type = form.cleaned_data.get("plugin_type")
            if plugin_type is not None:
                wanted[plugin_type.pk] = form
        clashes = PluginSiteChoice.objects.filter(
            setting=self.instance, plugin_type__in=list(wanted)
        ).exclude(pk__in=in_form)
        return clashes, wanted


class PluginChoiceFormSet(BaseChildFormSet):
    """The rows of Settings > Plugins: a second row for the same type is named as such."""

    def get_unique_error_message(self, unique_check: Any) -> str:
        if "plugin_type" in unique_check:
            return str(
                _(
                    "Each plugin type can have only one row. Remove the extra rows for the same "
                    "type."
                )
            )
        message: str = super().get_unique_error_message(unique_check)
        return message

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # One row per type: their order means nothing, so no up, down or drag controls.
        self.can_order = False

    def get_form_error(self) -> str:
        return str(_("This plugin type already has a row above."))


class PluginChoicesPanel(InlinePanel):
    """The inline panel of the site's choices, with :class:`PluginChoiceFormSet`."""

    def get_form_options(self) -> dict[str, Any]:
        options: dict[str, Any] = super().get_form_options()
        options["formsets"][self.relation_name]["formset"] = PluginChoiceFormSet
        return options

    class BoundPanel(InlinePanel.BoundPanel):
        # "Add a choice" in the editor's words, not Wagtail's "Add Choice" / "Ajouter un(e)".
        template_name = "wagtail_plugin_system/panels/choices_panel.html"


def edit_handler() -> ObjectList:
    """The panels of Settings > Plugins, with :class:`PluginSiteSettingsForm` as their form."""
    return ObjectList(
        [
            PluginChoicesPanel(
                "choices",
                panels=[
                    FieldPanel("plugin_type"),
                    # The chooser lists only instances of the type selected in the same row.
                    FieldPanel(
                        "instance",
                        help_text=_("An instance of the plugin type chosen above."),
                        widget=PluginInstanceChooser(
                            linked_fields={
                                TYPE_ID_PARAMETER: {
                                    "match": r"^id_choices-\d+-",
                                    "append": "plugin_type",
                                }
                            }
                        ),
                    ),
                ],
                heading=_("Plugin instance per type"),
                label=_("Choice"),
                help_text=_(
                    "Pick the instance this site uses for a plugin type. Types without a row "
                    "use the usual selection (active before reserved, then priority). If the "
                    "chosen instance is disabled or unavailable, the usual selection is used too."
                ),
            )
        ],
        base_form_class=PluginSiteSettingsForm,
    )


def attach() -> None:
    """Give Settings > Plugins its panels and form, where Wagtail reads them."""
    PluginSiteSettings.edit_handler = edit_handler()
