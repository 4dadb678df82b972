"""Applying a merger: the open cases of a unit that ended continue under its successor, each moved once.

A succession is declared in data (``definitions/units/*.yaml``: ``valid_to``, ``successors``, ``succession``), so
what is due on a day follows from the register alone (:func:`due_successions`). :func:`apply_successions` fires
the ``transfer`` trigger (:mod:`motcua.workflow.units.transfer`) on every case the old unit still holds or
received and that is still being dealt with: one audited entry per case, by the system, naming every unit merged
with the old one (same successor, same day, same act: :attr:`Succession.joined`) and the resolution, so that a
dossier received at one merged unit and decided at another is moved once; the timers stay as they were.

Why it is safe to run again, or after a crash: each transfer is its own transaction, and the trigger's guard
refuses a case that no longer names the old unit, so a second run finds nothing to move and a run cut short
moves the rest when started again. Nothing here runs by itself: an operator (or a cron job) runs
``motcua units apply`` at or after 00:00 of the effective day; the worker does not.

Which cases are "open": those whose processing has not ended (``ended=False``), and those that have ended but
are still at the desk — a dossier whose result is ready but not yet returned (status 9), or whose withdrawal is
asked but not yet confirmed — since the ``transfer`` trigger allows those states too.

A unit split among several successors is never applied: which successor takes which case is a person's
decision. It is reported with the cases left at the old unit; so is a unit that ended without a successor (its code
not carried on by a later version of it either), whose open cases nobody would carry on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Final

from motcua.workflow.engine.clock import to_vietnam_time
from motcua.workflow.engine.model import SYSTEM_ACTOR, Case, JsonValue
from motcua.workflow.engine.ports import CaseQueries, CaseStore
from motcua.workflow.engine.queries import CaseFilter
from motcua.workflow.engine.service import CaseService
from motcua.workflow.errors import (
    ConcurrencyConflict,
    InvalidInput,
    MotcuaError,
    SuccessionHalted,
    TransitionNotAllowed,
)
from motcua.workflow.units.model import Resolution, Unit, UnitRegister, next_day
from motcua.workflow.units.transfer import ADOPT, TRANSFER, UNIT_ATTRIBUTES

__all__ = [
    "ADOPTION_REASON",
    "ATTEMPTS",
    "ENDED_AT_THE_DESK",
    "PAGE",
    "Succession",
    "SuccessionReport",
    "SuccessionResult",
    "adopt_unitless",
    "apply_successions",
    "due_successions",
    "unitless",
]

PAGE: Final = 200
"""Cases read per query page."""
ATTEMPTS: Final = 3
"""Tries per case when another writer changes it meanwhile (each try reloads it)."""
ENDED_AT_THE_DESK: Final = ("result_ready", "withdrawal_requested")
"""Lifecycle states whose processing has ended (``ended_at`` is set) but which the desk still deals with."""


@dataclass(frozen=True, slots=True)
class Succession:
    """``old`` carried on by ``new`` from ``effective`` (the day after ``old.valid_to``), decided by ``resolution``.

    ``new`` is ``None`` when the old unit was split among several successors (:attr:`successors`), or ended without
    one: such a succession is reported, never applied."""

    old: Unit
    new: Unit | None
    effective: date
    resolution: Resolution | None
    joined: tuple[str, ...] = ()  # every unit merged into ``new`` on the same day by the same act (``old`` too)

    @property
    def successors(self) -> tuple[str, ...]:
        return self.old.successors

    @property
    def split(self) -> bool:
        return self.new is None

    def data(self) -> dict[str, JsonValue]:
        """The ``transfer`` trigger's data (a single successor only)."""
        if self.new is None:
            shown = f"is split among {', '.join(self.successors)}" if self.successors else "ended without a successor"
            raise InvalidInput("successors", f"{self.old.code} {shown}: no single successor to transfer to")
        return {
            "from_units": list(self.joined or (self.old.code,)), "to_unit": self.new.code,
            "resolution": self.resolution.number if self.resolution else "",
            "effective": self.effective.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class SuccessionResult:
    """What one succession did: the codes ``moved`` (with a dry run: that would move), those ``skipped`` (found,
    but the transfer was not allowed: already moved, or ended meanwhile), and for a split the open cases left
    at the old unit (``stranded``)."""

    succession: Succession
    moved: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    stranded: tuple[str, ...] = ()

    def merged(self, later: SuccessionResult) -> SuccessionResult:
        """This result followed by a later pass's over the same succession."""
        return SuccessionResult(
            self.succession, (*self.moved, *later.moved), tuple(dict.fromkeys((*self.skipped, *later.skipped))),
            later.stranded,
        )


@dataclass(frozen=True, slots=True)
class SuccessionReport:
    day: date
    dry_run: bool
    results: tuple[SuccessionResult, ...]

    @property
    def moved(self) -> int:
        return sum(len(result.moved) for result in self.results)

    @property
    def stranded(self) -> tuple[SuccessionResult, ...]:
        """The splits that leave open cases behind: a person must divide them."""
        return tuple(result for result in self.results if result.stranded)


def due_successions(register: UnitRegister, day: date) -> tuple[Succession, ...]:
    """Every succession in force on ``day`` (its unit ended before it), earliest first: the order a chain is
    followed in. A unit that ended without a successor, its code ended too, is one without a new unit."""
    due = [_succession(register, unit, next_day(unit.valid_to)) for unit in register.units
           if unit.valid_to is not None and unit.valid_to < day
           and (unit.successors or register.versions(unit.code)[-1] == unit)]
    merged: dict[tuple[object, ...], list[str]] = {}
    for succession in due:
        merged.setdefault(_merger(succession), []).append(succession.old.code)
    due = [replace(s, joined=tuple(sorted(merged[_merger(s)]))) if s.new else s for s in due]
    return tuple(sorted(due, key=lambda succession: (succession.effective, succession.old.code)))


def _merger(succession: Succession) -> tuple[object, ...]:
    """Units merged together: one successor, one day, one act. A case of two of them (received at one for the
    other) is moved by one transfer naming them all."""
    return (succession.new.code if succession.new else None, succession.effective, succession.resolution)


def _succession(register: UnitRegister, unit: Unit, effective: date) -> Succession:
    if len(unit.successors) != 1:
        return Succession(unit, None, effective, unit.succession)
    new = register.unit_at(unit.successors[0], effective)
    if new is None:  # a register from build_register has none (check_successors_follow)
        raise InvalidInput("successors", f"{unit.code}: successor {unit.successors[0]} is not in force on "
                                         f"{effective.isoformat()}")
    return Succession(unit, new, effective, unit.succession)


def apply_successions(
    service: CaseService, queries: CaseQueries, register: UnitRegister, now: datetime, *, dry_run: bool = False,
    page: int = PAGE,
) -> SuccessionReport:
    """Move the open cases of every unit whose succession is due on ``now``'s day (Vietnam time) to its successor.

    Earliest succession first, then again until a pass moves nothing, so that a unit merged twice moves its
    cases along the whole chain. A transfer refused by the workflow (already moved, final state) is skipped; a
    lost race is retried on the reloaded case (:data:`ATTEMPTS`); any other error stops the run with
    :class:`SuccessionHalted` naming the case (the cases before it stay moved: run again once it is fixed).
    ``dry_run``: nothing is written; the report names the cases that would move."""
    day = to_vietnam_time(now).date()
    due = due_successions(register, day)
    run = _Run(service, queries, page, dry_run)
    results = [SuccessionResult(succession) for succession in due]
    for _ in range(len(due) + 1):  # acyclic (checked): a pass in effective order follows every chain
        done = [run.apply(succession) for succession in due]
        results = [result.merged(later) for result, later in zip(results, done, strict=True)]
        if dry_run or not any(result.moved for result in done):
            break
    return SuccessionReport(day, dry_run, tuple(results))


@dataclass
class _Run:
    service: CaseService
    queries: CaseQueries
    page: int
    dry_run: bool
    arrived: dict[str, list[str]] = field(default_factory=dict)  # dry run: unit → codes that would arrive there
    left: dict[str, set[str]] = field(default_factory=dict)  # dry run: unit → codes a transfer would take from it

    def apply(self, succession: Succession) -> SuccessionResult:
        cases = self._open_cases(succession.old.code)
        if succession.new is None:
            codes = [case.code for case in cases]
            return SuccessionResult(succession, stranded=self._with_arrivals(succession, codes))
        moved: list[str] = []
        skipped: list[str] = []
        for case in cases:
            (moved if self._transfer(case, succession) else skipped).append(case.code)
        if not self.dry_run:
            return SuccessionResult(succession, tuple(moved), tuple(skipped))
        would_move = self._with_arrivals(succession, moved)
        self.arrived.setdefault(succession.new.code, []).extend(would_move)
        for unit in succession.joined:  # the transfer names every unit of the merger: it takes the case from all
            self.left.setdefault(unit, set()).update(moved)
        return SuccessionResult(succession, would_move, tuple(skipped))

    def _with_arrivals(self, succession: Succession, codes: list[str]) -> tuple[str, ...]:
        """With a dry run, the cases an earlier succession would have brought to this one's old unit count too."""
        return tuple(dict.fromkeys((*codes, *self.arrived.get(succession.old.code, ()))))

    def _open_cases(self, unit: str) -> Iterator[Case]:
        """The open cases held or received by ``unit``, by code, page by page (keyset: a moved case drops out of
        the filter, and the next page starts after the last code read). With a dry run, nothing moves: the cases
        an earlier transfer of the same merger would have taken from ``unit`` are left out here."""
        units = frozenset({unit})
        filters = [CaseFilter(units=units, ended=False)]
        filters += [CaseFilter(units=units, lifecycle=state) for state in ENDED_AT_THE_DESK]
        seen: set[str] = set(self.left.get(unit, ()))
        for where in filters:
            for case in self._pages(where):
                if case.code not in seen:
                    seen.add(case.code)
                    yield case

    def _pages(self, where: CaseFilter) -> Iterator[Case]:
        after: str | None = None
        while True:
            found = self.queries.find(where, after=after, limit=self.page)
            yield from found.items
            if found.next_cursor is None:
                return
            after = found.next_cursor

    def _transfer(self, case: Case, succession: Succession) -> bool:
        """Whether the case moved (would move, with a dry run); False when the workflow refuses the transfer."""
        data = succession.data()
        conflict: ConcurrencyConflict | None = None
        for _ in range(ATTEMPTS):
            try:
                if self.dry_run:
                    self.service.engine.fire(case, TRANSFER, SYSTEM_ACTOR, data)  # decided, thrown away
                else:
                    self.service.fire(case.code, TRANSFER, SYSTEM_ACTOR, data)
            except TransitionNotAllowed:  # GuardRejected too: moved already, or ended meanwhile
                return False
            except ConcurrencyConflict as error:
                conflict = error
                continue
            except MotcuaError as error:
                raise _halted(case, succession, f"{type(error).__name__}: {error}") from error
            return True
        raise _halted(case, succession, f"still changing after {ATTEMPTS} attempts") from conflict


def _halted(case: Case, succession: Succession, detail: str) -> SuccessionHalted:
    return SuccessionHalted(case.code, succession.old.code, succession.new.code if succession.new else "", detail)


ADOPTION_REASON: Final = "Hồ sơ, nhiệm vụ lập trước khi hệ thống có danh mục đơn vị hành chính"


def adopt_unitless(
    service: CaseService, store: CaseStore, register: UnitRegister, unit: str, *, dry_run: bool = False,
    leave: Callable[[Case], bool] | None = None,
) -> tuple[str, ...]:
    """Give ``unit`` to every case without a unit of the register — written before units existed, or by a
    standalone desk under a code the register does not know — but those ``leave`` says to leave as they are: one
    audited ``adopt_unit`` entry each, by the system, in any state, so that scopes, reports and a later
    :func:`apply_successions` see it. Idempotent (an adopted case has a registered unit). Returns the codes adopted
    (with ``dry_run``: that would be, nothing written). A lost race is retried (:data:`ATTEMPTS`)."""
    known = {known.code for known in register.units}
    if unit not in known:
        raise InvalidInput("unit", f"unknown unit {unit!r}: `motcua units list` shows the codes")
    found = {case.code: _unknown_units(case, known) for case in store.cases()  # read fully before writing
             if leave is None or not leave(case)}
    chosen = {code: unknown for code, unknown in found.items() if unknown is not None}
    base: dict[str, JsonValue] = {"unit": unit, "reason": ADOPTION_REASON}
    return tuple(code for code, unknown in chosen.items()
                 if _adopt(service, code, {**base, "from_units": unknown} if unknown else base, dry_run=dry_run))


def unitless(store: CaseStore, register: UnitRegister) -> tuple[Case, ...]:
    """The cases :func:`adopt_unitless` would adopt, whatever it is told to leave."""
    known = {known.code for known in register.units}
    return tuple(case for case in store.cases() if _unknown_units(case, known) is not None)


def _unknown_units(case: Case, known: set[str]) -> list[JsonValue] | None:
    """The codes outside the register that the case names ([] when it names none at all); None: nothing to adopt."""
    named = [value for name in UNIT_ATTRIBUTES if isinstance(value := case.attributes.get(name), str) and value]
    unknown: list[JsonValue] = [*sorted({value for value in named if value not in known})]
    return unknown if unknown or not named else None


def _adopt(service: CaseService, code: str, data: dict[str, JsonValue], *, dry_run: bool) -> bool:
    for _ in range(ATTEMPTS):
        try:
            if dry_run:
                service.engine.fire(service.get(code), ADOPT, SYSTEM_ACTOR, data)  # decided, thrown away
            else:
                service.fire(code, ADOPT, SYSTEM_ACTOR, data)
        except TransitionNotAllowed:  # adopted meanwhile
            return False
        except ConcurrencyConflict:
            continue
        return True
    raise SuccessionHalted(code, "", str(data["unit"]), f"still changing after {ATTEMPTS} attempts")
