"""Replaying the audit log: a case at any instant equals what the engine had then; old schemas still
read and verify; the process control sheet is the log read hand-over by hand-over."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from motcua.adapters.bootstrap import DEFAULT_AGENCY, Motcua, open_motcua
from motcua.adapters.memory.store import MemoryStore
from motcua.workflow.auditing.control_sheet import APPLICANT_UNIT, ONE_STOP_UNIT, control_sheet
from motcua.workflow.auditing.replay import (
    ABSENT,
    Difference,
    SearchColumns,
    compare,
    replay,
    replay_all,
    replay_at,
    replay_steps,
)
from motcua.workflow.auditing.upcasting import V0_CHANGES_KEY, UpcasterRegistry, stored_mapping, upcast, upcast_v0_to_v1
from motcua.workflow.dossiers.catalogue import Channel
from motcua.workflow.dossiers.desk import Applicant, Desk
from motcua.workflow.dossiers.tracking_book import tracking_book
from motcua.workflow.engine.audit import AuditEntry, check_chain, entry_hash, seal_positions, sealed, verify_chains
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.decisions import Engine
from motcua.workflow.engine.model import GENESIS_HASH, Actor, Case, JsonValue
from motcua.workflow.engine.service import CaseService
from motcua.workflow.errors import InvalidInput, MotcuaError
from motcua.workflow.plan.metrics import dossier_facts
from motcua.workflow.worktime.hours import Timeliness
from tests.conftest import APPLICANT, LEADER, OFFICER, SPECIALIST, START

MARITAL = "1.004873"  # 3 working days
BIRTH = "1.001193"  # within the day

# every trigger a person fires on a dossier, with data it accepts; timers are fired the worker's way
MOVES: tuple[tuple[str, Actor, dict[str, object]], ...] = (
    ("receive", OFFICER, {}),
    ("refuse", OFFICER, {"reason": "Không thuộc thẩm quyền"}),
    ("request_completion", OFFICER, {"reason": "Thiếu tờ khai"}),
    ("assign", OFFICER, {"assignee": SPECIALIST.name, "electronic": True}),
    ("request_supplement", SPECIALIST, {"reason": "Bổ sung bản sao giấy khai sinh"}),
    ("supplement_received", OFFICER, {}),
    ("request_payment", SPECIALIST, {"amount": 50000, "reason": "Lệ phí"}),
    ("payment_received", OFFICER, {"online": True}),
    ("submit_for_approval", SPECIALIST, {"approver": LEADER.name, "electronic": True}),
    ("send_back", LEADER, {"reason": "Sửa dự thảo"}),
    ("approve", LEADER, {"decision_number": "12/QĐ-UBND"}),
    ("mark_result_ready", SPECIALIST, {"electronic": False}),
    ("return_result", OFFICER, {"receiver": "Trần Văn An"}),
    ("request_withdrawal", APPLICANT, {"reason": "Không còn nhu cầu"}),
    ("confirm_withdrawal", OFFICER, {}),
    ("stop", LEADER, {"reason": "Dừng theo yêu cầu"}),
    ("digitize", OFFICER, {"components": 2}),
    ("issue_electronic_result", SPECIALIST, {}),
    ("apologize", LEADER, {"reason": "Chờ xác minh", "new_date": "2030-12-31"}),
    ("rate", APPLICANT, {"rating": 4, "comment": "Tốt"}),
)
TIMERS = "timers"
CHANNELS: tuple[Channel, ...] = ("direct", "online", "postal")
ENDINGS = frozenset({"refuse", "stop", "request_withdrawal", "confirm_withdrawal"})  # drawn less often


@pytest.fixture(scope="module")
def wired() -> Iterator[Motcua]:
    """Definitions, catalogue and rule book loaded once; each example gets its own store and clock."""
    app = open_motcua("memory://", observers=[])
    yield app
    app.close()


@dataclass
class Desk1:
    clock: ManualClock
    store: MemoryStore
    service: CaseService
    desk: Desk


def fresh(app: Motcua, start: datetime = START) -> Desk1:
    clock = ManualClock(start)
    store = MemoryStore()
    service = CaseService(Engine(app.workflows, clock), store)
    return Desk1(clock, store, service, Desk(service, store, app.catalogue, app.rules, DEFAULT_AGENCY))


def allowed(desk: Desk1, code: str) -> list[int]:
    """The moves the engine would take now (deciding writes nothing)."""
    case = desk.store.load(code)
    found = []
    for index, (trigger, actor, data) in enumerate(MOVES):
        try:
            desk.service.engine.fire(case, trigger, actor, data)
        except MotcuaError:
            continue
        found.append(index)
    return found


def fire_due_timers(desk: Desk1) -> list[Case]:
    cases = []
    for timer in desk.store.claim_due(desk.clock.now(), 10, timedelta(minutes=5)):
        fired = desk.service.fire_timer(timer, desk.store)
        if fired is not None:
            cases.append(fired)
    return cases


def the_case_at(decided: list[Case], entries: list[AuditEntry], at: datetime) -> Case | None:
    """What the engine had at ``at``: the case after the last decision made at or before it."""
    last = [entry.sequence for entry in entries if entry.occurred_at <= at]
    return decided[max(last) - 1] if last else None


@settings(max_examples=100, deadline=None)
@given(
    data=st.data(),
    procedure=st.sampled_from([MARITAL, BIRTH, "2.001019", "1.001731"]),
    channel=st.sampled_from(CHANNELS),
)
def test_replay_at_every_entry_equals_the_engines_case(
    wired: Motcua, data: st.DataObject, procedure: str, channel: Channel
) -> None:
    desk = fresh(wired)
    applicant = Applicant("Trần Văn An", id_number="030201001234")
    opened = desk.desk.submit(procedure, channel, applicant, APPLICANT if channel == "online" else OFFICER)
    decided = [opened]
    for _ in range(data.draw(st.integers(0, 24), label="steps")):
        minutes = data.draw(st.sampled_from([0, 0, 1, 17, 60, 6 * 60, 24 * 60, 3 * 24 * 60]), label="wait")
        desk.clock.advance(timedelta(minutes=minutes))
        choices: list[int | str] = [TIMERS] * 4
        choices += [move for move in allowed(desk, opened.code) for _ in range(1 if MOVES[move][0] in ENDINGS else 4)]
        move = data.draw(st.sampled_from(choices), label="move")
        if move == TIMERS:
            decided += fire_due_timers(desk)
        else:
            trigger, actor, payload = MOVES[int(move)]
            decided.append(desk.service.fire(opened.code, trigger, actor, payload))
    entries = list(desk.store.history(opened.code))
    event(f"ends {decided[-1].state['lifecycle']}")
    event(f"timers fired: {any(entry.role == 'system' for entry in entries)}")
    event(f"{len({e.occurred_at for e in entries}) < len(entries)=} (entries sharing an instant)")
    assert [case.version for case in decided] == [entry.sequence for entry in entries]

    assert [case for _, case in replay_steps(entries)] == decided
    for entry in entries:
        assert replay_at(entries, entry.occurred_at) == the_case_at(decided, entries, entry.occurred_at)
        just_before = entry.occurred_at - timedelta(microseconds=1)
        assert replay_at(entries, just_before) == the_case_at(decided, entries, just_before)
    assert replay(entries) == desk.store.load(opened.code)
    assert list(replay_all(desk.store.cases(), desk.store.entries())) == []


def story(desk: Desk1) -> Case:
    case = desk.desk.receive(MARITAL, "direct", Applicant("Trần Văn An", id_number="030201001234"), OFFICER)
    desk.clock.advance(timedelta(hours=1))
    case = desk.service.fire(case.code, "assign", OFFICER, {"assignee": SPECIALIST.name, "electronic": True})
    desk.clock.advance(timedelta(days=1))
    case = desk.service.fire(case.code, "request_supplement", SPECIALIST, {"reason": "Thiếu giấy"})
    desk.clock.advance(timedelta(days=2))
    case = desk.service.fire(case.code, "supplement_received", OFFICER)
    desk.clock.advance(timedelta(hours=2))
    case = desk.service.fire(case.code, "submit_for_approval", SPECIALIST, {"approver": LEADER.name})
    case = desk.service.fire(case.code, "approve", LEADER)
    case = desk.service.fire(case.code, "mark_result_ready", SPECIALIST, {"electronic": True})
    desk.clock.advance(timedelta(hours=1))
    return desk.service.fire(case.code, "return_result", OFFICER)


def test_replay_before_opening_is_nothing_and_the_open_entry_data_are_attributes(wired: Motcua) -> None:
    desk = fresh(wired)
    case = story(desk)
    entries = list(desk.store.history(case.code))
    assert replay_at(entries, entries[0].occurred_at - timedelta(seconds=1)) is None
    opened = replay_at(entries, entries[0].occurred_at)
    assert opened is not None and opened.attributes["applicant_id"] == "030201001234"
    assert opened.attributes["procedure_name"] == case.attributes["procedure_name"]  # set by the opening action


def test_compare_names_every_field_that_differs(wired: Motcua) -> None:
    desk = fresh(wired)
    case = story(desk)
    replayed = replay(desk.store.history(case.code))
    assert replayed is not None and compare(case, replayed) == []
    rewritten = replace(case, state={**case.state, "lifecycle": "processing"}, version=case.version + 1,
                        attributes={**{k: v for k, v in case.attributes.items() if k != "fee"}, "rating": 5})
    found = {(d.field, d.stored, d.replayed) for d in compare(rewritten, replayed)}
    assert found == {
        ("version", str(case.version + 1), str(case.version)),
        ("state.lifecycle", '"processing"', '"returned"'),
        ("attributes.fee", ABSENT, "0"),
        ("attributes.rating", "5", ABSENT),
    }


def test_replay_all_reports_rows_without_entries_and_entries_without_rows(wired: Motcua) -> None:
    desk = fresh(wired)
    case = story(desk)
    entries = list(desk.store.history(case.code))
    ghost = replace(case, code="AAA-ghost")  # codes in byte order: "0-orphan" < "000.00…" < "AAA-ghost"
    found = list(replay_all([case, ghost], [replace(e, case_code="0-orphan") for e in entries[:2]] + entries))
    assert found == [
        Difference("0-orphan", "case", ABSENT, "replayed to version 2"),
        Difference("AAA-ghost", "entries", f"case row at version {case.version}", ABSENT),
    ]


def test_search_columns_are_held_to_the_replayed_case_and_passed_over_when_they_cannot_be(wired: Motcua) -> None:
    desk = fresh(wired)
    case = story(desk)
    entries = list(desk.store.history(case.code))
    expected = {"unit": "LOCAL-HD-AN-THUONG", "state.lifecycle": case.state["lifecycle"]}
    told: list[str] = []

    def wanted(replayed: Case) -> dict[str, str]:
        told.append(replayed.code)
        return expected

    stored = [("0-earlier", {"unit": "X"}), (case.code, {**expected, "state.lifecycle": "stopped", "officer": "Ai"})]
    found = list(replay_all([case], entries, SearchColumns(stored, wanted)))
    assert found == [  # a key stored that the case does not give, and one rewritten
        Difference(case.code, "found_by.officer", '"Ai"', ABSENT),
        Difference(case.code, "found_by.state.lifecycle", '"stopped"', f'"{case.state["lifecycle"]}"'),
    ]
    assert told == [case.code]  # asked of the replayed case only
    assert list(replay_all([case], entries, SearchColumns([], wanted))) == []  # written after the columns were read
    assert list(replay_all([case], entries, SearchColumns(stored, lambda _: None))) == []  # its definition not loaded


def test_an_imported_dossier_replays_from_its_changes_not_its_data() -> None:
    at = datetime(2024, 3, 4, 9, 0, tzinfo=VN_TZ)
    attributes: dict[str, JsonValue] = {"procedure": "1.001193", "received_at": at.isoformat(), "source": "DVCQG"}
    first = sealed(
        case_code="H-1", sequence=1, occurred_at=at, actor="dvcqg-import", role="system", trigger="import",
        state_before={}, state_after={"lifecycle": "received"}, data={"status": 2, "procedure": "1.001193"},
        changes=attributes, reason=None, definition_key="tthc-dossier", definition_version=1, rule_set="nd61-2018",
        prev_hash=GENESIS_HASH,
    )
    replayed = replay([first])
    assert replayed is not None and dict(replayed.attributes) == attributes


# -- schema versions -----------------------------------------------------------------------------


def as_v0(entries: list[AuditEntry]) -> list[AuditEntry]:
    """The same history as the pilot's prototype wrote it (schema 0), chained and hashed in that schema."""
    written: list[AuditEntry] = []
    previous = GENESIS_HASH
    for entry in entries:
        data = dict(entry.data)
        if entry.changes:
            data[V0_CHANGES_KEY] = dict(entry.changes)
        old = replace(entry, data=data, changes={}, reason=None, schema_version=0, prev_hash=previous, hash="",
                      position_hash=None)  # schema 0 knew no position seal
        old = replace(old, hash=entry_hash(old))
        written.append(old)
        previous = old.hash
    return written


