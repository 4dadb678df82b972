"""Every statement of the bulk writer (:mod:`motcua.adapters.sql.bulk`), by name, in one place.

The case and entry writes are the store's own (:func:`~motcua.adapters.sql.queries.case_insert`…), run with
``executemany``; the batch's cases are read ``FOR UPDATE`` on PostgreSQL (SQLite's write transaction
already holds the whole database), and its heads and entries read back to verify them. Lists of codes
and hashes are bound whole (:func:`~motcua.adapters.sql.statement.one_of`).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from motcua.adapters.sql.queries import AUDIT, CASE, CASE_COLUMNS, case_insert, case_update, entry_insert
from motcua.adapters.sql.statement import Compiler, one_of

__all__ = ["BulkQueries"]


class BulkQueries:
    """The bulk writer's statements, compiled for one dialect."""

    def __init__(self, dialect: Dialect) -> None:
        sql = Compiler(dialect)
        chosen = one_of(CASE.c.code, "codes")
        self.lock_cases = sql(sa.select(*(CASE.c[name] for name in CASE_COLUMNS)).where(chosen).with_for_update())
        self.insert_case = sql(case_insert(sql))
        self.update_case = sql(case_update())
        self.append_entry = sql(entry_insert(sql))
        self.heads = sql(sa.select(CASE.c.code, CASE.c.head_hash).where(chosen))
        ours = sa.and_(one_of(AUDIT.c.case_code, "codes"), one_of(AUDIT.c.hash, "hashes"))
        self.written = sql(sa.select(AUDIT.c.hash).where(ours))
