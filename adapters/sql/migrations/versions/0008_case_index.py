"""The case's index: the values a query finds a case by, in columns of its own.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

- ``case.index_procedure``, ``index_officer``, ``index_due``, ``index_ended``: the search keys of a
  workflow definition's ``index`` section (the engine computes them when it decides; the store writes
  them with the case row). A query filters on them instead of reading attribute names out of the JSON.
- The rows written before this revision get the values the filter read before it: ``procedure``, the
  ``assignee`` else the ``owner``, the ``appointment``, the ``ended_at`` attributes (empty text counting
  as absent). Those are what the shipped definitions index; a case is indexed anew at its next decision.

Frozen like 0001: imports nothing from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("index_procedure", "index_officer", "index_due", "index_ended")
CASE = sa.table("case", sa.column("attributes", sa.JSON), *(sa.column(name, sa.String) for name in COLUMNS))


def _text(attribute: str) -> sa.ColumnElement[str]:
    return sa.func.nullif(CASE.c.attributes[attribute].as_string(), "")


def upgrade() -> None:
    for name in COLUMNS:
        op.add_column("case", sa.Column(name, sa.String(), nullable=True))
    op.execute(CASE.update().values(
        index_procedure=_text("procedure"),
        index_officer=sa.func.coalesce(_text("assignee"), _text("owner")),
        index_due=_text("appointment"),
        index_ended=_text("ended_at"),
    ))


def downgrade() -> None:
    for name in reversed(COLUMNS):
        op.drop_column("case", name)
