"""The embedded default: timers and effects handled in-process, synchronously, on an injected clock.

This is the demo's mode and the simulations': ``run_until(instant)`` walks the clock forward from
one due timer to the next, firing each at its due instant, so a year of deadlines runs in seconds
and the same inputs always give the same log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from motcua.workers.handlers import Handlers
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.engine.model import Case, DueTimer, OutboxItem
from motcua.workflow.engine.ports import Claim
from motcua.workflow.engine.service import TimerFailure
from motcua.workflow.errors import ConcurrencyConflict, Retryable

__all__ = ["InlineRunner", "InlineSink"]

_CONFLICT_RETRIES = 3


@dataclass
class InlineSink:
    """The handlers of this process, as a sink: each message handled as it is sent.

    Given ``dropped``, a message whose handling failed for good (anything but a :class:`Retryable` error) is dropped
    and told there (``"timer"`` or ``"effect"``, the error), as a dramatiq worker drops it: its claims run out and the
    lease brings its work back, and the dispatcher goes on with the tick's other messages. A retryable error (the
    database away) is raised: the dispatcher stops the tick. Without ``dropped`` (the demo, the simulations) every
    error is raised."""

    handlers: Handlers
    fired: int = 0
    stale: int = 0
    failed: int = 0  # timers whose trigger failed (tried again later, or parked)
    dropped: Callable[[str, Exception], None] | None = None

    @contextmanager
    def _message(self, what: str) -> Iterator[None]:
        try:
            yield
        except Retryable:
            raise
        except Exception as error:
            if self.dropped is None:
                raise
            self.dropped(what, error)

    def send_timer(self, timer: DueTimer) -> None:
        with self._message("timer"):
            self._send_timer(timer)

    def _send_timer(self, timer: DueTimer) -> None:
        for attempt in range(_CONFLICT_RETRIES):
            try:
                result = self.handlers.handle_timer(timer)
            except ConcurrencyConflict:
                if attempt == _CONFLICT_RETRIES - 1:
                    raise
                continue
            self.fired += isinstance(result, Case)
            self.failed += isinstance(result, TimerFailure)
            self.stale += result is None
            return

    def send_effect(self, item: OutboxItem, claim: Claim | None = None) -> None:
        with self._message("effect"):
            self.handlers.handle_effect(item, claim)  # handled now, under the claim that sent it, if any

    def send_timers(self, timers: Sequence[DueTimer], lease: timedelta | None = None) -> None:
        with self._message("timer"):
            fired = self.handlers.handle_timers(timers, lease)  # lost races are retried alone, inside
            self.fired += fired.fired
            self.stale += fired.stale
            self.failed += len(fired.failed)

    def send_effects(self, items: Sequence[OutboxItem], claim: Claim | None = None) -> None:
        with self._message("effect"):
            self.handlers.handle_effects(items, claim)

    def backlog(self) -> int:
        return 0  # every message is handled as it is sent


@dataclass
class InlineRunner:
    """Moves a manual clock through due timers, handling each at its due instant."""

    handlers: Handlers
    clock: ManualClock
    batch: int = 100
    lease: timedelta = timedelta(minutes=2)
    sink: InlineSink = field(init=False)

    def __post_init__(self) -> None:
        self.sink = InlineSink(self.handlers)

    def run_until(self, instant: datetime) -> int:
        """Fire every timer due up to ``instant`` (in due order), deliver effects, and leave the clock there."""
        fired_before = self.sink.fired
        while claimed := self.handlers.timers.claim_due(instant, self.batch, self.lease):
            for timer in claimed:
                if timer.due_at > self.clock.now():
                    self.clock.set(timer.due_at)
                self.sink.send_timer(timer)
            self.deliver_effects()
        if instant > self.clock.now():
            self.clock.set(instant)
        self.deliver_effects()
        return self.sink.fired - fired_before

    def deliver_effects(self) -> int:
        delivered = 0
        while items := self.handlers.outbox.claim_effects(self.clock.now(), self.batch, self.lease):
            for item in items:
                self.sink.send_effect(item)
            delivered += len(items)
        return delivered
