"""Settings of the sandbox: a local demo site for wagtail-plugin-system.

Development only. DEBUG is on, and the secret key and the encryption key fall
back to values published in this repository: anyone can decrypt what the
sandbox stores with them. Never deploy these settings.
"""

from __future__ import annotations

import os
from pathlib import Path

import django

# The sandbox/ directory (the one that holds manage.py).
BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = True

# DEMO ONLY: published in the repository, so not a secret. Set DJANGO_SECRET_KEY to override.
SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY", "sandbox-demo-only-53sXdjGIsBPP5qCeQEbiznl3CnqCzqrpqLy4NJW6PsYX"
)

# Plugin configurations are stored encrypted with this Fernet key.
# DEMO ONLY fallback: published in the repository, so it protects nothing. A real site
# reads its key from the environment (or a secrets store) and has no fallback.
DEMO_ONLY_FIELD_ENCRYPTION_KEY = "Hk9XKRYOJueMMmN70kuLVWrnlyd6KE_Pr6aWDMCJ5q4="
FIELD_ENCRYPTION_KEY = os.environ.get("FIELD_ENCRYPTION_KEY", DEMO_ONLY_FIELD_ENCRYPTION_KEY)

# "second.localhost" is the second demo site (load_demo_data creates it).
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "second.localhost"]

INSTALLED_APPS = [
    # The sandbox's own apps.
    "demo",
    # The package this site demonstrates, and its optional email app.
    "wagtail_plugin_system",
    "wagtail_plugin_system.contrib.mail",
    # Wagtail. wagtail_plugin_system needs wagtail.contrib.settings for its per-site
    # plugin settings (Settings > Plugins).
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
    # Django.
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    "wagtail_plugin_system.middleware.PluginCacheMiddleware",
    # Email sent while serving a request uses that site's email sender first.
    "wagtail_plugin_system.contrib.mail.middleware.EmailSiteMiddleware",
]

ROOT_URLCONF = "sandbox.urls"
WSGI_APPLICATION = "sandbox.wsgi.application"

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

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = BASE_DIR / "media"

WAGTAIL_SITE_NAME = "wagtail-plugin-system sandbox"
WAGTAILADMIN_BASE_URL = os.environ.get("SANDBOX_BASE_URL", "http://127.0.0.1:8000")

# Every key is optional; see wagtail_plugin_system.core.settings for the list.
WAGTAIL_PLUGIN_SYSTEM: dict[str, object] = {}

# The site's email (the contact form, password resets) goes through the email_sender
# plugin instances: a console one, which prints each message on this server's output,
# and a disabled SMTP one to configure under Plugins > Instances.
DEFAULT_FROM_EMAIL = "sandbox@example.com"
if django.VERSION >= (6, 1):
    MAILERS = {"default": {"BACKEND": "wagtail_plugin_system.contrib.mail.EmailBackend"}}
else:
    EMAIL_BACKEND = "wagtail_plugin_system.contrib.mail.EmailBackend"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "demo": {"handlers": ["console"], "level": "INFO"},
        "wagtail_plugin_system": {"handlers": ["console"], "level": "INFO"},
    },
}
