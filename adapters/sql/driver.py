"""The one driver layer of the SQL adapter: statements (:mod:`motcua.adapters.sql.statement`) run on the pool's
DBAPI connections, for every store on the database (cases, reports, API keys, sync status, bulk import).

A transition costs a ``load`` and a ``commit``. Through a SQLAlchemy :class:`~sqlalchemy.engine.Connection`
each of them paid for autobegin, engine events, an execution context and a result wrapper per statement
(and the SQLite ``BEGIN IMMEDIATE`` as one more full execution): more than the statements themselves.
Here a call checks a connection out of the engine's pool, runs its statements on a driver cursor and
gives it back; SQLAlchemy still owns the pool (reset on return, recycling, invalidation), the dialect's
disconnect detection and the connect-time setup of :mod:`motcua.adapters.sql.engine` (SQLite's PRAGMAs).

- :meth:`Driver.reading` runs statements outside any transaction: on SQLite each one reads one
  snapshot, as every read of the store does; on PostgreSQL the connection is in autocommit for the
  call, so a read is one round trip (no ``BEGIN``, no ``ROLLBACK``).
- :meth:`Driver.scanning` is a read that needs a transaction on PostgreSQL (a server-side cursor for
  :meth:`Unit.stream`, a ``SET LOCAL``), rolled back at the end; on SQLite it is :meth:`Driver.reading`.
- :meth:`Driver.transaction` is one transaction: ``BEGIN IMMEDIATE`` on SQLite (writers queue for the
  lock rather than fail half-way), psycopg's implicit ``BEGIN`` on PostgreSQL; committed at the end,
  rolled back on any error.

A driver error leaves as a :mod:`motcua.workflow.errors` one, judged by :mod:`motcua.adapters.sql.errors`
like SQLAlchemy's own (migrations still run through SQLAlchemy). A disconnect invalidates the connection
and then, at the next checkout, the whole pool (:class:`~sqlalchemy.exc.InvalidatePoolError`, what
SQLAlchemy's own Connection does): after a database restart one call fails as
:class:`~motcua.workflow.errors.StorageUnavailable` and the next ones reconnect, without the round trip a
pre-ping would add to every checkout.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext, suppress
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import event, exc
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.engine.interfaces import DBAPICursor, DBAPIModule
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection, StaticPool

from motcua.adapters.sql.codec import Codec, codec_for
from motcua.adapters.sql.engine import BUSY_TIMEOUT_MS, SQLITE_BEGIN, create_engine
from motcua.adapters.sql.errors import translation, wrapped
from motcua.adapters.sql.migrate import upgrade_engine
from motcua.adapters.sql.statement import Statement
from motcua.adapters.sql.writers import DEFER_AFTER_S, Turn, WriterBusy, WriterQueue
from motcua.workflow.errors import InvalidInput

__all__ = ["SHORTEN_AFTER_S", "Driver", "Params", "Pending", "Pipeline", "Record", "Unit"]

_CURSOR: Final = "motcua_cursor"
SHORTEN_AFTER_S: Final = 1.0
"""Seconds in the writer queue after which a write waits for SQLite's lock only the rest of the busy timeout."""
_STREAM: Final = "motcua_stream"  # the name of a PostgreSQL server-side cursor

Params = Mapping[str, object]
Record = Sequence[Any]


@dataclass(frozen=True, slots=True)
class _Mode:
    """How a unit of work begins and ends on one database."""

    autocommit: bool = False  # PostgreSQL reads: every statement its own round trip, no BEGIN or ROLLBACK
    begin: str | None = None  # SQLite's BEGIN IMMEDIATE
    transaction: bool = False  # ended by a commit or a rollback
    commit: bool = False  # committed when the unit succeeds (else rolled back)


_MODES: Final = {  # (reading, scanning, transaction) per dialect
    "postgresql": (_Mode(autocommit=True), _Mode(transaction=True), _Mode(transaction=True, commit=True)),
    "sqlite": (_Mode(), _Mode(), _Mode(begin=SQLITE_BEGIN, transaction=True, commit=True)),
}


