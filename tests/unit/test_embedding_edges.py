"""What a program embedding motcua gets when it passes something wrong: a typed error naming it, before anything is
written — never a scope wider than asked, an audit entry that no longer verifies, or a crash."""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from motcua import connect as motcua_connect
from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.definitions.plans import PLANS_DIR, load_plan
from motcua.workflow.access.scope import Scope
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.audit import verify_chains
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.model import Actor
from motcua.workflow.engine.ports import Observer
from motcua.workflow.engine.queries import CaseFilter
from motcua.workflow.errors import CaseNotFound, InvalidInput, TransitionNotAllowed
from motcua.workflow.plan.intake import load_tasks
from motcua.workflow.reports.service import ReportService
from tests.conftest import OFFICER, START

MARITAL = "1.004873"


@pytest.mark.parametrize("id_number", [None, "", "030 190 000 001", 30190000001])
def test_an_applicants_scope_needs_their_identity_number(id_number: object) -> None:
    with pytest.raises(InvalidInput, match="id_number"):
        Scope.of_applicant(id_number)  # type: ignore[arg-type]  # None had given a scope that sees everything


def test_a_scope_is_what_it_says() -> None:
    with pytest.raises(InvalidInput, match="not one text"):
        Scope.of_units("LOCAL-HP-LE-CHAN")  # its characters would have been the units
    with pytest.raises(InvalidInput, match="units"):
        Scope(units=frozenset({42}))  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="applicant"):
        Scope(applicant="")
    assert Scope.of_applicant("030190000001").applicant == "030190000001"
    assert Scope.of_units(code for code in ["B", "A"]).units == {"A", "B"}  # any iterable, a generator too
    with pytest.raises(InvalidInput) as refused:
        CaseFilter(applicant=30190000001)  # type: ignore[arg-type]
    assert "30190000001" not in str(refused.value)  # an identity number is never echoed


@pytest.mark.parametrize(("name", "roles", "says"), [
    (42, ("officer",), "a text, not int"),  # a user id: hashed as a number, stored as text, never verified again
    (None, ("officer",), "a text, not NoneType"),
    ("  ", ("officer",), "not empty"),
    ("Lan\n\u202eadmin", ("officer",), "one line"),
    ("L" * 501, ("officer",), "at most 500"),
    ("Lan", (["officer"],), "roles are texts"),
])
def test_an_actor_is_refused_before_anything_is_written(
    motcua: Motcua, name: object, roles: tuple[object, ...], says: str,
) -> None:
    with pytest.raises(InvalidInput, match=says):
        Actor.of(name, *roles)  # type: ignore[arg-type]
    assert list(motcua.store.cases()) == []


def test_an_actors_name_is_read_as_nfc() -> None:
    decomposed = "Nguye\u0302\u0303n Thi\u0323 Lan"
    assert Actor.of(decomposed, "officer").name == "Nguyễn Thị Lan"
    with pytest.raises(InvalidInput, match="NFC"):
        Actor(name=decomposed, roles=frozenset({"officer"}))


@pytest.mark.parametrize("version", ["2", 2.0, True, 0])
def test_an_expected_version_is_a_whole_number(motcua: Motcua, version: object) -> None:
    code = motcua.desk.receive(MARITAL, "direct", Applicant("Trần Văn An"), OFFICER).code
    with pytest.raises(InvalidInput, match="expected_version"):  # "2" had been a ConcurrencyConflict for ever
        motcua.service.fire(code, "assign", OFFICER, {"assignee": "Phạm Văn Hùng"}, expected_version=version)  # type: ignore[arg-type]


def test_a_long_code_is_named_by_an_excerpt(motcua: Motcua) -> None:
    with pytest.raises(CaseNotFound) as caught:
        motcua.service.get("X" * 1_000_000)
    assert len(str(caught.value)) < 200


class Raising:
    """An observer that fails (a metrics backend away)."""

    def committed(self, decision: object) -> None:
        raise ConnectionError("metrics away")

    def rejected(self, code: str, trigger: str, error: Exception) -> None:
        raise ConnectionError("metrics away")


def test_an_observer_that_raises_changes_no_answer(clock: ManualClock) -> None:
    observer: Observer = Raising()  # type: ignore[assignment]
    app = open_motcua("memory://", clock=clock, observers=[observer])
    try:
        case = app.desk.receive(MARITAL, "direct", Applicant("Trần Văn An"), OFFICER)  # committed: answered as such
        assert [c.code for c in app.store.cases()] == [case.code]
        with pytest.raises(TransitionNotAllowed):  # the refusal, not the observer's ConnectionError
            app.service.fire(case.code, "return_result", OFFICER)
    finally:
        app.close()


