"""What a worker does with one message: fire a timer, or deliver an effect. Thin: the service decides.

An effect is delivered under the claim the dispatcher made (:class:`~motcua.workflow.engine.ports.Claim`): right
before sending, the handler takes the claim over for a full lease, which also re-reads the row (skipped when the
effect was delivered meanwhile or another claim took it over); while the delivery runs (a slow SMTP server, a
slow webhook) a heartbeat extends the lease every third of it, so no dispatcher hands the effect out again; a
failed attempt is recorded only under that claim. A delivery slower than the lease is therefore sent once.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Final

import structlog

from motcua.workflow.engine.clock import Clock
from motcua.workflow.engine.model import Case, DueTimer, OutboxItem
from motcua.workflow.engine.ports import Claim, Notifier, Outbox, TimerQueue
from motcua.workflow.engine.retry import RetryPolicy, Settlement
from motcua.workflow.engine.service import CaseService
from motcua.workflow.errors import DeliveryFailed

__all__ = ["HEARTBEATS_PER_LEASE", "MAX_HOLD", "Handlers"]

log = structlog.get_logger("motcua.worker")

HEARTBEATS_PER_LEASE: Final = 3  # a delivery's claim is extended every third of its lease: two beats may fail
MAX_HOLD: Final = timedelta(minutes=10)  # dramatiq's time limit of a message: a delivery is not held longer


@dataclass(frozen=True)
class Handlers:
    service: CaseService
    timers: TimerQueue
    outbox: Outbox
    notifier: Notifier
    clock: Clock
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    max_hold: timedelta = MAX_HOLD

    def handle_timer(self, timer: DueTimer) -> Case | None:
        """Fire the timer exactly once; ``None`` when it was stale. Retryable errors propagate."""
        with structlog.contextvars.bound_contextvars(case=timer.case_code, trigger=timer.trigger, role="system"):
            return self.service.fire_timer(timer, self.timers)

    def handle_effect(self, item: OutboxItem, claim: Claim | None = None) -> Settlement | None:
        """Deliver one effect under ``claim``; on failure record the policy's settlement (retry later, or park).

        An effect whose claim ran out is not delivered: the dispatcher may have sent it again already, and it
        is still pending, so the newer message delivers it. Nor is one whose claim was taken over, or that was
        delivered meanwhile. Without a claim (the inline runner, which delivers what it just claimed) the
        effect is delivered as it is."""
        with structlog.contextvars.bound_contextvars(case=item.case_code, effect=item.id):
            if claim is None:
                self.service.get(item.case_code)  # the database is asked first (see _take)
                return self._deliver(item, None)
            if self.clock.now() >= claim.until:
                log.info("effect.claim_expired", claimed_until=claim.until.isoformat())
                return None
            if not self._take(item, claim):
                log.info("effect.claim_lost")
                return None
            with self._holding(item, claim):
                return self._deliver(item, claim)

    def _take(self, item: OutboxItem, claim: Claim) -> bool:
        """Hold the claim for a full lease from now, if the effect is still pending under it.

        This asks the database before anything is sent: while it is away this raises ``StorageUnavailable`` and
        the message is retried without delivering. Otherwise every retry during an outage would deliver again
        an effect whose delivery it cannot record."""
        return self.outbox.hold(item.id, claim.token, self.clock.now() + claim.lease)

    def _deliver(self, item: OutboxItem, claim: Claim | None) -> Settlement | None:
        try:
            self.notifier.deliver(item)
        except DeliveryFailed as failure:
            settlement = self.policy.after_failure(item.attempts + 1, self.clock.now(), failure)
            if not self.outbox.failed(item.id, failure.detail, settlement, None if claim is None else claim.token):
                log.info("effect.claim_lost", outcome="failed")  # another attempt records its own outcome
                return None
            return settlement
        if not self.outbox.delivered(item.id, self.clock.now()):
            log.warning("effect.delivered_again")  # another attempt delivered it too: a receiver drops it by its key
        return None

    @contextmanager
    def _holding(self, item: OutboxItem, claim: Claim) -> Iterator[None]:
        """Extend the claim every third of its lease until the block ends (at most ``max_hold``)."""
        done = threading.Event()
        context = contextvars.copy_context()  # the heartbeat logs under the effect's case and id
        beat = threading.Thread(target=context.run, args=(self._heartbeat, item.id, claim, done),
                                name=f"motcua-hold-{item.id}", daemon=True)
        beat.start()
        try:
            yield
        finally:
            done.set()
            beat.join()

    def _heartbeat(self, item_id: int, claim: Claim, done: threading.Event) -> None:
        interval = claim.lease.total_seconds() / HEARTBEATS_PER_LEASE
        give_up = time.monotonic() + self.max_hold.total_seconds()
        while not done.wait(interval):
            if time.monotonic() >= give_up:
                log.warning("effect.hold_given_up", held_s=self.max_hold.total_seconds())
                return
            try:
                held = self.outbox.hold(item_id, claim.token, self.clock.now() + claim.lease)
            except Exception as error:  # the database away for a beat: the next beat tries again
                log.warning("effect.hold_failed", error=type(error).__name__)
                continue
            if not held:
                log.warning("effect.claim_lost", outcome="delivering")
                return
