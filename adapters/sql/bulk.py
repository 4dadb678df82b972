"""Many decisions in one transaction, for file imports: cases and audit entries, all of them or none.

:meth:`SqlStore.commit <motcua.adapters.sql.store.SqlStore.commit>` writes one decision per transaction; an
import must write thousands as one, since nothing of a refused file may remain. :func:`transaction`
opens one write transaction on the store's engine (``BEGIN IMMEDIATE`` on SQLite) and hands out a
:class:`BulkWriter`, which writes with the store's own row mapping (:mod:`motcua.adapters.sql.mapping`) and
statements (:mod:`motcua.adapters.sql.queries`), a batch at a time:

- :meth:`BulkWriter.cases` reads a batch's cases, ``FOR UPDATE`` on PostgreSQL (SQLite's write
  transaction already holds the whole database), so nobody moves them before the commit;
- :meth:`BulkWriter.write` inserts the new cases, updates the others ``WHERE version = expected`` and
  appends the entries (one ``executemany`` each), then reads the batch's head hashes back: a case that
  another writer created or moved meanwhile raises, and the whole transaction rolls back.

Only plain decisions are taken: imported dossiers arm no timers, release no effects and consume no
timer, so a decision carrying any of them is refused (:class:`~motcua.workflow.engine.errors.InvalidInput`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from motcua.adapters.sql import mapping
from motcua.adapters.sql.codec import codec_for
from motcua.adapters.sql.engine import WRITE
from motcua.adapters.sql.errors import translated
from motcua.adapters.sql.queries import Queries
from motcua.adapters.sql.tables import AuditEntryRow, CaseRow, table_of
from motcua.workflow.engine.decisions import Decision
from motcua.workflow.engine.errors import CaseAlreadyExists, ConcurrencyConflict, InvalidInput, MotcuaError
from motcua.workflow.engine.model import Case

__all__ = ["BulkWriter", "transaction"]

CASE = table_of(CaseRow)
AUDIT = table_of(AuditEntryRow)


@contextmanager
def transaction(engine: Engine) -> Iterator[BulkWriter]:
    """One write transaction: committed when the block ends, rolled back if it raises."""
    with translated(), engine.execution_options(**WRITE).begin() as connection:
        yield BulkWriter(connection)


class BulkWriter:
    def __init__(self, connection: Connection) -> None:
        dialect = connection.dialect.name
        self._connection = connection
        self._codec = codec_for(dialect)
        self._queries = Queries().rendered(dialect)

    def cases(self, codes: Sequence[str]) -> dict[str, Case]:
        """The stored cases among ``codes``, locked until the transaction ends."""
        if not codes:
            return {}
        statement = sa.select(CASE).where(CASE.c.code.in_(list(codes))).with_for_update()
        rows = self._connection.execute(statement).mappings()
        return {row["code"]: mapping.case_from_row(CaseRow(**row)) for row in rows}

    def write(self, decisions: Sequence[Decision]) -> None:
        """Write plain decisions (cases and entries); raise, and so roll back, if any case was lost."""
        if not decisions:
            return
        for decision in decisions:
            _require_plain(decision)
        created = [mapping.case_params(d.case, self._codec) for d in decisions if d.expected_version == 0]
        updated = [
            {**mapping.case_params(d.case, self._codec), "expected_version": d.expected_version}
            for d in decisions if d.expected_version != 0
        ]
        if created:
            self._connection.exec_driver_sql(self._queries.insert_case, created)
        if updated:
            self._connection.exec_driver_sql(self._queries.update_case, updated)
        entries = [mapping.entry_params(d.entry, self._codec) for d in decisions]
        self._connection.exec_driver_sql(self._queries.append_entry, entries)
        self._verify(decisions)

    def _verify(self, decisions: Sequence[Decision]) -> None:
        """The statements skip conflicts silently: check that every case and entry is ours."""
        codes = [d.case.code for d in decisions]
        heads = self._connection.execute(sa.select(CASE.c.code, CASE.c.head_hash).where(CASE.c.code.in_(codes)))
        stored = {code: head for code, head in heads}
        ours = sa.and_(AUDIT.c.case_code.in_(codes), AUDIT.c.hash.in_([d.entry.hash for d in decisions]))
        written = set(self._connection.execute(sa.select(AUDIT.c.hash).where(ours)).scalars())
        for decision in decisions:
            if stored.get(decision.case.code) != decision.case.head_hash or decision.entry.hash not in written:
                raise _lost(decision)


def _require_plain(decision: Decision) -> None:
    if decision.timers or decision.effects or decision.consumes is not None:
        raise InvalidInput("decision", f"{decision.case.code}: a bulk write carries no timers or effects")


def _lost(decision: Decision) -> MotcuaError:
    if decision.expected_version == 0:
        return CaseAlreadyExists(decision.case.code)
    return ConcurrencyConflict(decision.case.code, decision.expected_version)
