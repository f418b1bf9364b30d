"""Health checks: run an instance's :meth:`~wagtail_plugin_system.BasePluginItem.check`.

The result (passed or failed, a message, the time) is stored on the instance
and written to its history. The message is stored in English and shown in the
editor's language through :func:`check_message_display`. Messages never contain
configuration values: anything the provider's error repeats from the
configuration is blanked out. Nor do they contain what a database cannot store
or a page cannot encode: a NUL character (PostgreSQL refuses it in text) and a
lone surrogate (not UTF-8) each become U+FFFD.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.debug import sensitive_variables

from .audit import CHECK_LOG_ACTION
from .core.exceptions import ConfigDecryptionError, ConfigFormatError, PluginUnavailableError
from .core.redact import describe_exception
from .fields import key_setting_problem

if TYPE_CHECKING:
    from .models import PluginInstance

__all__ = [
    "HealthResult",
    "check_message_detail",
    "check_message_display",
    "run_health_check",
    "storable_message",
    "unavailable_message",
]

logger = logging.getLogger(__name__)

_MAX_MESSAGE = 500

#: What no text column or UTF-8 page can hold: NUL and unpaired surrogates.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_message(text: str) -> str:
    """``text`` with each NUL and lone surrogate replaced by U+FFFD, cut to 500 characters."""
    return _UNSTORABLE.sub("\ufffd", text)[:_MAX_MESSAGE]


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
    message = storable_message(message)
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


def check_message_display(message: str) -> str:
    """What editors read for a stored check message, in the active language.

    Every place that shows a check result (listing, panel, inspect view, flash
    message, Test page) goes through here. Our own sentences are stored in
    English as msgids, so they translate when shown. A provider's error is
    stored as ``"ClassName: message"`` (see
    :func:`~wagtail_plugin_system.core.redact.describe_exception`); editors get
    the message alone, and the class stays in the log and in
    :func:`check_message_detail`.
    """
    if not message:
        return message
    error = _error_parts(message)
    if error is None:
        return _(message)
    return error[1] or _("The check raised an error without a message.")


def check_message_detail(message: str) -> str:
    """The stored message with its exception class, for technical readers; else ``""``."""
    return message if _error_parts(message) is not None else ""


# "ClassName: message" or "ClassName" alone, as describe_exception() writes them; none of
# our own sentences starts with a bare identifier followed by a colon or stands alone.
_ERROR = re.compile(r"([A-Za-z_][\w.]*)(?:: (.*))?", re.DOTALL)


def _error_parts(message: str) -> tuple[str, str] | None:
    match = _ERROR.fullmatch(message)
    if match is None:
        return None
    return match.group(1), (match.group(2) or "").strip()


def unavailable_message(instance: PluginInstance, exc: PluginUnavailableError) -> str:
    """What editors read when ``instance`` cannot be loaded (``exc``, in English, is logged)."""
    if isinstance(exc, ConfigDecryptionError):
        if key_setting_problem() is not None:
            return gettext_noop(
                "The FIELD_ENCRYPTION_KEY setting is missing or malformed, so its configuration "
                "cannot be read. Fix the setting ('manage.py check' says what is wrong)."
            )
        return gettext_noop(
            "Its configuration cannot be decrypted with the configured keys "
            "(FIELD_ENCRYPTION_KEY). Enter the configuration again, or restore the key."
        )
    if instance.get_item_class() is None:
        return gettext_noop(
            "The code of its implementation is not installed or not registered. Install and "
            "register it, or disable the instance."
        )
    if isinstance(exc, ConfigFormatError):
        return gettext_noop(
            "Its stored configuration is damaged. Open it and save its configuration again."
        )
    return gettext_noop(
        "Its implementation failed to load with this configuration (the error, without "
        "configuration values, is in the server log). Fix the implementation, or disable the "
        "instance."
    )


@sensitive_variables()
def _outcome(instance: PluginInstance) -> tuple[bool, str]:
    try:
        item = instance.load_instance()
    except PluginUnavailableError as exc:
        logger.info("Plugin instance %s cannot be loaded for its check: %s", instance.pk, exc)
        return False, unavailable_message(instance, exc)
    try:
        outcome = item.check()
    except Exception as exc:
        # Even an error whose str() raises gives a message, never a server error.
        return False, describe_exception(exc, item.config)
    if outcome is False:
        return False, gettext_noop("The check reported a failure.")
    if not item.has_health_check():
        return True, gettext_noop(
            "The instance loads; its implementation defines no further check."
        )
    return True, gettext_noop("The check passed.")
