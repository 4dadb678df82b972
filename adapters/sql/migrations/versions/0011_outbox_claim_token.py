"""The token of an outbox row's claim: a delivery holds its claim, and a stale holder can tell it lost it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

- ``outbox.claim_token``: written by the claim that hands a pending effect out (one random token per claim).
  The worker delivering the effect extends ``claimed_until`` under that token while it delivers, so no other
  dispatcher claims it meanwhile, and records a failed attempt only while the token is still there. Rows
  claimed before this revision have none: their claims run out with their lease, as before.

Frozen like 0001: imports nothing from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("claim_token", sa.String(), nullable=True))


def downgrade() -> None:
    # SQLite copies the table to drop a column: keep its AUTOINCREMENT (ids never reused)
    with op.batch_alter_table("outbox", table_kwargs={"sqlite_autoincrement": True}) as outbox:
        outbox.drop_column("claim_token")
