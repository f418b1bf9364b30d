"""Contracts: the classes developers subclass to declare plugins.

* A **plugin type** (:class:`BasePluginType`) is an interface: a stable
  ``name`` and the methods every implementation must provide.
* A **plugin item** (:class:`BasePluginItem`) implements one type.
* A **plugin configuration** (:class:`PluginConfiguration`) declares the Django
  form that editors fill in for each configured instance of an item.

Every mistake in a declaration is reported by the ``class`` statement itself,
as a :class:`~wagtail_plugin_system.core.exceptions.PluginDefinitionError` (a
:class:`TypeError`) whose message names the class and what is wrong.

Identity is the ``name`` attribute, never the module path: moving a class to
another module keeps its database rows; renaming it is done by listing the
former name in ``aliases``.

It needs no settings and no app registry, so plugin modules can define their
classes before Django is set up; it uses :mod:`django.forms` for configuration
forms.

The package holds one module per job: :mod:`.types` (plugin types),
:mod:`.items` (plugin items), :mod:`.configuration` (configuration forms and
the values an item gets) and :mod:`.validation` (the checks every declaration
passes when its class is defined).
"""

from __future__ import annotations

from .configuration import PluginConfig, PluginConfiguration
from .items import BasePluginItem, InstanceRecord
from .types import BasePluginType, required_plugin_item_method
from .validation import NAME_PATTERN

__all__ = [
    "NAME_PATTERN",
    "BasePluginItem",
    "BasePluginType",
    "InstanceRecord",
    "PluginConfig",
    "PluginConfiguration",
    "required_plugin_item_method",
]
