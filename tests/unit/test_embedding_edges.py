"""What a program embedding motcua gets when it passes something wrong: a typed error naming it, before anything is
written — never a scope wider than asked, an audit entry that no longer verifies, or a crash."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from motcua import connect as motcua_connect
from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.workflow.access.scope import Scope
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.audit import verify_chains
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.engine.model import Actor
from motcua.workflow.engine.ports import Observer
from motcua.workflow.errors import CaseNotFound, InvalidInput, TransitionNotAllowed
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