def test_every_reader_of_the_facts_folds_a_schema_0_history_as_todays(wired: Motcua) -> None:
    """The tracking book and the plan's figures read a pilot's schema-0 entries as the reports do: the fold reads
    each entry upcast. (They used to fold them as stored and never saw a schema-0 dossier's reception.)"""
    desk = fresh(wired)
    case = story(desk)
    entries = list(desk.store.history(case.code))
    old = as_v0(entries)
    status_of = wired.workflows.status_of
    year = (date(START.year, 1, 1), date(START.year, 12, 31))
    assert tracking_book(old, status_of, *year) == tracking_book(entries, status_of, *year) != ()
    assert dossier_facts(old, status_of) == dossier_facts(entries, status_of)
    assert dossier_facts(old, status_of)[0].received_at is not None


def test_a_schema_0_entry_still_reads_and_still_verifies(wired: Motcua) -> None:
    desk = fresh(wired)
    case = story(desk)
    entries = list(desk.store.history(case.code))
    old = as_v0(entries)
    stored = replace(case, head_hash=old[-1].hash)

    assert check_chain(stored, old) is None  # verified as written, in schema 0
    assert [upcast(e).changes for e in old] == [e.changes for e in entries]
    assert [upcast(e).reason for e in old] == [e.reason for e in entries]
    assert [upcast(e).data for e in old] == [e.data for e in entries]
    assert replay(old) == stored  # reads as if written today
    assert old[3].hash == upcast(old[3]).hash  # an upcast entry still names the stored one

    tampered = [*old[:3], replace(old[3], data={**old[3].data, "reason": "Khác"}), *old[4:]]
    found = check_chain(stored, tampered)
    assert found is not None and (found.sequence, "altered" in found.problem) == (4, True)
    for column in ({"changes": {"appointment": "2030-01-01T08:00:00+07:00"}}, {"reason": "Khác"}):
        filled = [*old[:3], replace(old[3], **column), *old[4:]]  # a column schema 0 does not have
        found = check_chain(stored, filled)
        assert found is not None and (found.sequence, "altered" in found.problem) == (4, True)


