"""Every backend indexes the sender of citizens' feedback alike: an applicant's handle lists its own alone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

import pytest

import motcua
from motcua.workflow.access.scope import Scope
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.engine.queries import CaseFilter
from tests.conftest import START

SENDER: Final = motcua.Actor.of("Trần Văn An", "applicant")
OFFICER: Final = motcua.Actor.of("Nguyễn Thị Lan", "officer")


@pytest.fixture
def shop(url: str) -> Iterator[motcua.OneStop]:
    with motcua.connect(url, clock=ManualClock(START), observers=[]) as opened:
        yield opened


def test_an_applicant_lists_its_own_feedback_on_every_backend(shop: motcua.OneStop) -> None:
    own, other = shop.scoped(Scope.of_applicant("030190000001")), shop.scoped(Scope.of_applicant("030190000002"))
    mine = own.receive_feedback(motcua.Feedback("Trần Văn An", "Niêm yết thiếu", channel="online"), SENDER)
    shop.receive_feedback(motcua.Feedback("Lê Thị Cúc", "Chậm"), OFFICER)
    assert [case.code for case in own.feedback().items] == [mine.code]
    assert other.feedback().items == () and other.feedback(CaseFilter(applicant="030190000001")).items == ()
    assert len(shop.feedback().items) == 2
