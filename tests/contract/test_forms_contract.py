"""Withdrawal, stop and their forms on every store (issue 15, point 4), through the public API (``motcua.connect``).

A withdrawal refused by the dossier's rule set (under Decree 118/2025, once a decision is issued) writes nothing:
no entry, no change of the case, no timer, no outbox row. The papers the withdrawal and the agency's stop issue reach
the outbox as their forms, with the number and name of the dossier's rule set (Circular 01/2018 under
``nd61-2018``, Circular 03/2025 under ``nd118-2025``; ``None`` where the circular has no form), unchanged by the
round trip through the store.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Final

import pytest

import motcua
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.model import JsonValue, OutboxItem
from tests.conftest import START

MARITAL: Final = "1.004873"
OFFICER: Final = motcua.Actor.of("Nguyễn Thị Lan", "officer")
SPECIALIST: Final = motcua.Actor.of("Phạm Văn Hùng", "specialist")
LEADER: Final = motcua.Actor.of("Lê Minh Tuấn", "leader")
APPLICANT: Final = motcua.Actor.of("Trần Văn An", "applicant")
DECREE_118: Final = datetime(2025, 7, 7, 8, 0, tzinfo=VN_TZ)  # a Monday under nd118-2025; START is under nd61-2018
REQUEST: Final = "Văn bản đề nghị rút hồ sơ của tổ chức, cá nhân"
ON_REQUEST: Final = "Thông báo dừng giải quyết hồ sơ theo đề nghị của tổ chức, cá nhân"
AGENCY_STOP: Final = "Văn bản của cơ quan có thẩm quyền về việc dừng giải quyết hồ sơ"
PAPERS: Final[dict[str, list[tuple[JsonValue, ...]]]] = {  # withdrawal request, withdrawal notice, agency stop
    "nd61-2018": [("withdrawal_request", None, REQUEST, True),
                  ("withdrawal_notice", None, ON_REQUEST, False),
                  ("stop_notice", None, AGENCY_STOP, False)],
    "nd118-2025": [("withdrawal_request", None, REQUEST, True),
                   ("withdrawal_notice", "05", "Thông báo dừng giải quyết hồ sơ", False),
                   ("stop_notice", None, AGENCY_STOP, False)],
}


def _shop(url: str, at: datetime) -> Iterator[motcua.OneStop]:
    """A shop on ``url`` (every backend: the ``url`` fixture of tests/contract/conftest.py) whose clock reads ``at``."""
    with motcua.connect(url, clock=ManualClock(at)) as opened:
        yield opened


@pytest.fixture
def shop(url: str) -> Iterator[motcua.OneStop]:
    yield from _shop(url, DECREE_118)


@pytest.fixture(params=[START, DECREE_118], ids=["nd61-2018", "nd118-2025"])
def any_shop(url: str, request: pytest.FixtureRequest) -> Iterator[motcua.OneStop]:
    yield from _shop(url, request.param)


def _processing(shop: motcua.OneStop) -> motcua.Case:
    case = shop.receive(MARITAL, motcua.Applicant("Trần Văn An"), OFFICER)
    return shop.fire(case.code, "assign", OFFICER, {"assignee": SPECIALIST.name})


def _approved(shop: motcua.OneStop) -> motcua.Case:
    case = shop.fire(_processing(shop).code, "submit_for_approval", SPECIALIST, {"approver": LEADER.name})
    return shop.fire(case.code, "approve", LEADER, {"decision_number": "12/QĐ-UBND"})


def _outbox(shop: motcua.OneStop) -> list[OutboxItem]:
    """Every pending outbox row, claimed now without a token (the store's own view of the rows)."""
    later = START + timedelta(days=3650)
    return shop.parts.store.claim_effects(later, 1000, timedelta(minutes=5))


def _paper(item: OutboxItem) -> tuple[JsonValue, ...]:
    payload = item.payload
    return (payload["form"], payload["number"], payload["name"], payload["received"])


def test_a_withdrawal_refused_after_the_decision_writes_nothing(shop: motcua.OneStop) -> None:
    case = _approved(shop)
    store = shop.parts.store
    later = DECREE_118 + timedelta(days=365)
    before = (store.load(case.code), list(store.history(case.code)), list(store.effects(case.code)),
              list(store.timers(case.code)), store.armed_count(later), store.backlog())

    with pytest.raises(motcua.RuleRefused) as refused:
        shop.fire(case.code, "request_withdrawal", APPLICANT, {"reason": "Không còn nhu cầu"})

    assert refused.value.rule == "withdrawal_before_decision"
    assert refused.value.source.startswith("Nghị định 118/2025/NĐ-CP, Điều 21; Thông tư 03/2025/TT-VPCP")
    after = (store.load(case.code), list(store.history(case.code)), list(store.effects(case.code)),
             list(store.timers(case.code)), store.armed_count(later), store.backlog())
    assert after == before
    assert shop.case(case.code).state["lifecycle"] == "approved"


def test_the_withdrawal_and_the_stop_reach_the_outbox_with_their_rule_set_forms(any_shop: motcua.OneStop) -> None:
    withdrawn, stopped = _processing(any_shop), _processing(any_shop)
    rule_set = withdrawn.rule_set
    _outbox(any_shop)  # the receipts, claimed out of the way

    any_shop.fire(withdrawn.code, "request_withdrawal", OFFICER, {"reason": "Công dân xin rút"})
    any_shop.fire(withdrawn.code, "confirm_withdrawal", OFFICER, {})
    any_shop.fire(stopped.code, "stop", LEADER, {"reason": "Hồ sơ giả mạo"})

    rows = [item for item in _outbox(any_shop) if item.kind == "form"]
    request, notice, stop = PAPERS[rule_set]
    assert [(item.case_code, _paper(item)) for item in rows] == [
        (withdrawn.code, request), (withdrawn.code, notice), (stopped.code, stop)]
    store = any_shop.parts.store
    effects = [e.payload for code in (withdrawn.code, stopped.code) for e in store.effects(code) if e.kind == "form"]
    assert [(p["form"], p["number"]) for p in effects if p["form"] != "receipt"] == [
        (form, number) for form, number, _, _ in PAPERS[rule_set]]
    assert {p["dossier"] for p in effects} == {withdrawn.code, stopped.code}
