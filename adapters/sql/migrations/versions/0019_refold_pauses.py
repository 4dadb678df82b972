"""The reporting projection is folded again: a pause still open ends where the next one starts.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06

A DVCQG sync that saw a dossier's first supplement supplied and a second one asked at once left the first pause
open for ever in the projection (``dossier_pause``): the dossier's clock stood still on every later day, and Biểu 06
and the Decision 766 indicators counted it within its time while it was overdue. The fold now ends an open pause
where the next one starts, and names a field by its dossier folded last on both paths. The upgrade empties the
projection (its rows, pauses and field names, and the ``reporting`` checkpoint back to 0), as 0014 and 0015 did:
the next catch-up folds the whole log again. Nothing else changes.

Frozen like 0001: imports nothing from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


PROJECTION = "reporting"  # the checkpoint's name (motcua.adapters.sql.reports.PROJECTION)


def upgrade() -> None:
    for table in ("dossier_pause", "dossier_report", "report_field"):
        op.execute(sa.text(f"DELETE FROM {table}"))
    op.execute(sa.text("UPDATE projection_checkpoint SET position = 0 WHERE name = :name").bindparams(name=PROJECTION))


def downgrade() -> None:
    """Nothing to undo: the projection folds again from the log."""
