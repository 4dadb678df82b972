"""The SQL backend: every store on one SQLite or PostgreSQL database, on one driver (one pool).

The statements of each store are compiled for the database's dialect when the store is first handed
out (:mod:`motcua.adapters.sql.statement`).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import cached_property
from typing import Final

from motcua.adapters.sql.bulk import SqlBulkWriter, transaction
from motcua.adapters.sql.bulk_queries import BulkQueries
from motcua.adapters.sql.driver import Driver
from motcua.adapters.sql.keys import SqlHttpStore
from motcua.adapters.sql.listen import TimerListener, timer_listener
from motcua.adapters.sql.pins import SqlPins
from motcua.adapters.sql.portal_status import SqlSyncLog
from motcua.adapters.sql.reports import SqlReports
from motcua.adapters.sql.store import SqlStore
from motcua.adapters.sql.users import SqlUserStore
from motcua.workflow.reports.projection import EligibleOf, StatusOf

__all__ = ["SqlBackend"]


class SqlBackend:
    durable: Final = True

    def __init__(self, driver: Driver) -> None:
        self._driver = driver
        self.store = SqlStore(driver)

    @classmethod
    def from_url(cls, url: str) -> SqlBackend:
        """The backend on ``url``, its schema first brought to the latest revision."""
        return cls(Driver.from_url(url, migrate=True))

    @cached_property
    def sync(self) -> SqlSyncLog:
        return SqlSyncLog(self._driver)

    @cached_property
    def keys(self) -> SqlHttpStore:
        return SqlHttpStore(self._driver)

    @cached_property
    def users(self) -> SqlUserStore:
        return SqlUserStore(self._driver)

    @cached_property
    def pins(self) -> SqlPins:
        return SqlPins(self._driver)

    def reports(self, status_of: StatusOf, eligible_of: EligibleOf) -> SqlReports:
        return SqlReports(self._driver, status_of, eligible_of)

    def bulk(self) -> AbstractContextManager[SqlBulkWriter]:
        return transaction(self._driver, self._bulk_queries)

    def timer_wakeups(self, wake: Callable[[], None]) -> TimerListener | None:
        return timer_listener(self._driver.engine, wake)

    def close(self) -> None:
        self._driver.close()

    @cached_property
    def _bulk_queries(self) -> BulkQueries:
        return BulkQueries(self._driver.dialect)
