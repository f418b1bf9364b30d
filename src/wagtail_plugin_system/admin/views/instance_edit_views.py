"""Admin views that create and edit plugin instances, and the form they show.

* creating is two steps: :class:`~.implementations.ChooseImplementationView`
  lists the implementations whose code is present, grouped by type, and
  :class:`InstanceCreateView` shows one form with the instance's own fields and
  the implementation's configuration;
* :class:`InstanceEditView` shows the same form, with secrets write-only;
* :class:`InstanceRevertView` restores a revision, configuration and secrets included.

Every save makes a revision. Drafts are opt-in per type (the ``DRAFTS`` and
``APPROVAL`` settings): without them, Save writes the row and records the
revision as live, as if the model had no drafts; with them, the views work as
Wagtail's snippet views do (Save draft, Publish, scheduling, workflows).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from wagtail.admin import messages
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    HelpPanel,
    MultiFieldPanel,
    ObjectList,
    Panel,
    PublishingPanel,
)
from wagtail.admin.views.generic import RevisionsRevertMixin
from wagtail.snippets.views import snippets as snippet_views

from ...core.ids import parse_id
from ...core.settings import approval_required, drafts_enabled
from ...models import PluginInstance, PluginItem
from ..forms import (
    clear_field_name,
    config_field_name,
    configuration_problem,
    configuration_to_replace,
    instance_form_class,
)
from ..permissions import instance_url
from .deleted_instance import DeletedInstanceMixin

__all__ = [
    "ChangeManagementMixin",
    "InstanceCreateView",
    "InstanceEditView",
    "InstanceFormMixin",
    "InstanceRevertView",
    "build_instance_panel",
    "warning_block",
]


def warning_block(text: str) -> str:
    """Wagtail's warning box, with its icon (the box leaves room for one)."""
    return render_to_string(
        "wagtailadmin/shared/help_block.html",
        {"status": "warning", "children": format_html("<p>{}</p>", text)},
    )


def _status_row() -> FieldRowPanel:
    return FieldRowPanel([FieldPanel("status"), FieldPanel("priority")])


@sensitive_variables()
def build_instance_panel(item: PluginItem | None, instance: PluginInstance | None) -> Panel:
    """The edit handler for an instance of ``item``: its own fields, then its configuration."""
    form_class = instance_form_class(item)
    children: list[Panel] = []
    if item is not None:
        children.append(
            HelpPanel(
                content=format_html(
                    "<p><strong>{}</strong> ({})</p><p>{}</p>",
                    item,
                    item.plugin_type,
                    item.display_description,
                ),
                heading=_("Implementation"),
            )
        )
    children += [FieldPanel("name"), FieldPanel("description"), _status_row()]
    item_class = form_class.item_class
    configuration = item_class.configuration if item_class is not None else None
    problem = configuration_problem(item_class, instance) if item is not None else None
    if problem:
        children.append(
            HelpPanel(
                content=warning_block(problem),
                heading=_("Configuration unavailable"),
            )
        )
    elif configuration is not None:
        secret = configuration.get_secret_fields()
        stored: dict[str, Any] = {}
        if configuration_to_replace(instance):
            children.append(
                HelpPanel(
                    content=warning_block(
                        _(
                            "The stored configuration is not a JSON object, or is larger or "
                            "nested deeper than a configuration may be (it may have been written "
                            "by another program), so it cannot be shown and the instance is not "
                            "used. Fill in the configuration below and save to replace it."
                        )
                    ),
                    heading=_("Configuration unavailable"),
                )
            )
        elif instance is not None and instance.pk is not None:
            stored = dict(instance.config)
        config_panels: list[Panel] = []
        for name, field in configuration.form_class.base_fields.items():
            config_panels.append(FieldPanel(config_field_name(name)))
            if name in secret and not field.required and stored.get(name) not in (None, ""):
                config_panels.append(FieldPanel(clear_field_name(name)))
        children.append(MultiFieldPanel(config_panels, heading=_("Configuration")))
    if item is not None and drafts_enabled(item.plugin_type.name):
        children.append(PublishingPanel())
    panel: Panel = ObjectList(children, base_form_class=form_class).bind_to_model(PluginInstance)
    return panel


class InstanceFormMixin:
    """The form comes from the per-implementation panel, never from the viewset."""

    panel: Panel

    def get_form_class(self) -> type[Any]:
        form_class: type[Any] = self.panel.get_form_class()
        return form_class


#: Action menu entries that only make sense with drafts, and those of workflows.
_DRAFT_ACTIONS = frozenset({"action-publish", "action-unpublish"})
_WORKFLOW_ACTIONS = frozenset(
    {"action-submit", "action-restart-workflow", "action-cancel-workflow"}
)


