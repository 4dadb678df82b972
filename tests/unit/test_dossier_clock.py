"""The legal clock on dossiers: appointment at reception, pauses, apologies, end of processing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.dossiers.sla import Pause, Resumed, SlaClock
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.model import Case, SetTimer
from motcua.workflow.units.succession import apply_successions
from tests.conftest import APPLICANT, LEADER, OFFICER, SPECIALIST, SYSTEM

MARITAL = "1.004873"  # 3 working days
BIRTH = "1.001193"  # within the day, cut-off 15:00
CALENDAR_DAYS = "1.011609"  # 15 calendar days
AN_THUONG = "LOCAL-HD-AN-THUONG"  # a commune of Hải Dương (winter hours 07:30–16:30) until 30/6/2025


def at(clock: ManualClock, *parts: int) -> None:
    clock.set(datetime(*parts, tzinfo=VN_TZ))  # type: ignore[misc]  # year, month, day, hour, minute


def fire(motcua: Motcua, case: Case, trigger: str, actor: object, **data: object) -> Case:
    from motcua.workflow.engine.model import Actor  # noqa: PLC0415

    assert isinstance(actor, Actor)
    return motcua.service.fire(case.code, trigger, actor, data)


def appointment(case: Case) -> datetime:
    return datetime.fromisoformat(str(case.attributes["appointment"]))


def test_domain_example_appointment_on_a_makeup_saturday(motcua: Motcua, clock: ManualClock) -> None:
    at(clock, 2024, 4, 26, 16, 10)
    case = motcua.desk.receive(MARITAL, "direct", Applicant("A"), OFFICER)
    assert appointment(case) == datetime(2024, 5, 4, 16, 10, tzinfo=VN_TZ)
    timers = {t.name: t for t in motcua.store.timers(case.code)}
    assert timers["overdue"].due_at == appointment(case)
    assert timers["due_soon"].due_at == datetime(2024, 5, 3, 16, 10, tzinfo=VN_TZ)


def test_same_day_procedure_after_cutoff_is_due_next_working_day(motcua: Motcua, clock: ManualClock) -> None:
    at(clock, 2024, 3, 8, 15, 30)  # Friday after the 15:00 cut-off
    case = motcua.desk.receive(BIRTH, "direct", Applicant("A"), OFFICER)
    assert appointment(case) == datetime(2024, 3, 11, 17, 0, tzinfo=VN_TZ)


def test_supplement_pause_of_two_working_days_moves_appointment_by_two(motcua: Motcua, clock: ManualClock) -> None:
    at(clock, 2024, 3, 4, 8, 0)  # Monday
    case = motcua.desk.receive(MARITAL, "direct", Applicant("A"), OFFICER)
    first = appointment(case)
    assert first == datetime(2024, 3, 7, 8, 0, tzinfo=VN_TZ)
    case = fire(motcua, case, "assign", OFFICER, assignee=SPECIALIST.name)
    at(clock, 2024, 3, 5, 9, 0)
    case = fire(motcua, case, "request_supplement", SPECIALIST, reason="Bổ sung giấy chứng tử")
    assert motcua.store.timers(case.code) == []  # paused: no timer may fire
    at(clock, 2024, 3, 7, 9, 0)  # two working days later
    case = fire(motcua, case, "supplement_received", OFFICER)
    assert appointment(case) == datetime(2024, 3, 11, 8, 0, tzinfo=VN_TZ)  # Thu 7 → Mon 11 over the weekend
    assert motcua.service.engine.clock.now() < appointment(case)
    history = case.attributes["appointment_history"]
    assert isinstance(history, list) and [h["kind"] for h in history] == ["initial", "paused"]  # type: ignore[index]
    assert case.attributes["supplement_requests"] == 1
    names = {t.name for t in motcua.store.timers(case.code)}
    assert {"overdue", "due_soon"} <= names


def test_pause_over_a_weekend_counts_only_working_time(motcua: Motcua, clock: ManualClock) -> None:
    at(clock, 2024, 3, 4, 8, 0)
    case = motcua.desk.receive(MARITAL, "direct", Applicant("A"), OFFICER)
    case = fire(motcua, case, "assign", OFFICER, assignee=SPECIALIST.name)
    case = fire(motcua, case, "request_payment", SPECIALIST, amount=50000)
    at(clock, 2024, 3, 8, 16, 0)  # Friday 16:00
    case = fire(motcua, case, "payment_received", OFFICER, online=True)
    # paused Mon 08:00 → Fri 16:00 = 7 + 3×8 + 7 = 38 working hours; Thu 7/3 08:00 + 38 h = Wed 13/3 16:00
    assert appointment(case) == datetime(2024, 3, 13, 16, 0, tzinfo=VN_TZ)
    assert case.attributes["paid_online"] is True


def paused(motcua: Motcua, clock: ManualClock, procedure: str, pause: tuple[int, ...], resume: tuple[int, ...]) -> Case:
    """A dossier of ``procedure`` received Monday 2024-03-04 08:00, waiting for a supplement from ``pause`` to
    ``resume`` (month, day, hour of 2024)."""
    at(clock, 2024, 3, 4, 8, 0)
    case = motcua.desk.receive(procedure, "direct", Applicant("A"), OFFICER)
    case = fire(motcua, case, "assign", OFFICER, assignee=SPECIALIST.name)
    at(clock, 2024, *pause, 0)
    case = fire(motcua, case, "request_supplement", SPECIALIST, reason="Bổ sung giấy xác nhận")
    at(clock, 2024, *resume, 0)
    return fire(motcua, case, "supplement_received", OFFICER)


@pytest.mark.parametrize(("pause", "resume", "moved"), [
    # Fri 16:00 → Mon 08:00 spans three calendar days (two working hours): Tue 19/3 → Fri 22/3, same clock time
    ((3, 8, 16), (3, 11, 8), datetime(2024, 3, 22, 8, 0, tzinfo=VN_TZ)),
    # four days would land on Saturday 23/3: the next working day at the same clock time
    ((3, 8, 16), (3, 12, 8), datetime(2024, 3, 25, 8, 0, tzinfo=VN_TZ)),
    # back the day it left: no calendar day passed, the appointment stays
    ((3, 5, 9), (3, 5, 15), datetime(2024, 3, 19, 8, 0, tzinfo=VN_TZ)),
])
def test_a_pause_moves_a_calendar_day_deadline_by_the_calendar_days_it_spanned(
    motcua: Motcua, clock: ManualClock, pause: tuple[int, ...], resume: tuple[int, ...], moved: datetime,
) -> None:
    """15 calendar days from Mon 4/3 08:00 is Tue 19/3 08:00; the time with the applicant does not count, in the
    deadline's own unit (the same pause on a working-day deadline moves it by the working time only)."""
    case = paused(motcua, clock, CALENDAR_DAYS, pause, resume)
    assert appointment(case) == moved
    assert {t.name: t.due_at for t in motcua.store.timers(case.code)}["overdue"] == moved
    history = case.attributes["appointment_history"]
    assert isinstance(history, list) and history[0]["appointment"] == "2024-03-19T08:00:00+07:00"  # type: ignore[index]