def test_an_old_entry_verifies_inside_a_chain_continued_in_the_current_schema(wired: Motcua) -> None:
    desk = fresh(wired)
    case = story(desk)
    entries = list(desk.store.history(case.code))
    old = as_v0(entries[:4])
    rest, previous = [], old[-1].hash
    for original in entries[4:]:
        entry = replace(original, prev_hash=previous)
        entry = replace(entry, hash=entry_hash(entry))
        rest.append(entry)
        previous = entry.hash
    rest = seal_positions(None, rest, [entry.position or 0 for entry in rest])  # sealed from the first new entry
    mixed = [*old, *rest]
    stored = replace(case, head_hash=previous)
    assert list(verify_chains([stored], mixed)) == []
    assert replay(mixed) == stored


def test_an_unknown_schema_is_named_not_guessed(wired: Motcua) -> None:
    desk = fresh(wired)
    case = story(desk)
    entries = list(desk.store.history(case.code))
    entries[2] = replace(entries[2], schema_version=7)
    found = check_chain(case, entries)
    assert found is not None and found.sequence == 3 and "unknown audit schema 7" in found.problem
    with pytest.raises(InvalidInput):
        upcast(entries[2])


def test_the_upcaster_registry_refuses_gaps_and_duplicates() -> None:
    registry = UpcasterRegistry(current=3)
    registry.register(0, upcast_v0_to_v1)
    with pytest.raises(InvalidInput, match="already registered"):
        registry.register(0, upcast_v0_to_v1)
    with pytest.raises(InvalidInput, match="starts below"):
        registry.register(3, upcast_v0_to_v1)
    with pytest.raises(InvalidInput, match="no upcaster from audit schema 1"):
        registry.upcast_mapping({"schema_version": 0, "data": {}, "changes": {}, "reason": None})
    registry.register(1, lambda stored: {**stored, "role": "officer"})
    registry.register(2, lambda stored: stored)
    assert registry.upcast_mapping({"schema_version": 0, "data": {"_set": {"a": 1}, "reason": "Vì"}, "changes": {},
                                    "reason": None}) == {"schema_version": 3, "data": {"reason": "Vì"},
                                                         "changes": {"a": 1}, "reason": "Vì", "role": "officer"}


