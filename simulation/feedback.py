"""Citizens' feedback through the year: some dozens of ``pakn`` cases received at the desk or online, classified and
assigned, answered (most on time, some late, a few declined), published unless private, rated by their senders;
about a third concern a dossier of the year. Their timers (classification, warning, overdue, escalation) fire
through the same pump as the dossiers'.

What happens to each piece is drawn in advance from its own seeded generator (:func:`feedback_arrivals`), so adding
feedback leaves the dossiers' draws untouched; the instants of the later steps are counted at run time from the
case's own deadlines, in working days on the office's calendar.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial

from motcua.adapters.bootstrap import Motcua
from motcua.simulation.cast import Cast
from motcua.simulation.flow import Agenda, Tally
from motcua.workflow.access.cases import ScopedCases
from motcua.workflow.access.scope import EVERYTHING
from motcua.workflow.dossiers.desk import DOSSIER_WORKFLOW
from motcua.workflow.dossiers.sla import SlaClock
from motcua.workflow.engine.clock import VN_TZ, instant
from motcua.workflow.engine.model import Actor, Case, JsonValue
from motcua.workflow.engine.queries import CaseFilter
from motcua.workflow.feedback.intake import Feedback, FeedbackChannel
from motcua.workflow.worktime.calendar import WorkingCalendar

__all__ = ["FEEDBACK_PER_YEAR", "FeedbackArrival", "FeedbackRun", "feedback_arrivals"]

FEEDBACK_PER_YEAR = 48
LATE_SHARE = 0.15  # answered after the deadline
LATE_CLASSIFICATION_SHARE = 0.1  # classified after the classification deadline
LINKED_SHARE = 0.3  # concern a dossier of the year
PRIVATE_SHARE = 0.1
DECLINED_SHARE = 0.06  # not within the commune's competence: transferred
UNSATISFIED_SHARE = 0.2  # of the rated answers
RATED_SHARE = 0.6
_SUBJECTS = (
    "Thời gian giải quyết hồ sơ kéo dài", "Thành phần hồ sơ niêm yết chưa đầy đủ", "Yêu cầu nộp thêm giấy tờ",
    "Thái độ tiếp công dân", "Phí, lệ phí thu chưa đúng niêm yết", "Quy định về chứng thực chưa rõ",
)
_CHANNELS: tuple[FeedbackChannel, ...] = ("direct", "online", "online", "phone", "postal")
_SENDERS = ("Nguyễn Văn Bình", "Trần Thị Hoa", "Lê Văn Cường", "Phạm Thị Dung", "Hoàng Văn Em", "Đỗ Thị Giang")


@dataclass(frozen=True, slots=True)
class FeedbackArrival:
    """One piece of feedback of the year and what will happen to it."""

    at: datetime
    sender: str
    content: str
    channel: FeedbackChannel
    dossier_pick: float | None  # which of the dossiers received so far it concerns (a share of them), if any
    private: bool
    declined: bool
    late: bool
    late_classification: bool
    satisfied: bool | None  # None: not rated


def feedback_arrivals(days: Sequence[date], rng: random.Random, count: int = FEEDBACK_PER_YEAR) -> list[
        FeedbackArrival]:
    """``count`` pieces of feedback on working days of the year, in time order (none in its first week, so that
    a linked one finds dossiers)."""
    arrivals = []
    window = list(days[5:]) or list(days)
    for _ in range(count):
        day = rng.choice(window)
        at = datetime.combine(day, time(rng.randint(8, 15), rng.choice((5, 20, 35, 50))), tzinfo=VN_TZ)
        rated = rng.random() < RATED_SHARE
        arrivals.append(FeedbackArrival(
            at=at, sender=rng.choice(_SENDERS), content=rng.choice(_SUBJECTS), channel=rng.choice(_CHANNELS),
            dossier_pick=rng.random() if rng.random() < LINKED_SHARE else None,
            private=rng.random() < PRIVATE_SHARE, declined=rng.random() < DECLINED_SHARE,
            late=rng.random() < LATE_SHARE, late_classification=rng.random() < LATE_CLASSIFICATION_SHARE,
            satisfied=(rng.random() >= UNSATISFIED_SHARE) if rated else None,
        ))
    return sorted(arrivals, key=lambda arrival: arrival.at)


class FeedbackRun:
    """Receives each piece at its instant, then schedules its next steps on ``agenda``; ``unit``: where it is
    received (default: the home unit), on ``calendar`` (default: the home unit's), by ``cast``'s officers."""

    def __init__(self, app: Motcua, agenda: Agenda, cast: Cast, tally: Tally, *, unit: str | None = None,
                 calendar: WorkingCalendar | None = None) -> None:
        self.app, self.agenda, self.tally, self.unit = app, agenda, tally, unit
        self.cases = ScopedCases(app.service, app.store, app.desk, EVERYTHING)
        self.clock = SlaClock(calendar or app.calendar)
        self.officer = cast.desk[0].actor
        self.specialist = cast.specialists[0].actor if cast.specialists else Actor.of("Công chức", "specialist")
        self.leader = cast.leaders[0].actor if cast.leaders else Actor.of("Lãnh đạo UBND xã", "leader")
        self.sender = cast.applicant

    def schedule(self, arrivals: Sequence[FeedbackArrival]) -> None:
        for arrival in arrivals:
            self.agenda.at(arrival.at, partial(self.arrive, arrival))

    def arrive(self, arrival: FeedbackArrival) -> None:
        feedback = Feedback(arrival.sender, arrival.content, arrival.channel, None, self._dossier(arrival),
                            arrival.private)
        case = self.cases.receive_feedback(feedback, self.officer, unit=self.unit)
        self._count("open")
        classify_by = instant(case.attributes["classify_due_at"])
        assign_at = (self.clock.working_days_from(classify_by, 1) if arrival.late_classification
                     else self.clock.working_days_from(classify_by, -1))
        self.agenda.at(assign_at, partial(self.classify, arrival, case.code))

    def classify(self, arrival: FeedbackArrival, code: str) -> None:
        if arrival.declined:
            self._fire(code, "decline", self.officer,
                       {"reason": "Không thuộc thẩm quyền của UBND xã", "transferred_to": "UBND cấp trên"})
            return
        case = self._fire(code, "assign", self.officer,
                          {"category": "thu_tuc_hanh_chinh", "assignee": self.specialist.name})
        due = instant(case.attributes["answer_due_at"])
        answer_at = (self.clock.working_days_from(due, 3) if arrival.late
                     else self.clock.working_days_from(due, -2))
        self.agenda.at(max(answer_at, case.updated_at + timedelta(minutes=30)), partial(self.answer, arrival, code))

    def answer(self, arrival: FeedbackArrival, code: str) -> None:
        case = self._fire(code, "answer", self.specialist, {"answer": "Đã kiểm tra, chỉ đạo giải quyết",
                                                            "private": arrival.private})
        if case.state["publication"] == "none":
            self.agenda.at(self.clock.working_days_from(case.updated_at, 1), partial(self.publish, code))
        if arrival.satisfied is not None:
            self.agenda.at(self.clock.working_days_from(case.updated_at, 2), partial(self.rate, arrival, code))

    def publish(self, code: str) -> None:
        self._fire(code, "publish", self.officer, {"where": "Cổng thông tin điện tử xã"})

    def rate(self, arrival: FeedbackArrival, code: str) -> None:
        self._fire(code, "rate", self.sender, {"satisfied": bool(arrival.satisfied)})

    def _dossier(self, arrival: FeedbackArrival) -> str | None:
        if arrival.dossier_pick is None:
            return None
        units = frozenset({self.unit}) if self.unit is not None else None
        dossiers = self.app.store.find(CaseFilter(DOSSIER_WORKFLOW, units=units), limit=200).items
        return dossiers[int(arrival.dossier_pick * len(dossiers))].code if dossiers else None

    def _fire(self, code: str, trigger: str, actor: Actor, data: dict[str, JsonValue]) -> Case:
        case = self.app.service.fire(code, trigger, actor, data)
        self._count(trigger)
        return case

    def _count(self, trigger: str) -> None:
        self.tally.transitions += 1
        self.tally.feedback += int(trigger == "open")