def test_a_calendar_day_deadline_is_counted_again_with_the_days_paused_not_moved_twice(
    motcua: Motcua, clock: ManualClock,
) -> None:
    """Received Fri 8/3: day 15 is Sat 23/3, so the appointment is Mon 25/3. Paused one day (Mon 11 → Tue 12): day 16
    is Sun 24/3, still Mon 25/3 — the day off is skipped once, at the end (Civil Code art. 148), not a day added to
    the Monday it had moved to. Two more pauses add their days to the count: 16 + 2 + 3 = 21 days, Fri 29/3."""
    at(clock, 2024, 3, 8, 8, 0)
    case = motcua.desk.receive(CALENDAR_DAYS, "direct", Applicant("A"), OFFICER)
    assert appointment(case) == datetime(2024, 3, 25, 8, 0, tzinfo=VN_TZ)
    case = fire(motcua, case, "assign", OFFICER, assignee=SPECIALIST.name)
    for pause, resume, moved in (((3, 11, 9), (3, 12, 9), datetime(2024, 3, 25, 8, 0, tzinfo=VN_TZ)),
                                 ((3, 13, 9), (3, 15, 9), datetime(2024, 3, 26, 8, 0, tzinfo=VN_TZ)),
                                 ((3, 15, 16), (3, 18, 8), datetime(2024, 3, 29, 8, 0, tzinfo=VN_TZ))):
        at(clock, 2024, *pause, 0)
        case = fire(motcua, case, "request_payment", SPECIALIST, amount=50000)
        at(clock, 2024, *resume, 0)
        case = fire(motcua, case, "payment_received", OFFICER, online=True)
        assert appointment(case) == moved, pause
    assert case.attributes["calendar_days_paused"] == 6


