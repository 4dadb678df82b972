"""The SQL :class:`~motcua.adapters.bulk.BulkWriter`: many decisions in one transaction, all of them or none.

:meth:`SqlStore.commit <motcua.adapters.sql.store.SqlStore.commit>` writes one unit of work per transaction;
an import must write thousands as one. :func:`transaction` opens one write transaction on the driver
(``BEGIN IMMEDIATE`` on SQLite) and hands out a :class:`SqlBulkWriter`, which writes with the store's own row
mapping (:mod:`motcua.adapters.sql.mapping`) and statements (:mod:`motcua.adapters.sql.bulk_queries`), a
batch at a time:

- :meth:`SqlBulkWriter.cases` reads a batch's cases, ``FOR UPDATE`` on PostgreSQL (SQLite's write
  transaction already holds the whole database), so nobody moves them before the commit;
- :meth:`SqlBulkWriter.write` inserts the new cases, updates the others ``WHERE version = expected`` and
  appends the entries (one ``executemany`` each), then reads the batch's head hashes back: a case that
  another writer created or moved meanwhile raises, and the whole transaction rolls back.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from motcua.adapters.bulk import require_plain
from motcua.adapters.sql import mapping
from motcua.adapters.sql.bulk_queries import BulkQueries
from motcua.adapters.sql.codec import Codec
from motcua.adapters.sql.driver import Driver, Unit
from motcua.workflow.engine.decisions import Decision
from motcua.workflow.engine.model import Case
from motcua.workflow.errors import CaseAlreadyExists, ConcurrencyConflict, MotcuaError

__all__ = ["SqlBulkWriter", "transaction"]


@contextmanager
def transaction(driver: Driver, queries: BulkQueries) -> Iterator[SqlBulkWriter]:
    """One write transaction: committed when the block ends, rolled back if it raises."""
    with driver.transaction() as unit:
        yield SqlBulkWriter(unit, queries, driver.codec)


class SqlBulkWriter:
    def __init__(self, unit: Unit, queries: BulkQueries, codec: Codec) -> None:
        self._unit = unit
        self._sql = queries
        self._codec = codec

    def cases(self, codes: Sequence[str]) -> dict[str, Case]:
        """The stored cases among ``codes``, locked until the transaction ends."""
        if not codes:
            return {}
        records = self._unit.all(self._sql.lock_cases, {"codes": self._codec.values(codes)})
        return {record[0]: mapping.case_from_record(record, self._codec) for record in records}

    def write(self, decisions: Sequence[Decision]) -> None:
        """Write plain decisions (cases and entries); raise, and so roll back, if any case was lost."""
        if not decisions:
            return
        require_plain(decisions)
        cases = [(d, mapping.case_params(d.case, d.index, self._codec)) for d in decisions]
        created = [params for d, params in cases if d.expected_version == 0]
        updated = [{**params, "expected_version": d.expected_version} for d, params in cases if d.expected_version]
        if created:
            self._unit.executemany(self._sql.insert_case, created)
        if updated:
            self._unit.executemany(self._sql.update_case, updated)
        self._unit.executemany(self._sql.append_entry, [mapping.entry_params(d.entry, self._codec) for d in decisions])
        self._verify(decisions)

    def _verify(self, decisions: Sequence[Decision]) -> None:
        """The statements skip conflicts silently: check that every case and entry is ours."""
        codes = self._codec.values([d.case.code for d in decisions])
        stored = {code: head for code, head in self._unit.all(self._sql.heads, {"codes": codes})}
        hashes = self._codec.values([d.entry.hash for d in decisions])
        written = {row[0] for row in self._unit.all(self._sql.written, {"codes": codes, "hashes": hashes})}
        for decision in decisions:
            if stored.get(decision.case.code) != decision.case.head_hash or decision.entry.hash not in written:
                raise _lost(decision)


def _lost(decision: Decision) -> MotcuaError:
    if decision.expected_version == 0:
        return CaseAlreadyExists(decision.case.code)
    return ConcurrencyConflict(decision.case.code, decision.expected_version)
