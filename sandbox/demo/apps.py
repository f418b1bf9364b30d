"""The demo app: a home page and a few example plugins."""

from __future__ import annotations

from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "demo"
    label = "demo"
    verbose_name = "Sandbox demo"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Plugins are registered once the apps are loaded; `pluginsync` (and the sync
        # that runs after `migrate`) then mirrors them into the database.
        from wagtail_plugin_system import register_plugin_item, register_plugin_type

        from . import plugins

        register_plugin_type(plugins.PaymentGatewayType)
        register_plugin_item(plugins.StripeGateway)
        register_plugin_item(plugins.BankTransferGateway, priority=200)

        register_plugin_type(plugins.SmsSenderType)
        register_plugin_item(plugins.ConsoleSmsSender)

        register_plugin_type(plugins.NewsletterSignupType)
        register_plugin_item(plugins.MailingListSignup)