def test_the_stored_mapping_has_every_field(wired: Motcua) -> None:
    desk = fresh(wired)
    entry = desk.store.history(story(desk).code)[0]
    assert AuditEntry(**stored_mapping(entry)) == entry  # type: ignore[arg-type]  # field name → its value


# -- the process control sheet -------------------------------------------------------------------


def test_the_control_sheet_lists_every_hand_over_with_giver_receiver_and_result(wired: Motcua) -> None:
    desk = fresh(wired)
    case = story(desk)
    sheet = control_sheet(desk.store.history(case.code))
    steps = [(h.trigger, h.giver.name, h.giver.unit, h.receiver.name, h.receiver.unit) for h in sheet.handovers]
    assert steps == [
        ("receive", "Trần Văn An", APPLICANT_UNIT, OFFICER.name, ONE_STOP_UNIT),
        ("assign", OFFICER.name, ONE_STOP_UNIT, SPECIALIST.name, "Công chức chuyên môn xử lý"),
        ("request_supplement", SPECIALIST.name, "Công chức chuyên môn xử lý", "Trần Văn An", APPLICANT_UNIT),
        ("supplement_received", "Trần Văn An", APPLICANT_UNIT, OFFICER.name, ONE_STOP_UNIT),
        ("submit_for_approval", SPECIALIST.name, "Công chức chuyên môn xử lý", LEADER.name, "Lãnh đạo UBND xã"),
        ("approve", LEADER.name, "Lãnh đạo UBND xã", SPECIALIST.name, "Công chức chuyên môn xử lý"),
        ("mark_result_ready", SPECIALIST.name, "Công chức chuyên môn xử lý", "", ONE_STOP_UNIT),
        ("return_result", OFFICER.name, ONE_STOP_UNIT, "Trần Văn An", APPLICANT_UNIT),
    ]
    assert [h.number for h in sheet.handovers] == list(range(1, 9))
    assert sheet.handovers[2].note == "Thiếu giấy" and sheet.handovers[1].electronic is True
    assert sheet.applicant == "Trần Văn An" and sheet.code == case.code