class ChangeManagementMixin:
    """Drafts where the settings ask for them; elsewhere Save makes the edit live.

    Without drafts the row is saved as before (the form merges the change into
    the current row) and the saved row is recorded as a revision that is live
    at once (:meth:`~wagtail_plugin_system.models.PluginInstance.save_live_revision`).
    """

    request: HttpRequest
    form: Any
    view_name: str
    draftstate_enabled: bool
    autosave_enabled: bool
    live_object: PluginInstance
    plugin_item: PluginItem | None = None

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)  # type: ignore[misc]
        if not self.draftstate_enabled:
            # Without drafts a save goes live: never while the editor is still typing.
            self.autosave_enabled = False

    def instance_item(self) -> PluginItem | None:
        if self.view_name == "create":
            return self.plugin_item
        return self.live_object.item

    def get_object(self, queryset: Any = None) -> Any:
        obj = super().get_object(queryset)  # type: ignore[misc]
        item = self.instance_item()
        if item is None or not drafts_enabled(item.plugin_type.name):
            self.draftstate_enabled = False
            if self.view_name != "create":
                return self.live_object  # the row, never a pending draft
        return obj

    @cached_property
    def workflow(self) -> Any:
        item = self.instance_item()
        if item is None or not approval_required(item.plugin_type.name):
            return None
        return super().workflow  # type: ignore[misc]

    def _get_action_menu(self) -> Any:
        menu = super()._get_action_menu()  # type: ignore[misc]
        hidden = set(_WORKFLOW_ACTIONS) if self.workflow is None else set()
        if not self.draftstate_enabled:
            hidden |= _DRAFT_ACTIONS
            menu.context["draftstate_enabled"] = False
        if hidden:
            items = [menu.default_item, *menu.menu_items] if menu.default_item else []
            kept = [entry for entry in items if entry.name not in hidden]
            menu.default_item = kept.pop(0) if kept else None
            menu.menu_items = kept
        return menu

    def save_instance(self) -> PluginInstance:
        if self.draftstate_enabled:
            instance: PluginInstance = super().save_instance()  # type: ignore[misc]
            return instance
        return self.save_live()

    def save_live(self, previous_revision: Any = None) -> PluginInstance:
        """Save the form to the row and record the row as a live revision."""
        instance: PluginInstance = self.form.save()
        changed = (
            self.view_name == "create" or previous_revision is not None or self.form.has_changed()
        )
        # The revision records the row as saved, a concurrent change merged in, and its
        # configuration as the very token the row holds (read, not decrypted).
        instance = PluginInstance.objects.select_related("item__plugin_type").get(pk=instance.pk)
        self.has_content_changes = changed
        self.new_revision = instance.save_live_revision(
            user=self.request.user,
            changed=changed,
            previous_revision=previous_revision,
            log_action="wagtail.create" if self.view_name == "create" else True,
        )
        return instance


# Posted configuration values (secrets among them) stay out of error reports.
@method_decorator(sensitive_post_parameters(), name="dispatch")
class InstanceCreateView(ChangeManagementMixin, InstanceFormMixin, snippet_views.CreateView):
    """Step 2 of creating an instance: one form for the chosen implementation."""

    plugin_item: PluginItem | None = None

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        self.plugin_item = self._find_item(kwargs.get("item_pk"))
        super().setup(request, *args, **kwargs)

    @staticmethod
    def _find_item(item_pk: object) -> PluginItem | None:
        pk = parse_id(item_pk)
        if pk is None:
            return None
        item = (
            PluginItem.objects.select_related("plugin_type")
            .filter(pk=pk, is_missing=False, plugin_type__is_missing=False)
            .first()
        )
        if item is None or item.get_item_class() is None:
            return None
        return item

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if self.plugin_item is None and self.user_has_permission("add"):
            messages.error(
                request,
                _(
                    "That implementation does not exist or its code is not installed. Choose "
                    "one of the implementations below."
                ),
            )
            return redirect(self.get_choose_url())
        response: HttpResponseBase = super().dispatch(request, *args, **kwargs)
        return response

    def get_choose_url(self) -> str:
        return instance_url("add")

    def get_panel(self) -> Panel:
        return build_instance_panel(self.plugin_item, None)

    def get_add_url(self) -> str:
        assert self.plugin_item is not None
        return instance_url("add_item", self.plugin_item.pk)

    def get_page_subtitle(self) -> str:
        if self.plugin_item is not None:
            return str(self.plugin_item)
        return str(capfirst(PluginInstance._meta.verbose_name))


@method_decorator(sensitive_post_parameters(), name="dispatch")
class InstanceEditView(
    DeletedInstanceMixin, ChangeManagementMixin, InstanceFormMixin, snippet_views.EditView
):
    """The edit form: the same layout as creating, with secrets write-only."""

    def get_panel(self) -> Panel:
        instance: PluginInstance = self.object
        return build_instance_panel(instance.item, instance)


@method_decorator(sensitive_post_parameters(), name="dispatch")
class InstanceRevertView(RevisionsRevertMixin, InstanceEditView):
    """The edit form filled from a revision; saving restores it, secrets included.

    A secret left blank takes the revision's value, not the current one.
    """

    view_name = "revisions_revert"
    revision: Any

    def save_instance(self) -> PluginInstance:
        self.form.restoring = True
        if self.draftstate_enabled:
            instance: PluginInstance = super().save_instance()
            return instance
        return self.save_live(previous_revision=self.revision)
