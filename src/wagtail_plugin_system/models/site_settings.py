"""Per-site plugin choices: a Wagtail site setting mapping plugin types to instances.

Under **Settings > Plugins**, editors pick, per site, the instance each plugin
type uses. ``get_plugin_instance(T, site=...)`` and
``get_plugin_instance(T, request=...)`` honour it, and fall back to the normal
selection when the site has no choice for the type or its choice cannot be
used (disabled, code missing, configuration unreadable).

Requires ``wagtail.contrib.settings`` in ``INSTALLED_APPS`` (a system check
says so when it is missing). The admin's form and panels for them are in
:mod:`wagtail_plugin_system.admin.site_settings`.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting
from wagtail.models import Orderable

from .plugins import PluginInstance, PluginType
from .querysets import InvalidatingQuerySet

__all__ = ["PluginSiteChoice", "PluginSiteSettings"]


@register_setting(icon="plug")
class PluginSiteSettings(BaseSiteSetting, ClusterableModel):
    """The plugin instance each plugin type uses on one site (one row per type)."""

    objects = InvalidatingQuerySet["PluginSiteSettings"].as_manager()

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
