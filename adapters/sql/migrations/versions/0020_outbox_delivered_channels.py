"""A failed attempt keeps the channels it delivered to, so that a retry goes only to the others.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07

- ``outbox.delivered_channels``: the names of the channels of a fan-out (``email``, ``webhook``, ``log``, ``dvcqg``)
  that an attempt which failed on another delivered the effect to, comma-separated; NULL for none. A retry of an
  effect sent by e-mail and webhook while the webhook's receiver was away sent the e-mail again each time.

Frozen like 0001: imports nothing from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("delivered_channels", sa.String(), nullable=True))


def downgrade() -> None:
    op.drop_column("outbox", "delivered_channels")
