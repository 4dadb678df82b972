"""commit_each as its rule says (:mod:`motcua.workflow.engine.batches`), on every store: a unit opening a case (its
first decision at version 0) is written when no case holds the code, beside the other units of the batch, and refused
alone (``CaseAlreadyExists``) when one does — as its lone commit would be. The same claimed timers sent in two
batches (two dispatchers, a lease run out) and fired at the same time by two workers fire once each. A database
that refuses one case's write fails that case's timers only, not the batch's."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Final

import pytest

from motcua.adapters.notifiers import LogNotifier
from motcua.adapters.sql.store import SqlStore
from motcua.workers.dispatcher import Dispatcher
from motcua.workers.handlers import Handlers
from motcua.workers.inline import InlineSink
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.engine.compiled import WorkflowSet
from motcua.workflow.engine.decisions import Engine
from motcua.workflow.engine.model import Case
from motcua.workflow.engine.service import CaseService, FiredTimers
from motcua.workflow.errors import CaseAlreadyExists, StorageFailure
from tests.contract.conftest import KEY, LEASE, OFFICER, OPENING, RULE_SET, START, Desk

DAY = timedelta(days=1)
FIRST, SECOND, THIRD = (f"000.00.12.H01-250303-{n:04d}" for n in (7, 8, 9))


def test_a_unit_opening_a_case_is_written_beside_the_others(desk: Desk) -> None:
    desk.open(FIRST)
    desk.fire(FIRST, "start")
    [reminder] = desk.claim(3 * DAY + timedelta(hours=1))
    fired = desk.consume(reminder)
    opened = desk.engine.open(KEY, SECOND, OFFICER, OPENING, rule_set=RULE_SET)

    assert desk.store.commit_each([[fired], [opened]]).refused == [None, None]

    assert desk.store.load(FIRST) == fired.case and desk.store.load(SECOND) == opened.case
    assert [entry.trigger for entry in desk.store.history(SECOND)] == [opened.entry.trigger]


def test_a_unit_opening_a_case_already_there_is_refused_alone(desk: Desk) -> None:
    desk.open(FIRST)
    desk.open(THIRD)
    again = desk.engine.open(KEY, THIRD, OFFICER, OPENING, rule_set=RULE_SET)
    moved = desk.decide(FIRST, "start")

    refused = desk.store.commit_each([[moved], [again]]).refused

    assert refused[0] is None and isinstance(refused[1], CaseAlreadyExists)
    assert desk.store.load(FIRST) == moved.case and desk.store.load(THIRD).version == 1


def test_the_same_timers_in_two_batches_fired_at_once_fire_once_each(desk: Desk) -> None:
    codes = [FIRST, SECOND, THIRD]
    for code in codes:
        desk.open(code)
        desk.fire(code, "start")
    claimed = desk.claim(3 * DAY + timedelta(hours=1))
    assert sorted(timer.case_code for timer in claimed) == codes
    both_loaded = threading.Barrier(2)  # each worker has read the cases before either commits
    load_many = desk.store.load_many

    def load_then_wait(loaded_codes: Sequence[str]) -> Mapping[str, Case]:
        loaded = load_many(loaded_codes)
        both_loaded.wait(timeout=30)
        return loaded

    service = CaseService(desk.engine, desk.store)
    original = desk.store.load_many
    desk.store.load_many = load_then_wait  # type: ignore[method-assign]  # both batches decide on the same state
    try:
        with ThreadPoolExecutor(2) as pool:
            runs: list[FiredTimers] = list(pool.map(lambda _: service.fire_timers(claimed, desk.store), range(2)))
    finally:
        desk.store.load_many = original  # type: ignore[method-assign]

    assert sum(run.fired for run in runs) == len(codes)
    fired = [[e.trigger for e in desk.store.history(code) if e.actor == "motcua"] for code in codes]
    assert fired == [["remind"]] * len(codes)
    assert desk.store.claim_due(desk.clock.now() + LEASE, 100, LEASE) == []


REFUSING = {  # the database refuses any change of one case's row (a privilege it lacks, a constraint, a trigger)
    "postgresql": [
        "CREATE FUNCTION refuse_case() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'permission denied' USING ERRCODE = '42501'; END $$",
        f"CREATE TRIGGER refuse_case BEFORE UPDATE ON \"case\" FOR EACH ROW WHEN (NEW.code = '{SECOND}') "
        "EXECUTE FUNCTION refuse_case()",
    ],
    "sqlite": [
        f"CREATE TRIGGER refuse_case BEFORE UPDATE ON \"case\" FOR EACH ROW WHEN NEW.code = '{SECOND}' "
        "BEGIN SELECT RAISE(ABORT, 'permission denied'); END",
    ],
}
REFUSING_TIMERS = {  # and the record of its timers' failures: not even that can be written (claims still can)
    "postgresql": [
        "CREATE TRIGGER refuse_timer BEFORE UPDATE ON timer FOR EACH ROW "
        f"WHEN (NEW.case_code = '{SECOND}' AND NEW.attempts > OLD.attempts) EXECUTE FUNCTION refuse_case()",
    ],
    "sqlite": [
        "CREATE TRIGGER refuse_timer BEFORE UPDATE ON timer FOR EACH ROW "
        f"WHEN NEW.case_code = '{SECOND}' AND NEW.attempts > OLD.attempts "
        "BEGIN SELECT RAISE(ABORT, 'permission denied'); END",
    ],
}


CODES: Final = (FIRST, SECOND, THIRD)


def _started(store: SqlStore, workflows: WorkflowSet) -> Desk:
    """The three cases opened and started on ``store``, their reminders due in three days."""
    clock = ManualClock(START)
    desk = Desk(store, Engine(workflows, clock), clock)
    for code in CODES:
        desk.open(code)
        desk.fire(code, "start")
    return desk


def _refuse_second(store: SqlStore, refusing: dict[str, list[str]] = REFUSING) -> None:
    """From now on the database refuses every change of SECOND's row (:data:`REFUSING`), or of its timers' rows
    (:data:`REFUSING_TIMERS`)."""
    with store.engine.begin() as connection:
        for statement in refusing[store.engine.dialect.name]:
            connection.exec_driver_sql(statement)


def _fired(store: SqlStore) -> dict[str, list[str]]:
    return {code: [e.trigger for e in store.history(code) if e.actor == "motcua"] for code in CODES}


def test_a_database_error_on_one_case_holds_back_none_of_the_others(sql_url: str, workflows: WorkflowSet) -> None:
    with SqlStore.from_url(sql_url) as store:
        desk = _started(store, workflows)
        claimed = desk.claim(3 * DAY + timedelta(hours=1))
        _refuse_second(store)

        fired = CaseService(desk.engine, store).fire_timers(claimed, store)

        assert _fired(store) == {FIRST: ["remind"], SECOND: [], THIRD: ["remind"]}  # before: none of the three
        [failure] = fired.failed  # the timer's failure: tried again after a growing wait, then parked
        assert (failure.timer.case_code, failure.error.split(":")[0]) == (SECOND, "StorageFailure")
        [left] = store.claim_due(desk.clock.now() + timedelta(minutes=1), 100, LEASE)  # the first wait: a minute
        assert (left.case_code, left.name, left.attempts) == (SECOND, "reminder", 1)
        with pytest.raises(StorageFailure):  # not even its failure can be recorded: the message's to retry
            _refuse_second(store, REFUSING_TIMERS)
            CaseService(desk.engine, store).fire_timers([left], store)


def test_a_worker_in_the_dispatchers_process_drops_a_failed_message_and_handles_the_next(
    sql_url: str, workflows: WorkflowSet,
) -> None:
    """Without a broker the dispatcher hands each message to the handlers in its own process; one that failed for
    good is dropped (told, and brought back by its lease), as a worker process drops it — it is no reason to leave the
    tick's other messages unsent until their lease runs out, nor to claim no effect."""
    with SqlStore.from_url(sql_url) as store:
        desk = _started(store, workflows)
        clock = desk.clock
        clock.advance(3 * DAY + timedelta(hours=1))
        _refuse_second(store)
        _refuse_second(store, REFUSING_TIMERS)  # not even its timer's failure can be recorded: the message fails
        handlers = Handlers(CaseService(desk.engine, store), store, store, LogNotifier(), clock)
        dropped: list[tuple[str, str]] = []
        sink = InlineSink(handlers, dropped=lambda what, error: dropped.append((what, type(error).__name__)))
        dispatcher = Dispatcher(store, store, sink, clock, lease=LEASE, batch_size=1)

        report = dispatcher.tick()

        assert _fired(store) == {FIRST: ["remind"], SECOND: [], THIRD: ["remind"]}  # before: THIRD waited out the lease
        assert dropped == [("timer", "StorageFailure")] and report.send_errors == 0
        assert report.effects > 0  # the notices of the opened cases were claimed and delivered in the same tick
