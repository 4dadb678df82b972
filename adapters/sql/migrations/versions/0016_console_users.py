"""The browser console's users and sessions.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06

- ``console_user``: ``name`` (signs in; the actor of the audit log), ``password_hash`` (Argon2id; the password is
  never stored), ``roles``, the scope (``units`` or ``province``; neither: every unit), ``created_at``,
  ``disabled_at``, the failed sign-ins in a row (``failures``) and the lock-out's end (``locked_until``).
- ``console_session``: ``key`` (the SHA-256 of the session id the cookie holds; the id itself is never stored),
  ``user_name``, ``csrf_token``, ``created_at``, ``expires_at`` (indexed for purging), indexed by user.

Frozen like 0001: imports nothing from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "console_user",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("units", sa.JSON(), nullable=True),
        sa.Column("province", sa.String(), nullable=True),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("disabled_at", INSTANT, nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", INSTANT, nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_console_user"),
    )
    op.create_table(
        "console_session",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("user_name", sa.String(), nullable=False),
        sa.Column("csrf_token", sa.String(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("expires_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_console_session"),
    )
    op.create_index("ix_console_session_expires_at", "console_session", ["expires_at"])
    op.create_index("ix_console_session_user_name", "console_session", ["user_name"])


def downgrade() -> None:
    op.drop_index("ix_console_session_user_name", table_name="console_session")
    op.drop_index("ix_console_session_expires_at", table_name="console_session")
    op.drop_table("console_session")
    op.drop_table("console_user")
