"""Timers under failure: real PostgreSQL, a real Redis, real ``motcua worker`` processes, nothing mocked.

Every scenario counts, by SQL, the audit entries the timers produced: exactly one per (dossier,
trigger), no timer row left, one notice per fired timer (written in the same transaction as its
entry), and every hash chain verifies. A failure prints how many are missing or doubled, with
examples, and the end of each worker's log.

The workers run with a 5-second lease: what a killed process or a restarted Redis loses is claimed
and sent again within seconds, and the commit that consumes the timer row keeps it from firing twice.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import make_url

from motcua.adapters.bootstrap import open_motcua
from motcua.workers.actors import declare_actors
from motcua.workers.broker import queued_messages, redis_broker
from motcua.workers.handlers import Handlers
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.model import Actor, DueTimer
from motcua.workflow.engine.service import CaseService
from tests.reliability.conftest import OFFICER, PROCEDURE, Launch, Seeded, receive_dossiers, settle_receipts
from tests.reliability.harness import TIMER_TRIGGERS, Ledger, Outcome, RedisServer, TcpProxy, WorkerCommand, wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.integration]

RUN_TIMEOUT = 300.0  # seconds for 10,000 timers; about a fifth of it on a quiet 2-core machine
MID_RUN = 0.2  # the failure strikes once this share of the timers has fired
HANDLER_THREADS = 2 * 4  # the database-cut scenario's worker processes × threads (WORKER_OPTIONS)
SPECIALIST = Actor.of("Phạm Văn Hùng", "specialist")
LEADER = Actor.of("Lê Minh Tuấn", "leader")


def expected_entries(codes: Iterable[str]) -> list[tuple[str, str]]:
    return [(code, trigger) for code in codes for trigger in TIMER_TRIGGERS]


def finish(ledger: Ledger, expected: Sequence[tuple[str, str]], commands: Sequence[WorkerCommand],
           timeout: float = RUN_TIMEOUT) -> Outcome:
    """Wait until no timer row is left (or ``timeout``), then judge the run; print what it took."""
    started = time.monotonic()
    wait_for(lambda: _settled(ledger, len(expected)), timeout, interval=0.5)
    seconds = time.monotonic() - started
    outcome = ledger.outcome(expected)
    print(f"{sum(outcome.fired.values())} timer entries ({len(expected)} expected) {seconds:.1f}s after the wait began")
    assert outcome.exactly_once, outcome.describe() + "\n" + "\n".join(c.summary() for c in commands)
    assert not outcome.chain_breaks, outcome.describe()
    return outcome


def _settled(ledger: Ledger, total: int) -> bool:
    fired, left = ledger.progress()
    return left == 0 and fired >= total


def fired_share(ledger: Ledger, total: int, share: float, commands: Sequence[WorkerCommand]) -> int:
    """Wait until ``share`` of the timers fired; returns how many had."""
    reached = wait_for(lambda: ledger.progress()[0] >= share * total, RUN_TIMEOUT, interval=0.1)
    fired = ledger.progress()[0]
    assert reached, f"only {fired} of {total} fired\n" + "\n".join(c.summary() for c in commands)
    return fired


def test_ten_thousand_timers_fire_exactly_once_on_three_worker_processes(
    copy_of_seeded: str, seeded: Seeded, redis_server: RedisServer, launch: Launch
) -> None:
    expected = expected_entries(seeded.codes)
    assert len(expected) >= 10_000
    ledger = Ledger(copy_of_seeded)
    started = time.monotonic()
    # two `motcua worker` commands, as on two machines: two dispatchers claiming side by side, 2 + 1 processes
    commands = [launch("a", copy_of_seeded, redis_server.url, 2), launch("b", copy_of_seeded, redis_server.url, 1)]
    finish(ledger, expected, commands)
    elapsed = time.monotonic() - started
    print(f"{len(expected)} timers in {elapsed:.1f}s from start: {len(expected) / elapsed:.0f} timers/s")
    assert [command.stop() for command in commands] == [0, 0], "SIGTERM must stop a worker cleanly"
    broken = [line for command in commands for line in command.broken_lines()]
    assert broken == [], f"{len(broken)} log lines are not one JSON object each, e.g. {broken[:1]}"


def test_a_worker_process_killed_mid_run_loses_nothing_and_repeats_nothing(
    copy_of_seeded: str, seeded: Seeded, redis_server: RedisServer, launch: Launch
) -> None:
    expected = expected_entries(seeded.codes)
    ledger = Ledger(copy_of_seeded)
    commands = [launch("a", copy_of_seeded, redis_server.url, 3)]
    fired_share(ledger, len(expected), MID_RUN, commands)
    victim = commands[0].kill_worker_process()
    at_kill = ledger.progress()[0]
    print(f"killed worker process {victim} (SIGKILL) with {at_kill} of {len(expected)} fired")
    assert 0 < at_kill < len(expected), "the kill must land mid-run"
    finish(ledger, expected, commands)
    assert wait_for(lambda: commands[0].events()["worker.process.died"] >= 1, 10), commands[0].summary()
    assert len(commands[0].worker_pids()) == 3, "the dead worker process is replaced"


def test_redis_killed_and_restarted_mid_run_loses_nothing_and_repeats_nothing(
    copy_of_seeded: str, seeded: Seeded, redis_server: RedisServer, launch: Launch
) -> None:
    expected = expected_entries(seeded.codes)
    ledger = Ledger(copy_of_seeded)
    commands = [launch("a", copy_of_seeded, redis_server.url, 3)]
    fired_share(ledger, len(expected), MID_RUN, commands)
    redis_server.kill()  # every queued message and every unacknowledged one is gone with it
    at_kill = ledger.progress()[0]
    assert wait_for(lambda: all(c.events()["dispatch.send_failed"] for c in commands), 15), \
        "the dispatchers must notice Redis is gone\n" + "\n".join(c.summary() for c in commands)
    redis_server.start()
    print(f"Redis killed with {at_kill} of {len(expected)} fired, restarted empty at {ledger.progress()[0]}")
    assert 0 < at_kill < len(expected), "the kill must land mid-run"
    finish(ledger, expected, commands)


def test_a_dossier_returned_before_its_appointment_is_never_marked_overdue(
    empty_database: str, redis_server: RedisServer, launch: Launch
) -> None:
    """Returned before the warning, or after it with its overdue message already claimed and on its way:
    no overdue mark, no escalation, while the worker (on today's clock) runs far past the appointments."""
    clock = ManualClock(datetime(2024, 3, 4, 8, 0, tzinfo=VN_TZ))
    early, late, control = ([f"{group}-{n}" for n in range(5)] for group in ("EARLY", "LATE", "CONTROL"))
    in_flight = _prepare_returns(empty_database, clock, early, late)
    receive_dossiers(empty_database, control, at=clock.now())
    ledger = Ledger(empty_database)
    command = launch("a", empty_database, redis_server.url, 1)
    broker = redis_broker(redis_server.url)
    try:
        sink = declare_actors(broker, _never)
        for timer in in_flight:  # the overdue marks claimed before the dossiers were returned, delivered now
            sink.send_timer(timer)
        settled = wait_for(lambda: _settled(ledger, 3 * len(control)) and queued_messages(broker) == 0, RUN_TIMEOUT)
    finally:
        broker.close()
    outcome = ledger.outcome([*expected_entries(control), *((code, "mark_due_soon") for code in late)])
    assert settled and outcome.exactly_once, outcome.describe() + "\n" + command.summary()
    assert not outcome.chain_breaks, outcome.describe()
    marked = [key for key in outcome.fired if key[0] in {*early, *late} and key[1] != "mark_due_soon"]
    assert marked == [], f"returned dossiers got {marked}"


def _prepare_returns(url: str, clock: ManualClock, early: list[str], late: list[str]) -> list[DueTimer]:
    """Receive both groups; return ``early`` before its warning; fire ``late``'s warning, claim its overdue
    mark as a dispatcher would at the appointment, then return it first. Returns the claimed marks."""
    app = open_motcua(url, clock=clock, observers=[])
    try:
        for code in (*early, *late):
            app.desk.receive(PROCEDURE, "direct", Applicant(f"Người nộp {code}"), OFFICER, code=code)
        clock.set(datetime(2024, 3, 5, 9, 0, tzinfo=VN_TZ))
        for code in early:
            _return(app.service, code)
        clock.set(datetime(2024, 3, 6, 9, 0, tzinfo=VN_TZ))  # past the warning, before the appointment
        warnings = app.store.claim_due(clock.now(), 100, timedelta(minutes=5))
        assert sorted(t.case_code for t in warnings) == sorted(late), warnings
        for timer in warnings:
            assert app.service.fire_timer(timer, app.store) is not None
        appointment = datetime(2024, 3, 7, 8, 0, tzinfo=VN_TZ)
        marks = app.store.claim_due(appointment, 100, timedelta(minutes=5))
        assert sorted((t.case_code, t.trigger) for t in marks) == [(code, "mark_overdue") for code in sorted(late)]
        clock.set(datetime(2024, 3, 6, 10, 0, tzinfo=VN_TZ))
        for code in late:
            _return(app.service, code)
            assert app.store.timers(code) == []
        return marks
    finally:
        app.close()


def _return(service: CaseService, code: str) -> None:
    """Take a dossier from reception to the result handed back (its clock stops, its timers go)."""
    for trigger, actor, data in (
        ("assign", OFFICER, {"assignee": SPECIALIST.name}),
        ("submit_for_approval", SPECIALIST, {"approver": LEADER.name}),
        ("approve", LEADER, {}),
        ("mark_result_ready", SPECIALIST, {}),
        ("return_result", OFFICER, {}),
    ):
        service.fire(code, trigger, actor, data)


def _never() -> Handlers:
    raise AssertionError("the test process only sends")


def test_the_database_cut_mid_run_leaves_no_partial_write_and_every_timer_fires_once(
    empty_database: str, redis_server: RedisServer, launch: Launch
) -> None:
    codes = [f"CUT-{n:04d}" for n in range(300)]  # 900 timers: enough for a cut mid-run
    receive_dossiers(empty_database, codes)
    settle_receipts(empty_database)
    expected = expected_entries(codes)
    ledger = Ledger(empty_database)
    url = make_url(empty_database)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.start()
    try:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        commands = [launch("a", proxied, redis_server.url, 2)]
        fired_share(ledger, len(expected), MID_RUN, commands)
        open_connections = proxy.cut()
        time.sleep(0.5)  # a COMMIT the server had received before the cut may still be finishing
        at_cut = ledger.progress()[0]
        time.sleep(4)  # nearly a lease: claims run out while the database is away
        during = ledger.progress()[0]
        noticed = wait_for(lambda: any("StorageUnavailable" in line for line in commands[0].lines()), 10)
        assert noticed, "the workers must have met the outage\n" + commands[0].summary()
        proxy.restore()
        print(f"database cut ({open_connections} connections) at {at_cut} of {len(expected)} fired, restored")
        assert at_cut == during, "nothing can commit while the database is unreachable"
        assert 0 < at_cut < len(expected), "the cut must land mid-run"
        finish(ledger, expected, commands)
    finally:
        proxy.close()
    repeated = {effect: n for effect, n in commands[0].deliveries().items() if n > 1}
    print(f"{len(repeated)} effects delivered more than once: {sorted(repeated.items())[:10]}")
    # only a delivery cut off before it could be recorded is repeated: about one per handler thread at the
    # cut, and as many again on pooled connections found dead after the restore (not one per retry: the
    # retry storm, hundreds of repeats in this scenario, is what the read before delivering stopped)
    assert len(repeated) <= 2 * HANDLER_THREADS, repeated
