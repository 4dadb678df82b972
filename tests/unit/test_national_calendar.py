"""The national calendar corrections (definitions/calendar/vn.yaml): the 2026 New Year swap, confirmed and
provisional days, the file's validation, and every calendar of the product counting on the corrected days."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from motcua.adapters.bootstrap import DEFAULT_AGENCY
from motcua.adapters.memory.store import MemoryStore
from motcua.definitions.calendar import NATIONAL_FILE, load_national_calendar, national_calendar
from motcua.definitions.catalogue import load_procedures, load_rule_sets
from motcua.definitions.offices import load_office, load_office_file
from motcua.definitions.units import load_units, unit_calendars
from motcua.definitions.workflows import load_workflows
from motcua.workflow.dossiers.actions import DossierServices, dossier_registry
from motcua.workflow.dossiers.catalogue import Catalogue
from motcua.workflow.dossiers.desk import Applicant, Desk
from motcua.workflow.dossiers.sla import SlaClock
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.decisions import Engine
from motcua.workflow.engine.model import Case
from motcua.workflow.engine.service import CaseService
from motcua.workflow.errors import InvalidDefinition, InvalidInput
from motcua.workflow.feedback.actions import FeedbackServices, feedback_registry
from motcua.workflow.plan.actions import TaskServices, task_registry
from motcua.workflow.units.directory import UnitDirectory
from motcua.workflow.worktime.calendar import DayKind, DayOrigin, Duration, DurationUnit, WorkingCalendar
from motcua.workflow.worktime.national import Correction, CorrectionKind, LegalSource, NationalCalendar
from tests.conftest import OFFICER, SPECIALIST

ONE_DAY = Duration(1, DurationUnit.WORKING_DAYS)
CORRECTED = load_office().calendar()
PACKAGE_ONLY = WorkingCalendar()
TET_2027 = (date(2027, 2, 4), date(2027, 2, 5), date(2027, 2, 8), date(2027, 2, 9), date(2027, 2, 10))
LETTER = "{document: Công văn, number: 12729/VPCP-KGVX, signed: 2025-12-25}"


def vn(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=VN_TZ)  # type: ignore[misc]  # year, month, day, hour[, minute]


# --- the 2026 New Year swap (Công văn 12729/VPCP-KGVX, 25/12/2025) ------------------------------------------


def test_the_package_alone_lacks_the_swap() -> None:
    assert PACKAGE_ONLY.is_working_day(date(2026, 1, 2))
    assert not PACKAGE_ONLY.is_working_day(date(2026, 1, 10))


def test_friday_2_january_2026_is_off_and_saturday_10_january_is_worked() -> None:
    assert not CORRECTED.is_working_day(date(2026, 1, 2))
    assert CORRECTED.is_working_day(date(2026, 1, 10))
    swapped = CORRECTED.describe(date(2026, 1, 2))
    assert (swapped.kind, swapped.origin, swapped.provisional) == (DayKind.DAY_OFF, DayOrigin.NATIONAL, False)
    assert swapped.source == LegalSource("Công văn", "12729/VPCP-KGVX", date(2025, 12, 25))
    made_up = CORRECTED.describe(date(2026, 1, 10))
    assert (made_up.kind, made_up.working, made_up.name) == (DayKind.MAKE_UP, True, "Làm bù cho ngày 02/01/2026")
    assert CORRECTED.extra_working_days(2026)[0] == (date(2026, 1, 10), "Làm bù cho ngày 02/01/2026")


def test_due_across_the_new_year_2026() -> None:
    # 31/12 10:00 + 8 working hours: 5 h on 31/12, then 1/1 and 2/1 off, 3–4 weekend → Monday 5/1 10:00.
    assert CORRECTED.due(vn(2025, 12, 31, 10), ONE_DAY) == vn(2026, 1, 5, 10)
    assert PACKAGE_ONLY.due(vn(2025, 12, 31, 10), ONE_DAY) == vn(2026, 1, 2, 10)  # a day early, as it was
    # the make-up Saturday is a working day: Friday 9/1 10:00 + 1 day → Saturday 10/1 10:00
    assert CORRECTED.due(vn(2026, 1, 9, 10), ONE_DAY) == vn(2026, 1, 10, 10)


# --- confirmed and provisional days ---------------------------------------------------------------------------


@pytest.mark.parametrize("year", [2023, 2024, 2025])
def test_the_years_announced_in_full_have_no_provisional_day(year: int) -> None:
    special = CORRECTED.special_days(year)
    assert special and [item.day for item in special if item.provisional] == []
    assert all(item.source is not None for item in special)


def test_2026_is_confirmed_but_for_culture_day() -> None:
    provisional = [item for item in CORRECTED.special_days(2026) if item.provisional]
    assert [(item.day, item.name) for item in provisional] == [(date(2026, 11, 24), "Ngày Văn hóa Việt Nam")]
    assert CORRECTED.describe(date(2026, 2, 16)).source == LegalSource("Thông báo", "9441/TB-BNV", date(2025, 10, 16))
    assert CORRECTED.describe(date(2026, 8, 31)).source == LegalSource("Thông báo", "9441/TB-BNV", date(2025, 10, 16))


def test_2027_is_provisional_but_for_the_days_the_law_fixes() -> None:
    tet = CORRECTED.describe(date(2027, 2, 5))
    assert (tet.origin, tet.source, tet.provisional) == (DayOrigin.PACKAGE, None, True)
    new_year = CORRECTED.describe(date(2027, 1, 1))
    assert new_year.provisional is False and new_year.source is not None
    assert new_year.source.number == "45/2019/QH14"
    assert CORRECTED.provisional_days(date(2027, 1, 1), date(2027, 2, 28)) == TET_2027
    # a provisional day on a weekend moves no count: not listed
    assert date(2027, 2, 6) not in CORRECTED.provisional_days(date(2027, 2, 1), date(2027, 2, 28))


def test_ordinary_days_are_neither_confirmed_nor_provisional() -> None:
    monday = CORRECTED.describe(date(2026, 3, 2))
    assert (monday.kind, monday.origin, monday.provisional, monday.working) == (DayKind.WORKING, None, False, True)
    assert CORRECTED.describe(date(2026, 3, 1)).kind is DayKind.WEEKEND


def test_office_overrides_win_over_the_national_corrections(tmp_path: Path) -> None:
    text = 'label: "Xã trực"\nremoved_days_off:\n  - {date: 2026-01-02, reason: "Trực giải quyết hồ sơ"}\n'
    (tmp_path / "truc.yaml").write_text(text, encoding="utf-8")
    calendar = load_office_file(tmp_path / "truc.yaml").calendar()
    assert calendar.is_working_day(date(2026, 1, 2))
    day = calendar.describe(date(2026, 1, 2))
    assert (day.kind, day.origin, day.name) == (DayKind.WORKED, DayOrigin.OFFICE, "Trực giải quyết hồ sơ")


# --- every calendar of the product gets the corrections ----------------------------------------------------


def test_every_unit_calendar_and_the_engine_clock_count_on_the_corrected_days() -> None:
    calendars = unit_calendars(load_units())
    assert calendars
    assert all(not calendar.is_working_day(date(2026, 1, 2)) for calendar in calendars.values())
    assert all(calendar.national is national_calendar() for calendar in calendars.values())
    assert load_office("an-thuong").calendar().national is national_calendar()


# --- the file's validation -------------------------------------------------------------------------------------


def national_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "vn.yaml"
    path.write_text('label: "Thử"\n' + body, encoding="utf-8")
    return path


def problems(path: Path) -> str:
    with pytest.raises(InvalidDefinition) as caught:
        load_national_calendar(path)
    assert caught.value.source == str(path)
    return " | ".join(caught.value.problems)


def test_the_shipped_file_loads() -> None:
    national = load_national_calendar(NATIONAL_FILE)
    assert [(item.kind, item.day) for item in national.corrections] == [
        (CorrectionKind.DAY_OFF, date(2026, 1, 2)), (CorrectionKind.WORKING_DAY, date(2026, 1, 10)),
    ]
    assert national.years()[0] == 2022 and national.years()[-1] == 2026  # Tết Dương lịch 2023 starts 31/12/2022


def test_a_correction_without_its_source_is_refused_naming_the_entry(tmp_path: Path) -> None:
    path = national_file(tmp_path, "days_off:\n  - {date: 2026-01-02, name: Nghỉ}\n")
    message = problems(path)
    assert "days_off[0] 2026-01-02.source" in message and "required" in message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("  - {date: 2026-01-02, name: Nghỉ, source: {document: Công văn, number: 12729, signed: 2025-12-25}}\n",
         "days_off[0] 2026-01-02.source.number"),
        ("  - {date: 2026-01-02, name: Nghỉ, source: {document: Công văn, number: 12729/VPCP-KGVX}}\n",
         "days_off[0] 2026-01-02.source.signed"),
        ("  - {date: 2026-01-02, name: Nghỉ, source: {document: Công văn, number: 12729/VPCP-KGVX, "
         "signed: 20251225}}\n", "days_off[0] 2026-01-02.source.signed"),
        ("  - {date: 2026-01-02, name: Nghỉ, source: {document: Công văn, number: 12729/VPCP-KGVX, "
         "signed: 2026-12-25}}\n", "signed after the day"),
    ],
    ids=["number-without-issuer", "no-date", "number-date", "signed-after"],
)
def test_a_source_needs_a_document_number_and_a_date(tmp_path: Path, body: str, expected: str) -> None:
    assert expected in problems(national_file(tmp_path, "days_off:\n" + body))


def test_a_date_given_twice_is_refused(tmp_path: Path) -> None:
    body = (f"days_off:\n  - {{date: 2026-01-02, name: Nghỉ, source: {LETTER}}}\n"
            f"working_days:\n  - {{date: 2026-01-02, name: Làm, source: {LETTER}}}\n")
    message = problems(national_file(tmp_path, body))
    assert "2026-01-02" in message and "given twice" in message and "working_days" in message
    body = (f"days_off:\n  - {{date: 2026-01-02, name: A, source: {LETTER}}}\n"
            f"  - {{date: 2026-01-02, name: B, source: {LETTER}}}\n")
    assert "days_off 2026-01-02: given twice in days_off" in problems(national_file(tmp_path, body))


def _redundant(path: Path) -> list[str]:
    return WorkingCalendar(national=load_national_calendar(path)).redundant_corrections()


def test_a_correction_the_package_already_applies_loads_and_is_named(tmp_path: Path) -> None:
    """A later ``holidays`` release that learns a correction must not stop the product: the correction is
    harmless, and named so that the maintainer deletes it (the test below fails until then)."""
    body = ("removed_days_off:\n  - {date: 2025-05-03, reason: nhầm, source: "
            "{document: Công văn, number: 1/BNV-CVL, signed: 2025-04-01}}\n")
    assert any("removed_days_off 2025-05-03" in item and "nothing to remove" in item
               for item in _redundant(national_file(tmp_path, body)))
    body = f"days_off:\n  - {{date: 2026-01-01, name: Tết, source: {LETTER}}}\n"
    assert any("days_off 2026-01-01: already a day off" in item for item in _redundant(national_file(tmp_path, body)))
    body = "working_days:\n  - {date: 2024-05-04, name: Làm bù, source: {document: Công văn, number: " \
           "2450/VPCP-KGVX, signed: 2024-04-12}}\n"
    assert any("working_days 2024-05-04: already a working day" in item
               for item in _redundant(national_file(tmp_path, body)))


def test_the_shipped_corrections_are_all_still_needed() -> None:
    """Fails after upgrading ``holidays`` to a release that learnt a correction: delete the entries it names."""
    assert WorkingCalendar(national=national_calendar()).redundant_corrections() == []


def test_an_announcement_the_corrected_calendar_contradicts_is_refused(tmp_path: Path) -> None:
    body = (f"announcements:\n  - {{holiday: Tết Dương lịch 2026, first_day: 2026-01-01, last_day: 2026-01-04, "
            f"working_days: [2026-01-10], source: {LETTER}}}\n")
    message = problems(national_file(tmp_path, body))
    assert "announcement 'Tết Dương lịch 2026': 2026-01-02 is a working day" in message
    assert "2026-01-10 is not worked" in message


def test_two_announcements_of_one_day_are_refused(tmp_path: Path) -> None:
    body = ("announcements:\n"
            f"  - {{holiday: A, first_day: 2026-02-14, last_day: 2026-02-22, source: {LETTER}}}\n"
            f"  - {{holiday: B, first_day: 2026-02-22, last_day: 2026-02-22, source: {LETTER}}}\n")
    assert "2026-02-22 is also decided by 'A'" in problems(national_file(tmp_path, body))


def test_the_model_refuses_a_correction_without_a_source() -> None:
    with pytest.raises(InvalidInput, match="legal source"):
        Correction(CorrectionKind.DAY_OFF, date(2026, 1, 2), "Nghỉ", None)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="given twice"):
        source = LegalSource("Công văn", "12729/VPCP-KGVX", date(2025, 12, 25))
        NationalCalendar(corrections=(Correction(CorrectionKind.DAY_OFF, date(2026, 1, 2), "A", source),
                                      Correction(CorrectionKind.REMOVED, date(2026, 1, 2), "B", source)))


# --- the engine: appointments over the corrected calendar, provisional days on the record -----------------------

ONE_DAY_PROCEDURE = """\
field: {code: HT, name: Hộ tịch}
procedures:
  - code: "1.999001"
    name: Thủ tục thử một ngày làm việc
    level: mot_phan
    processing_time:
      direct: {amount: 1, unit: working_days}
    fee: 0
    source: Thủ tục giả định của bộ kiểm thử (một ngày làm việc).
