"""The DVCQG sync status: one row per audit entry a sync to the portal was attempted for.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26

- ``portal_sync``: ``(case_code, sequence)`` as in ``audit_entry``; ``status`` synced, failed (to be
  retried) or parked (waiting for an operator); ``attempts``, ``last_error``, ``synced_at`` (the first
  successful sync) and ``updated_at``. An entry without a row is pending. The primary key serves the
  per-dossier lookups (``motcua sync status CODE``, the ``sync`` indicator of ``report par766``).

Frozen like 0001: imports nothing from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CODE = sa.String().with_variant(sa.String(collation="C"), "postgresql")  # byte order, any locale
INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "portal_sync",
        sa.Column("case_code", CODE, nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("synced_at", INSTANT, nullable=True),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("case_code", "sequence", name="pk_portal_sync"),
    )


def downgrade() -> None:
    op.drop_table("portal_sync")
