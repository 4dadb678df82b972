"""The reporting projection: one row per dossier, its pauses, and the projections' checkpoints.

Revision ID: 0003
Revises: 0002
Create Date: 2025-03-10

- ``dossier_report``: the facts Biểu 06 and the Decision 766 indicators need, with the Vietnam dates
  of reception, end of processing (9999-12-31 while not ended) and appointment as DATE columns (on
  SQLite, which has no date type, the day number ``date.toordinal()`` as INTEGER). One index leads
  with the end date and holds every column Biểu 06 reads: a period's report is one index-only range
  (the dossiers ended in or after it, and those still open).
- ``dossier_pause``: the stretches a dossier's legal clock stood still (``end_on`` 9999-12-31 while still
  paused), indexed for "the pauses running at the end of a period" (one range).
- ``report_field``: the name of each field of procedure, looked up once per row of a report.
- ``projection_checkpoint``: the global audit position each projection has folded up to.

The tables are derived data: they start empty and ``motcua projections rebuild`` (or the first
report) fills them from the audit log. Frozen like 0001: imports nothing from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CODE = sa.String().with_variant(sa.String(collation="C"), "postgresql")  # byte order, any locale
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INSTANT = sa.DateTime(timezone=True)
DAY = sa.Date().with_variant(sa.Integer(), "sqlite")  # SQLite: the day number, date.toordinal()


def upgrade() -> None:
    _create_dossier_report()
    op.create_table(
        "dossier_pause",
        sa.Column("code", CODE, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("start_on", DAY, nullable=False),
        sa.Column("end_on", DAY, nullable=False),  # 9999-12-31 while still paused
        sa.PrimaryKeyConstraint("code", "seq", name="pk_dossier_pause"),
    )
    op.create_index("ix_dossier_pause_end_on", "dossier_pause", ["end_on", "start_on", "code"])
    op.create_table(
        "report_field",
        sa.Column("field_code", CODE, nullable=False),
        sa.Column("field_name", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("field_code", name="pk_report_field"),
    )
    op.create_table(
        "projection_checkpoint",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("position", ID, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_projection_checkpoint"),
    )


def downgrade() -> None:
    op.drop_table("projection_checkpoint")
    op.drop_table("report_field")
    op.drop_index("ix_dossier_pause_end_on", table_name="dossier_pause")
    op.drop_table("dossier_pause")
    op.drop_index("ix_dossier_report_bieu06", table_name="dossier_report")
    op.drop_table("dossier_report")


def _create_dossier_report() -> None:
    op.create_table(
        "dossier_report",
        sa.Column("code", CODE, nullable=False),
        sa.Column("field_code", CODE, nullable=False),
        sa.Column("field_name", sa.String(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("channel", sa.SmallInteger(), nullable=True),
        sa.Column("received_on", DAY, nullable=True),
        sa.Column("ended_on", DAY, nullable=False),  # 9999-12-31 while not ended
        sa.Column("appointment_on", DAY, nullable=True),
        sa.Column("procedure", sa.String(), nullable=False),
        sa.Column("received_at", INSTANT, nullable=True),
        sa.Column("ended_at", INSTANT, nullable=True),
        sa.Column("appointment", INSTANT, nullable=True),
        sa.Column("paper_result", sa.Boolean(), nullable=False),
        sa.Column("electronic_result", sa.Boolean(), nullable=False),
        sa.Column("digitized", sa.Boolean(), nullable=False),
        sa.Column("handovers", sa.Integer(), nullable=False),
        sa.Column("electronic_handovers", sa.Integer(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("paid_online", sa.Boolean(), nullable=False),
        sa.Column("rating", sa.SmallInteger(), nullable=True),
        sa.Column("apologies", sa.Integer(), nullable=False),
        sa.Column("apologies_in_time", sa.Integer(), nullable=False),
        sa.Column("imported", sa.Boolean(), nullable=False),
        sa.Column("position", ID, nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_dossier_report"),
    )
    op.create_index("ix_dossier_report_bieu06", "dossier_report", [
        "ended_on", "received_on", "appointment_on", "status", "channel", "field_code", "code",
    ])
