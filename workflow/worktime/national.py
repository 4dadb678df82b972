"""The national corrections to the ``holidays`` package: what the government announced, as values
(one-stop-shop.md, the legal clock; the file is ``definitions/calendar/vn.yaml``).

Three kinds of correction, each with the legal text that makes it (its number and its date): days off the package
lacks (a swapped Friday), make-up days it lacks (the Saturday worked for it), days off it gives that the
government did not. Beside them, what was **announced**: each announcement is one holiday's break as the
government fixed it (its first and last day, weekends included, and its make-up days), and the fixed days are
the dates the Labour Code fixes every year. A day off or make-up day of the package is *confirmed* when an
announcement or a fixed day covers it (or a correction makes it); every other one is *provisional*: the
package's rule-based guess for a year or holiday the government has not announced yet, which may still move.

Pure values: reading the file is :mod:`motcua.definitions.calendar`'s job, and checking the corrections against
the package (a removed day must be one of its days off…) is
:meth:`motcua.workflow.worktime.calendar.WorkingCalendar.national_problems`'.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Final

from motcua.workflow.errors import InvalidInput

__all__ = [
    "DOCUMENT_NUMBER_PATTERN",
    "Announcement",
    "Correction",
    "CorrectionKind",
    "FixedDay",
    "LegalSource",
    "NationalCalendar",
]

DOCUMENT_NUMBER_PATTERN: Final = r"^\d+(/\d{4})?/[^\s/]+$"
"""A Vietnamese legal document's number: ``12729/VPCP-KGVX``, ``45/2019/QH14``, ``9441/TB-BNV``."""
_NUMBER = re.compile(DOCUMENT_NUMBER_PATTERN)