def test_a_closed_motcua_refuses_work_instead_of_opening_the_file_again(tmp_path: Path) -> None:
    path = tmp_path / "closed.db"
    app = open_motcua(f"sqlite:///{path}", clock=ManualClock(START), observers=[])
    code = app.desk.receive(MARITAL, "direct", Applicant("Trần Văn An"), OFFICER).code
    app.close()
    with pytest.raises(InvalidInput, match="closed"):
        app.service.get(code)


@pytest.fixture(params=["sqlite://", "sqlite:///:memory:"])
def in_memory_sqlite(request: pytest.FixtureRequest) -> Iterator[Motcua]:
    app = open_motcua(request.param, clock=ManualClock(START), observers=[])
    yield app
    app.close()


def test_an_in_memory_sqlite_database_takes_two_threads_in_turn(in_memory_sqlite: Motcua) -> None:
    failures: list[BaseException] = []

    def desk() -> None:
        try:
            for _ in range(15):
                in_memory_sqlite.desk.receive(MARITAL, "direct", Applicant("Trần Văn An"), OFFICER)
        except BaseException as error:  # re-raised below, in the test's thread
            failures.append(error)

    threads = [threading.Thread(target=desk) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    store = in_memory_sqlite.store
    assert len(list(store.cases())) == 30
    assert list(verify_chains(store.cases(), store.entries())) == []


def test_a_desks_question_asked_wrong_is_refused_not_answered_with_everything_or_nothing() -> None:
    with motcua_connect("memory://") as shop:
        code = shop.receive(MARITAL, Applicant("Trần Văn An"), OFFICER).code
        shop.fire(code, "assign", OFFICER, {"assignee": "Phạm Văn Hùng"})
        for officer in (None, "", "  "):
            with pytest.raises(InvalidInput, match="officer"):
                shop.assigned_to(officer)  # type: ignore[arg-type]  # None had answered every dossier
        with pytest.raises(InvalidInput, match=r"one of .*processing"):
            shop.in_state("procesing")  # a typo had answered an empty page
        assert [case.code for case in shop.assigned_to("Pha\u0323m Va\u0306n Hu\u0300ng").items] == [code]  # NFD
        assert [case.code for case in shop.in_state("processing").items] == [code]


def test_an_empty_database_url_is_refused_not_read_as_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    for url in ("", "  "):
        with pytest.raises(InvalidInput, match="database url: empty"):
            open_motcua(url, observers=[])
    assert list(tmp_path.iterdir()) == []  # no ./motcua.db made where another database was meant


class NaiveClock:
    """A host's clock that forgot its time zone (``datetime.now()``)."""

    def now(self) -> datetime:
        return START.replace(tzinfo=None)


def test_a_clock_giving_naive_instants_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    path = tmp_path / "naive.db"
    with pytest.raises(InvalidInput, match=r"clock: now\(\) gave a naive datetime"):  # had been a StorageFailure
        open_motcua(f"sqlite:///{path}", clock=NaiveClock(), observers=[])  # type: ignore[arg-type]
    with sqlite3.connect(path) as db:  # the schema was made; no pin, no case
        assert db.execute("SELECT count(*) FROM definition_pin").fetchone() == (0,)
    with pytest.raises(InvalidInput, match="clock: object has no now"):
        open_motcua("memory://", clock=object(), observers=[])  # type: ignore[arg-type]


def test_a_manual_clock_moves_forward_only(clock: ManualClock) -> None:
    with pytest.raises(InvalidInput, match="delta"):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(InvalidInput, match="start"):
        ManualClock("2026-01-05T08:00:00+07:00")  # type: ignore[arg-type]
    assert clock.now() == START


@pytest.mark.parametrize(("code", "says"), [
    ("HS\x00-1", "control character"),  # a NUL fails PostgreSQL's statement: a StorageFailure, not the caller's error
    ("H" * 201, "longer than 200"),  # a plan task's code (plan/task/period) may pass 100: no dossier's may
    (42, "a text"),
])
def test_a_case_code_opened_by_hand_is_one_line_of_text(motcua: Motcua, code: object, says: str) -> None:
    data = {"plan": "KH-1", "task": "1", "title": "Nhiệm vụ", "owner": "Lan", "due": "2026-12-31"}
    with pytest.raises(InvalidInput, match=says):
        motcua.service.open("plan-task", code, OFFICER, data, rule_set="nd118-2025")  # type: ignore[arg-type]
    assert list(motcua.store.cases()) == []


@pytest.mark.parametrize(("where", "says"), [
    (lambda: CaseFilter(units="LOCAL-HP-LE-CHAN"), "not one text"),  # type: ignore[arg-type]  # had been its letters
    (lambda: CaseFilter(units=[""]), "units: '' is not a unit code"),
    (lambda: CaseFilter(ended="no"), "ended: True, False or None"),  # type: ignore[arg-type]  # "no" had been true
    (lambda: CaseFilter(due_before="2026-12-31"), "due_before: a datetime"),  # type: ignore[arg-type]
    (lambda: CaseFilter(procedure=1004873), "procedure: a text"),  # type: ignore[arg-type]
    (lambda: CaseFilter(officer="Lan\nadmin"), r"officer: .*control character"),
])
def test_a_filter_is_what_it_says(where: Callable[[], CaseFilter], says: str) -> None:
    with pytest.raises(InvalidInput, match=says):
        where()


@pytest.mark.parametrize(("limit", "after", "says"), [
    ("5", None, "limit: '5' is not a whole number"),
    (True, None, "limit: True"),
    (0, None, "limit: 0"),
    (5, 42, "after: .*a text"),
    (5, "X" * 201, r"after: .*longer than 200"),
])
def test_a_page_is_asked_for_with_a_number_and_a_code(
    motcua: Motcua, limit: object, after: object, says: str,
) -> None:
    with pytest.raises(InvalidInput, match=says):
        motcua.store.find(CaseFilter(), after=after, limit=limit)  # type: ignore[arg-type]


def test_a_shops_questions_with_wrong_values_are_refused() -> None:
    with motcua_connect("memory://", clock=ManualClock(START)) as shop:
        for within in (timedelta.max, timedelta(days=-1), 3):
            with pytest.raises(InvalidInput, match="within"):  # timedelta.max had been an OverflowError
                shop.due_soon(within)  # type: ignore[arg-type]
        assert shop.due_soon(timedelta(days=3_660)).items == ()
        with pytest.raises(InvalidInput, match=r"--from: a date .*not str"):
            shop.bieu06("2026-01-01", date(2026, 12, 31))  # type: ignore[arg-type]  # had been a TypeError
        with pytest.raises(InvalidInput, match=r"--to: a date .*not datetime"):
            shop.par766(date(2026, 1, 1), START)
        with pytest.raises(InvalidInput, match="limit"):
            shop.find(limit="50")  # type: ignore[arg-type]


def test_a_scope_naming_an_unknown_unit_is_refused_not_answered_with_nothing() -> None:
    with pytest.raises(InvalidInput, match="scope: unknown unit 'LOCAL-HP-LE-CHANN'"):
        motcua_connect("memory://", scope=Scope.of_units(["LOCAL-HP-LE-CHANN"]))
    with motcua_connect("memory://") as shop:
        with pytest.raises(InvalidInput, match="scope: unknown unit"):
            shop.scoped(Scope.of_units(["LOCAL-HP-LE-CHAN", "NO-SUCH-UNIT"]))
        with pytest.raises(InvalidInput, match="scope: a Scope"):
            shop.scoped("LOCAL-HP-LE-CHAN")  # type: ignore[arg-type]
        assert shop.scoped(Scope.of_units(["LOCAL-HP-LE-CHAN"])).find().items == ()


def test_a_reports_units_are_a_set_of_codes(motcua: Motcua) -> None:
    service = ReportService(motcua.reports, motcua.rules)
    with pytest.raises(InvalidInput, match="units: a collection of unit codes, not one text"):
        service.bieu06(date(2026, 1, 1), date(2026, 12, 31), units="LOCAL-HP-LE-CHAN")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="units"):
        service.scorecard(date(2026, 1, 1), date(2026, 12, 31), units=frozenset({7}))  # type: ignore[arg-type]


