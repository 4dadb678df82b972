"""Every statement of the DVCQG sync status (:mod:`motcua.adapters.sql.portal_status`), by name, in one place.

``record`` upserts an entry's status in one statement; a row already ``synced`` keeps its status, its
error and its first ``synced_at`` (:func:`motcua.adapters.portal.status.merged` says the same for the
memory adapter).
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from motcua.adapters.sql.portal_tables import PortalSyncRow
from motcua.adapters.sql.statement import Compiler, param
from motcua.adapters.sql.tables import table_of

__all__ = ["STATUS_COLUMNS", "SyncQueries"]

SYNC = table_of(PortalSyncRow)
SYNCED: Final = "synced"
STATUS_COLUMNS: Final = ("case_code", "sequence", "status", "attempts", "last_error", "synced_at", "updated_at")
"""The columns of a status, in the order of its rows."""


class SyncQueries:
    """The statements of the sync status, compiled for one dialect."""

    def __init__(self, dialect: Dialect) -> None:
        sql = Compiler(dialect)
        self.record = sql(_record(sql))
        mine = SYNC.c.case_code == param("code")
        self.statuses = sql(sa.select(*(SYNC.c[name] for name in STATUS_COLUMNS)).where(mine)
                            .order_by(SYNC.c.sequence))
        self.synced_counts = sql(sa.select(SYNC.c.case_code, sa.func.count()).where(SYNC.c.status == SYNCED)
                                 .group_by(SYNC.c.case_code))


def _record(sql: Compiler) -> sa.Insert:
    inserted = sql.insert(SYNC).values({name: param(name) for name in STATUS_COLUMNS})
    new, was_synced = inserted.excluded, SYNC.c.status == SYNCED
    kept = {
        "status": sa.case((was_synced, SYNC.c.status), else_=new.status),
        "last_error": sa.case((was_synced, SYNC.c.last_error), else_=new.last_error),
        "synced_at": sa.func.coalesce(SYNC.c.synced_at, new.synced_at),
        "attempts": sa.case((was_synced & (SYNC.c.attempts > new.attempts), SYNC.c.attempts), else_=new.attempts),
        "updated_at": new.updated_at,
    }
    return inserted.on_conflict_do_update(index_elements=[SYNC.c.case_code, SYNC.c.sequence], set_=kept)
