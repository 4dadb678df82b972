"""The year simulation's pure parts (workload, cast, plan schedule), its option checks, and its determinism."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from motcua.definitions.catalogue import load_procedures
from motcua.definitions.offices import load_office
from motcua.definitions.plans import PLANS_DIR, load_plan
from motcua.simulation.cast import MIN_DAILY_MINUTES, draw_cast
from motcua.simulation.feedback import FEEDBACK_PER_YEAR
from motcua.simulation.files import summary_json
from motcua.simulation.plan_progress import plan_schedule
from motcua.simulation.run import DemoResult, run_demo
from motcua.simulation.scenario import DemoOptions, resolve
from motcua.simulation.workload import draw_workload, working_days
from motcua.workflow.errors import DatabaseNotEmpty, InvalidInput
from motcua.workflow.feedback.metrics import FEEDBACK_ROWS

CATALOGUE = load_procedures()
CALENDAR = load_office("an-thuong").calendar()
PLAN = load_plan(PLANS_DIR / "an-thuong-2023.yaml")


def workload(seed: int, count: int = 2000) -> list[tuple[object, ...]]:
    arrivals = draw_workload(random.Random(seed), 2023, count, CATALOGUE, CALENDAR)
    return [(a.at, a.procedure.code, a.channel, a.applicant, a.fate) for a in arrivals]


def test_the_same_seed_draws_the_same_year_and_another_seed_another() -> None:
    assert workload(7) == workload(7)
    assert workload(7) != workload(8)


def test_shares_are_those_of_a_commune() -> None:
    arrivals = draw_workload(random.Random(1), 2023, 3000, CATALOGUE, CALENDAR)
    fields = Counter(a.procedure.field_code for a in arrivals)
    assert 0.55 < fields["CT"] / 3000 < 0.75  # chứng thực dominates
    assert 0.2 < fields["HT"] / 3000 < 0.4  # hộ tịch most of the rest
    assert fields["DD"] and fields["BTXH"]
    assert {a.channel for a in arrivals} == {"direct", "online", "postal"}
    assert all(CALENDAR.is_working_day(a.at.date()) for a in arrivals)
    assert all(a.procedure.valid_on(a.at.date()) for a in arrivals)  # 2.000992 is a commune's only from 2025
    assert [a.number for a in arrivals] == list(range(1, 3001))
    assert all(len(a.applicant.split()) == 3 for a in arrivals)


def test_the_cast_has_finite_capacity_and_absences() -> None:
    days = working_days(CALENDAR, 2023)
    cast = draw_cast(random.Random(3), days, {"CT": 200.0, "HT": 250.0, "DD": 10.0})
    assert all(person.daily_minutes >= MIN_DAILY_MINUTES for person in cast.specialists)
    assert cast.handlers_of("CT")[0].daily_minutes > cast.handlers_of("DD")[0].daily_minutes
    assert all(12 <= len(person.absent) <= 19 for person in cast.specialists)
    assert cast.absence_days() == draw_cast(random.Random(3), days, {"CT": 200.0}).absence_days()


def test_the_plan_schedule_covers_every_task_and_some_run_late() -> None:
    days = working_days(CALENDAR, 2023)
    steps = plan_schedule(PLAN, days, random.Random(2))
    assert {s.code for s in steps} == {o.code for o in PLAN.occurrences()}
    assert steps == sorted(steps, key=lambda s: (s.at, s.code))
    done = {s.code for s in steps if s.trigger == "complete"}
    assert 0 < len(done) < len(PLAN.occurrences())  # some are not done by the year's end
    due = {o.code: o.due for o in PLAN.occurrences()}
    assert any(s.at.date() > due[s.code] for s in steps if s.trigger == "complete")  # and some finish late


# -- option checks ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("options", "field"), [
    ({"year": 2024}, "--year"),
    ({"commune": "Phú Mỹ"}, "--commune"),
    ({"dossiers": 0}, "--dossiers"),
    ({"dossiers": -5}, "--dossiers"),
    ({"broker": "amqp://x"}, "--broker"),
])
def test_bad_options_are_refused_before_anything_is_written(options: dict[str, object], field: str,
                                                           tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(InvalidInput) as raised:
        resolve(DemoOptions(out=out, **options))  # type: ignore[arg-type]  # parametrised keywords
    assert raised.value.field == field
    assert not out.exists()


def test_the_commune_is_found_whatever_its_spelling(tmp_path: Path) -> None:
    for spelling in ("An Thượng", "xã an thượng", "  XÃ AN THƯỢNG "):
        assert resolve(DemoOptions(commune=spelling, out=tmp_path)).commune == "An Thượng"


def test_an_unwritable_out_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(InvalidInput) as raised:
        resolve(DemoOptions(out=blocker / "out"))
    assert raised.value.field == "--out"


def test_a_database_holding_cases_is_refused(tmp_path: Path) -> None:
    first = run_demo(DemoOptions(dossiers=5, out=tmp_path / "a"))
    url = f"sqlite:///{first.scenario.fresh_file}"
    with pytest.raises(DatabaseNotEmpty):
        run_demo(DemoOptions(dossiers=5, out=tmp_path / "b", db=url))
    assert not (tmp_path / "b" / "motcua.db").exists()


# -- determinism -------------------------------------------------------------------------------------


def small(seed: int, out: Path) -> DemoResult:
    return run_demo(DemoOptions(dossiers=150, seed=seed, out=out))


def test_the_same_seed_gives_the_same_reports_and_the_same_audit_heads(tmp_path: Path) -> None:
    one, two = small(5, tmp_path / "one"), small(5, tmp_path / "two")
    assert one.head_hashes == two.head_hashes
    assert [r.as_json() for _, r in one.periods] == [r.as_json() for _, r in two.periods]
    assert one.card.as_json() == two.card.as_json()
    other = small(6, tmp_path / "three")
    assert other.head_hashes != one.head_hashes


def test_a_rerun_in_the_same_folder_starts_from_a_fresh_database(tmp_path: Path) -> None:
    first, again = small(5, tmp_path), small(5, tmp_path)
    assert first.head_hashes == again.head_hashes  # not twice the dossiers
    assert again.year_report.total.total == again.run.tally.received


def test_a_portal_configured_around_the_demo_changes_nothing_in_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = small(5, tmp_path / "plain")
    monkeypatch.setenv("MOTCUA_DVCQG_URL", "http://127.0.0.1:9/never-reached")
    monkeypatch.setenv("MOTCUA_DVCQG_TOKEN", "token")
    around = small(5, tmp_path / "around")
    assert around.head_hashes == plain.head_hashes
    assert not any(kind.startswith("dvcqg.sync") for kind in around.delivered)
    assert around.card.as_json() == plain.card.as_json()


# -- citizens' feedback (issue 16) ----------------------------------------------------------------------


def test_the_year_has_feedback_some_late_some_on_dossiers_with_its_timers_and_plan_rows(tmp_path: Path) -> None:
    result = small(5, tmp_path)
    counts = result.feedback
    assert counts.received == result.run.tally.feedback == FEEDBACK_PER_YEAR
    assert counts.answered_on_time > counts.answered_late > 0  # most on time, some late
    assert counts.on_dossiers > 0 and counts.to_handle < counts.received  # some concern dossiers, some declined
    card = {indicator.key: indicator for indicator in result.card.indicators}
    on_time = card["petition_on_time"]
    assert (on_time.numerator, on_time.denominator) == (counts.answered_on_time + counts.pending_within,
                                                        counts.to_handle)
    assert card["petition_satisfaction"].denominator == counts.answered
    feedback_target = next(t for t in result.targets if t.target.id == "feedback")
    assert feedback_target.measurement.denominator == counts.to_handle
    assert result.delivered  # the feedback's warnings and overdue marks were sent like the dossiers'
    summary = summary_json(result)["feedback"]
    assert isinstance(summary, dict) and list(summary) == [key for key, _ in FEEDBACK_ROWS]
    assert summary["answered_late"] == counts.answered_late
