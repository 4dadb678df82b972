"""The SQL adapter of :class:`motcua.workflow.engine.ports.Reports`: a projection of the audit log, and reports as
one aggregation each over it, on SQLite or PostgreSQL.

**Catching up.** The projection (``dossier_report``, ``dossier_pause``, ``report_field``, see
:mod:`motcua.adapters.sql.report_tables`) remembers in ``projection_checkpoint`` the global position it has
folded up to. :meth:`SqlReports.catch_up` reads the entries after it in position order, in batches,
read upcast to the current audit schema by the fold itself (as every reader of the facts reads them);
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

**Reports.** Biểu 06 and the Decision 766 counts are one aggregation each
(:mod:`motcua.adapters.sql.report_queries`, where every statement of this module is named). A dossier not
ended has ``ended_on`` = :data:`~motcua.adapters.sql.report_tables.OPEN`, so "not ended before the period" is one
range of the index ``ix_dossier_report_bieu06``, which holds every column Biểu 06 reads: the report is an
index-only range scan, of the period's dossiers and the open ones, not of the commune's whole history.
The report of some units (``units``) reads ``ix_dossier_report_unit_bieu06`` instead, the same columns after
``unit``: one such range per unit. ``unit`` is the deciding unit the dossier is counted under (the rule is
:mod:`motcua.workflow.reports.projection`'s), written with the rest of its facts.
Paused at the end of the period is an uncorrelated ``NOT IN`` over the pauses running then (one range of
their index), hashed once per query. Both reports return exactly what the core's reference functions
return over the folded facts (the contract tests hold them to it).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Final

from motcua.adapters.sql.driver import Driver, Record, Unit
from motcua.adapters.sql.mapping import entry_from_record, maybe
from motcua.adapters.sql.report_queries import FACT_COLUMNS, ReportQueries
from motcua.adapters.sql.report_tables import OPEN
from motcua.adapters.sql.statement import Statement
from motcua.workflow.engine.clock import to_vietnam_time
from motcua.workflow.reports.par766 import IndicatorCounts
from motcua.workflow.reports.projection import Bieu06, Bieu06Row, DossierFacts, EligibleOf, Pause, StatusOf, fold

__all__ = ["BATCH", "PROJECTION", "SqlReports"]

BATCH: Final = 1000  # audit entries folded per transaction
PROJECTION: Final = "reporting"  # the checkpoint's name
UNBOUNDED: Final = 2**63 - 1  # the horizon on SQLite, whose writers commit in position order
_INSTANTS: Final = ("received_at", "ended_at", "appointment")
_FLAGS: Final = ("paper_result", "electronic_result", "digitized", "paid_online", "imported", "full_online_eligible",
                 "redated_in_time", "fee_known")


class SqlReports:
    """A :class:`~motcua.workflow.reports.ports.Reports` on the database of ``driver`` (migrated to 0003 or
    later; share the store's driver); ``eligible_of`` judges a dossier's full-online eligibility at its reception."""

    def __init__(self, driver: Driver, status_of: StatusOf, eligible_of: EligibleOf, *, batch: int = BATCH) -> None:
        self._driver = driver
        self._codec = driver.codec
        self._sql = ReportQueries(driver.dialect)
        self._postgres = driver.dialect.name == "postgresql"
        self._status_of = status_of
        self._eligible_of = eligible_of
        self._batch = batch

    # -- the projection -------------------------------------------------------------------------

    def catch_up(self) -> int:
        horizon = self._horizon()
        folded = 0
        while True:
            with self._driver.transaction() as unit:
                read = self._fold_batch(unit, self._checkpoint(unit), horizon)
            folded += read
            if read < self._batch:
                return folded

    def rebuild(self) -> int:
        """Empty the projection and fold the whole log again, in one transaction: a report running
        meanwhile sees the old projection until the new one is complete."""
        horizon = self._horizon()
        folded = 0
        with self._driver.transaction() as unit:
            self._checkpoint(unit)
            for statement in self._sql.empty:
                unit.execute(statement, {})
            position = 0
            while read := self._fold_batch(unit, position, horizon):
                folded += read
                position = self._checkpoint(unit)
        return folded

    def facts(self, code: str) -> DossierFacts | None:
        with self._driver.reading() as unit:
            return self._load(unit, [code]).get(code)

    def facts_by_code(self, codes: Collection[str]) -> Mapping[str, DossierFacts]:
        with self._driver.reading() as unit:
            return self._load(unit, sorted(set(codes)))

    def _horizon(self) -> int:
        """The highest position below which no entry can still appear (PostgreSQL; see the module doc)."""
        if not self._postgres:
            return UNBOUNDED
        with self._driver.transaction() as unit:  # the lock is the function's, held to the commit
            record = unit.first(self._sql.horizon, {})
        assert record is not None, "a function call returns its row"
        return int(record[0])

    def _checkpoint(self, unit: Unit) -> int:
        """The checkpoint's position, the row created if missing and locked until the transaction ends."""
        unit.execute(self._sql.create_checkpoint, {"name": PROJECTION})
        record = unit.first(self._sql.lock_checkpoint, {"name": PROJECTION})
        assert record is not None, "the checkpoint row was just made sure of"
        return int(record[0])

    def _fold_batch(self, unit: Unit, after: int, horizon: int) -> int:
        """Fold the next batch of entries after ``after``; returns how many were read."""
        records = unit.all(self._sql.entries, {"after": after, "horizon": horizon, "batch": self._batch})
        if not records:
            return 0
        entries = [entry_from_record(record, self._codec) for record in records]  # read upcast by fold
        facts = self._load(unit, sorted({entry.case_code for entry in entries}))
        changed: set[str] = set()
        for entry in entries:
            folded = fold(facts.get(entry.case_code), entry, self._status_of, self._eligible_of)
            if folded is not None:
                facts[entry.case_code] = folded
                changed.add(entry.case_code)
        self._save(unit, [facts[code] for code in sorted(changed)])
        last = entries[-1].position or after
        unit.execute(self._sql.advance_checkpoint, {"name": PROJECTION, "position": last})
        return len(entries)

    def _load(self, unit: Unit, codes: Sequence[str]) -> dict[str, DossierFacts]:
        if not codes:
            return {}
        listed = {"codes": self._codec.values(codes)}
        pauses: dict[str, list[Pause]] = {}
        for code, _, start_on, end_on in unit.all(self._sql.pauses, listed):
            start, resumed = self._codec.day_from(start_on), self._codec.day_from(end_on)
            pauses.setdefault(code, []).append(Pause(start, None if resumed == OPEN else resumed))
        records = unit.all(self._sql.facts, listed)
        return {record[0]: self._facts_of(record, pauses.get(record[0], ())) for record in records}

    def _save(self, unit: Unit, facts: Sequence[DossierFacts]) -> None:
        if not facts:
            return
        unit.executemany(self._sql.save_facts, [self._row_of(item) for item in facts])
        unit.execute(self._sql.clear_pauses, {"codes": self._codec.values([item.code for item in facts])})
        pauses = [
            {"code": item.code, "seq": seq, "start_on": self._codec.day(pause.start),
             "end_on": self._codec.day(pause.end or OPEN)}
            for item in facts for seq, pause in enumerate(item.pauses, start=1)
        ]
        if pauses:
            unit.executemany(self._sql.add_pause, pauses)
        latest = {item.field_code: item.field_name for item in sorted(facts, key=lambda item: item.position)}
        unit.executemany(self._sql.name_field,
                         [{"field_code": code, "field_name": name} for code, name in sorted(latest.items())])

    def _row_of(self, facts: DossierFacts) -> dict[str, Any]:
        """A dossier's row: its facts, instants as the driver binds them, and their Vietnam dates."""
        row: dict[str, Any] = {name: getattr(facts, name) for name in FACT_COLUMNS}
        for name in _INSTANTS:
            row[name] = maybe(self._codec.instant, row[name])
        row["received_on"] = maybe(self._codec.day, _vn_date(facts.received_at))
        row["ended_on"] = self._codec.day(_vn_date(facts.ended_at) or OPEN)
        row["appointment_on"] = maybe(self._codec.day, _vn_date(facts.appointment))
        return row

    def _facts_of(self, record: Record, pauses: Iterable[Pause]) -> DossierFacts:
        values = dict(zip(FACT_COLUMNS, record, strict=True))
        for name in _INSTANTS:
            values[name] = maybe(self._codec.instant_from, values[name])
        for name in _FLAGS:
            values[name] = bool(values[name])
        return DossierFacts(**values, pauses=tuple(pauses))

    # -- reports --------------------------------------------------------------------------------

    def bieu06(self, start: date, end: date, *, units: frozenset[str] | None = None) -> Bieu06:
        statement = self._sql.bieu06 if units is None else self._sql.bieu06_of_units
        found = self._report(statement, start, end, units)
        rows = sorted((_bieu06_row(row) for row in found), key=lambda row: row.field_code)
        report = Bieu06(start, end, tuple(rows))
        for row in rows:
            report.total.add(row)
        return report

    def indicator_counts(self, start: date, end: date, *, units: frozenset[str] | None = None) -> IndicatorCounts:
        statement = self._sql.indicators if units is None else self._sql.indicators_of_units
        [found] = self._report(statement, start, end, units)
        return _indicator_counts({name: int(value or 0) for name, value in zip(self._sql.indicator_names, found,
                                                                               strict=True)})

    def _report(
        self, statement: Statement, start: date, end: date, units: frozenset[str] | None
    ) -> Sequence[Record]:
        """One report's rows (``units``: the list the statement of some units takes); on PostgreSQL without JIT:
        compiling one aggregation with LLVM costs more than it saves (its cost estimate crosses
        ``jit_above_cost`` long before it takes a second)."""
        period: dict[str, Any] = {"start": self._codec.day(start), "end": self._codec.day(end)}
        if units is not None:
            period["units"] = self._codec.values(sorted(units))
        with self._driver.scanning() as unit:
            if self._postgres:
                unit.execute(self._sql.jit_off, {})
            return unit.all(statement, period)


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


def _vn_date(instant: datetime | None) -> date | None:
    return to_vietnam_time(instant).date() if instant is not None else None


