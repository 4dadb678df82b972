"""Reception is one unit of work, through the public API (``motcua.connect``) on every store.

A dossier received at the desk is opened and received in one transaction: refused (a role that may
not receive, or not open), nothing is written; interrupted between its two entries, nothing remains.
What a refusal does spend is the dossier number drawn for it: numbers are never handed out twice, so
the next dossier of the day takes the one after.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Final

import pytest
import sqlalchemy as sa

import motcua
from motcua.adapters.sql.store import SqlStore
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.engine.decisions import Decision
from tests.conftest import START
from tests.contract.conftest import BACKENDS

BIRTH: Final = "1.001193"
OFFICER: Final = motcua.Actor.of("Nguyễn Thị Lan", "officer")
APPLICANT: Final = motcua.Applicant("Trần Văn An")
FIRST, SECOND = "000.00.00.H23-240304-0001", "000.00.00.H23-240304-0002"
TABLES: Final = ("case", "audit_entry", "timer", "outbox")


@dataclass
class Recorder:
    """An observer noting what it is told, and what the store holds when it is told of a commit."""

    shop: motcua.OneStop | None = None
    told: list[tuple[str, int, int]] = field(default_factory=list)  # trigger, entry sequence, stored version
    refusals: list[tuple[str, str]] = field(default_factory=list)

    def committed(self, decision: Decision) -> None:
        assert self.shop is not None
        stored = self.shop.parts.store.load(decision.case.code).version
        self.told.append((decision.entry.trigger, decision.entry.sequence, stored))

    def rejected(self, code: str, trigger: str, error: Exception) -> None:
        self.refusals.append((trigger, type(error).__name__))


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def shop(url: str, recorder: Recorder) -> Iterator[motcua.OneStop]:
    with motcua.connect(url, clock=ManualClock(START), observers=[recorder]) as opened:
        recorder.shop = opened
        yield opened


def assert_nothing_written(shop: motcua.OneStop) -> None:
    store = shop.parts.store
    later = START + timedelta(days=365)
    assert list(store.cases()) == []
    assert list(store.entries()) == []
    assert store.armed_count(later) == (0, 0)
    assert store.claim_due(later, 100, timedelta(minutes=5)) == []
    assert (store.backlog(), store.parked()) == (0, [])
    assert store.claim_effects(later, 100, timedelta(minutes=5)) == []


# -- (a) a refusal writes nothing -------------------------------------------------------------------


def test_a_reception_by_a_role_that_may_not_receive_writes_nothing(shop: motcua.OneStop, recorder: Recorder) -> None:
    applicant = motcua.Actor.of("Trần Văn An", "applicant")  # may open (submit online), not receive

    with pytest.raises(motcua.RoleNotAllowed) as refused:
        shop.receive(BIRTH, APPLICANT, applicant)

    assert (refused.value.trigger, refused.value.allowed) == ("receive", ("officer",))
    assert_nothing_written(shop)
    assert recorder.refusals == [("receive", "RoleNotAllowed")]
    assert recorder.told == []
    assert shop.receive(BIRTH, APPLICANT, OFFICER).code == FIRST  # the refusal drew no number


def test_a_submission_by_a_role_that_may_not_open_writes_nothing(shop: motcua.OneStop, recorder: Recorder) -> None:
    leader = motcua.Actor.of("Lê Minh Tuấn", "leader")  # the definition's opening allows officer, applicant, system

    with pytest.raises(motcua.RoleNotAllowed) as refused:
        shop.submit(BIRTH, APPLICANT, leader)
    with pytest.raises(motcua.RoleNotAllowed):
        shop.receive(BIRTH, APPLICANT, leader)

    assert (refused.value.trigger, refused.value.allowed) == ("open", ("applicant", "officer", "system"))
    assert_nothing_written(shop)
    assert recorder.refusals == [("open", "RoleNotAllowed")] * 2


def test_a_reception_commits_both_entries_at_once_then_tells_the_observers(
    shop: motcua.OneStop, recorder: Recorder
) -> None:
    case = shop.receive(BIRTH, APPLICANT, OFFICER)

    history = shop.history(case.code)
    assert (case.code, case.version, case.state["lifecycle"]) == (FIRST, 2, "received")
    assert [(entry.sequence, entry.trigger) for entry in history] == [(1, "open"), (2, "receive")]
    assert history[0].position is not None and history[1].position == history[0].position + 1
    assert shop.parts.store.load(case.code) == case
    assert recorder.told == [("open", 1, 2), ("receive", 2, 2)]  # told after the one commit
    assert recorder.refusals == []
    store = shop.parts.store
    assert "overdue" in {timer.name for timer in store.timers(case.code)}  # armed by the reception
    assert [effect.payload.get("form") for effect in store.effects(case.code)] == ["receipt"]


# -- (b) an interrupted reception leaves nothing ----------------------------------------------------


def _interrupt_second_entries(store: SqlStore) -> None:
    """Make the database refuse any second audit entry: the reception fails inside its transaction, after
    the case row and the opening entry (with its timers and outbox rows) were written."""
    if store.engine.dialect.name == "sqlite":
        statements = ["CREATE TRIGGER interrupt BEFORE INSERT ON audit_entry WHEN NEW.sequence = 2 "
                      "BEGIN SELECT RAISE(ABORT, 'interrupted between opening and receiving'); END"]
    else:
        statements = [
            "CREATE FUNCTION interrupt() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'interrupted between opening and receiving'; END $$",
            "CREATE TRIGGER interrupt BEFORE INSERT ON audit_entry FOR EACH ROW WHEN (NEW.sequence = 2) "
            "EXECUTE FUNCTION interrupt()",
        ]
    with store.engine.begin() as connection:
        for statement in statements:
            connection.execute(sa.text(statement))


def _rows(store: SqlStore) -> dict[str, int]:
    with store.engine.connect() as connection:
        return {table: connection.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar_one()
                for table in TABLES}


@pytest.mark.parametrize("url", [p for p in BACKENDS if p.id != "memory"], indirect=True)
def test_a_reception_interrupted_between_its_steps_leaves_no_dossier(
    shop: motcua.OneStop, recorder: Recorder
) -> None:
    store = shop.parts.store
    assert isinstance(store, SqlStore)
    _interrupt_second_entries(store)

    with pytest.raises(motcua.MotcuaError, match="interrupted between opening and receiving"):
        shop.receive(BIRTH, APPLICANT, OFFICER)

    assert _rows(store) == dict.fromkeys(TABLES, 0)
    assert_nothing_written(shop)
    assert recorder.told == []
    assert recorder.refusals == [("open", "StorageFailure")]
    with store.engine.begin() as connection:
        connection.execute(sa.text("DROP TRIGGER interrupt" + ("" if store.engine.dialect.name == "sqlite"
                                                               else " ON audit_entry")))
    received = shop.receive(BIRTH, APPLICANT, OFFICER)
    assert [entry.trigger for entry in shop.history(received.code)] == ["open", "receive"]
    assert [case.code for case in store.cases()] == [SECOND]
