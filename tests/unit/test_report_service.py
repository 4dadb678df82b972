"""The reports of a period as every caller computes them, and the labels every renderer reads from a definition."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date

import pytest

from motcua.definitions.catalogue import load_rule_sets
from motcua.definitions.workflows import WORKFLOWS_DIR, load_definition
from motcua.workflow.engine.decisions import OPEN_TRIGGER
from motcua.workflow.engine.labels import region_label, role_label, state_label, trigger_label
from motcua.workflow.errors import InvalidInput
from motcua.workflow.reports.par766 import IndicatorCounts, scorecard
from motcua.workflow.reports.projection import Bieu06, DossierFacts, bieu06
from motcua.workflow.reports.service import ReportService

RULES = load_rule_sets()
YEAR = (date(2024, 1, 1), date(2024, 12, 31))
DOSSIER = load_definition(WORKFLOWS_DIR / "tthc-dossier.v1.yaml")


@dataclass
class CountingProjection:
    """A reporting projection that counts its catch-ups and answers fixed counts."""

    catch_ups: int = 0
    asked: list[frozenset[str] | None] = field(default_factory=list)  # the units of each report asked for

    def catch_up(self) -> int:
        self.catch_ups += 1
        return 0

    def rebuild(self) -> int:
        return 0

    def bieu06(self, start: date, end: date, *, units: frozenset[str] | None = None) -> Bieu06:
        self.asked.append(units)
        return bieu06([], start, end)

    def indicator_counts(self, start: date, end: date, *, units: frozenset[str] | None = None) -> IndicatorCounts:
        self.asked.append(units)
        return IndicatorCounts(total=4, resolved_on_time=3, pending_overdue=1, late=1, received=4)

    def facts(self, code: str) -> DossierFacts | None:
        return None

    def facts_by_code(self, codes: Collection[str]) -> Mapping[str, DossierFacts]:
        return {}


def test_the_scorecard_is_scored_with_the_rules_in_force_on_the_last_day() -> None:
    projection = CountingProjection()
    card = ReportService(projection, RULES).scorecard(*YEAR)
    assert card == scorecard(projection.indicator_counts(*YEAR), RULES.in_force(YEAR[1]), *YEAR)
    assert projection.catch_ups == 0  # the projection is read as it stands unless caught up


def test_one_catch_up_serves_every_report_that_follows() -> None:
    projection = CountingProjection()
    reports = ReportService(projection, RULES).caught_up()
    reports.bieu06(*YEAR)
    reports.bieu06(date(2024, 1, 1), date(2024, 3, 31))
    reports.scorecard(*YEAR)
    assert projection.catch_ups == 1


def test_the_units_asked_for_reach_the_projection() -> None:
    projection = CountingProjection()
    reports = ReportService(projection, RULES)
    unit = frozenset({"LOCAL-HP-THANH-DONG"})
    reports.bieu06(*YEAR, units=unit)
    reports.scorecard(*YEAR, units=unit)
    reports.bieu06(*YEAR)
    assert projection.asked == [unit, unit, None]  # None: every dossier, the province's report


@pytest.mark.parametrize(("start", "end"), [
    (date(2024, 3, 31), date(2024, 1, 1)),  # reversed: not an empty report
    (date(2024, 1, 1), date.max),  # the SQL projection's "still open" day: open dossiers would count as resolved late
    (date.min, date(2024, 12, 31)),
    (date(1989, 12, 31), date(2024, 12, 31)),
])
def test_a_period_out_of_range_is_refused_before_the_projection_is_read(start: date, end: date) -> None:
    """Every caller's period is checked here — the Python API's too, which no parser of options reads first."""
    projection = CountingProjection()
    reports = ReportService(projection, RULES)
    with pytest.raises(InvalidInput):
        reports.bieu06(start, end)
    with pytest.raises(InvalidInput):
        reports.scorecard(start, end, units=frozenset({"X"}))
    assert projection.asked == []


def test_labels_come_from_the_definition_and_unknown_names_show_as_themselves() -> None:
    assert trigger_label(DOSSIER, "receive") == "Tiếp nhận hồ sơ"
    assert trigger_label(DOSSIER, OPEN_TRIGGER) == DOSSIER.opening.label
    assert region_label(DOSSIER, "lifecycle") == "Trạng thái hồ sơ"
    assert state_label(DOSSIER, "lifecycle", "returned") == "Đã trả kết quả"
    assert role_label(DOSSIER, "specialist") == "Chuyên viên xử lý"
    assert (trigger_label(DOSSIER, "unknown"), region_label(DOSSIER, "unknown")) == ("unknown", "unknown")
    assert (state_label(DOSSIER, "lifecycle", "unknown"), state_label(DOSSIER, "lifecycle", None)) == ("unknown", "")
    assert role_label(DOSSIER, "unknown") == "unknown"
