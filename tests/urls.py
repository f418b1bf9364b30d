from django.urls import include, path
from grapple import urls as grapple_urls
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.api.v2.router import WagtailAPIRouter
from wagtail.api.v2.views import PagesAPIViewSet

from tests.testapp.views import remote_fetch, selected_gateway

api_router = WagtailAPIRouter("wagtailapi")
api_router.register_endpoint("pages", PagesAPIViewSet)

urlpatterns = [
    path("admin/", include(wagtailadmin_urls)),
    path("api/v2/", api_router.urls),
    path("", include(grapple_urls)),
    path("selected-gateway/", selected_gateway),
    path("remote-fetch/", remote_fetch),
    path("", include(wagtail_urls)),
]