def test_a_dossier_paused_before_the_days_were_kept_moves_its_appointment_as_it_stands(motcua: Motcua) -> None:
    """No ``calendar_days_paused`` but a pause in its history: the earlier pauses' days are unknown, so the
    appointment as it stands moves by this pause's days (the next working day when on a day off)."""
    version = motcua.catalogue.get(CALENDAR_DAYS).versions[-1]
    sla = SlaClock(motcua.calendar)
    received, appointment = datetime(2024, 3, 4, 8, tzinfo=VN_TZ), datetime(2024, 3, 22, 8, tzinfo=VN_TZ)
    pause = Pause(datetime(2024, 3, 11, 9, tzinfo=VN_TZ), datetime(2024, 3, 12, 9, tzinfo=VN_TZ), None)
    assert sla.resumed(version, "direct", received, appointment, pause) == Resumed(
        datetime(2024, 3, 25, 8, tzinfo=VN_TZ), None)  # Fri 22 + 1 = Sat 23: Mon 25
    counted = sla.resumed(version, "direct", received, appointment, Pause(pause.start, pause.end, 3))
    assert counted == Resumed(datetime(2024, 3, 25, 8, tzinfo=VN_TZ), 4)  # 15 + 4 days from Mon 4/3: Fri 23 → Mon 25


def test_the_same_pause_moves_a_working_day_deadline_by_its_working_time(motcua: Motcua, clock: ManualClock) -> None:
    # two working hours (Fri 16–17, Mon 07–08): Thu 7/3 08:00 → 10:00
    case = paused(motcua, clock, MARITAL, (3, 8, 16), (3, 11, 8))
    assert appointment(case) == datetime(2024, 3, 7, 10, 0, tzinfo=VN_TZ)


def test_apology_is_recorded_but_never_moves_the_legal_appointment(motcua: Motcua, clock: ManualClock) -> None:
    at(clock, 2024, 3, 4, 8, 0)
    case = motcua.desk.receive(MARITAL, "direct", Applicant("A"), OFFICER)
    legal = appointment(case)
    case = fire(motcua, case, "assign", OFFICER, assignee=SPECIALIST.name)
    at(clock, 2024, 3, 5, 10, 0)  # before the apology deadline (Wed 08:00)
    case = fire(motcua, case, "apologize", LEADER, reason="Cần xác minh", new_date="2024-03-12")
    assert appointment(case) == legal
    apologies = case.attributes["apologies"]
    assert isinstance(apologies, list) and apologies[0]["in_time"] is True  # type: ignore[index]
    at(clock, 2024, 3, 7, 9, 0)  # after the appointment: too late
    case = fire(motcua, case, "apologize", LEADER, reason="Chưa xong")  # a second letter fixes no new date
    assert case.attributes["apologies"][1]["in_time"] is False  # type: ignore[index]
    kinds = [h["kind"] for h in case.attributes["appointment_history"]]  # type: ignore[union-attr,index]
    assert kinds == ["initial", "apology"]
    forms = [e.payload["form"] for e in motcua.store.effects(case.code)]
    assert forms.count("apology") == 2


