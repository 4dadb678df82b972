"""The memory backend: every store in this process, gone with it (``memory://``).

Its bulk writer keeps the decisions of a unit of work and commits them one by one when the block ends:
a refusal before the end leaves nothing behind; only a concurrent in-process writer on the same cases
could interleave with the commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Final

from motcua.adapters.bulk import require_plain
from motcua.adapters.keys import MemoryHttpStore
from motcua.adapters.memory.pins import MemoryPins
from motcua.adapters.memory.reports import MemoryReports
from motcua.adapters.memory.store import MemoryStore
from motcua.adapters.portal.status import MemorySyncLog
from motcua.adapters.users import MemoryUserStore
from motcua.workflow.engine.decisions import Decision
from motcua.workflow.engine.model import Case
from motcua.workflow.errors import CaseNotFound
from motcua.workflow.reports.projection import EligibleOf, StatusOf

__all__ = ["MemoryBackend", "MemoryBulkWriter"]


class MemoryBackend:
    durable: Final = False

    def __init__(self) -> None:
        self.store = MemoryStore()
        self.sync = MemorySyncLog()
        self.keys = MemoryHttpStore()
        self.users = MemoryUserStore()
        self.pins = MemoryPins()

    def reports(self, status_of: StatusOf, eligible_of: EligibleOf) -> MemoryReports:
        return MemoryReports(self.store, status_of, eligible_of, self.sync)

    @contextmanager
    def bulk(self) -> Iterator[MemoryBulkWriter]:
        writer = MemoryBulkWriter(self.store)
        yield writer
        writer.commit()

    def timer_wakeups(self, wake: Callable[[], None]) -> None:
        """Nothing to listen to: the memory store lives in this process (the dispatcher's sleep is bounded)."""
        return None

    def close(self) -> None:
        """Nothing to release: the stores go with the backend."""


class MemoryBulkWriter:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._decisions: list[Decision] = []

    def cases(self, codes: Sequence[str]) -> dict[str, Case]:
        found: dict[str, Case] = {}
        for code in codes:
            try:
                found[code] = self._store.load(code)
            except CaseNotFound:
                continue
        return found

    def write(self, decisions: Sequence[Decision]) -> None:
        require_plain(decisions)
        self._decisions.extend(decisions)

    def commit(self) -> None:
        """Commit the decisions kept, in order, all or none."""
        self._store.commit_plain(self._decisions)
