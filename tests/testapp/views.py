"""A view for the multi-process tests: which payment gateway this process selects."""

from __future__ import annotations

import os

from django.http import HttpRequest, JsonResponse

from tests.testapp.plugins import PaymentGatewayType
from wagtail_plugin_system import get_plugin_instance


def selected_gateway(request: HttpRequest) -> JsonResponse:
    """``{"pid": ..., "instance": <name or null>}`` for the request's site."""
    item = get_plugin_instance(PaymentGatewayType, request=request)
    row = item.plugin_instance if item is not None else None
    return JsonResponse({"pid": os.getpid(), "instance": row.name if row is not None else None})
