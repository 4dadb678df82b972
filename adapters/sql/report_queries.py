"""Every statement of the reporting projection (:mod:`motcua.adapters.sql.reports`), by name, in one place.

The projection's own statements (the checkpoint, the batches of entries, the facts and pauses of the
dossiers a batch touches, their upserts) and the two reports: Biểu 06 is one ``SELECT field_code, …
GROUP BY field_code`` with ``SUM(CASE …)`` over comparisons of the precomputed Vietnam dates (the field
names are joined to its few rows afterwards); the Decision 766 counts are one aggregation over the same
rows (the ``sync`` counts with a correlated ``EXISTS`` over the outbox's ``dvcqg.sync`` effects and a count
of ``portal_sync`` rows). The period is two parameters, ``start`` and ``end``: each report is compiled once.
A report of some units is a second statement of each, with ``unit`` one of the list parameter ``units``
(:func:`~motcua.adapters.sql.statement.one_of`), read through ``ix_dossier_report_unit_bieu06``; the report
of every unit keeps its own statement, with no condition on the unit, over ``ix_dossier_report_bieu06``.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from motcua.adapters.sql.portal_tables import PortalSyncRow
from motcua.adapters.sql.queries import AUDIT, CASE, OUTBOX, STORED_ENTRY_COLUMNS
from motcua.adapters.sql.report_tables import (
    DossierPauseRow,
    DossierReportRow,
    ProjectionCheckpointRow,
    ReportFieldRow,
)
from motcua.adapters.sql.statement import Compiler, one_of, param
from motcua.adapters.sql.tables import table_of
from motcua.workflow.dvcqg.portal import SYNC_KIND
from motcua.workflow.reports.par766 import SATISFIED_RATING, SUPPLEMENT_REQUESTS_ON_TIME
from motcua.workflow.reports.projection import NEVER_ACCEPTED, ONLINE, DossierFacts

__all__ = ["DAY_COLUMNS", "FACT_COLUMNS", "PAUSE_COLUMNS", "ReportQueries"]

REPORT = table_of(DossierReportRow)
PAUSE = table_of(DossierPauseRow)
CHECKPOINT = table_of(ProjectionCheckpointRow)
FIELD = table_of(ReportFieldRow)
SYNC = table_of(PortalSyncRow)

FACT_COLUMNS: Final = tuple(item.name for item in fields(DossierFacts) if item.name != "pauses")
"""The columns of a dossier's facts, in the order of ``facts`` rows."""
DAY_COLUMNS: Final = ("received_on", "ended_on", "appointment_on")
"""The Vietnam dates the reports compare, written with the facts."""
PAUSE_COLUMNS: Final = ("code", "seq", "start_on", "end_on")


class ReportQueries:
    """The projection's and the reports' statements, compiled for one dialect."""

    def __init__(self, dialect: Dialect) -> None:
        sql = Compiler(dialect)
        checkpoint = CHECKPOINT.c.name == param("name")
        codes = one_of(REPORT.c.code, "codes")
        self.horizon = sql(sa.select(sa.func.motcua_audit_horizon()))  # PostgreSQL only (migration 0007)
        self.jit_off = sql(sa.text("SET LOCAL jit = off"))  # PostgreSQL only
        self.create_checkpoint = sql(sql.insert(CHECKPOINT).values(name=param("name"), position=0)
                                     .on_conflict_do_nothing())
        self.lock_checkpoint = sql(sa.select(CHECKPOINT.c.position).where(checkpoint).with_for_update())
        self.advance_checkpoint = sql(sa.update(CHECKPOINT).where(checkpoint).values(position=param("position")))
        self.entries = sql(_entries())
        self.pauses = sql(_columns(PAUSE, PAUSE_COLUMNS).where(one_of(PAUSE.c.code, "codes"))
                          .order_by(PAUSE.c.code, PAUSE.c.seq))
        self.facts = sql(_columns(REPORT, FACT_COLUMNS).where(codes))
        self.save_facts = sql(_save_facts(sql))
        self.clear_pauses = sql(sa.delete(PAUSE).where(one_of(PAUSE.c.code, "codes")))
        self.add_pause = sql(sql.insert(PAUSE).values({name: param(name) for name in PAUSE_COLUMNS}))
        self.name_field = sql(_name_field(sql))
        self.empty = tuple(sql(sa.delete(table)) for table in (PAUSE, REPORT, FIELD))
        self.bieu06 = sql(_bieu06())
        self.bieu06_of_units = sql(_bieu06(of_units=True))
        indicators = _indicators()
        self.indicators = sql(indicators)
        self.indicators_of_units = sql(_indicators(of_units=True))
        self.indicator_names = tuple(column.name for column in indicators.selected_columns)


def _entries() -> sa.Select[*tuple[Any, ...]]:
    """The next batch (``batch``) of entries after position ``after``, up to the ``horizon``."""
    chosen = sa.and_(AUDIT.c.position > param("after"), AUDIT.c.position <= param("horizon"))
    batch = _columns(AUDIT, STORED_ENTRY_COLUMNS).where(chosen).order_by(AUDIT.c.position)
    return batch.limit(param("batch"))


def _save_facts(sql: Compiler) -> sa.Insert:
    """Insert or replace a dossier's row: its facts and their Vietnam dates."""
    inserted = sql.insert(REPORT).values({name: param(name) for name in (*FACT_COLUMNS, *DAY_COLUMNS)})
    replaced = {column.name: inserted.excluded[column.name] for column in REPORT.c if column.name != "code"}
    return inserted.on_conflict_do_update(index_elements=[REPORT.c.code], set_=replaced)


