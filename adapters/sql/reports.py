"""The SQL adapter of :class:`motcua.workflow.engine.ports.Reports`: a projection of the audit log, and reports as
one aggregation each over it, on SQLite or PostgreSQL.

**Catching up.** The projection (``dossier_report``, ``dossier_pause``, ``report_field``, see
:mod:`motcua.adapters.sql.report_tables`) remembers in ``projection_checkpoint`` the global position it has
folded up to. :meth:`SqlReports.catch_up` reads the entries after it in position order, in batches,
upcast to the current audit schema (:func:`motcua.workflow.auditing.upcasting.upcast`, as every reader reads them);
each batch loads the facts of the dossiers it touches, folds the entries into them with
:func:`motcua.workflow.reports.projection.fold` (the core's fold, never a copy), upserts the rows and advances the
checkpoint, all in one transaction, so a crash anywhere leaves the projection at a batch boundary.
Concurrent catch-ups queue on the checkpoint row (``FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE``).
:meth:`SqlReports.rebuild` empties the projection and folds the whole log in one transaction (on
SQLite it holds the write lock meanwhile: engine writers wait, up to the busy timeout).

On PostgreSQL, positions come from a sequence: a transaction may take position 7, and commit after
another one took and committed 8. Reading "after the checkpoint" at that instant would see 8, move the
checkpoint past 7, and never fold 7. So a catch-up first takes a *horizon*: it locks ``audit_entry``
in ``SHARE`` mode for an instant (which waits for the transactions writing entries, and holds off new
ones meanwhile) and reads the highest position; every position up to it is then committed or will
never be, and the catch-up stops there. The lock is taken by ``motcua_audit_horizon()`` (migration
0007), a function running as the schema's owner, so the application's role needs no privilege on the
log beyond INSERT and SELECT. SQLite writers are serialised and commit in position order.

**Reports.** Biểu 06 is one ``SELECT field_code, … GROUP BY field_code`` with ``SUM(CASE …)`` over
comparisons of the precomputed Vietnam dates (the field names are joined to its few rows afterwards);
the Decision 766 counts are one aggregation over the same rows (the ``sync`` counts with a correlated
``EXISTS`` over the outbox's ``dvcqg.sync`` effects and a count of ``portal_sync`` rows). A dossier not
ended has ``ended_on`` = :data:`~motcua.adapters.sql.report_tables.OPEN`, so "not ended before the period" is one
range of the index ``ix_dossier_report_bieu06``, which holds every column Biểu 06 reads: the report is an
index-only range scan, of the period's dossiers and the open ones, not of the commune's whole history.
Paused at the end of the period is an uncorrelated ``NOT IN`` over the pauses running then (one range of
their index), hashed once per query. Both reports return exactly what the core's reference functions
return over the folded facts (the contract tests hold them to it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import fields
from datetime import date, datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from motcua.adapters.sql.engine import WRITE
from motcua.adapters.sql.errors import translated
from motcua.adapters.sql.portal_tables import PortalSyncRow
from motcua.adapters.sql.report_tables import (
    OPEN,
    DossierPauseRow,
    DossierReportRow,
    ProjectionCheckpointRow,
    ReportFieldRow,
)
from motcua.adapters.sql.tables import AuditEntryRow, CaseRow, OutboxRow, table_of
from motcua.workflow.auditing.upcasting import upcast
from motcua.workflow.dvcqg.portal import SYNC_KIND
from motcua.workflow.engine.audit import AuditEntry
from motcua.workflow.engine.clock import to_vietnam_time
from motcua.workflow.reports.par766 import SATISFIED_RATING, IndicatorCounts
from motcua.workflow.reports.projection import ONLINE, Bieu06, Bieu06Row, DossierFacts, Pause, StatusOf, fold

__all__ = ["BATCH", "PROJECTION", "SqlReports", "bieu06_statement", "indicator_statement"]

BATCH: Final = 1000  # audit entries folded per transaction
PROJECTION: Final = "reporting"  # the checkpoint's name

AUDIT = table_of(AuditEntryRow)
REPORT = table_of(DossierReportRow)
PAUSE = table_of(DossierPauseRow)
CHECKPOINT = table_of(ProjectionCheckpointRow)
FIELD = table_of(ReportFieldRow)
SYNC = table_of(PortalSyncRow)
OUTBOX = table_of(OutboxRow)
CASE = table_of(CaseRow)
_NEVER_ACCEPTED = (1, 3)
_FACT_COLUMNS = tuple(item.name for item in fields(DossierFacts) if item.name != "pauses")


class SqlReports:
    """A :class:`~motcua.workflow.engine.ports.Reports` on the database of ``engine`` (made by
    :func:`motcua.adapters.sql.engine.create_engine`, migrated to 0003 or later; share the store's engine)."""

    def __init__(self, engine: Engine, status_of: StatusOf, *, batch: int = BATCH) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**WRITE)
        self._status_of = status_of
        self._batch = batch

    # -- the projection -------------------------------------------------------------------------

    def catch_up(self) -> int:
        horizon = self._horizon()
        folded = 0
        while True:
            with translated(), self._writer.begin() as connection:
                read = self._fold_batch(connection, self._checkpoint(connection), horizon)
            folded += read
            if read < self._batch:
                return folded

    def rebuild(self) -> int:
        """Empty the projection and fold the whole log again, in one transaction: a report running
        meanwhile sees the old projection until the new one is complete."""
        horizon = self._horizon()
        folded = 0
        with translated(), self._writer.begin() as connection:
            self._checkpoint(connection)
            for table in (PAUSE, REPORT, FIELD):
                connection.execute(sa.delete(table))
            position = 0
            while read := self._fold_batch(connection, position, horizon):
                folded += read
                position = self._checkpoint(connection)
        return folded

    def facts(self, code: str) -> DossierFacts | None:
        with translated(), self._engine.connect() as connection:
            return self._load(connection, [code]).get(code)

    def _horizon(self) -> int | None:
        """The highest position below which no entry can still appear (PostgreSQL; see the module doc)."""
        if self._engine.dialect.name != "postgresql":
            return None
        with translated(), self._engine.begin() as connection:  # the lock is the function's, held to the commit
            return int(connection.execute(sa.select(sa.func.motcua_audit_horizon())).scalar_one())

    def _checkpoint(self, connection: Connection) -> int:
        """The checkpoint's position, the row created if missing and locked until the transaction ends."""
        connection.execute(_insert(connection, CHECKPOINT).values(name=PROJECTION, position=0).on_conflict_do_nothing())
        mine = CHECKPOINT.c.name == PROJECTION
        return int(connection.execute(sa.select(CHECKPOINT.c.position).where(mine).with_for_update()).scalar_one())

    def _fold_batch(self, connection: Connection, after: int, horizon: int | None) -> int:
        """Fold the next batch of entries after ``after``; returns how many were read."""
        entries = self._entries(connection, after, horizon)
        if not entries:
            return 0
        facts = self._load(connection, sorted({entry.case_code for entry in entries}))
        changed: set[str] = set()
        for entry in entries:
            folded = fold(facts.get(entry.case_code), entry, self._status_of)
            if folded is not None:
                facts[entry.case_code] = folded
                changed.add(entry.case_code)
        self._save(connection, [facts[code] for code in sorted(changed)])
        last = entries[-1].position or after
        connection.execute(sa.update(CHECKPOINT).where(CHECKPOINT.c.name == PROJECTION).values(position=last))
        return len(entries)

    def _entries(self, connection: Connection, after: int, horizon: int | None) -> list[AuditEntry]:
        chosen = AUDIT.c.position > after
        if horizon is not None:
            chosen = sa.and_(chosen, AUDIT.c.position <= horizon)
        statement = sa.select(AUDIT).where(chosen).order_by(AUDIT.c.position).limit(self._batch)
        return [upcast(_entry_of(row)) for row in connection.execute(statement).mappings()]

    def _load(self, connection: Connection, codes: Sequence[str]) -> dict[str, DossierFacts]:
        if not codes:
            return {}
        pauses: dict[str, list[Pause]] = {}
        chosen = PAUSE.select().where(PAUSE.c.code.in_(codes)).order_by(PAUSE.c.code, PAUSE.c.seq)
        for row in connection.execute(chosen).mappings():
            resumed = None if row["end_on"] == OPEN else row["end_on"]
            pauses.setdefault(row["code"], []).append(Pause(row["start_on"], resumed))
        rows = connection.execute(REPORT.select().where(REPORT.c.code.in_(codes))).mappings()
        return {row["code"]: _facts_of(row, pauses.get(row["code"], ())) for row in rows}

    def _save(self, connection: Connection, facts: Sequence[DossierFacts]) -> None:
        if not facts:
            return
        statement = _insert(connection, REPORT)
        updated = {column.name: statement.excluded[column.name] for column in REPORT.c if column.name != "code"}
        connection.execute(statement.on_conflict_do_update(index_elements=[REPORT.c.code], set_=updated),
                           [_row_of(item) for item in facts])
        connection.execute(sa.delete(PAUSE).where(PAUSE.c.code.in_([item.code for item in facts])))
        pauses = [
            {"code": item.code, "seq": seq, "start_on": pause.start, "end_on": pause.end or OPEN}
            for item in facts for seq, pause in enumerate(item.pauses, start=1)
        ]
        if pauses:
            connection.execute(sa.insert(PAUSE), pauses)
        latest = {item.field_code: item.field_name for item in sorted(facts, key=lambda item: item.position)}
        names = _insert(connection, FIELD)
        renamed = {"field_name": names.excluded.field_name}
        connection.execute(names.on_conflict_do_update(index_elements=[FIELD.c.field_code], set_=renamed),
                           [{"field_code": code, "field_name": name} for code, name in sorted(latest.items())])

    # -- reports --------------------------------------------------------------------------------

    def bieu06(self, start: date, end: date) -> Bieu06:
        with self._reading() as connection:
            found = connection.execute(bieu06_statement(start, end)).all()
        rows = sorted((_bieu06_row(row) for row in found), key=lambda row: row.field_code)
        report = Bieu06(start, end, tuple(rows))
        for row in rows:
            report.total.add(row)
        return report

    def indicator_counts(self, start: date, end: date) -> IndicatorCounts:
        with self._reading() as connection:
            found = connection.execute(indicator_statement(start, end)).one()._mapping
        return _indicator_counts({name: int(value or 0) for name, value in found.items()})

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A read transaction; on PostgreSQL without JIT: compiling one aggregation with LLVM costs more
        than it saves (its cost estimate crosses ``jit_above_cost`` long before it takes a second)."""
        with translated(), self._engine.connect() as connection, connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("SET LOCAL jit = off"))
            yield connection


# -- SQL expressions ------------------------------------------------------------------------------


def bieu06_statement(start: date, end: date) -> sa.Select[*tuple[Any, ...]]:
    """The one aggregation of Biểu 06: per field, the counts the other columns follow from; the field's name
    is joined to the few rows it yields (inside the aggregation, a per-group lookup would keep PostgreSQL
    from aggregating in parallel)."""
    counts = _Counts(start, end)
    grouped = (
        sa.select(REPORT.c.field_code, *counts.bieu06())
        .where(counts.to_handle())
        .group_by(REPORT.c.field_code)
        .subquery("grouped")
    )
    name = sa.func.coalesce(FIELD.c.field_name, grouped.c.field_code)
    joined = grouped.outerjoin(FIELD, FIELD.c.field_code == grouped.c.field_code)
    return (
        sa.select(grouped.c.field_code, name, *(column for column in grouped.c if column.name != "field_code"))
        .select_from(joined)
        .order_by(grouped.c.field_code)
    )


def indicator_statement(start: date, end: date) -> sa.Select[*tuple[Any, ...]]:
    """The one aggregation of the Decision 766 counts, the DVCQG sync counts included."""
    counts = _Counts(start, end)
    return sa.select(*counts.indicators(), *counts.sync()).where(counts.to_handle())


class _Counts:
    """The ``SUM(CASE …)`` terms of one period, over ``dossier_report``'s Vietnam dates.

    An open dossier's ``ended_on`` is :data:`~motcua.adapters.sql.report_tables.OPEN` (9999-12-31): after every
    period's end. Paused-at-the-end is an uncorrelated ``IN`` over ``dossier_pause``, which both databases
    evaluate once (a hashed subplan, an ephemeral index) and probe per row.
    """

    def __init__(self, start: date, end: date) -> None:
        self.start, self.end = start, end
        c = REPORT.c
        self.resolved = c.ended_on <= end  # never true for a dossier still open (ended_on = OPEN)
        self.received = c.received_on >= start
        paused = sa.select(PAUSE.c.code).where(PAUSE.c.end_on > end, PAUSE.c.start_on <= end)
        self.overdue = sa.and_(c.ended_on > end, c.appointment_on < end, c.code.not_in(paused))
        self.early = sa.and_(self.resolved, c.ended_on < c.appointment_on)
        self.on_time = sa.and_(self.resolved, sa.or_(c.appointment_on.is_(None), c.ended_on == c.appointment_on))
        self.late = sa.and_(self.resolved, c.ended_on > c.appointment_on)

    def to_handle(self) -> sa.ColumnElement[bool]:
        """Accepted, received by the end, and not ended before the start (the range of the index)."""
        c = REPORT.c
        return sa.and_(c.ended_on >= self.start, c.received_on <= self.end, c.status.not_in(_NEVER_ACCEPTED))

    def bieu06(self) -> list[sa.ColumnElement[int]]:
        """total, online, carried over, early, on time, late, overdue: the other columns follow from them."""
        c = REPORT.c
        return [
            sa.func.count().label("total"),
            _sum(sa.and_(self.received, c.channel == ONLINE), "online"),
            _sum(c.received_on < self.start, "carried_over"),
            _sum(self.early, "resolved_early"),
            _sum(self.on_time, "resolved_on_time"),
            _sum(self.late, "resolved_late"),
            _sum(self.overdue, "pending_overdue"),
        ]

    def indicators(self) -> list[sa.ColumnElement[int]]:
        c = REPORT.c
        paper = sa.and_(self.received, c.paper_result)
        fee = sa.and_(self.received, c.fee != 0)
        return [
            *(column for column in self.bieu06() if column.name not in ("online", "carried_over")),
            _sum(sa.and_(sa.or_(self.late, self.overdue), c.apologies_in_time > 0), "late_apologised"),
            _sum(c.rating.is_not(None), "rated"),
            _sum(c.rating >= SATISFIED_RATING, "satisfied"),
            _sum(self.received, "received"),
            _sum(sa.and_(self.received, c.channel == ONLINE), "received_online"),
            _sum(paper, "paper_result"),
            _sum(sa.and_(paper, c.electronic_result), "electronic_result"),
            _sum(sa.and_(self.received, c.digitized, sa.or_(c.electronic_result, ~c.paper_result)), "digitized"),
            _sum(fee, "with_fee"),
            _sum(sa.and_(fee, c.paid_online), "paid_online"),
            _sum(sa.and_(self.received, c.handovers > 0, c.electronic_handovers == c.handovers),
                 "electronic_handover"),
        ]

    def sync(self) -> list[sa.ColumnElement[int]]:
        """Received dossiers handled in motcua and published to DVCQG, and of those the ones with every entry
        synced (docs/dvcqg-sync.md)."""
        published = sa.and_(self.received, ~REPORT.c.imported, _published(REPORT.c.code))
        return [_sum(published, "sync_total"), _sum(sa.and_(published, _fully_synced(REPORT.c.code)), "synced")]


def _published(code: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
    """The dossier has a ``dvcqg.sync`` effect in the outbox (delivered rows are kept): one range of the index
    on the outbox's ``case_code``."""
    return sa.exists().where(OUTBOX.c.case_code == code, OUTBOX.c.kind == SYNC_KIND)


