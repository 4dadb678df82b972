"""Claim what is due in the database and hand it to the broker: timers, and outbox effects.

The database is the source of truth; the broker only carries work. A claim holds for a lease: if
the message is lost (a worker killed, Redis restarted) the lease runs out and the next tick claims
the timer again; the exactly-once guarantee lives in the commit that consumes the timer row.

A tick is one bounded round: it claims no more than the sink has room for (``max_in_flight`` minus
the messages sent and not yet finished), so a backlog waits in the database — where nothing
expires — rather than in the broker, where a message queued for longer than its lease would be
claimed and sent a second time. Timers get at least half of the room, effects the rest; the room is
refilled by quarters, since each claim scans what is due.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol, TypeVar

from motcua.workflow.engine.clock import Clock
from motcua.workflow.engine.model import DueTimer, OutboxItem
from motcua.workflow.engine.ports import Claim, Outbox, TimerQueue

__all__ = ["Dispatcher", "Sink", "TickReport"]

T = TypeVar("T")


class Sink(Protocol):
    """Where claimed work goes: an inline runner, or dramatiq actors."""

    def send_timer(self, timer: DueTimer) -> None: ...

    def send_effect(self, item: OutboxItem, claim: Claim | None = None) -> None:
        """Send an effect claimed under ``claim`` (its handler holds that claim while it delivers)."""
        ...

    def backlog(self) -> int:
        """Messages sent and not yet finished (0 for a sink that handles them as they are sent)."""
        ...


@dataclass(frozen=True, slots=True)
class TickReport:
    timers: int
    effects: int
    send_errors: int
    busy: bool = False  # work is flowing, or more is due than there was room for: tick again soon
    broker_down: bool = False  # the sink could not say what it holds: nothing was claimed


@dataclass
class Dispatcher:
    timers: TimerQueue
    outbox: Outbox
    sink: Sink
    clock: Clock
    batch: int = 500
    lease: timedelta = timedelta(minutes=2)
    max_in_flight: int = 500
    on_send_error: Callable[[str, Exception], None] = lambda what, error: None

    def tick(self) -> TickReport:
        """Claim what is due, as much as the sink has room for, and send it."""
        try:
            room = max(0, self.max_in_flight - self.sink.backlog())
        except Exception as error:  # the broker is away: claim nothing, so no claim waits out a lease
            self.on_send_error("backlog", error)
            return TickReport(0, 0, 1, broker_down=True)
        if room < max(1, self.max_in_flight // 4):  # refill by quarters: a claim costs a scan of what is due
            return TickReport(0, 0, 0, busy=True)
        now = self.clock.now()
        timer_room = min(self.batch, room - room // 2)
        timers = self.timers.claim_due(now, timer_room, self.lease) if timer_room > 0 else []
        errors = self._send_all(timers, self.sink.send_timer, "timer")
        effect_room = min(self.batch, room - len(timers))
        claim = Claim.new(now, self.lease)
        wanted = effect_room > 0 and not errors
        items = self.outbox.claim_effects(now, effect_room, self.lease, claim.token) if wanted else []
        errors += self._send_all(items, lambda item: self.sink.send_effect(item, claim), "effect")
        # anything claimed: tick again soon (a case's next timer is claimable once this one is committed)
        return TickReport(len(timers), len(items), errors, busy=bool(timers or items))

    def _send_all(self, work: list[T], send: Callable[[T], None], what: str) -> int:
        """Send each claimed item until one fails: the broker is likely away, and the claims of the
        unsent items expire with their lease, so the next ticks hand them out again."""
        for sent, item in enumerate(work):
            try:
                send(item)
            except Exception as error:  # a broker outage must not stop the dispatcher
                self.on_send_error(what, error)
                return len(work) - sent
        return 0
