"""Claim what is due in the database and hand it to the broker: timers, and outbox effects.

The database is the source of truth; the broker only carries work. A claim holds for a lease: if
the message is lost (a worker killed, Redis restarted) the lease runs out and the next tick claims
the timer again; the exactly-once guarantee lives in the commit that consumes the timer row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol, TypeVar

from workflow.clock import Clock
from workflow.model import DueTimer, OutboxItem
from workflow.ports import Outbox, TimerQueue

__all__ = ["Dispatcher", "Sink", "TickReport"]

T = TypeVar("T")


class Sink(Protocol):
    """Where claimed work goes: an inline runner, or dramatiq actors."""

    def send_timer(self, timer: DueTimer) -> None: ...

    def send_effect(self, item: OutboxItem) -> None: ...


@dataclass(frozen=True, slots=True)
class TickReport:
    timers: int
    effects: int
    send_errors: int


@dataclass
class Dispatcher:
    timers: TimerQueue
    outbox: Outbox
    sink: Sink
    clock: Clock
    batch: int = 500
    lease: timedelta = timedelta(minutes=2)
    on_send_error: Callable[[str, Exception], None] = lambda what, error: None

    def tick(self) -> TickReport:
        """Claim and send everything due now, batch after batch."""
        timers, effects, errors = 0, 0, 0
        while True:
            claimed = self.timers.claim_due(self.clock.now(), self.batch, self.lease)
            errors += self._send_all(claimed, self.sink.send_timer, "timer")
            timers += len(claimed)
            if len(claimed) < self.batch:
                break
        while True:
            items = self.outbox.claim_effects(self.clock.now(), self.batch, self.lease)
            errors += self._send_all(items, self.sink.send_effect, "effect")
            effects += len(items)
            if len(items) < self.batch:
                break
        return TickReport(timers, effects, errors)

    def _send_all(self, work: list[T], send: Callable[[T], None], what: str) -> int:
        """Send each claimed item. A failed send leaves the claim to expire: the item comes back."""
        errors = 0
        for item in work:
            try:
                send(item)
            except Exception as error:  # a broker outage must not stop the dispatcher
                errors += 1
                self.on_send_error(what, error)
        return errors
