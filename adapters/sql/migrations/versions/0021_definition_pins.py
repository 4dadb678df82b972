"""The definitions' pins: a workflow version or a rule set edited in place is refused at start.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07

- ``definition_pin``: one row per definition a process opened the database with — ``kind`` (``workflow`` or
  ``rule_set``), ``key``, ``version`` (0 for a rule set) as the primary key; ``digest`` (SHA-256 of the definition's
  meaning), ``pinned_at``, ``replaced`` (the digest a re-pin replaced). Created empty: a database of an earlier
  revision pins its definitions the first time a process opens it after this upgrade, as a new database does
  (a migration reads no definition).

Frozen like 0001: imports nothing from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "definition_pin",
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(), nullable=False),
        sa.Column("pinned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replaced", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("kind", "key", "version", name="pk_definition_pin"),
    )


def downgrade() -> None:
    op.drop_table("definition_pin")
