"""Per-site plugin choices: a Wagtail site setting mapping plugin types to instances.

Under **Settings > Plugins**, editors pick, per site, the instance each plugin
type uses. ``get_plugin_instance(T, site=...)`` and
``get_plugin_instance(T, request=...)`` honour it, and fall back to the normal
selection when the site has no choice for the type or its choice cannot be
used (disabled, code missing, configuration unreadable).

Requires ``wagtail.contrib.settings`` in ``INSTALLED_APPS`` (a system check
says so when it is missing).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from modelcluster.forms import BaseChildFormSet
from modelcluster.models import ClusterableModel
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import FieldPanel, InlinePanel
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting
from wagtail.models import Orderable

from ..widgets import TYPE_ID_PARAMETER, PluginInstanceChooser
from .plugins import PluginInstance, PluginType
from .querysets import InvalidatingQuerySet

__all__ = ["PluginSiteChoice", "PluginSiteSettings"]


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


@register_setting(icon="plug")
class PluginSiteSettings(BaseSiteSetting, ClusterableModel):
    """The plugin instance each plugin type uses on one site (one row per type)."""

    objects = InvalidatingQuerySet["PluginSiteSettings"].as_manager()

    base_form_class = PluginSiteSettingsForm

    panels = [
        PluginChoicesPanel(
            "choices",
            heading=_("Plugin instance per type"),
            label=_("Choice"),
            help_text=_(
                "Pick the instance this site uses for a plugin type. Types without a row use "
                "the usual selection (active before reserved, then priority). If the chosen "
                "instance is disabled or unavailable, the usual selection is used too."
            ),
        )
    ]

    class Meta:
        verbose_name = _("plugins")
        verbose_name_plural = _("plugins")

    def __str__(self) -> str:
        # Wagtail's "plugins for Second site" starts with the lowercase verbose name.
        return str(_("Plugins for %(site)s") % {"site": self.site})


class PluginSiteChoice(Orderable):
    """One row of :class:`PluginSiteSettings`: plugin type -> instance."""

    setting = ParentalKey(PluginSiteSettings, on_delete=models.CASCADE, related_name="choices")
    plugin_type: models.ForeignKey[PluginType, PluginType] = models.ForeignKey(
        PluginType,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("plugin type"),
    )
    instance: models.ForeignKey[PluginInstance, PluginInstance] = models.ForeignKey(
        PluginInstance,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("plugin instance"),
        help_text=_("An instance of the plugin type on the left."),
    )

    objects = InvalidatingQuerySet["PluginSiteChoice"].as_manager()

    panels = [
        FieldPanel("plugin_type"),
        # The chooser lists only instances of the type selected in the same row.
        FieldPanel(
            "instance",
            help_text=_("An instance of the plugin type chosen above."),
            widget=PluginInstanceChooser(
                linked_fields={
                    TYPE_ID_PARAMETER: {"match": r"^id_choices-\d+-", "append": "plugin_type"}
                }
            ),
        ),
    ]

    class Meta(Orderable.Meta):
        verbose_name = _("plugin choice")
        verbose_name_plural = _("plugin choices")
        constraints = [
            models.UniqueConstraint(
                fields=["setting", "plugin_type"], name="wagtail_plugin_system_one_choice_per_type"
            )
        ]

    def __str__(self) -> str:
        return f"{self.plugin_type}: {self.instance}"

    def clean(self) -> None:
        super().clean()
        if self.instance_id is None or self.plugin_type_id is None:
            return
        if self.instance.item.plugin_type_id != self.plugin_type_id:
            raise ValidationError(
                {
                    "instance": _(
                        "%(instance)s is an instance of %(other)s, not of %(type)s. Choose an "
                        "instance of %(type)s."
                    )
                    % {
                        "instance": self.instance,
                        "other": self.instance.item.plugin_type,
                        "type": self.plugin_type,
                    }
                }
            )
