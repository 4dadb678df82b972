"""Driver errors translated at the boundary: no SQLAlchemy or psycopg exception leaves the adapter.

Conflicts (a lost race, a code already used) are detected by the statements themselves
(``ON CONFLICT DO NOTHING``, ``UPDATE … WHERE version = ?``), not by parsing driver errors; what
remains here is the database being away or refusing a statement. Errors raised by the driver itself
(every statement runs on :mod:`motcua.adapters.sql.driver`) are first wrapped as SQLAlchemy wraps them
(:func:`wrapped`), so that they are judged by the same rules as SQLAlchemy's own errors (the pool's, and
the migrations' through :func:`translated`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc
from sqlalchemy.engine import Dialect

from motcua.workflow.errors import MotcuaError, StorageFailure, StorageUnavailable

__all__ = ["translated", "translation", "wrapped"]

_UNREACHABLE = (exc.InterfaceError, exc.DisconnectionError, exc.TimeoutError)


@contextmanager
def translated() -> Iterator[None]:
    """Run a block, turning SQLAlchemy and driver errors into :mod:`motcua.workflow.errors` ones."""
    try:
        yield
    except exc.SQLAlchemyError as error:
        raise translation(error) from error


def translation(error: exc.SQLAlchemyError) -> MotcuaError:
    """The :mod:`motcua.workflow.errors` error that stands for ``error``: retryable if the database is away."""
    if _unreachable(error):
        return StorageUnavailable(_detail(error))
    return StorageFailure(_detail(error))


def wrapped(error: Exception, dialect: Dialect, *, disconnected: bool) -> exc.SQLAlchemyError:
    """A driver's own error as SQLAlchemy's :class:`~sqlalchemy.exc.DBAPIError` of the same kind."""
    return exc.DBAPIError.instance(
        None, None, error, dialect.loaded_dbapi.Error, connection_invalidated=disconnected, dialect=dialect
    )


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
