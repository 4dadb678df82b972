"""The in-memory reference adapter of :class:`workflow.ports.CaseStore`.

Good enough to run the product in-process and the yardstick of the contract suite: it keeps the
same guarantees as the SQL stores (atomic commit, optimistic concurrency, append-only entries).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from itertools import count

from workflow.audit import AuditEntry
from workflow.engine import Decision
from workflow.errors import CaseAlreadyExists, CaseNotFound, ConcurrencyConflict
from workflow.model import CancelTimer, Case, Effect, SetTimer

__all__ = ["MemoryStore"]


class MemoryStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cases: dict[str, Case] = {}
        self._entries: dict[str, list[AuditEntry]] = {}
        self._timers: dict[str, dict[str, SetTimer]] = {}
        self._effects: dict[str, list[Effect]] = {}
        self._sequences: dict[str, int] = {}
        self._positions = count(1)

    def load(self, code: str) -> Case:
        with self._lock:
            case = self._cases.get(code)
        if case is None:
            raise CaseNotFound(code)
        return case

    def commit(self, decision: Decision) -> None:
        case = decision.case
        with self._lock:
            self._check_version(case.code, decision.expected_version)
            entry = replace(decision.entry, position=next(self._positions))
            self._cases[case.code] = case
            self._entries.setdefault(case.code, []).append(entry)
            self._apply_timers(case.code, decision)
            self._effects.setdefault(case.code, []).extend(decision.effects)

    def _check_version(self, code: str, expected: int) -> None:
        stored = self._cases.get(code)
        if stored is None and expected != 0:
            raise CaseNotFound(code)
        if stored is not None and expected == 0:
            raise CaseAlreadyExists(code)
        if stored is not None and stored.version != expected:
            raise ConcurrencyConflict(code, expected)

    def _apply_timers(self, code: str, decision: Decision) -> None:
        armed = self._timers.setdefault(code, {})
        for change in decision.timers:
            if isinstance(change, CancelTimer):
                armed.pop(change.name, None)
            else:
                armed[change.name] = change

    def history(self, code: str) -> Sequence[AuditEntry]:
        with self._lock:
            return list(self._entries.get(code, ()))

    def cases(self) -> Iterator[Case]:
        with self._lock:
            snapshot = [self._cases[code] for code in sorted(self._cases)]
        return iter(snapshot)

    def entries(self) -> Iterator[AuditEntry]:
        with self._lock:
            snapshot = [entry for code in sorted(self._entries) for entry in self._entries[code]]
        return iter(snapshot)

    def timers(self, code: str) -> Sequence[SetTimer]:
        with self._lock:
            armed = self._timers.get(code, {})
            return [armed[name] for name in sorted(armed)]

    def effects(self, code: str) -> Sequence[Effect]:
        with self._lock:
            return list(self._effects.get(code, ()))

    def next_sequence(self, scope: str) -> int:
        with self._lock:
            self._sequences[scope] = self._sequences.get(scope, 0) + 1
            return self._sequences[scope]