def test_an_apology_for_a_17_00_appointment_is_due_by_17_00_the_working_day_before(
    motcua: Motcua, clock: ManualClock,
) -> None:
    """One working day before Thu 7/3 17:00 is Wed 6/3 17:00 — not Thu 07:00, the same instant in working time but
    the appointment's own date: a letter written on Wednesday evening is late."""
    at(clock, 2024, 3, 5, 7, 0)  # Tuesday at opening: three working days end on Thursday at 17:00
    case = motcua.desk.receive(MARITAL, "direct", Applicant("A"), OFFICER)
    assert appointment(case) == datetime(2024, 3, 7, 17, 0, tzinfo=VN_TZ)
    assert case.attributes["apology_due"] == "2024-03-06T17:00:00+07:00"
    case = fire(motcua, case, "assign", OFFICER, assignee=SPECIALIST.name)
    at(clock, 2024, 3, 6, 18, 30)
    case = fire(motcua, case, "apologize", LEADER, reason="Cần xác minh", new_date="2024-03-12")
    assert case.attributes["apologies"][0]["in_time"] is False  # type: ignore[index]


def test_clock_stops_at_the_end_of_processing(motcua: Motcua, clock: ManualClock) -> None:
    at(clock, 2024, 3, 4, 8, 0)
    case = motcua.desk.receive(MARITAL, "direct", Applicant("A"), OFFICER)
    case = fire(motcua, case, "assign", OFFICER, assignee=SPECIALIST.name)
    case = fire(motcua, case, "submit_for_approval", SPECIALIST, approver=LEADER.name, electronic=True)
    case = fire(motcua, case, "approve", LEADER)
    at(clock, 2024, 3, 5, 14, 0)
    case = fire(motcua, case, "mark_result_ready", SPECIALIST)
    assert case.attributes["ended_at"] == "2024-03-05T14:00:00+07:00"
    assert motcua.store.timers(case.code) == []
    at(clock, 2024, 3, 6, 8, 0)
    case = fire(motcua, case, "return_result", OFFICER)
    case = fire(motcua, case, "rate", APPLICANT, rating=4)
    assert case.attributes["ended_at"] == "2024-03-05T14:00:00+07:00"
    assert case.attributes["handovers"] == 3 and case.attributes["electronic_handovers"] == 1


def test_timers_fire_warning_overdue_and_escalation(motcua: Motcua, clock: ManualClock) -> None:
    at(clock, 2024, 3, 4, 8, 0)
    case = motcua.desk.receive(MARITAL, "direct", Applicant("A"), OFFICER)
    timers = {t.name: t for t in motcua.store.timers(case.code)}
    escalation = [t for t in timers.values() if t.trigger == "escalate"]
    assert escalation and all(t.due_at > timers["overdue"].due_at for t in escalation)
    for timer in sorted(timers.values(), key=lambda t: t.due_at):
        clock.set(timer.due_at + timedelta(seconds=1))
        case = motcua.service.fire(case.code, timer.trigger, SYSTEM, dict(timer.data))
    assert case.state["deadline"] == "overdue"
    notices = [e.payload for e in motcua.store.effects(case.code) if e.kind == "notify"]
    assert [n["event"] for n in notices] == ["due_soon", "overdue", *["escalation"] * len(escalation)]
    assert [n["role"] for n in notices][:2] == ["officer", "leader"]
    assert isinstance(timers["overdue"], SetTimer)


def test_rule_set_in_force_at_reception_is_kept(motcua: Motcua, clock: ManualClock) -> None:
    at(clock, 2025, 6, 30, 16, 0)
    old = motcua.desk.receive(MARITAL, "direct", Applicant("A"), OFFICER)
    at(clock, 2025, 7, 1, 8, 0)
    new = motcua.desk.receive(MARITAL, "direct", Applicant("B"), OFFICER)
    assert (old.rule_set, new.rule_set) == ("nd61-2018", "nd118-2025")
    old = fire(motcua, old, "assign", OFFICER, assignee=SPECIALIST.name)
    assert old.rule_set == "nd61-2018"


