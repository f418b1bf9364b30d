"""What one ``send_messages()`` call is sending, and what became of each message.

A :class:`MessageBatch` is handed from instance to instance by
:func:`~wagtail_plugin_system.call_with_failover`: each instance sends only the
messages still pending, and records each acceptance at once, so a message an
instance accepted is never given to another one, and one it did not send is
not lost.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

__all__ = ["MessageBatch"]


class _State(enum.Enum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SKIPPED = "skipped"


class MessageBatch:
    """Messages to send, each pending until an instance accepts, rejects or skips it.

    Messages are identified by their position, so the same message object
    listed twice is sent twice, as Django's backends do.
    """

    def __init__(self, messages: Iterable[Any]) -> None:
        self.messages: list[Any] = list(messages)
        self._states = [_State.PENDING] * len(self.messages)
        self.rejections: list[BaseException] = []
        #: Primary keys of the instances that failed during this batch.
        self.failed_instances: set[Any] = set()

    def pending(self) -> list[tuple[int, Any]]:
        """``(index, message)`` of each message nobody has accepted, rejected or skipped."""
        return [
            (index, message)
            for index, message in enumerate(self.messages)
            if self._states[index] is _State.PENDING
        ]

    def _settle(self, index: int, state: _State) -> None:
        if self._states[index] is not _State.PENDING:
            raise ValueError(
                f"Message {index} of this batch is already {self._states[index].value}."
            )
        self._states[index] = state

    def accept(self, index: int) -> None:
        """The provider accepted message ``index``: no other instance will send it."""
        self._settle(index, _State.ACCEPTED)

    def reject(self, index: int, error: BaseException) -> None:
        """The provider refused message ``index`` for good (``error`` says why)."""
        self._settle(index, _State.REJECTED)
        self.rejections.append(error)

    def skip(self, index: int) -> None:
        """Message ``index`` had nothing to send (no recipients); it counts as not sent."""
        self._settle(index, _State.SKIPPED)

    @property
    def accepted_count(self) -> int:
        return self._states.count(_State.ACCEPTED)

    def raise_first_rejection(self) -> None:
        """Raise the first rejection's error, if a message was rejected."""
        if self.rejections:
            raise self.rejections[0]

    def __repr__(self) -> str:
        counts = {state.value: self._states.count(state) for state in _State}
        return f"<MessageBatch {counts}>"
