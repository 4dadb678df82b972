"""Reports per unit and for the province, across the 2025 merger, on the memory projection, SQLite and PostgreSQL.

Dossiers of several units are driven through the real engine on a manual clock: four Hải Dương communes in
June 2025 (one received in one commune for another), the merger on 1 July (every case still held by a merged
unit transferred to phường Thành Đông by the ``transfer`` trigger, fired by the system actor, as the merger
does), then Hải Phòng wards in July and August. The rule held here (docs/reference/cli.md, "Reports per unit
and for the province"): a dossier is counted under one unit — the deciding unit that ended it, or holds it now
while not ended — so the province's report (``units=None``) is the sum of its units' reports, column by column
and row by row, and a report of some units equals the core's reference over the same facts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.adapters.sql.report_queries import ReportQueries
from motcua.adapters.sql.store import SqlStore
from motcua.workflow.dossiers.catalogue import Channel
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.model import SYSTEM_ACTOR, Actor, JsonValue
from motcua.workflow.errors import TransitionNotAllowed
from motcua.workflow.reports.par766 import IndicatorCounts, indicator_counts
from motcua.workflow.reports.projection import BIEU06_COUNTS, Bieu06, bieu06
from motcua.workflow.units.transfer import UNIT_ATTRIBUTES
from tests.contract.conftest import BACKENDS, _database
from tests.contract.test_reports_contract import DATA, folded_facts

EVERYONE = Actor.of("Nguyễn Thị Lan", "officer", "specialist", "leader", "applicant", "system")
APPLICANT = Applicant("Trần Văn An")
AN_THUONG, CAM_THUONG, BINH_HAN, NGUYEN_TRAI = (
    "LOCAL-HD-AN-THUONG", "LOCAL-HD-CAM-THUONG", "LOCAL-HD-BINH-HAN", "LOCAL-HD-NGUYEN-TRAI")
THANH_DONG, THUY_NGUYEN, HONG_BANG = "LOCAL-HP-THANH-DONG", "LOCAL-HP-THUY-NGUYEN", "LOCAL-HP-HONG-BANG"
MERGED = (AN_THUONG, CAM_THUONG, BINH_HAN, NGUYEN_TRAI)
MERGER = {"to_unit": THANH_DONG, "resolution": "1669/NQ-UBTVQH15", "effective": "2025-07-01"}
PERIODS = (
    (date(2025, 6, 1), date(2025, 6, 30)), (date(2025, 7, 1), date(2025, 7, 31)),
    (date(2025, 6, 1), date(2025, 7, 31)), (date(2025, 4, 1), date(2025, 6, 30)),
    (date(2025, 7, 1), date(2025, 9, 30)), (date(2025, 1, 1), date(2025, 12, 31)),
    (date(2025, 6, 30), date(2025, 6, 30)), (date(2025, 7, 1), date(2025, 7, 1)),
    (date(2025, 8, 1), date(2025, 8, 31)),
)


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=VN_TZ)


@dataclass
class Province:
    """The units' desks on one database, the real engine and a manual clock that only moves forward."""

    app: Motcua
    clock: ManualClock
    codes: dict[str, str] = field(default_factory=dict)

    def at(self, day: date, hour: int = 9) -> Province:
        self.clock.set(at(day, hour))
        return self

    def receive(self, name: str, procedure: str, unit: str, *, deciding: str | None = None,
                channel: Channel = "direct") -> str:
        code = self.app.desk.submit(procedure, channel, APPLICANT, EVERYONE, unit=unit, deciding_unit=deciding).code
        self.fire(code, "receive")
        self.codes[name] = code
        return code

    def fire(self, code: str, trigger: str, **data: JsonValue) -> None:
        self.app.service.fire(code, trigger, EVERYONE, {**DATA.get(trigger, {}), **data})

    def resolve(self, code: str) -> None:
        for trigger in ("assign", "submit_for_approval", "approve", "mark_result_ready"):
            self.fire(code, trigger)

    def merge(self) -> list[str]:
        """The merger: every case still held by a merged unit moves to its successor; the codes moved."""
        moved = []
        for case in list(self.app.store.cases()):
            if not set(MERGED) & {case.attributes.get(name) for name in UNIT_ATTRIBUTES}:
                continue
            try:
                self.app.service.fire(case.code, "transfer", SYSTEM_ACTOR, {**MERGER, "from_units": list(MERGED)})
            except TransitionNotAllowed:  # returned before the merger: nothing left to carry on
                continue
            moved.append(case.code)
        return moved


