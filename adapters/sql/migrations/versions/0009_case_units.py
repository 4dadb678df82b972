"""The administrative units a case belongs to, its applicant and its state, in indexed columns.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

- ``case.index_unit`` (the unit that holds the case: a dossier's deciding unit, a plan task's unit),
  ``index_received_by`` (the unit that received a dossier) and ``index_applicant`` (the applicant's identity
  number): search keys of the workflow definitions' ``index`` section, written with the case row, so that an
  access scope and a province's queries filter on columns.
- ``case.state_lifecycle`` and ``state_deadline``: the regions a query filters on, copied from ``state``.
- Indexes: (unit, lifecycle, code) for a unit's cases in a state, page by page; (received_by, code) and
  (applicant, code) for the scopes.
- Rows written before this revision get the values the shipped definitions index: ``deciding_unit`` else
  ``unit``, ``receiving_unit``, ``applicant_id`` (empty text counting as absent), and the state's regions.
  A case written before units existed has none: only an unscoped key sees it (docs/explanation/units-and-scopes.md).

Frozen like 0001: imports nothing from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("index_unit", "index_received_by", "index_applicant", "state_lifecycle", "state_deadline")
INDEXES = (
    ("ix_case_unit_lifecycle_code", ("index_unit", "state_lifecycle", "code")),
    ("ix_case_received_by_code", ("index_received_by", "code")),
    ("ix_case_applicant_code", ("index_applicant", "code")),
)
CASE = sa.table(
    "case", sa.column("attributes", sa.JSON), sa.column("state", sa.JSON),
    *(sa.column(name, sa.String) for name in COLUMNS),
)


def _text(document: sa.ColumnElement[object], key: str) -> sa.ColumnElement[str]:
    return sa.func.nullif(document[key].as_string(), "")


def upgrade() -> None:
    for name in COLUMNS:
        op.add_column("case", sa.Column(name, sa.String(), nullable=True))
    attributes, state = CASE.c.attributes, CASE.c.state
    op.execute(CASE.update().values(
        index_unit=sa.func.coalesce(_text(attributes, "deciding_unit"), _text(attributes, "unit")),
        index_received_by=_text(attributes, "receiving_unit"),
        index_applicant=_text(attributes, "applicant_id"),
        state_lifecycle=_text(state, "lifecycle"),
        state_deadline=_text(state, "deadline"),
    ))
    for name, columns in INDEXES:
        op.create_index(name, "case", list(columns))


def downgrade() -> None:
    for name, _ in reversed(INDEXES):
        op.drop_index(name, table_name="case")
    for name in reversed(COLUMNS):
        op.drop_column("case", name)