def _text(field_name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(field_name, "must be a non-empty text")
    return value.strip()


def _day(field_name: str, value: object) -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidInput(field_name, f"{value!r} is not a date")
    return value


@dataclass(frozen=True)
class LegalSource:
    """The text that decides a day: its kind (``Công văn``, ``Thông báo``, ``Bộ luật``…), number and signing date."""

    document: str
    number: str
    signed: date

    def __post_init__(self) -> None:
        object.__setattr__(self, "document", _text("source.document", self.document))
        number = _text("source.number", self.number)
        if not _NUMBER.match(number):
            raise InvalidInput("source.number", f"{number!r} is not a document number such as 12729/VPCP-KGVX")
        object.__setattr__(self, "number", number)
        _day("source.signed", self.signed)

    @property
    def label(self) -> str:
        """``Công văn 12729/VPCP-KGVX ngày 25/12/2025``."""
        return f"{self.document} {self.number} ngày {self.signed:%d/%m/%Y}"


class CorrectionKind(StrEnum):
    """What a correction does to the package's day (the keys of the file)."""

    DAY_OFF = "days_off"
    WORKING_DAY = "working_days"
    REMOVED = "removed_days_off"


@dataclass(frozen=True)
class Correction:
    """One day the package has wrong; ``name``: the day's Vietnamese name (for a removed day off: why it is worked)."""

    kind: CorrectionKind
    day: date
    name: str
    source: LegalSource

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", CorrectionKind(self.kind))
        _day(self.where, self.day)
        object.__setattr__(self, "name", _text(f"{self.where}.name", self.name))
        if not isinstance(self.source, LegalSource):
            raise InvalidInput(self.where, "needs its legal source (document, number and signing date)")
        if self.source.signed > self.day:
            raise InvalidInput(f"{self.where}.source", f"{self.source.label} is signed after the day it decides")

    @property
    def where(self) -> str:
        """``days_off 2026-01-02``: how messages name the entry."""
        return f"{self.kind.value} {self.day.isoformat()}"


@dataclass(frozen=True)
class Announcement:
    """One holiday's break as the government announced it: every day from ``first_day`` to ``last_day`` is off
    (weekends included), and ``working_days`` are the weekend days worked in exchange."""

    holiday: str
    first_day: date
    last_day: date
    source: LegalSource
    working_days: tuple[date, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "holiday", _text("announcement.holiday", self.holiday))
        _day(f"{self.where}.first_day", self.first_day)
        _day(f"{self.where}.last_day", self.last_day)
        if self.last_day < self.first_day:
            raise InvalidInput(f"{self.where}.last_day", "must not be before first_day")
        object.__setattr__(self, "working_days", tuple(sorted(self.working_days)))
        for day in self.working_days:
            _day(f"{self.where}.working_days", day)
            if self.first_day <= day <= self.last_day:
                raise InvalidInput(f"{self.where}.working_days", f"{day.isoformat()} lies inside the break")
        if len(set(self.working_days)) != len(self.working_days):
            raise InvalidInput(f"{self.where}.working_days", "a day is listed more than once")
        if not isinstance(self.source, LegalSource):
            raise InvalidInput(self.where, "needs its legal source (document, number and signing date)")
        if self.source.signed > min((self.first_day, *self.working_days)):
            raise InvalidInput(f"{self.where}.source", f"{self.source.label} is signed after the days it decides")

    @property
    def where(self) -> str:
        return f"announcement {self.holiday!r}"

    def break_days(self) -> Iterator[date]:
        day = self.first_day
        while day <= self.last_day:
            yield day
            day += timedelta(days=1)

    def days(self) -> Iterator[date]:
        """Every day the announcement decides: the break, then the make-up days."""
        yield from self.break_days()
        yield from self.working_days


@dataclass(frozen=True)
class FixedDay:
    """A day off the law fixes every year from ``since`` on (1/1, 30/4, 1/5, 2/9: Labour Code article 112)."""

    month: int
    day: int
    name: str
    since: int
    source: LegalSource

    def __post_init__(self) -> None:
        where = f"fixed_days {self.month:02d}-{self.day:02d}"
        try:
            date(2000, self.month, self.day)  # a leap year: 29/02 is a date
        except (TypeError, ValueError):
            raise InvalidInput(where, "is not a day of the year") from None
        object.__setattr__(self, "name", _text(f"{where}.name", self.name))
        if isinstance(self.since, bool) or not isinstance(self.since, int):
            raise InvalidInput(f"{where}.since", f"{self.since!r} is not a year")
        if not isinstance(self.source, LegalSource):
            raise InvalidInput(where, "needs its legal source (document, number and signing date)")
        if self.source.signed.year > self.since:
            raise InvalidInput(f"{where}.source", f"{self.source.label} is signed after {self.since}")

    def on(self, year: int) -> date | None:
        """Its date in ``year`` (None before ``since``, or on 29/02 of a common year)."""
        if year < self.since:
            return None
        try:
            return date(year, self.month, self.day)
        except ValueError:
            return None


@dataclass(frozen=True)
class NationalCalendar:
    """The corrections and announcements of the whole country, applied to every office's calendar before the
    office's own overrides. Every date is decided once: two corrections of one day, two announcements of one
    day, or a correction the announcements contradict are refused (:class:`InvalidInput` naming the entry)."""

    label: str = "Lịch nghỉ lễ, Tết toàn quốc"
    corrections: tuple[Correction, ...] = ()
    announcements: tuple[Announcement, ...] = ()
    fixed_days: tuple[FixedDay, ...] = ()
    _by_day: dict[date, Correction] = field(init=False, repr=False, compare=False)
    _announced: dict[date, Announcement] = field(init=False, repr=False, compare=False)
    _fixed: dict[tuple[int, int], FixedDay] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "label", _text("label", self.label))
        corrections = tuple(sorted(self.corrections, key=lambda item: item.day))
        by_day: dict[date, Correction] = {}
        for correction in corrections:
            if correction.day in by_day:
                first = by_day[correction.day]
                message = f"given twice: in {first.kind.value} and in {correction.kind.value}"
                if first.kind is correction.kind:
                    message = f"given twice in {correction.kind.value}"
                raise InvalidInput(correction.where, message)
            by_day[correction.day] = correction
        announcements = tuple(sorted(self.announcements, key=lambda item: item.first_day))
        announced: dict[date, Announcement] = {}
        for announcement in announcements:
            for day in announcement.days():
                if day in announced:
                    other = announced[day].holiday
                    raise InvalidInput(announcement.where, f"{day.isoformat()} is also decided by {other!r}")
                announced[day] = announcement
        fixed: dict[tuple[int, int], FixedDay] = {}
        for item in self.fixed_days:
            if (item.month, item.day) in fixed:
                raise InvalidInput(f"fixed_days {item.month:02d}-{item.day:02d}", "given twice")
            fixed[item.month, item.day] = item
        object.__setattr__(self, "corrections", corrections)
        object.__setattr__(self, "announcements", announcements)
        object.__setattr__(self, "fixed_days", tuple(sorted(self.fixed_days, key=lambda item: (item.month, item.day))))
        object.__setattr__(self, "_by_day", by_day)
        object.__setattr__(self, "_announced", announced)
        object.__setattr__(self, "_fixed", fixed)

    def correction(self, day: date) -> Correction | None:
        """The correction of ``day``, if the file corrects it."""
        return self._by_day.get(day)

    def of_kind(self, kind: CorrectionKind) -> tuple[Correction, ...]:
        return tuple(item for item in self.corrections if item.kind is kind)

    def announcement(self, day: date) -> Announcement | None:
        """The announcement whose break or make-up days include ``day``."""
        return self._announced.get(day)

    def confirmation(self, day: date) -> LegalSource | None:
        """The text that confirms ``day`` as the package gives it: its announcement's, else its fixed day's; None
        when nothing announced it (the package's day is then provisional)."""
        announced = self._announced.get(day)
        if announced is not None:
            return announced.source
        fixed = self._fixed.get((day.month, day.day))
        if fixed is not None and fixed.on(day.year) == day:
            return fixed.source
        return None

    def years(self) -> tuple[int, ...]:
        """The years an announcement or a correction concerns, ascending."""
        days = [*self._by_day, *self._announced]
        return tuple(sorted({day.year for day in days}))