def run_year(province: Province) -> list[str]:
    """June in four Hải Dương communes, the merger, July and August in Hải Phòng; the codes transferred."""
    p, c = province, province.codes
    p.at(date(2025, 6, 2)).receive("ended_before", "1.004873", AN_THUONG)
    p.at(date(2025, 6, 4)).resolve(c["ended_before"])
    p.fire(c["ended_before"], "return_result")
    p.at(date(2025, 6, 10)).receive("open_across", "1.001776", AN_THUONG)
    p.fire(c["open_across"], "assign")
    p.at(date(2025, 6, 12)).receive("online_across", "1.004873", CAM_THUONG, channel="online")
    p.at(date(2025, 6, 13)).receive("cam_thuong_done", "1.004873", CAM_THUONG, channel="postal")
    p.at(date(2025, 6, 16)).resolve(c["cam_thuong_done"])
    p.at(date(2025, 6, 16)).receive("paused_across", "1.001776", CAM_THUONG)
    p.fire(c["paused_across"], "assign")
    p.at(date(2025, 6, 17)).fire(c["paused_across"], "request_supplement")  # still paused at the merger
    p.at(date(2025, 6, 18)).receive("binh_han_late", "1.004873", BINH_HAN)
    p.at(date(2025, 6, 19)).receive("for_nguyen_trai", "1.002211", BINH_HAN, deciding=NGUYEN_TRAI)
    refused = p.app.desk.submit("1.004873", "online", APPLICANT, EVERYONE, unit=CAM_THUONG).code
    p.fire(refused, "refuse")  # never accepted: in no report
    p.at(date(2025, 6, 27)).resolve(c["binh_han_late"])
    p.at(date(2025, 7, 1), 0)
    moved = p.merge()
    p.at(date(2025, 7, 2)).receive("thanh_dong", "1.004873", THANH_DONG)
    p.at(date(2025, 7, 3)).resolve(c["thanh_dong"])
    p.at(date(2025, 7, 3)).receive("thuy_nguyen", "1.004873", THUY_NGUYEN, channel="online")
    p.at(date(2025, 7, 4)).receive("hong_bang_for_thanh_dong", "1.002211", HONG_BANG, deciding=THANH_DONG)
    p.at(date(2025, 7, 8)).resolve(c["open_across"])
    p.at(date(2025, 7, 9)).fire(c["paused_across"], "supplement_received")
    p.at(date(2025, 8, 5)).receive("thuy_nguyen_august", "2.001019", THUY_NGUYEN)
    p.at(date(2025, 9, 1), 7)
    p.app.reports.catch_up()
    return moved


@pytest.fixture(params=BACKENDS)
def province(request: pytest.FixtureRequest) -> Iterator[Province]:
    clock = ManualClock(at(date(2025, 6, 2), 7))
    if request.param == "memory":
        app = open_motcua("memory://", clock=clock, observers=[], agency=AN_THUONG)
        yield Province(app, clock)
        app.close()
        return
    with _database(request.param, request) as url:
        app = open_motcua(url, clock=clock, observers=[], agency=AN_THUONG)
        try:
            yield Province(app, clock)
        finally:
            app.close()


def every_unit(app: Motcua) -> list[str]:
    return sorted({unit.code for unit in app.desk.units.register.units})


def summed(reports: list[Bieu06]) -> dict[str, dict[str, int]]:
    """Each field's counts (and the total's, under ""), summed over ``reports``."""
    sums: dict[str, dict[str, int]] = {}
    for report in reports:
        for row in (*report.rows, report.total):
            counts = sums.setdefault(row.field_code, dict.fromkeys(BIEU06_COUNTS, 0))
            for name, value in row.counts().items():
                counts[name] += value
    return sums


