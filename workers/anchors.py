"""Anchors published on a schedule: the worker pins the audit log in time, outside the database.

Whoever holds the application's own database role can append an entry that is well formed, with a valid
hash and seal, and move the case row along with it: ``verify`` cannot tell it from a real one
(docs/auditing.md). What it can be held to is *when*: an anchor (:mod:`motcua.workflow.auditing.anchor`)
taken every few minutes and sent out of the database's reach — a directory on another machine, a
webhook that keeps what it receives with its own arrival time — records every chain's head as it stood.
An entry that is under no published head was appended after the last anchor that lacks it, whatever
instant it claims; one that rewrites what an anchor holds is named by ``motcua verify --anchor``.

:class:`AnchorSchedule` takes and publishes one anchor when due (:meth:`~AnchorSchedule.tick`: the first at
once, then every ``every``; a failed one is tried again after ``retry``) and runs in a thread of its own
beside the dispatcher (:meth:`~AnchorSchedule.start`), so a long read of a large log never holds up the
timers. Where an anchor goes is an :class:`AnchorPublisher` (:mod:`motcua.adapters.anchors` has a
directory and a webhook, and reads the settings).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Protocol

from motcua.workflow.auditing.anchor import Anchor, EntryRef, take
from motcua.workflow.engine.clock import Clock
from motcua.workflow.errors import InvalidInput

__all__ = ["RETRY", "AnchorPublisher", "AnchorSchedule"]

RETRY: Final = timedelta(minutes=1)  # how soon an anchor that could not be taken or published is tried again
STOP_TIMEOUT_S: Final = 30.0  # how long stopping waits for an anchor being taken to finish


class AnchorPublisher(Protocol):
    """Puts an anchor document out of the database's reach."""

    def publish(self, anchor: Anchor) -> str:
        """Publish ``anchor``; returns where it went (for the log). Raises when it could not."""
        ...


def _ignore_error(error: Exception) -> None:
    return None


def _ignore_published(anchor: Anchor, where: str) -> None:
    return None


@dataclass
class AnchorSchedule:
    entries: Callable[[], Iterable[EntryRef]]  # the whole log, as ``Storage.entries`` streams it
    publisher: AnchorPublisher
    clock: Clock
    every: timedelta
    retry: timedelta = RETRY
    on_published: Callable[[Anchor, str], None] = _ignore_published
    on_error: Callable[[Exception], None] = _ignore_error
    next_at: datetime | None = None  # None: due at once
    _stop: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.every <= timedelta(0):
            raise InvalidInput("every", f"anchors are taken at a positive interval, not {self.every}")

    def tick(self) -> Anchor | None:
        """Take and publish an anchor if one is due; returns it, or None (not due, or it failed: ``on_error``)."""
        started = self.clock.now()
        if self.next_at is not None and started < self.next_at:
            return None
        try:
            anchor = take(self.entries(), started)
            where = self.publisher.publish(anchor)
        except Exception as error:  # a full disk or a receiver away must not stop the worker: try again soon
            self.next_at = started + min(self.retry, self.every)
            self.on_error(error)
            return None
        self.next_at = started + self.every
        self.on_published(anchor, where)
        return anchor

    def seconds_to_next(self) -> float:
        if self.next_at is None:
            return 0.0
        return max(0.0, (self.next_at - self.clock.now()).total_seconds())

    def run(self, stop: threading.Event) -> None:
        """Tick until ``stop``, sleeping until the next anchor is due."""
        while not stop.is_set():
            self.tick()
            stop.wait(self.seconds_to_next())

    def start(self) -> None:
        """Run in a daemon thread of its own until :meth:`stop`."""
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, args=(self._stop,), name="motcua-anchors", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