def test_a_plan_with_the_longest_codes_loads_and_pages(tmp_path: Path) -> None:
    """A plan's key and a task's id may be 64 characters each: a task's code (plan/task/period) passes a dossier's 100;
    every task opens, and a page's own ``next_cursor`` is taken back."""
    key, task = "k" * 64, "t" * 60
    text = (PLANS_DIR / "an-thuong-2023.yaml").read_text(encoding="utf-8")
    text = re.sub(r"(task: )cd-05\b", r"\g<1>" + task, text.replace("key: an-thuong-2023", f"key: {key}", 1))
    path = tmp_path / f"{key}.yaml"
    path.write_text(text.replace("  - id: cd-05", f"  - id: {task}", 1), encoding="utf-8")
    plan = load_plan(path)
    assert max(len(occurrence.code) for occurrence in plan.occurrences()) > 100
    app = open_motcua("memory://", clock=ManualClock(datetime(2023, 1, 2, 8, tzinfo=VN_TZ)), observers=[])
    try:
        created = load_tasks(app.service, app.rules, plan).created
        seen, after = [], None
        while True:
            page = app.store.find(CaseFilter(definition_key="plan-task"), after=after, limit=1)
            seen += [case.code for case in page.items]
            if (after := page.next_cursor) is None:
                break
        assert sorted(seen) == sorted(created)
    finally:
        app.close()
