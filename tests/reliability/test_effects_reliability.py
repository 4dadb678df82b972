"""Effects under a receiver slower than the lease: real PostgreSQL, a real Redis, real ``motcua worker`` processes.

Two ``motcua worker`` commands (two dispatchers, two worker processes each) deliver every notice and form of the
seeded dossiers to a webhook receiver that takes 2 s to answer, with a 1 s lease: each delivery outlasts its
claim's first lease. The receiver counts the requests by ``Idempotency-Key``: each effect must reach it exactly
once, and each outbox row be marked delivered after one attempt.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.conftest import receive_dossiers
from tests.reliability.harness import RedisServer, WorkerCommand, running, wait_for
from tests.reliability.receiver import SlowReceiver, all_delivered, slow_receiver, webhook_rows

pytestmark = [pytest.mark.reliability, pytest.mark.integration]

DOSSIERS = 25  # × 4 effects for the webhook: the receipt, and the notices of three due timers
DELIVERY_S = 2.0
# messages of five effects (not the default fifty): the deliveries spread over the worker processes' threads, and
# each message is still a batch, held, extended and marked together, whose slow deliveries go side by side
LEASE_OPTIONS = ("--processes", "2", "--threads", "4", "--lease-seconds", "1", "--poll-seconds", "0.2",
                 "--max-in-flight", "40", "--batch-size", "5")


@pytest.fixture
def receiver() -> Iterator[SlowReceiver]:
    with slow_receiver(DELIVERY_S) as started:
        yield started


def test_a_receiver_slower_than_the_lease_gets_each_effect_once(
    empty_database: str, redis_server: RedisServer, receiver: SlowReceiver, tmp_path: Path
) -> None:
    receive_dossiers(empty_database, [f"SLOW-{n:03d}" for n in range(DOSSIERS)])
    commands = [
        WorkerCommand(name, ["--db", empty_database, "--broker", redis_server.url, *LEASE_OPTIONS],
                      tmp_path / f"worker-{name}.log", environment=receiver.environment())
        for name in ("a", "b")
    ]

    with running(commands):
        delivered = wait_for(lambda: all_delivered(empty_database), 180, interval=0.5)
        wait_for(lambda: False, 2 * DELIVERY_S)  # a duplicate claimed late would have reached the receiver now
        summaries = "\n".join(command.summary() for command in commands)

    rows = webhook_rows(empty_database)
    assert delivered, f"{sum(s != 'delivered' for _, s, _ in rows)} of {len(rows)} not delivered\n{summaries}"
    assert len(rows) == 4 * DOSSIERS
    received = receiver.received()
    repeated = {key: n for key, n in received.items() if n > 1}
    assert repeated == {}, f"{len(repeated)} of {len(rows)} effects reached the receiver more than once: {repeated}"
    assert set(received) == {f"motcua-effect-{id_}" for id_, _, _ in rows}
    assert {attempts for _, _, attempts in rows} == {1}
    assert receiver.unsigned == 0
