"""What a worker does with one message: fire a timer, or deliver an effect. Thin: the service decides."""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog

from workflow.clock import Clock
from workflow.errors import DeliveryFailed
from workflow.model import Case, DueTimer, OutboxItem
from workflow.ports import Notifier, Outbox, TimerQueue
from workflow.retry import RetryPolicy, Settlement
from workflow.service import CaseService

__all__ = ["Handlers"]


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
        with structlog.contextvars.bound_contextvars(dossier=timer.case_code, trigger=timer.trigger, actor="motcua"):
            return self.service.fire_timer(timer, self.timers)

    def handle_effect(self, item: OutboxItem) -> Settlement | None:
        """Deliver one effect; on failure record the policy's settlement (retry later, or park)."""
        with structlog.contextvars.bound_contextvars(dossier=item.case_code, effect=item.id):
            return self._deliver(item)

    def _deliver(self, item: OutboxItem) -> Settlement | None:
        try:
            self.notifier.deliver(item)
        except DeliveryFailed as failure:
            settlement = self.policy.after_failure(item.attempts + 1, self.clock.now(), retryable=failure.retryable)
            self.outbox.failed(item.id, failure.detail, settlement)
            return settlement
        self.outbox.delivered(item.id, self.clock.now())
        return None
