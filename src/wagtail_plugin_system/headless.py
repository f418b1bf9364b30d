"""GraphQL types of the chooser blocks, for sites that serve pages through wagtail-grapple.

When ``grapple`` is in ``INSTALLED_APPS``, :func:`register_grapple_types` (called
by the app's ``ready()``) gives every
:class:`~wagtail_plugin_system.blocks.PluginInstanceChooserBlock` the GraphQL
type ``PluginInstanceChooserBlock``, whose ``plugin`` field holds what the
block's ``get_api_representation()`` gives Wagtail's API v2: ``id``, ``type``,
``item``, ``name``, ``status`` and ``config`` (without secret fields), or
``null`` when the block would render nothing::

    body {
      ... on PluginInstanceChooserBlock {
        plugin { id type item name status config }
      }
    }

Nothing here is imported unless grapple is installed.
"""

from __future__ import annotations

from typing import Any

__all__ = ["register_grapple_types"]


def register_grapple_types() -> None:
    """Add the chooser blocks' GraphQL types to grapple's registry (before its schema is built)."""
    import graphene  # type: ignore[import-untyped]
    from grapple.registry import registry  # type: ignore[import-untyped]
    from grapple.types.interfaces import StreamFieldInterface  # type: ignore[import-untyped]

    from .blocks import PluginInstanceChooserBlock

    class PluginInstanceValue(graphene.ObjectType):  # type: ignore[misc]
        """A plugin instance chosen in a block, without its secret configuration."""

        id = graphene.Int(required=True)
        type = graphene.String(required=True)
        item = graphene.String(required=True)
        name = graphene.String(required=True)
        status = graphene.String(required=True)
        config = graphene.JSONString(required=True)

        class Meta:
            name = "PluginInstanceValue"

    def resolve_plugin(child: Any, info: Any, **kwargs: Any) -> dict[str, Any] | None:
        block = child.block
        value = child.value
        if value is not None and not hasattr(value, "pk"):  # an id inside a struct block
            value = block.to_python(value)
        representation: dict[str, Any] | None = block.get_api_representation(
            value, {"request": info.context}
        )
        return representation

    block_type = type(
        "PluginInstanceChooserBlock",
        (graphene.ObjectType,),
        {
            "Meta": type("Meta", (), {"interfaces": (StreamFieldInterface,)}),
            "plugin": graphene.Field(PluginInstanceValue),
            "resolve_plugin": staticmethod(resolve_plugin),
            "resolve_raw_value": staticmethod(_raw_value),
        },
    )
    registry.streamfield_blocks[PluginInstanceChooserBlock] = block_type


def _raw_value(child: Any, info: Any, **kwargs: Any) -> str:
    """The stored id, as grapple's other chooser blocks give it (not the instance's text)."""
    value = child.value
    pk = getattr(value, "pk", value)
    return "" if pk is None else str(pk)
