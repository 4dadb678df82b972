"""The merger of 1 July 2025 applied on every store: nothing lost, nothing duplicated, counted by SQL.

A week before the merger the four old units of phường Thành Đông hold dossiers in every kind of state (received,
in processing, paused for a supplement, result ready, withdrawal asked; returned, withdrawn and refused ones
ended) and plan tasks (open and done); a dossier received at An Thượng is decided at Nguyễn Trãi, and one belongs
to the desk's home unit, which is not in the register. On 1 July :func:`apply_successions` moves every open case
of the old units to Thành Đông: one ``transfer`` entry per case, by the system, naming the four merged units and
the resolution (the dossier of two old units is moved by one entry, which changes both of its units); the timers,
the ended cases and every other entry as they were; the audit chains verify and every case replays. Run again, it
moves nothing; a dry run writes nothing and names each case once; a run killed midway and started again moves each
case exactly once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

import pytest
import sqlalchemy as sa

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.adapters.sql.store import SqlStore
from motcua.workflow.auditing.replay import replay_all
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.audit import verify_chains
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.decisions import Decision
from motcua.workflow.engine.model import SYSTEM_ACTOR, Actor, Case, SetTimer
from motcua.workflow.engine.queries import CaseFilter
from motcua.workflow.engine.service import CaseService
from motcua.workflow.units.succession import SuccessionReport, apply_successions

START: Final = datetime(2025, 6, 23, 8, 0, tzinfo=VN_TZ)  # a Monday, a week before the merger
EVE: Final = datetime(2025, 6, 30, 17, 30, tzinfo=VN_TZ)
MERGER: Final = datetime(2025, 7, 1, 0, 5, tzinfo=VN_TZ)
OLD: Final = ("LOCAL-HD-AN-THUONG", "LOCAL-HD-BINH-HAN", "LOCAL-HD-CAM-THUONG", "LOCAL-HD-NGUYEN-TRAI")
THANH_DONG: Final = "LOCAL-HP-THANH-DONG"
RESOLUTION: Final = "1669/NQ-UBTVQH15"
PROCEDURE: Final = "1.001776"  # ten working days: the appointment and its timers fall after the merger
OFFICER: Final = Actor.of("Nguyễn Thị Lan", "officer")
SPECIALIST: Final = Actor.of("Phạm Văn Hùng", "specialist")
LEADER: Final = Actor.of("Lê Minh Tuấn", "leader")
UNIT_ATTRIBUTES: Final = ("receiving_unit", "deciding_unit", "unit")

ASSIGN = ("assign", OFFICER, {"assignee": SPECIALIST.name})
APPROVED = [ASSIGN, ("submit_for_approval", SPECIALIST, {"approver": LEADER.name}), ("approve", LEADER, {})]
PATHS: Final[dict[str, list[tuple[str, Actor, dict[str, object]]]]] = {
    "received": [],
    "processing": [ASSIGN],
    "supplement_requested": [ASSIGN, ("request_supplement", SPECIALIST, {"reason": "Bổ sung giấy xác nhận"})],
    "result_ready": [*APPROVED, ("mark_result_ready", OFFICER, {})],
    "returned": [*APPROVED, ("mark_result_ready", OFFICER, {}), ("return_result", OFFICER, {})],
}
ENDED_PATHS: Final = {"returned"}


@dataclass
class Population:
    """The codes of what the old units hold, by whether a merger must move them."""

    open: set[str] = field(default_factory=set)
    ended: set[str] = field(default_factory=set)
    cross: str = ""  # received at An Thượng, decided at Nguyễn Trãi: two old units, one transfer
    home: str = ""  # the desk's home unit, not in the register: untouched

    @property
    def transfers(self) -> Counter[str]:
        return Counter(dict.fromkeys(self.open, 1))


@dataclass
class World:
    app: Motcua
    clock: ManualClock
    population: Population

    def apply(self, *, dry_run: bool = False, service: CaseService | None = None, page: int = 200) -> SuccessionReport:
        return apply_successions(service or self.app.service, self.app.store, self.app.desk.units.register,
                                 self.clock.now(), dry_run=dry_run, page=page)


@pytest.fixture
def world(url: str) -> Iterator[World]:
    clock = ManualClock(START)
    app = open_motcua(url, clock=clock, observers=[])
    try:
        population = _populate(app, clock)
        clock.set(EVE)
        for timer in app.store.claim_due(clock.now(), 500, timedelta(minutes=5)):  # the eve's due timers fire
            app.service.fire_timer(timer, app.store)
        clock.set(MERGER)
        yield World(app, clock, population)
    finally:
        app.close()


def _step(clock: ManualClock) -> None:
    clock.advance(timedelta(minutes=13))


def _receive(app: Motcua, clock: ManualClock, unit: str, path: str, deciding: str | None = None) -> Case:
    _step(clock)
    case = app.desk.receive(PROCEDURE, "direct", Applicant("Nguyễn Văn Bình"), OFFICER, unit=unit,
                            deciding_unit=deciding)
    for trigger, actor, data in PATHS[path]:
        _step(clock)
        case = app.service.fire(case.code, trigger, actor, data)
    return case


def _task(app: Motcua, clock: ManualClock, unit: str, number: int, *, done: bool) -> Case:
    _step(clock)
    data = {"plan": "KH-CCHC-2025", "task": f"{number}", "title": "Niêm yết công khai thủ tục hành chính",
            "owner": "Văn phòng UBND", "due": "2025-09-30", "unit": unit}
    case = app.service.open("plan-task", f"KH-CCHC-2025/{unit}/{number}", LEADER, data, rule_set="nd61-2018")
    return app.service.fire(case.code, "complete", LEADER, {}) if done else case


def _populate(app: Motcua, clock: ManualClock) -> Population:
    population = Population()
    for unit in OLD:
        for path in PATHS:
            case = _receive(app, clock, unit, path)
            (population.ended if path in ENDED_PATHS else population.open).add(case.code)
        clock.advance(timedelta(hours=2))
    for unit, number in zip(OLD[:2], (1, 2), strict=True):
        population.open.add(_task(app, clock, unit, number, done=False).code)
        population.ended.add(_task(app, clock, unit, number + 10, done=True).code)
    withdrawal = _receive(app, clock, OLD[1], "processing")
    app.service.fire(withdrawal.code, "request_withdrawal", OFFICER, {"reason": "Công dân xin rút"})
    population.open.add(withdrawal.code)  # its processing ended, the desk still deals with it
    withdrawn = _receive(app, clock, OLD[2], "processing")
    app.service.fire(withdrawn.code, "request_withdrawal", OFFICER, {"reason": "Công dân xin rút"})
    app.service.fire(withdrawn.code, "confirm_withdrawal", OFFICER, {})
    population.ended.add(withdrawn.code)
    refused = app.desk.submit(PROCEDURE, "direct", Applicant("Lê Văn Cường"), OFFICER, unit=OLD[3])
    app.service.fire(refused.code, "refuse", OFFICER, {"reason": "Không thuộc thẩm quyền"})
    population.ended.add(refused.code)
    population.cross = _receive(app, clock, OLD[0], "processing", deciding=OLD[3]).code
    population.open.add(population.cross)
    population.home = _receive(app, clock, app.desk.agency, "processing").code
    return population


# -- what the tests read back -----------------------------------------------------------------------


def _cases(app: Motcua) -> dict[str, Case]:
    return {case.code: case for case in app.store.cases()}


def _transfers(app: Motcua) -> Counter[str]:
    """The transfer entries per case: by SQL on a SQL store, from the log's entries on the memory store."""
    store = app.store
    if isinstance(store, SqlStore):
        with store.engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT case_code, count(*) FROM audit_entry WHERE trigger = 'transfer' GROUP BY case_code"))
            return Counter({code: count for code, count in rows})
    return Counter(entry.case_code for entry in store.entries() if entry.trigger == "transfer")


