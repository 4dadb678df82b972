"""Effects delivered once when the delivery is slower than the lease, on the memory store, SQLite and PostgreSQL.

Three dispatchers (as on three machines) tick side by side with a 1 s lease; each hands what it claims to a pool
of threads (a worker process's threads), whose notifier takes 3 s per delivery (a slow SMTP server, a slow
webhook). Without holding the claim, each effect's lease runs out mid-delivery, another dispatcher claims it
again and the receiver gets it two or three times. The receiver here counts what reaches it, by effect.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from motcua.workers.dispatcher import Dispatcher
from motcua.workers.handlers import Handlers
from motcua.workflow.engine.clock import SystemClock
from motcua.workflow.engine.model import DueTimer, OutboxItem
from motcua.workflow.engine.service import CaseService
from tests.contract.conftest import Desk

LEASE = timedelta(seconds=1)
DELIVERY_S = 3.0
DISPATCHERS = 3
EFFECTS = 6
DEADLINE_S = 40.0


@dataclass
class SlowReceiver:
    """A notifier slower than the lease; counts every delivery that reached it, by effect."""

    seconds: float = DELIVERY_S
    received: Counter[int] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def deliver(self, item: OutboxItem) -> None:
        time.sleep(self.seconds)
        with self.lock:
            self.received[item.id] += 1


@dataclass
class PoolSink:
    """A broker stand-in: each message is handled on a thread of the pool, as a worker process's threads do."""

    handlers: Handlers
    pool: ThreadPoolExecutor
    running: list[Future[Any]] = field(default_factory=list)

    def send_timer(self, timer: DueTimer) -> None:
        raise AssertionError(f"no timer is due here: {timer}")

    def send_effect(self, item: OutboxItem, claim: Any = None) -> None:
        self.running.append(self.pool.submit(self.handlers.handle_effect, item, claim))

    def backlog(self) -> int:
        return sum(not future.done() for future in self.running)


@pytest.fixture
def pools() -> Iterator[list[ThreadPoolExecutor]]:
    opened = [ThreadPoolExecutor(4, thread_name_prefix=f"worker-{n}") for n in range(DISPATCHERS)]
    yield opened
    for pool in opened:
        pool.shutdown(wait=True)


def _tick_until(dispatcher: Dispatcher, done: threading.Event) -> None:
    while not done.is_set():
        dispatcher.tick()
        done.wait(0.05)


def test_a_delivery_slower_than_the_lease_reaches_the_receiver_once(
    desk: Desk, pools: list[ThreadPoolExecutor]
) -> None:
    for n in range(EFFECTS):
        desk.open(f"000.00.12.H01-250303-{n:04d}")  # a receipt notice each
    receiver, clock = SlowReceiver(), SystemClock()
    handlers = Handlers(CaseService(desk.engine, desk.store), desk.store, desk.store, receiver, clock)
    sinks = [PoolSink(handlers, pool) for pool in pools]
    dispatchers = [Dispatcher(desk.store, desk.store, sink, clock, lease=LEASE, max_in_flight=8) for sink in sinks]
    done = threading.Event()
    ticking = [threading.Thread(target=_tick_until, args=(each, done)) for each in dispatchers]
    for thread in ticking:
        thread.start()
    try:
        started = time.monotonic()
        while desk.store.backlog() and time.monotonic() - started < DEADLINE_S:
            time.sleep(0.1)
        time.sleep(2 * DELIVERY_S)  # a duplicate claimed late would be on its way now
    finally:
        done.set()
        for thread in ticking:
            thread.join()
    for sink in sinks:
        for future in sink.running:
            future.result()  # no handler failed

    assert desk.store.backlog() == 0
    assert len(receiver.received) == EFFECTS
    assert dict(receiver.received) == dict.fromkeys(receiver.received, 1)
