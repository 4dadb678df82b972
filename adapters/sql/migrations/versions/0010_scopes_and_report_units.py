"""API keys scoped to units, a province or one applicant; the reporting projection by unit.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

- ``api_key.units`` (a JSON list of unit codes), ``province`` (a province code) and ``applicant`` (an
  applicant's identity number): what the key may see. A staff key from before this revision has none of them
  and keeps seeing every unit; one whose only role is ``applicant`` sees nothing (it acts for no one in
  particular): re-issue such keys with a scope (docs/explanation/units-and-scopes.md).
- ``dossier_report.unit``: the deciding unit a dossier is counted under, with an index for one unit's Biểu 06.
  The column is filled when the projection folds the dossier's entries: rebuild the projection after this
  revision (``motcua projections rebuild``, or at the next catch-up of an empty projection) for rows folded before.

Frozen like 0001: imports nothing from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REPORT_INDEX = ("ix_dossier_report_unit_bieu06",
                ("unit", "ended_on", "received_on", "appointment_on", "status", "channel", "field_code", "code"))


def upgrade() -> None:
    op.add_column("api_key", sa.Column("units", sa.JSON(), nullable=True))
    op.add_column("api_key", sa.Column("province", sa.String(), nullable=True))
    op.add_column("api_key", sa.Column("applicant", sa.String(), nullable=True))
    op.add_column("dossier_report", sa.Column("unit", sa.String(), nullable=True))
    name, columns = REPORT_INDEX
    op.create_index(name, "dossier_report", list(columns))


def downgrade() -> None:
    op.drop_index(REPORT_INDEX[0], table_name="dossier_report")
    op.drop_column("dossier_report", "unit")
    for name in ("applicant", "province", "units"):
        op.drop_column("api_key", name)