def _totals(app: Motcua) -> tuple[int, int]:
    """(cases, audit entries): by SQL on a SQL store."""
    store = app.store
    if isinstance(store, SqlStore):
        with store.engine.connect() as connection:
            count = connection.execute(sa.text('SELECT (SELECT count(*) FROM "case"), (SELECT count(*) FROM '
                                               "audit_entry)")).one()
            return count[0], count[1]
    return len(list(store.cases())), len(list(store.entries()))


def _timers(app: Motcua) -> dict[str, list[SetTimer]]:
    return {code: list(app.store.timers(code)) for code in _cases(app)}


def _timer_rows(app: Motcua) -> list[tuple[object, ...]]:
    """Every armed timer row as stored (generation and due instant included); none on the memory store."""
    store = app.store
    if not isinstance(store, SqlStore):
        return []
    with store.engine.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT case_code, name, trigger, due_at, generation, status FROM timer ORDER BY case_code, name"))
        return [tuple(row) for row in rows]


def _holds(case: Case) -> set[str]:
    return {str(case.attributes[name]) for name in UNIT_ATTRIBUTES if case.attributes.get(name) is not None}


def _moved(report: SuccessionReport) -> Counter[str]:
    return Counter(code for result in report.results for code in result.moved)


# -- the tests --------------------------------------------------------------------------------------


