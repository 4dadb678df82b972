"""A timer whose trigger failed for good is parked, with the reason.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06

- ``timer.error``: why the timer was parked (``status = 'parked'``), as the worker saw it; NULL on an armed timer.
  A timer whose trigger fails for a reason no retry cures (its data no longer fits its definition, a trigger or a
  role the definition lacks) was handed out again at every lease, for ever; it is now set aside until an operator
  sends it back (``motcua timers retry``) or its case re-arms it. ``status`` exists since 0002 and the claim index
  holds armed rows only, so no index changes.

Frozen like 0001: imports nothing from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("timer", sa.Column("error", sa.String(), nullable=True))


def downgrade() -> None:
    op.execute(sa.text("UPDATE timer SET status = 'armed', claimed_until = NULL WHERE status = 'parked'"))
    op.drop_column("timer", "error")
