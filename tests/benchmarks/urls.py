"""URLs for ``make bench``: the test URLs, plus Django's admin when it is installed."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.urls import path

from tests.urls import urlpatterns as test_urlpatterns

urlpatterns: list[Any] = []
if apps.is_installed("django.contrib.admin"):
    from django.contrib import admin

    urlpatterns.append(path("django-admin/", admin.site.urls))
urlpatterns += test_urlpatterns
