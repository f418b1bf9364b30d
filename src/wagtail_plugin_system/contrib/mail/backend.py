"""``EmailBackend``: Django's email goes through the ``email_sender`` instances.

On Django 5.2 and 6.0::

    EMAIL_BACKEND = "wagtail_plugin_system.contrib.mail.EmailBackend"

On Django 6.1, as a ``MAILERS`` entry (the default one, or any alias that
``send_mail(..., using=...)`` names)::

    MAILERS = {"default": {"BACKEND": "wagtail_plugin_system.contrib.mail.EmailBackend"}}

Delivery semantics of :meth:`EmailBackend.send_messages`:

* the messages go to the first usable instance (the current site's choice in
  Settings > Plugins when the site is known, else the usual selection); when
  it fails part-way, only the messages it had not accepted go to the next
  instance, through :func:`~wagtail_plugin_system.call_with_failover`;
* a message an instance accepted is never sent through another: acceptance is
  recorded per message, as the provider confirms it (for SMTP, the ``250``
  after ``DATA``). The one exception is a provider that takes a message and
  drops the connection before confirming it: that message was not seen
  accepted, so the next instance sends it too (at least once, not exactly
  once, in that case);
* the return value counts the messages accepted;
* ``fail_silently=True`` returns that count when every instance fails or a
  message is rejected; otherwise the error is raised: a
  :class:`~wagtail_plugin_system.PluginFailoverError` holding each instance's
  error, :class:`~wagtail_plugin_system.PluginUnavailableError` when there is
  no instance at all, or the first rejected message's error (after the other
  messages were sent).

The current site is the ``site=`` (a Wagtail ``Site``) or ``request=`` given
to the backend, or the request that
:class:`~.middleware.EmailSiteMiddleware` is serving.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.core.mail.backends.base import BaseEmailBackend

from wagtail_plugin_system.core.exceptions import PluginFailoverError, PluginUnavailableError
from wagtail_plugin_system.core.redact import describe_exception
from wagtail_plugin_system.selection import call_with_failover, get_plugin_instance

from .batch import MessageBatch
from .middleware import request_being_served
from .plugins import EmailSenderType

if TYPE_CHECKING:
    from django.http import HttpRequest
    from wagtail.models import Site

__all__ = ["EmailBackend"]

logger = logging.getLogger(__name__)


class EmailBackend(BaseEmailBackend):
    """A Django email backend that sends through the ``email_sender`` plugin instances.

    Holds no connection: each :meth:`send_messages` connects to the instances
    it uses and closes the connections before returning. Safe to share between
    threads.
    """

    def __init__(
        self,
        fail_silently: bool = False,
        *,
        site: Site | None = None,
        request: HttpRequest | None = None,
        **kwargs: Any,
    ) -> None:
        # Not passed on: Django 6.1's base class reports fail_silently as deprecated.
        super().__init__(**kwargs)
        self.fail_silently = fail_silently
        self.site = site
        self.request = request

    def send_messages(self, email_messages: Sequence[Any]) -> int:
        """Send the messages; return how many were accepted (see the module's documentation)."""
        if not email_messages:
            return 0
        batch = MessageBatch(email_messages)
        try:
            self._send_to_site_choice(batch)
            if batch.pending():
                call_with_failover(EmailSenderType, "deliver", batch)
        except (PluginFailoverError, PluginUnavailableError) as exc:
            if not self.fail_silently:
                raise
            logger.error(
                "%d of %d email message(s) were not sent: %s",
                len(batch.pending()),
                len(batch.messages),
                exc,
            )
        if batch.rejections:
            if not self.fail_silently:
                batch.raise_first_rejection()
            logger.error(
                "%d email message(s) were rejected; the first: %s",
                len(batch.rejections),
                describe_exception(batch.rejections[0], {}),
            )
        return batch.accepted_count

    def _send_to_site_choice(self, batch: MessageBatch) -> None:
        """Offer the batch to the current site's sender first, when the site is known."""
        site, request = self.site, self.request
        if site is None and request is None:
            request = request_being_served()
            if request is None:
                return
        item = get_plugin_instance(EmailSenderType, site=site, request=request)
        if item is None:
            return
        try:
            item.deliver(batch)
        except EmailSenderType.failover_exceptions as exc:
            if not isinstance(exc, Exception):
                raise
            record = item.plugin_instance
            logger.warning(
                "Email sender instance %s (%r), the site's choice, failed; trying the others: %s",
                getattr(record, "pk", None),
                getattr(record, "name", ""),
                describe_exception(exc, item.config),
            )
