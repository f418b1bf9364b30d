"""Querysets that announce their bulk writes, and the signal they send.

Selection memoises what it resolved (see :mod:`wagtail_plugin_system.cache`) and
must hear of every change to the rows it reads. ``save()`` and ``delete()`` send
Django's ``post_save``/``post_delete``; bulk writes send nothing, so the
querysets of those models send :data:`plugin_data_changed` after each one.
The models know nothing of caches: the cache connects to the signals when the
app is ready.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models
from django.dispatch import Signal

__all__ = ["InvalidatingQuerySet", "plugin_data_changed"]

#: Sent after a queryset ``update()``, ``delete()``, ``bulk_create()`` or
#: ``bulk_update()`` on plugin data, with ``sender`` (the model) and ``using``.
plugin_data_changed = Signal()

_M = TypeVar("_M", bound=models.Model)


class InvalidatingQuerySet(models.QuerySet[_M]):
    """Bulk writes bypass ``post_save``; these send :data:`plugin_data_changed` themselves."""

    def _changed(self) -> None:
        plugin_data_changed.send(sender=self.model, using=self.db)

    def update(self, **kwargs: Any) -> int:
        count = super().update(**kwargs)
        self._changed()
        return count

    def delete(self) -> tuple[int, dict[str, int]]:
        result = super().delete()
        self._changed()
        return result

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> Any:
        result = super().bulk_create(objs, *args, **kwargs)
        self._changed()
        return result

    def bulk_update(self, objs: Any, fields: Any, *args: Any, **kwargs: Any) -> int:
        count = super().bulk_update(objs, fields, *args, **kwargs)
        self._changed()
        return count
