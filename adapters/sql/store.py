"""The SQL adapter of :class:`motcua.workflow.engine.ports.Storage` (cases, timers, outbox), on SQLite or PostgreSQL.

``commit`` is one transaction: the case row (inserted, or updated ``WHERE version = expected``),
the audit entry, the consumed timer row (deleted ``WHERE generation = claimed``), the armed timer
rows and the outbox rows; it writes all of them or nothing. Conflicts are found by the statements
themselves: an ``INSERT … ON CONFLICT DO NOTHING``, an ``UPDATE`` or ``DELETE`` that returns no row
(``RETURNING``, since rowcount is not reliable through every driver). So they read the same on
both databases and never leave a PostgreSQL transaction aborted.
``cases()`` and ``entries()`` stream in batches (a server-side cursor on PostgreSQL).

The hot path — ``load``, ``commit``, ``next_sequence``, ``discard`` — runs the named statements of
:mod:`motcua.adapters.sql.queries` on the pool's driver connections (:mod:`motcua.adapters.sql.driver`), with
parameter dicts mapped straight from the domain values (:mod:`motcua.adapters.sql.mapping`): a transition
is the read, then ``BEGIN``, the case, the entry and ``COMMIT`` (five round trips on PostgreSQL), plus
the consumed timer, one statement per timer change and one ``executemany`` for the outbox rows. The
other reads and the claims go through SQLModel and SQLAlchemy Core.

Claims (:meth:`SqlStore.claim_due`, :meth:`SqlStore.claim_effects`) are one ``UPDATE … WHERE key IN
(SELECT … ORDER BY … LIMIT n FOR UPDATE SKIP LOCKED) RETURNING …``: on PostgreSQL any number of
dispatchers claim side by side, each skipping the rows another is claiming; on SQLite (which has no
row locks, and SQLAlchemy leaves the ``FOR UPDATE`` out) the statement runs under ``BEGIN IMMEDIATE``,
one claimer at a time. Status values are written into the SQL text (:data:`ARMED`…), not bound: the
claims must match the predicate of their partial index, which a parameter never does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Final, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from motcua.adapters.sql import mapping
from motcua.adapters.sql.driver import Driver, Params, Unit
from motcua.adapters.sql.engine import WRITE, create_engine
from motcua.adapters.sql.errors import translated
from motcua.adapters.sql.migrate import upgrade_engine
from motcua.adapters.sql.tables import AuditEntryRow, CaseRow, OutboxRow, Row, TimerRow, table_of
from motcua.workflow.engine.audit import AuditEntry
from motcua.workflow.engine.decisions import Decision
from motcua.workflow.engine.errors import CaseAlreadyExists, CaseNotFound, ConcurrencyConflict, StaleTimer
from motcua.workflow.engine.model import CancelTimer, Case, DueTimer, Effect, OutboxItem, SetTimer, TimerChange
from motcua.workflow.engine.queries import CaseFilter, Page, appointment_text, check_page
from motcua.workflow.engine.retry import RetryAt, Settlement

__all__ = ["SqlStore"]

STREAM_BATCH: Final = 500

CASE = table_of(CaseRow)
TIMER = table_of(TimerRow)
OUTBOX = table_of(OutboxRow)

Status = sa.ColumnElement[str]
ARMED: Final[Status] = sa.literal_column("'armed'", sa.String)
PENDING: Final[Status] = sa.literal_column("'pending'", sa.String)
PARKED: Final[Status] = sa.literal_column("'parked'", sa.String)
DELIVERED: Final[Status] = sa.literal_column("'delivered'", sa.String)

R = TypeVar("R", bound=Row)
T = TypeVar("T")


class SqlStore:
    """A :class:`~motcua.workflow.engine.ports.Storage` on SQLite or PostgreSQL.

    Build it with :meth:`from_url`, or from an engine made by :func:`motcua.adapters.sql.engine.create_engine`
    (which configures SQLite's transactions). It is safe to share between threads.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**WRITE)
        self._driver = Driver(engine)
        self._sql = self._driver.queries
        self._codec = self._driver.codec

    @classmethod
    def from_url(cls, url: str, *, migrate: bool = False) -> SqlStore:
        """A store on ``sqlite:///file.db``, ``sqlite://`` (memory) or ``postgresql://…``.

        With ``migrate=True`` the schema is first brought to the latest revision.
        """
        store = cls(create_engine(url))
        try:
            if migrate:
                upgrade_engine(store._engine)
        except BaseException:
            store.close()
            raise
        return store

    @property
    def engine(self) -> Engine:
        return self._engine

    def close(self) -> None:
        """Close every pooled connection; the store must not be used afterwards."""
        self._engine.dispose()

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
        statement = select(AuditEntryRow).where(col(AuditEntryRow.case_code) == code)
        return self._all(statement.order_by(col(AuditEntryRow.sequence)), mapping.entry_from_row)

    def timers(self, code: str) -> Sequence[SetTimer]:
        statement = select(TimerRow).where(col(TimerRow.case_code) == code, col(TimerRow.status) == "armed")
        return self._all(statement.order_by(col(TimerRow.name)), mapping.timer_from_row)

    def effects(self, code: str) -> Sequence[Effect]:
        statement = select(OutboxRow).where(col(OutboxRow.case_code) == code)
        ordered = statement.order_by(col(OutboxRow.position), col(OutboxRow.id))
        return self._all(ordered, mapping.effect_from_row)

    def cases(self) -> Iterator[Case]:
        return self._stream(select(CaseRow).order_by(col(CaseRow.code)), mapping.case_from_row)

    def entries(self) -> Iterator[AuditEntry]:
        ordered = select(AuditEntryRow).order_by(col(AuditEntryRow.case_code), col(AuditEntryRow.sequence))
        return self._stream(ordered, mapping.entry_from_row)

    def find(self, where: CaseFilter, *, after: str | None = None, limit: int = 50) -> Page:
        check_page(limit)
        statement = select(CaseRow).where(*_conditions(where))
        if after is not None:
            statement = statement.where(col(CaseRow.code) > after)
        found = self._all(statement.order_by(col(CaseRow.code)).limit(limit + 1), mapping.case_from_row)
        items = tuple(found[:limit])
        return Page(items, items[-1].code if len(found) > limit else None)

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with translated(), Session(self._engine) as session:
            yield session

    def _all(self, statement: SelectOfScalar[R], convert: Callable[[R], T]) -> list[T]:
        with self._session() as session:
            return [convert(row) for row in session.exec(statement)]

    def _stream(self, statement: SelectOfScalar[R], convert: Callable[[R], T]) -> Iterator[T]:
        with self._session() as session:
            for row in session.exec(statement.execution_options(yield_per=STREAM_BATCH)):
                yield convert(row)

    # -- writes ---------------------------------------------------------------------------------

    def commit(self, decision: Decision) -> None:
        code = decision.case.code
        case_params, entry_params = mapping.decision_params(decision, self._codec)
        with self._driver.transaction() as unit:
            self._save_case(unit, code, case_params, decision.expected_version)
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
        rows = self._claim(_claim_due_statement(now, limit, lease), TimerRow)
        claimed = [mapping.due_timer_from_row(row) for row in rows]
        return sorted(claimed, key=lambda timer: (timer.due_at, timer.case_code, timer.name))

    def discard(self, timer: DueTimer) -> bool:
        with self._driver.transaction() as unit:
            return unit.first(self._sql.consume_timer, _claimed(timer)) is not None

    def armed_count(self, now: datetime) -> tuple[int, int]:
        due = sa.func.count().filter(TIMER.c.due_at <= now)
        statement = sa.select(sa.func.count(), due).where(TIMER.c.status == ARMED)
        with translated(), self._engine.connect() as connection:
            armed, of_which_due = connection.execute(statement).one()
        return int(armed), int(of_which_due)

    # -- Outbox ---------------------------------------------------------------------------------

    def claim_effects(self, now: datetime, limit: int, lease: timedelta) -> list[OutboxItem]:
        if limit < 1:
            return []
        rows = self._claim(_claim_effects_statement(now, limit, lease), OutboxRow)
        return sorted((mapping.outbox_item_from_row(row) for row in rows), key=lambda item: item.id)

    def delivered(self, item_id: int, now: datetime) -> None:
        self._settle(item_id, DELIVERED)

    def failed(self, item_id: int, error: str, settlement: Settlement) -> None:
        if isinstance(settlement, RetryAt):
            self._settle(item_id, PENDING, error, retry_at=settlement.at)
        else:
            self._settle(item_id, PARKED, error)

    def parked(self) -> list[OutboxItem]:
        statement = select(OutboxRow).where(col(OutboxRow.status) == PARKED).order_by(col(OutboxRow.id))
        return self._all(statement, mapping.outbox_item_from_row)

    def backlog(self) -> int:
        with translated(), self._engine.connect() as connection:
            counted = sa.select(sa.func.count()).select_from(OUTBOX).where(OUTBOX.c.status == PENDING)
            return int(connection.execute(counted).scalar_one())

    def requeue(self, item_ids: Sequence[int] | None, now: datetime) -> int:
        chosen = OUTBOX.c.status == PARKED
        if item_ids is not None:
            chosen = sa.and_(chosen, OUTBOX.c.id.in_(list(item_ids)))
        statement = sa.update(OUTBOX).where(chosen).values(status=PENDING, next_attempt_at=now)
        with translated(), self._writer.begin() as connection:
            return len(connection.execute(statement.returning(OUTBOX.c.id)).all())

    def _claim(self, statement: sa.Update, row_class: type[R]) -> list[R]:
        with translated(), self._writer.begin() as connection:
            return [row_class(**row) for row in connection.execute(statement).mappings()]

    def _settle(
        self, item_id: int, status: Status, error: str | None = None, *, retry_at: datetime | None = None
    ) -> None:
        """End an attempt on an outbox row: count it, record how it went, free its claim."""
        changes: dict[str, object] = {
            "status": status, "attempts": OUTBOX.c.attempts + 1, "last_error": error, "claimed_until": None,
        }
        if retry_at is not None:
            changes["next_attempt_at"] = retry_at
        statement = sa.update(OUTBOX).where(OUTBOX.c.id == item_id).values(changes)
        with translated(), self._writer.begin() as connection:
            connection.execute(statement)


def _conditions(where: CaseFilter) -> list[sa.ColumnElement[bool]]:
    """The SQL of :func:`motcua.workflow.engine.queries.matches`: JSON paths read the same on SQLite and PostgreSQL."""
    state, attributes = CASE.c.state, CASE.c.attributes
    assignee = sa.func.nullif(attributes["assignee"].as_string(), "")  # Python's `or` skips "" too
    officer = sa.func.coalesce(assignee, attributes["owner"].as_string())
    wanted: list[tuple[str | None, sa.ColumnElement[Any]]] = [
        (where.definition_key, CASE.c.definition_key),
        (where.lifecycle, state["lifecycle"].as_string()),
        (where.deadline, state["deadline"].as_string()),
        (where.procedure, attributes["procedure"].as_string()),
        (where.officer, officer),
    ]
    conditions = [column == value for value, column in wanted if value is not None]
    if where.due_before is not None:
        conditions.append(attributes["appointment"].as_string() <= appointment_text(where.due_before))
    if where.ended is not None:
        ended_at = attributes["ended_at"].as_string()
        conditions.append(ended_at.is_not(None) if where.ended else ended_at.is_(None))
    return conditions


def _claim_due_statement(now: datetime, limit: int, lease: timedelta) -> sa.Update:
    """Lease the ``limit`` oldest armed timers due at ``now`` whose last lease (if any) ran out, and
    that are their case's earliest armed timer (so a case's warning, overdue mark and escalations can
    never overtake one another on the workers).

    The locking SELECT is a CTE so that it runs exactly once whatever join the planner picks (a
    subquery on the inner side of a nested loop may be run again, and lock other rows each time).
    """
    free = sa.or_(TIMER.c.claimed_until.is_(None), TIMER.c.claimed_until <= now)
    earlier = TIMER.alias("earlier")
    first_of_case = ~sa.exists().where(  # a case's timers fire in due order: one at a time per case
        earlier.c.case_code == TIMER.c.case_code, earlier.c.status == ARMED, earlier.c.due_at < TIMER.c.due_at
    )
    due = (
        sa.select(TIMER.c.case_code, TIMER.c.name)
        .where(TIMER.c.status == ARMED, TIMER.c.due_at <= now, free, first_of_case)
        .order_by(TIMER.c.due_at, TIMER.c.case_code, TIMER.c.name)
        .limit(_inline(limit))
        .with_for_update(skip_locked=True)
        .cte("due")
    )
    key = sa.tuple_(TIMER.c.case_code, TIMER.c.name)
    chosen = key.in_(sa.select(due.c.case_code, due.c.name))
    return sa.update(TIMER).where(chosen).values(claimed_until=now + lease).returning(*TIMER.c)


def _claim_effects_statement(now: datetime, limit: int, lease: timedelta) -> sa.Update:
    """Lease the ``limit`` first pending effects whose next attempt is due and that nobody holds."""
    free = sa.or_(OUTBOX.c.claimed_until.is_(None), OUTBOX.c.claimed_until <= now)
    ready = (
        sa.select(OUTBOX.c.id)
        .where(OUTBOX.c.status == PENDING, OUTBOX.c.next_attempt_at <= now, free)
        .order_by(OUTBOX.c.id)
        .limit(_inline(limit))
        .with_for_update(skip_locked=True)
        .cte("ready")
    )
    chosen = OUTBOX.c.id.in_(sa.select(ready.c.id))
    return sa.update(OUTBOX).where(chosen).values(claimed_until=now + lease).returning(*OUTBOX.c)


def _inline(limit: int) -> sa.ColumnElement[int]:
    """The LIMIT written into the statement: a PostgreSQL generic plan (psycopg prepares a statement
    run five times) then still knows the claim is small, and joins it back by primary key."""
    return sa.literal(int(limit), sa.Integer, literal_execute=True)


def _claimed(timer: DueTimer) -> Params:
    """The timer row as claimed (same generation): fired, re-armed or cancelled since, it matches no row."""
    return {"case_code": timer.case_code, "name": timer.name, "generation": timer.generation}

