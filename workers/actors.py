"""dramatiq actors, declared on a broker that is passed in (never a global bound at import time).

Messages carry the claimed timers or outbox items as plain JSON: a batch of them (``motcua.fire_timers``,
``motcua.deliver_effects``: what the dispatcher sends), or one (``motcua.fire_timer``, ``motcua.deliver_effect``:
what a dispatcher before batches sent, still handled). The handlers behind them are built
lazily, once per worker process, by the factory the composition root provides.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, TypeVar

import dramatiq

from motcua.workers.dispatcher import MAX_BATCH_SIZE
from motcua.workers.handlers import Handlers
from motcua.workflow.engine.model import DueTimer, JsonValue, OutboxItem
from motcua.workflow.engine.ports import Claim
from motcua.workflow.errors import InvalidInput, Retryable

__all__ = [
    "DELIVER_EFFECT", "DELIVER_EFFECTS", "FIRE_TIMER", "FIRE_TIMERS", "MAX_BATCH", "DramatiqSink", "declare_actors",
    "effect_message", "effects_message", "timer_message", "timers_message",
]

FIRE_TIMER = "motcua.fire_timer"  # one timer a message (what a dispatcher before batches sent)
DELIVER_EFFECT = "motcua.deliver_effect"
FIRE_TIMERS = "motcua.fire_timers"  # a batch of timers a message
DELIVER_EFFECTS = "motcua.deliver_effects"  # a batch of effects claimed together, under their claim
MAX_BATCH: Final = MAX_BATCH_SIZE  # the most timers or effects one message may carry
QUEUE = "motcua"
T = TypeVar("T")
_RETRY_OPTIONS: dict[str, Any] = {"max_retries": 20, "min_backoff": 200, "max_backoff": 30_000}


def timer_message(timer: DueTimer) -> dict[str, JsonValue]:
    return {
        "case_code": timer.case_code, "name": timer.name, "trigger": timer.trigger,
        "due_at": timer.due_at.isoformat(), "data": dict(timer.data), "generation": timer.generation,
        "attempts": timer.attempts,
    }


def _timer(message: Mapping[str, Any]) -> DueTimer:
    return DueTimer(
        case_code=message["case_code"], name=message["name"], trigger=message["trigger"],
        due_at=datetime.fromisoformat(message["due_at"]), data=message["data"], generation=message["generation"],
        attempts=message.get("attempts", 0),  # a message of a motcua before 0018 carries none
    )


def effect_message(item: OutboxItem, claim: Claim | None = None) -> dict[str, JsonValue]:
    """The effect, and the claim it was sent under: its token, when it runs out (a message handled later is
    dropped: by then the dispatcher may have sent the effect again) and the lease its handler holds it for."""
    return {
        **_effect_fields(item),
        "claimed_until": None if claim is None else claim.until.isoformat(),
        "claim": None if claim is None else claim.token,
        "lease_s": None if claim is None else claim.lease.total_seconds(),
    }


def _effect_fields(item: OutboxItem) -> dict[str, JsonValue]:
    return {
        "id": item.id, "case_code": item.case_code, "kind": item.kind, "payload": dict(item.payload),
        "attempts": item.attempts, "status": item.status, "next_attempt_at": item.next_attempt_at.isoformat(),
        "created_at": None if item.created_at is None else item.created_at.isoformat(),
        "delivered": list[JsonValue](sorted(item.delivered)),
    }


def timers_message(timers: Sequence[DueTimer], lease: timedelta | None = None) -> dict[str, JsonValue]:
    """The timers, and the lease their notices are claimed for when the batch commits (none: left to a dispatcher)."""
    return {"timers": [timer_message(timer) for timer in _bounded(timers)],
            "lease_s": None if lease is None else lease.total_seconds()}


def effects_message(items: Sequence[OutboxItem], claim: Claim | None = None) -> dict[str, JsonValue]:
    """The effects of one claim, and that claim (its token, when it runs out, its lease), as one message."""
    effects: list[JsonValue] = [_effect_fields(item) for item in _bounded(items)]
    return {
        "effects": effects, "claimed_until": None if claim is None else claim.until.isoformat(),
        "claim": None if claim is None else claim.token,
        "lease_s": None if claim is None else claim.lease.total_seconds(),
    }


def _bounded(work: Sequence[T]) -> Sequence[T]:
    if len(work) > MAX_BATCH:
        raise InvalidInput("batch", f"a message carries at most {MAX_BATCH} timers or effects, not {len(work)}")
    return work


def _claim(message: Mapping[str, Any]) -> Claim | None:
    """The claim of an effect message; None for one without a token (sent by a motcua before 0011)."""
    token, until, lease = message.get("claim"), message.get("claimed_until"), message.get("lease_s")
    if token is None or until is None or lease is None:
        return None
    return Claim(token, datetime.fromisoformat(until), timedelta(seconds=lease))


def _effect(message: Mapping[str, Any]) -> OutboxItem:
    return OutboxItem(
        id=message["id"], case_code=message["case_code"], kind=message["kind"], payload=message["payload"],
        attempts=message["attempts"], status=message["status"],
        next_attempt_at=datetime.fromisoformat(message["next_attempt_at"]),
        created_at=_instant(message.get("created_at")),  # a message of an older motcua carries none
        delivered=frozenset(message.get("delivered") or ()),
    )


def _instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


class _Lazy:
    """Builds the handlers on first use in each process (database pools must not cross a fork)."""

    def __init__(self, factory: Callable[[], Handlers]) -> None:
        self._factory = factory
        self._handlers: Handlers | None = None
        self._lock = threading.Lock()

    def __call__(self) -> Handlers:
        with self._lock:
            if self._handlers is None:
                self._handlers = self._factory()
            return self._handlers


def _retry_when(retries: int, error: Exception) -> bool:
    """Retry what may succeed later (a lost race, the database away); give up on the rest at once.

    A timer given up on stays claimed until its lease runs out, then the dispatcher hands it out again.
    """
    return isinstance(error, dramatiq.Retry) and retries < int(_RETRY_OPTIONS["max_retries"])


@contextmanager
def _retried_later() -> Iterator[None]:
    """A :class:`~motcua.workflow.errors.Retryable` failure becomes dramatiq's ``Retry``: retried with backoff,
    and logged as a retry, not as an unhandled exception with its traceback (an outage would flood the log)."""
    try:
        yield
    except Retryable as error:
        raise dramatiq.Retry(f"{type(error).__name__}: {error}") from error


def _unknown_backlog() -> int:
    return 0


@dataclass(frozen=True)
class DramatiqSink:
    fire_timer: dramatiq.Actor[..., None]
    deliver_effect: dramatiq.Actor[..., None]
    fire_timers: dramatiq.Actor[..., None]
    deliver_effects: dramatiq.Actor[..., None]
    queued: Callable[[], int] = _unknown_backlog

    def send_timer(self, timer: DueTimer) -> None:
        self.fire_timer.send(timer_message(timer))

    def send_effect(self, item: OutboxItem, claim: Claim | None = None) -> None:
        self.deliver_effect.send(effect_message(item, claim))

    def send_timers(self, timers: Sequence[DueTimer], lease: timedelta | None = None) -> None:
        self.fire_timers.send(timers_message(timers, lease))

    def send_effects(self, items: Sequence[OutboxItem], claim: Claim | None = None) -> None:
        self.deliver_effects.send(effects_message(items, claim))

    def backlog(self) -> int:
        return self.queued()


def declare_actors(
    broker: dramatiq.Broker, handlers: Callable[[], Handlers], backlog: Callable[[], int] = _unknown_backlog
) -> DramatiqSink:
    """Declare both actors on ``broker``; ``backlog`` counts the messages the broker holds unfinished
    (what the dispatcher's backpressure reads; brokers that cannot say count 0)."""
    lazy = _Lazy(handlers)

    def fire_timer(message: dict[str, Any]) -> None:
        with _retried_later():
            lazy().handle_timer(_timer(message))

    def deliver_effect(message: dict[str, Any]) -> None:
        with _retried_later():
            lazy().handle_effect(_effect(message), _claim(message))

    def fire_timers(message: dict[str, Any]) -> None:
        with _retried_later():
            lease = message.get("lease_s")
            lazy().handle_timers([_timer(each) for each in _bounded(message["timers"])],
                                 None if lease is None else timedelta(seconds=lease))

    def deliver_effects(message: dict[str, Any]) -> None:
        with _retried_later():
            lazy().handle_effects([_effect(each) for each in _bounded(message["effects"])], _claim(message))

    options = {**{k: v for k, v in _RETRY_OPTIONS.items() if k != "max_retries"}, "retry_when": _retry_when}

    def declare(name: str, handle: Callable[[dict[str, Any]], None]) -> dramatiq.Actor[..., None]:
        return dramatiq.actor(actor_name=name, queue_name=QUEUE, broker=broker, **options)(handle)

    return DramatiqSink(declare(FIRE_TIMER, fire_timer), declare(DELIVER_EFFECT, deliver_effect),
                        declare(FIRE_TIMERS, fire_timers), declare(DELIVER_EFFECTS, deliver_effects), backlog)
