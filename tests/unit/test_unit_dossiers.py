"""Every dossier belongs to units: where it is received, who decides it, whose calendar counts its deadline, and
which callers see it (:mod:`motcua.workflow.units.directory`, :mod:`motcua.workflow.access`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from datetime import date, datetime, time, timedelta

import pytest

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.definitions.units import load_units, unit_calendars
from motcua.workflow.access.cases import ScopedCases
from motcua.workflow.access.scope import EVERYTHING, Scope
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.model import Actor
from motcua.workflow.engine.queries import CaseFilter
from motcua.workflow.errors import CaseNotFound, InvalidInput, OutsideScope
from motcua.workflow.units.directory import Reception, UnitDirectory
from motcua.workflow.units.model import Province, Unit, UnitKind, UnitRegister
from motcua.workflow.units.succession import apply_successions
from motcua.workflow.worktime.calendar import WorkingCalendar
from motcua.workflow.worktime.hours import Duration, DurationUnit, OfficeHours

AN_THUONG, CAM_THUONG, NGUYEN_TRAI = "LOCAL-HD-AN-THUONG", "LOCAL-HD-CAM-THUONG", "LOCAL-HD-NGUYEN-TRAI"
THANH_DONG, LE_CHAN = "LOCAL-HP-THANH-DONG", "LOCAL-HP-LE-CHAN"
OFFICER = Actor.of("Nguyễn Thị Lan", "officer")
APPLICANT = Actor.of("cổng dịch vụ công", "applicant")
MARRIAGE = "1.001193"  # marital status confirmation: 3 working days
ONE_DAY = Duration(1, DurationUnit.WORKING_DAYS)


@pytest.fixture
def province(clock: ManualClock) -> Iterator[Motcua]:
    clock.set(datetime(2025, 3, 3, 9, 0, tzinfo=VN_TZ))  # a Monday, winter hours in Hải Dương
    app = open_motcua("memory://", clock=clock, observers=[], agency=AN_THUONG)
    yield app
    app.close()


def _person(id_number: str = "030190000001") -> Applicant:
    return Applicant("Trần Văn Bình", id_number=id_number, phone="0912345678")


# -- the calendar of a unit ---------------------------------------------------------------------------------


def test_hai_duong_counts_winter_and_summer_hours() -> None:
    calendar = unit_calendars(load_units())[AN_THUONG]
    assert calendar.hours_on(date(2025, 1, 6)).intervals == ((time(7, 30), time(12)), (time(13), time(16, 30)))
    assert calendar.hours_on(date(2025, 5, 6)).intervals == ((time(7), time(11, 30)), (time(13, 30), time(17)))
    # received after the winter closing (16:30): counted from the next morning's 07:30, due at its 16:30
    winter = calendar.due(datetime(2025, 1, 6, 16, 45, tzinfo=VN_TZ), ONE_DAY)
    assert winter == datetime(2025, 1, 7, 16, 30, tzinfo=VN_TZ)
    # the same clock in summer is within hours (closing 17:00): one working day later, same clock
    summer = calendar.due(datetime(2025, 5, 6, 16, 45, tzinfo=VN_TZ), ONE_DAY)
    assert summer == datetime(2025, 5, 7, 16, 45, tzinfo=VN_TZ)
    # a span across 31 October → 1 November keeps eight hours a day while the hours move
    across = calendar.add_working(datetime(2025, 10, 31, 16, 0, tzinfo=VN_TZ), timedelta(hours=2))
    assert across == datetime(2025, 11, 3, 8, 30, tzinfo=VN_TZ)  # 1 h on Friday (16–17), 1 h from 07:30 Monday


def test_hai_phong_without_seasons_keeps_the_office_hours() -> None:
    calendar = unit_calendars(load_units())[THANH_DONG]
    assert calendar.hours_on(date(2025, 12, 1)) == calendar.hours == OfficeHours()


def test_a_season_that_changes_the_working_day_length_is_refused() -> None:
    short = OfficeHours(((time(7, 30), time(11, 30)),))
    calendar = WorkingCalendar(OfficeHours(), seasonal=lambda day: short if day.month == 12 else None)
    assert calendar.due(datetime(2025, 11, 3, 8, tzinfo=VN_TZ), ONE_DAY).day == 4
    with pytest.raises(InvalidInput, match="seasons move the hours, not the day's length"):
        calendar.due(datetime(2025, 12, 1, 8, tzinfo=VN_TZ), ONE_DAY)


# -- reception ----------------------------------------------------------------------------------------------


def test_a_dossier_records_its_units_and_is_numbered_by_the_receiving_unit(province: Motcua) -> None:
    own = province.desk.receive(MARRIAGE, "direct", _person(), OFFICER)
    assert (own.attributes["receiving_unit"], own.attributes["deciding_unit"]) == (AN_THUONG, AN_THUONG)
    assert own.code == f"{AN_THUONG}-250303-0001"
    other = province.desk.receive(MARRIAGE, "direct", _person(), OFFICER, unit=CAM_THUONG, deciding_unit=NGUYEN_TRAI)
    assert (other.attributes["receiving_unit"], other.attributes["deciding_unit"]) == (CAM_THUONG, NGUYEN_TRAI)
    assert other.code == f"{CAM_THUONG}-250303-0001"  # each receiving unit counts from 1
    assert province.desk.receive(MARRIAGE, "direct", _person(), OFFICER).code == f"{AN_THUONG}-250303-0002"


def test_the_deadline_is_counted_on_the_deciding_units_calendar(province: Motcua, clock: ManualClock) -> None:
    clock.set(datetime(2025, 3, 3, 16, 45, tzinfo=VN_TZ))  # after Hải Dương's winter closing
    case = province.desk.receive(MARRIAGE, "direct", _person(), OFFICER)
    start = unit_calendars(load_units())[AN_THUONG].effective_start(clock.now())
    assert start == datetime(2025, 3, 4, 7, 30, tzinfo=VN_TZ)
    procedure = province.catalogue.get(MARRIAGE)
    expected = province.desk.units.register  # the deciding unit's own calendar, not the desk's default office
    calendar = unit_calendars(expected)[AN_THUONG]
    duration = procedure.time_for("direct")
    due = calendar.due(clock.now(), Duration(duration.amount, DurationUnit(duration.unit)), procedure.cutoff)
    assert case.attributes["appointment"] == due.isoformat()
    assert due.time() == time(16, 30)


@pytest.mark.parametrize(("unit", "deciding", "field", "words"), [
    ("LOCAL-XX-NOWHERE", None, "receiving_unit", "unknown unit"),
    (AN_THUONG, "LOCAL-XX-NOWHERE", "deciding_unit", "unknown unit"),
    (THANH_DONG, None, "receiving_unit", "not in force on 2025-03-03"),
    (AN_THUONG, LE_CHAN, "deciding_unit", "not in force"),
])
def test_a_unit_that_cannot_receive_or_decide_is_refused_before_a_number_is_drawn(
    province: Motcua, unit: str, deciding: str | None, field: str, words: str,
) -> None:
    with pytest.raises(InvalidInput, match=words) as refused:
        province.desk.receive(MARRIAGE, "direct", _person(), OFFICER, unit=unit, deciding_unit=deciding)
    assert refused.value.field == field
    assert list(province.store.cases()) == []
    assert province.desk.new_code() == f"{AN_THUONG}-250303-0001"  # no number was drawn by the refusals


def test_an_ended_unit_names_its_successor(clock: ManualClock) -> None:
    clock.set(datetime(2025, 8, 4, 9, 0, tzinfo=VN_TZ))
    with closing(open_motcua("memory://", clock=clock, observers=[], agency=THANH_DONG)) as app:
        with pytest.raises(InvalidInput, match="its successor is phường Thành Đông"):
            app.desk.receive(MARRIAGE, "direct", _person(), OFFICER, unit=AN_THUONG)
        case = app.desk.receive(MARRIAGE, "direct", _person(), OFFICER, deciding_unit=LE_CHAN)
        assert case.attributes["deciding_unit"] == LE_CHAN


def test_a_unit_of_another_province_may_not_decide() -> None:
    here, there = Unit("A-1", "Một", UnitKind.XA, "a"), Unit("B-1", "Hai", UnitKind.XA, "b")
    register = UnitRegister((Province("a", "A", "tỉnh", (here,)), Province("b", "B", "tỉnh", (there,))))
    directory = UnitDirectory(register, "A-1")
    assert directory.reception(None, None, date(2025, 1, 2)) == Reception("A-1", "A-1")
    with pytest.raises(InvalidInput, match="a unit receives for units of its own province") as refused:
        directory.reception(None, "B-1", date(2025, 1, 2))
    assert refused.value.field == "deciding_unit"


def test_a_standalone_desk_decides_only_its_own_dossiers(motcua: Motcua) -> None:
    case = motcua.desk.receive(MARRIAGE, "direct", _person(), OFFICER)
    assert case.attributes["deciding_unit"] == case.attributes["receiving_unit"] == motcua.desk.agency
    with pytest.raises(InvalidInput, match="not in the unit register") as refused:
        motcua.desk.receive(MARRIAGE, "direct", _person(), OFFICER, deciding_unit=AN_THUONG)
    assert refused.value.field == "deciding_unit"


# -- scopes -------------------------------------------------------------------------------------------------


def _scoped(app: Motcua, scope: Scope) -> ScopedCases:
    return ScopedCases(app.service, app.store, app.desk, scope)


def test_a_unit_scope_sees_what_its_units_hold_or_received(province: Motcua) -> None:
    own = province.desk.receive(MARRIAGE, "direct", _person(), OFFICER)
    for_other = province.desk.receive(MARRIAGE, "direct", _person(), OFFICER, deciding_unit=NGUYEN_TRAI)
    foreign = province.desk.receive(MARRIAGE, "direct", _person(), OFFICER, unit=CAM_THUONG)
    an_thuong = _scoped(province, Scope.of_units({AN_THUONG}))
    nguyen_trai = _scoped(province, Scope.of_units({NGUYEN_TRAI}))
    assert an_thuong.case(own.code) == own
    assert an_thuong.case(for_other.code).code == nguyen_trai.case(for_other.code).code == for_other.code
    for hidden in (foreign.code, "LOCAL-HD-AN-THUONG-250303-9999"):
        with pytest.raises(CaseNotFound):  # the same answer as for a code never issued
            an_thuong.case(hidden)
    with pytest.raises(CaseNotFound):
        an_thuong.fire(foreign.code, "assign", OFFICER, {"assignee": "Phạm Văn Hùng"})
    with pytest.raises(CaseNotFound):
        an_thuong.history(foreign.code)
    assert province.service.get(foreign.code).version == foreign.version  # nothing moved
    listed = an_thuong.find(CaseFilter(definition_key="tthc-dossier"))
    assert [case.code for case in listed.items] == sorted([own.code, for_other.code])
    assert [case.code for case in nguyen_trai.find(CaseFilter()).items] == [for_other.code]


def test_an_applicant_scope_sees_its_own_dossiers_only(province: Motcua) -> None:
    mine = province.desk.receive(MARRIAGE, "direct", _person("030190000001"), OFFICER)
    theirs = province.desk.receive(MARRIAGE, "direct", _person("030190000002"), OFFICER)
    scoped = _scoped(province, Scope.of_applicant("030190000001"))
    assert scoped.case(mine.code).code == mine.code
    with pytest.raises(CaseNotFound):
        scoped.case(theirs.code)
    with pytest.raises(CaseNotFound):
        scoped.fire(theirs.code, "withdraw", APPLICANT, {"reason": "Không cần nữa"})
    assert [c.code for c in scoped.find(CaseFilter()).items] == [mine.code]
    assert scoped.find(CaseFilter(applicant="030190000002")).items == ()


def test_creating_outside_the_scope_is_refused_before_a_number_is_drawn(province: Motcua) -> None:
    with pytest.raises(OutsideScope, match="outside this key's units") as refused:
        _scoped(province, Scope.of_units({CAM_THUONG})).register(MARRIAGE, "direct", _person(), OFFICER)
    assert refused.value.field == "unit"
    with pytest.raises(OutsideScope, match="that applicant's own dossiers") as refused:
        _scoped(province, Scope.of_applicant("030190000009")).register(MARRIAGE, "online", _person(), APPLICANT,
                                                                       receive=False)
    assert "030190000001" not in str(refused.value)
    assert list(province.store.cases()) == []
    submitted = _scoped(province, Scope.of_applicant("030190000001")).register(
        MARRIAGE, "online", _person(), APPLICANT, receive=False)
    assert submitted.state["lifecycle"] == "submitted"


def test_narrowing_never_widens() -> None:
    units = Scope.of_units({AN_THUONG, CAM_THUONG})
    assert units.narrow(CaseFilter()).units == {AN_THUONG, CAM_THUONG}
    assert units.narrow(CaseFilter(units=frozenset({CAM_THUONG, THANH_DONG}))).units == {CAM_THUONG}
    assert units.narrow(CaseFilter(unit=THANH_DONG)) == CaseFilter(unit=THANH_DONG, units=units.units)
    applicant = Scope.of_applicant("1")
    assert applicant.narrow(CaseFilter(applicant="2")).units == frozenset()
    assert EVERYTHING.narrow(CaseFilter(unit=AN_THUONG)) == CaseFilter(unit=AN_THUONG)


def test_a_dossier_submitted_before_a_merger_is_not_received_at_the_ended_unit() -> None:
    """Submitted online at An Thượng on 30/6/2025, received on 2/7: An Thượng had ended, its calendar and its place
    with it. Refused, naming the successor, until the merger is applied; then received at Thành Đông."""
    clock = ManualClock(datetime(2025, 6, 30, 10, 0, tzinfo=VN_TZ))
    with closing(open_motcua("memory://", clock=clock, observers=[])) as app:
        code = app.desk.submit("1.001776", "online", Applicant("Trần Văn An"), OFFICER, unit="LOCAL-HD-AN-THUONG").code
        clock.set(datetime(2025, 7, 2, 9, 0, tzinfo=VN_TZ))
        with pytest.raises(InvalidInput, match="receiving_unit: LOCAL-HD-AN-THUONG is not in force on 2025-07-02: "
                                               "its successor is phường Thành Đông"):
            app.service.fire(code, "receive", OFFICER)
        assert app.store.load(code).state["lifecycle"] == "submitted"  # nothing written
        assert apply_successions(app.service, app.store, app.desk.units.register, clock.now()).moved == 1
        received = app.service.fire(code, "receive", OFFICER)
        assert (received.state["lifecycle"], received.attributes["deciding_unit"]) == ("received",
                                                                                      "LOCAL-HP-THANH-DONG")
