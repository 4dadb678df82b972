"""The audit log refuses UPDATE, DELETE and TRUNCATE on PostgreSQL.

Revision ID: 0004
Revises: 0003
Create Date: 2025-03-17

A trigger function raising an exception (SQLSTATE 42501, insufficient_privilege) is attached to
``audit_entry`` before every UPDATE and DELETE (per row) and before TRUNCATE (per statement): the
application never changes or removes an entry, so any attempt is an accident or tampering, and it
fails whoever makes it — the owner role and a superuser included, until one of them disables the
trigger (``ALTER TABLE audit_entry DISABLE TRIGGER …``, which the hash chain and the anchors of
``motcua verify`` then catch). The roles that keep the application itself from trying are set up as
docs/how-to/set-up-postgresql-roles.md shows.

SQLite gets no trigger: it has no roles, so whoever can write the file can drop a trigger as easily as
rewrite a row; its evidence is the hash chain plus anchors kept off the machine (docs/explanation/audit-log.md).

Frozen like 0001: imports nothing from the application.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION: Final = "motcua_audit_entry_append_only"
ROW_TRIGGER: Final = "audit_entry_append_only"
TRUNCATE_TRIGGER: Final = "audit_entry_no_truncate"

CREATE_FUNCTION: Final = f"""
CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_entry is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'audit entries are never changed or removed (motcua docs/auditing.md)';
END;
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(CREATE_FUNCTION)
    op.execute(f"CREATE TRIGGER {ROW_TRIGGER} BEFORE UPDATE OR DELETE ON audit_entry "
               f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()")
    op.execute(f"CREATE TRIGGER {TRUNCATE_TRIGGER} BEFORE TRUNCATE ON audit_entry "
               f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP TRIGGER IF EXISTS {TRUNCATE_TRIGGER} ON audit_entry")
    op.execute(f"DROP TRIGGER IF EXISTS {ROW_TRIGGER} ON audit_entry")
    op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
