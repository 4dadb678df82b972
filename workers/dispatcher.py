"""Claim what is due in the database and hand it to the broker: timers, and outbox effects.

The database is the source of truth; the broker only carries work. A claim holds for a lease: if
the message is lost (a worker killed, Redis restarted) the lease runs out and the next tick claims
the timer again; the exactly-once guarantee lives in the commit that consumes the timer row.

A tick is one bounded round: it claims no more than the sink has room for (``max_in_flight`` minus
the messages sent and not yet finished), so a backlog waits in the database — where nothing
expires — rather than in the broker, where a message queued for longer than its lease would be
claimed and sent a second time. Timers get at least half of the room, effects the rest; the room is
refilled by quarters, since each claim scans what is due.

What a tick claims goes out in batches: one message carries up to ``batch_size`` timers (or effects of one
claim), which a worker fires in one transaction where correctness allows and whose notices it settles together.
The room counts timers and effects, a message in the broker as ``batch_size`` of them.

Between ticks an idle dispatcher sleeps (:func:`idle_wait`) until the next armed timer falls due, never longer than
the poll; on PostgreSQL a notification (``motcua_timer``: a timer armed or re-dated to fall due within a minute)
wakes it at once. The poll stays the safety net: a lost notification only makes a timer as late as the poll.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Protocol, TypeVar, runtime_checkable

from motcua.workflow.engine.clock import Clock
from motcua.workflow.engine.model import DueTimer, OutboxItem
from motcua.workflow.engine.ports import Claim, Outbox, TimerQueue
from motcua.workflow.errors import InvalidInput

__all__ = [
    "DEFAULT_BATCH_SIZE", "DEFAULT_MAX_IN_FLIGHT", "DEFAULT_POLL", "MAX_BATCH_SIZE", "BatchSink", "Dispatcher",
    "NextDue", "Sink", "TickReport", "idle_wait",
]

T = TypeVar("T")
DEFAULT_BATCH_SIZE: Final = 50  # timers or effects a message carries (measured: bench/timers.py)
DEFAULT_MAX_IN_FLIGHT: Final = 500  # timers and effects in the broker (10 batches of 50; 2,000 measured slower)
DEFAULT_POLL: Final = timedelta(milliseconds=200)  # an idle dispatcher's wait between ticks: how late a timer may be
MAX_BATCH_SIZE: Final = 1000  # the most one message may carry (the worker refuses a bigger batch)


class Sink(Protocol):
    """Where claimed work goes: an inline runner, or dramatiq actors."""

    def send_timer(self, timer: DueTimer) -> None: ...

    def send_effect(self, item: OutboxItem, claim: Claim | None = None) -> None:
        """Send an effect claimed under ``claim`` (its handler holds that claim while it delivers)."""
        ...

    def backlog(self) -> int:
        """Messages sent and not yet finished (0 for a sink that handles them as they are sent)."""
        ...


def _case_of(timer: DueTimer) -> str:
    return timer.case_code


@runtime_checkable
class BatchSink(Sink, Protocol):
    """A sink that also takes batches, one message each: what the dispatcher sends it (else one item a message)."""

    def send_timers(self, timers: Sequence[DueTimer], lease: timedelta | None = None) -> None:
        """Send a batch of timers as one message (handled in as few transactions as correctness allows); the
        notices it releases are claimed for ``lease`` by its transaction and delivered by its worker."""
        ...

    def send_effects(self, items: Sequence[OutboxItem], claim: Claim | None = None) -> None:
        """Send a batch of effects claimed under ``claim`` as one message (held and settled together)."""
        ...


@runtime_checkable
class NextDue(Protocol):
    """A timer queue that can say when its next timer falls due: the dispatcher sleeps until then."""

    def next_due(self, after: datetime) -> datetime | None:
        """The earliest instant after ``after`` at which an armed timer falls due (None: none is armed later)."""
        ...


def idle_wait(now: datetime, next_due: datetime | None, poll: timedelta) -> timedelta:
    """How long an idle dispatcher sleeps: until ``next_due``, never longer than ``poll`` (nor less than nothing).

    A ``next_due`` not after ``now`` means a timer due that the tick could not claim (its case's earlier timer is in
    flight, or another dispatcher holds it): waiting for it would spin, so the poll applies."""
    if next_due is None or next_due <= now:
        return poll
    return min(poll, next_due - now)


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
    batch: int = 500  # the most timers (and effects) one tick claims
    lease: timedelta = timedelta(minutes=2)
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT  # timers and effects sent, not yet handled: messages × batch_size
    batch_size: int = DEFAULT_BATCH_SIZE  # the most timers or effects one message carries (to a BatchSink)
    _per_message: int = field(init=False, repr=False)
    on_send_error: Callable[[str, Exception], None] = lambda what, error: None

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise InvalidInput("batch_size", f"a message carries 1 to {MAX_BATCH_SIZE} timers, not {self.batch_size}")
        self._per_message = self.batch_size if isinstance(self.sink, BatchSink) else 1

    def tick(self) -> TickReport:
        """Claim what is due, as much as the sink has room for, and send it."""
        try:
            backlog = self.sink.backlog()
        except Exception as error:  # the broker is away: claim nothing, so no claim waits out a lease
            self.on_send_error("backlog", error)
            return TickReport(0, 0, 1, broker_down=True)
        room = max(0, self.max_in_flight - backlog * self._per_message)
        if room < max(1, self.max_in_flight // 4):  # refill by quarters: a claim costs a scan of what is due
            self._probe()  # no claim while the broker is this full, but a database away is met (and logged) at once
            return TickReport(0, 0, 0, busy=True)
        now = self.clock.now()
        timer_room = min(self.batch, room - room // 2)
        timers = self.timers.claim_due(now, timer_room, self.lease) if timer_room > 0 else []
        errors = self._send_all(timers, self._timers_sender(), "timer", _case_of)
        effect_room = min(self.batch, room - self._rounded(len(timers)))
        claim = Claim.new(now, self.lease)
        wanted = effect_room > 0 and not errors
        items = self.outbox.claim_effects(now, effect_room, self.lease, claim.token) if wanted else []
        errors += self._send_all(items, self._effects_sender(claim), "effect")
        # anything claimed or still in the broker: tick again soon (a case's next timer is claimable, and the
        # notices a fired timer released are pending, once the message in flight is committed)
        return TickReport(len(timers), len(items), errors, busy=bool(timers or items or backlog))

    def _probe(self) -> None:
        """One read of the timer queue (its next due time) on a tick that claims nothing: a database that went away
        raises here, as a claim would, so the outage is seen while the broker drains."""
        if isinstance(self.timers, NextDue):
            self.timers.next_due(self.clock.now())

    def idle_wait(self, poll: timedelta) -> timedelta:
        """How long to sleep after a tick that found nothing more to do: :func:`idle_wait` on the queue's next due
        timer (the poll when the queue cannot tell)."""
        if not isinstance(self.timers, NextDue):
            return poll
        now = self.clock.now()
        return idle_wait(now, self.timers.next_due(now), poll)

    def _timers_sender(self) -> Callable[[list[DueTimer]], None]:
        sink = self.sink
        if isinstance(sink, BatchSink):
            return lambda timers: sink.send_timers(timers, self.lease)
        return lambda timers: sink.send_timer(timers[0])

    def _effects_sender(self, claim: Claim) -> Callable[[list[OutboxItem]], None]:
        sink = self.sink
        if isinstance(sink, BatchSink):
            return lambda items: sink.send_effects(items, claim)
        return lambda items: sink.send_effect(items[0], claim)

    def _rounded(self, items: int) -> int:
        """The room ``items`` take in the broker: whole messages."""
        return -(-items // self._per_message) * self._per_message

    def _send_all(
        self, work: list[T], send: Callable[[list[T]], None], what: str, case: Callable[[T], str] | None = None
    ) -> int:
        """Send the claimed items, a message each batch (:func:`batches`: of ``batch_size``, or of one to a sink
        without batches; a case's timers kept together), until a send fails: the broker is likely away, and the
        claims of the unsent items expire with their lease, so the next ticks hand them out again."""
        left = len(work)
        for batch in batches(work, self._per_message, case):
            try:
                send(batch)
            except Exception as error:  # a broker outage must not stop the dispatcher
                self.on_send_error(what, error)
                return left
            left -= len(batch)
        return 0


def batches(work: Sequence[T], size: int, case: Callable[[T], str] | None = None) -> Iterator[list[T]]:
    """``work`` in order, cut into batches of at most ``size``; given ``case``, the items of one case (adjacent, as
    a claim returns them) go in one batch unless there are more than ``size`` of them: two workers firing one
    case's timers side by side would only conflict, and one of them fire its share again alone."""
    batch: list[T] = []
    for start, end in _runs(work, case):
        run = list(work[start:end])
        if batch and len(batch) + len(run) > size:
            yield batch
            batch = []
        while len(run) > size:
            yield run[:size]
            run = run[size:]
        batch += run
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _runs(work: Sequence[T], case: Callable[[T], str] | None) -> Iterator[tuple[int, int]]:
    """The (start, end) of each run of adjacent items of one case (each item its own run without ``case``)."""
    start = 0
    for n in range(1, len(work) + 1):
        if n == len(work) or case is None or case(work[n]) != case(work[start]):
            yield start, n
            start = n
