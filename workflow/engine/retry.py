"""What to do after an effect failed to deliver: retry later, or park it. A decision, as a value."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from motcua.workflow.errors import Retryable

__all__ = ["Park", "RetryAt", "RetryPolicy", "Settlement"]


@dataclass(frozen=True, slots=True)
class RetryAt:
    at: datetime


@dataclass(frozen=True, slots=True)
class Park:
    """Stop trying; an operator lists it (`motcua outbox failed`) and retries it by hand."""

    reason: str


Settlement = RetryAt | Park


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff: ``base × 2^(attempt-1)``, capped, for at most ``max_attempts`` tries."""

    max_attempts: int = 8
    base: timedelta = timedelta(seconds=10)
    cap: timedelta = timedelta(hours=1)

    def after_failure(self, attempts: int, now: datetime, failure: Exception) -> Settlement:
        """``attempts`` counts the failed try that just happened; only a :class:`Retryable` failure is tried again."""
        if not isinstance(failure, Retryable):
            return Park("the failure is permanent")
        if attempts >= self.max_attempts:
            return Park(f"failed {attempts} times")
        delay = min(self.cap, self.base * (2 ** (attempts - 1)))
        return RetryAt(now + delay)
