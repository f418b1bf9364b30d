"""The app that registers the ``email_sender`` plugin type and its items."""

from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailConfig(AppConfig):
    name = "wagtail_plugin_system.contrib.mail"
    label = "wagtail_plugin_system_mail"
    verbose_name = _("Email through plugins")

    def ready(self) -> None:
        from .plugins import register_mail_plugins

        register_mail_plugins()
