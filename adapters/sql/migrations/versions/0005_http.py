"""The HTTP API's tables: API keys (stored hashed) and idempotency records.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26

- ``api_key``: ``key_id`` (the key's public lookup prefix), ``key_hash`` (SHA-256 of a per-key salt and
  the key's secret part; the key itself is shown once and never stored), the actor's name and roles,
  ``created_at`` and ``revoked_at``.
- ``idempotency_record``: per (API key, ``Idempotency-Key``) the request's fingerprint and the first
  response (status, headers, body; NULL status while the first request is still in flight), what that
  request noted it was creating (``reserved``), indexed by ``created_at`` for purging.

Frozen like 0001: imports nothing from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_key",
        sa.Column("key_id", sa.String(), nullable=False),
        sa.Column("key_hash", sa.String(), nullable=False),
        sa.Column("salt", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("revoked_at", INSTANT, nullable=True),
        sa.PrimaryKeyConstraint("key_id", name="pk_api_key"),
    )
    op.create_table(
        "idempotency_record",
        sa.Column("key_id", sa.String(), nullable=False),
        sa.Column("idempotency_key", sa.String(), nullable=False),
        sa.Column("fingerprint", sa.String(), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("reserved", sa.String(), nullable=True),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("key_id", "idempotency_key", name="pk_idempotency_record"),
    )
    op.create_index("ix_idempotency_record_created_at", "idempotency_record", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_record_created_at", table_name="idempotency_record")
    op.drop_table("idempotency_record")
    op.drop_table("api_key")
