"""Provinces, their commune-level units, the resolutions that merged them, and seasonal office hours.

A unit is one version of a commune-level administrative unit: its DVCQG agency code (mã định danh), name and
kind, valid from ``valid_from`` to ``valid_to`` (both inclusive; ``None`` means "before the register's records" /
"still in force"). When a unit ends, ``successors`` name the codes that carry it on from the next day, and
``succession`` the resolution that decided it. The checks live in :mod:`motcua.workflow.units.checks`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Final

from motcua.workflow.errors import InvalidInput, NotFound
from motcua.workflow.worktime.hours import OfficeHours

__all__ = [
    "LOCAL_CODE_PREFIX",
    "YEAR_ROUND",
    "MonthDay",
    "Province",
    "Resolution",
    "Season",
    "Unit",
    "UnitKind",
    "UnitRegister",
]

LOCAL_CODE_PREFIX = "LOCAL-"  # a code made up by this project, standing in for the one the province publishes
_LEAP_YEAR = 2000  # month-days are placed in a leap year, so that 29 February exists
MonthDay = tuple[int, int]


class UnitKind(StrEnum):
    XA = "xã"
    PHUONG = "phường"
    DAC_KHU = "đặc khu"


@dataclass(frozen=True)
class Resolution:
    """The act that decided a succession, e.g. 1669/NQ-UBTVQH15 of 2025-06-16."""

    number: str
    signed: date


def day_of_year(month_day: MonthDay) -> int:
    """Index 0–365 of a (month, day) in a leap year; InvalidInput if there is no such day."""
    month, day = month_day
    try:
        return (date(_LEAP_YEAR, month, day) - date(_LEAP_YEAR, 1, 1)).days
    except ValueError:
        raise InvalidInput("season", f"{month:02d}-{day:02d} is not a day of the year") from None


@dataclass(frozen=True)
class Season:
    """Office hours from ``first_day`` to ``last_day`` (month, day; inclusive; may wrap over New Year)."""

    name: str
    first_day: MonthDay
    last_day: MonthDay
    hours: OfficeHours

    def __post_init__(self) -> None:
        day_of_year(self.first_day)
        day_of_year(self.last_day)

    def days(self) -> Iterator[int]:
        """The leap-year day indices the season covers."""
        first, last = day_of_year(self.first_day), day_of_year(self.last_day)
        span = (last - first) % 366 + 1
        return ((first + offset) % 366 for offset in range(span))

    def covers(self, day: date) -> bool:
        return day_of_year((day.month, day.day)) in set(self.days())


YEAR_ROUND = (Season("Cả năm", (1, 1), (12, 31), OfficeHours()),)


def _in_force(valid_from: date | None, valid_to: date | None, day: date) -> bool:
    return (valid_from is None or valid_from <= day) and (valid_to is None or day <= valid_to)


@dataclass(frozen=True)
class Unit:
    """One version of a commune-level unit. ``seasons`` empty: the province's; ``office``: a calendar file name."""

    code: str
    name: str
    kind: UnitKind
    province: str
    valid_from: date | None = None
    valid_to: date | None = None
    successors: tuple[str, ...] = ()
    succession: Resolution | None = None
    seasons: tuple[Season, ...] = ()
    office: str | None = None
    unconfirmed: bool = False
    note: str = ""

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"

    def live_at(self, day: date) -> bool:
        return _in_force(self.valid_from, self.valid_to, day)


@dataclass(frozen=True)
class Province:
    """A province-level unit (tỉnh or thành phố) and its commune-level units."""

    code: str
    name: str
    kind: str
    units: tuple[Unit, ...]
    valid_from: date | None = None
    valid_to: date | None = None
    seasons: tuple[Season, ...] = YEAR_ROUND
    note: str = ""
    successor: str | None = None
    """The province it was merged into (Hải Dương → Hải Phòng, from 1/7/2025): that province holds its records."""

    def live_at(self, day: date) -> bool:
        return _in_force(self.valid_from, self.valid_to, day)


