"""A burst: 20,000 timers due at the same instant across 500 dossiers, drained by one ``motcua worker``.

Deadlines cluster (a day's appointments end at 17:00; a Tết week moves thousands to the same morning). Here 500
dossiers are received through the desk and taken past their appointment by the real engine (warning, overdue
mark), then each gets 40 escalation timers due at one instant (rows written by SQL, as the engine arms them:
``escalate`` is allowed again and again on an overdue dossier and releases one notice each). Ties let a claim
hand out many timers of one case, so the batches hold chains of one case's timers, and cases split between
messages race: what conflicts is fired again alone.

Counted by SQL afterwards: each timer fired exactly once (one ``escalate`` entry per timer, none left), each
notice written once and delivered once (``delivered`` after one attempt; the log notifier's lines counted by
effect id), every hash chain intact. The drain time is printed (a benchmark figure, never asserted).
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import psycopg
import pytest

from motcua.adapters.bootstrap import open_motcua
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from tests.reliability.conftest import RECEIVED_AT, Launch, analyze, receive_dossiers, settle_receipts
from tests.reliability.harness import Ledger, RedisServer, wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.integration]

DOSSIERS = 500
PER_DOSSIER = 40  # 500 × 40 = 20,000 timers due at the same instant
PAST_APPOINTMENT = datetime(2024, 3, 7, 9, 0, tzinfo=VN_TZ)  # after the overdue mark, before any escalation
BURST_AT = datetime(2024, 3, 8, 8, 0, tzinfo=VN_TZ)
DRAIN_TIMEOUT = 600.0  # seconds; about a tenth of it on a quiet 2-core machine
PROCESSES = 2  # one per core of the test machine

_BURST = """
INSERT INTO timer (case_code, name, "trigger", due_at, data, status, generation, claimed_until)
SELECT c.code, 'burst-' || lpad(n::text, 2, '0'), 'escalate', %(at)s, '{"step": 1}', 'armed',
       1000000000 + row_number() OVER (ORDER BY c.code, n), NULL
FROM "case" c CROSS JOIN generate_series(1, %(per)s) n WHERE c.code LIKE 'BURST-%%'
"""
_FIRED = """SELECT case_code, count(*), count(DISTINCT data->>'step') FROM audit_entry
            WHERE actor = 'motcua' AND "trigger" = 'escalate' GROUP BY case_code"""
_NOTICES = """SELECT case_code, count(*), count(*) FILTER (WHERE status = 'delivered' AND attempts = 1)
              FROM outbox WHERE kind = 'notify' AND payload->>'event' = 'escalation' GROUP BY case_code"""


def _past_the_appointment(url: str, codes: list[str]) -> None:
    """Fire every dossier's warning and overdue mark through the engine, then drop the timers left (the first
    escalation, due later): the burst's are the only timers."""
    clock = ManualClock(PAST_APPOINTMENT)
    app = open_motcua(url, clock=clock, observers=[])
    try:
        for _ in range(2):  # a case's timers are claimed one at a time: the warning, then the overdue mark
            claimed = app.store.claim_due(clock.now(), len(codes), timedelta(minutes=5))
            chunks = [claimed[n:n + 50] for n in range(0, len(claimed), 50)]
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(lambda chunk: app.service.fire_timers(chunk, app.store), chunks))
        assert {app.store.load(code).state["deadline"] for code in codes} == {"overdue"}
    finally:
        app.close()
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("DELETE FROM timer")
        connection.execute("UPDATE outbox SET status = 'delivered', attempts = 1")  # what came before the burst
        connection.execute(_BURST, {"at": BURST_AT, "per": PER_DOSSIER})


def test_twenty_thousand_timers_due_at_once_fire_and_notify_exactly_once(
    empty_database: str, redis_server: RedisServer, launch: Launch
) -> None:
    codes = [f"BURST-{n:04d}" for n in range(DOSSIERS)]
    receive_dossiers(empty_database, codes, at=RECEIVED_AT)
    settle_receipts(empty_database)
    _past_the_appointment(empty_database, codes)
    analyze(empty_database)
    ledger = Ledger(empty_database)
    assert ledger.progress()[1] == DOSSIERS * PER_DOSSIER

    started = time.monotonic()
    command = launch("burst", empty_database, redis_server.url, PROCESSES)
    drained = wait_for(lambda: _drained(empty_database), DRAIN_TIMEOUT, interval=0.5)
    seconds = time.monotonic() - started
    total = DOSSIERS * PER_DOSSIER
    print(f"\nburst: {total} timers and their notices drained in {seconds:.1f}s from the worker's start "
          f"({total / seconds:.0f} timers/s, {PROCESSES} processes)")
    assert drained, f"not drained in {DRAIN_TIMEOUT}s: {ledger.progress()}\n{command.summary()}"

    with psycopg.connect(empty_database) as connection:
        fired = {code: (n, steps) for code, n, steps in connection.execute(_FIRED)}
        notices = {code: (n, once) for code, n, once in connection.execute(_NOTICES)}
        left = connection.execute("SELECT count(*) FROM timer").fetchone()
    assert left == (0,)
    assert fired == {code: (PER_DOSSIER, 1) for code in codes}, "one entry per timer, no more, no fewer"
    assert notices == {code: (PER_DOSSIER, PER_DOSSIER) for code in codes}, "one notice each, delivered once"
    deliveries = command.deliveries()
    assert len(deliveries) == total and set(Counter(deliveries.values())) == {1}, "each notice reached once"
    assert ledger.chain_breaks() == []


def _drained(url: str) -> bool:
    """No timer left and no notice waiting."""
    with psycopg.connect(url, connect_timeout=5) as connection:
        row = connection.execute(
            "SELECT (SELECT count(*) FROM timer), (SELECT count(*) FROM outbox WHERE status <> 'delivered')"
        ).fetchone()
    return row == (0, 0)
