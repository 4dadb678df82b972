"""Decision 766 indicators: the reference counts over facts, and scores from the rule set's points."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest

from motcua.definitions.catalogue import load_rule_sets
from motcua.workflow.dossiers.catalogue import RuleSet
from motcua.workflow.engine.clock import VN_TZ
from motcua.workflow.reports.par766 import (
    INDICATOR_KEYS,
    SYNC_NOT_MEASURED,
    Indicator,
    IndicatorCounts,
    indicator_counts,
    par766,
    scorecard,
)
from motcua.workflow.reports.projection import DossierFacts

RULES = load_rule_sets().in_force(date(2024, 12, 31))
Q1 = (date(2024, 1, 1), date(2024, 3, 31))


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=VN_TZ)


def dossier(code: str, received: date, ended: date | None = None, appointment: date | None = None,
            **extra: object) -> DossierFacts:
    base = DossierFacts(
        code=code, procedure="1.004873", field_code="HT", field_name="Hộ tịch", channel=1, status=4,
        received_at=at(received), ended_at=at(ended, 16) if ended else None,
        appointment=at(appointment, 17) if appointment else None,
    )
    return replace(base, **extra)  # type: ignore[arg-type]  # the tests pass DossierFacts fields


def scores(counts: IndicatorCounts, rules: RuleSet = RULES) -> dict[str, Indicator]:
    return {indicator.key: indicator for indicator in par766(counts, rules)}


def test_every_indicator_names_a_rule_set_indicator() -> None:
    for rules in load_rule_sets():
        for key in INDICATOR_KEYS.values():
            assert rules.par766.indicator(key).from_dossiers


def test_progress_is_twenty_times_the_on_time_share() -> None:
    counts = IndicatorCounts(total=8, resolved_early=3, resolved_on_time=2, resolved_late=1, pending_within=1,
                             pending_overdue=1)
    progress = scores(counts)["progress"]
    assert (progress.value, progress.points, progress.max_points) == (75.0, 15.0, 20.0)


def test_online_share_earns_full_points_from_fifty_percent() -> None:
    assert scores(IndicatorCounts(full_online_eligible=10, full_online=5))["online"].points == 12
    assert scores(IndicatorCounts(full_online_eligible=10, full_online=9))["online"].points == 12
    low = scores(IndicatorCounts(received=40, received_online=30, full_online_eligible=10, full_online=2))["online"]
    assert (low.numerator, low.denominator, low.value, low.points) == (2, 10, 20.0, 4.8)


def test_satisfaction_is_100_minus_late_and_complaint_rates() -> None:
    counts = IndicatorCounts(total=10, late=1, rated=4, satisfied=3)
    satisfaction = scores(counts)["satisfaction"]
    assert satisfaction.value == 80.0
    assert satisfaction.points == round(6 * 80 / 90, 2)
    assert scores(IndicatorCounts(total=2, late=2, rated=2))["satisfaction"].value == 0.0  # never below 0


def test_ratios_of_results_digitisation_and_payment() -> None:
    counts = IndicatorCounts(received=10, paper_result=8, electronic_result=6, digitized=8, with_fee=4, paid_online=1)
    indicators = scores(counts)
    assert (indicators["e_result"].value, indicators["e_result"].points) == (75.0, 4.5)
    assert (indicators["digitized"].value, indicators["digitized"].points) == (80.0, 4.0)  # full from 80 %
    assert (indicators["payment"].value, indicators["payment"].points) == (25.0, 2.5)


def test_an_empty_denominator_is_not_applicable() -> None:
    indicators = scores(IndicatorCounts())
    assert all(indicators[key].value is None and indicators[key].points == 0
               for key in ("progress", "online", "e_result", "digitized", "satisfaction", "payment"))


def test_sync_is_reported_as_not_measured() -> None:
    card = scorecard(IndicatorCounts(total=3, resolved_on_time=3, received=3), RULES, *Q1)
    sync = next(indicator for indicator in card.indicators if indicator.key == "sync")
    assert (sync.value, sync.points, sync.max_points) == (0.0, 0.0, 6.0)
    assert any(note.startswith("sync: not measured") for note in card.notes)
    shape = card.as_json()
    assert set(shape) == {"from", "to", "rule_set", "indicators", "total_points", "notes"}
    assert shape["indicators"][0] == {"key": "progress", "numerator": 3, "denominator": 3,  # type: ignore[index]
                                      "value": 100.0, "points": 20.0, "max_points": 20.0}


def test_points_and_thresholds_come_from_the_rule_set() -> None:
    indicators = tuple(
        indicator.model_copy(update={"full_at_percent": 25.0, "max_points": 3.0})
        if indicator.key == "online_share" else indicator for indicator in RULES.par766.indicators
    )
    rules = RULES.model_copy(update={"par766": RULES.par766.model_copy(update={"indicators": indicators})})
    online = scores(IndicatorCounts(full_online_eligible=10, full_online=2), rules)["online"]
    assert (online.points, online.max_points) == (2.4, 3.0)


@pytest.mark.parametrize("rating", [4, 5])
def test_counts_follow_the_bieu06_populations(rating: int) -> None:
    facts = [
        dossier("a", date(2024, 1, 5), date(2024, 1, 8), date(2024, 1, 10), rating=rating, digitized=True,
                electronic_result=True, fee=1000, paid_online=True, handovers=2, electronic_handovers=2),
        dossier("b", date(2024, 2, 1), date(2024, 2, 9), date(2024, 2, 5), channel=2, apologies=1,
                apologies_in_time=1, rating=1, handovers=2, electronic_handovers=1),
        dossier("c", date(2023, 12, 20), None, date(2024, 1, 3), fee=500),  # carried over, overdue
        dossier("d", date(2024, 3, 1), status=1, channel=2),  # never accepted: left out
        dossier("e", date(2023, 11, 1), date(2023, 11, 3)),  # ended before the period
    ]
    counts = indicator_counts(facts, *Q1)
    assert counts == IndicatorCounts(
        total=3, resolved_early=1, resolved_late=1, pending_overdue=1, late=2, late_apologised=1, rated=2,
        satisfied=1, received=2, received_online=1, paper_result=2, electronic_result=1, digitized=1,
        with_fee=1, paid_online=1, electronic_handover=1,
    )


def test_sync_counts_the_published_dossiers_received_in_the_period() -> None:
    facts = [
        dossier("a", date(2024, 1, 5)),  # published, every change synced
        dossier("b", date(2024, 1, 6)),  # published, a change not synced
        dossier("c", date(2024, 1, 7)),  # received before publishing was on: left out
        dossier("d", date(2024, 1, 8), imported=True),  # from the portal: left out
        dossier("e", date(2023, 12, 20)),  # carried over, not received in the period: left out
    ]
    published, synced = {"a", "b", "d", "e"}, {"a", "d", "e"}
    counts = indicator_counts(facts, *Q1, published=published, synced=synced)
    assert (counts.sync_total, counts.synced, counts.sync_measured) == (2, 1, True)
    assert counts.as_json()["sync_measured"] is True
    card = scorecard(counts, RULES, *Q1)
    assert next((i.value, i.points) for i in card.indicators if i.key == "sync") == (50.0, 3.0)
    assert not any(note.startswith("sync:") for note in card.notes)
    unpublished = indicator_counts(facts, *Q1, synced=synced)
    assert (unpublished.sync_total, unpublished.synced, unpublished.sync_measured) == (0, 0, False)
    assert SYNC_NOT_MEASURED in scorecard(unpublished, RULES, *Q1).notes
