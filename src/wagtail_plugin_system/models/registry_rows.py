"""The rows that mirror the code registry: :class:`PluginType` and :class:`PluginItem`.

``pluginsync`` writes them (see :mod:`wagtail_plugin_system.sync`) and matches them
by name; when their code disappears they are kept and marked missing, never silently
deleted.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from ..core.contracts import BasePluginItem, BasePluginType
from ..core.exceptions import (
    UnknownPluginError,
)
from ..core.registry import registry
from .querysets import InvalidatingQuerySet


class RegistryMirror(models.Model):
    """Fields shared by the rows that mirror registered code."""

    name = models.CharField(_("name"), max_length=100)
    label = models.CharField(_("label"), max_length=255, blank=True)
    description = models.TextField(_("description"), blank=True)
    is_missing = models.BooleanField(
        _("code missing"),
        default=False,
        help_text=_("Its code was not registered at the last plugin sync."),
    )
    missing_since = models.DateTimeField(_("missing since"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        # The code's label when it is registered: it may be translated (gettext_lazy);
        # the stored one is the source text, kept for when the code is gone.
        code = self._code_class()
        label = code.label if code is not None else None
        return str(label or self.label or self.name)

    @property
    def display_description(self) -> str:
        """The description in the active language (the code's, else the stored one)."""
        code = self._code_class()
        description = code.description if code is not None else None
        return str(description or self.description)

    def _code_class(self) -> type[BasePluginType] | type[BasePluginItem] | None:
        """The registered class, when it can be found without a query."""
        return None


class PluginType(RegistryMirror):
    """A plugin type as synced from the registry, identified by its name."""

    objects = InvalidatingQuerySet["PluginType"].as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("plugin type")
        verbose_name_plural = _("plugin types")
        constraints = [
            models.UniqueConstraint(fields=["name"], name="wagtail_plugin_system_type_name"),
        ]

    def get_type_class(self) -> type[BasePluginType] | None:
        """The registered class of this type in this process, or ``None``."""
        try:
            return registry.get_type_entry(self.name).type_class
        except UnknownPluginError:
            return None

    @property
    def is_code_present(self) -> bool:
        """Whether this process has the type's code registered."""
        return self.get_type_class() is not None

    def _code_class(self) -> type[BasePluginType] | None:
        return self.get_type_class()


class PluginItem(RegistryMirror):
    """A plugin item (an implementation) as synced from the registry."""

    plugin_type = models.ForeignKey(
        PluginType,
        on_delete=models.PROTECT,
        related_name="items",
        verbose_name=_("plugin type"),
    )
    default_priority = models.IntegerField(_("default priority"), default=100)
    is_configurable = models.BooleanField(_("configurable"), default=False)

    objects = InvalidatingQuerySet["PluginItem"].as_manager()

    class Meta:
        ordering = ["plugin_type__name", "name"]
        verbose_name = _("plugin implementation")
        verbose_name_plural = _("plugin implementations")
        constraints = [
            models.UniqueConstraint(
                fields=["plugin_type", "name"], name="wagtail_plugin_system_item_name"
            ),
        ]

    def get_item_class(self) -> type[BasePluginItem] | None:
        """The registered class of this item in this process, or ``None``."""
        return registry.get_item(self.plugin_type.name, self.name)

    @property
    def is_code_present(self) -> bool:
        """Whether this process has the item's code registered."""
        return self.get_item_class() is not None

    def _code_class(self) -> type[BasePluginItem] | None:
        if not PluginItem._meta.get_field("plugin_type").is_cached(self):
            return None  # its type is not loaded: no query just to say its name
        return self.get_item_class()
