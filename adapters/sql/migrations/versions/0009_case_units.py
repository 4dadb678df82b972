"""The administrative units a case belongs to, its applicant and its state, in indexed columns.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

- ``case.index_unit`` (the unit that holds the case: a dossier's deciding unit, a plan task's unit),
  ``index_received_by`` (the unit that received a dossier) and ``index_applicant`` (the applicant's identity
  number): search keys of the workflow definitions' ``index`` section, written with the case row, so that an
  access scope and a province's queries filter on columns.
- ``case.state_lifecycle`` and ``state_deadline``: the regions a query filters on, copied from ``state``.
- Indexes: (unit, lifecycle, code, due, ended) for a unit's cases in a state, page by page (due and ended
  after the code: tested on the index entry without changing the page order, so a scan visits the table only
  for the rows of the page, and a prepared statement's generic plan still prefers the index order to a sort);
  (received_by, code) and (applicant, code) for the scopes.
- On PostgreSQL, the statistics object ``st_case_lifecycle_ended`` (most common values of lifecycle and end
  together): an open dossier never has an end, so ``lifecycle = 'processing' AND ended IS NULL`` is as
  selective as its first half; taking the two as independent, the planner would count a unit's backlog as
  many times too small as there are cases per open one (60 times when one in 60 is open), sort all of it
  instead of reading one page in index order, and a page would cost more as the table grows
  (tests/integration/test_postgres_find_plans.py).
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
    ("ix_case_unit_lifecycle_code", ("index_unit", "state_lifecycle", "code", "index_due", "index_ended")),
    ("ix_case_received_by_code", ("index_received_by", "code")),
    ("ix_case_applicant_code", ("index_applicant", "code")),
)
STATISTICS = "st_case_lifecycle_ended"
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
    if op.get_bind().dialect.name == "postgresql":  # SQLite's planner keeps no such statistics
        op.execute(f'CREATE STATISTICS {STATISTICS} (mcv) ON state_lifecycle, index_ended FROM "case"')


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")
    for name, _ in reversed(INDEXES):
        op.drop_index(name, table_name="case")
    for name in reversed(COLUMNS):
        op.drop_column("case", name)
