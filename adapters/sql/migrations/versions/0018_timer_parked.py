"""A timer whose trigger fails is tried again after a growing wait, then parked, with its last failure.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06

- ``timer.attempts``: how many times the timer's trigger failed (0: sound); ``timer.error``: the last failure, as the
  worker saw it. A timer whose trigger fails for a reason no lost race explains (its data no longer fits its
  definition, a trigger or a role the definition lacks, an action that raises) was handed out again at every lease,
  for ever, and held back its case's later timers; it is now tried again after 1, 2, 4, 8, 16 minutes, then set
  aside (``status = 'parked'``) until an operator sends it back (``motcua timers retry``) or its case re-arms it.
- ``ix_timer_parked_due_at``: the parked timers by due instant (the operator's list, the metric), as
  ``ix_timer_armed_due_at`` holds the armed ones for the claim.

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

PARKED = sa.text("status = 'parked'")


def upgrade() -> None:
    op.add_column("timer", sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("timer", sa.Column("error", sa.String(), nullable=True))
    op.create_index("ix_timer_parked_due_at", "timer", ["due_at"], postgresql_where=PARKED, sqlite_where=PARKED)


def downgrade() -> None:
    op.execute(sa.text("UPDATE timer SET status = 'armed', claimed_until = NULL WHERE status = 'parked'"))
    op.drop_index("ix_timer_parked_due_at", table_name="timer")
    op.drop_column("timer", "error")
    op.drop_column("timer", "attempts")
