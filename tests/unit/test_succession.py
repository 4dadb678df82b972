"""Successions of units: which are due, a split reported and never applied, a chain followed in order, a lost
race retried, a failure that stops the run naming the case, and ``motcua units apply``.

The registers here are built in the test (a province "thu" of units A, B, C, D) and the cases are plan tasks,
whose unit is free text; the shipped merger of 1 July 2025 on dossiers, on every store, is in
``tests/contract/test_succession_contract.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Final

import pytest
from typer.testing import CliRunner, Result

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.adapters.memory.store import MemoryStore
from motcua.definitions.units import load_units
from motcua.entrypoints.cli import units_cmd
from motcua.entrypoints.cli.units_cmd import units_app
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.decisions import Decision
from motcua.workflow.engine.model import Actor
from motcua.workflow.engine.service import CaseService
from motcua.workflow.errors import InvalidInput, StorageFailure, SuccessionHalted
from motcua.workflow.units.checks import build_register
from motcua.workflow.units.model import Province, Resolution, Unit, UnitKind, UnitRegister
from motcua.workflow.units.succession import ATTEMPTS, SuccessionReport, apply_successions, due_successions
from motcua.workflow.units.transfer import TRANSFER

JUNE: Final = datetime(2025, 6, 23, 8, 0, tzinfo=VN_TZ)
MERGER: Final = datetime(2025, 7, 1, 0, 5, tzinfo=VN_TZ)
SECOND_MERGER: Final = datetime(2026, 1, 1, 0, 5, tzinfo=VN_TZ)
RESOLUTION: Final = Resolution("15/NQ-UBTVQH15", date(2025, 6, 16))
LEADER: Final = Actor.of("Lê Minh Tuấn", "leader")
OFFICER: Final = Actor.of("Nguyễn Thị Lan", "officer")
THANH_DONG: Final = "LOCAL-HP-THANH-DONG"
OLD: Final = ("LOCAL-HD-AN-THUONG", "LOCAL-HD-BINH-HAN", "LOCAL-HD-CAM-THUONG", "LOCAL-HD-NGUYEN-TRAI")


def xa(code: str, *, valid_from: date | None = None, valid_to: date | None = None, successors: str = "") -> Unit:
    named = tuple(successors.split()) if successors else ()
    return Unit(code, f"Thử {code}", UnitKind.XA, "thu", valid_from, valid_to, named,
                RESOLUTION if named else None)


def register(*units: Unit) -> UnitRegister:
    return build_register([Province("thu", "Thử", "tỉnh", units)], "test")


SPLIT: Final = register(
    xa("A", valid_to=date(2025, 6, 30), successors="B C"),
    xa("B", valid_from=date(2025, 7, 1)),
    xa("C", valid_from=date(2025, 7, 1)),
    xa("D", valid_to=date(2025, 6, 30), successors="B"),
)
ENDED: Final = register(
    xa("A", valid_to=date(2025, 6, 30)),
    xa("R", valid_to=date(2025, 6, 30)),
    xa("R", valid_from=date(2025, 7, 1)),
    xa("B", valid_from=date(2025, 7, 1)),
)
"""A ended without a successor (a register recording the end, not yet who carries it on); R was renamed, keeping
its code."""
CHAIN: Final = register(
    xa("A", valid_to=date(2025, 6, 30), successors="B"),
    xa("B", valid_from=date(2025, 7, 1), valid_to=date(2025, 12, 31), successors="C"),
    xa("C", valid_from=date(2026, 1, 1)),
)

MERGE: Final = register(
    xa("A", valid_to=date(2025, 6, 30), successors="B"),
    xa("B", valid_from=date(2025, 7, 1)),
    xa("D", valid_to=date(2025, 6, 30), successors="B"),
    Unit("E", "Thử E", UnitKind.XA, "thu", None, date(2025, 6, 30), ("B",), Resolution("16/NQ-UBTVQH15",
                                                                                       date(2025, 6, 16))),
    xa("F", valid_to=date(2025, 9, 30), successors="B"),
)
"""A and D merged into B by one act on one day; E into B the same day by another act; F into B later."""


class FaultyStore(MemoryStore):
    """The memory store, with two faults a real database can have on a transfer of case ``code``: another writer
    landing first (``rivals`` times), or a refusal (``broken``)."""

    def __init__(self) -> None:
        super().__init__()
        self.code = ""
        self.rivals = 0
        self.rival: Callable[[], object] = lambda: None
        self.broken = False

    def commit(self, decision: Decision, *then: Decision) -> None:
        if decision.entry.trigger == TRANSFER and decision.case.code == self.code:
            if self.broken:
                raise StorageFailure("disk full")
            if self.rivals > 0:
                self.rivals -= 1
                self.rival()
        super().commit(decision, *then)


@pytest.fixture
def app() -> Iterator[Motcua]:
    opened = open_motcua("memory://", clock=ManualClock(JUNE), observers=[])
    yield opened
    opened.close()


@pytest.fixture
def store() -> FaultyStore:
    return FaultyStore()


@pytest.fixture
def service(app: Motcua, store: FaultyStore) -> CaseService:
    return CaseService(app.service.engine, store)


def task(service: CaseService, unit: str, number: int, *, done: bool = False) -> str:
    data = {"plan": "KH-2025", "task": f"{number}", "title": "Rà soát thủ tục", "owner": "Văn phòng",
            "due": "2025-09-30", "unit": unit}
    case = service.open("plan-task", f"KH-2025/{unit}/{number}", LEADER, data, rule_set="nd61-2018")
    return (service.fire(case.code, "complete", LEADER, {}) if done else case).code


def at(service: CaseService, moment: datetime) -> None:
    clock = service.engine.clock
    assert isinstance(clock, ManualClock)
    clock.set(moment)


def transfers(service: CaseService, code: str) -> list[tuple[object, ...]]:
    return [(entry.data["from_units"], entry.data["to_unit"], entry.data["effective"])
            for entry in service.history(code) if entry.trigger == TRANSFER]


def unit_of(service: CaseService, code: str) -> object:
    return service.get(code).attributes["unit"]


def service_apply(service: CaseService, units: UnitRegister, *, dry_run: bool = False) -> SuccessionReport:
    """Apply on the service's own store, two cases a page."""
    store = service.store
    assert isinstance(store, MemoryStore)
    return apply_successions(service, store, units, service.engine.clock.now(), dry_run=dry_run, page=2)


