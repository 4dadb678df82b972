"""Injected time, and Vietnam time. The engine never reads the wall clock itself.

Instants are aware; a naive one means Vietnam time. Attributes keep instants as ISO 8601 text with the
``+07:00`` offset (:func:`text`), so that text order is time order within Vietnam time.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from motcua.workflow.errors import InvalidInput

__all__ = [
    "VN_TZ", "CheckedClock", "Clock", "ManualClock", "SystemClock", "checked", "instant", "text", "to_vietnam_time",
]

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def to_vietnam_time(moment: datetime) -> datetime:
    """The same instant in Asia/Ho_Chi_Minh; a naive datetime is read as Vietnam time."""
    if not isinstance(moment, datetime):
        raise InvalidInput("datetime", f"expected a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=VN_TZ)
    return moment.astimezone(VN_TZ)


def text(moment: datetime) -> str:
    """An instant as attributes keep it: ISO 8601 in Vietnam time."""
    return to_vietnam_time(moment).isoformat()


def instant(value: object) -> datetime:
    """An instant back from its :func:`text`."""
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO 8601 instant, got {value!r}")
    return datetime.fromisoformat(value)


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
        if not isinstance(delta, timedelta) or delta < timedelta(0):
            raise InvalidInput("delta", "a clock moves forward: a timedelta of zero or more")
        with self._lock:
            self._now += delta
            return self._now


class CheckedClock:
    """A host's clock whose every reading is checked: a reading that is no aware datetime (a naive
    ``datetime.now()``, a date, a text) is :class:`InvalidInput` naming the clock, before the engine decides or stores
    anything by it. Naive instants would otherwise be read as Vietnam time in one place and fail to compare with
    aware ones in another."""

    def __init__(self, inner: Clock) -> None:
        self._inner = inner

    def now(self) -> datetime:
        moment = self._inner.now()
        if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
            shown = type(moment).__name__ if not isinstance(moment, datetime) else "a naive datetime"
            raise InvalidInput("clock", f"now() gave {shown}: a clock gives an aware datetime (datetime.now(UTC))")
        return moment


def checked(clock: Clock) -> Clock:
    """``clock`` as the engine reads it: motcua's own clocks as they are, any other behind a :class:`CheckedClock`."""
    if isinstance(clock, SystemClock | ManualClock | CheckedClock):
        return clock
    if not callable(getattr(clock, "now", None)):
        raise InvalidInput("clock", f"{type(clock).__name__} has no now(): give a SystemClock, a ManualClock or an "
                                    "object whose now() gives an aware datetime")
    return CheckedClock(clock)


def _require_aware(name: str, instant: datetime) -> None:
    if not isinstance(instant, datetime) or instant.tzinfo is None or instant.utcoffset() is None:
        raise InvalidInput(name, "a clock needs an aware datetime")
