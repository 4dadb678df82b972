"""A timer's versioned discard on a real PostgreSQL, against a move still in flight.

A timer whose trigger its case refused is discarded only while the case is still at the version that refused it.
Under READ COMMITTED a plain ``EXISTS`` would read past a move not committed yet and discard a timer the moved case
may allow again; the discard locks the case's row for share, so it waits for the move and then sees it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from motcua.adapters.bootstrap import open_motcua
from motcua.adapters.sql.migrate import upgrade
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.engine.model import Actor
from tests.services import _libpq, postgres_database, postgres_url, require_postgres

pytestmark = pytest.mark.integration

START = datetime(2024, 3, 4, 2, 0, tzinfo=UTC)


@pytest.fixture
def database_url() -> Iterator[str]:
    require_postgres()
    with postgres_database() as name:
        url = postgres_url(name)
        upgrade(url)
        yield url


def test_a_discard_waits_for_a_move_in_flight_and_then_keeps_the_timer(database_url: str) -> None:
    clock = ManualClock(START)
    motcua = open_motcua(database_url, clock=clock, observers=[])
    try:
        code = motcua.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), Actor.of("Lan", "officer")).code
        clock.advance(timedelta(days=400))
        timer = motcua.store.claim_due(clock.now(), 10, timedelta(minutes=2))[0]
        seen = motcua.store.load(code).version
        with psycopg.connect(_libpq(database_url)) as mover:  # another writer moves the case, not committed yet
            mover.execute('UPDATE "case" SET version = version + 1 WHERE code = %s', (code,))
            outcome: list[bool] = []
            discarding = threading.Thread(target=lambda: outcome.append(motcua.store.discard(timer, seen)))
            discarding.start()
            time.sleep(0.3)
            assert discarding.is_alive()  # waiting on the case's row, not reading past the move
            mover.commit()
            discarding.join(timeout=30)
        assert outcome == [False]
        assert timer.name in [armed.name for armed in motcua.store.timers(code)]  # kept for its next claim
        assert motcua.store.discard(timer, seen + 1) is True  # at the version that refuses it now: gone
    finally:
        motcua.close()
