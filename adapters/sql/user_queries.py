"""Every statement of the console's users and sessions (:mod:`motcua.adapters.sql.users`), by name, in one place."""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from motcua.adapters.sql.http_tables import ConsoleSessionRow, ConsoleUserRow
from motcua.adapters.sql.statement import Compiler, param
from motcua.adapters.sql.tables import table_of

__all__ = ["FIRST_USER_LOCK", "SESSION_COLUMNS", "USER_COLUMNS", "UserQueries"]

USERS = table_of(ConsoleUserRow)
SESSIONS = table_of(ConsoleSessionRow)

USER_COLUMNS: Final = ("name", "password_hash", "roles", "created_at", "units", "province", "disabled_at", "failures",
                       "locked_until")
"""The columns of a user, in the order of its rows."""
SESSION_COLUMNS: Final = ("key", "user_name", "csrf_token", "created_at", "expires_at")
FIRST_USER_LOCK: Final = int.from_bytes(b"mc1stusr", "big") >> 1
"""PostgreSQL's transaction-level advisory lock taken before the first user is added (a positive 64-bit key, apart
from the migrations' own)."""


class UserQueries:
    """The statements of the console's tables, compiled for one dialect."""

    def __init__(self, dialect: Dialect) -> None:
        sql = Compiler(dialect)
        users = sa.select(*(USERS.c[name] for name in USER_COLUMNS))
        self.add_user = sql(sql.insert(USERS).values({name: param(name) for name in USER_COLUMNS})
                            .on_conflict_do_nothing().returning(USERS.c.name))
        self.user = sql(users.where(USERS.c.name == param("name")))
        self.users = sql(users.order_by(USERS.c.name))
        self.any_user = sql(sa.select(USERS.c.name).limit(1))
        # PostgreSQL: the first-user creations queue here, each then sees the user the one before it committed
        self.first_user_lock = sql(sa.select(sa.func.pg_advisory_xact_lock(
            sa.literal(FIRST_USER_LOCK, sa.BigInteger)))) if dialect.name == "postgresql" else None
        live = sa.and_(USERS.c.name == param("name"), USERS.c.disabled_at.is_(None))
        self.disable = sql(sa.update(USERS).where(live).values(disabled_at=param("at")).returning(USERS.c.name))
        self.end_sessions_of = sql(sa.delete(SESSIONS).where(SESSIONS.c.user_name == param("name")))
        self.set_failures = sql(sa.update(USERS).where(USERS.c.name == param("name")).values(
            failures=param("failures"), locked_until=param("locked_until")))
        open_to_guess = sa.or_(USERS.c.locked_until.is_(None), USERS.c.locked_until <= param("now"))
        self.count_guess = sql(sa.update(USERS).where(USERS.c.name == param("name"), open_to_guess)
                               .values(failures=USERS.c.failures + 1).returning(USERS.c.failures))
        self.lock = sql(sa.update(USERS).where(USERS.c.name == param("name")).values(
            failures=0, locked_until=param("until")))
        self.add_session = sql(sql.insert(SESSIONS).values({name: param(name) for name in SESSION_COLUMNS}))
        self.session = sql(sa.select(*(SESSIONS.c[name] for name in SESSION_COLUMNS))
                           .where(SESSIONS.c.key == param("key")))
        self.end_session = sql(sa.delete(SESSIONS).where(SESSIONS.c.key == param("key")))
        self.purge_sessions = sql(sa.delete(SESSIONS).where(SESSIONS.c.expires_at <= param("now"))
                                  .returning(SESSIONS.c.key))
