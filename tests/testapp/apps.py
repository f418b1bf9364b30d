import os

from django.apps import AppConfig


class TestAppConfig(AppConfig):
    name = "tests.testapp"
    label = "testapp"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from wagtail_plugin_system import register_plugin_item, register_plugin_type

        from . import plugins

        register_plugin_type(plugins.PaymentGatewayType)
        register_plugin_item(plugins.StripeGateway)
        register_plugin_item(plugins.BankTransferGateway, priority=50)
        register_plugin_item(plugins.FlakyGateway)
        register_plugin_item(plugins.EchoSender)
        # The widget plugins (content rendering) are registered by the tests that use them.
        if os.environ.get("WPS_TEST_REMOTE_PLUGINS") == "1":
            from . import remote

            remote.register()
