"""What the operations pages ask the store for a scope — the armed timers and their counts, the effects waiting, the
parked ones, each of the cases :meth:`Scope.narrow` selects — is exactly what :meth:`Scope.admits` lets the scope
open, case by case, on every backend: dossiers received at one unit for another, feedback, plan tasks without a
unit, applicants' keys, a scope of no unit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from motcua.definitions.plans import PLANS_DIR, load_plan
from motcua.workflow.access.scope import Scope
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.queries import CaseFilter
from motcua.workflow.engine.retry import Park
from motcua.workflow.errors import CaseNotFound
from motcua.workflow.feedback.intake import Feedback, open_feedback
from motcua.workflow.plan.intake import load_tasks
from tests.unit.console.pages_b import AN_THUONG, CAM_THUONG, EVERYONE, Office, office

SCOPES = (
    Scope.of_units([AN_THUONG]), Scope.of_units([CAM_THUONG]), Scope.of_units([]),
    Scope.of_units([AN_THUONG, CAM_THUONG]), Scope.of_applicant("001199000002"),
    Scope.of_applicant("001199000001"), Scope.of_applicant("079000000000"),
)


@pytest.fixture
def shop(url: str) -> Iterator[Office]:
    """The console's office, and: a dossier received at Cẩm Thượng for An Thượng, a second applicant's dossier,
    feedback at Cẩm Thượng, the reform plan's tasks (no unit); some of every case's effects parked."""
    built = office(url)
    motcua = built.motcua
    crossing = motcua.desk.submit("1.004873", "direct", Applicant("Lê Thị Hoa", id_number="001199000001"), EVERYONE,
                                  unit=CAM_THUONG, deciding_unit=AN_THUONG).code
    built.fire(crossing, "receive")
    second = motcua.desk.submit("1.004873", "direct", Applicant("Đỗ Văn Bình", id_number="001199000002"), EVERYONE,
                                unit=AN_THUONG).code
    built.fire(second, "receive")
    feedback = Feedback("Nguyễn Văn Cường", "Góp ý về giờ làm việc", applicant_id="001199000002")
    open_feedback(motcua.service, motcua.store, motcua.rules, feedback, EVERYONE, unit=CAM_THUONG)
    load_tasks(motcua.service, motcua.rules, load_plan(PLANS_DIR / "an-thuong-2023.yaml"))
    built.clock.advance(timedelta(hours=1))
    far = built.clock.now() + timedelta(days=3650)
    for n, item in enumerate(motcua.store.claim_effects(far, 100_000, timedelta(minutes=1))):
        if n % 2:
            motcua.store.failed(item.id, "hết lần thử", Park("failed for good"))
    yield built
    motcua.close()


@pytest.mark.parametrize("scope", SCOPES, ids=lambda scope: scope.label)
def test_the_store_selects_for_a_scope_what_the_scope_admits(shop: Office, scope: Scope) -> None:
    store, now, index_of = shop.motcua.store, shop.clock.now(), shop.motcua.service.engine.workflows.index_of

    def admitted(code: str) -> bool:
        try:
            return scope.admits(index_of(store.load(code)))
        except CaseNotFound:
            return False

    where = scope.narrow(CaseFilter())
    timers = [timer for timer in store.armed_timers(100_000) if admitted(timer.case_code)]
    assert store.armed_timers(100_000, where) == timers
    assert store.armed_count(now, where) == (len(timers), sum(1 for timer in timers if timer.due_at <= now))
    later = now + timedelta(days=3651)  # past the fixture's claims: every pending effect is claimed again
    pending = store.claim_effects(later, 100_000, timedelta(minutes=1))
    assert store.backlog(where) == sum(1 for item in pending if admitted(item.case_code))
    assert store.parked(where) == [item for item in store.parked() if admitted(item.case_code)]
    if scope.units == frozenset():
        assert (timers, store.backlog(where), store.parked(where)) == ([], 0, [])


def test_the_fixture_holds_what_the_scopes_must_tell_apart(shop: Office) -> None:
    store = shop.motcua.store
    assert len(store.armed_timers(100_000)) > 45 and store.backlog() > 0 and store.parked()  # plan tasks' timers too
