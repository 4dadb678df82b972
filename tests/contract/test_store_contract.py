"""The contract of :class:`motcua.workflow.engine.ports.CaseStore`, run on the memory store, SQLite and PostgreSQL.

Every store must behave like :class:`motcua.adapters.memory.store.MemoryStore`, the reference. The checks at
the end of the file (``sql_url``) look at what the SQL stores put in their tables.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from motcua.adapters.sql.codec import SqliteCodec
from motcua.adapters.sql.engine import dialect_url
from motcua.adapters.sql.store import SqlStore
from motcua.workflow.engine.audit import AuditEntry, verify_chains
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.engine.compiled import WorkflowSet
from motcua.workflow.engine.decisions import Decision, Engine
from motcua.workflow.engine.model import Case, DueTimer, SetTimer
from motcua.workflow.engine.ports import CaseStore
from motcua.workflow.engine.retry import Park
from motcua.workflow.errors import (
    CaseAlreadyExists,
    CaseNotFound,
    ConcurrencyConflict,
    InvalidInput,
    Retryable,
    StorageFailure,
    StorageUnavailable,
)
from tests.contract.conftest import APPLICANT, LEASE, OFFICER, OPENING, START, Desk, Snapshot, snapshot

CODE = "000.00.12.H01-250303-0001"


def unpositioned(entries: Iterator[AuditEntry] | list[AuditEntry]) -> list[AuditEntry]:
    return [replace(entry, position=None) for entry in entries]


# -- round trips ------------------------------------------------------------------------------------


def test_open_then_load_round_trips_every_field(desk: Desk) -> None:
    decomposed = unicodedata.normalize("NFD", APPLICANT)
    decision = desk.open(CODE, {**OPENING, "applicant": decomposed})

    loaded = desk.store.load(CODE)

    assert loaded == decision.case
    assert loaded.attributes["applicant"] == APPLICANT
    assert unicodedata.is_normalized("NFC", str(loaded.attributes["applicant"]))
    assert loaded.attributes["profile"] == {
        "người nộp": APPLICANT, "phí": 15000.5,
        "giấy tờ": [{"tên": "Căn cước công dân", "bản": 1}, {"tên": "Đơn đề nghị", "ghi chú": None}],
    }
    kinds = {name: type(loaded.attributes[name]) for name in ("fee", "pages", "urgent", "filed_on")}
    assert kinds == {"fee": float, "pages": int, "urgent": bool, "filed_on": str}
    assert loaded.state == {"lifecycle": "received", "deadline": "on_time"}
    for instant in (loaded.opened_at, loaded.updated_at):
        assert instant == START
        assert instant.utcoffset() is not None
        assert instant.microsecond == START.microsecond


def test_open_then_history_round_trips_the_entry(desk: Desk) -> None:
    decision = desk.open(CODE)

    [entry] = desk.store.history(CODE)

    assert entry.position is not None
    assert replace(entry, position=None) == decision.entry
    assert entry.occurred_at == START
    assert entry.occurred_at.utcoffset() is not None
    assert entry.changes == decision.entry.changes


def test_load_of_an_unknown_code_raises_case_not_found(store: CaseStore) -> None:
    with pytest.raises(CaseNotFound) as caught:
        store.load("không-có")
    assert caught.value.code == "không-có"
    assert list(store.history("không-có")) == []
    assert list(store.timers("không-có")) == []
    assert list(store.effects("không-có")) == []


# -- the unit of work -------------------------------------------------------------------------------


def test_commit_with_a_stale_version_conflicts_and_writes_nothing(desk: Desk) -> None:
    desk.open(CODE)
    stale = desk.decide(CODE, "start")  # decided at version 1 …
    desk.fire(CODE, "start")  # … but another writer got there first
    before = snapshot(desk.store, CODE)

    with pytest.raises(ConcurrencyConflict) as caught:
        desk.store.commit(stale)

    assert (caught.value.code, caught.value.expected_version) == (CODE, 1)
    assert snapshot(desk.store, CODE) == before
    assert len(before.history) == 2


def test_opening_an_existing_code_raises_case_already_exists(desk: Desk) -> None:
    desk.open(CODE)
    before = snapshot(desk.store, CODE)

    with pytest.raises(CaseAlreadyExists) as caught:
        desk.open(CODE, {**OPENING, "applicant": "Lê Thị Hồng"})

    assert caught.value.code == CODE
    assert snapshot(desk.store, CODE) == before


def test_commit_on_a_case_never_opened_raises_case_not_found(desk: Desk) -> None:
    opening = desk.engine.open("ho-so-thu", CODE, OFFICER, OPENING, rule_set="nd-118-2025")
    orphan = desk.engine.fire(opening.case, "start", OFFICER, {})

    with pytest.raises(CaseNotFound):
        desk.store.commit(orphan)

    assert snapshot(desk.store, CODE) == Snapshot(None, [], [], [], [])


def test_history_is_in_sequence_order(desk: Desk) -> None:
    decisions = [desk.open(CODE), desk.fire(CODE, "start")]
    decisions += [desk.fire(CODE, "note", {"text": f"lần {n}"}) for n in range(3)]
    decisions += [desk.fire(CODE, "extend", {"days": 5}), desk.fire(CODE, "return_result")]

    history = desk.store.history(CODE)

    assert [entry.sequence for entry in history] == list(range(1, 8))
    assert unpositioned(list(history)) == [decision.entry for decision in decisions]
    positions = [entry.position or 0 for entry in history]
    assert all(position > 0 for position in positions)
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert desk.store.load(CODE).attributes["notes"] == 3


def test_cases_and_entries_are_ordered_by_code_then_sequence(desk: Desk) -> None:
    codes = ["b-1", "A_1", "a-2", "a.1", "Ă-1", "a1", "Z", "a-10"]  # locale collations disagree here
    for code in codes:
        desk.open(code)
    for code in reversed(codes[::2]):
        desk.fire(code, "start")

    cases = desk.store.cases()
    entries = desk.store.entries()

    assert isinstance(cases, Iterator) and isinstance(entries, Iterator)
    assert [case.code for case in cases] == sorted(codes)
    keys = [(entry.case_code, entry.sequence) for entry in entries]
    assert keys == sorted(keys)
    assert len(keys) == len(codes) + len(codes[::2])


def test_verify_chains_finds_nothing_in_an_honest_store(desk: Desk) -> None:
    for number in range(1, 6):
        code = f"{CODE[:-1]}{number}"
        desk.open(code)
        for _ in range(number % 3):
            desk.fire(code, "start" if desk.store.load(code).state["lifecycle"] == "received" else "note")

    assert list(verify_chains(desk.store.cases(), desk.store.entries())) == []


# -- timers, effects, sequences ---------------------------------------------------------------------


def test_timers_are_set_rearmed_and_cancelled(desk: Desk) -> None:
    opened = desk.open(CODE)
    assert list(desk.store.timers(CODE)) == list(opened.timers)

    started = desk.fire(CODE, "start")
    reminder, deadline = opened.timers[0], started.timers[0]
    assert list(desk.store.timers(CODE)) == [deadline, reminder]  # ordered by name

    extended = desk.fire(CODE, "extend", {"days": 20})
    [rearmed] = extended.timers
    assert isinstance(rearmed, SetTimer) and isinstance(deadline, SetTimer)
    assert rearmed.due_at > deadline.due_at
    assert list(desk.store.timers(CODE)) == [rearmed, reminder]
    assert desk.store.timers(CODE)[0].data == {"kind": "gia hạn"}

    desk.fire(CODE, "return_result")
    assert list(desk.store.timers(CODE)) == []


def test_effects_are_recorded_in_commit_order(desk: Desk) -> None:
    decisions = [desk.open(CODE), desk.fire(CODE, "start"), desk.fire(CODE, "note"), desk.fire(CODE, "note"),
                 desk.fire(CODE, "return_result")]

    expected = [effect for decision in decisions for effect in decision.effects]
    assert list(desk.store.effects(CODE)) == expected
    assert [effect.kind for effect in expected] == ["notify", "portal_sync", "noted", "noted", "notify"]


def test_next_sequence_counts_per_scope(store: CaseStore) -> None:
    first, second = "UBND xã Đông Hưng/2025-03-03", "UBND xã Đông Hưng/2025-03-04"

    drawn = [store.next_sequence(first) for _ in range(3)]
    drawn += [store.next_sequence(second), store.next_sequence(first)]

    assert drawn == [1, 2, 3, 1, 4]


def test_next_sequence_never_hands_out_a_number_twice(store: CaseStore) -> None:
    scope = "UBND xã Đông Hưng/2025-03-05"
    drawn: list[int] = []

    def draw() -> None:
        drawn.extend(store.next_sequence(scope) for _ in range(25))

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(drawn) == list(range(1, 101))


@pytest.mark.parametrize("per_commit", [1, 2], ids=["decisions", "chains"])
def test_concurrent_writers_on_one_case_lose_and_duplicate_nothing(
    desk: Desk, workflows: WorkflowSet, per_commit: int
) -> None:
    """Writers race on one case, each committing ``per_commit`` decisions at a time: every commit lands whole
    or not at all, nothing is lost or doubled, the chain stays gapless."""
    desk.open(CODE)
    desk.fire(CODE, "start")
    writers, each = 4, 5
    clock = ManualClock(START + timedelta(days=1))

    def write() -> None:
        engine, landed = Engine(workflows, clock), 0
        while landed < each:
            decisions = [engine.fire(desk.store.load(CODE), "note", OFFICER, {})]
            while len(decisions) < per_commit:
                decisions.append(engine.fire(decisions[-1].case, "note", OFFICER, {}))
            try:
                desk.store.commit(*decisions)
            except ConcurrencyConflict:
                continue
            landed += 1

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    notes = writers * each * per_commit
    case = desk.store.load(CODE)
    assert (case.version, case.attributes["notes"]) == (2 + notes, notes)
    assert [entry.sequence for entry in desk.store.history(CODE)] == list(range(1, case.version + 1))
    assert [effect.payload["n"] for effect in desk.store.effects(CODE)[2:]] == list(range(1, notes + 1))
    assert list(verify_chains(desk.store.cases(), desk.store.entries())) == []


# -- what the SQL stores keep in their tables -------------------------------------------------------


@pytest.fixture
def sql_desk(sql_url: str, workflows: WorkflowSet) -> Iterator[Desk]:
    """A desk on a SQL store of its own, closed after the test (its pooled connections with it)."""
    clock = ManualClock(START)
    with SqlStore.from_url(sql_url) as store:
        yield Desk(store, Engine(workflows, clock), clock)


def _rows(store: CaseStore, query: str) -> list[tuple[object, ...]]:
    assert isinstance(store, SqlStore)
    with store.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(query))]


def test_sql_json_is_stored_as_readable_utf8(sql_desk: Desk) -> None:
    desk = sql_desk
    desk.open(CODE)

    [(attributes,)] = _rows(desk.store, 'SELECT CAST(attributes AS TEXT) FROM "case"')

    assert isinstance(attributes, str)
    assert APPLICANT in attributes and "Căn cước công dân" in attributes
    assert "\\u" not in attributes


def test_sql_instants_come_back_aware_in_utc(sql_desk: Desk) -> None:
    desk = sql_desk
    desk.open(CODE)

    case = desk.store.load(CODE)
    [timer] = desk.store.timers(CODE)

    for instant in (case.opened_at, desk.store.history(CODE)[0].occurred_at, timer.due_at):
        assert instant.tzinfo is UTC
    assert case.opened_at == START and timer.due_at == START + timedelta(days=3)


def test_sql_rearming_a_timer_takes_the_entry_position_and_frees_its_claim(sql_desk: Desk) -> None:
    desk = sql_desk
    desk.open("another-case")  # so that positions and sequences differ
    desk.open(CODE)
    desk.fire(CODE, "start")
    assert isinstance(desk.store, SqlStore)
    with desk.store.engine.begin() as connection:
        connection.execute(sa.text("UPDATE timer SET claimed_until = due_at WHERE name = 'deadline'"))

    desk.fire(CODE, "extend", {"days": 3})
    desk.fire(CODE, "extend", {"days": 4})

    query = f"SELECT name, status, generation, claimed_until FROM timer WHERE case_code = '{CODE}' ORDER BY name"
    positions = [entry.position for entry in desk.store.history(CODE)]
    assert positions[0] != 1
    assert _rows(desk.store, query) == [("deadline", "armed", positions[3], None),
                                        ("reminder", "armed", positions[0], None)]


def test_sql_outbox_rows_are_pending_and_point_at_their_entry(sql_desk: Desk) -> None:
    desk = sql_desk
    opened = desk.open(CODE)
    started = desk.fire(CODE, "start")

    rows = _rows(desk.store, "SELECT kind, position, status, attempts, last_error FROM outbox ORDER BY id")

    positions = [entry.position for entry in desk.store.history(CODE)]
    assert rows == [
        ("notify", positions[0], "pending", 0, None), ("portal_sync", positions[1], "pending", 0, None),
    ]
    assert [effect for decision in (opened, started) for effect in decision.effects] == list(
        desk.store.effects(CODE)
    )


def test_sqlite_file_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    with SqlStore.from_url(f"sqlite:///{tmp_path}/wal.db", migrate=True) as store:
        assert _rows(store, "PRAGMA journal_mode") == [("wal",)]
        assert _rows(store, "PRAGMA foreign_keys") == [(1,)]


def test_sqlite_claims_use_their_partial_indexes(tmp_path: Path) -> None:
    """The PostgreSQL plans are asserted in tests/integration/test_postgres_claims.py."""
    with SqlStore.from_url(f"sqlite:///{tmp_path}/plans.db", migrate=True) as store:
        claims = (store.queries.claim_due(10), store.queries.claim_effects(10))  # what claim_due(…, 10, …) runs
        args = {"now": SqliteCodec().instant(START), "until": SqliteCodec().instant(START + LEASE), "token": "t"}
        with store.engine.connect() as connection:
            plans = [" / ".join(str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", args))
                     for sql in claims]

    assert len(plans) == 2
    assert "USING INDEX ix_timer_armed_due_at (due_at<?)" in plans[0]
    assert "USING INDEX ix_outbox_pending_id" in plans[1]


def test_sqlite_memory_is_one_database_for_every_connection(workflows: WorkflowSet) -> None:
    with SqlStore.from_url("sqlite://", migrate=True) as store:
        clock = ManualClock(START)
        desk = Desk(store, Engine(workflows, clock), clock)
        opened = desk.open(CODE)
        desk.fire(CODE, "start")

        assert store.load(CODE).version == 2
        assert unpositioned(list(store.history(CODE)))[0] == opened.entry
        assert list(verify_chains(store.cases(), store.entries())) == []


# -- URLs and failures ------------------------------------------------------------------------------


def test_postgresql_urls_use_psycopg_3() -> None:
    for url in ("postgresql://u@db/motcua", "postgres://u@db/motcua", "postgresql+psycopg2://u@db/motcua"):
        assert dialect_url(url).drivername == "postgresql+psycopg"
    with SqlStore.from_url("postgresql://u@db.invalid/motcua") as store:  # creating it does not connect
        assert store.engine.dialect.driver == "psycopg"
    with pytest.raises(InvalidInput):
        dialect_url("mysql://u@db/motcua")


@pytest.mark.parametrize("url", [
    pytest.param("postgresql://postgres@127.0.0.1:9/motcua", id="postgres-closed-port"),
    pytest.param("sqlite:////nonexistent-directory/motcua.db", id="sqlite-missing-directory"),
])
def test_an_unreachable_database_raises_storage_unavailable(url: str, workflows: WorkflowSet) -> None:
    with SqlStore.from_url(url) as store:
        decision: Decision = Engine(workflows, ManualClock(START)).open(
            "ho-so-thu", CODE, OFFICER, OPENING, rule_set="nd-118-2025"
        )
        timer = DueTimer(CODE, "deadline", "expire", START, {}, generation=1)
        attempts: list[Callable[[], object]] = [
            lambda: store.load(CODE), lambda: store.commit(decision), lambda: store.next_sequence("x"),
            lambda: list(store.cases()), lambda: store.claim_due(START, 10, LEASE), lambda: store.discard(timer),
            lambda: store.armed_count(START), lambda: store.claim_effects(START, 10, LEASE),
            lambda: store.delivered(1, START), lambda: store.failed(1, "x", Park("x")), store.parked,
            lambda: store.requeue(None, START),
        ]
        for attempt in attempts:
            with pytest.raises(StorageUnavailable):
                attempt()


def test_a_failure_half_way_through_a_commit_writes_nothing(sql_desk: Desk) -> None:
    desk = sql_desk
    assert isinstance(desk.store, SqlStore)
    with desk.store.engine.begin() as connection:  # the outbox insert, last in the commit, will fail
        connection.execute(sa.text("DROP TABLE outbox"))

    with pytest.raises(StorageFailure) as caught:
        desk.open(CODE)

    assert not isinstance(caught.value, Retryable)
    assert snapshot_without_effects(desk.store) == ([], [], [])


def snapshot_without_effects(store: CaseStore) -> tuple[list[Case], list[AuditEntry], list[SetTimer]]:
    return list(store.cases()), list(store.entries()), list(store.timers(CODE))