# -- which successions are due -----------------------------------------------------------------------


def test_the_merger_of_1_july_2025_is_due_from_that_day() -> None:
    shipped = load_units()
    assert due_successions(shipped, date(2025, 6, 30)) == ()

    due = due_successions(shipped, date(2025, 7, 1))

    assert [succession.old.code for succession in due] == sorted(OLD)
    assert {(s.new.code if s.new else None, s.effective, s.resolution.number if s.resolution else None)
            for s in due} == {(THANH_DONG, date(2025, 7, 1), "1669/NQ-UBTVQH15")}
    assert {succession.joined for succession in due} == {OLD}  # one merger: each transfer names all four
    assert [succession.data() for succession in due] == [{
        "from_units": list(OLD), "to_unit": THANH_DONG, "resolution": "1669/NQ-UBTVQH15", "effective": "2025-07-01",
    }] * len(OLD)
    assert due_successions(shipped, date(2030, 1, 1)) == due


def test_a_split_is_due_without_a_successor_and_has_no_transfer_data() -> None:
    split, merged = due_successions(SPLIT, date(2025, 7, 1))

    assert (split.old.code, split.new, split.successors, split.split) == ("A", None, ("B", "C"), True)
    assert (merged.old.code, merged.new.code if merged.new else None, merged.split) == ("D", "B", False)
    assert (split.joined, merged.joined, merged.data()["from_units"]) == ((), ("D",), ["D"])
    with pytest.raises(InvalidInput, match="A is split among B, C"):
        split.data()


def test_units_merged_into_one_successor_by_one_act_on_one_day_are_joined() -> None:
    due = due_successions(MERGE, date(2025, 10, 1))

    assert [(succession.old.code, succession.joined) for succession in due] == [
        ("A", ("A", "D")), ("D", ("A", "D")), ("E", ("E",)), ("F", ("F",))]
    assert [succession.data()["from_units"] for succession in due] == [["A", "D"], ["A", "D"], ["E"], ["F"]]
    assert {succession.data()["effective"] for succession in due[:3]} == {"2025-07-01"}


# -- what applying does ------------------------------------------------------------------------------


