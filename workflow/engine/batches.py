"""Several cases' decisions committed together: which of them a store writes (the rule, in one place).

A batch (:meth:`~motcua.workflow.engine.ports.CaseStore.commit_each`) is a list of *units*, each a chain of
decisions on one case, no two units on the same case: a worker firing a message's timers makes one unit per case,
each timer's decision taken on the case the previous one left and consuming its own timer. A unit is written if
its lone commit would be — its case is still at its first decision's expected version, every timer it consumes is
still armed at the claimed generation and was not cancelled or re-armed by an earlier decision of the same unit —
and refused otherwise, with the error that lone commit would raise. A refused unit changes nothing and never
stops the others: the caller retries it alone.

The stores read what the rule needs under lock (the case rows and the timer rows of the batch's cases, in one
transaction), apply :func:`refusals`, and write the units it accepts in that same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from motcua.workflow.engine.decisions import Decision
from motcua.workflow.engine.model import OutboxItem
from motcua.workflow.errors import (
    CaseAlreadyExists,
    CaseNotFound,
    ConcurrencyConflict,
    InvalidInput,
    MotcuaError,
    StaleTimer,
)

__all__ = ["MAX_UNITS", "Committed", "Unit", "check_codes", "codes_of", "refusals"]

MAX_UNITS = 1000  # the most units one batch may hold: the stores lock and check them in one transaction

Unit = Sequence[Decision]
"""Decisions on one case, in order: a chain (each taken on the case the previous one left)."""


@dataclass(frozen=True, slots=True)
class Committed:
    """What a batch's commit came to: per unit, ``None`` (written) or the error its lone commit would raise; and,
    when the batch was committed under a claim, the effects its written units released, claimed (in commit
    order), for the committer to deliver at once."""

    refused: list[MotcuaError | None]
    released: list[OutboxItem] = field(default_factory=list)


def check_codes(codes: Sequence[str]) -> None:
    """:class:`~motcua.workflow.errors.InvalidInput` for more than :data:`MAX_UNITS` codes read at once."""
    if len(codes) > MAX_UNITS:
        raise InvalidInput("codes", f"at most {MAX_UNITS} cases are read at once, not {len(codes)}")


def codes_of(units: Sequence[Unit]) -> list[str]:
    """The units' case codes, in order; :class:`~motcua.workflow.errors.InvalidInput` for an empty unit, two units
    on one case, a unit naming two cases, or more than :data:`MAX_UNITS` units."""
    if len(units) > MAX_UNITS:
        raise InvalidInput("units", f"a batch holds at most {MAX_UNITS} units, not {len(units)}")
    codes: list[str] = []
    for unit in units:
        if not unit:
            raise InvalidInput("units", "a unit holds at least one decision")
        code = unit[0].case.code
        if any(decision.case.code != code for decision in unit):
            raise InvalidInput("units", f"a unit holds decisions on one case, not on {code} and others")
        codes.append(code)
    if len(set(codes)) != len(codes):
        raise InvalidInput("units", "two units of one batch are on the same case")
    return codes


def refusals(
    units: Sequence[Unit], versions: Mapping[str, int], armed: Mapping[tuple[str, str], int]
) -> list[MotcuaError | None]:
    """For each unit, ``None`` (write it) or the error its lone commit would raise.

    ``versions`` are the stored cases' versions by code, ``armed`` the generation of every armed timer of those
    cases by (case code, timer name), both as read under lock."""
    return [_refusal(unit, versions.get(unit[0].case.code), armed) for unit in units]


def _refusal(unit: Unit, stored: int | None, armed: Mapping[tuple[str, str], int]) -> MotcuaError | None:
    first = unit[0]
    code, expected = first.case.code, first.expected_version
    if stored is None:
        if expected != 0:
            return CaseNotFound(code)
    elif expected == 0:
        return CaseAlreadyExists(code)
    elif stored != expected:
        return ConcurrencyConflict(code, expected)
    changed: set[str] = set()  # timers consumed, cancelled or re-armed by an earlier decision of the unit
    for decision in unit:
        timer = decision.consumes
        if timer is not None:
            mine = timer.case_code == code and timer.name not in changed
            if not mine or armed.get((code, timer.name)) != timer.generation:
                return StaleTimer(timer.case_code, timer.name, timer.generation)
            changed.add(timer.name)
        changed.update(change.name for change in decision.timers)
    return None
