"""Finding cases: the filter a host asks with, the page it gets back, and the reference predicate.

A :class:`CaseFilter` is a conjunction: every field left ``None`` matches everything. Results are
ordered by case code and paged by keyset: a :class:`Page` carries the code to continue *after*, so
a page never skips or repeats a case when others are opened meanwhile (a new code sorts where it
sorts; it shows up in a later page or not at all, never twice).

What a filter may ask of a case's attributes is the case's *index*: the workflow definition's
``index`` section names, for each search key of :data:`INDEX_KEYS`, the attributes its value is read
from (the first holding non-empty text), so the engine knows no attribute by name. The engine computes
the values (:func:`indexed`) when it decides, the decision carries them, and the stores keep them beside
the case, written in the same commit.

:func:`matches` is the reference meaning of a filter: the memory store applies it as it is, and
the SQL store's query must select exactly the same cases (the contract suite checks both).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from itertools import islice
from typing import Final

from motcua.workflow.engine.bounds import CODE_MAX, NAME_MAX, STORED_CODE_MAX, excerpt, line_problem
from motcua.workflow.engine.clock import text
from motcua.workflow.engine.model import Case, JsonValue
from motcua.workflow.errors import InvalidInput

__all__ = [
    "FILTERED_REGIONS", "INDEX_KEYS", "MAX_PAGE", "UNITS_MAX", "CaseFilter", "Page", "check_page", "due_text",
    "filtered_states", "found_by", "index_order", "indexed", "indexed_by", "matches", "unit_codes",
]

MAX_PAGE: Final = 500
UNITS_MAX: Final = 10_000  # unit codes in one set (a province has a few hundred units, with their history)
_TEXT_FIELDS: Final = ("definition_key", "lifecycle", "deadline", "procedure", "officer", "unit", "applicant")
INDEX_KEYS: Final = ("procedure", "officer", "due", "ended", "unit", "received_by", "applicant")
"""The search keys a definition's ``index`` may declare: what :class:`CaseFilter` asks of attributes."""
FILTERED_REGIONS: Final = ("lifecycle", "deadline")
"""The regions of a case's state a :class:`CaseFilter` selects on (a SQL store copies them to columns of their own)."""


@dataclass(frozen=True, slots=True)
class CaseFilter:
    """Which cases to find.

    - ``definition_key``: the workflow (``"tthc-dossier"``, ``"plan-task"``);
    - ``lifecycle`` / ``deadline``: the state of that region (``"processing"``, ``"overdue"``…);

    and the search keys of the case's index (what the shipped definitions index them from):

    - ``procedure``: the catalogue code of a dossier's procedure (``"1.001193"``);
    - ``officer``: who holds the case now, a dossier's ``assignee`` or a plan task's ``owner``;
    - ``due_before``: cases whose ``due`` (a dossier's legal appointment) falls at or before this instant;
    - ``ended``: ``False`` for cases still being dealt with, ``True`` for those whose processing ended
      (the ``ended_at`` a dossier or a plan task keeps);
    - ``unit``: the administrative unit that holds the case (a dossier's deciding unit, a plan task's unit);
    - ``units``: cases held *or received* by one of these units (an access scope: a dossier received at one
      commune for another is seen by both);
    - ``applicant``: the applicant's identity number (``applicant_id``), for an applicant's own dossiers.
    """

    definition_key: str | None = None
    lifecycle: str | None = None
    deadline: str | None = None
    procedure: str | None = None
    officer: str | None = None
    due_before: datetime | None = None
    ended: bool | None = None
    unit: str | None = None
    units: frozenset[str] | None = None
    applicant: str | None = None

    def __post_init__(self) -> None:
        """A filter that is not what it looks like is refused (a text's characters read as units, a naive instant, a
        "no" read as true): it would answer another question than the one asked."""
        for name in _TEXT_FIELDS:
            value = getattr(self, name)
            if value is not None and (problem := _search_text_problem(value)) is not None:
                raise InvalidInput(name, problem)
        if self.units is not None:
            object.__setattr__(self, "units", unit_codes(self.units, "units"))
        if self.due_before is not None and not isinstance(self.due_before, datetime):
            raise InvalidInput("due_before", f"a datetime, not {excerpt(self.due_before)}")
        if self.due_before is not None and self.due_before.utcoffset() is None:
            raise InvalidInput("due_before", f"{self.due_before.isoformat()} has no UTC offset")
        if self.ended is not None and not isinstance(self.ended, bool):
            raise InvalidInput("ended", f"True, False or None, not {excerpt(self.ended)}")


@dataclass(frozen=True, slots=True)
class Page:
    """One page of cases, by code; ``next_cursor`` is the ``after`` of the next page (``None``: last page)."""

    items: tuple[Case, ...]
    next_cursor: str | None