def test_a_case_of_a_merged_unit_gets_one_transfer_naming_every_unit_of_the_merger(service: CaseService) -> None:
    first, second, other = task(service, "A", 1), task(service, "D", 1), task(service, "E", 1)
    at(service, MERGER)

    report = service_apply(service, MERGE)

    assert [(result.succession.old.code, result.moved) for result in report.results] == [
        ("A", (first,)), ("D", (second,)), ("E", (other,))]
    assert transfers(service, first) == transfers(service, second) == [(["A", "D"], "B", "2025-07-01")]
    assert transfers(service, other) == [(["E"], "B", "2025-07-01")]
    histories = [service.get(code).attributes["unit_history"] for code in (first, second, other)]
    assert [[(item["from"], item["to"], item["attributes"], item["resolution"]) for item in history]  # type: ignore[index, union-attr]
            for history in histories] == [
        [(["A"], "B", ["unit"], RESOLUTION.number)], [(["D"], "B", ["unit"], RESOLUTION.number)],
        [(["E"], "B", ["unit"], "16/NQ-UBTVQH15")]]
    assert [unit_of(service, code) for code in (first, second, other)] == ["B"] * 3
    assert service_apply(service, MERGE).moved == 0



def test_a_split_is_reported_with_its_open_cases_and_never_applied(service: CaseService) -> None:
    stranded, ended, moved = task(service, "A", 1), task(service, "A", 2, done=True), task(service, "D", 1)
    at(service, MERGER)

    report = service_apply(service, SPLIT)

    split, merged = report.results
    assert (split.moved, split.stranded, merged.moved) == ((), (stranded,), (moved,))
    assert report.stranded == (split,)
    assert transfers(service, stranded) == transfers(service, ended) == []
    assert (unit_of(service, stranded), unit_of(service, moved)) == ("A", "B")
    assert service_apply(service, SPLIT, dry_run=True).stranded == (split,)


def test_a_unit_ended_without_a_successor_is_reported_with_its_open_cases(service: CaseService) -> None:
    """Nobody carries its open cases on: like a split's, they are named, never left behind in silence. A unit renamed
    under its own code has not ended."""
    stranded, ended, renamed = task(service, "A", 1), task(service, "A", 2, done=True), task(service, "R", 1)
    at(service, MERGER)

    report = service_apply(service, ENDED)

    (orphan,) = report.results
    assert (orphan.succession.old.code, orphan.succession.new, orphan.succession.successors) == ("A", None, ())
    assert (orphan.moved, orphan.stranded, report.stranded) == ((), (stranded,), (orphan,))
    assert transfers(service, stranded) == transfers(service, ended) == transfers(service, renamed) == []
    with pytest.raises(InvalidInput, match="A ended without a successor"):
        orphan.succession.data()


def test_a_unit_merged_twice_moves_along_the_chain_in_order(service: CaseService) -> None:
    code = task(service, "A", 1)
    at(service, SECOND_MERGER)

    preview = service_apply(service, CHAIN, dry_run=True)
    assert [result.moved for result in preview.results] == [(code,), (code,)]
    assert transfers(service, code) == []

    report = service_apply(service, CHAIN)

    assert [result.moved for result in report.results] == [(code,), (code,)]
    assert transfers(service, code) == [(["A"], "B", "2025-07-01"), (["B"], "C", "2026-01-01")]
    assert unit_of(service, code) == "C"
    assert service_apply(service, CHAIN).moved == 0


def test_only_the_successions_in_force_are_applied(service: CaseService) -> None:
    code = task(service, "A", 1)
    at(service, datetime(2025, 12, 31, 23, 0, tzinfo=VN_TZ))

    report = service_apply(service, CHAIN)

    assert [result.succession.old.code for result in report.results] == ["A"]
    assert (transfers(service, code), unit_of(service, code)) == ([(["A"], "B", "2025-07-01")], "B")


def test_a_lost_race_is_retried_on_the_reloaded_case(service: CaseService, store: FaultyStore) -> None:
    code = task(service, "D", 1)
    store.code, store.rivals = code, ATTEMPTS - 1
    store.rival = lambda: service.fire(code, "file_evidence", LEADER, {"document": "Báo cáo tiến độ"})
    at(service, MERGER)

    report = service_apply(service, SPLIT)

    assert report.results[1].moved == (code,)
    assert [entry.trigger for entry in service.history(code)] == ["open", *["file_evidence"] * (ATTEMPTS - 1),
                                                                  TRANSFER]


