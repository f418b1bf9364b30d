"""StreamField block: content editors pick a plugin instance of one type.

::

    body = StreamField([
        ("newsletter", PluginInstanceChooserBlock(plugin_type="newsletter_signup")),
        ("map", PluginInstanceChooserBlock(plugin_type=MapType, fallback="default")),
    ])

* The chooser lists only instances of the block's type, and the server refuses
  any other instance, an unknown id or a tampered value.
* A served page reads the instances of all its chooser blocks in one query,
  whatever their kinds and depth, and none while plugin data is unchanged
  (:func:`prefetch_plugin_blocks` does the same for other views).
* ``{% include_block %}`` renders the chosen instance's item (see
  :meth:`~wagtail_plugin_system.BasePluginItem.render`). A deleted, disabled
  or unusable instance renders nothing, or, with ``fallback="default"``, the
  type's currently selected instance for the page's site. An item whose
  rendering fails renders nothing either (logged; a preview shows editors a
  notice), never a server error.
* Block templates get ``value`` (the ``PluginInstance`` row, or ``None``) and
  ``plugin`` (the loaded item to render, or ``None``).
* References are recorded in Wagtail's reference index, so an instance's usage
  view lists the pages that use it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django import forms
from django.utils.functional import cached_property
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from wagtail.blocks import (
    BaseStreamBlock,
    BaseStructBlock,
    Block,
    ChooserBlock,
    ListBlock,
    StreamValue,
)
from wagtail.fields import StreamField

from .core.contracts import BasePluginItem, BasePluginType
from .core.exceptions import PluginUnavailableError, UnknownPluginError
from .core.ids import parse_id
from .core.registry import registry
from .instances import get_instances, load
from .models import PluginInstance, PluginStatus, PluginType
from .rendering import render_loaded_item, select_for_page
from .widgets import PluginInstanceChooser

__all__ = ["PluginInstanceChooserBlock", "can_contain_chooser", "prefetch_plugin_blocks"]

logger = logging.getLogger(__name__)

FALLBACKS = (None, "default")


class InstanceOfTypeField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """Says which type the block takes when given an instance of another, not its name.

    The message names no other instance and no other type: an editor who posts
    any id learns only that it is not one of this block's choices.
    """

    def __init__(self, *args: Any, plugin_type_name: str | None = None, **kwargs: Any) -> None:
        self.plugin_type_name = plugin_type_name
        super().__init__(*args, **kwargs)

    def to_python(self, value: Any) -> Any:
        try:
            return super().to_python(value)
        except forms.ValidationError:
            if not self._is_instance_of_another_type(value):
                raise
            raise forms.ValidationError(
                _("This block takes instances of %(expected)s only; choose one of them.")
                % {"expected": self._expected_label()},
                code="invalid_choice",
            ) from None

    def _is_instance_of_another_type(self, value: Any) -> bool:
        if not self.plugin_type_name:
            return False
        raw = value.pk if isinstance(value, PluginInstance) else value
        return PluginInstance.objects.by_outside_id(raw) is not None

    def _expected_label(self) -> str:
        assert self.plugin_type_name is not None
        row = PluginType.objects.filter(name=self.plugin_type_name).first()
        return str(row) if row is not None else self.plugin_type_name


class PluginInstanceChooserBlock(ChooserBlock):
    """Choose a plugin instance of one type; render its item.

    :param plugin_type: the plugin type, as its class or its name. Stored in
        migrations by name.
    :param fallback: ``None`` (default): an unusable choice renders nothing.
        ``"default"``: it renders the type's selected instance instead.
    """

    target_model = "wagtail_plugin_system.PluginInstance"

    def __init__(
        self,
        plugin_type: type[BasePluginType] | str | None = None,
        fallback: str | None = None,
        **kwargs: Any,
    ) -> None:
        if plugin_type is not None and not isinstance(plugin_type, str):
            plugin_type = plugin_type.name
        if fallback not in FALLBACKS:
            raise ValueError(
                f"PluginInstanceChooserBlock(fallback={fallback!r}) is not supported; use None "
                f"or 'default'."
            )
        if fallback == "default" and plugin_type is None:
            raise ValueError("fallback='default' needs a plugin_type to fall back to.")
        self.plugin_type_name: str | None = plugin_type
        self.fallback = fallback
        super().__init__(**kwargs)

    def deconstruct(self) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
        path, args, kwargs = super().deconstruct()
        kwargs = dict(kwargs)
        if args:
            args = (self.plugin_type_name, *args[1:])
        elif "plugin_type" in kwargs:
            kwargs["plugin_type"] = self.plugin_type_name
        return path, args, kwargs

    # -- choosing ---------------------------------------------------------------------

    def get_queryset(self) -> Any:
        queryset = PluginInstance.objects.with_item_and_type()
        if self.plugin_type_name:
            queryset = queryset.of_type(self.plugin_type_name)
        return queryset

    @cached_property
    def widget(self) -> forms.Widget:
        return PluginInstanceChooser(plugin_type=self.plugin_type_name)

    @cached_property
    def field(self) -> forms.ModelChoiceField:  # type: ignore[type-arg]
        return InstanceOfTypeField(
            plugin_type_name=self.plugin_type_name,
            queryset=self.get_queryset(),
            widget=self.widget,
            required=self._required,
            validators=self._validators,
            help_text=self._help_text,
        )

    def value_from_form(self, value: Any) -> Any:
        """The submitted id as an instance; anything unparsable stays as is for clean()."""
        if value is None or isinstance(value, PluginInstance):
            return value
        found = PluginInstance.objects.by_outside_id(value, plugin_type=self.plugin_type_name)
        return value if found is None else found

    # -- loading values -----------------------------------------------------------------

    def to_python(self, value: Any) -> PluginInstance | None:
        return self.bulk_to_python([value])[0]

    def bulk_to_python(self, values: Iterable[Any]) -> list[PluginInstance | None]:
        """The block's values as instances, in order, with ``None`` for missing ones.

        Rows come from :func:`~wagtail_plugin_system.instances.get_instances`: at
        most one query, none for rows already read since plugin data last changed
        (for instance by :func:`prefetch_plugin_blocks`, which a served page runs
        for all its chooser blocks at once). An instance of another type is
        ``None`` too. The rows are shared with the memo (and between blocks that
        chose the same instance): read-only.
        """
        keys = [parse_id(value) for value in values]
        found = get_instances(key for key in keys if key is not None)
        names = registry.type_names(self.plugin_type_name) if self.plugin_type_name else None
        result: list[PluginInstance | None] = []
        for key in keys:
            instance = found.get(key) if key is not None else None
            if instance is not None and names is not None and not _of(instance, names):
                instance = None
            result.append(instance)
        return result

    # -- rendering ------------------------------------------------------------------------

    def resolve(
        self, value: PluginInstance | None, parent_context: Mapping[str, Any] | None = None
    ) -> BasePluginItem | None:
        """The item to render for ``value``: the chosen one, the fallback, or ``None``."""
        if value is not None and value.status != PluginStatus.DISABLED and value.live:
            try:
                return load(value)
            except PluginUnavailableError as exc:
                logger.error("Plugin block cannot use instance %s: %s", value.pk, exc)
        if self.fallback == "default" and self.plugin_type_name:
            request = parent_context.get("request") if parent_context is not None else None
            try:
                return select_for_page(self.plugin_type_name, request, "A plugin block")
            except UnknownPluginError:
                logger.warning(
                    "Plugin block falls back to type %r, which is not registered.",
                    self.plugin_type_name,
                )
        return None

    def get_context(
        self, value: PluginInstance | None, parent_context: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context(value, parent_context=parent_context)
        context["plugin"] = self.resolve(value, parent_context)
        return context

    def render_basic(
        self, value: PluginInstance | None, context: Mapping[str, Any] | None = None
    ) -> SafeString:
        return render_loaded_item(self.resolve(value, context), context)

    # -- headless sites ------------------------------------------------------------------

    def get_api_representation(
        self, value: PluginInstance | None, context: Mapping[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """The chosen instance as Wagtail's API v2 and GraphQL give it, without secrets.

        ``id``, ``type`` and ``item`` (names), ``name``, ``status`` and ``config``:
        the configuration without its secret fields. The instance is the one the
        block would render (the fallback when it has one); ``None`` when it would
        render nothing (deleted, disabled, code missing, configuration unreadable).
        """
        plugin = self.resolve(value, context)
        instance = plugin.plugin_instance if plugin is not None else None
        if not isinstance(instance, PluginInstance):
            return None
        return {
            "id": instance.pk,
            "type": instance.item.plugin_type.name,
            "item": instance.item.name,
            "name": instance.name,
            "status": instance.status,
            "config": instance.public_config(),
        }

    class Meta:
        icon = "plug"


def _of(instance: PluginInstance, names: tuple[str, ...]) -> bool:
    return instance.item.plugin_type.name in names


# -- one query for a page ---------------------------------------------------------------------


def prefetch_plugin_blocks(*sources: Any) -> None:
    """Read the instances chosen in every chooser block of ``sources`` in one query.

    Wagtail converts a stream's blocks one block name at a time, so a page with
    chooser blocks of four kinds would read instances four times. Call this
    before rendering (served pages do it already: the package's
    ``before_serve_page`` hook calls it with the page) and every chooser block
    in ``sources`` finds its instance read, at any depth (in struct, list and
    nested stream blocks): one query for all, none when they were read since
    plugin data last changed. Content whose block types cannot hold a chooser
    block is skipped unread (decided once per block type).

    :param sources: model instances (all their ``StreamField`` s are read;
        deferred fields are left alone) or ``StreamValue`` s. Values already
        converted to Python are skipped, as they need no query.
    """
    found: set[int] = set()
    for source in sources:
        if isinstance(source, StreamValue):
            _collect_stream_value(source, found)
            continue
        meta = getattr(source, "_meta", None)
        if meta is None:
            continue
        deferred = source.get_deferred_fields()
        for field in meta.concrete_fields:
            if (
                isinstance(field, StreamField)
                and field.attname not in deferred
                and can_contain_chooser(field.stream_block)
            ):
                value = getattr(source, field.attname)
                if isinstance(value, StreamValue):
                    _collect_stream_value(value, found)
    if found:
        get_instances(found)


#: id(block) -> (block, whether a chooser block can be inside it); the block is kept.
_CAN_CONTAIN: dict[int, tuple[Block, bool]] = {}


def can_contain_chooser(block: Block) -> bool:
    """Whether a chooser block can be inside ``block`` (or is it); decided once per block."""
    memoised = _CAN_CONTAIN.get(id(block))
    if memoised is not None and memoised[0] is block:
        return memoised[1]
    if isinstance(block, PluginInstanceChooserBlock):
        found = True
    elif isinstance(block, BaseStreamBlock | BaseStructBlock):
        found = any(can_contain_chooser(child) for child in block.child_blocks.values())
    elif isinstance(block, ListBlock):
        found = can_contain_chooser(block.child_block)
    else:
        found = False
    _CAN_CONTAIN[id(block)] = (block, found)
    return found


def _collect_stream_value(value: StreamValue, found: set[int]) -> None:
    if not value.is_lazy:  # its blocks hold Python values already
        return
    if not can_contain_chooser(value.stream_block):  # nothing to find: skip the content
        return
    raw_data = value.raw_data
    items = []
    for index in range(len(raw_data)):
        try:
            items.append(raw_data[index])
        except Exception:  # data Wagtail cannot read either: its own error, when it reads it
            continue
    _collect(value.stream_block, items, found)


def _collect(block: Block, raw: Any, found: set[int]) -> None:
    """Add the instance ids chosen in ``raw`` (stored data of ``block``) to ``found``."""
    if isinstance(block, PluginInstanceChooserBlock):
        pk = parse_id(raw)
        if pk is not None:
            found.add(pk)
    elif isinstance(block, BaseStreamBlock):
        for child in raw if isinstance(raw, list) else ():
            kind = child.get("type") if isinstance(child, dict) else None
            if isinstance(kind, str) and kind in block.child_blocks:
                _collect(block.child_blocks[kind], child.get("value"), found)
    elif isinstance(block, BaseStructBlock):
        if isinstance(raw, dict):
            for name, child_block in block.child_blocks.items():
                _collect(child_block, raw.get(name), found)
    elif isinstance(block, ListBlock):
        for item in raw if isinstance(raw, list) else ():
            in_block_format = (  # as Wagtail tells the list formats apart
                isinstance(item, dict)
                and item.get("type") == "item"
                and "id" in item
                and "value" in item
            )
            _collect(block.child_block, item["value"] if in_block_format else item, found)
