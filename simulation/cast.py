"""The commune's people: who receives, who handles which field, who signs, and when each is away.

Pure and seeded. Capacity is sized from the expected workload (so the pressure is the same at any
``--dossiers``): the specialists of a field share its expected daily minutes at :data:`UTILISATION`, so
absences and the summer peak push the queue past the day and some dossiers run late — as in life.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from motcua.workflow.engine.model import Actor

__all__ = ["UTILISATION", "Cast", "Staff", "draw_cast"]

UTILISATION = 0.88  # expected busy share of a specialist's dossier time on an ordinary day
MIN_DAILY_MINUTES = 45  # a specialist always has at least this much time for dossiers on a working day
ANNUAL_LEAVE_DAYS = 12
# The specialists of a commune (công chức chuyên môn) and the fields they handle.
SPECIALISTS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("Phạm Văn Hùng", ("CT", "HT", "HGCS"), "Công chức Tư pháp - Hộ tịch"),
    ("Đỗ Thị Thu Hằng", ("CT", "HT", "HGCS"), "Công chức Tư pháp - Hộ tịch"),
    ("Vũ Đức Mạnh", ("DD",), "Công chức Địa chính - Xây dựng"),
    ("Lương Thị Nga", ("BTXH",), "Công chức Văn hóa - Xã hội"),
)
DESK = (("Nguyễn Thị Lan", "Công chức Bộ phận Một cửa"), ("Trần Thu Hà", "Công chức Bộ phận Một cửa"))
LEADERS = (("Nguyễn Văn Hiệu", "Chủ tịch UBND xã"), ("Bùi Quang Thắng", "Phó Chủ tịch UBND xã"))


@dataclass
class Staff:
    actor: Actor
    title: str
    fields: tuple[str, ...] = ()
    daily_minutes: int = 0
    absent: frozenset[date] = frozenset()

    def present(self, day: date) -> bool:
        return day not in self.absent


@dataclass
class Cast:
    desk: list[Staff]
    specialists: list[Staff]
    leaders: list[Staff]
    applicant: Actor = field(default_factory=lambda: Actor.of("Công dân", "applicant"))

    def handlers_of(self, field_code: str) -> list[Staff]:
        return [person for person in self.specialists if field_code in person.fields]

    def clerk(self, day: date) -> Staff:
        present = [person for person in self.desk if person.present(day)]
        return (present or self.desk)[0]  # the desk is never closed: a colleague stands in

    def signer(self, day: date) -> Staff | None:
        return next((person for person in self.leaders if person.present(day)), None)

    def absence_days(self) -> int:
        return sum(len(person.absent) for person in (*self.desk, *self.specialists, *self.leaders))


def _absences(rng: random.Random, days: Sequence[date]) -> frozenset[date]:
    """Annual leave in one or two blocks (often around Tết or in summer), a few sick and training days."""
    chosen: set[date] = set()
    blocks = rng.choice(((ANNUAL_LEAVE_DAYS,), (7, ANNUAL_LEAVE_DAYS - 7)))
    for length in blocks:
        start = rng.randrange(0, max(1, len(days) - length))
        chosen.update(days[start:start + length])
    for _ in range(rng.randint(3, 7)):  # sick days, training courses, meetings in the city
        chosen.add(rng.choice(days))
    return frozenset(chosen)


def draw_cast(rng: random.Random, days: Sequence[date], minutes_per_field: Mapping[str, float]) -> Cast:
    """The cast of the year; ``minutes_per_field`` is the expected work per working day of each field."""
    desk = [Staff(Actor.of(name, "officer"), title, absent=_absences(rng, days)) for name, title in DESK]
    specialists = []
    for name, fields, title in SPECIALISTS:
        share = sum(minutes_per_field.get(code, 0.0) / _sharing(code) for code in fields)
        minutes = max(MIN_DAILY_MINUTES, round(share / UTILISATION))
        specialists.append(Staff(Actor.of(name, "specialist"), title, fields, minutes, _absences(rng, days)))
    leaders = [Staff(Actor.of(name, "leader"), title, absent=_absences(rng, days)) for name, title in LEADERS]
    return Cast(desk, specialists, leaders)


def _sharing(field_code: str) -> int:
    return max(1, sum(field_code in fields for _, fields, _ in SPECIALISTS))
