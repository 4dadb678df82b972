"""What arrives at the desk in a year, and what will happen to each dossier: pure, seeded decisions.

Nothing here touches the engine: :func:`draw_workload` turns a seed, a year, a catalogue and a calendar
into a list of :class:`Arrival` — when, which procedure, through which channel, who, and the dossier's
*fate* (refused, supplement, fee, withdrawal, complication, rating, digitisation, electronic result).
The driver (:mod:`motcua.simulation.year`) then plays them through the real engine. The same seed gives
the same list, element for element; the only randomness is the ``random.Random`` passed in.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from motcua.workflow.dossiers.catalogue import Catalogue, Channel, Procedure
from motcua.workflow.engine.clock import VN_TZ
from motcua.workflow.worktime.calendar import WorkingCalendar

__all__ = ["SHARES", "Arrival", "Fate", "draw_workload", "person_name", "working_days"]

# Relative yearly volumes of a commune's procedures (per 1,000 dossiers). Commune reports (Biểu 06 of
# communes published by provinces) show chứng thực at about two thirds of a commune's dossiers — copies
# certified from originals for school, job and bank files dominate — hộ tịch most of the rest (births,
# marital-status certificates, extracts, marriages, deaths), and a handful of land mediations, social
# assistance and grassroots-mediation dossiers. Procedures not in force on a day are skipped.
SHARES: dict[str, int] = {
    # Chứng thực (≈ 64 %)
    "2.000815": 470,  # bản sao từ bản chính: the bulk of the counter's day
    "2.000884": 120,  # chữ ký (giấy ủy quyền, đơn từ)
    "2.000908": 25,   # bản sao từ sổ gốc
    "2.001019": 8,    # di chúc: rare, two working days
    "2.000992": 10,   # chữ ký người dịch (commune level only from 07/2025)
    # Hộ tịch (≈ 31 %)
    "1.001193": 85,   # khai sinh
    "1.004873": 75,   # xác nhận tình trạng hôn nhân
    "2.000635": 55,   # bản sao trích lục hộ tịch
    "1.000894": 30,   # kết hôn
    "1.000656": 25,   # khai tử
    "1.004859": 12,   # thay đổi, cải chính hộ tịch
    "1.004884": 4, "1.001022": 3, "1.000689": 3, "1.004837": 2, "1.004845": 1,
    "1.004746": 1, "1.005461": 1, "1.003583": 1, "1.000419": 1,
    # Đất đai, bảo trợ xã hội, hòa giải ở cơ sở (≈ 5 %)
    "1.012812": 12,   # hòa giải tranh chấp đất đai
    "1.001776": 14, "1.001731": 8, "1.014027": 8, "1.014028": 4,
    "1.002211": 2,
}
# Seasonal factor of arrivals per month: the rush before Tết (January), the Tết break (February), school
# enrolment and job files in summer (copies certified by the hundred).
MONTH_FACTOR = (1.15, 0.75, 1.0, 0.95, 1.0, 1.2, 1.3, 1.25, 1.05, 0.95, 0.95, 1.05)
# Channel shares by online level of the procedure (2023: most commune dossiers still come to the counter).
CHANNELS: dict[str, tuple[tuple[Channel, float], ...]] = {
    "toan_trinh": (("online", 0.42), ("direct", 0.55), ("postal", 0.03)),
    "mot_phan": (("online", 0.12), ("direct", 0.84), ("postal", 0.04)),
    "truc_tiep": (("direct", 0.96), ("postal", 0.04)),
}
# Working minutes a specialist spends on one dossier, by field (a land mediation takes a session).
EFFORT_MINUTES = {"CT": 9, "HT": 30, "DD": 180, "BTXH": 90, "HGCS": 60}
E_RESULT_SHARE = {"HT": 0.55, "BTXH": 0.3, "CT": 0.08, "DD": 0.0, "HGCS": 0.0}

# Probabilities of each dossier's fate (per dossier unless said otherwise).
MALE_SHARE = 0.5
MORNING_SHARE = 0.62  # counter dossiers arriving in the morning
RATED_SHARE = 0.35  # applicants who rate the service
REFUSED_ONLINE, REFUSED_COUNTER = 0.04, 0.012
COMPLICATION_MULTI_DAY, COMPLICATION_SAME_DAY = 0.05, 0.004  # verification with another agency
DIGITISED_AT_START, DIGITISED_GAIN = 0.55, 0.35  # digitisation at reception, January → December
SUPPLEMENT_SHARE = 0.07  # of multi-day dossiers
PAID_ONLINE, PAID_ONLINE_AT_COUNTER = 0.8, 0.15
WITHDRAWN_SHARE = 0.015  # of multi-day dossiers
APOLOGY_HABITS = (("in_time", 0.6), ("late", 0.25), ("none", 0.15))  # what happens when one runs late

FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Phan", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương",
          "Lý", "Đinh", "Mạc", "Lương", "Trịnh", "Đào", "Cao")
MIDDLE_MALE = ("Văn", "Đức", "Minh", "Quang", "Hữu", "Công", "Xuân", "Thanh")
MIDDLE_FEMALE = ("Thị", "Thu", "Ngọc", "Thanh", "Minh", "Kim", "Phương", "Hồng")
GIVEN_MALE = ("An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khánh", "Long", "Nam", "Phong", "Quân", "Sơn",
              "Thắng", "Toàn", "Trung", "Tuấn", "Việt", "Vinh")
GIVEN_FEMALE = ("Anh", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Mai", "Ngân",
                "Nhung", "Oanh", "Phượng", "Thảo", "Trang", "Yến")


@dataclass(frozen=True, slots=True)
class Fate:
    """What will happen to one dossier, decided when it is drawn."""

    refused: bool = False  # refused at reception (Phiếu từ chối)
    digitize: bool = False  # paper components digitised at reception
    supplement_days: int | None = None  # a supplement is requested; the applicant brings it after N working days
    fee: int = 0  # a fee to pay (the clock waits)
    pay_online: bool = False
    withdraw: bool = False  # the applicant withdraws while it is being handled
    complication_days: int = 0  # verification with another agency: working days of waiting
    apology: str = "none"  # for a dossier that runs late: "in_time", "late" or "none"
    electronic_result: bool = False
    rating: int | None = None
    effort_minutes: int = 30


@dataclass(frozen=True, slots=True)
class Arrival:
    number: int
    at: datetime
    procedure: Procedure
    channel: Channel
    applicant: str
    fate: Fate


def working_days(calendar: WorkingCalendar, year: int) -> list[date]:
    day, days = date(year, 1, 1), []
    while day.year == year:
        if calendar.is_working_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def person_name(rng: random.Random) -> str:
    if rng.random() < MALE_SHARE:
        return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE_MALE)} {rng.choice(GIVEN_MALE)}"
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE_FEMALE)} {rng.choice(GIVEN_FEMALE)}"


def _channel(rng: random.Random, procedure: Procedure) -> Channel:
    shares = CHANNELS[procedure.level]
    return rng.choices([c for c, _ in shares], [w for _, w in shares])[0]


def _clock_time(rng: random.Random, calendar: WorkingCalendar) -> time:
    """A moment of office hours, mornings busier than afternoons."""
    intervals = calendar.hours.intervals
    start, end = intervals[0] if rng.random() < MORNING_SHARE or len(intervals) == 1 else intervals[-1]
    first = start.hour * 60 + start.minute
    last = end.hour * 60 + end.minute - 10
    minute = first + int(rng.triangular(0, last - first, (last - first) * 0.3))
    return time(minute // 60, minute % 60)


def _online_instant(rng: random.Random, day: date) -> datetime:
    """Online dossiers come at any hour, evenings included."""
    minute = int(rng.triangular(6 * 60, 23 * 60, 20 * 60))
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=VN_TZ)


def _rating(rng: random.Random, late: bool) -> int | None:
    if rng.random() > RATED_SHARE:
        return None  # most applicants do not rate
    weights = (2, 3, 5, 30, 60) if not late else (10, 20, 30, 25, 15)
    return rng.choices((1, 2, 3, 4, 5), weights)[0]


def _fate(rng: random.Random, procedure: Procedure, channel: Channel, progress: float) -> Fate:
    field = procedure.field_code
    multi_day = procedure.time_for(channel).amount > 0
    refused = rng.random() < (REFUSED_ONLINE if channel == "online" else REFUSED_COUNTER)
    complication = rng.random() < (COMPLICATION_MULTI_DAY if multi_day else COMPLICATION_SAME_DAY)
    return Fate(
        refused=refused,
        digitize=channel != "online" and rng.random() < DIGITISED_AT_START + DIGITISED_GAIN * progress,
        supplement_days=rng.randint(1, 6) if multi_day and rng.random() < SUPPLEMENT_SHARE else None,
        fee=procedure.fee if multi_day and procedure.fee > 0 else 0,
        pay_online=rng.random() < (PAID_ONLINE if channel == "online" else PAID_ONLINE_AT_COUNTER),
        withdraw=multi_day and rng.random() < WITHDRAWN_SHARE,
        complication_days=rng.randint(2, 8) if complication else 0,
        apology=rng.choices([h for h, _ in APOLOGY_HABITS], [w for _, w in APOLOGY_HABITS])[0],
        electronic_result=rng.random() < E_RESULT_SHARE.get(field, 0.0) * (0.7 + 0.6 * progress),
        rating=_rating(rng, complication),
        effort_minutes=max(3, round(EFFORT_MINUTES.get(field, 45) * rng.uniform(0.6, 1.6))),
    )


def _procedures(catalogue: Catalogue, day: date) -> tuple[list[Procedure], list[int]]:
    chosen = [(catalogue.get(code), weight) for code, weight in SHARES.items() if code in catalogue]
    valid = [(procedure, weight) for procedure, weight in chosen if procedure.valid_on(day)]
    return [p for p, _ in valid], [w for _, w in valid]


def draw_workload(
    rng: random.Random, year: int, count: int, catalogue: Catalogue, calendar: WorkingCalendar,
    *, days: Sequence[date] | None = None,
) -> list[Arrival]:
    """``count`` dossiers spread over the working days of ``year`` (or over ``days``, those of it a unit is in
    force), in arrival order."""
    days = working_days(calendar, year) if days is None else list(days)
    weights = [MONTH_FACTOR[day.month - 1] for day in days]
    picked = sorted(rng.choices(range(len(days)), weights, k=count))
    arrivals: list[Arrival] = []
    for index in picked:
        day = days[index]
        procedures, shares = _procedures(catalogue, day)
        procedure = rng.choices(procedures, shares)[0]
        channel = _channel(rng, procedure)
        at = (_online_instant(rng, day) if channel == "online"
              else datetime.combine(day, _clock_time(rng, calendar), tzinfo=VN_TZ))
        fate = _fate(rng, procedure, channel, index / max(1, len(days) - 1))
        arrivals.append(Arrival(0, at, procedure, channel, person_name(rng), fate))
    arrivals.sort(key=lambda arrival: arrival.at)
    return [Arrival(n, a.at, a.procedure, a.channel, a.applicant, a.fate) for n, a in enumerate(arrivals, 1)]
