"""The SQL adapter of :class:`workflow.ports.Storage` (cases, timers, outbox), on SQLite or PostgreSQL.

``commit`` is one transaction: the case row (inserted, or updated ``WHERE version = expected``),
the audit entry, the consumed timer row (deleted ``WHERE generation = claimed``), the armed timer
rows and the outbox rows; it writes all of them or nothing. Conflicts are found by the statements
themselves: an ``INSERT … ON CONFLICT DO NOTHING``, an ``UPDATE`` or ``DELETE`` that returns no row
(``RETURNING``, since rowcount is not reliable through every driver). So they read the same on
both databases and never leave a PostgreSQL transaction aborted.
``cases()`` and ``entries()`` stream in batches (a server-side cursor on PostgreSQL).

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
from typing import Final, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from adapters.sql import mapping
from adapters.sql.engine import WRITE, create_engine
from adapters.sql.errors import translated
from adapters.sql.migrate import upgrade_engine
from adapters.sql.tables import AuditEntryRow, CaseRow, OutboxRow, Row, SequenceCounterRow, TimerRow, table_of
from workflow.audit import AuditEntry
from workflow.engine import Decision
from workflow.errors import CaseAlreadyExists, CaseNotFound, ConcurrencyConflict, StaleTimer
from workflow.model import CancelTimer, Case, DueTimer, Effect, OutboxItem, SetTimer, TimerChange
from workflow.retry import RetryAt, Settlement

__all__ = ["SqlStore"]

STREAM_BATCH: Final = 500

CASE = table_of(CaseRow)
AUDIT = table_of(AuditEntryRow)
TIMER = table_of(TimerRow)
OUTBOX = table_of(OutboxRow)
COUNTER = table_of(SequenceCounterRow)

Status = sa.ColumnElement[str]
ARMED: Final[Status] = sa.literal_column("'armed'", sa.String)
PENDING: Final[Status] = sa.literal_column("'pending'", sa.String)
PARKED: Final[Status] = sa.literal_column("'parked'", sa.String)
DELIVERED: Final[Status] = sa.literal_column("'delivered'", sa.String)

R = TypeVar("R", bound=Row)
T = TypeVar("T")
Upsert = postgresql.Insert | sqlite.Insert


class SqlStore:
    """A :class:`~workflow.ports.Storage` on SQLite or PostgreSQL.

    Build it with :meth:`from_url`, or from an engine made by :func:`adapters.sql.engine.create_engine`
    (which configures SQLite's transactions). It is safe to share between threads.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**WRITE)

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
        with self._session() as session:
            row = session.get(CaseRow, code)
            if row is None:
                raise CaseNotFound(code)
            return mapping.case_from_row(row)

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
        with translated(), self._writer.begin() as connection:
            self._save_case(connection, decision.case, decision.expected_version)
            position = self._append(connection, decision.entry)
            if decision.consumes is not None:
                self._consume(connection, code, decision.consumes)
            for change in decision.timers:
                self._apply_timer(connection, code, change, position)
            self._enqueue(connection, position, decision)

    def next_sequence(self, scope: str) -> int:
        statement = self._insert(COUNTER).values(scope=scope, value=1)
        statement = statement.on_conflict_do_update(
            index_elements=[COUNTER.c.scope], set_={"value": COUNTER.c.value + 1}
        )
        with translated(), self._writer.begin() as connection:
            return int(connection.execute(statement.returning(COUNTER.c.value)).scalar_one())

    def _save_case(self, connection: Connection, case: Case, expected_version: int) -> None:
        row = mapping.values(mapping.case_row(case))
        if expected_version == 0:
            inserted = self._insert(CASE).values(row).on_conflict_do_nothing().returning(CASE.c.code)
            if connection.execute(inserted).first() is None:
                raise CaseAlreadyExists(case.code)
            return
        current = sa.and_(CASE.c.code == case.code, CASE.c.version == expected_version)
        updated = sa.update(CASE).where(current).values(row).returning(CASE.c.code)
        if connection.execute(updated).first() is None:
            raise self._lost(connection, case.code, expected_version)

    def _lost(self, connection: Connection, code: str, expected_version: int) -> Exception:
        found = connection.execute(sa.select(CASE.c.code).where(CASE.c.code == code)).first()
        return CaseNotFound(code) if found is None else ConcurrencyConflict(code, expected_version)

    def _append(self, connection: Connection, entry: AuditEntry) -> int:
        row = mapping.values(mapping.entry_row(entry), skip={"position"})
        statement = self._insert(AUDIT).values(row).on_conflict_do_nothing(
            index_elements=[AUDIT.c.case_code, AUDIT.c.sequence]
        )
        position = connection.execute(statement.returning(AUDIT.c.position)).scalar_one_or_none()
        if position is None:
            raise ConcurrencyConflict(entry.case_code, entry.sequence - 1)
        return int(position)

    def _consume(self, connection: Connection, code: str, timer: DueTimer) -> None:
        """Delete the fired timer if it is still the one claimed (same generation), or raise StaleTimer."""
        stale = StaleTimer(timer.case_code, timer.name, timer.generation)  # raised, the transaction rolls back
        if timer.case_code != code:
            raise stale
        same = sa.and_(TIMER.c.case_code == code, TIMER.c.name == timer.name, TIMER.c.generation == timer.generation)
        if connection.execute(sa.delete(TIMER).where(same).returning(TIMER.c.name)).first() is None:
            raise stale

    def _apply_timer(self, connection: Connection, code: str, change: TimerChange, position: int) -> None:
        if isinstance(change, CancelTimer):
            gone = sa.and_(TIMER.c.case_code == code, TIMER.c.name == change.name)
            connection.execute(sa.delete(TIMER).where(gone))
            return
        statement = self._insert(TIMER).values(mapping.values(mapping.timer_row(code, change, position)))
        rearmed = {
            "trigger": statement.excluded.trigger, "due_at": statement.excluded.due_at,
            "data": statement.excluded.data, "status": "armed",
            "generation": statement.excluded.generation, "claimed_until": None,
        }
        connection.execute(statement.on_conflict_do_update(
            index_elements=[TIMER.c.case_code, TIMER.c.name], set_=rearmed
        ))

    def _enqueue(self, connection: Connection, position: int, decision: Decision) -> None:
        at = decision.entry.occurred_at
        rows = [
            mapping.values(mapping.outbox_row(decision.case.code, position, effect, at), skip={"id"})
            for effect in decision.effects
        ]
        if rows:
            connection.execute(sa.insert(OUTBOX), rows)

    # -- TimerQueue -----------------------------------------------------------------------------

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[DueTimer]:
        if limit < 1:
            return []
        rows = self._claim(_claim_due_statement(now, limit, lease), TimerRow)
        claimed = [mapping.due_timer_from_row(row) for row in rows]
        return sorted(claimed, key=lambda timer: (timer.due_at, timer.case_code, timer.name))

    def discard(self, timer: DueTimer) -> bool:
        same = sa.and_(
            TIMER.c.case_code == timer.case_code, TIMER.c.name == timer.name,
            TIMER.c.generation == timer.generation,
        )
        with translated(), self._writer.begin() as connection:
            return connection.execute(sa.delete(TIMER).where(same).returning(TIMER.c.name)).first() is not None

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

    def _insert(self, table: sa.Table) -> Upsert:
        """An INSERT that knows ``ON CONFLICT`` (both databases spell it the same way)."""
        if self._engine.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)


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
