"""The SQL :class:`~motcua.adapters.portal.status.SyncLog`: ``portal_sync`` rows on the store's database.

A status is upserted in one statement; a row already ``synced`` keeps its status and first ``synced_at``
(:func:`motcua.adapters.portal.status.merged` says the same for the memory adapter). The statements are
named in :mod:`motcua.adapters.sql.portal_queries` and run on the store's driver.
"""

from __future__ import annotations

from motcua.adapters.sql.codec import Codec
from motcua.adapters.sql.driver import Driver, Record
from motcua.adapters.sql.mapping import maybe
from motcua.adapters.sql.portal_queries import SyncQueries
from motcua.workflow.dvcqg.portal import EntrySync

__all__ = ["SqlSyncLog"]


class SqlSyncLog:
    def __init__(self, driver: Driver) -> None:
        self._driver = driver
        self._codec = driver.codec
        self._sql = SyncQueries(driver.dialect)

    def record(self, status: EntrySync) -> None:
        values = {
            "case_code": status.case_code, "sequence": status.sequence, "status": status.status,
            "attempts": status.attempts, "last_error": status.last_error,
            "synced_at": maybe(self._codec.instant, status.synced_at),
            "updated_at": self._codec.instant(status.updated_at),
        }
        with self._driver.transaction() as unit:
            unit.execute(self._sql.record, values)

    def statuses(self, code: str) -> list[EntrySync]:
        with self._driver.reading() as unit:
            records = unit.all(self._sql.statuses, {"code": code})
        return [_status_of(record, self._codec) for record in records]

    def synced_counts(self) -> dict[str, int]:
        with self._driver.reading() as unit:
            return {code: int(count) for code, count in unit.all(self._sql.synced_counts, {})}


def _status_of(record: Record, codec: Codec) -> EntrySync:
    case_code, sequence, status, attempts, last_error, synced_at, updated_at = record
    return EntrySync(
        case_code=case_code, sequence=sequence, status=status, attempts=attempts,
        updated_at=codec.instant_from(updated_at), last_error=last_error,
        synced_at=maybe(codec.instant_from, synced_at),
    )
