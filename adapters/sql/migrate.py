"""Schema migrations run from code: :func:`upgrade` brings a database to the latest revision.

The Alembic configuration is built here (no ``alembic.ini`` at runtime) and the scripts ship
inside the package (:mod:`motcua.adapters.sql.migrations`). The whole upgrade runs in one transaction;
on PostgreSQL it also holds an advisory lock, so that any number of processes starting at once
migrate the schema exactly once (the others wait, then find it at head). On SQLite the upgrade
transaction begins with ``BEGIN IMMEDIATE``, which serializes them the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from motcua.adapters.sql.engine import WRITE, create_engine
from motcua.adapters.sql.errors import translated
from motcua.workflow.errors import InvalidInput

__all__ = ["MIGRATIONS", "alembic_config", "upgrade", "upgrade_engine"]

MIGRATIONS: Final = Path(__file__).with_name("migrations")
ADVISORY_LOCK: Final = int.from_bytes(b"motcua", "big")  # one 64-bit key for the schema of motcua


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
    """Upgrade through an existing engine (needed for ``sqlite://``: its one database is the engine's)."""
    with (
        translated(),
        engine.connect() as connection,
        _exclusive(connection),
        connection.execution_options(**WRITE).begin(),
    ):
        try:
            command.upgrade(alembic_config(connection), "head")
        except CommandError as error:  # a revision no migration of this motcua knows: a newer one's, or another's
            raise InvalidInput("database", f"its schema is not one this motcua knows ({str(error)[:200]}): a "
                                           "database of a newer motcua, or of another application") from None


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
