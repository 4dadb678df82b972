"""The Decision 766 online-payment indicator from the catalogue's fee schedule (issue 16, point 1), on the memory
projection, SQLite and PostgreSQL.

Shipped procedures, one of each kind a desk meets: a per-case fee paid online (chứng thực chữ ký, 10.000 đ), a
per-case fee paid at the desk (chứng thực di chúc, 50.000 đ), a fee the law waives (khai sinh: exempt) and a fee the
provincial council sets whose amount the catalogue does not know (nhận cha, mẹ, con), paid online all the same.
The unknown one counts in neither side of the indicator and is counted apart (``fee_unknown``); every backend
records the fact and counts as the core's reference does.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.reports.par766 import FEE_UNKNOWN, indicator_counts, scorecard
from tests.contract.conftest import BACKENDS, _database
from tests.contract.test_reports_contract import Office, at, folded_facts

SIGNATURE, WILL, BIRTH, COUNCIL = "2.000884", "2.001019", "1.001193", "1.001022"
MONTH = (date(2026, 3, 1), date(2026, 3, 31))


@pytest.fixture(params=BACKENDS)
def app(request: pytest.FixtureRequest) -> Iterator[tuple[Motcua, ManualClock]]:
    clock = ManualClock(at(date(2026, 3, 2), 7))
    if request.param == "memory":
        opened = open_motcua("memory://", clock=clock, observers=[])
        yield opened, clock
        opened.close()
        return
    with _database(request.param, request) as url:
        opened = open_motcua(url, clock=clock, observers=[])
        try:
            yield opened, clock
        finally:
            opened.close()


def paid(office: Office, procedure: str, *, online: bool) -> str:
    code = office.receive(procedure)
    office.fire(code, "assign")
    office.fire(code, "request_payment")
    office.fire(code, "payment_received", online=online)
    return code


def test_the_payment_indicator_leaves_unknown_fees_out(app: tuple[Motcua, ManualClock]) -> None:
    motcua, clock = app
    office = Office(motcua, clock).at(date(2026, 3, 2))
    codes = {
        "signature": paid(office, SIGNATURE, online=True), "will": paid(office, WILL, online=False),
        "birth": office.receive(BIRTH), "council": paid(office, COUNCIL, online=True),
    }
    motcua.reports.catch_up()
    known = {name: motcua.reports.facts(code).fee_known for name, code in codes.items()}  # type: ignore[union-attr]
    assert known == {"signature": True, "will": True, "birth": True, "council": False}

    counts = motcua.reports.indicator_counts(*MONTH)
    assert counts == indicator_counts(folded_facts(motcua), *MONTH)
    assert (counts.received, counts.with_fee, counts.paid_online, counts.fee_unknown) == (4, 2, 1, 1)
    card = scorecard(counts, motcua.rules.in_force(MONTH[1]), *MONTH)
    payment = next(indicator for indicator in card.indicators if indicator.key == "payment")
    assert (payment.numerator, payment.denominator, payment.value) == (1, 2, 50.0)
    assert FEE_UNKNOWN.format(count=1) in card.notes
