"""A timer's versioned discard on a real PostgreSQL, against a move still in flight.

A timer whose trigger its case refused is discarded only while the case is still at the version that refused it.
Under READ COMMITTED a plain ``EXISTS`` would read past a move not committed yet and discard a timer the moved case
may allow again; the discard locks the case's row for share, so it waits for the move and then sees it.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from motcua.adapters.bootstrap import open_motcua
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.engine.model import Actor

pytestmark = pytest.mark.integration

START = datetime(2024, 3, 4, 2, 0, tzinfo=UTC)


def test_a_discard_waits_for_a_move_in_flight_and_then_keeps_the_timer(database_url: str) -> None:
    clock = ManualClock(START)
    motcua = open_motcua(database_url, clock=clock, observers=[])
    try:
        code = motcua.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), Actor.of("Lan", "officer")).code
        clock.advance(timedelta(days=400))
        timer = motcua.store.claim_due(clock.now(), 10, timedelta(minutes=2))[0]
        seen = motcua.store.load(code).version
        writer = sa.create_engine(database_url)
        try:
            with writer.connect() as mover:  # another writer moves the case, not committed yet
                mover.execute(sa.text('UPDATE "case" SET version = version + 1 WHERE code = :code'), {"code": code})
                outcome: list[bool] = []
                discarding = threading.Thread(target=lambda: outcome.append(motcua.store.discard(timer, seen)))
                discarding.start()
                time.sleep(0.3)
                assert discarding.is_alive()  # waiting on the case's row, not reading past the move
                mover.commit()
                discarding.join(timeout=30)
        finally:
            writer.dispose()
        assert outcome == [False]
        assert timer.name in [armed.name for armed in motcua.store.timers(code)]  # kept for its next claim
        assert motcua.store.discard(timer, seen + 1) is True  # at the version that refuses it now: gone
    finally:
        motcua.close()