@dataclass(frozen=True)
class UnitRegister:
    """Every province and unit known, across files. Build it with :func:`checks.build_register` (validated)."""

    provinces: tuple[Province, ...]
    _provinces: dict[str, Province] = field(init=False, repr=False, compare=False)
    _versions: dict[str, tuple[Unit, ...]] = field(init=False, repr=False, compare=False)
    _merged: dict[str, tuple[Unit, ...]] = field(init=False, repr=False, compare=False)
    _held: dict[tuple[str, str], dict[str, date]] = field(init=False, repr=False, compare=False)
    _held_on: dict[tuple[str, str, str], frozenset[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_provinces", {province.code: province for province in self.provinces})
        versions: dict[str, list[Unit]] = {}
        merged: dict[str, list[Unit]] = {}
        for unit in self.units:
            versions.setdefault(unit.code, []).append(unit)
            if len(unit.successors) == 1:
                merged.setdefault(unit.successors[0], []).append(unit)
        object.__setattr__(self, "_versions", {code: tuple(sorted(found, key=_start))
                                               for code, found in versions.items()})
        object.__setattr__(self, "_merged", {code: tuple(found) for code, found in merged.items()})
        object.__setattr__(self, "_held", {})  # per unit or province code of the register: bounded by it
        object.__setattr__(self, "_held_on", {})

    @property
    def units(self) -> tuple[Unit, ...]:
        return tuple(unit for province in self.provinces for unit in province.units)

    def province(self, code: str) -> Province:
        if code not in self._provinces:
            raise NotFound("province", f"unknown province {code!r} (known: {', '.join(self._provinces)})")
        return self._provinces[code]

    def versions(self, code: str) -> tuple[Unit, ...]:
        """Every version of the unit `code`, oldest first; NotFound if none."""
        if code not in self._versions:
            raise NotFound("unit", f"unknown unit code {code!r}")
        return self._versions[code]

    @property
    def codes(self) -> tuple[str, ...]:
        """Every unit code, once."""
        return tuple(self._versions)

    def knows(self, code: str) -> bool:
        return code in self._versions

    def live_at(self, day: date) -> tuple[Unit, ...]:
        """The units in force on `day`."""
        return tuple(unit for unit in self.units if unit.live_at(day))

    def unit_at(self, code: str, day: date) -> Unit | None:
        return next((unit for unit in self.versions(code) if unit.live_at(day)), None)

    def successor_at(self, code: str, day: date) -> Unit:
        """The unit that carries `code` on at `day`: itself if in force, else its successors', followed.

        NotFound for an unknown code; InvalidInput if `day` is before the unit existed or if it was split
        among several units (the message names them).
        """
        return self.chain(code, day)[-1]

    def chain(self, code: str, day: date) -> tuple[Unit, ...]:
        """The units from `code` to the one in force on `day`, following successors."""
        chain: list[Unit] = []
        while (current := self.unit_at(code, day)) is None:
            ended = self._ended_before(code, day)
            chain.append(ended)
            code = self._single_successor(ended)
        return (*chain, current)

    def lineage(self, code: str, start: date, end: date) -> frozenset[str]:
        """``code`` and the units that held its place during [start, end]: the units it was merged into, each the
        single successor of the one before, in force by ``end``; and the units merged into it (theirs too), in force
        on or after ``start``. A split is not followed: which part carries ``code`` on is a person's decision. A code
        the register does not know is its own lineage."""
        if not self.knows(code):
            return frozenset({code})
        return frozenset({*self._carried_on_by(code, end), *self._merged_into(code, start)})

    def carried_on_by(self, code: str) -> tuple[str, ...]:
        """The units that carried ``code`` on, in order: the one it was merged into, each the single successor of
        the one before (a split ends the chain); none for a unit still in force, or a code the register does not
        know."""
        return tuple(self._carried_on_by(code, date.max)[1:]) if self.knows(code) else ()

    def _carried_on_by(self, code: str, end: date) -> list[str]:
        codes = [code]
        while (last := self.versions(codes[-1])[-1]).valid_to is not None and len(last.successors) == 1:
            if next_day(last.valid_to) > end:
                break
            codes.append(last.successors[0])
        return codes

    def held_by(self, code: str, on: date) -> frozenset[str]:
        """The units whose cases ``code`` holds on ``on``: itself and every unit merged into it, theirs too, once the
        merger has taken effect (the day after the merged unit's ``valid_to``) — a merged commune's records pass to the
        unit it was merged into then, not when the register is written. A split is not followed (which part holds the
        records is a person's decision). A code the register does not know holds its own only."""
        if not self.knows(code):
            return frozenset({code})
        return self._on(("unit", code), on, lambda: self._held_since(code, date.min, None))

    def province_held_by(self, code: str, on: date) -> frozenset[str]:
        """The units whose cases the province ``code`` holds on ``on``: every unit it has had, those of the provinces
        merged into it (their ``successor``, followed) once that merger has taken effect, and every unit merged into
        one of these once its own merger has (:meth:`held_by`; only mergers into a version of these provinces, and a
        merged province's commune given to a third province is that province's). NotFound for an unknown province."""
        self.province(code)
        return self._on(("province", code), on, lambda: self._province_held_since(code))

    def _on(self, key: tuple[str, str], on: date, since: Callable[[], dict[str, date]]) -> frozenset[str]:
        """The units of the (cached) table ``key`` held by ``on``; the answers of recent days kept, boundedly."""
        if key not in self._held:
            self._held[key] = since()
        asked = (*key, on.isoformat())
        found = self._held_on.get(asked)
        if found is None:
            if len(self._held_on) >= _HELD_ON_KEPT:
                self._held_on.clear()
            found = self._held_on[asked] = frozenset(unit for unit, day in self._held[key].items() if day <= on)
        return found

    def _held_since(self, code: str, since: date, provinces: set[str] | None) -> dict[str, date]:
        """``code`` (held from ``since``) and the units merged into it, theirs too, each with the first day ``code``
        holds it: when every merger on its way has taken effect. With ``provinces``, a unit merged into ``code`` is
        held once a version of ``code`` in force then or later is in one of them (a commune carries the records merged
        into it to the province it goes to, and a province does not get what was merged into a commune after it
        left); what was merged into those units before them comes with them."""
        found, pending = {code: since}, [code]
        while pending:
            target = pending.pop()
            for unit in self._merged.get(target, ()):
                if unit.valid_to is None or unit.code in found:
                    continue
                effective = next_day(unit.valid_to)
                if provinces is not None and target == code:  # deeper, it was merged before its holder was
                    joined = [max(effective, _start(version)) for version in self.versions(target)
                              if version.province in provinces and (version.valid_to or date.max) >= effective]
                    if not joined:
                        continue
                    effective = min(joined)
                found[unit.code] = max(found[target], effective)
                pending.append(unit.code)
        return found

    def _province_held_since(self, code: str) -> dict[str, date]:
        provinces = self._provinces_since(code)
        within = set(provinces)
        held: dict[str, date] = {}
        for province, since in provinces.items():
            for unit in self._provinces[province].units:
                joined = max(since, _start(unit))  # a code that came from another province: from the day it came
                if province != code and not self._stays_within(unit, within, joined):
                    continue
                for found, day in self._held_since(unit.code, joined, within).items():
                    held[found] = min(held.get(found, date.max), day)
        return held

    def _stays_within(self, unit: Unit, provinces: set[str], day: date) -> bool:
        """Whether the unit that carries ``unit`` on at ``day`` is in one of ``provinces``: followed through each single
        successor and each next version of the same code (a commune of a merged province given to a third province,
        under a new code or its own, even after a gap, is that province's); a split, or an end without a successor or
        a later version, stops there."""
        current = unit
        while current.valid_to is not None and current.valid_to < day and len(current.successors) <= 1:
            carried = self._carried_at(current)
            if carried is None:
                break
            current = carried  # later each time: the walk ends
        return current.province in provinces

    def _carried_at(self, unit: Unit) -> Unit | None:
        """The unit that carries ``unit`` on after its ``valid_to``: its single successor on the next day, else its own
        code's next version (after a gap too), else none."""
        assert unit.valid_to is not None
        if unit.successors:
            return self.unit_at(unit.successors[0], next_day(unit.valid_to))
        return next((version for version in self.versions(unit.code) if _start(version) > unit.valid_to), None)

    def _provinces_since(self, code: str) -> dict[str, date]:
        """``code`` (from always) and the provinces merged into it, followed, each from the day its merger (and every
        one on its way) took effect."""
        found, pending = {code: date.min}, [code]
        while pending:
            target = pending.pop()
            for province in self.provinces:
                if province.successor == target and province.code not in found and province.valid_to is not None:
                    found[province.code] = max(found[target], next_day(province.valid_to))
                    pending.append(province.code)
        return found

    def _merged_into(self, code: str, start: date) -> set[str]:
        """``code`` and the units merged into it (theirs too) that ended on or after ``start``."""
        found, pending = {code}, [code]
        while pending:
            for unit in self._merged.get(pending.pop(), ()):
                if unit.valid_to is not None and unit.valid_to >= start and unit.code not in found:
                    found.add(unit.code)
                    pending.append(unit.code)
        return found

    def hours_on(self, unit: Unit, day: date) -> OfficeHours:
        """The office hours of `unit` on `day`: its own seasons, else its province's."""
        seasons = unit.seasons or self.province(unit.province).seasons
        return next(season.hours for season in seasons if season.covers(day))

    def seasonal_hours(self, unit: Unit) -> Callable[[date], OfficeHours | None]:
        """The office hours of `unit` by day, from its seasons or its province's; None for a unit and province that
        declare none (its office file's hours)."""
        seasons = unit.seasons or self.province(unit.province).seasons
        if seasons is YEAR_ROUND:
            return lambda day: None
        first = date(_LEAP_YEAR, 1, 1).toordinal()
        table = {(on.month, on.day): season.hours for season in seasons for index in season.days()
                 if (on := date.fromordinal(first + index))}
        return lambda day: table.get((day.month, day.day))

    def version_counting(self, code: str, day: date) -> Unit:
        """The version of `code` whose calendar counts `day`: the one in force, else the latest that began by then
        (a gap between versions keeps the earlier one's), else the first (a day before the unit existed)."""
        versions = self.versions(code)
        return next((unit for unit in reversed(versions) if _start(unit) <= day), versions[0])

    def _ended_before(self, code: str, day: date) -> Unit:
        ended = [unit for unit in self.versions(code) if unit.valid_to is not None and unit.valid_to < day]
        if not ended:
            raise InvalidInput("day", f"unit {code!r} was not yet in force on {day.isoformat()}")
        return ended[-1]

    def _single_successor(self, unit: Unit) -> str:
        if len(unit.successors) != 1:
            named = ", ".join(unit.successors) or "none"
            raise InvalidInput("unit", f"{unit.code} ({unit.label}) has {len(unit.successors)} successors: {named}")
        return unit.successors[0]


_HELD_ON_KEPT: Final = 4_096
"""Answers of :meth:`UnitRegister.held_by` and ``province_held_by`` kept (by code and day) before they are forgotten:
a scope is built at every request, and a province key's is hundreds of codes."""


def _start(unit: Unit) -> date:
    return unit.valid_from or date.min


def next_day(day: date) -> date:
    return day + timedelta(days=1)
