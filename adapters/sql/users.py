"""The console's users and sessions in the SQL database beside the dossiers (tables of revision 0016)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from motcua.adapters.sql.codec import Codec
from motcua.adapters.sql.driver import Driver, Params, Record
from motcua.adapters.sql.engine import json_dumps
from motcua.adapters.sql.mapping import maybe
from motcua.adapters.sql.statement import Statement
from motcua.adapters.sql.user_queries import UserQueries
from motcua.adapters.users import Session, User

__all__ = ["SqlUserStore"]


class SqlUserStore:
    """A :class:`~motcua.adapters.users.UserStore` on the database of ``driver`` (share the store's driver)."""

    def __init__(self, driver: Driver) -> None:
        self._driver = driver
        self._codec = driver.codec
        self._sql = UserQueries(driver.dialect)

    def add_user(self, user: User) -> bool:
        with self._driver.transaction() as unit:
            return unit.first(self._sql.add_user, self._values(user)) is not None

    def add_first_user(self, user: User) -> bool:
        # one transaction, serialized: BEGIN IMMEDIATE on SQLite, an advisory transaction lock on PostgreSQL (under
        # READ COMMITTED the check after the lock sees a first user committed by whoever held it before)
        with self._driver.transaction() as unit:
            if self._sql.first_user_lock is not None:
                unit.first(self._sql.first_user_lock, {})
            if unit.first(self._sql.any_user, {}) is not None:
                return False
            return unit.first(self._sql.add_user, self._values(user)) is not None

    def has_users(self) -> bool:
        with self._driver.reading() as unit:
            return unit.first(self._sql.any_user, {}) is not None

    def _values(self, user: User) -> Params:
        instant = self._codec.instant
        return {"name": user.name, "password_hash": user.password_hash, "roles": json_dumps(list(user.roles)),
                "created_at": instant(user.created_at),
                "units": None if user.units is None else json_dumps(list(user.units)), "province": user.province,
                "disabled_at": maybe(instant, user.disabled_at), "failures": user.failures,
                "locked_until": maybe(instant, user.locked_until)}

    def user(self, name: str) -> User | None:
        with self._driver.reading() as unit:
            record = unit.first(self._sql.user, {"name": name})
        return None if record is None else _user_from(record, self._codec)

    def users(self) -> Sequence[User]:
        with self._driver.reading() as unit:
            records = unit.all(self._sql.users, {})
        return [_user_from(record, self._codec) for record in records]

    def disable(self, name: str, at: datetime) -> bool:
        with self._driver.transaction() as unit:
            disabled = unit.first(self._sql.disable, {"name": name, "at": self._codec.instant(at)}) is not None
            if disabled:
                unit.execute(self._sql.end_sessions_of, {"name": name})
            return disabled

    def set_failures(self, name: str, failures: int, locked_until: datetime | None) -> None:
        self._write(self._sql.set_failures, {"name": name, "failures": failures,
                                             "locked_until": maybe(self._codec.instant, locked_until)})

    def count_guess(self, name: str, now: datetime, max_failures: int, until: datetime) -> bool:
        # one transaction: the increment holds the row until the lock is written (concurrent guesses count apart)
        with self._driver.transaction() as unit:
            counted = unit.first(self._sql.count_guess, {"name": name, "now": self._codec.instant(now)})
            if counted is None:
                return False  # locked out, or no such user
            if int(counted[0]) >= max_failures:
                unit.execute(self._sql.lock, {"name": name, "until": self._codec.instant(until)})
            return True

    def add_session(self, session: Session) -> None:
        self._write(self._sql.add_session, {
            "key": session.key, "user_name": session.user, "csrf_token": session.csrf_token,
            "created_at": self._codec.instant(session.created_at),
            "expires_at": self._codec.instant(session.expires_at)})

    def session(self, key: str) -> Session | None:
        with self._driver.reading() as unit:
            record = unit.first(self._sql.session, {"key": key})
        if record is None:
            return None
        key_read, user, csrf_token, created_at, expires_at = record
        return Session(key_read, user, csrf_token, self._codec.instant_from(created_at),
                       self._codec.instant_from(expires_at))

    def end_session(self, key: str) -> None:
        self._write(self._sql.end_session, {"key": key})

    def purge_sessions(self, now: datetime) -> int:
        with self._driver.transaction() as unit:
            return len(unit.all(self._sql.purge_sessions, {"now": self._codec.instant(now)}))

    def _write(self, statement: Statement, params: Params) -> None:
        with self._driver.transaction() as unit:
            unit.execute(statement, params)


def _user_from(record: Record, codec: Codec) -> User:
    name, password_hash, roles, created_at, units, province, disabled_at, failures, locked_until = record
    return User(name, password_hash, tuple(codec.json_from(roles)), codec.instant_from(created_at),
                units=None if units is None else tuple(codec.json_from(units)), province=province,
                disabled_at=maybe(codec.instant_from, disabled_at), failures=int(failures),
                locked_until=maybe(codec.instant_from, locked_until))
