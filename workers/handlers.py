"""What a worker does with one message: fire a timer, or deliver an effect. Thin: the service decides."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import structlog

from motcua.workflow.engine.clock import Clock
from motcua.workflow.engine.model import Case, DueTimer, OutboxItem
from motcua.workflow.engine.ports import Notifier, Outbox, TimerQueue
from motcua.workflow.engine.retry import RetryPolicy, Settlement
from motcua.workflow.engine.service import CaseService
from motcua.workflow.errors import DeliveryFailed

__all__ = ["Handlers"]

log = structlog.get_logger("motcua.worker")


@dataclass(frozen=True)
class Handlers:
    service: CaseService
    timers: TimerQueue
    outbox: Outbox
    notifier: Notifier
    clock: Clock
    policy: RetryPolicy = field(default_factory=RetryPolicy)

    def handle_timer(self, timer: DueTimer) -> Case | None:
        """Fire the timer exactly once; ``None`` when it was stale. Retryable errors propagate."""
        with structlog.contextvars.bound_contextvars(case=timer.case_code, trigger=timer.trigger, actor="motcua"):
            return self.service.fire_timer(timer, self.timers)

    def handle_effect(self, item: OutboxItem, claimed_until: datetime | None = None) -> Settlement | None:
        """Deliver one effect; on failure record the policy's settlement (retry later, or park).

        An effect whose claim ran out (``claimed_until``) is not delivered: the dispatcher may have sent
        it again already, and it is still pending, so the newer message delivers it."""
        with structlog.contextvars.bound_contextvars(case=item.case_code, effect=item.id):
            if claimed_until is not None and self.clock.now() >= claimed_until:
                log.info("effect.claim_expired", claimed_until=claimed_until.isoformat())
                return None
            return self._deliver(item)

    def _deliver(self, item: OutboxItem) -> Settlement | None:
        """The database is asked first (the effect's case is read): while it is away this raises
        ``StorageUnavailable`` and the message is retried without delivering. Otherwise every retry during
        an outage would deliver again an effect whose delivery it cannot record."""
        self.service.get(item.case_code)
        try:
            self.notifier.deliver(item)
        except DeliveryFailed as failure:
            settlement = self.policy.after_failure(item.attempts + 1, self.clock.now(), failure)
            self.outbox.failed(item.id, failure.detail, settlement)
            return settlement
        self.outbox.delivered(item.id, self.clock.now())
        return None
