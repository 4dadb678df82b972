"""The sync status of each audit entry sent to DVCQG: the port, and its in-memory adapter.

:class:`SyncLog` is what :class:`~motcua.adapters.portal.sync.PortalNotifier` writes after every attempt and
what the reports and ``motcua sync status`` read. An entry without a status is pending (its effect is
waiting in the outbox); once ``synced`` an entry stays synced (a repeated delivery that fails changes
nothing the portal holds) and keeps its first ``synced_at``. The SQL adapter is
:class:`motcua.adapters.sql.portal_status.SqlSyncLog`.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Protocol

from motcua.workflow.dvcqg.portal import EntrySync

__all__ = ["MemorySyncLog", "SyncLog", "merged"]


class SyncLog(Protocol):
    def record(self, status: EntrySync) -> None:
        """Record the outcome of an attempt (see :func:`merged` for what an earlier status keeps)."""
        ...

    def statuses(self, code: str) -> list[EntrySync]:
        """A dossier's recorded entry statuses, by sequence."""
        ...

    def synced_counts(self) -> dict[str, int]:
        """Per dossier with a recorded status, how many of its entries are synced."""
        ...


def merged(before: EntrySync | None, after: EntrySync) -> EntrySync:
    """What is stored when ``after`` is recorded over ``before``: synced stays synced, at its first instant."""
    if before is None or before.status != "synced":
        return after
    return replace(before, attempts=max(before.attempts, after.attempts), updated_at=after.updated_at)


class MemorySyncLog:
    """The reference :class:`SyncLog`, beside a memory store."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._statuses: dict[tuple[str, int], EntrySync] = {}

    def record(self, status: EntrySync) -> None:
        key = (status.case_code, status.sequence)
        with self._lock:
            self._statuses[key] = merged(self._statuses.get(key), status)

    def statuses(self, code: str) -> list[EntrySync]:
        with self._lock:
            found = [item for (case_code, _), item in self._statuses.items() if case_code == code]
        return sorted(found, key=lambda item: item.sequence)

    def synced_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self._lock:
            for item in self._statuses.values():
                if item.status == "synced":
                    counts[item.case_code] = counts.get(item.case_code, 0) + 1
        return counts
