"""Schema migrations run from code: :func:`upgrade` brings a database to the latest revision.

The Alembic configuration is built here (no ``alembic.ini`` at runtime) and the scripts ship
inside the package (:mod:`motcua.adapters.sql.migrations`). The whole upgrade runs in one transaction;
on PostgreSQL it also holds an advisory lock, so that any number of processes starting at once
migrate the schema exactly once (the others wait, then find it at head). On SQLite the upgrade
transaction begins with ``BEGIN IMMEDIATE``, which serializes them the same way.

Only motcua's own database is migrated: a SQLite file that exists and holds tables but no ``alembic_version`` (another
application's), or that is no SQLite database at all, is refused before any connection is made (a connection alone
switches the file to WAL mode, which rewrites its header). A new path and an empty file are created and migrated.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import text
from sqlalchemy.engine import URL, Connection, Engine

from motcua.adapters.sql.engine import BUSY_TIMEOUT_MS, WRITE, create_engine
from motcua.adapters.sql.errors import translated
from motcua.workflow.engine.bounds import excerpt
from motcua.workflow.errors import InvalidInput, StorageFailure, StorageUnavailable

__all__ = ["MIGRATIONS", "alembic_config", "upgrade", "upgrade_engine"]

MIGRATIONS: Final = Path(__file__).with_name("migrations")
ADVISORY_LOCK: Final = int.from_bytes(b"motcua", "big")  # one 64-bit key for the schema of motcua
VERSION_TABLE: Final = "alembic_version"  # what marks a database motcua's migrations made (or were given empty)
_TABLES_SHOWN: Final = 3  # of a foreign database's tables, the first few an error names


def alembic_config(connection: Connection | None = None) -> Config:
    """The Alembic configuration of the shipped migrations, optionally bound to a connection."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(url: str) -> None:
    """Upgrade the database at ``url`` to the latest schema revision (``alembic upgrade head``)."""
    engine = create_engine(url)
    try:
        upgrade_engine(engine)
    finally:
        engine.dispose()


def upgrade_engine(engine: Engine) -> None:
    """Upgrade through an existing engine (needed for ``sqlite://``: its one database is the engine's).

    A database behind this motcua whose upgrade fails (on PostgreSQL, typically: opened as the application role,
    which may not migrate) raises :class:`StorageFailure` naming the revision found and the one needed."""
    _refuse_foreign_file(engine.url)
    found: list[str | None] = []
    try:
        with (
            translated(),
            engine.connect() as connection,
            _exclusive(connection),
            connection.execution_options(**WRITE).begin(),
        ):
            found.append(MigrationContext.configure(connection).get_current_revision())
            try:
                command.upgrade(alembic_config(connection), "head")
            except CommandError as error:  # a revision no migration of this motcua knows: a newer one's, or another's
                raise InvalidInput("database", f"its schema is not one this motcua knows ({str(error)[:200]}): a "
                                               "database of a newer motcua, or of another application") from None
    except StorageFailure as error:
        raise _behind(found, error) from error


def _behind(found: list[str | None], error: StorageFailure) -> StorageFailure:
    """``error`` naming the revision the database is at and the one this motcua needs, when it was behind."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if not found or found[0] == head:
        return error
    at = "without a schema" if found[0] is None else f"at revision {found[0]}"
    return StorageFailure(f"the database is {at}, this motcua needs {head}; migrating it failed and changed nothing: "
                          f"{error.detail} (on PostgreSQL, migrations run as the owner of the tables: "
                          "docs/how-to/set-up-postgresql-roles.md)")


def _refuse_foreign_file(url: URL) -> None:
    """Refuse a SQLite file that is not motcua's to migrate, reading it without writing a byte."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return
    path = Path(url.database or "")
    if not path.is_file() or path.stat().st_size == 0:  # a new database (or a directory: the driver names it)
        return
    tables = _sqlite_tables(path)
    if tables and VERSION_TABLE not in tables:
        named = ", ".join(excerpt(name) for name in sorted(tables)[:_TABLES_SHOWN])
        more = f" and {len(tables) - _TABLES_SHOWN} more" if len(tables) > _TABLES_SHOWN else ""
        raise InvalidInput("database", f"{path} holds tables of another application ({named}{more}) and no motcua "
                                       "schema: left untouched; give a new path or motcua's own database")


def _sqlite_tables(path: Path) -> set[str]:
    """The tables of the SQLite file at ``path`` (SQLite's own ``sqlite_…`` left out), read only."""
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                     timeout=BUSY_TIMEOUT_MS / 1000)) as connection:
            rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    except sqlite3.DatabaseError as error:
        if getattr(error, "sqlite_errorname", None) == "SQLITE_NOTADB":
            raise InvalidInput("database", f"{path} is not a SQLite database: left untouched") from None
        unavailable = isinstance(error, sqlite3.OperationalError) and error.sqlite_errorname != "SQLITE_ERROR"
        raise (StorageUnavailable if unavailable else StorageFailure)(f"{path}: {error}") from None
    return {str(name) for (name,) in rows if not str(name).startswith("sqlite_")}


@contextmanager
def _exclusive(connection: Connection) -> Iterator[None]:
    if connection.dialect.name != "postgresql":
        yield
        return
    _advisory(connection, "pg_advisory_lock")
    try:
        yield
    finally:
        _advisory(connection, "pg_advisory_unlock")


def _advisory(connection: Connection, function: str) -> None:
    connection.execute(text(f"SELECT {function}(:key)"), {"key": ADVISORY_LOCK})
    connection.commit()
