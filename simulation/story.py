"""A short end-to-end story on the embedded default: six weeks at a commune's one-stop desk.

One dossier a week arrives, through all three channels; one is refused at reception, one waits for a
supplement (its appointment moves by the paused working time), one waits for a fee, one is
withdrawn, and results are returned. Time is a manual clock moved in office time, so the story
runs in a blink and tells the same thing every time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from motcua.adapters.bootstrap import Motcua
from motcua.workflow.dossiers.catalogue import Channel
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.model import Actor, Case

__all__ = ["DEMO_START", "DemoCast", "run_story"]

DEMO_START = datetime(2024, 3, 4, 7, 30, tzinfo=VN_TZ)  # Monday morning


@dataclass(frozen=True)
class DemoCast:
    officer: Actor = field(default_factory=lambda: Actor.of("Nguyễn Thị Lan", "officer"))
    specialist: Actor = field(default_factory=lambda: Actor.of("Phạm Văn Hùng", "specialist"))
    leader: Actor = field(default_factory=lambda: Actor.of("Lê Minh Tuấn", "leader"))
    applicant: Actor = field(default_factory=lambda: Actor.of("Công dân", "applicant"))


class _Story:
    def __init__(self, app: Motcua, clock: ManualClock, cast: DemoCast) -> None:
        self.app, self.clock, self.cast = app, clock, cast
        self.service = app.service
        self.week = 0

    def at(self, day: int, hour: int, minute: int = 0) -> None:
        """Move the clock to ``day`` (0 = Monday) of the current week, at the given time."""
        start = DEMO_START.replace(hour=hour, minute=minute) + timedelta(weeks=self.week, days=day)
        self.clock.set(start)

    def fire(self, case: Case, trigger: str, actor: Actor, **data: object) -> Case:
        return self.service.fire(case.code, trigger, actor, data)

    def receive(self, procedure: str, channel: Channel, name: str, summary: str, *, complete: bool = True) -> Case:
        """Online dossiers wait to be received; at the counter a complete dossier is received at once."""
        applicant = Applicant(name, phone="0912345678")
        if channel == "online":
            return self.app.desk.submit(procedure, channel, applicant, self.cast.applicant, summary=summary)
        if not complete:
            return self.app.desk.submit(procedure, channel, applicant, self.cast.officer, summary=summary)
        return self.app.desk.receive(procedure, channel, applicant, self.cast.officer, summary=summary)

    def decide(self, case: Case, electronic: bool = True) -> Case:
        """Specialist drafts, leader approves, the result comes back to the desk."""
        case = self.fire(case, "submit_for_approval", self.cast.specialist, approver=self.cast.leader.name,
                         electronic=electronic)
        case = self.fire(case, "approve", self.cast.leader)
        return self.fire(case, "mark_result_ready", self.cast.specialist, electronic=electronic)


def _birth(story: _Story) -> Case:
    c = story.cast
    story.at(0, 8, 5)
    case = story.receive("1.001193", "direct", "Trần Văn An", "Đăng ký khai sinh cho con Trần Bảo Ngọc")
    case = story.fire(case, "digitize", c.officer, components=3)
    story.at(0, 9, 30)
    case = story.fire(case, "assign", c.officer, assignee=c.specialist.name, electronic=True)
    story.at(0, 14, 0)
    case = story.decide(case)
    case = story.fire(case, "issue_electronic_result", c.specialist)
    story.at(0, 16, 0)
    case = story.fire(case, "return_result", c.officer, receiver="Trần Văn An")
    return story.fire(case, "rate", c.applicant, rating=5, comment="Nhanh, chu đáo")


def _marital_status(story: _Story) -> Case:
    c = story.cast
    story.at(0, 10, 15)
    case = story.receive("1.004873", "online", "Đỗ Thị Hoa", "Xác nhận tình trạng hôn nhân để đăng ký kết hôn")
    story.at(0, 13, 45)
    case = story.fire(case, "receive", c.officer)
    case = story.fire(case, "assign", c.officer, assignee=c.specialist.name, electronic=True)
    story.at(1, 9, 0)
    case = story.fire(case, "request_supplement", c.specialist, reason="Bổ sung bản sao giấy chứng tử của vợ cũ")
    story.at(3, 9, 0)  # two working days later the applicant brings it
    case = story.fire(case, "supplement_received", c.officer)
    story.at(4, 10, 0)
    case = story.decide(case)
    story.at(4, 15, 0)
    return story.fire(case, "return_result", c.officer)


def _refused(story: _Story) -> Case:
    story.at(1, 8, 20)
    case = story.receive("2.001019", "postal", "Vũ Văn Bình", "Chứng thực di chúc", complete=False)
    reason = "Người lập di chúc không có mặt để ký trước người thực hiện chứng thực"
    return story.fire(case, "refuse", story.cast.officer, reason=reason)


def _online_refusal(story: _Story) -> Case:
    story.at(1, 9, 40)
    case = story.receive("1.000894", "online", "Ngô Thị Mai", "Đăng ký kết hôn")
    return story.fire(case, "refuse", story.cast.officer, reason="Hồ sơ thuộc thẩm quyền UBND xã khác")


def _with_fee(story: _Story) -> Case:
    c = story.cast
    story.at(1, 14, 10)
    case = story.receive("2.001019", "direct", "Hoàng Văn Cường", "Chứng thực di chúc")
    case = story.fire(case, "assign", c.officer, assignee=c.specialist.name, electronic=False)
    case = story.fire(case, "request_payment", c.specialist, amount=50000, reason="Lệ phí chứng thực di chúc")
    story.at(2, 8, 30)
    case = story.fire(case, "payment_received", c.officer, online=True)
    case = story.decide(case, electronic=False)
    story.at(2, 16, 30)
    return story.fire(case, "return_result", c.officer)


def _withdrawn(story: _Story) -> Case:
    c = story.cast
    story.at(2, 9, 0)
    case = story.receive("1.001731", "direct", "Bùi Thị Lý", "Hỗ trợ chi phí mai táng")
    case = story.fire(case, "assign", c.officer, assignee=c.specialist.name, electronic=True)
    story.at(3, 10, 0)
    appointment = datetime.fromisoformat(str(case.attributes["appointment"]))
    new_date = (appointment + timedelta(days=2)).date().isoformat()  # a new date after the appointment it misses
    case = story.fire(case, "apologize", c.leader, reason="Chờ xác minh hồ sơ đối tượng bảo trợ",
                      new_date=new_date)
    story.at(3, 15, 0)
    case = story.fire(case, "request_withdrawal", c.applicant, reason="Gia đình đã làm thủ tục tại nơi cư trú")
    return story.fire(case, "confirm_withdrawal", c.officer)


STORY: tuple[Callable[[_Story], Case], ...] = (
    _birth, _marital_status, _refused, _online_refusal, _with_fee, _withdrawn,
)


def run_story(app: Motcua, clock: ManualClock, cast: DemoCast | None = None) -> list[Case]:
    story = _Story(app, clock, cast or DemoCast())
    cases = []
    for week, chapter in enumerate(STORY):
        story.week = week
        cases.append(chapter(story))
    return cases
