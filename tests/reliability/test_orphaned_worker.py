"""A worker process whose ``motcua worker`` was killed with SIGKILL stops by itself, within the bound the docs
state (docs/how-to/run-the-worker.md): it takes no message once its parent is gone and exits within a second,
unless a message in hand takes longer, which it finishes first.

Real PostgreSQL, a private Redis, a real ``motcua worker --processes 1``: the parent is killed while its worker
process is busy firing due timers, or delivering to a slow webhook receiver, and the child is watched through
``/proc``.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.reliability.conftest import Launch, receive_dossiers
from tests.reliability.harness import Ledger, RedisServer, WorkerCommand, running, wait_for
from tests.reliability.receiver import all_delivered, slow_receiver

pytestmark = [pytest.mark.reliability, pytest.mark.integration]

DOSSIERS = 600  # × 3 due timers: the worker process is still busy when its parent dies
BOUND_S = 1.0  # docs/how-to/run-the-worker.md: an orphaned worker process stops within a second
DELIVERY_S = 2.0  # the slow receiver's answer: twice the lease
IN_HAND_S = 0.2  # a message taken just before the parent died may reach the receiver this much later


def _gone(pid: int) -> bool:
    """Exited (a zombie waiting for whoever adopted it counts as exited)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except (FileNotFoundError, ProcessLookupError):
        return True


def test_a_worker_process_whose_parent_was_killed_stops_within_a_second(
    empty_database: str, redis_server: RedisServer, launch: Launch
) -> None:
    receive_dossiers(empty_database, [f"ORPHAN-{n:04d}" for n in range(DOSSIERS)])
    ledger = Ledger(empty_database)
    command = launch("orphaned", empty_database, redis_server.url, 1)
    assert wait_for(lambda: command.ready(1), 60), command.summary()
    [child] = command.worker_pids()
    assert wait_for(lambda: ledger.progress()[0] >= 100, 60), command.summary()  # busy firing timers

    os.kill(command.pid, signal.SIGKILL)
    killed = time.monotonic()
    stopped = wait_for(lambda: _gone(child), 30, interval=0.01)
    took = time.monotonic() - killed

    assert stopped, f"the orphaned worker process {child} still runs 30 s after its parent was killed"
    assert took <= BOUND_S, f"the orphaned worker process took {took:.2f}s to stop\n{command.summary()}"
    fired, left = ledger.progress()
    assert left > 0, "the run ended before the parent was killed: nothing was shown"
    time.sleep(1.0)
    assert ledger.progress() == (fired, left), "something still consumes after the worker process stopped"
    assert command.events()["worker.process.stopped"] == 1, command.summary()


def _worker(name: str, database: str, broker: str, tmp_path: Path, environment: dict[str, str], *,
            processes: int = 1) -> WorkerCommand:
    options = ["--processes", str(processes), "--threads", "4", "--lease-seconds", "1", "--poll-seconds", "0.2"]
    return WorkerCommand(name, ["--db", database, "--broker", broker, *options], tmp_path / f"worker-{name}.log",
                         environment=environment)


def test_an_orphan_finishes_the_deliveries_in_hand_and_takes_no_other(
    empty_database: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    receive_dossiers(empty_database, [f"SLOW-{n:02d}" for n in range(8)])  # 32 effects for the webhook
    with slow_receiver(DELIVERY_S) as receiver:
        first = _worker("first", empty_database, redis_server.url, tmp_path, receiver.environment())
        with running([first]):
            assert wait_for(lambda: len(receiver.arrivals) >= 4, 60), first.summary()  # four deliveries in hand
            [child] = first.worker_pids()
            os.kill(first.pid, signal.SIGKILL)
            killed = time.monotonic()
            stopped = wait_for(lambda: _gone(child), 30, interval=0.01)
            took = time.monotonic() - killed
            in_hand = len(receiver.arrivals)
        assert stopped and took <= DELIVERY_S + BOUND_S, f"took {took:.2f}s\n{first.summary()}"
        assert receiver.arrived_after(killed + IN_HAND_S) == [], "the orphan took new messages"
        assert first.events()["effect.delivered_again"] == 0

        second = _worker("second", empty_database, redis_server.url, tmp_path, receiver.environment(), processes=2)
        with running([second]):  # the rest, by a new worker: what the orphan delivered is not delivered again
            assert wait_for(lambda: all_delivered(empty_database), 120), second.summary()
            time.sleep(2 * DELIVERY_S)  # a duplicate claimed late would have reached the receiver now
        received = receiver.received()

    assert in_hand >= 4
    assert len(received) == 32
    assert {key: n for key, n in received.items() if n > 1} == {}
