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

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Final

from sqlalchemy.engine import Engine

from motcua.adapters.sql import mapping
from motcua.adapters.sql.driver import Driver, Params, Unit
from motcua.adapters.sql.queries import StoreQueries, find_params
from motcua.adapters.sql.statement import Statement
from motcua.workflow.engine.audit import AuditEntry
from motcua.workflow.engine.decisions import Decision, chain
from motcua.workflow.engine.model import CancelTimer, Case, DueTimer, Effect, OutboxItem, SetTimer, TimerChange
from motcua.workflow.engine.queries import CaseFilter, Page, check_page
from motcua.workflow.engine.retry import RetryAt, Settlement
from motcua.workflow.errors import CaseAlreadyExists, CaseNotFound, ConcurrencyConflict, StaleTimer

__all__ = ["SqlStore"]

STREAM_BATCH: Final = 500


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
        return [mapping.entry_from_record(record, self._codec) for record in records]

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
                yield mapping.entry_from_record(record, self._codec)

    def find(self, where: CaseFilter, *, after: str | None = None, limit: int = 50) -> Page:
        check_page(limit)
        statement = self._sql.find(where, after=after is not None)
        with self._driver.reading() as unit:
            records = unit.all(statement, find_params(where, after, limit, self._codec))
        items = tuple(mapping.case_from_record(record, self._codec) for record in records[:limit])
        return Page(items, items[-1].code if len(records) > limit else None)

    # -- writes ---------------------------------------------------------------------------------

    def commit(self, decision: Decision, *then: Decision) -> None:
        decisions = chain(decision, then)
        last = decisions[-1]  # the case row is saved once, as the last decision leaves it
        case_params, last_entry = mapping.decision_params(last, self._codec)
        entries = [*(mapping.entry_params(each.entry, self._codec) for each in decisions[:-1]), last_entry]
        with self._driver.transaction() as unit:
            self._save_case(unit, last.case.code, case_params, decision.expected_version)
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

    def discard(self, timer: DueTimer) -> bool:
        with self._driver.transaction() as unit:
            return unit.first(self._sql.consume_timer, _claimed(timer)) is not None

    def armed_count(self, now: datetime) -> tuple[int, int]:
        with self._driver.reading() as unit:
            record = unit.first(self._sql.armed_count, {"now": self._codec.instant(now)})
        assert record is not None, "an aggregate returns its row"
        armed, of_which_due = record
        return int(armed), int(of_which_due)

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

    def failed(self, item_id: int, error: str, settlement: Settlement, token: str | None = None) -> bool:
        params: dict[str, object] = {"id": item_id, "error": error}
        if token is not None:
            params["token"] = token
        if isinstance(settlement, RetryAt):
            statement = self._sql.retry if token is None else self._sql.retry_held
            return self._changed(statement, {**params, "retry_at": self._codec.instant(settlement.at)})
        return self._changed(self._sql.park if token is None else self._sql.park_held, params)

    def parked(self) -> list[OutboxItem]:
        with self._driver.reading() as unit:
            records = unit.all(self._sql.parked, {})
        return [mapping.outbox_item_from_record(record, self._codec) for record in records]

    def backlog(self) -> int:
        with self._driver.reading() as unit:
            record = unit.first(self._sql.backlog, {})
        assert record is not None, "an aggregate returns its row"
        return int(record[0])

    def requeue(self, item_ids: Sequence[int] | None, now: datetime) -> int:
        at = self._codec.instant(now)
        with self._driver.transaction() as unit:
            if item_ids is None:
                return len(unit.all(self._sql.requeue_all, {"now": at}))
            return len(unit.all(self._sql.requeue_chosen, {"now": at, "ids": self._codec.values(list(item_ids))}))

    def _claim(
        self, statement: Statement, now: datetime, lease: timedelta, more: Params | None = None
    ) -> Sequence[Sequence[object]]:
        params = {"now": self._codec.instant(now), "until": self._codec.instant(now + lease), **(more or {})}
        with self._driver.transaction() as unit:
            return unit.all(statement, params)

    def _changed(self, statement: Statement, params: Params) -> bool:
        """Run an ``UPDATE … RETURNING`` in its own transaction; whether it changed a row."""
        with self._driver.transaction() as unit:
            return unit.first(statement, params) is not None


def _claimed(timer: DueTimer) -> Params:
    """The timer row as claimed (same generation): fired, re-armed or cancelled since, it matches no row."""
    return {"case_code": timer.case_code, "name": timer.name, "generation": timer.generation}
