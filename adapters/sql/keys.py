"""API keys and idempotency records in the SQL database beside the dossiers (tables of revision 0005).

A claim is one write transaction: ``INSERT … ON CONFLICT DO NOTHING RETURNING`` on the (API key,
Idempotency-Key) primary key (RETURNING, not the row count, which psycopg does not report here), so of
two concurrent requests with the same key exactly one inserts, on SQLite and on PostgreSQL alike; the
other reads the record (still in flight, or answered).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from motcua.adapters.keys import IN_FLIGHT_LEASE, ApiKey, Claimed, StoredResponse
from motcua.adapters.sql.engine import WRITE
from motcua.adapters.sql.errors import translated
from motcua.adapters.sql.http_tables import ApiKeyRow, IdempotencyRow
from motcua.adapters.sql.tables import table_of

__all__ = ["SqlHttpStore"]

KEYS = table_of(ApiKeyRow)
RECORDS = table_of(IdempotencyRow)


def _key_from(row: sa.Row[Any]) -> ApiKey:
    return ApiKey(row.key_id, row.key_hash, row.salt, row.actor, tuple(row.roles), row.created_at, row.revoked_at)


class SqlHttpStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**WRITE)

    def add_key(self, key: ApiKey) -> None:
        values = {"key_id": key.key_id, "key_hash": key.key_hash, "salt": key.salt, "actor": key.actor,
                  "roles": list(key.roles), "created_at": key.created_at, "revoked_at": key.revoked_at}
        with translated(), self._writer.begin() as connection:
            connection.execute(sa.insert(KEYS).values(values))

    def key(self, key_id: str) -> ApiKey | None:
        with translated(), self._engine.connect() as connection:
            row = connection.execute(sa.select(KEYS).where(KEYS.c.key_id == key_id)).first()
        return None if row is None else _key_from(row)

    def api_keys(self) -> Sequence[ApiKey]:
        with translated(), self._engine.connect() as connection:
            rows = connection.execute(sa.select(KEYS).order_by(KEYS.c.created_at, KEYS.c.key_id)).all()
        return [_key_from(row) for row in rows]

    def revoke(self, key_id: str, at: datetime) -> bool:
        live = sa.and_(KEYS.c.key_id == key_id, KEYS.c.revoked_at.is_(None))
        with translated(), self._writer.begin() as connection:
            revoked = sa.update(KEYS).where(live).values(revoked_at=at).returning(KEYS.c.key_id)
            return connection.execute(revoked).first() is not None

    def claim(self, scope: str, key: str, fingerprint: str, now: datetime) -> Claimed:
        this = _this(scope, key)
        abandoned = sa.and_(this, RECORDS.c.status_code.is_(None), RECORDS.c.created_at <= now - IN_FLIGHT_LEASE,
                            RECORDS.c.fingerprint == fingerprint)  # only the same request takes a claim over
        with translated(), self._writer.begin() as connection:
            inserted = self._insert(scope, key, fingerprint, now).returning(RECORDS.c.key_id)
            if connection.execute(inserted).first() is not None:
                return Claimed(fresh=True)
            taken = sa.update(RECORDS).where(abandoned).values(created_at=now)
            if (abandoned_row := connection.execute(taken.returning(RECORDS.c.reserved)).first()) is not None:
                return Claimed(fresh=True, reserved=abandoned_row.reserved)
            row = connection.execute(sa.select(RECORDS).where(this)).one()
        response = None if row.status_code is None else StoredResponse(row.status_code, row.headers or {}, row.body)
        return Claimed(fresh=False, fingerprint=row.fingerprint, response=response)

    def reserve(self, scope: str, key: str, claimed_at: datetime, reserved: str) -> None:
        self._update(_held(scope, key, claimed_at), {"reserved": reserved})

    def complete(self, scope: str, key: str, claimed_at: datetime, response: StoredResponse) -> None:
        values = {"status_code": response.status_code, "headers": dict(response.headers), "body": response.body}
        self._update(_held(scope, key, claimed_at), values)

    def release(self, scope: str, key: str, claimed_at: datetime) -> None:
        held = _held(scope, key, claimed_at)
        with translated(), self._writer.begin() as connection:
            connection.execute(sa.delete(RECORDS).where(held, RECORDS.c.reserved.is_(None)))
            # a claim that reserved something is left abandoned, for the next try to take over at once
            abandoned_now = claimed_at - IN_FLIGHT_LEASE
            connection.execute(sa.update(RECORDS).where(held).values(created_at=abandoned_now))

    def _update(self, where: sa.ColumnElement[bool], values: dict[str, Any]) -> None:
        with translated(), self._writer.begin() as connection:
            connection.execute(sa.update(RECORDS).where(where).values(values))

    def _insert(self, scope: str, key: str, fingerprint: str, now: datetime) -> sa.Insert:
        values = {"key_id": scope, "idempotency_key": key, "fingerprint": fingerprint, "created_at": now}
        if self._engine.dialect.name == "postgresql":
            return postgresql.insert(RECORDS).values(values).on_conflict_do_nothing()
        return sqlite.insert(RECORDS).values(values).on_conflict_do_nothing()


def _this(scope: str, key: str) -> sa.ColumnElement[bool]:
    return sa.and_(RECORDS.c.key_id == scope, RECORDS.c.idempotency_key == key)


def _held(scope: str, key: str, claimed_at: datetime) -> sa.ColumnElement[bool]:
    """The record, if the claim made at ``claimed_at`` still holds it (not taken over since)."""
    return sa.and_(_this(scope, key), RECORDS.c.created_at == claimed_at)
