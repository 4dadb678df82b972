"""The checks of a unit register: each returns the problems it finds, naming the offenders.

:func:`build_register` runs them all and raises one :class:`InvalidDefinition` listing every problem.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from itertools import combinations

from motcua.workflow.errors import InvalidDefinition
from motcua.workflow.units.model import (
    LOCAL_CODE_PREFIX,
    Province,
    Season,
    Unit,
    UnitRegister,
    next_day,
)

__all__ = [
    "CHECKS",
    "build_register",
    "check_acyclic_succession",
    "check_distinct_successors",
    "check_known_successors",
    "check_local_codes_unconfirmed",
    "check_no_overlapping_codes",
    "check_province_successors",
    "check_seasons",
    "check_succession_ends_the_code",
    "check_successions_recorded",
    "check_successors_follow",
    "check_unconfirmed_have_note",
    "check_unique_provinces",
    "check_units_within_province",
    "check_validity_order",
]

_DAYS_IN_YEAR = 366  # a leap year: 29 February must be covered too


def _who(unit: Unit) -> str:
    return f"{unit.code} ({unit.label}, {unit.province})"


def _span(unit: Unit | Province) -> str:
    start = unit.valid_from.isoformat() if unit.valid_from else "…"
    end = unit.valid_to.isoformat() if unit.valid_to else "…"
    return f"{start}–{end}"


def check_unique_provinces(register: UnitRegister) -> list[str]:
    counts = Counter(province.code for province in register.provinces)
    return [f"province {code}: defined {count} times" for code, count in sorted(counts.items()) if count > 1]


def check_validity_order(register: UnitRegister) -> list[str]:
    problems = [
        f"province {province.code}: valid_to {province.valid_to} is before valid_from {province.valid_from}"
        for province in register.provinces
        if province.valid_from and province.valid_to and province.valid_to < province.valid_from
    ]
    return problems + [
        f"unit {_who(unit)}: valid_to {unit.valid_to} is before valid_from {unit.valid_from}"
        for unit in register.units
        if unit.valid_from and unit.valid_to and unit.valid_to < unit.valid_from
    ]


def _bounds(span: Unit | Province) -> tuple[date, date]:
    """The first and last day of a validity, an open end read as unbounded (as ``live_at`` reads it)."""
    return span.valid_from or date.min, span.valid_to or date.max


def _overlap(first: Unit, second: Unit) -> bool:
    (first_start, first_end), (second_start, second_end) = _bounds(first), _bounds(second)
    return first_start <= second_end and second_start <= first_end


def check_units_within_province(register: UnitRegister) -> list[str]:
    """A unit is in force only on days its province is: else it would receive dossiers in a province that has
    ended, or not yet begun."""
    problems = []
    for province in register.provinces:
        first, last = _bounds(province)
        problems += [
            f"unit {_who(unit)}: in force {_span(unit)}, beyond its province's {_span(province)}"
            for unit in province.units
            if _bounds(unit)[0] < first or _bounds(unit)[1] > last
        ]
    return problems


def check_no_overlapping_codes(register: UnitRegister) -> list[str]:
    return [
        f"code {first.code}: {first.label} ({_span(first)}) and {second.label} ({_span(second)}) overlap"
        for code in register.codes
        for first, second in combinations(register.versions(code), 2)
        if _overlap(first, second)
    ]


def check_province_successors(register: UnitRegister) -> list[str]:
    """A province merged into another (``successor``) names a known province other than itself, ends (valid_to), and
    its successor is in force the day after: so a chain of provinces only moves forward in time and has no cycle."""
    known = {province.code: province for province in register.provinces}
    problems = []
    for province in register.provinces:
        successor = province.successor
        if successor is None:
            continue
        if successor == province.code or successor not in known:
            problems.append(f"province {province.code}: successor {successor} is "
                            f"{'itself' if successor == province.code else 'not a known province'}")
        elif province.valid_to is None:
            problems.append(f"province {province.code}: has a successor but no valid_to")
        elif not known[successor].live_at(next_day(province.valid_to)):
            problems.append(f"province {province.code}: successor {successor} is not in force on "
                            f"{next_day(province.valid_to)}")
    return problems


def check_known_successors(register: UnitRegister) -> list[str]:
    known = {unit.code for unit in register.units}
    return [
        f"unit {_who(unit)}: unknown successor {successor}"
        for unit in register.units
        for successor in unit.successors
        if successor not in known
    ]


def check_successions_recorded(register: UnitRegister) -> list[str]:
    """Successors need an end (valid_to) and the resolution that decided them; a resolution needs successors."""
    problems = []
    for unit in register.units:
        if unit.successors and unit.valid_to is None:
            problems.append(f"unit {_who(unit)}: has successors but no valid_to")
        if unit.successors and unit.succession is None:
            problems.append(f"unit {_who(unit)}: has successors but no succession resolution")
        if unit.succession and not unit.successors:
            problems.append(f"unit {_who(unit)}: names a succession resolution but no successors")
    return problems


def check_distinct_successors(register: UnitRegister) -> list[str]:
    """A successor is named once: a repeated one would read as a split among several units."""
    return [
        f"unit {_who(unit)}: successor {code} is named {count} times"
        for unit in register.units
        for code, count in Counter(unit.successors).items()
        if count > 1
    ]


def check_succession_ends_the_code(register: UnitRegister) -> list[str]:
    """A code whose unit was succeeded has no later version: a case names its unit by code alone, so a code in force
    again after its succession would send that unit's later cases to the successor of the earlier one."""
    return [
        f"unit {_who(unit)}: succeeded by {', '.join(unit.successors)} from {next_day(unit.valid_to)}, but code "
        f"{unit.code} is in force again from {later.valid_from} ({_span(later)}): a succeeded code ends there"
        for unit in register.units
        if unit.successors and unit.valid_to is not None
        for later in register.versions(unit.code)
        if later.valid_from is not None and later.valid_from > unit.valid_to
    ]