def added(counts: list[IndicatorCounts]) -> IndicatorCounts:
    names = [item.name for item in fields(IndicatorCounts)]
    return IndicatorCounts(**{name: sum(getattr(item, name) for item in counts) for name in names})


# -- the projection folds the unit ------------------------------------------------------------------


def test_the_projection_folds_the_deciding_unit_and_follows_a_transfer(province: Province) -> None:
    moved = run_year(province)
    c, reports = province.codes, province.app.reports

    assert sorted(moved) == sorted({c["open_across"], c["online_across"], c["paused_across"],
                                         c["for_nguyen_trai"], c["cam_thuong_done"], c["binh_han_late"]})
    unit_of = {name: facts.unit for name, code in c.items() if (facts := reports.facts(code)) is not None}
    assert unit_of == {
        "ended_before": AN_THUONG,  # returned before the merger: never transferred
        "cam_thuong_done": CAM_THUONG, "binh_han_late": BINH_HAN,  # result ready: transferred, counted where ended
        "open_across": THANH_DONG, "online_across": THANH_DONG, "paused_across": THANH_DONG,  # transferred
        "for_nguyen_trai": THANH_DONG,  # its deciding unit moved; its receiving unit (Bình Hàn) too
        "thanh_dong": THANH_DONG, "thuy_nguyen": THUY_NGUYEN, "thuy_nguyen_august": THUY_NGUYEN,
        "hong_bang_for_thanh_dong": THANH_DONG,  # received by Hồng Bàng, counted where it is decided
    }
    for item in folded_facts(province.app):
        assert reports.facts(item.code) == item
        assert item.unit is not None


def test_a_transferred_dossier_is_counted_once_under_its_successor(province: Province) -> None:
    run_year(province)
    reports = province.app.reports
    june_july = (date(2025, 6, 1), date(2025, 7, 31))

    an_thuong = reports.bieu06(*june_july, units=frozenset({AN_THUONG})).total
    thanh_dong = reports.bieu06(*june_july, units=frozenset({THANH_DONG})).total
    everything = reports.bieu06(*june_july).total

    assert (an_thuong.total, an_thuong.resolved) == (1, 1)  # only the dossier ended before the merger
    assert (thanh_dong.total, thanh_dong.resolved, thanh_dong.pending) == (6, 2, 4)  # 4 transferred, 2 its own
    assert everything.total == 10  # the accepted dossiers received by 31 July, each once; the refused one in none
    assert sum(reports.bieu06(*june_july, units=frozenset({unit})).total.total
               for unit in every_unit(province.app)) == 10
    hong_bang = reports.bieu06(*june_july, units=frozenset({HONG_BANG}))
    assert hong_bang.rows == () and hong_bang.total.total == 0  # received there, decided elsewhere


# -- the province is the sum of its units -----------------------------------------------------------


def test_the_province_bieu06_is_the_sum_of_its_units(province: Province) -> None:
    run_year(province)
    reports, units = province.app.reports, every_unit(province.app)

    for start, end in PERIODS:
        whole = reports.bieu06(start, end)
        parts = [reports.bieu06(start, end, units=frozenset({unit})) for unit in units]
        expected = {row.field_code: row.counts() for row in (*whole.rows, whole.total)}
        assert summed(parts) == expected, (start, end)
        assert reports.bieu06(start, end, units=frozenset(units)).as_json() == whole.as_json(), (start, end)


def test_the_province_indicators_are_the_sum_of_their_units(province: Province) -> None:
    run_year(province)
    reports, units = province.app.reports, every_unit(province.app)

    for start, end in PERIODS:
        parts = [reports.indicator_counts(start, end, units=frozenset({unit})) for unit in units]
        assert added(parts) == reports.indicator_counts(start, end), (start, end)


# -- a report of some units is the reference's -----------------------------------------------------

