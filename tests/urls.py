from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls

from tests.testapp.views import remote_fetch, selected_gateway

urlpatterns = [
    path("admin/", include(wagtailadmin_urls)),
    path("selected-gateway/", selected_gateway),
    path("remote-fetch/", remote_fetch),
    path("", include(wagtail_urls)),
]
