"""The reporting projection records whether a dossier's procedure was eligible for full-online service.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08

- ``dossier_report.full_online_eligible``: the dossier's procedure was eligible for full-online service
  (*dịch vụ công trực tuyến toàn trình*) on the Vietnam date of its reception, as the catalogue's dated
  eligibility says; the population of the Decision 766 online indicator (docs/explanation/one-stop-shop.md).
  The upgrade empties the projection (its rows, pauses and field names, and the ``reporting`` checkpoint back to
  0): it is derived from the audit log, and the next catch-up (the next report, or ``motcua projections
  rebuild``) folds the whole log again, judging every dossier, old ones included, from its procedure and its
  reception date. Until then nothing is reported from rows that would read ``false``.

Frozen like 0001: imports nothing from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


PROJECTION = "reporting"  # the checkpoint's name (motcua.adapters.sql.reports.PROJECTION)


def upgrade() -> None:
    op.add_column("dossier_report", sa.Column("full_online_eligible", sa.Boolean(), nullable=False,
                                              server_default=sa.false()))
    for table in ("dossier_pause", "dossier_report", "report_field"):
        op.execute(sa.text(f"DELETE FROM {table}"))
    op.execute(sa.text("UPDATE projection_checkpoint SET position = 0 WHERE name = :name").bindparams(name=PROJECTION))


def downgrade() -> None:
    op.drop_column("dossier_report", "full_online_eligible")
