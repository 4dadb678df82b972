"""The ports the core needs from the outside world. Adapters implement them.

:class:`CaseStore` is the unit of work: ``commit`` writes the case row (version + 1), its audit
entry, its timer changes and its outbox effects atomically, or raises and writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from workflow.audit import AuditEntry
from workflow.engine import Decision
from workflow.model import Case, Effect, SetTimer

__all__ = ["CaseStore", "Observer"]


class CaseStore(Protocol):
    def load(self, code: str) -> Case:
        """The case at its latest version; :class:`~workflow.errors.CaseNotFound` if absent."""
        ...

    def commit(self, decision: Decision) -> None:
        """Persist a decision atomically, if the stored case is still at ``decision.expected_version``.

        Raises :class:`~workflow.errors.ConcurrencyConflict` (another writer won) or
        :class:`~workflow.errors.CaseAlreadyExists` (opening a code already used); nothing is written then.
        """
        ...

    def history(self, code: str) -> Sequence[AuditEntry]:
        """A case's entries in sequence order (empty if the case is unknown)."""
        ...

    def cases(self) -> Iterator[Case]:
        """Every case, ordered by code."""
        ...

    def entries(self) -> Iterator[AuditEntry]:
        """Every audit entry, ordered by case code then sequence."""
        ...

    def timers(self, code: str) -> Sequence[SetTimer]:
        """The timers currently armed on a case, ordered by name."""
        ...

    def effects(self, code: str) -> Sequence[Effect]:
        """The effects a case's decisions put in the outbox, in commit order."""
        ...

    def next_sequence(self, scope: str) -> int:
        """1, 2, 3… per scope, never twice (dossier numbers per agency and day)."""
        ...


class Observer(Protocol):
    """Hooks around a decision (logging, metrics, effect relay), called by the service."""

    def committed(self, decision: Decision) -> None: ...

    def rejected(self, code: str, trigger: str, error: Exception) -> None: ...
