"""django-plugin-system's ``services``."""

from __future__ import annotations

from .sync import sync_registered_plugins_to_db

__all__ = ["sync_registered_plugins_to_db"]
