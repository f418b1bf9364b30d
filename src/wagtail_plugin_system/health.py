"""Health checks: run an instance's :meth:`~wagtail_plugin_system.BasePluginItem.check`.

The result (passed or failed, a message, the time) is stored on the instance
and written to its history. Messages never contain configuration values:
anything the provider's error repeats from the configuration is blanked out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from .audit import CHECK_LOG_ACTION
from .core.exceptions import PluginUnavailableError
from .core.redact import describe_exception

if TYPE_CHECKING:
    from .models import PluginInstance

__all__ = ["HealthResult", "run_health_check"]

logger = logging.getLogger(__name__)

_MAX_MESSAGE = 500


@dataclass(frozen=True)
class HealthResult:
    """The outcome of one health check."""

    ok: bool
    message: str
    checked_at: datetime


def run_health_check(instance: PluginInstance, *, user: Any = None) -> HealthResult:
    """Run the check of ``instance``, store the result on it and log it."""
    from wagtail.log_actions import log

    ok, message = _outcome(instance)
    message = message[:_MAX_MESSAGE]
    result = HealthResult(ok=ok, message=message, checked_at=timezone.now())
    # update(), not save(): a check is not an edit, so updated_at stays as it is.
    type(instance).objects.filter(pk=instance.pk).update(
        last_check_at=result.checked_at, last_check_ok=ok, last_check_message=message
    )
    instance.last_check_at = result.checked_at
    instance.last_check_ok = ok
    instance.last_check_message = message
    log(instance, CHECK_LOG_ACTION, user=user, data={"ok": ok})
    if not ok:
        logger.warning(
            "Health check of plugin instance %s (%r) failed: %s",
            instance.pk,
            instance.name,
            message,
        )
    return result


@sensitive_variables()
def _outcome(instance: PluginInstance) -> tuple[bool, str]:
    try:
        item = instance.load_instance()
    except PluginUnavailableError as exc:
        return False, str(exc)
    try:
        outcome = item.check()
    except Exception as exc:
        # Even an error whose str() raises gives a message, never a server error.
        return False, describe_exception(exc, item.config)
    if outcome is False:
        return False, _("The check reported a failure.")
    if not item.has_health_check():
        return True, _("The instance loads; its implementation defines no further check.")
    return True, _("The check passed.")
