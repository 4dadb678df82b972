"""The SQL :class:`~motcua.adapters.portal.status.SyncLog`: ``portal_sync`` rows on the store's database.

A status is upserted in one statement; a row already ``synced`` keeps its status and first ``synced_at``
(:func:`motcua.adapters.portal.status.merged` says the same for the memory adapter).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from motcua.adapters.sql.engine import WRITE
from motcua.adapters.sql.errors import translated
from motcua.adapters.sql.portal_tables import PortalSyncRow
from motcua.adapters.sql.tables import table_of
from motcua.workflow.dvcqg.portal import EntrySync

__all__ = ["SqlSyncLog"]

SYNC = table_of(PortalSyncRow)
_SYNCED = "synced"


class SqlSyncLog:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**WRITE)

    def record(self, status: EntrySync) -> None:
        with translated(), self._writer.begin() as connection:
            connection.execute(_upsert(connection, status))

    def statuses(self, code: str) -> list[EntrySync]:
        chosen = SYNC.select().where(SYNC.c.case_code == code).order_by(SYNC.c.sequence)
        with translated(), self._engine.connect() as connection:
            return [_status_of(row) for row in connection.execute(chosen).mappings()]

    def synced_counts(self) -> dict[str, int]:
        counted = (sa.select(SYNC.c.case_code, sa.func.count()).where(SYNC.c.status == _SYNCED)
                   .group_by(SYNC.c.case_code))
        with translated(), self._engine.connect() as connection:
            return {code: int(count) for code, count in connection.execute(counted).all()}


def _upsert(connection: Connection, status: EntrySync) -> Any:
    values = {
        "case_code": status.case_code, "sequence": status.sequence, "status": status.status,
        "attempts": status.attempts, "last_error": status.last_error, "synced_at": status.synced_at,
        "updated_at": status.updated_at,
    }
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(SYNC).values(values)
    new, was_synced = insert.excluded, SYNC.c.status == _SYNCED
    kept = {
        "status": sa.case((was_synced, SYNC.c.status), else_=new.status),
        "last_error": sa.case((was_synced, SYNC.c.last_error), else_=new.last_error),
        "synced_at": sa.func.coalesce(SYNC.c.synced_at, new.synced_at),
        "attempts": sa.case((was_synced & (SYNC.c.attempts > new.attempts), SYNC.c.attempts), else_=new.attempts),
        "updated_at": new.updated_at,
    }
    return insert.on_conflict_do_update(index_elements=[SYNC.c.case_code, SYNC.c.sequence], set_=kept)


def _status_of(row: sa.RowMapping) -> EntrySync:
    return EntrySync(
        case_code=row["case_code"], sequence=row["sequence"], status=row["status"], attempts=row["attempts"],
        updated_at=row["updated_at"], last_error=row["last_error"], synced_at=row["synced_at"],
    )
