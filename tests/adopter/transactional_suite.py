"""An adopter's own transactional tests, run by ``tests/test_adopters.py`` in a subprocess.

The project has registered plugins and the package's default settings (the sync after
``migrate`` on), so Django's ``flush`` between these tests emits ``post_migrate`` and the
sync runs each time. Not collected by the main run (its name does not start with
``test_``).
"""

from __future__ import annotations

from typing import Any
from urllib.request import urlopen

from django.test import TransactionTestCase

from tests.testapp.plugins import PaymentGatewayType
from wagtail_plugin_system import get_plugin_instance
from wagtail_plugin_system.models import PluginInstance


class AdopterTransactionalTests(TransactionTestCase):
    """Two tests, so that a flush (and its post-migrate sync) runs between them."""

    def test_the_synced_default_instance_is_selected(self) -> None:
        item = get_plugin_instance(PaymentGatewayType)
        assert item is not None
        assert item.plugin_instance is not None

    def test_an_instance_can_be_changed(self) -> None:
        PluginInstance.objects.filter(is_default=True).update(priority=5)
        assert PluginInstance.objects.filter(priority=5).exists()


def test_a_live_server_serves_the_admin_login(live_server: Any) -> None:
    with urlopen(f"{live_server.url}/admin/login/", timeout=30) as response:
        assert response.status == 200
