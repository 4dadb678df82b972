"""The initial schema: cases, the audit log, timers, the outbox and the sequence counters.

Revision ID: 0001
Revises:
Create Date: 2025-01-06

Frozen: this file describes the schema as it was at revision 0001 and imports nothing from the
application, so later changes to :mod:`motcua.adapters.sql.tables` need a new revision, never an edit.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from alembic.util import CommandError

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CODE = sa.String().with_variant(sa.String(collation="C"), "postgresql")  # byte order, any locale
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    _create_case()
    _create_audit_entry()
    _create_timer()
    _create_outbox()
    _create_sequence_counter()


def downgrade() -> None:
    """Refused while the audit log holds an entry: it is append-only, and a downgrade never drops it."""
    if context.is_offline_mode():  # a script written without a database cannot look
        raise CommandError("downgrade below 0001 refused offline (--sql): it must first see whether the audit log "
                           "holds entries, which only a downgrade run against the database can")
    if op.get_bind().execute(sa.text("SELECT 1 FROM audit_entry LIMIT 1")).first() is not None:
        raise CommandError("downgrade below 0001 refused: the audit log holds entries, which it would drop (the log "
                           "is append-only); restore a backup taken before the upgrade")
    for table in ("sequence_counter", "outbox", "timer", "audit_entry", "case"):
        op.drop_table(table)


def _create_case() -> None:
    op.create_table(
        "case",
        sa.Column("code", CODE, nullable=False),
        sa.Column("definition_key", sa.String(), nullable=False),
        sa.Column("definition_version", sa.Integer(), nullable=False),
        sa.Column("rule_set", sa.String(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(), nullable=False),
        sa.Column("opened_at", INSTANT, nullable=False),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_case"),
    )


def _create_audit_entry() -> None:
    op.create_table(
        "audit_entry",
        sa.Column("position", ID, autoincrement=True, nullable=False),
        sa.Column("case_code", CODE, nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("occurred_at", INSTANT, nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("trigger", sa.String(), nullable=False),
        sa.Column("state_before", sa.JSON(), nullable=False),
        sa.Column("state_after", sa.JSON(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("definition_key", sa.String(), nullable=False),
        sa.Column("definition_version", sa.Integer(), nullable=False),
        sa.Column("rule_set", sa.String(), nullable=False),
        sa.Column("prev_hash", sa.String(), nullable=False),
        sa.Column("hash", sa.String(), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("position", name="pk_audit_entry"),
        sa.UniqueConstraint("case_code", "sequence", name="uq_audit_entry_case_code_sequence"),
        sa.ForeignKeyConstraint(["case_code"], ["case.code"], name="fk_audit_entry_case_code_case"),
        sqlite_autoincrement=True,
    )


def _create_timer() -> None:
    op.create_table(
        "timer",
        sa.Column("case_code", CODE, nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("trigger", sa.String(), nullable=False),
        sa.Column("due_at", INSTANT, nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("claimed_until", INSTANT, nullable=True),
        sa.PrimaryKeyConstraint("case_code", "name", name="pk_timer"),
        sa.ForeignKeyConstraint(["case_code"], ["case.code"], name="fk_timer_case_code_case"),
    )
    op.create_index("ix_timer_status_due_at", "timer", ["status", "due_at"])


def _create_outbox() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("case_code", CODE, nullable=False),
        sa.Column("position", ID, nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", INSTANT, nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.ForeignKeyConstraint(["case_code"], ["case.code"], name="fk_outbox_case_code_case"),
        sa.ForeignKeyConstraint(["position"], ["audit_entry.position"], name="fk_outbox_position_audit_entry"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_outbox_status_next_attempt_at", "outbox", ["status", "next_attempt_at"])
    op.create_index("ix_outbox_case_code_position", "outbox", ["case_code", "position"])


def _create_sequence_counter() -> None:
    op.create_table(
        "sequence_counter",
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("scope", name="pk_sequence_counter"),
    )
