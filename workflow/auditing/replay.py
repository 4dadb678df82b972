"""Cases rebuilt from the audit log alone, at any point of their history.

Every entry carries the whole state after it (``state_after``, one state per region) and the
attributes its actions set (``changes``); the opening entry's validated data are the case's first
attributes (what :meth:`motcua.workflow.engine.decisions.Engine.open` starts from). Folding a case's entries in
sequence order therefore gives back the case exactly as the engine left it — state, attributes,
version, head hash, opening and last-change instants — with no catalogue, calendar or rule-set lookup,
and without ever reading the stored case row. Entries are read upcast (:mod:`motcua.workflow.auditing.upcasting`).

- :func:`replay` — the case after all its entries; :func:`replay_at` — as it stood at an instant
  (the entries that occurred at or before it); :func:`replay_steps` — the case after each entry.
- :func:`compare` names every field where a stored case row differs from its replay, and
  :func:`replay_all` does so for a whole store (a merge-join, like :func:`motcua.workflow.engine.audit.verify_chains`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import groupby

from motcua.workflow.auditing.upcasting import upcast
from motcua.workflow.engine.audit import AuditEntry
from motcua.workflow.engine.decisions import OPEN_TRIGGER
from motcua.workflow.engine.model import Case, JsonValue

__all__ = [
    "ABSENT",
    "Difference",
    "SearchColumns",
    "compare",
    "fold",
    "replay",
    "replay_all",
    "replay_at",
    "replay_steps",
]

ABSENT = "(không có)"
"""How a value that is not there at all is shown in a :class:`Difference`."""


@dataclass(frozen=True, slots=True)
class Difference:
    """One field where the stored case row and the replayed case disagree (values as JSON text)."""

    code: str
    field: str
    stored: str
    replayed: str

    def __str__(self) -> str:
        return f"{self.code} {self.field}: stored {self.stored} ≠ replayed {self.replayed}"


def fold(case: Case | None, entry: AuditEntry) -> Case:
    """The case after one more entry (``case`` is ``None`` before the first)."""
    entry = upcast(entry)
    if case is None:
        attributes: dict[str, JsonValue] = dict(entry.data) if entry.trigger == OPEN_TRIGGER else {}
        attributes.update(entry.changes)
        return Case(
            code=entry.case_code, definition_key=entry.definition_key, definition_version=entry.definition_version,
            rule_set=entry.rule_set, state=dict(entry.state_after), attributes=attributes, version=entry.sequence,
            head_hash=entry.hash, opened_at=entry.occurred_at, updated_at=entry.occurred_at,
        )
    return replace(
        case, state=dict(entry.state_after), attributes={**case.attributes, **entry.changes},
        version=entry.sequence, head_hash=entry.hash, updated_at=entry.occurred_at,
    )


def replay_steps(entries: Iterable[AuditEntry]) -> Iterator[tuple[AuditEntry, Case]]:
    """Each entry (as stored) with the case as it stood right after it, in sequence order."""
    case: Case | None = None
    for entry in entries:
        case = fold(case, entry)
        yield entry, case


def replay(entries: Iterable[AuditEntry]) -> Case | None:
    """The case after all of its entries (given in sequence order); ``None`` when there are none."""
    case: Case | None = None
    for entry in entries:
        case = fold(case, entry)
    return case


def replay_at(entries: Iterable[AuditEntry], at: datetime) -> Case | None:
    """The case exactly as it stood at ``at``: the longest run of its first entries that all occurred
    at or before ``at`` (several entries of one instant all count). ``None`` before it was opened."""
    case: Case | None = None
    for entry in entries:
        if entry.occurred_at > at:
            break
        case = fold(case, entry)
    return case


def _text(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _mapping_differences(
    code: str, prefix: str, stored: Mapping[str, JsonValue], replayed: Mapping[str, JsonValue]
) -> list[Difference]:
    """The names whose values differ, compared as JSON text: of type and value both. Python's ``==`` would take
    ``true`` for ``1``, ``0`` for ``false`` and ``3`` for ``3.0``, which the engine's decisions tell apart."""
    found = []
    for name in sorted(set(stored) | set(replayed)):
        left = _text(stored[name]) if name in stored else ABSENT
        right = _text(replayed[name]) if name in replayed else ABSENT
        if left != right:
            found.append(Difference(code, f"{prefix}.{name}", left, right))
    return found


def compare(stored: Case, replayed: Case) -> list[Difference]:
    """Every field where the stored case row differs from the case replayed from its entries."""
    code = stored.code
    scalars: list[tuple[str, object, object]] = [
        ("definition", stored.definition_ref, replayed.definition_ref),
        ("rule_set", stored.rule_set, replayed.rule_set),
        ("version", stored.version, replayed.version),
        ("head_hash", stored.head_hash, replayed.head_hash),
        ("opened_at", stored.opened_at, replayed.opened_at),
        ("updated_at", stored.updated_at, replayed.updated_at),
    ]
    found = [Difference(code, name, _text(left), _text(right)) for name, left, right in scalars if left != right]
    found += _mapping_differences(code, "state", dict(stored.state), dict(replayed.state))
    found += _mapping_differences(code, "attributes", stored.attributes, replayed.attributes)
    return found


def replay_all(
    cases: Iterable[Case], entries: Iterable[AuditEntry], search: SearchColumns | None = None
) -> Iterator[Difference]:
    """Replay every case of a store and compare it with its row (and, given ``search``, its search columns).

    ``cases`` ordered by code, ``entries`` by code then sequence (what the stores stream). A case row
    without entries and entries without a case row are differences too.
    """
    chains = ((code, list(group)) for code, group in groupby(entries, key=lambda entry: entry.case_code))
    current = next(chains, None)
    for case in cases:
        while current is not None and current[0] < case.code:
            yield _orphan(current[0], current[1])
            current = next(chains, None)
        if current is None or current[0] != case.code:
            yield Difference(case.code, "entries", f"case row at version {case.version}", ABSENT)
            continue
        replayed = replay(current[1])
        current = next(chains, None)
        if replayed is not None:
            yield from compare(case, replayed)
            yield from search.differences(replayed) if search is not None else ()
    while current is not None:
        yield _orphan(current[0], current[1])
        current = next(chains, None)


class SearchColumns:
    """Every case row's search columns — what lists, filters and reports find it by (its unit, procedure, officer,
    appointment; its lifecycle and deadline states) — held to what its replayed case gives (``expected``:
    :func:`~motcua.workflow.engine.queries.found_by` by its definition's index; ``None`` when its definition is not
    loaded: not checked). ``stored`` ordered by code, read along with :func:`replay_all`'s cases; a code it lacks (a
    case written between the reads) is passed over."""

    def __init__(self, stored: Iterable[tuple[str, Mapping[str, str]]],
                 expected: Callable[[Case], Mapping[str, str] | None]) -> None:
        self._rows = iter(stored)
        self._current = next(self._rows, None)
        self._expected = expected

    def differences(self, replayed: Case) -> list[Difference]:
        code = replayed.code
        while self._current is not None and self._current[0] < code:
            self._current = next(self._rows, None)
        if self._current is None or self._current[0] != code or (wanted := self._expected(replayed)) is None:
            return []
        return _mapping_differences(code, "found_by", self._current[1], wanted)


def _orphan(code: str, chain: list[AuditEntry]) -> Difference:
    return Difference(code, "case", ABSENT, f"replayed to version {chain[-1].sequence}")