def test_each_step_is_judged_by_the_legal_appointment_right_after_it(wired: Motcua) -> None:
    desk = fresh(wired)  # Monday 08:00; 3 working days → Thursday 08:00
    case = desk.desk.receive(MARITAL, "direct", Applicant("Trần Văn An"), OFFICER)
    desk.clock.advance(timedelta(days=3))  # Thursday: the appointment's day
    case = desk.service.fire(case.code, "assign", OFFICER, {"assignee": SPECIALIST.name})
    desk.clock.advance(timedelta(days=1))  # Friday: late
    case = desk.service.fire(case.code, "apologize", LEADER, {"reason": "Chậm", "new_date": "2024-03-12"})
    case = desk.service.fire(case.code, "submit_for_approval", SPECIALIST, {"approver": LEADER.name})
    sheet = control_sheet(desk.store.history(case.code))
    assert [(h.trigger, h.result) for h in sheet.handovers] == [
        ("receive", Timeliness.EARLY), ("assign", Timeliness.ON_TIME), ("submit_for_approval", Timeliness.LATE),
    ]  # the apology's new date does not make the late step on time
    assert {h.deadline for h in sheet.handovers} == {datetime(2024, 3, 7, 8, 0, tzinfo=VN_TZ)}

    def step_deadlines(entry: AuditEntry, after: Case) -> datetime | None:
        return entry.occurred_at if entry.trigger == "assign" else None

    custom = control_sheet(desk.store.history(case.code), deadline=step_deadlines)
    assert [h.result for h in custom.handovers] == [Timeliness.ON_TIME] * 3


def test_compare_names_a_value_rewritten_to_another_json_type_that_python_finds_equal(wired: Motcua) -> None:
    """``True == 1``, ``0 == False`` and ``3 == 3.0`` in Python, but the engine decides on the types (``is True``,
    ``isinstance``): a stored value of another JSON type than its replay is a difference, named as JSON shows it."""
    desk = fresh(wired)
    case = story(desk)
    replayed = replay(desk.store.history(case.code))
    assert replayed is not None
    typed = replace(replayed, attributes={**replayed.attributes, "paper_result": True, "fee": 0, "handovers": 3,
                                          "rating": 5, "nested": {"ok": [True, 1.5]}})
    rewritten = replace(typed, attributes={**typed.attributes, "paper_result": 1, "fee": False, "handovers": 3.0,
                                           "rating": 5.0, "nested": {"ok": [1, 1.5]}})
    assert compare(typed, typed) == []
    found = {(d.field, d.stored, d.replayed) for d in compare(rewritten, typed)}
    assert found == {
        ("attributes.paper_result", "1", "true"),
        ("attributes.fee", "false", "0"),
        ("attributes.handovers", "3.0", "3"),
        ("attributes.rating", "5.0", "5"),
        ("attributes.nested", '{"ok": [1, 1.5]}', '{"ok": [true, 1.5]}'),
    }
