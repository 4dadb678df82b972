"""The rows of the HTTP API (revision 0005): API keys and idempotency records.

- ``api_key``: one row per key handed out by ``motcua apikey create``. The key itself is never stored:
  ``key_id`` is its public lookup prefix, ``key_hash`` the SHA-256 of a per-key salt and the secret part
  (the secret is 32 random bytes, so a fast hash is the right tool; no password stretching is needed);
  ``roles`` the roles of the actor the key stands for; ``revoked_at`` is set when the key is revoked.
- ``idempotency_record``: the first answer to a POST carrying an ``Idempotency-Key``, scoped by the API
  key that sent it. ``status_code`` is NULL while the first request is still in flight; ``reserved`` is
  what that request noted it was about to create (a dossier code, a version), for a retry that takes over.

- ``console_user`` and ``console_session`` (revision 0016): the browser console's users (their Argon2 password
  hash, never the password; roles and scope as an API key's; failed sign-ins and the lock-out) and their sessions
  (the SHA-256 of the cookie's id, never the id; the CSRF token; the expiry).

The rows share :data:`motcua.adapters.sql.tables.metadata`; the migration environment imports this module.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from motcua.adapters.sql.tables import Row, UtcDateTime

__all__ = ["ApiKeyRow", "ConsoleSessionRow", "ConsoleUserRow", "IdempotencyRow"]


class ApiKeyRow(Row, table=True):
    __tablename__ = "api_key"

    key_id: str = Field(primary_key=True, sa_type=sa.String)
    key_hash: str = Field(sa_type=sa.String)
    salt: str = Field(sa_type=sa.String)
    actor: str = Field(sa_type=sa.String)
    roles: list[str] = Field(sa_type=sa.JSON)
    created_at: datetime = Field(sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # the key's scope (revision 0010): unit codes, or a province, or one applicant; none of them: every unit
    units: list[str] | None = Field(default=None, sa_type=sa.JSON)
    province: str | None = Field(default=None, sa_type=sa.String)
    applicant: str | None = Field(default=None, sa_type=sa.String)


class IdempotencyRow(Row, table=True):
    __tablename__ = "idempotency_record"
    __table_args__ = (
        sa.Index("ix_idempotency_record_created_at", "created_at"),  # purging old records
    )

    key_id: str = Field(primary_key=True, sa_type=sa.String)
    idempotency_key: str = Field(primary_key=True, sa_type=sa.String)
    fingerprint: str = Field(sa_type=sa.String)
    status_code: int | None = Field(default=None, sa_type=sa.SmallInteger)
    headers: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    body: str | None = Field(default=None, sa_type=sa.Text)
    reserved: str | None = Field(default=None, sa_type=sa.String)
    created_at: datetime = Field(sa_type=UtcDateTime)


class ConsoleUserRow(Row, table=True):
    __tablename__ = "console_user"

    name: str = Field(primary_key=True, sa_type=sa.String)
    password_hash: str = Field(sa_type=sa.String)
    roles: list[str] = Field(sa_type=sa.JSON)
    units: list[str] | None = Field(default=None, sa_type=sa.JSON)
    province: str | None = Field(default=None, sa_type=sa.String)
    created_at: datetime = Field(sa_type=UtcDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    failures: int = Field(default=0, sa_type=sa.Integer)
    locked_until: datetime | None = Field(default=None, sa_type=UtcDateTime)


class ConsoleSessionRow(Row, table=True):
    __tablename__ = "console_session"
    __table_args__ = (
        sa.Index("ix_console_session_expires_at", "expires_at"),  # purging expired sessions
        sa.Index("ix_console_session_user_name", "user_name"),  # ending a disabled user's sessions
    )

    key: str = Field(primary_key=True, sa_type=sa.String)
    user_name: str = Field(sa_type=sa.String)
    csrf_token: str = Field(sa_type=sa.String)
    created_at: datetime = Field(sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)