"""
MARITAL = "1.004873"  # 3 working days


def desk(catalogue: Catalogue, clock: ManualClock) -> Desk:
    """The engine as ``open_motcua`` assembles it, on the memory store, with ``catalogue``."""
    rules, register = load_rule_sets(), load_units()
    sla = SlaClock(load_office().calendar())
    clocks = {code: SlaClock(calendar) for code, calendar in unit_calendars(register).items()}
    workflows = load_workflows({
        "tthc-dossier": dossier_registry(DossierServices(sla, catalogue, rules, clocks)),
        "plan-task": task_registry(TaskServices(sla, rules, clocks)),
        "pakn": feedback_registry(FeedbackServices(sla, rules, clocks)),
    })
    store = MemoryStore()
    return Desk(CaseService(Engine(workflows, clock), store), store, catalogue, rules, DEFAULT_AGENCY,
                units=UnitDirectory(register, DEFAULT_AGENCY))


@pytest.fixture
def one_day(tmp_path: Path) -> Catalogue:
    (tmp_path / "thu.yaml").write_text(ONE_DAY_PROCEDURE, encoding="utf-8")
    return load_procedures(tmp_path)


def history(case: Case) -> list[dict[str, object]]:
    entries = case.attributes["appointment_history"]
    assert isinstance(entries, list)
    return [dict(entry) for entry in entries if isinstance(entry, dict)]


def test_a_dossier_received_on_31_december_2025_is_due_on_5_january_2026(one_day: Catalogue) -> None:
    clock = ManualClock(vn(2025, 12, 31, 10))
    case = desk(one_day, clock).receive("1.999001", "direct", Applicant("Trần Văn An"), OFFICER)
    assert case.rule_set == "nd118-2025"
    assert case.attributes["appointment"] == "2026-01-05T10:00:00+07:00"
    [entry] = history(case)
    assert entry == {"at": "2025-12-31T10:00:00+07:00", "appointment": "2026-01-05T10:00:00+07:00",
                     "kind": "initial", "reason": None}  # every day counted over is confirmed: no mark


def test_an_appointment_counted_over_tet_2027_names_its_provisional_days(one_day: Catalogue) -> None:
    clock = ManualClock(vn(2027, 2, 3, 10))
    case = desk(one_day, clock).receive("1.999001", "direct", Applicant("Trần Văn An"), OFFICER)
    # 5 h on Wednesday 3/2, Tết 4/2–10/2 (the package's layout, not announced), 3 h on Thursday 11/2
    assert case.attributes["appointment"] == "2027-02-11T10:00:00+07:00"
    assert history(case)[0]["provisional_days"] == [day.isoformat() for day in TET_2027]


def test_a_resumed_clock_names_the_provisional_days_of_its_new_span() -> None:
    clock = ManualClock(vn(2027, 2, 1, 7))
    front = desk(load_procedures(), clock)
    case = front.receive(MARITAL, "direct", Applicant("Trần Văn An"), OFFICER)
    assert case.attributes["appointment"] == "2027-02-03T17:00:00+07:00"
    assert "provisional_days" not in history(case)[0]
    service = front.service
    service.fire(case.code, "assign", OFFICER, {"assignee": SPECIALIST.name})
    clock.set(vn(2027, 2, 2, 9))
    service.fire(case.code, "request_supplement", SPECIALIST, {"reason": "Bổ sung giấy tờ"})
    clock.set(vn(2027, 2, 3, 9))  # one working day later
    case = service.fire(case.code, "supplement_received", OFFICER, {})
    assert case.attributes["appointment"] == "2027-02-11T17:00:00+07:00"  # over Tết 2027
    assert history(case)[-1]["provisional_days"] == [day.isoformat() for day in TET_2027]