class Driver:
    """The engine's pool, its dialect (which statements are compiled for), its codec, and the units of work
    that run statements. Shared by every store on one database; safe to share between threads."""

    def __init__(self, engine: Engine) -> None:
        self.dialect: Dialect = engine.dialect
        self.codec: Codec = codec_for(self.dialect.name)
        self.error: type[DBAPIModule.Error] = self.dialect.loaded_dbapi.Error
        self._engine = engine
        self._reading, self._scanning, self._transaction = _MODES[self.dialect.name]
        self._disconnects = _Disconnects(engine)
        self._closed = False
        # An in-memory SQLite database is one connection shared by every thread (StaticPool): two threads on it at
        # once crash the interpreter or interleave two transactions. Its units of work take turns.
        in_memory = isinstance(engine.pool, StaticPool)
        self.turns: AbstractContextManager[object] = threading.RLock() if in_memory else nullcontext()
        # SQLite's writers queue before their BEGIN IMMEDIATE, rather than sleep in its busy handler (writers.py)
        self.busy_timeout_ms = BUSY_TIMEOUT_MS  # SQLite's, set on each connection (engine.py)
        self.writers = WriterQueue(BUSY_TIMEOUT_MS / 1000, queued=self.dialect.name == "sqlite" and not in_memory)

    @classmethod
    def from_url(cls, url: str, *, migrate: bool = False) -> Driver:
        """A driver on ``sqlite:///file.db``, ``sqlite://`` (memory) or ``postgresql://…``; with ``migrate=True``
        the schema is first brought to the latest revision."""
        engine = create_engine(url)
        try:
            if migrate:
                upgrade_engine(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine)

    @property
    def engine(self) -> Engine:
        return self._engine

    def close(self) -> None:
        """Close every pooled connection; a unit of work asked afterwards is refused (:meth:`connect`), rather than
        silently opening the database again."""
        self._closed = True
        self._engine.dispose()
        self.writers.close()

    def reading(self) -> Unit:
        """Statements outside any transaction: ``with driver.reading() as unit: unit.first(…)``."""
        return Unit(self, self._reading)

    def scanning(self) -> Unit:
        """Reads in a transaction on PostgreSQL (for :meth:`Unit.stream`, a ``SET LOCAL``), rolled back at the end."""
        return Unit(self, self._scanning)

    def transaction(self) -> Unit:
        """Statements in one transaction, committed when the block ends, rolled back if it raises."""
        return Unit(self, self._transaction)

    def connect(self) -> PoolProxiedConnection:
        """A connection checked out of the pool (which hands connect errors up unwrapped)."""
        if self._closed:
            raise InvalidInput("database", "this motcua was closed: open it again (open_motcua, motcua.connect)")
        try:
            return self._engine.raw_connection()
        except self.error as error:
            disconnected = self.dialect.is_disconnect(error, None, None)
            raise translation(wrapped(error, self.dialect, disconnected=disconnected)) from error
        except exc.SQLAlchemyError as error:  # the pool's own: overflow timeout, too many reconnects
            raise translation(error) from error

    def enter(self, connection: PoolProxiedConnection, mode: _Mode, turn: Turn | None = None) -> DBAPICursor:
        """Prepare a checked-out connection for one unit of work and hand out its cursor. ``turn``: the writer
        queue's. After a long wait in the queue, SQLite's lock is waited for only the rest of the busy timeout (one
        deadline for both); for a unit that may not wait (``turn.deferring``), a few milliseconds, then
        :class:`~motcua.adapters.sql.writers.WriterBusy` — SQLite's lock held by a writer that did not queue.
        :meth:`restore_busy_timeout` puts the timeout back."""
        if mode.autocommit:
            _set_autocommit(connection, True)
        cursor = _cursor(connection)
        if mode.begin is not None:
            waits_ms = None if turn is None else _busy_wait_ms(turn, self.busy_timeout_ms)
            if waits_ms is None:
                cursor.execute(mode.begin)
                return cursor
            assert turn is not None
            turn.timeout_changed = True
            cursor.execute(f"PRAGMA busy_timeout = {waits_ms}")  # a number, never text from outside
            try:
                cursor.execute(mode.begin)
            except self.error as error:
                if turn.deferring and getattr(error, "sqlite_errorname", None) == "SQLITE_BUSY":
                    raise WriterBusy from error  # nothing begun, nothing written
                raise
            if turn.deferring:  # the writer is this unit's now: its statements wait as any others do
                cursor.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
                turn.timeout_changed = False
        return cursor

    def restore_busy_timeout(self, connection: PoolProxiedConnection) -> None:
        """The busy timeout of :meth:`enter` put back before the connection returns to the pool; a connection that
        cannot take it leaves the pool."""
        if not connection.is_valid:
            return
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
            finally:
                cursor.close()
        except self.error as error:
            connection.invalidate(error)

    def leave(self, connection: PoolProxiedConnection, mode: _Mode, *, failed: bool) -> None:
        """End the unit: commit (or roll back), or leave autocommit; raises if the commit fails."""
        if not connection.is_valid:  # invalidated by a disconnect: nothing to end
            return
        if mode.autocommit:
            self._leave_autocommit(connection)
        if not mode.transaction:
            return
        try:
            if mode.commit and not failed:
                connection.commit()
                return
        except BaseException:
            self._rollback(connection)
            raise
        self._rollback(connection)

    def stream_cursor(self, connection: PoolProxiedConnection) -> DBAPICursor:
        """A cursor of its own for :meth:`Unit.stream`: server-side on PostgreSQL (rows arrive a batch at a time)."""
        if self.dialect.name == "postgresql":
            cursor: DBAPICursor = connection.cursor(name=_STREAM)
            return cursor
        return connection.cursor()

    def translated(self, error: DBAPIModule.Error, connection: PoolProxiedConnection) -> Exception:
        """The error to raise for a driver error; a disconnect invalidates the connection, then the pool."""
        disconnected = self.dialect.is_disconnect(error, connection.dbapi_connection, None)
        if disconnected:
            if connection.is_valid:
                connection.invalidate(error)
            self._disconnects.seen()
        return translation(wrapped(error, self.dialect, disconnected=disconnected))

    def _rollback(self, connection: PoolProxiedConnection) -> None:
        with suppress(self.error):  # a connection that cannot roll back is dead: the error in flight says so
            connection.rollback()

    def _leave_autocommit(self, connection: PoolProxiedConnection) -> None:
        """Back to transactions, or out of the pool: its next user's ``begin()`` would not be one."""
        try:
            _set_autocommit(connection, False)
        except self.error as error:
            connection.invalidate(error)


