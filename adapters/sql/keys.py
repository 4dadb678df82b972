"""API keys and idempotency records in the SQL database beside the dossiers (tables of revision 0005; the keys'
scopes of 0010).

A claim is one write transaction: ``INSERT … ON CONFLICT DO NOTHING RETURNING`` on the (API key,
Idempotency-Key) primary key (RETURNING, not the row count, which psycopg does not report here), so of
two concurrent requests with the same key exactly one inserts, on SQLite and on PostgreSQL alike; the
other reads the record (still in flight, or answered). The statements are named in
:mod:`motcua.adapters.sql.http_queries` and run on the store's driver.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from motcua.adapters.keys import IN_FLIGHT_LEASE, ApiKey, Claimed, StoredResponse
from motcua.adapters.sql.codec import Codec
from motcua.adapters.sql.driver import Driver, Params, Record
from motcua.adapters.sql.engine import json_dumps
from motcua.adapters.sql.http_queries import HttpQueries
from motcua.adapters.sql.mapping import maybe
from motcua.adapters.sql.statement import Statement
from motcua.workflow.errors import StorageUnavailable

__all__ = ["SqlHttpStore"]

_CLAIM_TRIES = 3  # inserts of one claim: a record deleted as it was read is claimed again


class SqlHttpStore:
    """An :class:`~motcua.adapters.keys.HttpStore` on the database of ``driver`` (share the store's driver)."""

    def __init__(self, driver: Driver) -> None:
        self._driver = driver
        self._codec = driver.codec
        self._sql = HttpQueries(driver.dialect)

    def add_key(self, key: ApiKey) -> None:
        values = {"key_id": key.key_id, "key_hash": key.key_hash, "salt": key.salt, "actor": key.actor,
                  "roles": json_dumps(list(key.roles)), "created_at": self._codec.instant(key.created_at),
                  "revoked_at": maybe(self._codec.instant, key.revoked_at),
                  "units": None if key.units is None else json_dumps(list(key.units)), "province": key.province,
                  "applicant": key.applicant}
        self._write(self._sql.add_key, values)

    def key(self, key_id: str) -> ApiKey | None:
        with self._driver.reading() as unit:
            record = unit.first(self._sql.key, {"key_id": key_id})
        return None if record is None else _key_from(record, self._codec)

    def api_keys(self) -> Sequence[ApiKey]:
        with self._driver.reading() as unit:
            records = unit.all(self._sql.keys, {})
        return [_key_from(record, self._codec) for record in records]

    def revoke(self, key_id: str, at: datetime) -> bool:
        with self._driver.transaction() as unit:
            return unit.first(self._sql.revoke, {"key_id": key_id, "at": self._codec.instant(at)}) is not None

    def claim(self, scope: str, key: str, fingerprint: str, now: datetime) -> Claimed:
        """The record refusing the insert may be gone when it is read (PostgreSQL: each statement sees what was
        committed before it — swept, or released by the request that held it): the key is then claimed again."""
        this = {"key_id": scope, "idempotency_key": key}
        claim = {**this, "fingerprint": fingerprint, "created_at": self._codec.instant(now)}
        abandoned = {**claim, "lease_start": self._codec.instant(now - IN_FLIGHT_LEASE)}
        with self._driver.transaction() as unit:
            for _ in range(_CLAIM_TRIES):
                if unit.first(self._sql.insert_record, claim) is not None:
                    return Claimed(fresh=True)
                if (taken := unit.first(self._sql.take_over, abandoned)) is not None:
                    return Claimed(fresh=True, reserved=taken[0])
                if (record := unit.first(self._sql.record, this)) is not None:
                    return self._claimed(record)
        raise StorageUnavailable(f"an idempotency record came and went {_CLAIM_TRIES} times while it was claimed")

    def reserve(self, scope: str, key: str, claimed_at: datetime, reserved: str) -> None:
        self._write(self._sql.reserve, {**self._held(scope, key, claimed_at), "reserved": reserved})

    def complete(self, scope: str, key: str, claimed_at: datetime, response: StoredResponse) -> None:
        answer = {"status_code": response.status_code, "headers": json_dumps(dict(response.headers)),
                  "body": response.body}
        self._write(self._sql.complete, {**self._held(scope, key, claimed_at), **answer})

    def release(self, scope: str, key: str, claimed_at: datetime) -> None:
        held = self._held(scope, key, claimed_at)
        with self._driver.transaction() as unit:
            unit.execute(self._sql.forget, held)
            # a claim that reserved something is left abandoned, for the next try to take over at once
            unit.execute(self._sql.abandon, {**held, "abandoned_at": self._codec.instant(claimed_at - IN_FLIGHT_LEASE)})

    def purge(self, before: datetime) -> int:
        with self._driver.transaction() as unit:
            return len(unit.all(self._sql.purge, {"before": self._codec.instant(before)}))

    def _held(self, scope: str, key: str, claimed_at: datetime) -> dict[str, object]:
        return {"key_id": scope, "idempotency_key": key, "claimed_at": self._codec.instant(claimed_at)}

    def _claimed(self, record: Record) -> Claimed:
        fingerprint, status_code, headers, body = record
        headers_read = {} if headers is None else self._codec.json_from(headers)
        response = None if status_code is None else StoredResponse(status_code, headers_read, body)
        return Claimed(fresh=False, fingerprint=fingerprint, response=response)

    def _write(self, statement: Statement, params: Params) -> None:
        with self._driver.transaction() as unit:
            unit.execute(statement, params)


def _key_from(record: Record, codec: Codec) -> ApiKey:
    key_id, key_hash, salt, actor, roles, created_at, revoked_at, units, province, applicant = record
    return ApiKey(key_id, key_hash, salt, actor, tuple(codec.json_from(roles)), codec.instant_from(created_at),
                  maybe(codec.instant_from, revoked_at), units=None if units is None else tuple(codec.json_from(units)),
                  province=province, applicant=applicant)
