"""The one factory: the database a URL names, and every store on it.

:func:`open_backend` picks the backend from the URL — ``memory://``, ``sqlite:///FILE`` (``sqlite://`` in
memory), ``postgresql://…`` — and hands out a :class:`Backend`: the case store with its timer queue and
outbox (:class:`~motcua.workflow.engine.ports.Storage`), the reporting projection
(:class:`~motcua.workflow.reports.ports.Reports`), the DVCQG sync status
(:class:`~motcua.adapters.portal.status.SyncLog`), the HTTP API's keys and idempotency records
(:class:`~motcua.adapters.keys.HttpStore`), the console's users and sessions
(:class:`~motcua.adapters.users.UserStore`), the definitions' pins
(:class:`~motcua.workflow.engine.ports.DefinitionPins`) and the bulk writer of file imports
(:class:`~motcua.adapters.bulk.BulkWriter`), all on one database. Nothing else asks which
backend it holds: what differs between them is a capability of the backend (``durable``), never a
type to test.

A SQL backend migrates its schema when opened, and its stores share one driver (one pool); the SQL
modules load only when a SQL URL is opened.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Final, Protocol

from motcua.adapters.bulk import BulkWriter
from motcua.adapters.keys import HttpStore
from motcua.adapters.memory.backend import MemoryBackend
from motcua.adapters.portal.status import SyncLog
from motcua.adapters.users import UserStore
from motcua.workflow.engine.ports import DefinitionPins, Storage
from motcua.workflow.errors import InvalidInput
from motcua.workflow.reports.ports import Reports
from motcua.workflow.reports.projection import EligibleOf, StatusOf

__all__ = ["MEMORY_URL", "Backend", "open_backend"]

MEMORY_URL: Final = "memory://"
SQL_SCHEMES: Final = ("sqlite:", "postgresql:", "postgresql+psycopg:", "postgres:")


class Waker(Protocol):
    """A source of wake-ups for the dispatcher (a PostgreSQL listener), started and stopped by its owner."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class Backend(Protocol):
    """Every store on one database."""

    @property
    def durable(self) -> bool:
        """Whether what is written outlives the process (a database, not memory)."""
        ...

    @property
    def store(self) -> Storage: ...

    @property
    def sync(self) -> SyncLog: ...

    @property
    def keys(self) -> HttpStore: ...

    @property
    def users(self) -> UserStore:
        """The browser console's users and sessions."""
        ...

    @property
    def pins(self) -> DefinitionPins:
        """The digest of each definition as the database was first opened with it."""
        ...

    def reports(self, status_of: StatusOf, eligible_of: EligibleOf) -> Reports:
        """The reporting projection on this database (``status_of``: the DVCQG status of a lifecycle state;
        ``eligible_of``: whether a procedure was eligible for full-online service on a day, the catalogue's)."""
        ...

    def bulk(self) -> AbstractContextManager[BulkWriter]:
        """One unit of work of many decisions: all of them stand when the block ends, none if it raises."""
        ...

    def timer_wakeups(self, wake: Callable[[], None]) -> Waker | None:
        """Something that calls ``wake`` when a timer is armed or re-dated to fall due soon, once started (None
        where the database cannot say: SQLite, memory — the dispatcher's bounded sleep is all there is)."""
        ...

    def close(self) -> None:
        """Release the database (the pool's connections); no store may be used afterwards."""
        ...


def open_backend(url: str) -> Backend:
    """The backend ``url`` names, its schema brought up to date."""
    if url == MEMORY_URL:
        return MemoryBackend()
    if url.startswith(SQL_SCHEMES):
        from motcua.adapters.sql.backend import SqlBackend  # noqa: PLC0415 - SQL drivers load only for a SQL URL

        return SqlBackend.from_url(url)
    shown = _without_password(url)
    raise InvalidInput("database url", f"{shown!r}: use sqlite:///FILE, postgresql://… or {MEMORY_URL}")


def _without_password(url: str) -> str:
    """``url`` as it may be shown: a password in it is replaced by ``***``."""
    return re.sub(r"(//[^/:@]*:)[^/@]*@", r"\1***@", url)
