"""A receiver's ``Retry-After`` holds back every effect to it, not only the one it answered.

A webhook receiver or the DVCQG portal answering 408, 429 or 5xx with a ``Retry-After`` asks its *sender* to wait;
so does an SMTP server that is unreachable, silent or hangs up, refuses the connection, the greeting or the login
with a 4xx, or answers ``421`` (SMTP has no ``Retry-After``: the e-mail channel waits
:data:`~motcua.adapters.notifiers.smtp.SERVER_PAUSE`, as Postfix waits its ``minimal_backoff_time``).
Before, only the effect it answered waited (the retry policy honours the header); every other effect to the same
receiver was still sent, each meeting the same answer — an overloaded receiver was hammered by the whole backlog.
:class:`ReceiverPause` wraps one channel's notifier: once an answer asks for a wait, the effects that come to that
channel until the wait is over are not sent at all, and fail with
:class:`~motcua.workflow.errors.DeliveryDeferred`, which the worker records as a retry at the wait's end (plus a
random part, so they do not all arrive at the instant the receiver reopens) **without counting an attempt**: an
effect is parked only for what its own attempts met. Nothing is lost (the effect stays pending, its channels
already delivered kept) and nothing is sent twice (a deferred effect was not sent).

Bounded: a wait asked is held for at most :data:`PAUSE_CAP` (the retry policy's cap); only an answer to a real
attempt starts or lengthens a pause, so a receiver keeps us away only while it keeps answering so — and the effects
whose attempts meet those answers count them, and are parked after the policy's number of attempts, as before.

Held in the memory of each worker process, on purpose. The pause spares the receiver; correctness never rests on
it: the effect that was answered is rescheduled in the database (its next attempt, as before), and so is every
effect deferred. What a process does not know — it was restarted, or it is another process or machine — costs at
most one request per delivery in flight, whose answer (the receiver's own, the authority on its pause) sets the
pause there too. A pause shared in the database would cost a read on every delivery and a write on every answer,
for a saving of those few requests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Final

import structlog

from motcua.workflow.engine.model import OutboxItem
from motcua.workflow.engine.ports import Notifier
from motcua.workflow.errors import DeliveryDeferred, DeliveryUnavailable

__all__ = ["PAUSE_CAP", "ReceiverPause"]

log = structlog.get_logger("motcua.worker")

PAUSE_CAP: Final = timedelta(hours=1)  # the longest pause one answer can impose (the retry policy's cap)


class ReceiverPause:
    """A channel's notifier that holds back every effect while its receiver asked for a wait (module doc).

    ``monotonic`` is the clock of the pause (seconds, never going back): a wall clock stepped by NTP must not end a
    pause early, nor stretch it."""

    def __init__(
        self, notifier: Notifier, *, cap: timedelta = PAUSE_CAP, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.notifier = notifier
        self.channel = str(getattr(notifier, "channel", type(notifier).__name__))  # its name in a fan-out
        self.cap = cap
        self._monotonic = monotonic
        self._until = 0.0  # the instant (of ``monotonic``) before which nothing is sent
        self._lock = threading.Lock()

    def deliver(self, item: OutboxItem) -> None:
        left = self.paused_for()
        if left is not None and self._sends(item):
            raise DeliveryDeferred(
                item.kind, f"{self.channel}: not sent, the receiver asked for a pause ({int(left.total_seconds())}s "
                           "left; Retry-After)", retry_after=left)
        try:
            self.notifier.deliver(item)
        except DeliveryUnavailable as failure:
            if failure.retry_after is not None and not isinstance(failure, DeliveryDeferred):
                self._pause(failure.retry_after)
            raise

    def _sends(self, item: OutboxItem) -> bool:
        """Whether the wrapped notifier would send ``item`` (its ``sends``, when it says; else yes): what it would
        skip anyway is not held back by a pause."""
        sends = getattr(self.notifier, "sends", None)
        return True if sends is None else bool(sends(item))

    def paused_for(self) -> timedelta | None:
        """How much longer the receiver's pause lasts (None: it does not, or is over)."""
        with self._lock:
            left = self._until - self._monotonic()
        return timedelta(seconds=left) if left > 0 else None

    def _pause(self, asked: timedelta) -> None:
        """Send nothing for ``asked`` (at most ``cap``) from now, unless a pause already lasts longer."""
        wait = min(asked, self.cap)
        if wait <= timedelta(0):
            return
        with self._lock:
            until = self._monotonic() + wait.total_seconds()
            lengthened = until > self._until
            self._until = max(self._until, until)
        if lengthened:
            log.warning("effect.receiver_paused", channel=self.channel, pause_s=round(wait.total_seconds(), 3))