class Unit:
    """One unit of work on one pooled connection, as a context manager (a class, not a generator: this
    is the hot path). Its methods take the :data:`~motcua.adapters.sql.statement.Statement` texts of the
    ``*_queries`` modules and parameters as the driver binds them (:mod:`motcua.adapters.sql.codec`)."""

    __slots__ = ("_connection", "_cursor", "_driver", "_mode", "_turn")

    def __init__(self, driver: Driver, mode: _Mode) -> None:
        self._driver = driver
        self._mode = mode
        self._turn: Turn | None = None  # its turn in the driver's writer queue, while it has one

    def execute(self, statement: Statement, params: Params) -> None:
        self._cursor.execute(statement, params)

    def executemany(self, statement: Statement, rows: Sequence[Params]) -> None:
        self._cursor.executemany(statement, rows)

    def first(self, statement: Statement, params: Params) -> Record | None:
        """The first row the statement returned, or ``None``: how a conflict or a missing row shows."""
        self._cursor.execute(statement, params)
        row: Record | None = self._cursor.fetchone()
        return row

    def all(self, statement: Statement, params: Params) -> Sequence[Record]:
        self._cursor.execute(statement, params)
        rows: Sequence[Record] = self._cursor.fetchall()
        return rows

    def pipeline(self) -> Pipeline:
        """Statements sent without waiting for each one's answer until the block ends (PostgreSQL's pipeline
        mode: one round trip for them all); on SQLite, which has no round trips, each runs at once. Any error is
        raised by the end of the block at the latest. Only in a :meth:`Driver.transaction`."""
        return Pipeline(self._connection, self._cursor, pipelined=self._driver.dialect.name == "postgresql")

    def stream(self, statement: Statement, params: Params, batch: int) -> Iterator[Record]:
        """The rows ``batch`` at a time, on a cursor of their own (the unit must be :meth:`Driver.scanning`)."""
        cursor = self._driver.stream_cursor(self._connection)
        try:
            cursor.execute(statement, params)
            while rows := cursor.fetchmany(batch):
                yield from rows
        finally:
            cursor.close()

    def __enter__(self) -> Unit:
        self._driver.turns.__enter__()
        try:
            connection = self._connection = self._driver.connect()
        except BaseException:
            self._driver.turns.__exit__(None, None, None)
            raise
        try:
            if self._mode.begin is not None:
                self._turn = self._driver.writers.acquire(lambda: _database_file(connection))
            self._cursor = self._driver.enter(connection, self._mode, self._turn)
        except BaseException as error:
            self.__exit__(type(error), error, error.__traceback__)  # raises the translation of a driver error
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: object) -> None:
        driver, connection = self._driver, self._connection
        failure = driver.translated(error, connection) if isinstance(error, driver.error) else None
        try:
            driver.leave(connection, self._mode, failed=error is not None)
        except driver.error as late:  # the commit failed
            raise driver.translated(late, connection) from late
        finally:
            try:
                if self._turn is not None and self._turn.timeout_changed:
                    driver.restore_busy_timeout(connection)
                connection.close()
            finally:  # the turn goes on whatever closing the connection raised
                turn, self._turn = self._turn, None
                if turn is not None:
                    turn.release()
                driver.turns.__exit__(None, None, None)
        if failure is not None:
            raise failure from error