def test_a_case_that_keeps_changing_stops_the_run_naming_it(service: CaseService, store: FaultyStore) -> None:
    first, racing, last = task(service, "D", 1), task(service, "D", 2), task(service, "D", 3)
    store.code, store.rivals = racing, ATTEMPTS
    store.rival = lambda: service.fire(racing, "file_evidence", LEADER, {"document": "Báo cáo tiến độ"})
    at(service, MERGER)

    with pytest.raises(SuccessionHalted) as halted:
        service_apply(service, SPLIT)

    assert (halted.value.code, halted.value.from_unit, halted.value.to_unit) == (racing, "D", "B")
    assert f"still changing after {ATTEMPTS} attempts" in str(halted.value)
    assert [unit_of(service, code) for code in (first, racing, last)] == ["B", "D", "D"]
    assert service_apply(service, SPLIT).results[1].moved == (racing, last)


def test_any_other_failure_stops_the_run_at_that_case_and_a_rerun_finishes(
    service: CaseService, store: FaultyStore
) -> None:
    codes = [task(service, "D", number) for number in (1, 2, 3)]
    store.code, store.broken = codes[1], True
    at(service, MERGER)

    with pytest.raises(SuccessionHalted, match=r"succession D → B stopped at KH-2025/D/2: StorageFailure") as halted:
        service_apply(service, SPLIT)

    assert isinstance(halted.value.__cause__, StorageFailure)
    assert [len(transfers(service, code)) for code in codes] == [1, 0, 0]
    store.broken = False
    assert service_apply(service, SPLIT).results[1].moved == tuple(codes[1:])
    assert [len(transfers(service, code)) for code in codes] == [1, 1, 1]


# -- motcua units apply -------------------------------------------------------------------------------


def cli(*args: str) -> Result:
    return CliRunner().invoke(units_app, ["apply", *args], env={"COLUMNS": "200"})


@dataclass(frozen=True)
class Database:
    url: str
    open: tuple[str, ...]  # two dossiers of An Thượng, one of Bình Hàn, in processing
    refused: str  # refused at An Thượng's desk: its processing ended


@pytest.fixture
def database(tmp_path: Path) -> Database:
    url = f"sqlite:///{tmp_path / 'motcua.db'}"
    app = open_motcua(url, clock=ManualClock(JUNE), observers=[])
    try:
        codes = [app.desk.receive("1.001776", "direct", Applicant("Trần Văn An"), OFFICER, unit=unit).code
                 for unit in (OLD[0], OLD[0], OLD[1])]
        for code in codes:
            app.service.fire(code, "assign", OFFICER, {"assignee": "Phạm Văn Hùng"})
        refused = app.desk.submit("1.001776", "direct", Applicant("Lê Văn Cường"), OFFICER, unit=OLD[0]).code
        app.service.fire(refused, "refuse", OFFICER, {"reason": "Không thuộc thẩm quyền"})
    finally:
        app.close()
    return Database(url, tuple(codes), refused)


def stored(database: Database) -> dict[str, tuple[object, int, int]]:
    """Per case: the unit that decides it, its version and its number of entries."""
    app = open_motcua(database.url, observers=[])
    try:
        return {case.code: (case.attributes.get("deciding_unit"), case.version, len(app.store.history(case.code)))
                for case in app.store.cases()}
    finally:
        app.close()


def test_the_command_moves_the_open_cases_and_prints_what_it_did(database: Database) -> None:
    result = cli("--at", "2025-07-01", "--db", database.url)

    assert result.exit_code == 0, (result.output, result.exception)
    assert "Sắp xếp đơn vị hành chính — ngày 01/07/2025" in result.stdout
    assert "xã An Thượng (LOCAL-HD-AN-THUONG)" in result.stdout
    assert "phường Thành Đông (LOCAL-HP-THANH-DONG)" in result.stdout
    assert "1669/NQ-UBTVQH15" in result.stdout
    after = stored(database)
    assert [after[code][0] for code in database.open] == [THANH_DONG] * 3
    assert after[database.refused][0] == OLD[0]


def test_the_command_dry_run_writes_nothing_and_json_names_the_codes(database: Database) -> None:
    before = stored(database)

    preview = cli("--at", "2025-07-01", "--dry-run", "--json", "--db", database.url)

    assert preview.exit_code == 0, (preview.output, preview.exception)
    assert stored(database) == before
    document = json.loads(preview.stdout)
    assert (document["day"], document["dry_run"], document["moved"]) == ("2025-07-01", True, 3)
    by_unit = {item["from_unit"]: item for item in document["successions"]}
    assert set(by_unit) == set(OLD)
    assert by_unit[OLD[0]]["moved"] == list(database.open[:2])
    assert by_unit[OLD[1]]["moved"] == [database.open[2]]
    assert by_unit[OLD[0]] | {"moved": None} == {
        "from_unit": OLD[0], "to_unit": THANH_DONG, "successors": [THANH_DONG], "effective": "2025-07-01",
        "resolution": "1669/NQ-UBTVQH15", "moved": None, "skipped": [], "stranded": [],
    }
    applied = json.loads(cli("--at", "2025-07-01", "--json", "--db", database.url).stdout)
    assert (applied["dry_run"], applied["moved"]) == (False, 3)
    again = json.loads(cli("--json", "--db", database.url).stdout)  # today: long after the merger
    assert again["moved"] == 0


