"""The Decision 766 online indicator, the national way (issue 15, point 5): fully-online dossiers over the dossiers of
procedures eligible for full-online service (toàn trình), eligibility judged at each dossier's reception.

The catalogue's dated eligibility and its checks at load, the projection's fact, the counts, the scores under both
rule sets with their numerator and denominator, and the three renderings.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from rich.console import Console

from motcua.adapters.bootstrap import Motcua
from motcua.adapters.render.reports import par766_csv, par766_table, par766_xlsx
from motcua.definitions.catalogue import load_procedures, load_rule_sets
from motcua.workflow.dossiers.catalogue import Catalogue, FullOnlineChange, Procedure
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.errors import InvalidDefinition
from motcua.workflow.reports.par766 import NOT_APPLICABLE, IndicatorCounts, indicator_counts, par766, scorecard
from motcua.workflow.reports.projection import DossierFacts, EligibleOf, fold
from tests.conftest import OFFICER

SWITCH = date(2024, 3, 1)  # the day the test procedure becomes toàn trình
Q1 = (date(2024, 1, 1), date(2024, 3, 31))
ENTRY = """\
  - code: "1.000001"
    name: Thủ tục thử
    level: {level}
    processing_time:
      direct: {{amount: 3, unit: working_days}}
    source: Luật thử Điều 1
