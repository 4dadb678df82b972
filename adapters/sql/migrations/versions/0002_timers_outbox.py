"""Claims with leases on the outbox, partial claim indexes, timer generations as audit positions.

Revision ID: 0002
Revises: 0001
Create Date: 2025-02-03

- ``outbox.claimed_until``: a relay's lease on a pending effect, as ``timer.claimed_until`` is a
  dispatcher's.
- The claim indexes hold the live rows only (``WHERE status = 'armed'`` / ``'pending'`` / ``'parked'``):
  the outbox keeps every delivered row, and the timer claim must not scan the timers armed for
  next month to find the few due now.
- ``timer.name`` compares byte-wise (``COLLATE "C"`` on PostgreSQL), like case codes: timers are
  listed and claimed in Python's string order whatever the database locale.
- ``timer.generation`` is now the global position of the audit entry that armed the timer, so it
  needs the width of a position (BIGINT on PostgreSQL; SQLite's INTEGER already is 64-bit). The
  generations of timers armed before this revision (1, 2, 3… per re-arm) stay as they are: each
  is at most the number of entries of its case, hence below every position still to be handed
  out, so no stale claim can ever match a timer armed from now on.

Frozen like 0001: imports nothing from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = sa.DateTime(timezone=True)
BYTE_ORDER = sa.String(collation="C")


def upgrade() -> None:
    op.drop_index("ix_timer_status_due_at", table_name="timer")
    _partial_index("ix_timer_armed_due_at", "timer", "due_at", "armed")
    if op.get_bind().dialect.name == "postgresql":  # SQLite: INTEGER is 64-bit, and the default order is bytes
        op.alter_column("timer", "generation", type_=sa.BigInteger(), existing_type=sa.Integer(),
                        existing_nullable=False)
        op.alter_column("timer", "name", type_=BYTE_ORDER, existing_type=sa.String(), existing_nullable=False)
    op.add_column("outbox", sa.Column("claimed_until", INSTANT, nullable=True))
    op.drop_index("ix_outbox_status_next_attempt_at", table_name="outbox")
    _partial_index("ix_outbox_pending_id", "outbox", "id", "pending")
    _partial_index("ix_outbox_parked_id", "outbox", "id", "parked")


def downgrade() -> None:
    op.drop_index("ix_outbox_parked_id", table_name="outbox")
    op.drop_index("ix_outbox_pending_id", table_name="outbox")
    op.create_index("ix_outbox_status_next_attempt_at", "outbox", ["status", "next_attempt_at"])
    # SQLite copies the table to drop a column: keep its AUTOINCREMENT (ids never reused)
    with op.batch_alter_table("outbox", table_kwargs={"sqlite_autoincrement": True}) as outbox:
        outbox.drop_column("claimed_until")
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("timer", "name", type_=sa.String(), existing_type=BYTE_ORDER, existing_nullable=False)
        op.alter_column("timer", "generation", type_=sa.Integer(), existing_type=sa.BigInteger(),
                        existing_nullable=False)
    op.drop_index("ix_timer_armed_due_at", table_name="timer")
    op.create_index("ix_timer_status_due_at", "timer", ["status", "due_at"])


def _partial_index(name: str, table: str, column: str, status: str) -> None:
    where = sa.text(f"status = '{status}'")
    op.create_index(name, table, [column], postgresql_where=where, sqlite_where=where)
