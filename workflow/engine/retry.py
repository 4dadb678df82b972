"""What to do after an effect failed to deliver: retry later, or park it. A decision, as a value."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from motcua.workflow.errors import DeliveryDeferred, DeliveryUnavailable, Retryable

__all__ = ["Park", "RetryAt", "RetryPolicy", "Settlement", "TimerRetryPolicy"]


@dataclass(frozen=True, slots=True)
class RetryAt:
    """Try again at ``at``; ``counted``: the attempt that failed counts towards parking the effect (not one deferred
    unsent, :class:`~motcua.workflow.errors.DeliveryDeferred`)."""

    at: datetime
    counted: bool = True


@dataclass(frozen=True, slots=True)
class Park:
    """Stop trying; an operator lists it (`motcua outbox failed`) and retries it by hand."""

    reason: str


Settlement = RetryAt | Park


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff: ``base × 2^(attempt-1)``, capped, for at most ``max_attempts`` tries — the one place the
    wait before an effect's next attempt is decided.

    Each wait is shortened by a random fraction of at most ``jitter`` (so the notices one outage failed together are
    not all tried again at one instant, and a wait is never longer than its step), and is never shorter than what
    the receiver asked for (:attr:`~motcua.workflow.errors.DeliveryUnavailable.retry_after`, an HTTP
    ``Retry-After``), that too at most ``cap``.

    An effect deferred unsent (:class:`~motcua.workflow.errors.DeliveryDeferred`: its receiver asked, answering
    another effect, to be left alone until then) is tried again when that wait ends, plus a random part of at most
    ``jitter`` of it (so the effects held back together do not all reach the receiver at the instant it reopens), and
    the deferral is not counted: it was no attempt."""

    max_attempts: int = 8
    base: timedelta = timedelta(seconds=10)
    cap: timedelta = timedelta(hours=1)
    jitter: float = 0.2
    random: Callable[[], float] = field(default=random.random, compare=False, repr=False)  # in [0, 1)

    def after_failure(self, attempts: int, now: datetime, failure: Exception) -> Settlement:
        """``attempts`` counts the failed try that just happened; only a :class:`Retryable` failure is tried again."""
        if not isinstance(failure, Retryable):
            return Park("the failure is permanent")
        if isinstance(failure, DeliveryDeferred):
            held = min(self.cap, failure.retry_after or self.base)
            return RetryAt(now + held * (1 + self.jitter * self.random()), counted=False)
        if attempts >= self.max_attempts:
            return Park(f"failed {attempts} times")
        delay = min(self.cap, self.base * (2 ** (attempts - 1))) * (1 - self.jitter * self.random())
        asked = failure.retry_after if isinstance(failure, DeliveryUnavailable) else None
        if asked is not None:
            delay = max(delay, min(self.cap, asked))
        return RetryAt(now + delay)


@dataclass(frozen=True, slots=True)
class TimerRetryPolicy:
    """What to do after a timer's trigger failed for a reason no lost race explains (its data refused, a trigger, a
    role or a definition this worker does not know, an action that raised): try again after ``base × 2^(attempt-1)``
    (1, 2, 4, 8, 16 minutes: half an hour in all, longer than a rolling deploy whose old workers do not know the new
    definitions yet), then park it for an operator after ``max_attempts`` failures."""

    max_attempts: int = 6
    base: timedelta = timedelta(minutes=1)
    cap: timedelta = timedelta(hours=1)

    def after_failure(self, attempts: int, now: datetime) -> Settlement:
        """``attempts`` counts the failure that just happened."""
        if attempts >= self.max_attempts:
            return Park(f"failed {attempts} times")
        return RetryAt(now + min(self.cap, self.base * (2 ** (attempts - 1))))