UNIT_SETS: tuple[frozenset[str], ...] = (
    frozenset({AN_THUONG}), frozenset({THANH_DONG}), frozenset({THUY_NGUYEN}), frozenset({CAM_THUONG, BINH_HAN}),
    frozenset(MERGED), frozenset({THANH_DONG, THUY_NGUYEN, HONG_BANG}), frozenset({HONG_BANG}),
    frozenset({"NO-SUCH-UNIT"}), frozenset(),
)


def test_the_unit_filter_equals_the_reference(province: Province) -> None:
    run_year(province)
    reports, facts = province.app.reports, folded_facts(province.app)

    for units in UNIT_SETS:
        for start, end in PERIODS:
            assert (reports.bieu06(start, end, units=units).as_json()
                    == bieu06(facts, start, end, units=units).as_json()), (units, start, end)
            assert (reports.indicator_counts(start, end, units=units)
                    == indicator_counts(facts, start, end, units=units)), (units, start, end)


def test_a_rebuilt_projection_counts_the_same_units(province: Province) -> None:
    run_year(province)
    reports = province.app.reports
    before = [reports.bieu06(start, end, units=units) for units in UNIT_SETS for start, end in PERIODS]

    reports.rebuild()

    assert [reports.bieu06(start, end, units=units) for units in UNIT_SETS for start, end in PERIODS] == before


# -- the plans: one unit's report reads its range of the unit index ---------------------------------


def test_sqlite_reads_a_units_report_through_the_unit_index(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'plans.db'}"
    with SqlStore.from_url(url, migrate=True) as store, store.engine.connect() as connection:
        queries = ReportQueries(store.engine.dialect)
        args = {"start": date(2025, 7, 1).toordinal(), "end": date(2025, 7, 31).toordinal(),
                "units": '["LOCAL-HP-THANH-DONG"]'}
        plans = [" / ".join(str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", args))
                 for sql in (queries.bieu06_of_units, queries.indicators_of_units)]

    for plan in plans:
        assert "INDEX ix_dossier_report_unit_bieu06 (unit=? AND ended_on>?)" in plan, plan
    assert "COVERING INDEX ix_dossier_report_unit_bieu06" in plans[0]  # Biểu 06 reads the index alone


@pytest.mark.integration
def test_postgres_reads_a_units_report_through_the_unit_index(request: pytest.FixtureRequest) -> None:
    """100 units of 200 dossiers each: one unit's Biểu 06 is an index-only range scan of its part of the unit
    index, never a scan of the whole projection."""
    with _database("postgres", request) as url, SqlStore.from_url(url) as store:
        with store.engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO dossier_report (code, field_code, field_name, status, channel, received_on, ended_on, "
                "appointment_on, procedure, paper_result, electronic_result, digitized, handovers, "
                "electronic_handovers, fee, paid_online, apologies, apologies_in_time, imported, position, unit) "
                "SELECT 'D-' || n, 'HT', 'Hộ tịch', 10, 1, DATE '2024-01-01' + (n % 700), "
                "DATE '2024-01-05' + (n % 700), DATE '2024-01-06' + (n % 700), '1.004873', true, false, false, "
                "0, 0, 0, false, 0, 0, false, n, 'UNIT-' || (n % 100) FROM generate_series(1, 20000) n"))
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("VACUUM ANALYZE dossier_report"))
        statement = ReportQueries(store.engine.dialect).bieu06_of_units
        args = {"start": date(2025, 7, 1), "end": date(2025, 7, 31), "units": ["UNIT-7"]}
        with store.engine.connect() as connection:
            [document] = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", args).scalar_one()
    nodes = list(_nodes(document["Plan"]))

    scans = [node for node in nodes if node.get("Relation Name") == "dossier_report"]
    assert [(node["Node Type"], node.get("Index Name")) for node in scans] == [
        ("Index Only Scan", "ix_dossier_report_unit_bieu06")]
    assert "unit" in scans[0]["Index Cond"] and "ended_on" in scans[0]["Index Cond"]


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)
