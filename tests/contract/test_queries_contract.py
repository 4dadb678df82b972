"""The contract of :class:`motcua.workflow.engine.ports.CaseQueries`: every store finds exactly the cases that
:func:`motcua.workflow.engine.queries.matches` selects (given the values the definitions index), in code order,
page after page without gaps or repeats.

The dossiers are real ones: received at the desk for catalogue procedures, handed to officers,
paused, returned, and run overdue by their own deadline timers, on the memory store, SQLite and
PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import product

import pytest

from motcua.definitions.catalogue import load_procedures, load_rule_sets
from motcua.definitions.offices import DEFAULT_OFFICE, load_office
from motcua.definitions.units import load_units, unit_calendars
from motcua.definitions.workflows import load_workflows
from motcua.workflow.dossiers.actions import DossierServices, dossier_registry
from motcua.workflow.dossiers.desk import Applicant, Desk
from motcua.workflow.dossiers.sla import SlaClock
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.compiled import WorkflowSet
from motcua.workflow.engine.decisions import Engine
from motcua.workflow.engine.model import Actor, Case
from motcua.workflow.engine.ports import Storage
from motcua.workflow.engine.queries import MAX_PAGE, CaseFilter, found_by, matches
from motcua.workflow.engine.service import CaseService
from motcua.workflow.errors import InvalidInput
from motcua.workflow.feedback.actions import FeedbackServices, feedback_registry
from motcua.workflow.plan.actions import TaskServices, task_registry
from motcua.workflow.units.directory import UnitDirectory

START = datetime(2024, 3, 4, 8, 0, tzinfo=VN_TZ)  # a Monday
OFFICER = Actor.of("Nguyễn Thị Lan", "officer")
SPECIALISTS = ("Phạm Văn Hùng", "Lê Thị Thu")
PROCEDURES = ("1.001193", "1.004873", "2.001019")
UNITS = ("LOCAL-HD-AN-THUONG", "LOCAL-HD-CAM-THUONG", "LOCAL-HD-BINH-HAN")  # in force in 2024
DECIDING = "LOCAL-HD-NGUYEN-TRAI"  # decides some dossiers the others receive
APPLICANTS = ("030190000001", "030190000002", "030190000003")


CATALOGUE, RULES = load_procedures(), load_rule_sets()
SLA = SlaClock(load_office(DEFAULT_OFFICE).calendar())
REGISTER = load_units()
CLOCKS = {code: SlaClock(calendar) for code, calendar in unit_calendars(REGISTER).items()}
WORKFLOWS: WorkflowSet = load_workflows({
    "tthc-dossier": dossier_registry(DossierServices(SLA, CATALOGUE, RULES, CLOCKS)),
    "plan-task": task_registry(TaskServices(SLA, RULES, CLOCKS)),
    "pakn": feedback_registry(FeedbackServices(SLA, RULES, CLOCKS)),
})


def _desk(store: Storage, clock: ManualClock) -> Desk:
    return Desk(CaseService(Engine(WORKFLOWS, clock), store), store, CATALOGUE, RULES, UNITS[0],
                units=UnitDirectory(REGISTER, UNITS[0]))


def _populate(store: Storage) -> list[Case]:
    """Fourteen dossiers over two weeks; the first ones run overdue by the time the last arrive."""
    clock = ManualClock(START)
    desk = _desk(store, clock)
    service = desk.service
    for n in range(14):
        clock.set(START + timedelta(days=n, hours=n % 3))
        procedure = PROCEDURES[n % len(PROCEDURES)]
        applicant = Applicant(f"Công dân số {n}", id_number=APPLICANTS[n % 3] if n % 7 else None)
        unit, deciding = UNITS[n % 3], DECIDING if n % 4 == 0 else None
        if n % 6 == 1:  # refused at the desk: its processing ended at once
            case = desk.submit(procedure, "direct", applicant, OFFICER, unit=unit, deciding_unit=deciding)
            service.fire(case.code, "refuse", OFFICER, {"reason": "Không thuộc thẩm quyền"})
            continue
        case = desk.receive(procedure, "direct", applicant, OFFICER, unit=unit, deciding_unit=deciding)
        if n == 13:  # a blank assignee: no officer holds it, on every store
            case = service.fire(case.code, "assign", OFFICER, {"assignee": "   "})
        elif n % 4 != 3:
            case = service.fire(case.code, "assign", OFFICER, {"assignee": SPECIALISTS[n % 2]})
        if n % 5 == 2 and n % 4 != 3:
            service.fire(case.code, "request_supplement", OFFICER, {"reason": "Bổ sung giấy tờ"})
        for timer in store.claim_due(clock.now(), 100, timedelta(minutes=5)):
            service.fire_timer(timer, store)
    return list(store.cases())


def _filters(cases: list[Case]) -> list[CaseFilter]:
    lifecycles = [*sorted({c.state["lifecycle"] for c in cases}), "returned"]
    deadlines = sorted({c.state["deadline"] for c in cases})
    instants = [START + timedelta(days=d) for d in (0, 5, 10, 20)]
    found = [CaseFilter(lifecycle=s) for s in lifecycles]
    found += [CaseFilter(deadline=d) for d in deadlines]
    found += [CaseFilter(procedure=p, officer=o) for p, o in product(PROCEDURES, (*SPECIALISTS, None))]
    found += [CaseFilter(due_before=i, definition_key="tthc-dossier") for i in instants]
    found += [CaseFilter(deadline="overdue", lifecycle="processing"), CaseFilter(definition_key="plan-task")]
    found += [CaseFilter(ended=True), CaseFilter(ended=False, deadline="overdue"), CaseFilter(officer="")]
    found += [CaseFilter(unit=u) for u in (*UNITS, DECIDING, "LOCAL-HP-THANH-DONG")]
    found += [CaseFilter(units=frozenset({u})) for u in (*UNITS, DECIDING)]
    found += [CaseFilter(units=frozenset(UNITS[:2])), CaseFilter(units=frozenset()),
              CaseFilter(unit=DECIDING, units=frozenset({UNITS[0]}), lifecycle="processing")]
    found += [CaseFilter(applicant=a) for a in (*APPLICANTS, "000000000000")]
    found += [CaseFilter(applicant=APPLICANTS[0], units=frozenset({UNITS[0]}), ended=False)]
    return [*found, CaseFilter()]


@pytest.fixture
def cases(store: Storage) -> list[Case]:
    return _populate(store)


def test_the_population_covers_what_the_filters_tell_apart(cases: list[Case]) -> None:
    states = {(c.state["lifecycle"], c.state["deadline"]) for c in cases}
    assert {"received", "processing", "supplement_requested"} <= {lifecycle for lifecycle, _ in states}
    assert {"on_time", "overdue"} <= {deadline for _, deadline in states}
    assert any(c.attributes.get("ended_at") for c in cases)
    pairs = {(c.attributes["receiving_unit"], c.attributes["deciding_unit"]) for c in cases}
    assert {(u, u) for u in UNITS} | {(u, DECIDING) for u in UNITS} <= pairs  # received for another unit, too
    assert {c.attributes.get("applicant_id") for c in cases} == {*APPLICANTS, None}
    assert all(c.code.startswith(c.attributes["receiving_unit"] + "-") for c in cases)  # numbered per receiving unit


def test_every_case_is_stored_with_what_its_definition_and_state_find_it_by(store: Storage,
                                                                           cases: list[Case]) -> None:
    stored = store.found_by()
    assert isinstance(stored, Iterator)  # lazy, like cases(): replay reads it along with them
    expected = [(c.code, found_by(WORKFLOWS.get(c.definition_key, c.definition_version).index_order, c)) for c in cases]
    assert [(code, dict(values)) for code, values in stored] == expected
    assert all({"unit", "received_by", "state.lifecycle", "state.deadline"} <= set(values) for _, values in expected)


def test_find_selects_what_matches_selects_in_code_order(store: Storage, cases: list[Case]) -> None:
    for where in _filters(cases):
        expected = [c.code for c in cases if matches(c, where, WORKFLOWS.index_of(c))]
        page = store.find(where, limit=MAX_PAGE)
        assert [c.code for c in page.items] == expected, where
        assert page.next_cursor is None


@pytest.mark.parametrize("limit", [1, 3, 14])
def test_pages_follow_each_other_without_gaps_or_repeats(store: Storage, cases: list[Case], limit: int) -> None:
    where = CaseFilter(definition_key="tthc-dossier")
    seen: list[str] = []
    after: str | None = None
    while True:
        page = store.find(where, after=after, limit=limit)
        assert len(page.items) <= limit
        seen += [c.code for c in page.items]
        if page.next_cursor is None:
            break
        after = page.next_cursor
    assert seen == sorted(c.code for c in cases)


def test_found_cases_are_the_stored_cases(store: Storage, cases: list[Case]) -> None:
    page = store.find(CaseFilter(officer=SPECIALISTS[0]), limit=50)
    assert page.items
    assert all(store.load(c.code) == c for c in page.items)


@pytest.mark.parametrize("limit", [0, -1, MAX_PAGE + 1])
def test_a_limit_out_of_range_is_refused(store: Storage, limit: int) -> None:
    with pytest.raises(InvalidInput, match="limit"):
        store.find(CaseFilter(), limit=limit)


def test_a_bound_without_offset_is_refused() -> None:
    with pytest.raises(InvalidInput, match="due_before"):
        CaseFilter(due_before=datetime(2024, 3, 4, 8, 0))
