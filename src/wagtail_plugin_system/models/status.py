"""The status of a plugin instance, and the order selection tries statuses in."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Case, IntegerField, Value, When
from django.utils.translation import pgettext_lazy

if TYPE_CHECKING:
    from django.db.models.expressions import Expression


class PluginStatus(models.TextChoices):
    """Whether and how an instance takes part in selection."""

    #: Selected first.
    ACTIVE = "active", pgettext_lazy("plugin instance status", "Active")
    #: A stand-by: selected only when no active instance is available.
    RESERVED = "reserved", pgettext_lazy("plugin instance status", "Reserved")
    #: Never selected.
    DISABLED = "disabled", pgettext_lazy("plugin instance status", "Disabled")


# The spelling django-plugin-system uses (PluginStatus.Active), so code written for it works.
for _member in PluginStatus:
    setattr(PluginStatus, _member.name.capitalize(), _member)


#: Statuses that take part in selection, in the order they are tried.
SELECTABLE_STATUSES = (PluginStatus.ACTIVE, PluginStatus.RESERVED)


#: The stored selection rank of each status (see ``PluginInstance.selection_rank``).
STATUS_RANKS: dict[str, int] = {
    PluginStatus.ACTIVE: 0,
    PluginStatus.RESERVED: 1,
    PluginStatus.DISABLED: 2,
}


def rank_of(status: object) -> int:
    """The selection rank of a status: ACTIVE 0, RESERVED 1, anything else 2."""
    return STATUS_RANKS.get(str(status), 2)


def status_rank() -> Expression:
    """An expression that sorts ACTIVE before RESERVED before DISABLED (as rank_of)."""
    return Case(
        When(status=PluginStatus.ACTIVE, then=Value(0)),
        When(status=PluginStatus.RESERVED, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
