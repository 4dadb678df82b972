"""The counts of citizens' feedback (``pakn`` cases) over a period: the Decision 766 feedback indicators and the
reform plan's feedback rows read them.

Period semantics are Biểu 06's (docs/explanation/one-stop-shop.md): a piece of feedback is *received* in the period
when the date of its reception falls in it; *to handle* when it is within the unit's competence (not declined), was
received by the period's end and was not answered before its start; *answered on time* when answered in the period
by the date of its deadline (as extended), *late* when after it — calendar dates in Asia/Ho_Chi_Minh, as Biểu 06
compares them (:func:`~motcua.workflow.worktime.hours.classify`); *pending* when not answered by the period's end,
*overdue* then when its deadline's date is before the period's end. A piece of feedback is counted under the unit
that holds it (its ``unit``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime

from motcua.workflow.engine.clock import instant, to_vietnam_time
from motcua.workflow.engine.model import Case
from motcua.workflow.engine.ports import CaseQueries
from motcua.workflow.engine.queries import MAX_PAGE, CaseFilter
from motcua.workflow.feedback.actions import FEEDBACK_WORKFLOW
from motcua.workflow.reports.par766 import FeedbackCounts
from motcua.workflow.worktime.hours import Timeliness, classify

__all__ = ["FEEDBACK_ROWS", "FeedbackFacts", "feedback_cases", "feedback_counts", "feedback_facts", "feedback_rows"]

FEEDBACK_ROWS: tuple[tuple[str, str], ...] = (
    ("received", "Phản ánh, kiến nghị tiếp nhận trong kỳ"),
    ("answered_on_time", "Đã trả lời đúng hạn"),
    ("answered_late", "Đã trả lời quá hạn"),
    ("pending_within", "Đang xử lý, còn hạn"),
    ("pending_overdue", "Đang xử lý, quá hạn"),
)
"""The reform plan report's rows on feedback: each a count of :class:`FeedbackCounts` and its label."""


@dataclass(frozen=True, slots=True)
class FeedbackFacts:
    """One ``pakn`` case as the counts need it."""

    code: str
    unit: str | None
    received_at: datetime
    due_at: datetime
    lifecycle: str
    ended_at: datetime | None = None
    dossier: str | None = None
    satisfied: bool | None = None

    @property
    def declined(self) -> bool:
        return self.lifecycle == "declined"

    @property
    def answered(self) -> bool:
        return self.lifecycle == "answered"


def _moment(value: object) -> datetime | None:
    return instant(value) if isinstance(value, str) else None


def feedback_facts(case: Case) -> FeedbackFacts:
    attributes = case.attributes
    received = _moment(attributes.get("received_at")) or case.opened_at
    unit, dossier, satisfied = attributes.get("unit"), attributes.get("dossier"), attributes.get("satisfied")
    return FeedbackFacts(
        code=case.code, unit=unit if isinstance(unit, str) else None, received_at=received,
        due_at=_moment(attributes.get("answer_due_at")) or received, lifecycle=case.state.get("lifecycle", ""),
        ended_at=_moment(attributes.get("ended_at")), dossier=dossier if isinstance(dossier, str) else None,
        satisfied=satisfied if isinstance(satisfied, bool) else None,
    )


def feedback_cases(queries: CaseQueries, units: frozenset[str] | None = None) -> Iterator[Case]:
    """Every ``pakn`` case of ``units`` (``None``: every unit), page by page."""
    where = CaseFilter(FEEDBACK_WORKFLOW, units=units)
    after: str | None = None
    while True:
        page = queries.find(where, after=after, limit=MAX_PAGE)
        yield from page.items
        if page.next_cursor is None:
            return
        after = page.next_cursor


def _day(moment: datetime) -> date:
    return to_vietnam_time(moment).date()


def feedback_counts(
    cases: Iterable[Case], start: date, end: date, *, units: frozenset[str] | None = None,
) -> FeedbackCounts:
    """The feedback counts of [start, end] over ``cases`` (other workflows' cases are skipped), of ``units``."""
    totals = dict.fromkeys(("received", "to_handle", "answered_on_time", "answered_late", "pending_within",
                            "pending_overdue", "unsatisfied"), 0)
    dossiers: set[str] = set()
    for case in cases:
        if case.definition_key != FEEDBACK_WORKFLOW:
            continue
        item = feedback_facts(case)
        if units is not None and item.unit not in units:
            continue
        received = _day(item.received_at)
        if start <= received <= end:
            totals["received"] += 1
            if item.dossier is not None and not item.declined:
                dossiers.add(item.dossier)
        ended = _day(item.ended_at) if item.ended_at is not None else None
        if item.declined or received > end or (ended is not None and ended < start):
            continue
        totals["to_handle"] += 1
        if item.answered and item.ended_at is not None and _day(item.ended_at) <= end:
            late = classify(item.ended_at, item.due_at) is Timeliness.LATE
            totals["answered_late" if late else "answered_on_time"] += 1
            totals["unsatisfied"] += int(item.satisfied is False)
        else:
            totals["pending_overdue" if _day(item.due_at) < end else "pending_within"] += 1
    return FeedbackCounts(**totals, on_dossiers=len(dossiers), concerned=frozenset(dossiers))


def feedback_rows(counts: FeedbackCounts) -> tuple[tuple[str, str, int], ...]:
    """The plan report's feedback rows (key, label, count), in :data:`FEEDBACK_ROWS` order."""
    return tuple((key, label, int(getattr(counts, key))) for key, label in FEEDBACK_ROWS)
