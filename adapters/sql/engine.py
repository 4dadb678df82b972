"""Engines from URLs: the one module that knows the connection quirks of SQLite and PostgreSQL.

- ``sqlite:///path.db`` — a file in WAL mode with foreign keys on and a busy timeout. pysqlite's
  own transaction handling is switched off: reads run as single autocommit statements (each one
  a consistent snapshot), and a write begins with :data:`SQLITE_BEGIN` (the driver's transactions; a
  SQLAlchemy connection carrying :data:`WRITE`, the migrations'), so concurrent writers queue for the
  write lock instead of failing half-way. Parameters are named (``:name``), as the statements of
  :mod:`motcua.adapters.sql.statement` are compiled.
- ``sqlite:///path.db?synchronous=normal`` — the same, with ``PRAGMA synchronous = NORMAL`` instead of
  SQLite's default ``FULL``: in WAL mode a commit then survives a crash of the process but not a power
  loss or an OS crash (the last transactions may be lost, the database stays consistent). Explicit and
  off by default; ``motcua demo`` uses it for the fresh database of its simulation.
- ``sqlite://`` — an in-memory database held by one connection (:class:`StaticPool`), so that
  every checkout sees the same database.
- ``postgresql://…`` (or ``postgres://``) — PostgreSQL through psycopg 3. No pre-ping (it would cost a
  round trip per checkout): a connection found dead fails its call with ``StorageUnavailable`` and is
  invalidated with every older one (by :mod:`motcua.adapters.sql.driver`, or by
  :class:`sqlalchemy.engine.Connection` for the migrations), so the next call reconnects; connections are also
  recycled after :data:`POOL_RECYCLE_S`, before a server or a proxy drops them as idle.

JSON is written with ``ensure_ascii=False``: Vietnamese text stays readable in the database. Every SQLite
connection gets the function :data:`SEAL_FUNCTION`, with which the store's INSERT seals an audit entry to its
position (PostgreSQL computes the seal with its own ``sha256``).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from motcua.workflow.engine.audit import position_seal
from motcua.workflow.errors import InvalidInput

__all__ = ["SEAL_FUNCTION", "SQLITE_BEGIN", "WRITE", "create_engine", "dialect_url", "json_dumps"]

SEAL_FUNCTION: Final = "motcua_position_seal"
"""``motcua_position_seal(previous, position, hash)``: :func:`motcua.workflow.engine.audit.position_seal` in SQLite."""

SQLITE_BEGIN: Final = "BEGIN IMMEDIATE"
BEGIN_OPTION: Final = "motcua_sqlite_write"
WRITE: Final[dict[str, Any]] = {BEGIN_OPTION: True}
"""Execution options of a SQLAlchemy write transaction (``engine.execution_options(**WRITE)``)."""

BUSY_TIMEOUT_MS: Final = 30_000
CONNECT_TIMEOUT_S: Final = 10
POOL_RECYCLE_S: Final = 1800
_POSTGRES_NAMES: Final = frozenset({"postgres", "postgresql"})
SYNCHRONOUS_PARAMETER: Final = "synchronous"
_SYNCHRONOUS_MODES: Final = frozenset({"full", "normal"})
_JSON: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # built once: json.dumps builds one a call


def dialect_url(url: str) -> URL:
    """The SQLAlchemy URL for ``url``: PostgreSQL always through psycopg 3, SQLite through pysqlite."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # no scheme, a port that is no number, an unclosed [ …
        raise InvalidInput("url", "not a database URL: give sqlite:///FILE or postgresql://…") from None
    backend = parsed.drivername.partition("+")[0]
    if backend in _POSTGRES_NAMES:
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername in {"sqlite", "sqlite+pysqlite"}:
        return parsed
    shown = parsed.render_as_string(hide_password=True)
    raise InvalidInput("url", f"{shown}: only sqlite:// and postgresql:// databases are supported")


def create_engine(url: str) -> Engine:
    parsed = dialect_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    return _postgres_engine(parsed)


def json_dumps(value: object) -> str:
    return _JSON.encode(value)


def _postgres_engine(url: URL) -> Engine:
    return sa.create_engine(
        url, json_serializer=json_dumps, pool_recycle=POOL_RECYCLE_S,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "motcua"},
    )


def _sqlite_engine(url: URL) -> Engine:
    synchronous = _synchronous(url)
    url = url.difference_update_query([SYNCHRONOUS_PARAMETER])
    in_memory = url.database in (None, "", ":memory:")
    pool: dict[str, Any] = {"poolclass": StaticPool} if in_memory else {}
    engine = sa.create_engine(  # named parameters: the statements of motcua.adapters.sql.statement
        url, json_serializer=json_dumps, connect_args={"check_same_thread": False}, paramstyle="named", **pool
    )

    def configure(dbapi_connection: sqlite3.Connection, record: ConnectionPoolEntry) -> None:
        _configure_sqlite(dbapi_connection, synchronous)

    event.listen(engine, "connect", configure)
    event.listen(engine, "begin", _begin_sqlite)
    return engine


def _synchronous(url: URL) -> str | None:
    """The ``synchronous`` query parameter (``full`` or ``normal``), or None for SQLite's default."""
    value = url.query.get(SYNCHRONOUS_PARAMETER)
    if value is None:
        return None
    mode = value if isinstance(value, str) else value[-1]
    if mode.lower() not in _SYNCHRONOUS_MODES:
        raise InvalidInput("url", f"synchronous={mode}: use full or normal")
    return mode.upper()


def _configure_sqlite(dbapi_connection: sqlite3.Connection, synchronous: str | None) -> None:
    dbapi_connection.isolation_level = None  # no implicit BEGIN: _begin_sqlite decides
    dbapi_connection.create_function(SEAL_FUNCTION, 3, position_seal, deterministic=True)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")  # answers "memory" for an in-memory database
        if synchronous is not None:  # one of _SYNCHRONOUS_MODES, never user text
            cursor.execute(f"PRAGMA synchronous = {synchronous}")
    finally:
        cursor.close()


def _begin_sqlite(connection: Connection) -> None:
    if connection.get_execution_options().get(BEGIN_OPTION):
        connection.exec_driver_sql(SQLITE_BEGIN)
