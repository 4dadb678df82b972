"""The reporting projection records the facts of the limits on a dossier's letters.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08

- ``dossier_report.redated_in_time``: an apology letter sent in time fixed a new date for the result (the reform
  plan's apology coverage);
- ``dossier_report.supplement_requests``: how many times the dossier was asked in writing to supplement after its
  reception; the Decision 766 progress indicator counts a dossier asked more than once as not on time
  (docs/explanation/one-stop-shop.md, limits on letters).

Both are folded from the audit log, so the upgrade empties the projection (its rows, pauses and field names, and the
``reporting`` checkpoint back to 0): the next catch-up (the next report, or ``motcua projections rebuild``) folds the
whole log again, old dossiers included — those asked twice before the limit was enforced count as such.

Frozen like 0001: imports nothing from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PROJECTION = "reporting"  # the checkpoint's name (motcua.adapters.sql.reports.PROJECTION)


def upgrade() -> None:
    op.add_column("dossier_report", sa.Column("redated_in_time", sa.Boolean(), nullable=False,
                                              server_default=sa.false()))
    op.add_column("dossier_report", sa.Column("supplement_requests", sa.Integer(), nullable=False,
                                              server_default="0"))
    for table in ("dossier_pause", "dossier_report", "report_field"):
        op.execute(sa.text(f"DELETE FROM {table}"))
    op.execute(sa.text("UPDATE projection_checkpoint SET position = 0 WHERE name = :name").bindparams(name=PROJECTION))


def downgrade() -> None:
    op.drop_column("dossier_report", "supplement_requests")
    op.drop_column("dossier_report", "redated_in_time")
