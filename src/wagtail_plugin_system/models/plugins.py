"""The plugin models: the registry as synced, and the configured instances.

* :class:`PluginType` and :class:`PluginItem` mirror the code registry; they
  are written by ``pluginsync`` (see :mod:`.sync`) and matched by name. When
  their code disappears they are kept and marked missing, never silently
  deleted.
* :class:`PluginInstance` is what editors create: an item plus its encrypted
  configuration, a status and a priority. It has Wagtail's revisions, drafts
  with scheduled publishing, locking and workflows; its row is always the live
  state (what selection reads), a draft lives only in a revision, and a
  revision holds the configuration as the same ciphertext the row does.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables
from wagtail.models import (
    DraftStateMixin,
    LockableMixin,
    Revision,
    RevisionMixin,
    Workflow,
    WorkflowMixin,
)

from ..core.contracts import BasePluginItem
from ..core.exceptions import (
    ConfigDecryptionError,
    ConfigFormatError,
    PluginUnavailableError,
)
from ..core.masking import without_secrets
from ..core.redact import describe_exception
from ..core.settings import approval_required, drafts_enabled
from ..fields import EncryptedJSONField, key_setting_problem
from .instance_queries import (
    PluginInstanceManager,
    PluginInstanceQuerySet,
    derive_selection_columns,
)
from .registry_rows import PluginItem, PluginType, RegistryMirror
from .status import SELECTABLE_STATUSES, PluginStatus, rank_of, status_rank

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

__all__ = [
    "SELECTABLE_STATUSES",
    "PluginInstance",
    "PluginInstanceQuerySet",
    "PluginItem",
    "PluginStatus",
    "PluginType",
    "RegistryMirror",
    "rank_of",
    "status_rank",
]


logger = logging.getLogger(__name__)


class PluginInstance(
    WorkflowMixin,
    DraftStateMixin,
    LockableMixin,
    RevisionMixin,
    models.Model,
):
    """A configured instance of a plugin item: what application code gets to use.

    Its columns are the live configuration. Edits made in the admin are
    revisions (:meth:`save_live_revision` when they go live at once, Wagtail's
    ``save_revision()`` and ``publish()`` for drafts); a revision's content holds
    the configuration as ciphertext, never as data.
    """

    item = models.ForeignKey(
        PluginItem,
        on_delete=models.PROTECT,
        related_name="instances",
        verbose_name=_("implementation"),
    )
    name = models.CharField(_("name"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=PluginStatus.choices,
        default=PluginStatus.ACTIVE,
        db_index=True,
        help_text=_(
            "Active instances are used first, reserved ones only when no active one is "
            "available; disabled ones never."
        ),
    )
    priority = models.IntegerField(
        _("priority"),
        default=100,
        help_text=_("Among instances of the same status, lower numbers are used first."),
    )
    #: ``status`` as a number in selection order (see :func:`rank_of`); kept in step by
    #: ``save()`` and the queryset's bulk writes, for selection's index.
    selection_rank = models.PositiveSmallIntegerField(
        _("selection rank"), default=0, editable=False
    )
    #: The item's plugin type, stored for selection's index; kept in step like selection_rank.
    item_type = models.ForeignKey(
        PluginType,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        db_index=False,  # the selection index starts with it
        verbose_name=_("plugin type"),
    )
    config = EncryptedJSONField(_("configuration"), default=dict)
    last_check_at = models.DateTimeField(_("last checked at"), null=True, blank=True)
    last_check_ok = models.BooleanField(_("last check passed"), null=True, blank=True)
    last_check_message = models.CharField(_("last check result"), max_length=500, blank=True)
    is_default = models.BooleanField(
        _("created by plugin sync"),
        default=False,
        editable=False,
        help_text=_("Created automatically for an implementation with nothing to configure."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = PluginInstanceManager()

    class Meta:
        ordering = ["item__plugin_type__name", "priority", "created_at", "pk"]
        verbose_name = _("plugin instance")
        verbose_name_plural = _("plugin instances")
        indexes = [
            models.Index(fields=["item", "status", "priority"], name="wps_instance_selection"),
            models.Index(
                fields=["item_type", "selection_rank", "priority", "created_at", "id"],
                name="wps_instance_selection_order",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def __getstate__(self) -> dict[str, Any]:
        """Pickle (for caches) with the configuration encrypted, never in plaintext."""
        state: dict[str, Any] = super().__getstate__()
        if "config" in state:
            field = cast("models.Field[Any, Any]", self._meta.get_field("config"))
            state["config"] = field.value_from_object(self)
        return state

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save, with the columns selection's index reads derived from ``status`` and ``item``."""
        derive_selection_columns([self], using=kwargs.get("using") or self._state.db)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            update_fields = set(update_fields)
            if "status" in update_fields:
                update_fields.add("selection_rank")
            if "item" in update_fields or "item_id" in update_fields:
                update_fields.add("item_type")
            kwargs["update_fields"] = update_fields
        super().save(*args, **kwargs)

    # -- revisions, drafts and workflows ------------------------------------------------

    def serializable_data(self) -> dict[str, Any]:
        """What a revision stores: the columns, with the configuration as its ciphertext."""
        data: dict[str, Any] = super().serializable_data()
        field = cast("EncryptedJSONField", self._meta.get_field("config"))
        if self.__dict__.get("config", ()) is None:
            data["config"] = None
        else:
            data["config"] = field.value_to_string(self)
        return data

    def with_content_json(self, content: dict[str, Any]) -> PluginInstance:
        """The instance as a revision holds it, with what belongs to the row kept.

        The revision's values of the configuration (decrypted on access), name,
        description, status, priority and schedule; the row's implementation,
        health-check result, origin and creation time.
        """
        obj: PluginInstance = super().with_content_json(content)
        for name in (
            "item_id",
            "last_check_at",
            "last_check_ok",
            "last_check_message",
            "is_default",
            "created_at",
        ):
            setattr(obj, name, getattr(self, name))
        return obj

    def clean_fields(self, exclude: Any = None) -> None:
        # The configuration is checked by its implementation's form, never here (reading it
        # would decrypt it, and an empty one is valid).
        super().clean_fields(exclude={*(exclude or ()), "config"})

    @transaction.atomic
    def save_live_revision(
        self,
        *,
        user: AbstractBaseUser | AnonymousUser | None = None,
        changed: bool = True,
        previous_revision: Revision | None = None,
        log_action: bool | str = True,
    ) -> Revision:
        """Record the saved row as a revision that is live at once (no draft).

        What the admin does on Save when drafts are off for the instance's type:
        the row was saved already, so nothing of it is written again but the
        revision bookkeeping.
        """
        revision: Revision = self.save_revision(
            user=user,
            changed=changed,
            previous_revision=previous_revision,
            log_action=log_action,
            clean=False,
        )
        now = timezone.now()
        self.live = True
        self.expired = False
        self.live_revision = revision
        self.has_unpublished_changes = False
        self.last_published_at = now
        if getattr(self, "first_published_at", None) is None:
            self.first_published_at = now
        self.save(
            update_fields=[
                "live",
                "expired",
                "live_revision",
                "has_unpublished_changes",
                "last_published_at",
                "first_published_at",
            ]
        )
        return revision

    @transaction.atomic
    def record_change(
        self, fields: list[str], *, user: AbstractBaseUser | AnonymousUser | None = None
    ) -> Revision:
        """Record in the revisions a change of ``fields`` already saved to the row.

        What a bulk action calls after changing a status or a priority: the
        saved row becomes a live revision, so the history shows the change and a
        comparison or a revert starts from it. When a draft waits to be
        published, it gets the change too (as a new draft revision, the rest of
        it as the editor left it), so publishing it later does not undo the
        change. The caller logs the action itself.
        """
        latest: Revision | None = self.get_latest_revision()
        if self.has_unpublished_changes and latest and latest.pk != self.live_revision_id:
            try:
                draft = cast("PluginInstance", latest.as_object())
            except Exception as exc:  # a draft no code reads any more: it stays in the history
                logger.warning(
                    "The draft of plugin instance %s (revision %s) could not be read (%s); "
                    "the change is recorded on its own.",
                    self.pk,
                    latest.pk,
                    type(exc).__name__,
                )
            else:
                for name in fields:
                    setattr(draft, name, getattr(self, name))
                # The draft saves the row's revision fields; ``self`` is not read again.
                drafted: Revision = draft.save_revision(user=user, log_action=False, clean=False)
                return drafted
        if self.live:
            return self.save_live_revision(user=user, log_action=False)
        # Expired, or never published: recorded, and left as it is (not made live).
        revision: Revision = self.save_revision(
            user=user, log_action=False, clean=False, changed=False
        )
        return revision

    @property
    def approved_schedule(self) -> bool:
        """Whether a version waits to go live; read from the listing's annotation when there."""
        annotated = self.__dict__.get("has_approved_schedule")
        if annotated is not None:
            return bool(annotated)
        return bool(super().approved_schedule)

    @property
    def drafts_enabled(self) -> bool:
        """Whether the admin saves drafts of this instance (``DRAFTS``, ``APPROVAL``)."""
        return drafts_enabled(self.item.plugin_type.name)

    def get_workflow(self) -> Workflow | None:
        """The workflow for plugin instances, for the types ``APPROVAL`` names only."""
        if self.item_id is None or not approval_required(self.item.plugin_type.name):
            return None
        workflow: Workflow | None = super().get_workflow()
        return workflow

    # -- the instance -------------------------------------------------------------------

    @property
    def plugin_type(self) -> PluginType:
        """The :class:`PluginType` row of this instance's item."""
        return self.item.plugin_type

    def get_item_class(self) -> type[BasePluginItem] | None:
        """The registered item class of this instance, or ``None`` when its code is missing."""
        return self.item.get_item_class()

    @property
    def is_disabled(self) -> bool:
        """Whether the instance is disabled, so never selected."""
        return self.status == PluginStatus.DISABLED

    @property
    def is_code_present(self) -> bool:
        """Whether this process can load the instance's code."""
        return self.get_item_class() is not None

    def get_config_error(self) -> PluginUnavailableError | None:
        """Why the stored configuration cannot be used, or ``None`` when it can.

        A :class:`~wagtail_plugin_system.core.exceptions.ConfigDecryptionError`
        when it cannot be decrypted (no key fits, or ``FIELD_ENCRYPTION_KEY`` is
        missing or malformed), a
        :class:`~wagtail_plugin_system.core.exceptions.ConfigFormatError` when it
        decrypts to something other than a JSON object.
        """
        try:
            config = self.config
        except PluginUnavailableError as exc:
            return exc
        if not isinstance(config, dict):
            return ConfigFormatError(
                f"Plugin instance {self.pk} ({self.name!r}) has a configuration that is a JSON "
                f"{_json_kind(config)}, not an object. Open it in the admin and save its "
                f"configuration again; until then it is not used.",
                instance_id=self.pk,
            )
        return None

    @property
    def has_readable_config(self) -> bool:
        """Whether the stored configuration can be decrypted and is a JSON object."""
        return self.get_config_error() is None

    def public_config(self) -> dict[str, Any]:
        """The configuration without its secret fields: what templates get.

        Empty when the item's code is not registered (its secret fields are not
        known then) or the configuration cannot be read.
        """
        if self.get_config_error() is not None:
            return {}
        item_class = self.get_item_class()
        secret = item_class.get_secret_fields() if item_class is not None else None
        return without_secrets(self.config, secret)

    @sensitive_variables()
    def load_instance(self) -> BasePluginItem:
        """Return the item object, carrying this instance's configuration.

        Raises :class:`~wagtail_plugin_system.core.exceptions.PluginUnavailableError`
        when the item's code is not registered in this process or the item
        cannot be made from the configuration (its ``__init__`` raised; the
        message names the error, with configuration values blanked out), and its
        subclasses :class:`~wagtail_plugin_system.core.exceptions.ConfigDecryptionError`
        when the configuration cannot be decrypted (an item with nothing to
        configure gets an empty configuration when ``FIELD_ENCRYPTION_KEY`` is
        missing or malformed) and
        :class:`~wagtail_plugin_system.core.exceptions.ConfigFormatError` when it
        is not a JSON object.
        """
        item_class = self.get_item_class()
        if item_class is None:
            raise PluginUnavailableError(
                f"Plugin instance {self.pk} ({self.name!r}) uses implementation "
                f"{self.item.plugin_type.name}/{self.item.name}, whose code is not registered in "
                f"this process. Install and register it, or disable the instance.",
                instance_id=self.pk,
                type_name=self.item.plugin_type.name,
                item_name=self.item.name,
            )
        problem = self.get_config_error()
        config: dict[str, Any]
        if problem is None:
            config = self.config
        elif (
            item_class.configuration is None
            and isinstance(problem, ConfigDecryptionError)
            and key_setting_problem() is not None
        ):
            # Nothing to configure: what is stored is not needed, so an unusable
            # FIELD_ENCRYPTION_KEY does not stop the item.
            config = {}
        else:
            raise problem
        try:
            return item_class(config=config, plugin_instance=self)
        except Exception as exc:
            error = describe_exception(exc, config)
        raise PluginUnavailableError(
            f"Plugin instance {self.pk} ({self.name!r}) cannot be loaded: creating its "
            f"implementation {item_class.plugin_type.name}/{item_class.name} raised {error}. "
            f"Fix the implementation's __init__() or the instance's configuration, or disable "
            f"the instance.",
            plugin_class=item_class,
            instance_id=self.pk,
            type_name=item_class.plugin_type.name,
            item_name=item_class.name,
        )


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return type(value).__name__
