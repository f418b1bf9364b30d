"""Django settings for the test suite.

The database is SQLite unless ``WPS_TEST_DATABASE=postgresql``; then the
standard ``PGHOST``/``PGPORT``/``PGUSER``/``PGPASSWORD``/``PGDATABASE``
variables point at the server (``tests/postgres.py`` starts a throwaway one).
"""

from __future__ import annotations

import importlib.util
import json
import os
import tempfile
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]

# Two fixed test keys (never use these anywhere else).
FIELD_ENCRYPTION_KEY = "bWV5yGk3ufkfCw4NHrdq0zO0tfvBfrsH0_Ahbp1kb3g="
OLD_TEST_KEY = "y5z8BDdRS4tqgQmeb5yvm1ZGfi7dB2Fu1I0kvs_K3Cc="

INSTALLED_APPS = [
    "tests.testapp",
    "wagtail_plugin_system",
    "wagtail.contrib.settings",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Headless reading: Wagtail's API v2 and GraphQL (wagtail-grapple).
    "wagtail.api.v2",
    "rest_framework",
    "grapple",
    "graphene_django",
    # django-plugin-system, to write its tables for the pluginimport tests. Its app has no
    # post-migrate sync (its signals module is never imported); it requires SALT_KEY.
    "django_plugin_system",
    # A queueing task backend with a worker process, for the health checks' task.
    "django_tasks_db",
]

# The pluginimport test of a project that has removed django-plugin-system from its apps.
if os.environ.get("WPS_WITHOUT_SEED_APP") == "1":
    INSTALLED_APPS.remove("django_plugin_system")

# A project that lists django-plugin-system before this app (the check E007 refuses it).
if os.environ.get("WPS_SEED_APP_FIRST") == "1":
    INSTALLED_APPS.remove("django_plugin_system")
    INSTALLED_APPS.insert(0, "django_plugin_system")

# django-plugin-system's key derivation salt (tests only).
SALT_KEY = "tests-only-salt"

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    "wagtail_plugin_system.middleware.PluginCacheMiddleware",
]

ROOT_URLCONF = "tests.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES: dict[str, dict[str, Any]]
if os.environ.get("WPS_TEST_DATABASE") == "postgresql":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "PASSWORD": os.environ.get("PGPASSWORD", ""),
            "NAME": os.environ.get("PGDATABASE", "wagtail_plugin_system"),
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("WPS_SQLITE_NAME", str(BASE_DIR / "test.sqlite3")),
            # A file, not memory, so that a test can share the database with a subprocess.
            "TEST": {
                "NAME": os.environ.get("WPS_SQLITE_TEST_NAME")
                or str(Path(tempfile.gettempdir()) / f"wps-tests-{os.getpid()}.sqlite3")
            },
        }
    }

# A shared cache when a test runs several processes against one database: Redis, or
# Django's file-based cache.
if os.environ.get("WPS_TEST_REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["WPS_TEST_REDIS_URL"],
        }
    }
elif os.environ.get("WPS_TEST_CACHE_DIR"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": os.environ["WPS_TEST_CACHE_DIR"],
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# The tasks framework: django.tasks from Django 6.0, the django-tasks backport before.
_TASKS = "django.tasks" if importlib.util.find_spec("django.tasks") else "django_tasks"

TASKS = {
    # Inline, as in a project that configures nothing.
    "default": {"BACKEND": f"{_TASKS}.backends.immediate.ImmediateBackend"},
    # Rows in the database, run by `manage.py db_worker --backend queue`.
    "queue": {"BACKEND": "django_tasks_db.DatabaseBackend"},
}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en"
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "static-collected"
MEDIA_ROOT = BASE_DIR / "media"
MEDIA_URL = "/media/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

WAGTAIL_SITE_NAME = "wagtail-plugin-system tests"
WAGTAILADMIN_BASE_URL = "http://testserver"

GRAPPLE = {"APPS": ["testapp"]}
GRAPHENE = {"SCHEMA": "grapple.schema.schema"}

WAGTAIL_PLUGIN_SYSTEM = {
    # Tests call the sync explicitly; the post-migrate sync has its own test.
    "SYNC_AFTER_MIGRATE": False,
    # Tests press Test as often as they need; the interval has its own tests.
    "CHECK_MIN_INTERVAL": 0,
    # Servers started by the tests: more settings, as a JSON object.
    **json.loads(os.environ.get("WPS_TEST_PLUGIN_SETTINGS", "{}")),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "root": {"handlers": ["null"], "level": "WARNING"},
}

# Servers started by the tests (gunicorn) print request errors for the test to show.
if os.environ.get("WPS_TEST_SERVER_ERRORS"):
    LOGGING["handlers"]["stderr"] = {"class": "logging.StreamHandler"}  # type: ignore[index]
    LOGGING["loggers"] = {"django.request": {"handlers": ["stderr"], "level": "ERROR"}}
