"""Secret masking: the one place that decides what of a configuration may be shown.

A plugin's configuration may hold secrets (API keys, passwords). Python code
reads every value (``item.config["token"]``); everything else (templates,
forms, log lines, ``repr()``, API output, exports) gets the *non-secret view*
that :func:`without_secrets` computes.

* :class:`MaskedConfig` is the mapping type of a configuration that carries its
  masking with it: a :class:`dict` whose ``repr()`` and ``str()`` hide every
  value, whose copies are plain dicts, and which gives its non-secret view when
  called. Django's templates call what is callable before looking into it, so
  ``{{ config }}``, ``{{ config.token }}`` and ``{% for k, v in config.items %}``
  see only that view. Both forms of a configuration are one: an item's
  :class:`~wagtail_plugin_system.PluginConfig` and an instance row's decrypted
  ``config`` (:class:`~wagtail_plugin_system.fields.StoredJSON`).
* :func:`without_secrets` is the one function giving the non-secret view of a
  configuration, given the names of its secret fields.
* :func:`public_view` is what a template engine applies to any value it hands
  on: a configuration becomes its non-secret view, anything else is itself.

It needs no settings and imports nothing from Django.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["MaskedConfig", "masked_repr", "public_view", "without_secrets"]


def without_secrets(
    config: Mapping[str, Any], secret_fields: Iterable[str] | None
) -> dict[str, Any]:
    """``config`` without the fields named in ``secret_fields``.

    ``None`` means the secret fields are not known (an item whose code is
    missing, for instance): then nothing is shown.
    """
    if secret_fields is None:
        return {}
    secret = frozenset(secret_fields)
    return {key: value for key, value in config.items() if key not in secret}


def masked_repr(config: Mapping[str, Any]) -> str:
    """``{'key': '***', ...}``: the keys of ``config`` with every value hidden."""
    return "{" + ", ".join(f"{key!r}: '***'" for key in config) + "}"


class MaskedConfig(dict[str, Any]):
    """A configuration that hides its secrets everywhere but in Python code.

    Subclasses say which fields are secret by overriding :meth:`public`
    (the default shows nothing, the safe answer when the secret fields are
    not known).
    """

    __slots__ = ()

    def public(self) -> dict[str, Any]:
        """The non-secret view: what templates, forms and logs may show."""
        return without_secrets(self, None)

    def __call__(self) -> Mapping[str, Any]:
        """The non-secret view (Django's templates call it before looking into it)."""
        return self.public()

    def __repr__(self) -> str:
        return masked_repr(self)

    __str__ = __repr__

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return copy.deepcopy(dict(self), memo)


def public_view(value: Any) -> Any:
    """``value`` itself, or its non-secret view when it is a configuration."""
    return value() if isinstance(value, MaskedConfig) else value
