"""Timer and outbox claims on a real PostgreSQL: several dispatchers side by side, and the claim plans.

The claims are ``… FOR UPDATE SKIP LOCKED``: dispatchers never wait for each other and never hand out
one timer twice while its lease holds. The claims must find the few due rows through their partial
index, never by reading the table: the plans are asserted here (on a table of 100,000 timers, analysed), both
as planned for the values at hand and as the generic plan a prepared statement may switch to.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from motcua.adapters.sql.store import SqlStore
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.engine.compiled import WorkflowSet
from motcua.workflow.engine.decisions import Engine
from motcua.workflow.engine.model import DueTimer
from motcua.workflow.engine.service import CaseService
from motcua.workflow.errors import ConcurrencyConflict
from tests.contract.conftest import KEY, OFFICER, OPENING, RULE_SET, definition, registry

pytestmark = pytest.mark.integration

NOW = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)
LONG_LEASE = timedelta(hours=1)
CLAIMERS = 4
SCAN_NODES = frozenset({"Index Scan", "Index Only Scan", "Bitmap Index Scan"})


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    with SqlStore.from_url(database_url) as opened:
        yield opened


def _fill_timers(store: SqlStore, cases: int, per_case: int, due_every: int) -> int:
    """``cases × per_case`` armed timers; one in ``due_every`` is due at NOW, the others over the next
    months. Returns how many are due. Written directly: this is about the claim, not the commit."""
    with store.engine.begin() as connection:
        connection.execute(sa.text(
            """INSERT INTO "case" SELECT 'C' || lpad(c::text, 7, '0'), 'k', 1, 'r', '{}', '{}', 1, 'h', :now, :now
               FROM generate_series(1, :cases) c"""), {"now": NOW, "cases": cases})
        connection.execute(sa.text(
            """INSERT INTO timer SELECT 'C' || lpad(c::text, 7, '0'), 't' || n, 'expire',
                 CASE WHEN (c * :per_case + n) % :due_every = 0 THEN CAST(:now AS timestamptz) - interval '1 hour'
                      ELSE CAST(:now AS timestamptz) + (c * :per_case + n) * interval '1 minute' END,
                 '{}', 'armed', c * :per_case + n, NULL
               FROM generate_series(1, :cases) c, generate_series(0, :per_case - 1) n"""),
            {"now": NOW, "cases": cases, "per_case": per_case, "due_every": due_every})
        due = connection.execute(sa.text("SELECT count(*) FROM timer WHERE due_at <= :now"), {"now": NOW})
        count = int(due.scalar_one())
    _analyze(store)
    return count


def _fill_outbox(store: SqlStore, rows: int, pending_every: int) -> None:
    """``rows`` outbox rows of one case, delivered but for one in ``pending_every``."""
    with store.engine.begin() as connection:
        connection.execute(sa.text(
            """INSERT INTO "case" VALUES ('O-1', 'k', 1, 'r', '{}', '{}', 1, 'h', :now, :now)"""), {"now": NOW})
        connection.execute(sa.text(
            """INSERT INTO audit_entry (case_code, sequence, occurred_at, actor, role, trigger, state_before,
                 state_after, data, changes, definition_key, definition_version, rule_set, prev_hash, hash,
                 schema_version)
               VALUES ('O-1', 1, :now, 'a', 'officer', 'open', '{}', '{}', '{}', '{}', 'k', 1, 'r', 'p', 'h', 1)"""),
            {"now": NOW})
        connection.execute(sa.text(
            """INSERT INTO outbox (case_code, position, kind, payload, status, attempts, next_attempt_at, created_at)
               SELECT 'O-1', (SELECT max(position) FROM audit_entry), 'notify', '{}',
                 CASE WHEN n % :every = 0 THEN 'pending' ELSE 'delivered' END, 1, :now, :now
               FROM generate_series(1, :rows) n"""), {"now": NOW, "rows": rows, "every": pending_every})
    _analyze(store)


def _analyze(store: SqlStore) -> None:
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("ANALYZE"))


# -- the plans --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """The SQL text and parameters of a claim, as the store sends them to the server."""

    statement: str
    parameters: dict[str, Any]

    @classmethod
    def of(cls, statement: str, lease: timedelta) -> Claim:
        return cls(statement, {"now": NOW, "until": NOW + lease, "token": "plan"})  # the effects' claim token


def _plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _plan_nodes(child)


def _custom_plan(store: SqlStore, claim: Claim) -> list[dict[str, Any]]:
    with store.engine.connect() as connection:
        explained = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {claim.statement}", claim.parameters)
        [document] = explained.scalar_one()
        connection.rollback()
    return list(_plan_nodes(document["Plan"]))


def _generic_plan(store: SqlStore, claim: Claim) -> list[dict[str, Any]]:
    """The plan a prepared statement gets when PostgreSQL stops planning for the values at hand."""
    names: list[str] = []
    for name in re.findall(r"%\((\w+)\)s", claim.statement):
        if name not in names:
            names.append(name)
    numbered = re.sub(r"%\((\w+)\)s", lambda found: f"${names.index(found.group(1)) + 1}", claim.statement)
    arguments = ", ".join(_literal(claim.parameters[name]) for name in names)  # EXECUTE binds no parameters
    with store.engine.connect() as connection:
        connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        connection.exec_driver_sql(f"PREPARE claim AS {numbered}")
        explained = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) EXECUTE claim({arguments})")
        [document] = explained.scalar_one()
        connection.rollback()
        connection.exec_driver_sql("DEALLOCATE claim")
        connection.exec_driver_sql("RESET plan_cache_mode")
    return list(_plan_nodes(document["Plan"]))


def _literal(value: object) -> str:
    if isinstance(value, str):  # the claim's token
        return f"TEXT '{value}'"
    assert isinstance(value, datetime), f"only instants and a token are bound in a claim, not {value!r}"
    return f"TIMESTAMPTZ '{value.isoformat()}'"


def _assert_found_through(nodes: list[dict[str, Any]], index: str, table: str) -> None:
    scans = [node["Node Type"] for node in nodes if node.get("Index Name") == index]
    assert set(scans) & SCAN_NODES, f"{index} is not used: {[node['Node Type'] for node in nodes]}"
    full = [node for node in nodes if node["Node Type"] == "Seq Scan" and node.get("Relation Name") == table]
    assert full == [], f"the claim reads the whole {table} table"


def test_the_timer_claim_finds_due_timers_through_its_partial_index(store: SqlStore) -> None:
    # 100,000 armed, 40 due. At 20,000 rows PostgreSQL may rightly hash the whole (small) table to find each due
    # timer's earlier ones: it did once the timer rows grew by two columns (migration 0018). What must hold is the
    # plan at scale, where a scan would cost: from 40,000 rows on, the probe goes through the primary key.
    due = _fill_timers(store, cases=10_000, per_case=10, due_every=2_500)
    claim = Claim.of(store.queries.claim_due(50), LONG_LEASE)

    claimed = store.claim_due(NOW, 50, LONG_LEASE)

    assert len(claimed) == due == 40
    for plan in (_custom_plan(store, claim), _generic_plan(store, claim)):
        _assert_found_through(plan, "ix_timer_armed_due_at", "timer")


def test_the_outbox_claim_finds_pending_effects_through_its_partial_index(store: SqlStore) -> None:
    _fill_outbox(store, rows=20_000, pending_every=400)  # 50 pending among 20,000 kept
    claim = Claim.of(store.queries.claim_effects(20), LONG_LEASE)

    claimed = store.claim_effects(NOW, 20, LONG_LEASE)

    assert len(claimed) == 20
    for plan in (_custom_plan(store, claim), _generic_plan(store, claim)):
        _assert_found_through(plan, "ix_outbox_pending_id", "outbox")


# -- dispatchers side by side -----------------------------------------------------------------------


def _claim_until_empty(url: str, start: threading.Barrier) -> list[DueTimer]:
    """One dispatcher (its own pool, as on its own machine): claim batches of 50 until none is left."""
    claimed: list[DueTimer] = []
    with SqlStore.from_url(url) as own:
        start.wait()
        while batch := own.claim_due(NOW, 50, LONG_LEASE):
            claimed.extend(batch)
    return claimed


def test_four_dispatchers_claim_every_timer_exactly_once(database_url: str, store: SqlStore) -> None:
    due = _fill_timers(store, cases=2_000, per_case=1, due_every=1)  # 2,000 timers, all due
    start = threading.Barrier(CLAIMERS)

    with ThreadPoolExecutor(CLAIMERS) as pool:
        claims = list(pool.map(lambda _: _claim_until_empty(database_url, start), range(CLAIMERS)))

    keys = [(timer.case_code, timer.name) for claim in claims for timer in claim]
    assert due == 2_000
    assert len(keys) == len(set(keys)) == due  # no timer twice, none left behind
    assert store.claim_due(NOW, 5_000, LONG_LEASE) == []  # every lease still holds
    assert len(store.claim_due(NOW + LONG_LEASE, 5_000, LONG_LEASE)) == due  # then they all lapse


def test_a_claim_skips_the_rows_another_claim_is_locking(store: SqlStore) -> None:
    _fill_timers(store, cases=100, per_case=1, due_every=1)
    with store.engine.connect() as other:  # another dispatcher, mid-claim on the ten oldest
        locked = other.execute(sa.text(
            "SELECT case_code FROM timer ORDER BY due_at, case_code LIMIT 10 FOR UPDATE")).scalars().all()
        with ThreadPoolExecutor(1) as pool:
            claimed = pool.submit(store.claim_due, NOW, 50, LONG_LEASE).result(timeout=10)  # no waiting
        other.rollback()

    codes = [timer.case_code for timer in claimed]
    assert len(codes) == 50
    assert set(codes).isdisjoint(locked)


def test_workers_firing_one_timer_at_once_land_it_once(database_url: str, store: SqlStore) -> None:
    workflows = WorkflowSet()
    workflows.add(definition(), registry(), __name__)
    clock = ManualClock(NOW)
    store.commit(Engine(workflows, clock).open(KEY, "T-1", OFFICER, OPENING, rule_set=RULE_SET))
    [timer] = store.claim_due(NOW + timedelta(days=3), 10, LONG_LEASE)
    clock.set(NOW + timedelta(days=3))
    start = threading.Barrier(CLAIMERS)

    def fire() -> bool:
        with SqlStore.from_url(database_url) as own:
            service = CaseService(Engine(workflows, clock), own)
            start.wait()
            while True:
                try:
                    return service.fire_timer(timer, own) is not None
                except ConcurrencyConflict:
                    continue  # lost the race on the case row: decide again

    with ThreadPoolExecutor(CLAIMERS) as pool:
        landed = list(pool.map(lambda _: fire(), range(CLAIMERS)))

    assert sorted(landed) == [False] * (CLAIMERS - 1) + [True]
    assert [entry.trigger for entry in store.history("T-1")] == ["open", "remind"]
    assert store.timers("T-1") == []