def test_the_command_before_the_merger_moves_nothing(database: Database) -> None:
    before = stored(database)

    result = cli("--at", "2025-06-30", "--json", "--db", database.url)

    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"day": "2025-06-30", "dry_run": False, "moved": 0, "successions": []}
    assert stored(database) == before


def test_the_command_counts_a_dossier_of_two_merged_units_once_under_the_first(database: Database) -> None:
    app = open_motcua(database.url, clock=ManualClock(JUNE), observers=[])
    try:
        cross = app.desk.receive("1.001776", "direct", Applicant("Trần Văn An"), OFFICER, unit=OLD[0],
                                 deciding_unit=OLD[3]).code
    finally:
        app.close()
    before = stored(database)

    for args in (("--dry-run",), ()):
        document = json.loads(cli("--at", "2025-07-01", *args, "--json", "--db", database.url).stdout)
        by_unit = {item["from_unit"]: item["moved"] for item in document["successions"]}
        assert document["moved"] == 4, args
        assert by_unit == {OLD[0]: [*database.open[:2], cross], OLD[1]: [database.open[2]], OLD[2]: [], OLD[3]: []}

    after = stored(database)
    assert after[cross] == (THANH_DONG, before[cross][1] + 1, before[cross][2] + 1)  # one transfer entry


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--at", "30/06/2025"), "error: --at: '30/06/2025' is not a date YYYY-MM-DD\n"),
        (("--at", "2199-01-01"), "error: --at: 2199-01-01 is after today"),
        (("--at", "20250701"), "error: --at: '20250701' is not a date YYYY-MM-DD\n"),  # ISO's basic form: no
        (("--at", "2025-W27-2"), "error: --at: '2025-W27-2' is not a date YYYY-MM-DD\n"),  # nor a week date
        (("--at", "0001-01-01"), "error: --at: 0001-01-01 is outside the days motcua takes (1990-01-01 … "),
        (("--at", "0001-01-01", "--dry-run"), "error: --at: 0001-01-01 is outside the days motcua takes"),
        (("--at", "2200-01-01", "--dry-run"), "error: --at: 2200-01-01 is outside the days motcua takes"),
    ],
    ids=["not-a-date", "future", "basic-form", "week-date", "year-one", "year-one-dry-run", "past-the-last-day"],
)
def test_the_command_refuses_a_bad_date(database: Database, args: tuple[str, ...], message: str) -> None:
    before = stored(database)

    result = cli(*args, "--db", database.url)

    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(message)
    assert stored(database) == before


def test_the_command_previews_a_future_day(database: Database) -> None:
    result = cli("--at", "2199-12-31", "--dry-run", "--json", "--db", database.url)  # the last day a person names

    assert result.exit_code == 0, (result.output, result.exception)
    assert json.loads(result.stdout)["moved"] == 3


@pytest.mark.parametrize(("given", "shown", "said"), [
    pytest.param(SPLIT, "chia cho B, C", "A is split among B, C: 1 open case(s) left where they are (a split is never "
                 "applied automatically)", id="split"),
    pytest.param(ENDED, "không có đơn vị kế thừa", "A ended on 2025-06-30 without a successor: 1 open case(s) left "
                 "where they are (name its successor in the units file, then run again)", id="ended-without-successor"),
])
def test_the_command_fails_when_a_unit_it_cannot_follow_keeps_open_cases(
    database: Database, monkeypatch: pytest.MonkeyPatch, given: UnitRegister, shown: str, said: str,
) -> None:
    app = open_motcua(database.url, clock=ManualClock(JUNE), observers=[])
    try:
        stranded = task(app.service, "A", 1)
    finally:
        app.close()
    monkeypatch.setattr(units_cmd, "load_units", lambda: given)

    result = cli("--at", "2025-07-01", "--db", database.url)

    assert result.exit_code == units_cmd.STRANDED == 1
    assert shown in result.stdout
    assert result.stderr == f"error: {said}\n"
    assert stored(database)[stranded][1:] == (1, 1)
