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

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Case, IntegerField, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.debug import sensitive_variables
from wagtail.models import (
    DraftStateMixin,
    LockableMixin,
    Revision,
    RevisionMixin,
    Workflow,
    WorkflowMixin,
)

from ..core.contracts import BasePluginItem, BasePluginType
from ..core.exceptions import (
    ConfigDecryptionError,
    ConfigFormatError,
    PluginUnavailableError,
    UnknownPluginError,
)
from ..core.ids import parse_id
from ..core.masking import without_secrets
from ..core.redact import describe_exception
from ..core.registry import registry
from ..core.settings import approval_required, drafts_enabled
from ..fields import EncryptedJSONField, key_setting_problem
from .querysets import InvalidatingQuerySet

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
    from django.db.models.expressions import Expression

__all__ = [
    "SELECTABLE_STATUSES",
    "PluginInstance",
    "PluginInstanceQuerySet",
    "PluginItem",
    "PluginStatus",
    "PluginType",
    "rank_of",
    "status_rank",
]


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


class PluginInstanceQuerySet(InvalidatingQuerySet["PluginInstance"]):
    """Queries over instances; selection order lives in :meth:`in_selection_order`.

    Bulk writes keep the columns selection's index reads (``selection_rank``,
    ``item_type``) in step with ``status`` and ``item``, as ``save()`` does.
    """

    def update(self, **kwargs: Any) -> int:
        follow_up: dict[str, Any] = {}
        status = kwargs.get("status")
        if "status" in kwargs:
            if hasattr(status, "resolve_expression"):
                follow_up["selection_rank"] = status_rank()
            else:
                kwargs["selection_rank"] = rank_of(status)
        item = kwargs.get("item", kwargs.get("item_id"))
        if "item" in kwargs or "item_id" in kwargs:
            if isinstance(item, PluginItem):
                kwargs["item_type_id"] = item.plugin_type_id
            elif hasattr(item, "resolve_expression"):
                follow_up["item_type_id"] = models.Subquery(
                    PluginItem.objects.filter(pk=models.OuterRef("item_id")).values(
                        "plugin_type_id"
                    )[:1]
                )
            else:
                kwargs["item_type_id"] = (
                    PluginItem.objects.using(self.db)
                    .filter(pk=cast("int", item))
                    .values_list("plugin_type_id", flat=True)
                    .first()
                )
        if not follow_up:
            return super().update(**kwargs)
        # An expression's new value is known only once written: derive from it afterwards.
        pks = list(self.values_list("pk", flat=True))
        count = super().update(**kwargs)
        type(self)(self.model, using=self.db).filter(pk__in=pks).update(**follow_up)
        return count

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> Any:
        objs = list(objs)
        _derive(objs, using=self.db)
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs: Any, fields: Any, *args: Any, **kwargs: Any) -> int:
        objs = list(objs)
        fields = list(fields)
        if "status" in fields or "item" in fields or "item_id" in fields:
            _derive(objs, using=self.db)
            fields += [name for name in ("selection_rank", "item_type") if name not in fields]
        return super().bulk_update(objs, fields, *args, **kwargs)

    def of_type(self, plugin_type: type[BasePluginType] | str) -> PluginInstanceQuerySet:
        """Instances of a type, given as its class, its name or a former name.

        Rows still carrying a former name (before the next sync renames them)
        are included; a name that is not registered matches that stored name.
        """
        return self.filter(item__plugin_type__name__in=registry.type_names(plugin_type))

    def with_item_and_type(self) -> PluginInstanceQuerySet:
        """The rows with their item and type read in the same query (what displaying needs)."""
        return self.select_related("item__plugin_type")

    def by_outside_id(
        self,
        raw: object,
        plugin_type: type[BasePluginType] | str | PluginType | None = None,
    ) -> PluginInstance | None:
        """The instance an id from outside stands for, with its item and type; else ``None``.

        ``raw`` is whatever arrived (a URL part, a form post, a block value): it
        is parsed by :func:`~wagtail_plugin_system.core.ids.parse_id`, so a
        malformed value (``"²"``, ``"1e3"``, ``None``, a list) is "not found",
        never an error. With ``plugin_type`` (a class, a name or a former name,
        or a :class:`PluginType` row), an instance of another type is not found
        either. One query at most, none for a malformed id.
        """
        pk = parse_id(raw)
        if pk is None:
            return None
        queryset = self.with_item_and_type().filter(pk=pk)
        if isinstance(plugin_type, PluginType):
            queryset = queryset.filter(item__plugin_type=plugin_type)
        elif plugin_type is not None:
            queryset = queryset.of_type(plugin_type)
        return queryset.first()

    def selectable(self) -> PluginInstanceQuerySet:
        """Instances that may be selected: live, active or reserved, with their code synced.

        An instance created as a draft and never published, or one whose expiry time
        has passed, is not live.
        """
        return self.filter(
            # A column of Wagtail's DraftStateMixin, which the type checker cannot see.
            models.Q(live=True),
            status__in=SELECTABLE_STATUSES,
            item__is_missing=False,
            item__plugin_type__is_missing=False,
        )

    def of_type_for_selection(
        self, plugin_type: type[BasePluginType] | str, statuses: Iterable[str]
    ) -> PluginInstanceQuerySet:
        """Instances of a type with one of ``statuses``, as the selection index serves them.

        Filters on the stored ``item_type`` and ``selection_rank``, so that the
        index ``(item_type, selection_rank, priority, created_at, id)`` finds the
        rows and gives them in :meth:`in_selection_order`, however many rows the
        table and the type hold.
        """
        ranks = sorted({rank_of(status) for status in statuses})
        queryset = self.filter(item_type__name__in=registry.type_names(plugin_type))
        if ranks and ranks == list(range(ranks[0], ranks[-1] + 1)):  # a range the index serves
            return queryset.filter(selection_rank__range=(ranks[0], ranks[-1]))
        return queryset.filter(selection_rank__in=ranks)

    def in_selection_order(self) -> PluginInstanceQuerySet:
        """Active before reserved (before disabled), then priority, then creation order.

        Each row comes with its circuit (when it has one), so that selection with
        the database store reads circuits in the same query.
        """
        return (
            self.with_item_and_type()
            .select_related("circuit")
            .order_by("selection_rank", "priority", "created_at", "pk")
        )


