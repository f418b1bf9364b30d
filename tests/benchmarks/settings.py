"""Django settings for ``make bench``: the test settings plus django-plugin-system.

django-plugin-system 2.0.9 (the ``bench`` extra) is installed next to
wagtail-plugin-system in the same project, under its own app label
(``django_plugin_system``), so both run on the same database, cache and
interpreter. ``django.contrib.admin`` is added for its changelist. When the
package is not installed, its column of the table says so and the rest runs.

The database is SQLite in memory, created (migrated) by the benchmark script;
``python tests/postgres.py run -- python tests/benchmarks/run.py`` runs the same
benchmarks on a throwaway PostgreSQL server instead.
"""

from __future__ import annotations

import os
from importlib.util import find_spec

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS as TEST_APPS
from tests.settings import WAGTAIL_PLUGIN_SYSTEM as TEST_PLUGIN_SETTINGS

DPS_INSTALLED = find_spec("django_plugin_system") is not None

INSTALLED_APPS = list(TEST_APPS)
if DPS_INSTALLED:
    # The test settings may list it already (for the import tests).
    INSTALLED_APPS += [
        app for app in ("django_plugin_system", "django.contrib.admin") if app not in TEST_APPS
    ]

# SQLite in memory, unless run through ``tests/postgres.py run -- ...`` (which sets
# WPS_TEST_DATABASE=postgresql): then the test settings' PostgreSQL database is used.
if os.environ.get("WPS_TEST_DATABASE") != "postgresql":
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

ROOT_URLCONF = "tests.benchmarks.urls"

# Each process gets its own local-memory cache: the numbers are those of a cache in
# the same process (no network round trip), for both packages.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# The rows that compare with django-plugin-system measure the version token in the
# cache (as with Redis or Memcached, here without the network round trip); the
# per-backend rows set CACHES to each backend and leave VERSION_STORE at "auto".
WAGTAIL_PLUGIN_SYSTEM = {
    **TEST_PLUGIN_SETTINGS,
    "SYNC_AFTER_MIGRATE": False,
    "VERSION_STORE": "cache",
}

# django-plugin-system: its encrypted field derives its key from SECRET_KEY and
# SALT_KEY (both required by its AppConfig), and its selection cache is opt-in.
SALT_KEY = "bench-only-not-secret-salt"
DJANGO_PLUGIN_SYSTEM_USE_CACHE = True
