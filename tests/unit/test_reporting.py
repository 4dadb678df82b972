"""Biểu 06 semantics (one-stop-shop.md, the official reports) on the reference implementation, and the projection
fold."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from motcua.adapters.bootstrap import Motcua
from motcua.simulation.story import run_story
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.reports.par766 import indicator_counts
from motcua.workflow.reports.projection import DossierFacts, Pause, bieu06, fold


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=VN_TZ)


def facts(code: str, received: date, ended: date | None = None, appointment: date | None = None, *,
          channel: int | None = 1, status: int = 4, field: str = "HT", pauses: tuple[Pause, ...] = ()) -> DossierFacts:
    return DossierFacts(
        code=code, procedure="1.004873", field_code=field, field_name=f"Lĩnh vực {field}", channel=channel,
        status=status, received_at=at(received), ended_at=at(ended, 16) if ended else None,
        appointment=at(appointment, 17) if appointment else None, pauses=pauses,
    )


Q1 = (date(2024, 1, 1), date(2024, 3, 31))


def counts(*items: DossierFacts, period: tuple[date, date] = Q1) -> dict[str, int]:
    return bieu06(items, *period).total.counts()


def test_received_on_first_and_last_day_count_as_received() -> None:
    total = counts(facts("a", date(2024, 1, 1)), facts("b", date(2024, 3, 31), channel=2))
    assert (total["total"], total["direct_postal"], total["online"], total["carried_over"]) == (2, 1, 1, 0)


def test_received_before_and_ended_on_first_day_is_carried_over_and_resolved() -> None:
    total = counts(facts("a", date(2023, 12, 29), ended=date(2024, 1, 1), appointment=date(2024, 1, 2)))
    assert (total["carried_over"], total["resolved"], total["resolved_early"]) == (1, 1, 1)


def test_ended_before_the_period_is_left_out() -> None:
    assert counts(facts("a", date(2023, 12, 1), ended=date(2023, 12, 31)))["total"] == 0


def test_ended_the_day_after_the_period_is_pending() -> None:
    total = counts(facts("a", date(2024, 3, 20), ended=date(2024, 4, 1), appointment=date(2024, 4, 2)))
    assert (total["resolved"], total["pending"], total["pending_within"]) == (0, 1, 1)


def test_appointment_on_the_period_end_is_within() -> None:
    total = counts(facts("a", date(2024, 3, 25), appointment=date(2024, 3, 31)))
    assert (total["pending_within"], total["pending_overdue"]) == (1, 0)
    total = counts(facts("b", date(2024, 3, 25), appointment=date(2024, 3, 30)))
    assert total["pending_overdue"] == 1


def test_paused_at_the_period_end_is_within_even_past_its_appointment() -> None:
    paused = facts("a", date(2024, 3, 1), appointment=date(2024, 3, 10), status=5,
                   pauses=(Pause(date(2024, 3, 8), None),))
    assert counts(paused)["pending_within"] == 1
    resumed = facts("b", date(2024, 3, 1), appointment=date(2024, 3, 10),
                    pauses=(Pause(date(2024, 3, 8), date(2024, 3, 20)),))
    assert counts(resumed)["pending_overdue"] == 1


def test_early_on_time_late_compare_dates() -> None:
    total = counts(
        facts("a", date(2024, 2, 1), ended=date(2024, 2, 4), appointment=date(2024, 2, 5)),
        facts("b", date(2024, 2, 1), ended=date(2024, 2, 5), appointment=date(2024, 2, 5)),
        facts("c", date(2024, 2, 1), ended=date(2024, 2, 6), appointment=date(2024, 2, 5)),
        facts("d", date(2024, 2, 1), ended=date(2024, 2, 6)),  # no appointment: on time
    )
    assert (total["resolved_early"], total["resolved_on_time"], total["resolved_late"]) == (1, 2, 1)


def test_withdrawn_late_is_resolved_late() -> None:
    withdrawn = facts("a", date(2024, 3, 1), ended=date(2024, 3, 12), appointment=date(2024, 3, 6), status=7)
    assert counts(withdrawn)["resolved_late"] == 1


def test_carried_over_across_a_year() -> None:
    item = facts("a", date(2023, 12, 28), ended=date(2024, 1, 3), appointment=date(2024, 1, 2))
    assert counts(item, period=(date(2023, 1, 1), date(2023, 12, 31)))["pending_overdue"] == 0
    assert counts(item, period=(date(2024, 1, 1), date(2024, 12, 31)))["carried_over"] == 1
    assert counts(item, period=(date(2024, 1, 1), date(2024, 12, 31)))["resolved_late"] == 1


def test_never_accepted_dossiers_are_left_out() -> None:
    assert counts(facts("a", date(2024, 2, 1), status=1), facts("b", date(2024, 2, 1), status=3))["total"] == 0


def test_rows_per_field_ordered_and_summed() -> None:
    report = bieu06([facts("a", date(2024, 2, 1), field="HT"), facts("b", date(2024, 2, 1), field="CT"),
                     facts("c", date(2024, 2, 2), field="HT")], *Q1)
    assert [(row.field_code, row.total) for row in report.rows] == [("CT", 1), ("HT", 2)]
    shape = report.as_json()
    assert shape["from"] == "2024-01-01" and shape["total"]["total"] == 3  # type: ignore[index,call-overload]


def test_a_units_report_counts_the_dossiers_counted_under_them_alone() -> None:
    items = [replace(facts("a", date(2024, 2, 1)), unit="X"), replace(facts("b", date(2024, 2, 1)), unit="Y"),
             replace(facts("c", date(2024, 2, 2), field="CT"), unit="X"), facts("d", date(2024, 2, 3))]  # d: no unit

    assert bieu06(items, *Q1, units=frozenset({"X"})).total.total == 2
    assert bieu06(items, *Q1, units=frozenset({"X", "Y"})).total.total == 3
    assert bieu06(items, *Q1, units=frozenset()).rows == ()
    assert bieu06(items, *Q1).total.total == 4  # every dossier, the one with no unit recorded included
    assert indicator_counts(items, *Q1, units=frozenset({"Y"})).total == 1
    assert indicator_counts(items, *Q1).total == 4


days = st.dates(min_value=date(2023, 10, 1), max_value=date(2024, 6, 30))


@st.composite
def random_facts(draw: st.DrawFn) -> DossierFacts:
    received = draw(days)
    ended = draw(st.none() | st.integers(0, 60).map(lambda n: received + timedelta(days=n)))
    appointment = draw(st.none() | st.integers(-5, 40).map(lambda n: received + timedelta(days=n)))
    pause = draw(st.none() | st.tuples(st.integers(0, 20), st.none() | st.integers(0, 20)))
    pauses = () if pause is None else (Pause(received + timedelta(days=pause[0]),
                                             None if pause[1] is None else received + timedelta(days=sum(pause))),)
    return facts(draw(st.uuids()).hex, received, ended, appointment, channel=draw(st.sampled_from([1, 2, 3, None])),
                 status=draw(st.sampled_from(range(1, 11))), field=draw(st.sampled_from(["HT", "CT"])), pauses=pauses)


@settings(max_examples=300, deadline=None)
@given(st.lists(random_facts(), max_size=30), days, st.integers(0, 120))
def test_identity_holds_in_every_row(items: list[DossierFacts], start: date, length: int) -> None:
    report = bieu06(items, start, start + timedelta(days=length))
    for row in (*report.rows, report.total):
        c = row.counts()
        assert c["online"] + c["direct_postal"] + c["carried_over"] == c["total"] == c["resolved"] + c["pending"]
        assert c["resolved"] == c["resolved_early"] + c["resolved_on_time"] + c["resolved_late"]
        assert c["pending"] == c["pending_within"] + c["pending_overdue"]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(random_facts(), st.sampled_from(["X", "Y", "Z"])), max_size=30), days, st.integers(0, 120))
def test_every_units_report_sums_to_the_report_of_every_dossier(
    drawn: list[tuple[DossierFacts, str]], start: date, length: int
) -> None:
    items, end = [replace(item, unit=unit) for item, unit in drawn], start + timedelta(days=length)
    whole = bieu06(items, start, end).total.counts()
    parts = [bieu06(items, start, end, units=frozenset({unit})).total.counts() for unit in "XYZ"]
    assert {name: sum(part[name] for part in parts) for name in whole} == whole


def test_fold_of_the_demo_log_matches_the_dossiers(motcua: Motcua, clock: ManualClock) -> None:
    cases = run_story(motcua, clock)
    folded: dict[str, DossierFacts | None] = {}
    for entry in sorted(motcua.store.entries(), key=lambda e: e.position or 0):
        folded[entry.case_code] = fold(folded.get(entry.case_code), entry, motcua.workflows.status_of)
    for case in cases:
        item = folded[case.code]
        assert item is not None
        code = motcua.workflows.status_of(case.definition_key, case.definition_version, case.state["lifecycle"])
        assert item.status == code
        assert item.field_code == case.attributes["field_code"]
        assert (item.ended_at is None) == (case.attributes.get("ended_at") is None)
        if "appointment" in case.attributes:
            assert item.appointment == datetime.fromisoformat(str(case.attributes["appointment"]))
    marital = folded[cases[1].code]
    assert marital is not None and len(marital.pauses) == 1 and marital.pauses[0].end is not None
    assert marital.channel == 2 and marital.digitized


def test_an_instant_of_year_one_in_the_log_is_folded_as_no_date(motcua: Motcua, clock: ManualClock) -> None:
    """A portal's empty date (``00010101000000``) imported as year 1 before the importer refused it: every report that
    folded it failed (Vietnam's year 1 begins before UTC's), for ever, the log being append-only."""
    [case, *_] = run_story(motcua, clock)
    folded: DossierFacts | None = None
    for entry in sorted(motcua.store.history(case.code), key=lambda e: e.position or 0):
        year_one = {**entry.changes, "appointment": "0001-01-01T00:00:00+07:00"}
        read = replace(entry, changes=year_one) if "appointment" in entry.changes else entry
        folded = fold(folded, read, motcua.workflows.status_of)
    assert folded is not None and folded.appointment is None
    bieu06([folded], date(2024, 1, 1), date(2024, 12, 31))  # counted, not an OverflowError
