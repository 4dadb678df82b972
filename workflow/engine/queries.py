"""Finding cases: the filter a host asks with, the page it gets back, and the reference predicate.

A :class:`CaseFilter` is a conjunction: every field left ``None`` matches everything. Results are
ordered by case code and paged by keyset: a :class:`Page` carries the code to continue *after*, so
a page never skips or repeats a case when others are opened meanwhile (a new code sorts where it
sorts; it shows up in a later page or not at all, never twice).

:func:`matches` is the reference meaning of a filter: the memory store applies it as it is, and
the SQL store's query must select exactly the same cases (the contract suite checks both).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from motcua.workflow.engine.clock import text
from motcua.workflow.engine.errors import InvalidInput
from motcua.workflow.engine.model import Case, JsonValue

__all__ = ["MAX_PAGE", "CaseFilter", "Page", "appointment_text", "check_page", "matches", "officer_of"]

MAX_PAGE: Final = 500


@dataclass(frozen=True, slots=True)
class CaseFilter:
    """Which cases to find.

    - ``definition_key``: the workflow (``"tthc-dossier"``, ``"plan-task"``);
    - ``lifecycle`` / ``deadline``: the state of that region (``"processing"``, ``"overdue"``…);
    - ``procedure``: the catalogue code of a dossier's procedure (``"1.001193"``);
    - ``officer``: who holds the case now, a dossier's ``assignee`` or a plan task's ``owner``;
    - ``due_before``: dossiers whose legal appointment falls at or before this instant;
    - ``ended``: ``False`` for dossiers still being dealt with, ``True`` for those whose processing ended
      (returned, refused, withdrawn, stopped or with a result ready: the ``ended_at`` a dossier keeps).
    """

    definition_key: str | None = None
    lifecycle: str | None = None
    deadline: str | None = None
    procedure: str | None = None
    officer: str | None = None
    due_before: datetime | None = None
    ended: bool | None = None

    def __post_init__(self) -> None:
        if self.due_before is not None and self.due_before.tzinfo is None:
            raise InvalidInput("due_before", f"{self.due_before.isoformat()} has no UTC offset")


@dataclass(frozen=True, slots=True)
class Page:
    """One page of cases, by code; ``next_cursor`` is the ``after`` of the next page (``None``: last page)."""

    items: tuple[Case, ...]
    next_cursor: str | None


def check_page(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput("limit", f"{limit} is not between 1 and {MAX_PAGE}")


def officer_of(attributes: Mapping[str, JsonValue]) -> JsonValue:
    """A dossier's current handler, or the officer in charge of a plan task."""
    return attributes.get("assignee") or attributes.get("owner")


def appointment_text(instant: datetime) -> str:
    """``due_before`` as the appointments are stored (ISO 8601, Vietnam time): text order is time order."""
    return text(instant)


def matches(case: Case, where: CaseFilter) -> bool:
    attributes = case.attributes
    wanted: tuple[tuple[object, object], ...] = (
        (where.definition_key, case.definition_key),
        (where.lifecycle, case.state.get("lifecycle")),
        (where.deadline, case.state.get("deadline")),
        (where.procedure, attributes.get("procedure")),
        (where.officer, officer_of(attributes)),
    )
    if any(expected is not None and expected != actual for expected, actual in wanted):
        return False
    if where.ended is not None and where.ended != (attributes.get("ended_at") is not None):
        return False
    return where.due_before is None or _due_by(attributes.get("appointment"), where.due_before)


def _due_by(appointment: JsonValue, bound: datetime) -> bool:
    return isinstance(appointment, str) and appointment <= appointment_text(bound)