class Pending:
    """The answer of a statement sent in a :class:`Pipeline`: its first row, read once the pipeline has ended."""

    __slots__ = ("_cursor", "_read", "_row")

    def __init__(self, cursor: DBAPICursor, row: Record | None = None, *, read: bool = False) -> None:
        self._cursor, self._row, self._read = cursor, row, read

    def first(self) -> Record | None:
        """The first row the statement returned, or ``None`` (how a conflict or a missing row shows)."""
        if not self._read:
            self._row, self._read = self._cursor.fetchone(), True
            self._cursor.close()
        return self._row


class Pipeline:
    """Statements of one transaction sent back to back (:meth:`Unit.pipeline`), as a context manager: ``execute``
    for a statement whose answer is not needed, ``later`` for one whose first row is read after the block."""

    __slots__ = ("_connection", "_context", "_cursor", "_pipelined")

    def __init__(self, connection: PoolProxiedConnection, cursor: DBAPICursor, *, pipelined: bool) -> None:
        self._connection, self._cursor, self._pipelined = connection, cursor, pipelined
        self._context: Any = None

    def execute(self, statement: Statement, params: Params) -> None:
        self._cursor.execute(statement, params)

    def later(self, statement: Statement, params: Params) -> Pending:
        if not self._pipelined:
            self._cursor.execute(statement, params)
            return Pending(self._cursor, self._cursor.fetchone(), read=True)
        cursor = self._connection.cursor()  # a cursor of its own: a pipelined cursor keeps its last answer only
        cursor.execute(statement, params)
        return Pending(cursor)

    def __enter__(self) -> Pipeline:
        if self._pipelined:
            driver = self._connection.dbapi_connection
            assert driver is not None, "a checked-out connection is valid until invalidated"
            self._context = driver.pipeline()
            self._context.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: object) -> None:
        if self._context is not None:
            context, self._context = self._context, None
            context.__exit__(kind, error, trace)  # the sync: answers arrive, errors are raised


def _cursor(connection: PoolProxiedConnection) -> DBAPICursor:
    """The connection's cursor, made once for its lifetime (a psycopg cursor copies the connection's
    adapters when made). It lives in the connection's ``info``, which the pool clears when it replaces
    the connection; a pooled connection has one user at a time, so its cursor has too."""
    cursor: DBAPICursor | None = connection.info.get(_CURSOR)
    if cursor is None:
        cursor = connection.info[_CURSOR] = connection.cursor()
    return cursor


def _busy_wait_ms(turn: Turn, busy_timeout_ms: int) -> int | None:
    """How long this transaction may wait for SQLite's lock, when not the connection's busy timeout: a few
    milliseconds for a unit that may not wait, the rest of the timeout after a long wait in the queue."""
    if turn.deferring:
        return max(1, round(1000 * DEFER_AFTER_S))
    if turn.waited_s >= SHORTEN_AFTER_S:
        return max(1, round(busy_timeout_ms - 1000 * turn.waited_s))
    return None


def _database_file(connection: PoolProxiedConnection) -> str:
    """The file of SQLite's ``main`` database on ``connection``, as SQLite opened it (``""`` in memory)."""
    cursor = connection.cursor()
    try:
        cursor.execute("PRAGMA database_list")
        return next((str(row[2] or "") for row in cursor.fetchall() if row[1] == "main"), "")
    finally:
        cursor.close()


def _set_autocommit(connection: PoolProxiedConnection, value: bool) -> None:
    driver = connection.dbapi_connection
    assert driver is not None, "a checked-out connection is valid until invalidated"
    driver.autocommit = value


class _Disconnects:
    """Carries a disconnect seen on a checked-out connection to the pool: at its next checkout the pool
    is invalidated, so every connection made before the disconnect is replaced when next checked out."""

    def __init__(self, engine: Engine) -> None:
        self._seen = False
        event.listen(engine, "checkout", self._checkout)

    def seen(self) -> None:
        self._seen = True

    def _checkout(self, dbapi_connection: Any, record: ConnectionPoolEntry, proxy: PoolProxiedConnection) -> None:
        if self._seen:
            self._seen = False
            raise exc.InvalidatePoolError("the database was disconnected: every older connection is replaced")
