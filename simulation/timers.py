"""Who fires the timers while the simulated clock moves: the inline runner, or dramatiq on Redis.

Both satisfy :class:`TimerPump`: ``run_until(instant)`` fires every timer due up to ``instant``, delivers the
outbox effects, and leaves the clock there. The inline runner is the in-process broker of the embedded
default. :class:`RedisPump` runs the real dispatcher and dramatiq actors on a ``RedisBroker`` with an
in-process dramatiq ``Worker`` of several threads, and waits until the queue is drained and no timer is
due before it lets the simulated clock move on: correct rather than fast.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import dramatiq

from motcua.adapters.bootstrap import Motcua
from motcua.workers.actors import declare_actors
from motcua.workers.dispatcher import Dispatcher
from motcua.workers.handlers import Handlers
from motcua.workers.inline import InlineRunner
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.engine.model import OutboxItem
from motcua.workflow.errors import StorageUnavailable

__all__ = ["CountingNotifier", "InlinePump", "RedisPump", "TimerPump"]

_DRAIN_POLL_S = 0.005
_DRAIN_TIMEOUT_S = 120.0


class TimerPump(Protocol):
    def run_until(self, instant: datetime) -> int: ...

    def close(self) -> None: ...


@dataclass
class CountingNotifier:
    """The demo's notifier: forms and notices are counted, not sent (no e-mail leaves a simulation)."""

    delivered: Counter[str] = field(default_factory=Counter)

    def deliver(self, item: OutboxItem) -> None:
        payload = item.payload
        what = payload.get("form") if item.kind == "form" else payload.get("event")
        self.delivered[f"{item.kind}:{what}"] += 1


def _handlers(app: Motcua, clock: ManualClock, notifier: CountingNotifier) -> Handlers:
    return Handlers(app.service, app.store, app.store, notifier, clock)


class InlinePump:
    def __init__(self, app: Motcua, clock: ManualClock, notifier: CountingNotifier) -> None:
        self._runner = InlineRunner(_handlers(app, clock, notifier), clock, batch=500)

    def run_until(self, instant: datetime) -> int:
        return self._runner.run_until(instant)

    def close(self) -> None:
        return None


class RedisPump:
    """The real dispatcher sending to dramatiq actors on Redis, and a dramatiq worker in this process."""

    def __init__(self, app: Motcua, clock: ManualClock, notifier: CountingNotifier, broker_url: str,
                 threads: int = 4) -> None:
        from motcua.workers.broker import queued_messages, redis_broker  # noqa: PLC0415 - Redis only when asked for

        self._clock = clock
        self._broker = redis_broker(broker_url)
        handlers = _handlers(app, clock, notifier)
        self._count_queued = queued_messages
        sink = declare_actors(self._broker, lambda: handlers, self._queued)
        self._store = app.store
        self._dispatcher = Dispatcher(app.store, app.store, sink, clock, batch=200, lease=timedelta(minutes=10))
        self._worker = dramatiq.Worker(self._broker, worker_threads=threads, worker_timeout=50)
        self._worker.start()
        self.fired = 0

    def run_until(self, instant: datetime) -> int:
        if instant > self._clock.now():
            self._clock.set(instant)
        before = self.fired
        deadline = time.monotonic() + _DRAIN_TIMEOUT_S
        while True:
            report = self._dispatcher.tick()
            self.fired += report.timers
            if not report.busy and self._queued() == 0 and self._store.armed_count(instant)[1] == 0:
                return self.fired - before
            if time.monotonic() > deadline:
                raise StorageUnavailable("the Redis queue did not drain in time: is the worker stuck?")
            time.sleep(_DRAIN_POLL_S)

    def _queued(self) -> int:
        return self._count_queued(self._broker)

    def close(self) -> None:
        self._worker.stop(timeout=10_000)
        self._broker.close()