"""


def procedure(level: str = "toan_trinh", **extra: object) -> Procedure:
    return Procedure.model_validate({
        "code": "1.000001", "name": "Thủ tục thử", "field_code": "HT", "field_name": "Hộ tịch", "level": level,
        "processing_time": {"direct": {"amount": 3, "unit": "working_days"}}, "source": "thử", **extra,
    })


def change(since: date, eligible: bool) -> dict[str, object]:
    return {"since": since.isoformat(), "eligible": eligible, "source": "QĐ công bố thử"}


def write(directory: Path, level: str, history: str) -> None:
    (directory / "a.yaml").write_text(
        f"field: {{code: HT, name: Hộ tịch}}\nprocedures:\n{ENTRY.format(level=level)}{history}", encoding="utf-8")


def refused(directory: Path) -> list[str]:
    with pytest.raises(InvalidDefinition) as caught:
        load_procedures(directory)
    return caught.value.problems


# -- the catalogue ---------------------------------------------------------------------------------


def test_without_a_history_eligibility_follows_the_level() -> None:
    day = date(2024, 3, 1)
    assert procedure("toan_trinh").full_online_on(day)
    assert not procedure("mot_phan").full_online_on(day)
    assert not procedure("truc_tiep").full_online_on(day)


def test_without_a_history_eligibility_starts_with_the_validity() -> None:
    dated = procedure("toan_trinh", valid_from="2025-07-01")
    assert not dated.full_online_on(date(2025, 6, 30))
    assert dated.full_online_on(date(2025, 7, 1))


def test_a_dated_history_decides_by_the_day() -> None:
    becomes = procedure("toan_trinh", full_online=[change(SWITCH, True)])
    assert not becomes.full_online_on(date(2024, 2, 29))  # before the first change: not eligible
    assert becomes.full_online_on(SWITCH) and becomes.full_online_on(date(2030, 1, 1))
    back = procedure("mot_phan", full_online=[change(date(2023, 1, 1), True), change(SWITCH, False)])
    assert [back.full_online_on(day) for day in (date(2022, 12, 31), date(2023, 1, 1), date(2024, 2, 29), SWITCH)] == [
        False, True, True, False]


def test_the_shipped_catalogue_derives_eligibility_from_the_level() -> None:
    catalogue = load_procedures()
    eligible = {p.code for p in catalogue if catalogue.full_online_eligible(p.code, date(2024, 6, 1))}
    assert eligible == {p.code for p in catalogue if p.level == "toan_trinh"}
    assert eligible >= {"1.001193", "1.004873"}  # khai sinh, xác nhận tình trạng hôn nhân


def test_a_code_the_catalogue_does_not_list_is_not_eligible() -> None:
    catalogue = Catalogue([procedure("toan_trinh")])
    assert catalogue.full_online_eligible("1.000001", SWITCH)
    assert not catalogue.full_online_eligible("9.999999", SWITCH)


def test_the_loader_reads_a_history(tmp_path: Path) -> None:
    write(tmp_path, "toan_trinh", "    full_online:\n      - {since: 2024-03-01, eligible: true, source: QĐ thử}\n")
    loaded = load_procedures(tmp_path).get("1.000001")
    assert loaded.full_online == (FullOnlineChange(since=SWITCH, eligible=True, source="QĐ thử"),)


@pytest.mark.parametrize(("level", "history", "problem"), [
    ("mot_phan", "      - {since: 2024-03-01, eligible: true, source: QĐ thử}\n",
     "the latest change (2024-03-01) says eligible: true but level is 'mot_phan'"),
    ("toan_trinh", "      - {since: 2024-03-01, eligible: false, source: QĐ thử}\n",
     "the latest change (2024-03-01) says eligible: false but level is 'toan_trinh'"),
    ("toan_trinh", "      - {since: 2024-03-01, eligible: false, source: a}\n"
                   "      - {since: 2024-01-01, eligible: true, source: b}\n",
     "the dates must strictly increase"),
    ("toan_trinh", "      - {since: 2024-01-01, eligible: true, source: a}\n"
                   "      - {since: 2024-03-01, eligible: true, source: b}\n",
     "the change of 2024-03-01 repeats eligible: true"),
    ("toan_trinh", "      - {since: 2024-01-01, eligible: true}\n", "source"),
])
def test_the_loader_refuses_an_inconsistent_history_naming_the_procedure(
    tmp_path: Path, level: str, history: str, problem: str
) -> None:
    write(tmp_path, level, "    full_online:\n" + history)
    problems = refused(tmp_path)
    assert any(line.startswith("procedure 1.000001:") and problem in line for line in problems), problems


def test_a_history_may_not_start_before_the_validity(tmp_path: Path) -> None:
    write(tmp_path, "toan_trinh", "    valid_from: 2025-07-01\n    full_online:\n"
                                  "      - {since: 2024-03-01, eligible: true, source: QĐ thử}\n")
    assert any("before valid_from 2025-07-01" in line for line in refused(tmp_path))


# -- the counts ------------------------------------------------------------------------------------


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=VN_TZ)


def dossier(code: str, received: date, *, channel: int, eligible: bool) -> DossierFacts:
    return DossierFacts(code=code, procedure="1.000001", field_code="HT", field_name="Hộ tịch", channel=channel,
                        status=4, received_at=at(received), full_online_eligible=eligible)


def test_only_the_dossiers_of_eligible_procedures_count_on_both_sides() -> None:
    facts = [
        dossier("a", date(2024, 3, 4), channel=2, eligible=True),  # fully online
        dossier("b", date(2024, 3, 4), channel=1, eligible=True),  # eligible, at the counter
        dossier("c", date(2024, 3, 5), channel=3, eligible=True),  # eligible, by post
        dossier("d", date(2024, 3, 5), channel=2, eligible=False),  # online, but its procedure was not eligible
        dossier("e", date(2024, 3, 6), channel=1, eligible=False),
    ]
    counts = indicator_counts(facts, *Q1)
    assert (counts.received, counts.received_online) == (5, 2)
    assert (counts.full_online_eligible, counts.full_online) == (3, 1)
    online = {i.key: i for i in par766(counts, load_rule_sets().in_force(Q1[1]))}["online"]
    assert (online.numerator, online.denominator, online.value) == (1, 3, 33.33)


def test_an_eligible_dossier_received_before_the_period_is_not_counted() -> None:
    carried = dossier("a", date(2023, 12, 28), channel=2, eligible=True)  # to handle in Q1, but received before it
    counts = indicator_counts([carried], *Q1)
    assert (counts.total, counts.full_online_eligible, counts.full_online) == (1, 0, 0)


@pytest.mark.parametrize("rule_set", ["nd61-2018", "nd118-2025"])
def test_no_eligible_dossier_is_not_applicable(rule_set: str) -> None:
    rules = load_rule_sets().get(rule_set)
    counts = IndicatorCounts(received=4, received_online=4)  # online dossiers, none of an eligible procedure
    card = scorecard(counts, rules, *Q1)
    online = next(i for i in card.indicators if i.key == "online")
    assert (online.numerator, online.denominator, online.value, online.points) == (0, 0, None, 0.0)
    assert NOT_APPLICABLE.format(key="online") in card.notes


@pytest.mark.parametrize(("rule_set", "day"), [("nd61-2018", date(2024, 12, 31)), ("nd118-2025", date(2025, 12, 31))])
def test_both_rule_sets_score_the_national_indicator(rule_set: str, day: date) -> None:
    rules = load_rule_sets().in_force(day)
    assert rules.key == rule_set
    spec = rules.par766.indicator("online_share")
    assert (spec.group, spec.max_points, spec.full_at_percent) == ("online", 12, 50)
    assert "toàn trình" in spec.label and "đủ điều kiện toàn trình" in spec.formula
    scored = {i.key: i for i in par766(IndicatorCounts(received=20, full_online_eligible=8, full_online=2), rules)}
    assert (scored["online"].value, scored["online"].points) == (25.0, 6.0)  # half the threshold: half the points
    full = {i.key: i for i in par766(IndicatorCounts(received=20, full_online_eligible=8, full_online=4), rules)}
    assert full["online"].points == 12


# -- the projection judges eligibility at reception ------------------------------------------------


def test_the_fold_judges_eligibility_on_the_day_of_reception(motcua: Motcua, clock: ManualClock) -> None:
    asked: list[tuple[str, date]] = []
    switch = date(2024, 3, 5)

    def eligible_of(code: str, day: date) -> bool:
        asked.append((code, day))
        return day >= switch

    clock.set(at(date(2024, 3, 4), 16))
    code = motcua.desk.submit("1.004873", "online", Applicant("Trần Văn An"), OFFICER).code  # before the switch
    submitted = fold_all(motcua, eligible_of)[code]
    assert (submitted.received_at, submitted.full_online_eligible, asked) == (None, False, [])
    clock.set(at(switch, 8))
    motcua.service.fire(code, "receive", OFFICER, {})  # received on the day it became eligible
    received = fold_all(motcua, eligible_of)[code]
    assert received.full_online_eligible and asked[-1] == ("1.004873", switch)
    assert not fold_all(motcua, None)[code].full_online_eligible  # not judged: never claimed eligible


def test_the_memory_projection_records_the_fact(motcua: Motcua, clock: ManualClock) -> None:
    clock.set(at(date(2024, 3, 4), 9))
    birth = motcua.desk.receive("1.001193", "online", Applicant("Trần Văn An"), OFFICER).code  # toàn trình
    marriage = motcua.desk.receive("1.000894", "online", Applicant("Ngô Thị Mai"), OFFICER).code  # một phần
    motcua.reports.catch_up()
    assert [motcua.reports.facts(code).full_online_eligible for code in (birth, marriage)] == [  # type: ignore[union-attr]
        True, False]
    counts = motcua.reports.indicator_counts(date(2024, 3, 1), date(2024, 3, 31))
    assert (counts.received_online, counts.full_online_eligible, counts.full_online) == (2, 1, 1)


def fold_all(app: Motcua, eligible_of: EligibleOf | None) -> dict[str, DossierFacts]:
    facts: dict[str, DossierFacts] = {}
    for entry in sorted(app.store.entries(), key=lambda entry: entry.position or 0):
        folded = fold(facts.get(entry.case_code), entry, app.workflows.status_of, eligible_of)
        if folded is not None:
            facts[entry.case_code] = folded
    return facts


# -- what the reports show -------------------------------------------------------------------------


def test_every_indicator_shows_its_numerator_and_denominator() -> None:
    counts = IndicatorCounts(total=4, resolved_on_time=3, pending_within=1, received=4, full_online_eligible=2,
                             full_online=1, paper_result=4, electronic_result=1)
    card = scorecard(counts, load_rule_sets().in_force(Q1[1]), *Q1)
    shown = {item["key"]: item for item in card.as_json()["indicators"]}  # type: ignore[union-attr]
    assert (shown["online"]["numerator"], shown["online"]["denominator"]) == (1, 2)  # type: ignore[index]
    assert (shown["progress"]["numerator"], shown["progress"]["denominator"]) == (4, 4)  # type: ignore[index]
    assert (shown["e_result"]["numerator"], shown["e_result"]["denominator"]) == (1, 4)  # type: ignore[index]


def test_the_renderings_show_numerator_and_denominator(tmp_path: Path) -> None:
    counts = IndicatorCounts(received=5, full_online_eligible=3, full_online=1)
    card = scorecard(counts, load_rule_sets().in_force(Q1[1]), *Q1)
    rows = {row[0]: row for row in csv.reader(io.StringIO(par766_csv(card)))}
    assert rows["online"][2:5] == ["1", "3", "33.33"]
    par766_xlsx(card, tmp_path / "qd766.xlsx")
    sheet = list(load_workbook(tmp_path / "qd766.xlsx")["QD 766"].values)
    assert sheet[2][:5] == ("Mã", "Chỉ số", "Tử số", "Mẫu số", "Tỷ lệ (%)")
    online = next(row for row in sheet if row[0] == "online")
    assert online[2:5] == (1, 3, 33.33)
    console = Console(width=200, record=True)
    console.print(par766_table(card))
    text = console.export_text()
    assert "Tử số" in text and "Mẫu số" in text
    assert any("toàn trình" in line and " 1 " in line and " 3 " in line for line in text.splitlines())
