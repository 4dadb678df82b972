"""Each audit entry sealed to its global position.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

- ``audit_entry.position_hash``: the entry's *position seal*, SHA-256 of ``previous:position:hash`` where
  ``previous`` is the seal of the case's previous entry (docs/auditing.md). The store's INSERT takes the
  position and computes the seal in the same statement; entries of audit schema 2 must carry one, and
  ``motcua verify`` names an entry moved to another position, or two entries whose positions were swapped.
- Entries appended before this revision keep a NULL seal: they are of schema 0 or 1, whose positions were
  never bound, and filling the column would mean rewriting the append-only log (the trigger of 0004 refuses
  it, rightly). A case continued after the upgrade starts its chain of seals at its first new entry.

Frozen like 0001: imports nothing from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from alembic.util import CommandError

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("audit_entry", sa.Column("position_hash", sa.String(), nullable=True))


def downgrade() -> None:
    """Refused while an entry carries its seal: schema 2 requires one, so dropping the column would leave every such
    entry broken for ``motcua verify``, for ever (an upgrade adds the column back empty). Restore a backup taken
    before the upgrade instead."""
    if context.is_offline_mode():  # a script written without a database cannot look
        raise CommandError("downgrade below 0012 refused offline (--sql): it must first see whether audit entries "
                           "carry seals, which only a downgrade run against the database can")
    sealed = op.get_bind().execute(sa.text("SELECT 1 FROM audit_entry WHERE position_hash IS NOT NULL LIMIT 1"))
    if sealed.first() is not None:
        raise CommandError("downgrade below 0012 refused: audit entries carry position seals, which it would drop "
                           "(the audit log could never verify again); restore a backup taken before the upgrade")
    op.drop_column("audit_entry", "position_hash")