def test_a_dossier_paused_past_its_warning_is_warned_when_it_resumes(motcua: Motcua, clock: ManualClock) -> None:
    at(clock, 2024, 3, 4, 8, 0)  # Monday; appointment Thu 7 08:00, warning Wed 6 08:00
    case = motcua.desk.receive(MARITAL, "direct", Applicant("A"), OFFICER)
    case = fire(motcua, case, "assign", OFFICER, assignee=SPECIALIST.name)
    at(clock, 2024, 3, 6, 8, 30)  # the warning fell due, but the pause came before it fired
    case = fire(motcua, case, "request_supplement", SPECIALIST, reason="Bổ sung giấy chứng tử")
    assert case.state["deadline"] == "on_time"
    at(clock, 2024, 3, 6, 9, 0)  # half an hour later: the moved threshold (Wed 08:30) is past
    case = fire(motcua, case, "supplement_received", OFFICER)
    assert appointment(case) == datetime(2024, 3, 7, 8, 30, tzinfo=VN_TZ)
    timers = {t.name: t for t in motcua.store.timers(case.code)}
    assert timers["due_soon"].due_at == clock.now()  # owed since before the pause: given now, not skipped
    assert timers["overdue"].due_at == appointment(case)


def test_a_resumed_dossier_already_due_soon_is_not_warned_twice(motcua: Motcua, clock: ManualClock) -> None:
    at(clock, 2024, 3, 4, 8, 0)
    case = motcua.desk.receive(MARITAL, "direct", Applicant("A"), OFFICER)
    case = fire(motcua, case, "assign", OFFICER, assignee=SPECIALIST.name)
    at(clock, 2024, 3, 6, 9, 0)
    case = fire(motcua, case, "mark_due_soon", SYSTEM)
    case = fire(motcua, case, "request_supplement", SPECIALIST, reason="Bổ sung giấy chứng tử")
    at(clock, 2024, 3, 6, 10, 0)
    case = fire(motcua, case, "supplement_received", OFFICER)
    assert case.state["deadline"] == "due_soon"
    assert "due_soon" not in {t.name for t in motcua.store.timers(case.code)}


def test_a_dossier_received_inside_its_warning_window_is_not_warned_when_it_resumes(
    motcua: Motcua, clock: ManualClock,
) -> None:
    at(clock, 2024, 3, 4, 8, 0)  # Monday; within the day: the warning's threshold (1 working day before) is past
    case = motcua.desk.receive(BIRTH, "direct", Applicant("A"), OFFICER)
    assert "due_soon" not in {t.name for t in motcua.store.timers(case.code)}  # never armed: no warning promised
    case = fire(motcua, case, "assign", OFFICER, assignee=SPECIALIST.name)
    at(clock, 2024, 3, 4, 9, 0)
    case = fire(motcua, case, "request_supplement", SPECIALIST, reason="Bổ sung giấy chứng sinh")
    at(clock, 2024, 3, 4, 10, 0)
    case = fire(motcua, case, "supplement_received", OFFICER)
    timers = {t.name for t in motcua.store.timers(case.code)}
    assert "overdue" in timers
    assert "due_soon" not in timers  # it stays on time until its appointment, as before the pause


