"""The reporting projection records whether a dossier's fee is known.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06

- ``dossier_report.fee_known``: false for a dossier whose procedure's fee, in the catalogue's fee schedule at its
  reception, is set by the provincial council with no amount given (``fee_known: false`` on the dossier); such a
  dossier counts in neither side of the Decision 766 online-payment indicator (docs/explanation/one-stop-shop.md,
  fees). The upgrade empties the projection (its rows, pauses and field names, and the ``reporting`` checkpoint
  back to 0), as 0014 did: the next catch-up folds the whole log again.

Frozen like 0001: imports nothing from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


PROJECTION = "reporting"  # the checkpoint's name (motcua.adapters.sql.reports.PROJECTION)


def upgrade() -> None:
    op.add_column("dossier_report", sa.Column("fee_known", sa.Boolean(), nullable=False, server_default=sa.true()))
    for table in ("dossier_pause", "dossier_report", "report_field"):
        op.execute(sa.text(f"DELETE FROM {table}"))
    op.execute(sa.text("UPDATE projection_checkpoint SET position = 0 WHERE name = :name").bindparams(name=PROJECTION))


def downgrade() -> None:
    op.drop_column("dossier_report", "fee_known")