def check_page(limit: int, after: str | None = None) -> None:
    """A page's size and cursor, as every store takes them: 1 to :data:`MAX_PAGE` cases, after a case's code."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput("limit", f"{excerpt(limit)} is not a whole number between 1 and {MAX_PAGE}")
    if after is not None and (problem := _search_text_problem(after, STORED_CODE_MAX)) is not None:
        raise InvalidInput("after", f"a case's code (the page's next_cursor): {problem}")


def unit_codes(units: object, field: str) -> frozenset[str]:
    """``units`` as a set of unit codes: any collection or iterable (a set, a list, a generator…) of at most
    :data:`UNITS_MAX` one-line codes of 1 to :data:`CODE_MAX` characters; :class:`InvalidInput` naming ``field``
    otherwise. One text is refused: its characters would be read as the units, and a scope of them would see nothing,
    or another unit's cases. A set checked once is not checked again (a province's key builds its scope of hundreds
    of codes at every request)."""
    if isinstance(units, str | bytes):
        raise InvalidInput(field, f"a collection of unit codes, not one text ({excerpt(units)}): ['CODE']")
    if isinstance(units, Mapping) or not isinstance(units, Iterable):
        raise InvalidInput(field, f"a collection of unit codes (texts), not {excerpt(units)}")
    try:
        chosen = units if isinstance(units, frozenset) else frozenset(islice(units, UNITS_MAX + 1))
    except TypeError:  # an element that is no text (a list) cannot be in a set
        raise InvalidInput(field, "a collection of unit codes (texts)") from None
    if len(chosen) > UNITS_MAX:
        raise InvalidInput(field, f"more than {UNITS_MAX} unit codes")
    if (problem := _unit_codes_problem(chosen)) is not None:
        raise InvalidInput(field, problem)
    return chosen


@lru_cache(maxsize=4_096)
def _unit_codes_problem(units: frozenset[object]) -> str | None:
    """What keeps ``units`` from being unit codes, or None: one scan of them all (cached: a frozenset hashes once)."""
    if not all(isinstance(code, str) and 0 < len(code) <= CODE_MAX for code in units) \
            or line_problem("".join(units), CODE_MAX * len(units)) is not None:  # type: ignore[arg-type]
        for code in units:  # the first that is not one, named
            problem = "empty" if code == "" else _search_text_problem(code, CODE_MAX)
            if problem is not None:
                shown = excerpt(code) if isinstance(code, str) else type(code).__name__
                return f"{shown} is not a unit code: {problem}"
    return None


def _search_text_problem(value: object, limit: int = NAME_MAX) -> str | None:
    """What keeps ``value`` from being a text to search by (one line of at most ``limit`` characters), or None. An
    empty text is one: it matches the cases whose value is empty (none, on every store), as ``None`` matches all. A
    value that is no text is named by its type alone (an identity number given as a number is not echoed)."""
    if not isinstance(value, str):
        return f"a text, not {type(value).__name__}"
    return line_problem(value, limit)


def indexed(index: Mapping[str, tuple[str, ...]], attributes: Mapping[str, JsonValue]) -> dict[str, str]:
    """The values a case is found by: for each search key of a definition's ``index``, the first of its
    attributes that holds non-empty text (a key none of them fills is left out)."""
    return indexed_by(index_order(index), attributes)


def index_order(index: Mapping[str, tuple[str, ...]]) -> tuple[tuple[str, str], ...]:
    """A definition's ``index`` flattened for :func:`indexed_by`: (search key, attribute), in the order read. Computed
    once per definition version (:class:`~motcua.workflow.engine.compiled.CompiledWorkflow`)."""
    return tuple((key, name) for key, names in index.items() for name in names)


def indexed_by(order: tuple[tuple[str, str], ...], attributes: Mapping[str, JsonValue]) -> dict[str, str]:
    """:func:`indexed`, from the flattened index (:func:`index_order`): a key takes the first of its attributes that
    holds non-empty text."""
    values: dict[str, str] = {}
    for key, name in order:
        value = attributes.get(name)
        if isinstance(value, str) and value and key not in values:
            values[key] = value
    return values


def found_by(order: tuple[tuple[str, str], ...], case: Case) -> dict[str, str]:
    """Every value a query finds ``case`` by, as a store derives them when it writes the case: its index (by the
    flattened index of its definition, :func:`index_order`) and ``state.<region>`` for each of
    :data:`FILTERED_REGIONS` the case is in. What ``replay`` holds the stored search columns to."""
    return {**indexed_by(order, case.attributes), **filtered_states(case)}


def filtered_states(case: Case) -> dict[str, str]:
    """``state.<region>`` → the case's state there, for each of :data:`FILTERED_REGIONS` it is in."""
    return {f"state.{region}": state for region in FILTERED_REGIONS
            if isinstance(state := case.state.get(region), str)}


def due_text(instant: datetime) -> str:
    """``due_before`` as the ``due`` values are stored (ISO 8601, Vietnam time): text order is time order."""
    return text(instant)


def matches(case: Case, where: CaseFilter, index: Mapping[str, str]) -> bool:
    """Whether ``case``, with the values of :func:`indexed`, is one ``where`` selects."""
    wanted: tuple[tuple[object, object], ...] = (
        (where.definition_key, case.definition_key),
        (where.lifecycle, case.state.get("lifecycle")),
        (where.deadline, case.state.get("deadline")),
        (where.procedure, index.get("procedure")),
        (where.officer, index.get("officer")),
        (where.unit, index.get("unit")),
        (where.applicant, index.get("applicant")),
    )
    if any(expected is not None and expected != actual for expected, actual in wanted):
        return False
    if where.units is not None and not ({index.get("unit"), index.get("received_by")} & where.units):
        return False
    if where.ended is not None and where.ended != ("ended" in index):
        return False
    due = index.get("due")
    return where.due_before is None or (due is not None and due <= due_text(where.due_before))