def test_a_calendar_day_deadline_paused_across_a_merger_counts_from_the_receiving_offices_start() -> None:
    """Received Thursday 20/3/2025 at 16:45, after Hải Dương's winter closing (16:30): 15 calendar days count from
    Friday 21/3 07:30. Paused the next morning, merged into a Hải Phòng ward on 1/7 (closing at 17:00), resumed
    10/7: the count starts where the receiving office started it — 15 + 111 paused days from 21/3 07:30 — not from
    the reception under the successor's hours, which would have counted Thursday 16:45 as a working instant."""
    clock = ManualClock(datetime(2025, 3, 20, 16, 45, tzinfo=VN_TZ))
    app = open_motcua("memory://", clock=clock, observers=[], agency=AN_THUONG)
    try:
        case = app.desk.receive("1.011609", "direct", Applicant("A"), OFFICER, unit=AN_THUONG)
        assert case.attributes["count_started_at"] == "2025-03-21T07:30:00+07:00"
        case = app.service.fire(case.code, "assign", OFFICER, {"assignee": "Phạm Văn Hùng"})
        clock.set(datetime(2025, 3, 21, 9, 0, tzinfo=VN_TZ))
        case = app.service.fire(case.code, "request_supplement", SPECIALIST, {"reason": "Bổ sung giấy tờ"})
        clock.set(datetime(2025, 7, 1, 0, 5, tzinfo=VN_TZ))
        assert apply_successions(app.service, app.store, app.desk.units.register, clock.now()).moved == 1
        clock.set(datetime(2025, 7, 10, 9, 0, tzinfo=VN_TZ))
        case = app.service.fire(case.code, "supplement_received", OFFICER, {})
        assert case.attributes["deciding_unit"] != AN_THUONG and case.attributes["calendar_days_paused"] == 111
        assert case.attributes["appointment"] == "2025-07-25T07:30:00+07:00"  # 21/3 + 126 days: Friday 25/7
    finally:
        app.close()


def test_a_dossier_escalated_before_a_pause_is_not_escalated_again_when_it_resumes(
    motcua: Motcua, clock: ManualClock
) -> None:
    """The chairman told of an overdue dossier is not told again of the same step because it went back to the
    applicant for a supplement: on resuming, the ladder's steps already notified are not armed again (the moved
    appointment puts them in the past: they fired at once, a second notice of the same step)."""
    at(clock, 2024, 3, 4, 8, 0)  # appointment Thu 7 08:00; the chairman's step 2 working days after it
    case = motcua.desk.receive(MARITAL, "direct", Applicant("A"), OFFICER)
    case = fire(motcua, case, "assign", OFFICER, assignee=SPECIALIST.name)
    armed = sorted(motcua.store.timers(case.code), key=lambda timer: timer.due_at)
    for timer in armed:
        clock.set(timer.due_at + timedelta(seconds=1))
        case = motcua.service.fire(case.code, timer.trigger, SYSTEM, dict(timer.data))
    ladder = [timer.name for timer in armed if timer.trigger == "escalate"]
    at(clock, 2024, 3, 12, 8, 0)
    case = fire(motcua, case, "request_supplement", SPECIALIST, reason="Bổ sung giấy chứng tử")
    at(clock, 2024, 3, 15, 8, 0)
    case = fire(motcua, case, "supplement_received", OFFICER)

    assert ladder and not {timer.name for timer in motcua.store.timers(case.code)} & set(ladder)
    steps = [e.payload.get("step") for e in motcua.store.effects(case.code) if e.payload.get("event") == "escalation"]
    assert len(steps) == len(set(steps)) == len(ladder)


def test_a_dossier_paused_before_its_escalation_is_escalated_after_it_resumes(
    motcua: Motcua, clock: ManualClock
) -> None:
    at(clock, 2024, 3, 4, 8, 0)
    case = motcua.desk.receive(MARITAL, "direct", Applicant("A"), OFFICER)
    case = fire(motcua, case, "assign", OFFICER, assignee=SPECIALIST.name)
    at(clock, 2024, 3, 7, 9, 0)  # overdue, the chairman's step not yet due
    case = fire(motcua, case, "request_supplement", SPECIALIST, reason="Bổ sung giấy chứng tử")
    at(clock, 2024, 3, 8, 9, 0)
    case = fire(motcua, case, "supplement_received", OFFICER)

    assert any(timer.trigger == "escalate" for timer in motcua.store.timers(case.code))  # still owed: armed
