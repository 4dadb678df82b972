"""Injected time. The engine never reads the wall clock itself."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol

from workflow.errors import InvalidInput

__all__ = ["Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware datetime."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to: tests, simulations and the demo drive it."""

    def __init__(self, start: datetime) -> None:
        _require_aware("start", start)
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, instant: datetime) -> None:
        _require_aware("instant", instant)
        with self._lock:
            if instant < self._now:
                raise InvalidInput("instant", f"{instant.isoformat()} is before {self._now.isoformat()}")
            self._now = instant

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now


def _require_aware(name: str, instant: datetime) -> None:
    if instant.tzinfo is None:
        raise InvalidInput(name, "a clock needs an aware datetime")