def check_succession_signed_in_time(register: UnitRegister) -> list[str]:
    """A succession's resolution is signed by the day it takes effect (the day after the unit ends): one signed later
    is a typing error in its date (it would read as a merger decided after it happened)."""
    return [
        f"unit {_who(unit)}: its succession resolution {unit.succession.number} is dated {unit.succession.signed}, "
        f"after the succession took effect ({next_day(unit.valid_to)})"
        for unit in register.units
        if unit.succession is not None and unit.valid_to is not None
        and unit.succession.signed > next_day(unit.valid_to)
    ]


def check_successors_follow(register: UnitRegister) -> list[str]:
    """Each successor is in force on the day after its predecessor ends."""
    known = {unit.code for unit in register.units}
    return [
        f"unit {_who(unit)}: successor {successor} is not in force on {next_day(unit.valid_to)}"
        for unit in register.units
        if unit.valid_to is not None
        for successor in unit.successors
        if successor in known and register.unit_at(successor, next_day(unit.valid_to)) is None
    ]


def _edges(register: UnitRegister) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {unit.code: set() for unit in register.units}
    for unit in register.units:
        edges[unit.code].update(code for code in unit.successors if code in edges)
    return edges


def check_acyclic_succession(register: UnitRegister) -> list[str]:
    """No code is its own successor, however far the chain goes. One depth-first walk, each succession followed
    once (a walk of every path took hours on a few dozen units split and merged again); a cycle is named from the
    first code of it the walk met."""
    edges = _edges(register)
    done: set[str] = set()
    problems: list[str] = []
    for root in sorted(edges):
        if root not in done:
            problems += _cycles_from(root, edges, done)
    return problems


def _cycles_from(root: str, edges: dict[str, set[str]], done: set[str]) -> list[str]:
    """The cycles met walking from ``root`` (the codes walked are added to ``done``)."""
    path, on_path = [root], {root}
    stack = [iter(sorted(edges[root]))]
    problems = []
    while stack:
        following = next(stack[-1], None)
        if following is None:
            stack.pop()
            done.add(path[-1])
            on_path.discard(path.pop())
        elif following in on_path:
            problems.append("succession cycle: " + " → ".join([*path[path.index(following):], following]))
        elif following not in done:
            path.append(following)
            on_path.add(following)
            stack.append(iter(sorted(edges[following])))
    return problems


def _ranges(days: Iterable[int]) -> str:
    names = [_month_day_name(day) for day in sorted(days)]
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")  # noqa: PLR2004


def _month_day_name(index: int) -> str:
    day = date.fromordinal(date(2000, 1, 1).toordinal() + index)
    return f"{day:%m-%d}"


def season_problems(owner: str, seasons: Sequence[Season]) -> list[str]:
    """Seasons must cover every day of the year exactly once."""
    if not seasons:
        return []
    counts = Counter(day for season in seasons for day in season.days())
    missing = [day for day in range(_DAYS_IN_YEAR) if counts[day] == 0]
    doubled = [day for day, count in counts.items() if count > 1]
    problems = []
    if missing:
        problems.append(f"{owner}: seasons leave days without office hours: {_ranges(missing)}")
    if doubled:
        problems.append(f"{owner}: seasons overlap on {_ranges(doubled)}")
    lengths = {season.hours.day_length for season in seasons}
    if len(lengths) > 1:
        shown = ", ".join(f"{season.name} {season.hours.day_length}" for season in seasons)
        problems.append(f"{owner}: seasons must keep the working day's length (a unit of legal time): {shown}")
    return problems


def check_seasons(register: UnitRegister) -> list[str]:
    owners: list[tuple[str, Sequence[Season]]] = [
        (f"province {province.code}", province.seasons) for province in register.provinces
    ]
    owners += [(f"unit {_who(unit)}", unit.seasons) for unit in register.units]
    return [problem for owner, seasons in owners for problem in season_problems(owner, seasons)]


def check_local_codes_unconfirmed(register: UnitRegister) -> list[str]:
    """A project-local code is a stand-in, never presented as the real agency code."""
    return [
        f"unit {_who(unit)}: a {LOCAL_CODE_PREFIX}… code must be marked unconfirmed"
        for unit in register.units
        if unit.code.startswith(LOCAL_CODE_PREFIX) and not unit.unconfirmed
    ]


def check_unconfirmed_have_note(register: UnitRegister) -> list[str]:
    return [
        f"unit {_who(unit)}: unconfirmed without a note saying what to confirm"
        for unit in register.units
        if unit.unconfirmed and not unit.note.strip()
    ]


CHECKS: tuple[Callable[[UnitRegister], list[str]], ...] = (
    check_unique_provinces,
    check_validity_order,
    check_province_successors,
    check_units_within_province,
    check_no_overlapping_codes,
    check_known_successors,
    check_distinct_successors,
    check_successions_recorded,
    check_succession_ends_the_code,
    check_succession_signed_in_time,
    check_successors_follow,
    check_acyclic_succession,
    check_seasons,
    check_local_codes_unconfirmed,
    check_unconfirmed_have_note,
)


def build_register(provinces: Sequence[Province], source: str) -> UnitRegister:
    """A validated register; InvalidDefinition(source, problems) listing every problem found."""
    register = UnitRegister(tuple(provinces))
    problems = [problem for check in CHECKS for problem in check(register)]
    if problems:
        raise InvalidDefinition(source, problems)
    return register
