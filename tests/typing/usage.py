"""The public surface as a host uses it, with the types a host relies on written out.

``mypy --strict tests/typing/usage.py`` (run by ``make typecheck``) fails if a name leaves
``motcua.__all__`` or a signature changes under a host's feet; ``tests/typing/test_usage.py`` runs
it, so the annotations are also true at run time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

import motcua


class CountingObserver:
    """An observer of a host's own: counts decisions and refusals."""

    def __init__(self) -> None:
        self.committed_codes: list[str] = []
        self.refusals: list[type[Exception]] = []

    def committed(self, decision: motcua.Decision) -> None:
        case: motcua.Case = decision.case
        entry: motcua.AuditEntry = decision.entry
        self.committed_codes.append(f"{case.code}#{entry.sequence}")

    def rejected(self, code: str, trigger: str, error: Exception) -> None:
        self.refusals.append(type(error))


def run(url: str = "memory://") -> CountingObserver:
    clock: motcua.Clock = motcua.ManualClock(datetime(2024, 3, 4, 8, 0, tzinfo=motcua.VN_TZ))
    observer = CountingObserver()
    observers: Sequence[motcua.Observer] = [observer]
    officer: motcua.Actor = motcua.Actor.of("Nguyễn Thị Lan", "officer")
    applicant: motcua.Applicant = motcua.Applicant("Trần Văn An", phone="0912345678")
    with motcua.connect(url, clock=clock, agency="000.00.00.H23", observers=observers) as shop:
        shop_type: motcua.OneStop = shop
        procedures: Sequence[motcua.Procedure] = shop_type.procedures()
        channel: motcua.Channel = "postal"
        received: motcua.Case = shop.receive(procedures[0].code, applicant, officer, channel=channel, summary="…")
        online: motcua.Case = shop.submit("1.001193", applicant, motcua.Actor.of("Trần Văn An", "applicant"))
        moved: motcua.Case = shop.fire(received.code, "assign", officer, {"assignee": "Phạm Văn Hùng"},
                                       expected_version=received.version)
        again: motcua.Case = shop.case(moved.code)
        entries: Sequence[motcua.AuditEntry] = shop.history(again.code)
        status: int | None = shop.status_code(again)
        assert status == 4 and len(entries) == 3 and online.state["lifecycle"] == "submitted"
        _refusals(shop, again, officer)
        _queries(shop, again, online)
        _reports(shop)
    _scopes(url, clock, officer, applicant)
    return observer


def _refusals(shop: motcua.OneStop, case: motcua.Case, officer: motcua.Actor) -> None:
    refused: list[motcua.MotcuaError] = []
    for trigger, data, version in (("return_result", {}, None), ("assign", {}, None),
                                   ("assign", {"assignee": "Lê Thị Thu"}, case.version - 1)):
        try:
            shop.fire(case.code, trigger, officer, data, expected_version=version)
        except (motcua.TransitionNotAllowed, motcua.MalformedData, motcua.ConcurrencyConflict) as error:
            refused.append(error)
    assert [type(e) for e in refused] == [motcua.TransitionNotAllowed, motcua.MalformedData,
                                          motcua.ConcurrencyConflict]
    try:
        shop.case("no-such-code")
    except motcua.CaseNotFound as error:
        refused.append(error)
    assert isinstance(refused[-1], motcua.CaseNotFound)


def _queries(shop: motcua.OneStop, assigned: motcua.Case, online: motcua.Case) -> None:
    where = motcua.CaseFilter(definition_key="tthc-dossier", lifecycle="processing", officer="Phạm Văn Hùng",
                              due_before=datetime(2025, 1, 1, tzinfo=motcua.VN_TZ), ended=False)
    page: motcua.Page = shop.find(where, limit=10)
    items: tuple[motcua.Case, ...] = page.items
    cursor: str | None = page.next_cursor
    assert [case.code for case in items] == [assigned.code] and cursor is None
    assert shop.overdue().items == ()
    assert [case.code for case in shop.due_soon(timedelta(days=10)).items] == [assigned.code]
    assert [case.code for case in shop.in_state("submitted").items] == [online.code]
    assert [case.code for case in shop.assigned_to("Phạm Văn Hùng", limit=5).items] == [assigned.code]


def _reports(shop: motcua.OneStop) -> None:
    report: motcua.Bieu06 = shop.bieu06(date(2024, 1, 1), date(2024, 3, 31))
    rows: Sequence[motcua.Bieu06Row] = report.rows
    card: motcua.Scorecard = shop.par766(date(2024, 1, 1), date(2024, 3, 31))
    indicators: Sequence[motcua.Indicator] = card.indicators
    assert report.total.total == 1 and rows and indicators  # the online one is not received yet



def _scopes(url: str, clock: motcua.Clock, officer: motcua.Actor, applicant: motcua.Applicant) -> None:
    """A handle scoped to its home unit, and another scope on the same shop."""
    with motcua.connect(url, unit="LOCAL-HD-AN-THUONG", clock=clock, observers=[]) as shop:
        scope: motcua.Scope = shop.scope
        received: motcua.Case = shop.receive("1.001193", applicant, officer, deciding_unit="LOCAL-HD-CAM-THUONG")
        elsewhere: motcua.OneStop = shop.scoped(motcua.Scope.of_units(["LOCAL-HD-BINH-HAN"]))
        refused: list[motcua.MotcuaError] = []
        try:
            elsewhere.case(received.code)
        except motcua.CaseNotFound as error:
            refused.append(error)
        try:
            elsewhere.receive("1.001193", applicant, officer, unit="LOCAL-HD-AN-THUONG")
        except motcua.OutsideScope as error:
            refused.append(error)
        report: motcua.Bieu06 = shop.bieu06(date(2024, 1, 1), date(2024, 3, 31), unit="LOCAL-HD-AN-THUONG")
        everything: motcua.OneStop = shop.scoped(motcua.EVERYTHING)
        assert scope.units == frozenset({"LOCAL-HD-AN-THUONG"}) and everything.case(received.code) == received
        assert [type(error) for error in refused] == [motcua.CaseNotFound, motcua.OutsideScope]
        assert report.total.total == 0  # counted under the deciding unit, Cẩm Thượng


if __name__ == "__main__":
    run()