class PluginInstanceManager(models.Manager["PluginInstance"]):
    def get_queryset(self) -> PluginInstanceQuerySet:
        return PluginInstanceQuerySet(self.model, using=self._db)

    def of_type(self, plugin_type: type[BasePluginType] | str) -> PluginInstanceQuerySet:
        return self.get_queryset().of_type(plugin_type)

    def with_item_and_type(self) -> PluginInstanceQuerySet:
        return self.get_queryset().with_item_and_type()

    def of_type_for_selection(
        self, plugin_type: type[BasePluginType] | str, statuses: Iterable[str]
    ) -> PluginInstanceQuerySet:
        return self.get_queryset().of_type_for_selection(plugin_type, statuses)

    def by_outside_id(
        self,
        raw: object,
        plugin_type: type[BasePluginType] | str | PluginType | None = None,
    ) -> PluginInstance | None:
        return self.get_queryset().by_outside_id(raw, plugin_type)

    def create_instance(
        self,
        item: type[BasePluginItem] | PluginItem,
        *,
        name: str,
        config: Mapping[str, Any] | None = None,
        validate: bool = True,
        **fields: Any,
    ) -> PluginInstance:
        """Create a configured instance of an item from code.

        ``item`` is a registered item class or its :class:`PluginItem` row
        (run ``pluginsync`` first so the row exists). When ``validate`` is
        true, ``config`` goes through the item's configuration form exactly as
        an editor's input would, and a
        :class:`~django.core.exceptions.ValidationError` names each invalid
        field.
        """
        if isinstance(item, type):
            item_class = item
            try:
                row = PluginItem.objects.using(self._db).get(
                    plugin_type__name=item.plugin_type.name, name=item.name
                )
            except PluginItem.DoesNotExist:
                raise PluginUnavailableError(
                    f"Plugin item {item.plugin_type.name}/{item.name} has no database row yet. "
                    f"Register it and run 'manage.py pluginsync' first.",
                    plugin_class=item,
                    type_name=item.plugin_type.name,
                    item_name=item.name,
                ) from None
        else:
            row = item
            found = row.get_item_class()
            if found is None:
                raise PluginUnavailableError(
                    f"The code of plugin item {row.plugin_type.name}/{row.name} is not "
                    f"registered in this process, so its configuration cannot be checked.",
                    type_name=row.plugin_type.name,
                    item_name=row.name,
                )
            item_class = found
        data = dict(config or {})
        if validate and item_class.configuration is not None:
            data = item_class.configuration.validate(data)
        elif validate and data:
            raise ValidationError(
                _("%(item)s has no configuration, so it cannot store config values.")
                % {"item": f"{item_class.plugin_type.name}/{item_class.name}"},
            )
        fields.setdefault("priority", row.default_priority)
        instance: PluginInstance = self.create(item=row, name=name, config=data, **fields)
        return instance


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
        _derive([self], using=kwargs.get("using") or self._state.db)
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


def _derive(instances: list[PluginInstance], using: str | None) -> None:
    """Set ``selection_rank`` and ``item_type`` from ``status`` and ``item``.

    The item's type comes from the item when it is loaded on the row (it is
    when the item was assigned), else from one query for all the rows that need it.
    """
    unknown: set[int] = set()
    for instance in instances:
        instance.selection_rank = rank_of(instance.status)
        item = instance._state.fields_cache.get("item")
        if item is not None and instance.item_id in (None, item.pk):  # the assigned item
            plugin_type = item._state.fields_cache.get("plugin_type")
            type_id = item.plugin_type_id or getattr(plugin_type, "pk", None)
            if type_id is not None:
                instance.item_type_id = type_id
        elif instance.item_type_id is None and instance.item_id is not None:
            unknown.add(instance.item_id)
    if unknown:
        types = dict(
            PluginItem.objects.using(using)
            .filter(pk__in=unknown)
            .values_list("pk", "plugin_type_id")
        )
        for instance in instances:
            if instance.item_type_id is None and instance.item_id in types:
                instance.item_type_id = types[instance.item_id]


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
