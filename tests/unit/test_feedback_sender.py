"""Citizens' feedback and its sender: an applicant's handle receives, sees and rates its own feedback alone, and
only the sender rates the answer (the unit being scored never records the rating the indicator reads)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from motcua.adapters.bootstrap import Motcua
from motcua.shop import OneStop
from motcua.workflow.access.scope import Scope
from motcua.workflow.engine.model import Actor
from motcua.workflow.engine.queries import CaseFilter
from motcua.workflow.errors import CaseNotFound, OutsideScope, RoleNotAllowed
from motcua.workflow.feedback.intake import Feedback
from tests.conftest import APPLICANT, LEADER, OFFICER, SPECIALIST

OWN_ID = "030190000001"
OTHER_ID = "030190000002"
ASSIGN = {"category": "thu_tuc_hanh_chinh", "assignee": SPECIALIST.name}


@pytest.fixture
def shop(motcua: Motcua) -> Iterator[OneStop]:
    yield OneStop(motcua)


def test_an_applicant_handle_receives_sees_and_rates_its_own_feedback(shop: OneStop) -> None:
    own = shop.scoped(Scope.of_applicant(OWN_ID))
    case = own.receive_feedback(Feedback("Trần Văn An", "Niêm yết thiếu", channel="online"), APPLICANT)
    assert case.attributes["applicant_id"] == OWN_ID  # filled in from the handle's scope
    assert own.case(case.code).code == case.code
    assert [item.code for item in own.feedback().items] == [case.code]
    shop.fire(case.code, "assign", OFFICER, ASSIGN)
    shop.fire(case.code, "answer", SPECIALIST, {"answer": "Đã bổ sung niêm yết"})
    rated = own.fire(case.code, "rate", APPLICANT, {"satisfied": True})
    assert rated.state["rating"] == "satisfied"


def test_an_applicant_handle_cannot_file_or_see_anothers_feedback(shop: OneStop, motcua: Motcua) -> None:
    own, other = shop.scoped(Scope.of_applicant(OWN_ID)), shop.scoped(Scope.of_applicant(OTHER_ID))
    sequences = motcua.store.next_sequence("probe")
    with pytest.raises(OutsideScope):
        own.receive_feedback(Feedback("Trần Văn An", "Chậm", applicant_id=OTHER_ID), APPLICANT)
    assert motcua.store.next_sequence("probe") == sequences + 1 and shop.feedback().items == ()  # nothing written
    case = own.receive_feedback(Feedback("Trần Văn An", "Chậm", applicant_id=OWN_ID), APPLICANT)
    with pytest.raises(CaseNotFound):
        other.case(case.code)
    assert other.feedback().items == ()
    assert other.feedback(CaseFilter(applicant=OWN_ID)).items == ()
    desk = shop.receive_feedback(Feedback("Lê Thị Cúc", "Thái độ phục vụ"), OFFICER)  # no identity number given
    assert "applicant_id" not in desk.attributes and [c.code for c in own.feedback().items] == [case.code]


@pytest.mark.parametrize("actor", [OFFICER, LEADER, SPECIALIST])
def test_only_the_sender_rates_the_answer(shop: OneStop, actor: Actor) -> None:
    case = shop.receive_feedback(Feedback("Nguyễn Văn Bình", "Chậm"), OFFICER)
    shop.fire(case.code, "assign", OFFICER, ASSIGN)
    shop.fire(case.code, "answer", SPECIALIST, {"answer": "Đã chỉ đạo"})
    before = len(shop.history(case.code))
    with pytest.raises(RoleNotAllowed):
        shop.fire(case.code, "rate", actor, {"satisfied": True})
    assert len(shop.history(case.code)) == before and shop.case(case.code).state["rating"] == "none"
