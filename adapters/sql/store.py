"""The SQL adapter of :class:`motcua.workflow.engine.ports.Storage` (cases, timers, outbox), on SQLite or PostgreSQL.

``commit`` is one transaction: the case row (inserted, or updated ``WHERE version = expected``),
the audit entry, the consumed timer row (deleted ``WHERE generation = claimed``), the armed timer
rows and the outbox rows; it writes all of them or nothing. A chain of decisions on one case is
the same transaction: the case row once (as the last decision leaves it, checked against the
first's expected version), then each entry with its timers and outbox rows, in order.
Conflicts are found by the statements themselves: an ``INSERT … ON CONFLICT DO NOTHING``, an
``UPDATE`` or ``DELETE`` that returns no row (``RETURNING``, since rowcount is not reliable through
every driver). So they read the same on both databases and never leave a PostgreSQL transaction
aborted. The case row carries the case's index (``Decision.index``): what :meth:`SqlStore.find` filters on.
``cases()`` and ``entries()`` stream in batches (a server-side cursor on PostgreSQL).

Every method runs the named statements of :mod:`motcua.adapters.sql.queries` on the pool's driver
connections (:mod:`motcua.adapters.sql.driver`), with parameter dicts mapped straight from the domain values
and rows decoded straight into them (:mod:`motcua.adapters.sql.mapping`): a transition is the read, then
``BEGIN``, the case, the entry and ``COMMIT`` (five round trips on PostgreSQL), plus the consumed timer,
one statement per timer change and one ``executemany`` for the outbox rows.

Claims (:meth:`SqlStore.claim_due`, :meth:`SqlStore.claim_effects`) are one ``UPDATE … WHERE key IN
(SELECT … ORDER BY … LIMIT n FOR UPDATE SKIP LOCKED) RETURNING …``: on PostgreSQL any number of
dispatchers claim side by side, each skipping the rows another is claiming; on SQLite (which has no
row locks, and SQLAlchemy leaves the ``FOR UPDATE`` out) the statement runs under ``BEGIN IMMEDIATE``,
one claimer at a time. An effects' claim writes its token on the rows (``claim_token``); the worker delivering
one holds it (:meth:`SqlStore.hold`: ``UPDATE … SET claimed_until WHERE id AND status = 'pending' AND claim_token``),
and a failed attempt is recorded under the same condition: a holder that lost its claim changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Final

from sqlalchemy.engine import Engine

from motcua.adapters.sql import mapping
from motcua.adapters.sql.driver import Driver, Params, Pending, Pipeline, Record, Unit
from motcua.adapters.sql.queries import StoreQueries, filter_params, find_params
from motcua.adapters.sql.statement import Statement
from motcua.workflow.engine.audit import AuditEntry
from motcua.workflow.engine.batches import Committed, check_codes, codes_of, refusals
from motcua.workflow.engine.batches import Unit as BatchUnit
from motcua.workflow.engine.decisions import Decision, chain
from motcua.workflow.engine.model import (
    ArmedTimer,
    CancelTimer,
    Case,
    DueTimer,
    Effect,
    OutboxItem,
    ParkedTimer,
    SetTimer,
    TimerChange,
)
from motcua.workflow.engine.ports import Claim
from motcua.workflow.engine.queries import CaseFilter, Page, check_page
from motcua.workflow.engine.retry import Park, RetryAt, Settlement
from motcua.workflow.errors import CaseAlreadyExists, CaseNotFound, ConcurrencyConflict, StaleTimer

__all__ = ["SqlStore"]

STREAM_BATCH: Final = 500
_Written = tuple[Params, list[Params]]  # a chain's case row and entries, encoded
_Check = tuple[Pending, Exception]  # a statement sent in a pipeline, and what it means when it returned no row


class SqlStore:
    """A :class:`~motcua.workflow.engine.ports.Storage` on SQLite or PostgreSQL.

    Build it with :meth:`from_url`, or on a :class:`~motcua.adapters.sql.driver.Driver` shared with the other
    stores of the database (:class:`motcua.adapters.sql.backend.SqlBackend`). It is safe to share between threads.
    """

    def __init__(self, driver: Driver) -> None:
        self._driver = driver
        self._sql = StoreQueries(driver.dialect)
        self._codec = driver.codec

    @classmethod
    def from_url(cls, url: str, *, migrate: bool = False) -> SqlStore:
        """A store on ``sqlite:///file.db``, ``sqlite://`` (memory) or ``postgresql://…``, on a driver of its own.

        With ``migrate=True`` the schema is first brought to the latest revision.
        """
        return cls(Driver.from_url(url, migrate=migrate))

    @property
    def engine(self) -> Engine:
        return self._driver.engine

    @property
    def queries(self) -> StoreQueries:
        """The statements the store runs, as compiled for its database."""
        return self._sql

    def close(self) -> None:
        """Close every pooled connection; the store must not be used afterwards."""
        self._driver.close()

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    # -- reads ----------------------------------------------------------------------------------

    def load(self, code: str) -> Case:
        with self._driver.reading() as unit:
            record = unit.first(self._sql.load_case, {"code": code})
        if record is None:
            raise CaseNotFound(code)
        return mapping.case_from_record(record, self._codec)

    def history(self, code: str) -> Sequence[AuditEntry]:
        with self._driver.reading() as unit:
            records = unit.all(self._sql.history, {"code": code})
        return [mapping.checked_entry_from_record(record, self._codec) for record in records]

    def timers(self, code: str) -> Sequence[SetTimer]:
        with self._driver.reading() as unit:
            records = unit.all(self._sql.timers, {"code": code})
        return [mapping.timer_from_record(record, self._codec) for record in records]

    def effects(self, code: str) -> Sequence[Effect]:
        with self._driver.reading() as unit:
            records = unit.all(self._sql.effects, {"code": code})
        return [mapping.effect_from_record(record, self._codec) for record in records]

    def cases(self) -> Iterator[Case]:
        with self._driver.scanning() as unit:
            for record in unit.stream(self._sql.cases, {}, STREAM_BATCH):
                yield mapping.case_from_record(record, self._codec)

    def entries(self) -> Iterator[AuditEntry]:
        with self._driver.scanning() as unit:
            for record in unit.stream(self._sql.entries, {}, STREAM_BATCH):
                yield mapping.checked_entry_from_record(record, self._codec)

    def found_by(self) -> Iterator[tuple[str, Mapping[str, str]]]:
        with self._driver.scanning() as unit:
            for record in unit.stream(self._sql.found_by, {}, STREAM_BATCH):
                yield mapping.found_by_from_record(record)

    def find(self, where: CaseFilter, *, after: str | None = None, limit: int = 50) -> Page:
        check_page(limit, after)
        statement = self._sql.find(where, after=after is not None)
        with self._driver.reading() as unit:
            records = unit.all(statement, find_params(where, after, limit, self._codec))
        items = tuple(mapping.case_from_record(record, self._codec) for record in records[:limit])
        return Page(items, items[-1].code if len(records) > limit else None)

    # -- writes ---------------------------------------------------------------------------------

    def commit(self, decision: Decision, *then: Decision) -> None:
        decisions = chain(decision, then)
        written = self._written(decisions)
        with self._driver.transaction() as unit:
            self._write(unit, decisions, written)

    def load_many(self, codes: Sequence[str]) -> Mapping[str, Case]:
        check_codes(codes)
        if not codes:
            return {}
        with self._driver.reading() as unit:
            records = unit.all(self._sql.load_cases, {"codes": self._codec.values(list(codes))})
        cases = (mapping.case_from_record(record, self._codec) for record in records)
        return {case.code: case for case in cases}

    def commit_each(self, units: Sequence[BatchUnit], claim: Claim | None = None) -> Committed:
        """One transaction: the batch's case rows and their timer rows are locked and read, the rule of
        :mod:`motcua.workflow.engine.batches` says which units may be written, and those are, as :meth:`commit`
        writes a unit. So a refused unit costs nothing, and no statement of an accepted one can conflict."""
        codes = codes_of(units)
        if not codes:
            return Committed([])
        chains = [chain(unit[0], unit[1:], timers=True) for unit in units]
        written = [self._written(decisions) for decisions in chains]  # encoded before the transaction
        listed = {"codes": self._codec.values(codes)}
        with self._driver.transaction() as unit:
            versions = {str(code): int(version) for code, version in unit.all(self._sql.lock_cases, listed)}
            armed = {(str(code), str(name)): int(generation)
                     for code, name, generation in unit.all(self._sql.lock_timers, listed)}
            refused = refusals(chains, versions, armed)
            accepted = [(decisions, params) for decisions, params, refusal in zip(chains, written, refused, strict=True)
                        if refusal is None]
            released = self._write_pipelined(unit, accepted, self._claim_params(claim))
        return Committed(refused, [mapping.outbox_item_from_record(record, self._codec) for record in released])

    def _claim_params(self, claim: Claim | None) -> Params | None:
        return None if claim is None else {"token": claim.token, "until": self._codec.instant(claim.until)}

    def _write_pipelined(
        self, unit: Unit, chains: Sequence[tuple[Sequence[Decision], _Written]], claim: Params | None
    ) -> list[Record]:
        """The accepted units' writes, as :meth:`_write` makes them, sent back to back (one round trip on
        PostgreSQL): an entry's position is read by the statements that need it (armed timers, outbox rows) rather
        than returned first. Every statement that can miss is still checked, once the answers are in: a miss
        raises, and the whole transaction rolls back."""
        checks: list[_Check] = []
        released: list[Pending] = []
        with unit.pipeline() as pipe:
            for decisions, (case_params, entries) in chains:
                code, expected = decisions[-1].case.code, decisions[0].expected_version
                if expected == 0:  # a unit opening its case: inserted, as a lone commit does (_save_case)
                    checks.append((pipe.later(self._sql.insert_case, case_params), CaseAlreadyExists(code)))
                else:
                    lost = ConcurrencyConflict(code, expected)
                    saved = pipe.later(self._sql.update_case, {**case_params, "expected_version": expected})
                    checks.append((saved, lost))
                for each, entry_params in zip(decisions, entries, strict=True):
                    checks += self._record_pipelined(pipe, each, entry_params)
                    released += self._enqueue_pipelined(pipe, each, claim)
        for pending, failure in checks:
            if pending.first() is None:
                raise failure
        rows = [pending.first() for pending in released]
        return [row for row in rows if row is not None]

    def _enqueue_pipelined(self, pipe: Pipeline, decision: Decision, claim: Params | None) -> list[Pending]:
        """A decision's outbox rows, at its entry's position; claimed (and their rows to be read) under ``claim``."""
        code, entry = decision.case.code, decision.entry
        by_entry = {"entry_case": code, "sequence": entry.sequence}
        pending: list[Pending] = []
        for effect in decision.effects:
            params = {**mapping.effect_params(code, 0, effect, entry.occurred_at, self._codec), **by_entry}
            if claim is None:
                pipe.execute(self._sql.enqueue_effect_by_entry, params)
            else:
                pending.append(pipe.later(self._sql.enqueue_claimed_effect, {**params, **claim}))
        return pending

    def _record_pipelined(self, pipe: Pipeline, decision: Decision, entry_params: Params) -> list[_Check]:
        code, entry = decision.case.code, decision.entry
        checks: list[_Check] = [
            (pipe.later(self._sql.append_entry, entry_params), ConcurrencyConflict(code, entry.sequence - 1)),
        ]
        timer = decision.consumes
        if timer is not None:
            stale = StaleTimer(timer.case_code, timer.name, timer.generation)
            checks.append((pipe.later(self._sql.consume_timer, _claimed(timer)), stale))
        by_entry = {"entry_case": code, "sequence": entry.sequence}
        for change in decision.timers:
            if isinstance(change, CancelTimer):
                pipe.execute(self._sql.cancel_timer, {"case_code": code, "name": change.name})
            else:
                params = mapping.timer_params(code, change, 0, self._codec)
                pipe.execute(self._sql.arm_timer_by_entry, {**params, **by_entry})
        return checks

    def _written(self, decisions: Sequence[Decision]) -> _Written:
        """A chain's parameters: its case row, as the last decision leaves it, and each decision's entry."""
        case_params, last_entry = mapping.decision_params(decisions[-1], self._codec)
        return case_params, [*(mapping.entry_params(each.entry, self._codec) for each in decisions[:-1]), last_entry]

    def _write(self, unit: Unit, decisions: Sequence[Decision], written: _Written) -> None:
        """A chain's writes: the case row once (checked against the first decision's expected version), then each
        decision's entry, consumed timer, timer changes and outbox rows, in order."""
        case_params, entries = written
        self._save_case(unit, decisions[-1].case.code, case_params, decisions[0].expected_version)
        for each, entry_params in zip(decisions, entries, strict=True):
            self._record(unit, each, entry_params)

    def _record(self, unit: Unit, decision: Decision, entry_params: Params) -> None:
        """One decision's entry, consumed timer, timer changes and outbox rows, in the commit's transaction."""
        code = decision.case.code
        position = self._append(unit, decision.entry, entry_params)
        if decision.consumes is not None:
            self._consume(unit, code, decision.consumes)
        for change in decision.timers:
            self._apply_timer(unit, code, change, position)
        self._enqueue(unit, position, decision)

    def next_sequence(self, scope: str) -> int:
        with self._driver.transaction() as unit:
            record = unit.first(self._sql.next_sequence, {"scope": scope})
        assert record is not None, "an upsert … RETURNING returns its row"
        return int(record[0])

    def _save_case(self, unit: Unit, code: str, params: Params, expected_version: int) -> None:
        if expected_version == 0:
            if unit.first(self._sql.insert_case, params) is None:
                raise CaseAlreadyExists(code)
            return
        if unit.first(self._sql.update_case, {**params, "expected_version": expected_version}) is None:
            raise self._lost(unit, code, expected_version)

    def _lost(self, unit: Unit, code: str, expected_version: int) -> Exception:
        found = unit.first(self._sql.find_case, {"code": code})
        return CaseNotFound(code) if found is None else ConcurrencyConflict(code, expected_version)

    def _append(self, unit: Unit, entry: AuditEntry, params: Params) -> int:
        record = unit.first(self._sql.append_entry, params)
        if record is None:
            raise ConcurrencyConflict(entry.case_code, entry.sequence - 1)
        return int(record[0])

    def _consume(self, unit: Unit, code: str, timer: DueTimer) -> None:
        """Delete the fired timer if it is still the one claimed (same generation), or raise StaleTimer."""
        if timer.case_code != code or unit.first(self._sql.consume_timer, _claimed(timer)) is None:
            raise StaleTimer(timer.case_code, timer.name, timer.generation)  # the transaction rolls back

    def _apply_timer(self, unit: Unit, code: str, change: TimerChange, position: int) -> None:
        if isinstance(change, CancelTimer):
            unit.execute(self._sql.cancel_timer, {"case_code": code, "name": change.name})
        else:
            unit.execute(self._sql.arm_timer, mapping.timer_params(code, change, position, self._codec))

    def _enqueue(self, unit: Unit, position: int, decision: Decision) -> None:
        code, at = decision.case.code, decision.entry.occurred_at
        rows = [mapping.effect_params(code, position, effect, at, self._codec) for effect in decision.effects]
        if rows:
            unit.executemany(self._sql.enqueue_effect, rows)

    # -- TimerQueue -----------------------------------------------------------------------------

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[DueTimer]:
        if limit < 1:
            return []
        records = self._claim(self._sql.claim_due(limit), now, lease)
        claimed = [mapping.due_timer_from_record(record, self._codec) for record in records]
        return sorted(claimed, key=lambda timer: (timer.due_at, timer.case_code, timer.name))

    def discard(self, timer: DueTimer, seen: int | None = None) -> bool:
        with self._driver.transaction() as unit:
            if seen is None:
                return unit.first(self._sql.consume_timer, _claimed(timer)) is not None
            return unit.first(self._sql.discard_timer, {**_claimed(timer), "seen": seen}) is not None

    def armed_count(self, now: datetime, where: CaseFilter | None = None) -> tuple[int, int]:
        statement, params = self._of_cases(self._sql.armed_count, self._sql.armed_count_of, where)
        with self._driver.reading() as unit:
            record = unit.first(statement, {**params, "now": self._codec.instant(now)})
        assert record is not None, "an aggregate returns its row"
        armed, of_which_due = record
        return int(armed), int(of_which_due)

    def next_due(self, after: datetime) -> datetime | None:
        """The earliest instant after ``after`` at which an armed timer falls due (None: none is armed later)."""
        with self._driver.reading() as unit:
            record = unit.first(self._sql.next_due, {"now": self._codec.instant(after)})
        return None if record is None else self._codec.instant_from(record[0])

    def armed_timers(self, limit: int, where: CaseFilter | None = None) -> list[ArmedTimer]:
        if limit < 1:
            return []
        statement, params = self._of_cases(self._sql.timer_table, self._sql.timer_table_of, where)
        with self._driver.reading() as unit:
            records = unit.all(statement, {**params, "limit": limit})
        instant = self._codec.instant_from
        return [ArmedTimer(code, name, trigger, instant(due_at), None if claimed is None else instant(claimed),
                           attempts, error)
                for code, name, trigger, due_at, claimed, attempts, error in records]

    def timer_failed(self, timer: DueTimer, error: str, settlement: Settlement, seen: int) -> bool:
        params = {**_claimed(timer), "seen": seen, "claimed_attempts": timer.attempts, "attempts": timer.attempts + 1,
                  "error": error}
        if isinstance(settlement, Park):
            statement = self._sql.timer_park
        else:
            statement, params = self._sql.timer_retry, {**params, "until": self._codec.instant(settlement.at)}
        with self._driver.transaction() as unit:
            return unit.first(statement, params) is not None

    def parked_timers(self, limit: int, where: CaseFilter | None = None) -> list[ParkedTimer]:
        if limit < 1:
            return []
        statement, params = self._of_cases(self._sql.parked_timers, self._sql.parked_timers_of, where)
        with self._driver.reading() as unit:
            records = unit.all(statement, {**params, "limit": limit})
        instant = self._codec.instant_from
        return [ParkedTimer(code, name, trigger, instant(due_at), error or "", attempts)
                for code, name, trigger, due_at, error, attempts in records]

    def parked_count(self, where: CaseFilter | None = None) -> int:
        statement, params = self._of_cases(self._sql.parked_count, self._sql.parked_count_of, where)
        with self._driver.reading() as unit:
            record = unit.first(statement, params)
        assert record is not None, "an aggregate returns its row"
        return int(record[0])

    def requeue_timers(self, timers: Sequence[tuple[str, str]] | None) -> int:
        with self._driver.transaction() as unit:
            if timers is None:
                return len(unit.all(self._sql.requeue_timers_all, {}))
            return sum(len(unit.all(self._sql.requeue_timer, {"case_code": code, "name": name}))
                       for code, name in dict.fromkeys(timers))

    # -- Outbox ---------------------------------------------------------------------------------

    def claim_effects(self, now: datetime, limit: int, lease: timedelta, token: str | None = None) -> list[OutboxItem]:
        if limit < 1:
            return []
        records = self._claim(self._sql.claim_effects(limit), now, lease, {"token": token})
        return sorted((mapping.outbox_item_from_record(record, self._codec) for record in records),
                      key=lambda item: item.id)

    def hold(self, item_id: int, token: str, until: datetime) -> bool:
        return self._changed(self._sql.hold, {"id": item_id, "token": token, "until": self._codec.instant(until)})

    def delivered(self, item_id: int, now: datetime) -> bool:
        return self._changed(self._sql.delivered, {"id": item_id})

    def hold_many(self, item_ids: Sequence[int], token: str, until: datetime) -> set[int]:
        params = {"token": token, "until": self._codec.instant(until)}
        return self._changed_many(self._sql.hold_many, item_ids, params)

    def delivered_many(self, item_ids: Sequence[int], now: datetime) -> set[int]:
        return self._changed_many(self._sql.delivered_many, item_ids, {})

    def failed(
        self, item_id: int, error: str, settlement: Settlement, token: str | None = None,
        delivered: frozenset[str] = frozenset(),
    ) -> bool:
        counted = not isinstance(settlement, RetryAt) or settlement.counted
        params: dict[str, object] = {"id": item_id, "error": error, "channels": mapping.channels_text(delivered),
                                     "counted": int(counted)}
        if token is not None:
            params["token"] = token
        if isinstance(settlement, RetryAt):
            statement = self._sql.retry if token is None else self._sql.retry_held
            return self._changed(statement, {**params, "retry_at": self._codec.instant(settlement.at)})
        return self._changed(self._sql.park if token is None else self._sql.park_held, params)

    def parked(self, where: CaseFilter | None = None) -> list[OutboxItem]:
        statement, params = self._of_cases(self._sql.parked, self._sql.parked_of, where)
        with self._driver.reading() as unit:
            records = unit.all(statement, params)
        return [mapping.outbox_item_from_record(record, self._codec) for record in records]

    def backlog(self, where: CaseFilter | None = None) -> int:
        statement, params = self._of_cases(self._sql.backlog, self._sql.backlog_of, where)
        with self._driver.reading() as unit:
            record = unit.first(statement, params)
        assert record is not None, "an aggregate returns its row"
        return int(record[0])

    def requeue(self, item_ids: Sequence[int] | None, now: datetime) -> int:
        at = self._codec.instant(now)
        with self._driver.transaction() as unit:
            if item_ids is None:
                return len(unit.all(self._sql.requeue_all, {"now": at}))
            return len(unit.all(self._sql.requeue_chosen, {"now": at, "ids": self._codec.values(list(item_ids))}))

    def _of_cases(
        self, every: Statement, scoped: Callable[[CaseFilter], Statement], where: CaseFilter | None
    ) -> tuple[Statement, Params]:
        """``every`` (no filter), or the statement ``scoped`` makes for ``where`` with the filter's parameters."""
        if where is None:
            return every, {}
        return scoped(where), filter_params(where, self._codec)

    def _claim(
        self, statement: Statement, now: datetime, lease: timedelta, more: Params | None = None
    ) -> Sequence[Sequence[object]]:
        params = {"now": self._codec.instant(now), "until": self._codec.instant(now + lease), **(more or {})}
        with self._driver.transaction() as unit:
            return unit.all(statement, params)

    def _changed_many(self, statement: Statement, item_ids: Sequence[int], params: Params) -> set[int]:
        """Run an ``UPDATE … WHERE id IN ids … RETURNING id`` in its own transaction; the ids it changed."""
        if not item_ids:
            return set()
        with self._driver.transaction() as unit:
            records = unit.all(statement, {**params, "ids": self._codec.values(list(item_ids))})
        return {int(record[0]) for record in records}

    def _changed(self, statement: Statement, params: Params) -> bool:
        """Run an ``UPDATE … RETURNING`` in its own transaction; whether it changed a row."""
        with self._driver.transaction() as unit:
            return unit.first(statement, params) is not None


def _claimed(timer: DueTimer) -> Params:
    """The timer row as claimed (same generation): fired, re-armed or cancelled since, it matches no row."""
    return {"case_code": timer.case_code, "name": timer.name, "generation": timer.generation}
