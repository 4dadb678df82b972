"""Writers racing on one case on a real PostgreSQL: every transition lands once, losers write nothing.

Each writer has its own :class:`~motcua.adapters.sql.store.SqlStore` (its own pool, as a separate worker
process would) and its own engine; they share nothing but the database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from motcua.adapters.sql.store import SqlStore
from motcua.workflow.engine.audit import verify_chains
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.engine.compiled import WorkflowSet
from motcua.workflow.engine.decisions import Decision, Engine
from motcua.workflow.engine.definition import WorkflowDefinition
from motcua.workflow.engine.model import Actor, Effect, SetTimer
from motcua.workflow.engine.registry import Context, Outcome, Registry
from motcua.workflow.errors import ConcurrencyConflict

pytestmark = pytest.mark.integration

WRITERS = 8
LANDINGS = 5  # transitions each writer must land
CODE = "000.00.12.H01-250303-0042"
START = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)


def _note(context: Context) -> Outcome:
    notes = context.attributes.get("notes", 0)
    assert isinstance(notes, int)
    follow_up = SetTimer("follow_up", "follow_up", context.now + timedelta(days=1), {"by": context.actor.name})
    return Outcome(attributes={"notes": notes + 1}, timers=(follow_up,),
                   effects=(Effect("noted", {"by": context.actor.name}),))


def _workflows() -> WorkflowSet:
    """A one-state workflow whose ``note`` trigger counts, re-arms a timer and emits an effect."""
    registry = Registry()
    registry.add_action("note", _note, frozenset({"follow_up"}))
    definition = WorkflowDefinition.model_validate({
        "key": "ghi-chu", "version": 1, "title": "Ghi chú đồng thời", "rule_sets": ["nd-118-2025"],
        "roles": {"officer": "Cán bộ một cửa", "system": "Hệ thống"},
        "regions": {"lifecycle": {"label": "Vòng đời", "states": {"open": {"label": "Đang mở", "initial": True}}}},
        "triggers": {
            "note": {"label": "Ghi chú", "roles": ["officer"],
                     "transitions": [{"region": "lifecycle", "source": "open", "actions": ["note"]}]},
            "follow_up": {"label": "Nhắc việc", "roles": ["system"], "timer": True,
                          "transitions": [{"region": "lifecycle", "source": "open"}]},
        },
        "opening": {"label": "Mở hồ sơ", "roles": ["officer"]},
    })
    workflows = WorkflowSet()
    workflows.add(definition, registry, __name__)
    return workflows


def _engine(offset: int = 0) -> Engine:
    return Engine(_workflows(), ManualClock(START + timedelta(microseconds=offset)))


def _officer(name: str) -> Actor:
    return Actor.of(name, "officer")


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    with SqlStore.from_url(database_url) as opened:
        opened.commit(_engine().open("ghi-chu", CODE, _officer("Nguyễn Văn An"), {}, rule_set="nd-118-2025"))
        yield opened


def _write(url: str, index: int, start: threading.Barrier) -> int:
    """Land LANDINGS notes, deciding again after every lost race; return how many races were lost."""
    engine, actor, lost, landed = _engine(index), _officer(f"Cán bộ {index}"), 0, 0
    with SqlStore.from_url(url) as own:
        start.wait()
        while landed < LANDINGS:
            decision = engine.fire(own.load(CODE), "note", actor, {})
            try:
                own.commit(decision)
            except ConcurrencyConflict:
                lost += 1
                continue
            landed += 1
    return lost


def test_eight_writers_land_every_transition_exactly_once(database_url: str, store: SqlStore) -> None:
    start = threading.Barrier(WRITERS)
    with ThreadPoolExecutor(WRITERS) as pool:
        lost = list(pool.map(lambda index: _write(database_url, index, start), range(WRITERS)))

    total = WRITERS * LANDINGS
    case = store.load(CODE)
    assert case.version == 1 + total
    assert case.attributes["notes"] == total
    assert [entry.sequence for entry in store.history(CODE)] == list(range(1, 2 + total))
    assert list(verify_chains(store.cases(), store.entries())) == []
    assert len(store.effects(CODE)) == total
    assert _generation(store) == store.history(CODE)[-1].position  # re-armed by every landed transition
    assert sum(lost) > 0  # the writers really raced (typically 150+ lost races)


def test_the_loser_of_a_race_gets_a_conflict_and_writes_nothing(database_url: str, store: SqlStore) -> None:
    opened = store.load(CODE)
    decisions = [_engine().fire(opened, "note", _officer(name), {}) for name in ("Lê Thị Lan", "Phạm Văn Minh")]

    with store.engine.connect() as blocker:  # hold the case row so that both commits queue behind it
        blocker.execute(sa.text('SELECT version FROM "case" WHERE code = :code FOR UPDATE'), {"code": CODE})
        with ThreadPoolExecutor(2) as pool:
            outcomes = [pool.submit(_commit, database_url, decision) for decision in decisions]
            _wait_until_blocked(store, count=2)
            blocker.rollback()
            results = [outcome.result(timeout=30) for outcome in outcomes]

    assert sorted(results) == ["lost", "won"]
    winner = decisions[results.index("won")]
    assert store.load(CODE) == winner.case
    assert [entry.hash for entry in store.history(CODE)] == [opened.head_hash, winner.entry.hash]
    assert list(store.effects(CODE)) == list(winner.effects)
    assert list(store.timers(CODE)) == list(winner.timers)
    assert _generation(store) == store.history(CODE)[-1].position  # armed by the winner


def _commit(url: str, decision: Decision) -> str:
    with SqlStore.from_url(url) as own:
        try:
            own.commit(decision)
        except ConcurrencyConflict:
            return "lost"
    return "won"


def _wait_until_blocked(store: SqlStore, count: int) -> None:
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + 30
    with store.engine.connect() as probe:
        while probe.execute(query).scalar_one() < count:
            assert time.monotonic() < deadline, f"{count} writers never queued on the case row"
            probe.rollback()
            time.sleep(0.01)


def _generation(store: SqlStore) -> int:
    with store.engine.connect() as connection:
        query = sa.text("SELECT generation FROM timer WHERE case_code = :code AND name = 'follow_up'")
        return int(connection.execute(query, {"code": CODE}).scalar_one())
