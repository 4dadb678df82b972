"""Driver errors translated at the boundary: no SQLAlchemy or psycopg exception leaves the adapter.

Conflicts (a lost race, a code already used) are detected by the statements themselves
(``ON CONFLICT DO NOTHING``, ``UPDATE … WHERE version = ?``), not by parsing driver errors; what
remains here is the database being away or refusing a statement.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc

from workflow.errors import StorageFailure, StorageUnavailable

__all__ = ["translated"]

_UNREACHABLE = (exc.InterfaceError, exc.DisconnectionError, exc.TimeoutError)


@contextmanager
def translated() -> Iterator[None]:
    """Run a block, turning SQLAlchemy and driver errors into :mod:`workflow.errors` ones."""
    try:
        yield
    except exc.SQLAlchemyError as error:
        if _unreachable(error):
            raise StorageUnavailable(_detail(error)) from error
        raise StorageFailure(_detail(error)) from error


def _unreachable(error: exc.SQLAlchemyError) -> bool:
    """Whether the database is away (or busy), as opposed to refusing what it was asked."""
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, exc.OperationalError):
        # SQLite reports a missing table as an OperationalError too, with the generic code SQLITE_ERROR
        return getattr(error.orig, "sqlite_errorname", None) != "SQLITE_ERROR"
    return isinstance(error, _UNREACHABLE)


def _detail(error: exc.SQLAlchemyError) -> str:
    cause = error.orig if isinstance(error, exc.DBAPIError) else error
    text = str(cause).strip()
    return text.splitlines()[0] if text else type(cause).__name__