def test_every_open_case_of_the_old_units_continues_under_thanh_dong(world: World) -> None:
    app, population = world.app, world.population
    before = _cases(app)
    assert {case.state["lifecycle"] for code, case in before.items() if code in population.open} == {
        "received", "processing", "supplement_requested", "result_ready", "withdrawal_requested", "planned"}

    report = world.apply()

    after = _cases(app)
    assert _moved(report) == population.transfers
    assert [len(result.moved) for result in report.results] == [6, 6, 4, 4]  # by code; the cross one once, first
    assert population.cross in report.results[0].moved  # An Thượng's succession moves it (Nguyễn Trãi's finds none)
    assert all(result.skipped == () and result.stranded == () for result in report.results)
    assert all(_holds(after[code]) == {THANH_DONG} for code in population.open)
    assert all(after[code] == before[code] for code in population.ended | {population.home})
    assert all(_holds(after[code]) <= set(OLD) for code in population.ended)
    assert all(after[code].state == before[code].state for code in population.open)
    left = [app.store.find(CaseFilter(units=frozenset(OLD), **where), limit=500).items
            for where in ({"ended": False}, {"lifecycle": "result_ready"}, {"lifecycle": "withdrawal_requested"})]
    assert left == [(), (), ()]
    found = app.store.find(CaseFilter(unit=THANH_DONG), limit=500).items
    assert {case.code for case in found} == population.open


def test_one_audited_transfer_per_case_with_its_timers_and_nothing_lost(world: World) -> None:
    app, population = world.app, world.population
    cases, entries = _totals(app)
    timers, rows = _timers(app), _timer_rows(app)
    assert sum(len(armed) for code, armed in timers.items() if code in population.open) > 0

    report = world.apply()

    transfers = _transfers(app)
    assert transfers == population.transfers
    assert set(transfers.values()) == {1}
    assert population.cross in transfers
    assert _totals(app) == (cases, entries + sum(transfers.values()))
    assert report.moved == sum(transfers.values())
    assert _timers(app) == timers
    assert _timer_rows(app) == rows
    for code in population.open:
        for entry in [entry for entry in app.store.history(code) if entry.trigger == "transfer"]:
            assert (entry.actor, entry.role, entry.occurred_at) == (SYSTEM_ACTOR.name, "system", MERGER)
            assert entry.data["to_unit"] == THANH_DONG
            assert entry.data["from_units"] == list(OLD)
            assert (entry.data["resolution"], entry.data["effective"]) == (RESOLUTION, "2025-07-01")
            assert entry.state_before == entry.state_after
    assert list(verify_chains(app.store.cases(), app.store.entries())) == []
    assert list(replay_all(app.store.cases(), app.store.entries())) == []


