"""Every statement of the API keys and idempotency records (:mod:`motcua.adapters.sql.keys`), by name, in one place.

A claim is ``insert_record`` (``ON CONFLICT DO NOTHING RETURNING``: of two concurrent requests with the
same key exactly one inserts, on SQLite and PostgreSQL alike), else ``take_over`` (the same request's
abandoned claim, when its lease ran out), else ``record`` (what is there). The later writes name the
claim by its instant (``claimed_at``): a claim taken over meanwhile matches no row.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from motcua.adapters.sql.http_tables import ApiKeyRow, IdempotencyRow
from motcua.adapters.sql.statement import Compiler, param
from motcua.adapters.sql.tables import table_of

__all__ = ["KEY_COLUMNS", "RECORD_COLUMNS", "HttpQueries"]

KEYS = table_of(ApiKeyRow)
RECORDS = table_of(IdempotencyRow)

KEY_COLUMNS: Final = ("key_id", "key_hash", "salt", "actor", "roles", "created_at", "revoked_at", "units", "province",
                      "applicant")
"""The columns of a key, in the order of its rows."""
RECORD_COLUMNS: Final = ("fingerprint", "status_code", "headers", "body")
"""The columns of an idempotency record read back by ``record``."""


class HttpQueries:
    """The statements of the HTTP API's tables, compiled for one dialect."""

    def __init__(self, dialect: Dialect) -> None:
        sql = Compiler(dialect)
        keys = sa.select(*(KEYS.c[name] for name in KEY_COLUMNS))
        self.add_key = sql(sql.insert(KEYS).values({name: param(name) for name in KEY_COLUMNS}))
        self.key = sql(keys.where(KEYS.c.key_id == param("key_id")))
        self.keys = sql(keys.order_by(KEYS.c.created_at, KEYS.c.key_id))
        live = sa.and_(KEYS.c.key_id == param("key_id"), KEYS.c.revoked_at.is_(None))
        self.revoke = sql(sa.update(KEYS).where(live).values(revoked_at=param("at")).returning(KEYS.c.key_id))
        self.insert_record = sql(_insert_record(sql))
        self.take_over = sql(_take_over())
        self.record = sql(sa.select(*(RECORDS.c[name] for name in RECORD_COLUMNS)).where(_this()))
        self.reserve = sql(sa.update(RECORDS).where(_held()).values(reserved=param("reserved")))
        self.complete = sql(sa.update(RECORDS).where(_held()).values(
            status_code=param("status_code"), headers=param("headers"), body=param("body")))
        self.forget = sql(sa.delete(RECORDS).where(_held(), RECORDS.c.reserved.is_(None)))
        self.abandon = sql(sa.update(RECORDS).where(_held()).values(created_at=param("abandoned_at")))
        self.purge = sql(sa.delete(RECORDS).where(RECORDS.c.created_at < param("before")).returning(RECORDS.c.key_id))


def _insert_record(sql: Compiler) -> sa.Insert:
    """An in-flight record (no response yet), unless the key has one; returns the key it inserted."""
    values = {name: param(name) for name in ("key_id", "idempotency_key", "fingerprint", "created_at")}
    return sql.insert(RECORDS).values(values).on_conflict_do_nothing().returning(RECORDS.c.key_id)


def _take_over() -> sa.Update:
    """The same request's claim left in flight since ``lease_start`` or earlier (its server died): claimed anew at
    ``created_at``, returning what it reserved."""
    abandoned = sa.and_(_this(), RECORDS.c.status_code.is_(None), RECORDS.c.created_at <= param("lease_start"),
                        RECORDS.c.fingerprint == param("fingerprint"))  # only the same request takes a claim over
    return sa.update(RECORDS).where(abandoned).values(created_at=param("created_at")).returning(RECORDS.c.reserved)


def _this() -> sa.ColumnElement[bool]:
    return sa.and_(RECORDS.c.key_id == param("key_id"), RECORDS.c.idempotency_key == param("idempotency_key"))


def _held() -> sa.ColumnElement[bool]:
    """The record, if the claim made at ``claimed_at`` still holds it (not taken over since)."""
    return sa.and_(_this(), RECORDS.c.created_at == param("claimed_at"))
