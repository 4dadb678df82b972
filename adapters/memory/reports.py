"""The in-memory reference adapter of :class:`motcua.workflow.engine.ports.Reports`.

It folds the memory store's audit entries by global position with :func:`motcua.workflow.reports.projection.fold`
(read upcast to the current audit schema, as every reader reads them) and computes the reports with
the reference functions of the core, dossier by dossier in Python: the yardstick the SQL projection
is held to. The ``sync`` indicator reads the outbox (the dossiers with a ``dvcqg.sync`` effect were
published) and the sync status as they stand when the report is computed.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping
from datetime import date

from motcua.adapters.memory.store import MemoryStore
from motcua.adapters.portal.status import SyncLog
from motcua.workflow.dvcqg.portal import SYNC_KIND
from motcua.workflow.reports.par766 import IndicatorCounts, indicator_counts
from motcua.workflow.reports.projection import Bieu06, DossierFacts, EligibleOf, StatusOf, bieu06, fold

__all__ = ["MemoryReports"]


class MemoryReports:
    def __init__(self, store: MemoryStore, status_of: StatusOf, eligible_of: EligibleOf, sync: SyncLog) -> None:
        self._store = store
        self._sync = sync  # the DVCQG sync status the portal notifier records
        self._status_of = status_of
        self._eligible_of = eligible_of
        self._lock = threading.Lock()
        self._facts: dict[str, DossierFacts] = {}
        self._checkpoint = 0

    def catch_up(self) -> int:
        with self._lock:
            fresh = sorted(
                (entry for entry in self._store.entries() if (entry.position or 0) > self._checkpoint),
                key=lambda entry: entry.position or 0,
            )
            for entry in fresh:
                folded = fold(self._facts.get(entry.case_code), entry, self._status_of, self._eligible_of)
                if folded is not None:
                    self._facts[entry.case_code] = folded
                self._checkpoint = entry.position or self._checkpoint
            return len(fresh)

    def rebuild(self) -> int:
        with self._lock:
            self._facts.clear()
            self._checkpoint = 0
        return self.catch_up()

    def bieu06(self, start: date, end: date, *, units: frozenset[str] | None = None) -> Bieu06:
        return bieu06(self._snapshot(), start, end, units=units)

    def indicator_counts(self, start: date, end: date, *, units: frozenset[str] | None = None) -> IndicatorCounts:
        published = self._store.cases_with_effect(SYNC_KIND)
        return indicator_counts(self._snapshot(), start, end, published=published, synced=self._fully_synced(),
                                units=units)

    def facts(self, code: str) -> DossierFacts | None:
        with self._lock:
            return self._facts.get(code)

    def facts_by_code(self, codes: Collection[str]) -> Mapping[str, DossierFacts]:
        with self._lock:
            return {code: facts for code in codes if (facts := self._facts.get(code)) is not None}

    def _fully_synced(self) -> set[str]:
        """The dossiers whose every entry is synced to DVCQG."""
        versions = {case.code: case.version for case in self._store.cases()}
        return {code for code, synced in self._sync.synced_counts().items() if synced == versions.get(code)}

    def _snapshot(self) -> list[DossierFacts]:
        """The facts ordered by dossier code (the order the SQL adapter reads them in)."""
        with self._lock:
            return [self._facts[code] for code in sorted(self._facts)]