def _name_field(sql: Compiler) -> sa.Insert:
    """Record a field's name (a later name replaces an earlier one)."""
    named = sql.insert(FIELD).values(field_code=param("field_code"), field_name=param("field_name"))
    return named.on_conflict_do_update(index_elements=[FIELD.c.field_code],
                                       set_={"field_name": named.excluded.field_name})


def _bieu06(*, of_units: bool = False) -> sa.Select[*tuple[Any, ...]]:
    """The one aggregation of Biểu 06: per field, the counts the other columns follow from; the field's name
    is joined to the few rows it yields (inside the aggregation, a per-group lookup would keep PostgreSQL
    from aggregating in parallel). ``of_units``: of the units of the list parameter ``units`` only."""
    counts = _Counts()
    grouped = (
        sa.select(REPORT.c.field_code, *counts.bieu06())
        .where(counts.to_handle(of_units=of_units))
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


def _indicators(*, of_units: bool = False) -> sa.Select[*tuple[Any, ...]]:
    """The one aggregation of the Decision 766 counts, the DVCQG sync counts included (``of_units``: as
    :func:`_bieu06`)."""
    counts = _Counts()
    return sa.select(*counts.indicators(), *counts.sync()).where(counts.to_handle(of_units=of_units))


class _Counts:
    """The ``SUM(CASE …)`` terms of one period (parameters ``start`` and ``end``), over ``dossier_report``'s
    Vietnam dates.

    An open dossier's ``ended_on`` is :data:`~motcua.adapters.sql.report_tables.OPEN` (9999-12-31): after every
    period's end. Paused-at-the-end is an uncorrelated ``IN`` over ``dossier_pause``, which both databases
    evaluate once (a hashed subplan, an ephemeral index) and probe per row.
    """

    def __init__(self) -> None:
        self.start, self.end = start, end = param("start"), param("end")
        c = REPORT.c
        self.resolved = c.ended_on <= end  # never true for a dossier still open (ended_on = OPEN)
        self.received = c.received_on >= start
        paused = sa.select(PAUSE.c.code).where(PAUSE.c.end_on > end, PAUSE.c.start_on <= end)
        self.overdue = sa.and_(c.ended_on > end, c.appointment_on < end, c.code.not_in(paused))
        # not overdue, spelt so that a missing appointment (NULL) is within, as in the reference
        past = sa.and_(c.appointment_on.is_not(None), c.appointment_on < end, c.code.not_in(paused))
        self.within = sa.and_(c.ended_on > end, sa.not_(past))
        self.early = sa.and_(self.resolved, c.ended_on < c.appointment_on)
        self.on_time = sa.and_(self.resolved, sa.or_(c.appointment_on.is_(None), c.ended_on == c.appointment_on))
        self.late = sa.and_(self.resolved, c.ended_on > c.appointment_on)

    def to_handle(self, *, of_units: bool = False) -> sa.ColumnElement[bool]:
        """Accepted, received by the end, and not ended before the start (the range of the index); with
        ``of_units``, counted under one of the units of the list parameter ``units``: one range of
        ``ix_dossier_report_unit_bieu06`` per unit (its leading column), the same columns after it."""
        c = REPORT.c
        period = sa.and_(c.ended_on >= self.start, c.received_on <= self.end, c.status.not_in(sorted(NEVER_ACCEPTED)))
        return sa.and_(one_of(c.unit, "units"), period) if of_units else period

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
        fee = sa.and_(self.received, c.fee_known, c.fee != 0)
        return [
            *(column for column in self.bieu06() if column.name not in ("online", "carried_over")),
            _sum(sa.and_(sa.or_(self.late, self.overdue), c.apologies_in_time > 0), "late_apologised"),
            _sum(sa.and_(sa.or_(self.early, self.on_time, self.within),
                         c.supplement_requests > SUPPLEMENT_REQUESTS_ON_TIME), "resupplemented"),
            _sum(c.rating.is_not(None), "rated"),
            _sum(c.rating >= SATISFIED_RATING, "satisfied"),
            _sum(self.received, "received"),
            _sum(sa.and_(self.received, c.channel == ONLINE), "received_online"),
            _sum(sa.and_(self.received, c.full_online_eligible), "full_online_eligible"),
            _sum(sa.and_(self.received, c.full_online_eligible, c.channel == ONLINE), "full_online"),
            _sum(paper, "paper_result"),
            _sum(sa.and_(paper, c.electronic_result), "electronic_result"),
            _sum(sa.and_(self.received, c.digitized, sa.or_(c.electronic_result, ~c.paper_result)), "digitized"),
            _sum(fee, "with_fee"),
            _sum(sa.and_(fee, c.paid_online), "paid_online"),
            _sum(sa.and_(self.received, ~c.fee_known), "fee_unknown"),
            _sum(sa.and_(self.received, c.handovers > 0, c.electronic_handovers == c.handovers),
                 "electronic_handover"),
        ]

    def sync(self) -> list[sa.ColumnElement[int]]:
        """Received dossiers handled in motcua and published to DVCQG, and of those the ones with every entry
        synced (docs/how-to/sync-to-dvcqg.md)."""
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


def _columns(table: sa.Table, names: tuple[str, ...]) -> sa.Select[*tuple[Any, ...]]:
    return sa.select(*(table.c[name] for name in names))
