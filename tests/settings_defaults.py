"""The test settings as a project that installs the package has them.

``tests/settings.py`` turns the sync after ``migrate`` off so that tests can call
it explicitly. This module keeps every package setting at its default, and lists
the app first in ``INSTALLED_APPS`` (before ``django.contrib.contenttypes``), the
order in which its post-``migrate`` sync runs first. ``make test`` runs part of
the suite with it.
"""

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS as _APPS

INSTALLED_APPS = [
    "wagtail_plugin_system",
    *(app for app in _APPS if app != "wagtail_plugin_system"),
]

WAGTAIL_PLUGIN_SYSTEM: dict[str, object] = {}