def _fully_synced(code: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
    """Every entry of the dossier synced: its synced ``portal_sync`` rows (a range of the primary key) are as
    many as its entries (the case's version)."""
    synced = (sa.select(sa.func.count()).select_from(SYNC)
              .where(SYNC.c.case_code == code, SYNC.c.status == "synced").scalar_subquery())
    version = sa.select(CASE.c.version).where(CASE.c.code == code).scalar_subquery()
    return sa.and_(synced > 0, synced == version)


def _sum(condition: sa.ColumnElement[bool], name: str) -> sa.ColumnElement[int]:
    return sa.func.sum(sa.case((condition, 1), else_=0)).label(name)


def _insert(connection: Connection, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    return postgresql.insert(table) if connection.dialect.name == "postgresql" else sqlite.insert(table)


# -- rows and values ------------------------------------------------------------------------------


def _bieu06_row(found: Sequence[Any]) -> Bieu06Row:
    """A row of the Biểu 06 query: the field, then the counts of :meth:`_Counts.bieu06`."""
    field_code, field_name, *numbers = found
    total, online, carried_over, early, on_time, late, overdue = (int(n or 0) for n in numbers)
    resolved = early + on_time + late
    pending = total - resolved
    return Bieu06Row(
        field_code, field_name, total=total, online=online, direct_postal=total - online - carried_over,
        carried_over=carried_over, resolved=resolved, resolved_early=early, resolved_on_time=on_time,
        resolved_late=late, pending=pending, pending_within=pending - overdue, pending_overdue=overdue,
    )


def _indicator_counts(found: Mapping[str, int]) -> IndicatorCounts:
    resolved = found["resolved_early"] + found["resolved_on_time"] + found["resolved_late"]
    derived = {
        "pending_within": found["total"] - resolved - found["pending_overdue"],
        "late": found["resolved_late"] + found["pending_overdue"],
    }
    return IndicatorCounts(**{**found, **derived})


def _entry_of(row: sa.RowMapping) -> AuditEntry:
    """An audit entry straight from its Core row (the columns are decoded by their types: instants aware,
    JSON parsed), without building an ORM row first: catching up reads every entry of the log."""
    return AuditEntry(
        case_code=row["case_code"], sequence=row["sequence"], occurred_at=row["occurred_at"], actor=row["actor"],
        role=row["role"], trigger=row["trigger"], state_before=row["state_before"], state_after=row["state_after"],
        data=row["data"], changes=row["changes"], reason=row["reason"], definition_key=row["definition_key"],
        definition_version=row["definition_version"], rule_set=row["rule_set"], prev_hash=row["prev_hash"],
        hash=row["hash"], schema_version=row["schema_version"], position=row["position"],
    )


def _vn_date(instant: datetime | None) -> date | None:
    return to_vietnam_time(instant).date() if instant is not None else None


def _row_of(facts: DossierFacts) -> dict[str, Any]:
    row: dict[str, Any] = {name: getattr(facts, name) for name in _FACT_COLUMNS}
    row["received_on"] = _vn_date(facts.received_at)
    row["ended_on"] = _vn_date(facts.ended_at) or OPEN
    row["appointment_on"] = _vn_date(facts.appointment)
    return row


def _facts_of(row: sa.RowMapping, pauses: Iterable[Pause]) -> DossierFacts:
    return DossierFacts(**{name: row[name] for name in _FACT_COLUMNS}, pauses=tuple(pauses))
