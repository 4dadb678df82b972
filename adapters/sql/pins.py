"""The SQL :class:`~motcua.workflow.engine.ports.DefinitionPins`: ``definition_pin`` rows on the store's database.

A database pinned already is only read (:func:`~motcua.workflow.engine.pins.check_pins` asks for what is missing
only): a role that may only read (an auditor's) opens it. Missing pins are inserted if absent and read back in one
transaction (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a concurrent insert of the same pin waits for the first to
commit, then inserts nothing, and the read after it sees the pin that won).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from motcua.adapters.sql.driver import Driver, Record
from motcua.adapters.sql.pin_queries import PinQueries
from motcua.workflow.engine.pins import Pin
from motcua.workflow.errors import StorageFailure

__all__ = ["SqlPins"]


class SqlPins:
    def __init__(self, driver: Driver) -> None:
        self._driver = driver
        self._codec = driver.codec
        self._sql = PinQueries(driver.dialect)

    def pinned(self) -> dict[Pin, str]:
        with self._driver.reading() as unit:
            return _pins(unit.all(self._sql.pinned, {}))

    def pin(self, digests: Mapping[Pin, str], at: datetime) -> dict[Pin, str]:
        if not digests:
            return {}
        instant = self._codec.instant(at)
        with self._driver.transaction() as unit:
            unit.executemany(self._sql.pin, [{**_named(name), "digest": digest, "at": instant}
                                             for name, digest in sorted(digests.items())])
            records = unit.all(self._sql.pinned, {})
        stood = {name: digest for name, digest in _pins(records).items() if name in digests}
        if len(stood) != len(digests):  # each was inserted, or found there, in this transaction
            raise StorageFailure(f"definition_pin: {len(digests) - len(stood)} pin(s) missing after pinning them")
        return stood

    def repin(self, name: Pin, old: str, new: str, at: datetime) -> bool:
        with self._driver.transaction() as unit:
            done = unit.first(self._sql.repin, {**_named(name), "old": old, "new": new,
                                                "at": self._codec.instant(at)})
        return done is not None


def _pins(records: Sequence[Record]) -> dict[Pin, str]:
    return {Pin(str(kind), str(key), int(version)): str(digest) for kind, key, version, digest in records}


def _named(name: Pin) -> dict[str, object]:
    return {"kind": name.kind, "key": name.key, "version": name.version}
