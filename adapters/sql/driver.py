"""The store's hot path: the named statements of :mod:`motcua.adapters.sql.queries` run on the pool's DBAPI connections.

A transition costs a ``load`` and a ``commit``. Through a SQLAlchemy :class:`~sqlalchemy.engine.Connection`
each of them paid for autobegin, engine events, an execution context and a result wrapper per statement
(and the SQLite ``BEGIN IMMEDIATE`` as one more full execution): more than the statements themselves.
Here a call checks a connection out of the engine's pool, runs its statements on a driver cursor and
gives it back; SQLAlchemy still owns the pool (reset on return, recycling, invalidation), the dialect's
disconnect detection and the connect-time setup of :mod:`motcua.adapters.sql.engine` (SQLite's PRAGMAs).

- :meth:`Driver.reading` runs statements outside any transaction: on SQLite each one reads one
  snapshot, as every read of the store does; on PostgreSQL the connection is in autocommit for the
  call, so a read is one round trip (no ``BEGIN``, no ``ROLLBACK``).
- :meth:`Driver.transaction` is one transaction: ``BEGIN IMMEDIATE`` on SQLite (writers queue for the
  lock rather than fail half-way), psycopg's implicit ``BEGIN`` on PostgreSQL; committed at the end,
  rolled back on any error.

A driver error leaves as a :mod:`motcua.workflow.engine.errors` one, judged by :mod:`motcua.adapters.sql.errors` like
the
errors of the SQLAlchemy paths. A disconnect invalidates the connection and then, at the next checkout,
the whole pool (:class:`~sqlalchemy.exc.InvalidatePoolError`, what SQLAlchemy's own Connection does):
after a database restart one call fails as :class:`~motcua.workflow.engine.errors.StorageUnavailable` and the next
ones reconnect, without the round trip a pre-ping would add to every checkout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import suppress
from typing import Any, Final

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import DBAPICursor, DBAPIModule
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from motcua.adapters.sql.codec import Codec, codec_for
from motcua.adapters.sql.errors import translation, wrapped
from motcua.adapters.sql.queries import Queries

__all__ = ["Driver", "Params", "Record", "Unit"]

SQLITE_BEGIN: Final = "BEGIN IMMEDIATE"
_CURSOR: Final = "motcua_cursor"

Params = Mapping[str, object]
Record = Sequence[Any]


class Driver:
    """Named statements, a codec and the units of work that run them, for one engine's dialect."""

    def __init__(self, engine: Engine) -> None:
        dialect = engine.dialect
        self.queries = Queries().rendered(dialect.name)
        self.codec: Codec = codec_for(dialect.name)
        self.error: type[DBAPIModule.Error] = dialect.loaded_dbapi.Error
        self._engine = engine
        self._dialect = dialect
        postgres = dialect.name == "postgresql"
        self._begin = None if postgres else SQLITE_BEGIN
        self._autocommit_reads = postgres
        self._disconnects = _Disconnects(engine)

    def reading(self) -> Unit:
        """Statements outside any transaction: ``with driver.reading() as unit: unit.first(…)``."""
        return Unit(self, transaction=False)

    def transaction(self) -> Unit:
        """Statements in one transaction, committed when the block ends, rolled back if it raises."""
        return Unit(self, transaction=True)

    def connect(self) -> PoolProxiedConnection:
        """A connection checked out of the pool (which hands connect errors up unwrapped)."""
        try:
            return self._engine.raw_connection()
        except self.error as error:
            disconnected = self._dialect.is_disconnect(error, None, None)
            raise translation(wrapped(error, self._dialect, disconnected=disconnected)) from error
        except exc.SQLAlchemyError as error:  # the pool's own: overflow timeout, too many reconnects
            raise translation(error) from error

    def enter(self, connection: PoolProxiedConnection, *, transaction: bool) -> DBAPICursor:
        """Prepare a checked-out connection for one unit of work and hand out its cursor."""
        if not transaction and self._autocommit_reads:
            _set_autocommit(connection, True)
        cursor = _cursor(connection)
        if transaction and self._begin is not None:
            cursor.execute(self._begin)
        return cursor

    def leave(self, connection: PoolProxiedConnection, *, transaction: bool, failed: bool) -> None:
        """End the unit: commit (or roll back if it failed), or leave autocommit; raises if the commit fails."""
        if not connection.is_valid:  # invalidated by a disconnect: nothing to end
            return
        if not transaction:
            if self._autocommit_reads:
                self._leave_autocommit(connection)
            return
        try:
            if not failed:
                connection.commit()
                return
        except BaseException:
            self._rollback(connection)
            raise
        self._rollback(connection)

    def translated(self, error: DBAPIModule.Error, connection: PoolProxiedConnection) -> Exception:
        """The error to raise for a driver error; a disconnect invalidates the connection, then the pool."""
        disconnected = self._dialect.is_disconnect(error, connection.dbapi_connection, None)
        if disconnected:
            if connection.is_valid:
                connection.invalidate(error)
            self._disconnects.seen()
        return translation(wrapped(error, self._dialect, disconnected=disconnected))

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
    is the hot path). Its methods take statements of :class:`~motcua.adapters.sql.queries.Queries`."""

    __slots__ = ("_connection", "_cursor", "_driver", "_transaction")

    def __init__(self, driver: Driver, *, transaction: bool) -> None:
        self._driver = driver
        self._transaction = transaction

    def execute(self, statement: str, params: Params) -> None:
        self._cursor.execute(statement, params)

    def executemany(self, statement: str, rows: Sequence[Params]) -> None:
        self._cursor.executemany(statement, rows)

    def first(self, statement: str, params: Params) -> Record | None:
        """The first row the statement returned, or ``None``: how a conflict or a missing row shows."""
        self._cursor.execute(statement, params)
        row: Record | None = self._cursor.fetchone()
        return row

    def __enter__(self) -> Unit:
        connection = self._connection = self._driver.connect()
        try:
            self._cursor = self._driver.enter(connection, transaction=self._transaction)
        except BaseException as error:
            self.__exit__(type(error), error, error.__traceback__)  # raises the translation of a driver error
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: object) -> None:
        driver, connection = self._driver, self._connection
        failure = driver.translated(error, connection) if isinstance(error, driver.error) else None
        try:
            driver.leave(connection, transaction=self._transaction, failed=error is not None)
        except driver.error as late:  # the commit failed
            raise driver.translated(late, connection) from late
        finally:
            connection.close()
        if failure is not None:
            raise failure from error


def _cursor(connection: PoolProxiedConnection) -> DBAPICursor:
    """The connection's cursor, made once for its lifetime (a psycopg cursor copies the connection's
    adapters when made). It lives in the connection's ``info``, which the pool clears when it replaces
    the connection; a pooled connection has one user at a time, so its cursor has too."""
    cursor: DBAPICursor | None = connection.info.get(_CURSOR)
    if cursor is None:
        cursor = connection.info[_CURSOR] = connection.cursor()
    return cursor


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
