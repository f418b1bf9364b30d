"""Views for the multi-process tests: what this process selects, and a call with failover."""

from __future__ import annotations

import os

from django.http import HttpRequest, JsonResponse

from tests.testapp.plugins import PaymentGatewayType
from wagtail_plugin_system import PluginSystemError, call_with_failover, get_plugin_instance


def selected_gateway(request: HttpRequest) -> JsonResponse:
    """``{"pid": ..., "instance": <name or null>}`` for the request's site."""
    item = get_plugin_instance(PaymentGatewayType, request=request)
    row = item.plugin_instance if item is not None else None
    return JsonResponse({"pid": os.getpid(), "instance": row.name if row is not None else None})


def remote_fetch(request: HttpRequest) -> JsonResponse:
    """``{"pid": ..., "answer": ...}`` from ``call_with_failover()`` of the remote service.

    ``answer`` is ``"unavailable"`` when every instance failed or was skipped.
    """
    from tests.testapp.remote import RemoteServiceType

    try:
        answer = str(call_with_failover(RemoteServiceType, "fetch"))
    except PluginSystemError:
        answer = "unavailable"
    return JsonResponse({"pid": os.getpid(), "answer": answer})
