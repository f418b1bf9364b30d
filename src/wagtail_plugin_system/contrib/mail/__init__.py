"""Email through plugin instances that editors configure: ``wagtail_plugin_system.contrib.mail``.

Add ``"wagtail_plugin_system.contrib.mail"`` to ``INSTALLED_APPS`` to register
the plugin type ``email_sender`` (:class:`~.plugins.EmailSenderType`) and its
items (SMTP, console, and one per Anymail ESP listed in
``WAGTAIL_PLUGIN_SYSTEM_MAIL_ESPS``), then point Django at
:class:`EmailBackend`: ``EMAIL_BACKEND`` on Django 5.2 and 6.0, a ``MAILERS``
entry on Django 6.1.

This module imports nothing else until :class:`EmailBackend` is asked for, so
Django can import it while it loads the apps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .backend import EmailBackend

__all__ = ["EmailBackend"]


def __getattr__(name: str) -> Any:
    if name == "EmailBackend":
        from .backend import EmailBackend

        return EmailBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