def test_the_history_shows_both_units(world: World) -> None:
    app, population = world.app, world.population
    world.apply()

    first = min(code for code in population.open - {population.cross} if not code.startswith("KH-"))
    history = app.store.history(first)
    opening, transfer = history[0], history[-1]
    assert [entry.trigger for entry in history].count("transfer") == 1
    assert transfer.trigger == "transfer"
    assert transfer.data["from_units"] == list(OLD)
    old = opening.data["receiving_unit"]
    assert old in OLD
    assert (opening.trigger, opening.data["deciding_unit"]) == ("open", old)
    assert (transfer.changes["receiving_unit"], transfer.changes["deciding_unit"]) == (THANH_DONG, THANH_DONG)
    assert app.store.load(first).attributes["unit_history"] == [{
        "at": MERGER.isoformat(), "from": [old], "to": THANH_DONG, "attributes": ["receiving_unit", "deciding_unit"],
        "resolution": RESOLUTION, "effective": "2025-07-01",
    }]
    cross = [entry for entry in app.store.history(population.cross) if entry.trigger == "transfer"]
    assert [(entry.data["from_units"], entry.changes.get("receiving_unit"), entry.changes.get("deciding_unit"),
             sorted(set(entry.changes) - {"unit_history"})) for entry in cross] == [
        (list(OLD), THANH_DONG, THANH_DONG, ["deciding_unit", "receiving_unit"])]
    assert app.store.load(population.cross).attributes["unit_history"] == [{
        "at": MERGER.isoformat(), "from": [OLD[0], OLD[3]], "to": THANH_DONG,
        "attributes": ["receiving_unit", "deciding_unit"], "resolution": RESOLUTION, "effective": "2025-07-01",
    }]


def test_a_second_run_moves_nothing_and_a_dry_run_writes_nothing(world: World) -> None:
    app, population = world.app, world.population
    before, totals = _cases(app), _totals(app)

    preview = world.apply(dry_run=True)

    assert (_cases(app), _totals(app)) == (before, totals)
    assert preview.dry_run
    assert _moved(preview) == population.transfers
    applied = world.apply()
    assert _moved(applied) == _moved(preview)
    after, totals = _cases(app), _totals(app)
    world.clock.advance(timedelta(hours=1))

    again = world.apply()

    assert again.moved == 0
    assert all(result.skipped == () for result in again.results)
    assert (_cases(app), _totals(app)) == (after, totals)
    assert world.apply(dry_run=True).moved == 0


class Killed(Exception):
    """The process stops here (a kill between two transfers)."""


@dataclass
class KillAfter:
    """An observer that ends the process after ``commits`` committed transfers."""

    commits: int
    seen: int = 0

    def committed(self, decision: Decision) -> None:
        self.seen += 1
        if self.seen == self.commits:
            raise Killed

    def rejected(self, code: str, trigger: str, error: Exception) -> None:
        """Nothing to do."""


def test_a_run_killed_midway_then_run_again_moves_each_case_exactly_once(world: World) -> None:
    app, population = world.app, world.population
    cases, entries = _totals(app)
    dying = CaseService(app.service.engine, app.store, [KillAfter(commits=5)])

    with pytest.raises(Killed):
        world.apply(service=dying, page=2)

    assert sum(_transfers(app).values()) == 5
    world.clock.advance(timedelta(minutes=1))
    report = world.apply(page=2)

    assert report.moved == sum(population.transfers.values()) - 5
    assert _transfers(app) == population.transfers
    assert _totals(app) == (cases, entries + sum(population.transfers.values()))
    assert all(_holds(app.store.load(code)) == {THANH_DONG} for code in population.open)
    assert list(verify_chains(app.store.cases(), app.store.entries())) == []
