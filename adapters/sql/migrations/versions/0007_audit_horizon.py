"""The reporting projection's horizon without the application holding a table lock privilege.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26

A catch-up of the reporting projection on PostgreSQL first waits for the transactions writing audit
entries and reads the highest position (``adapters/sql/reports.py`` explains why). That needs a
``SHARE`` lock on ``audit_entry``, which PostgreSQL grants only to a role with UPDATE, DELETE or TRUNCATE
privilege on it — exactly what the application role of docs/how-to/set-up-postgresql-roles.md is denied. The function
``motcua_audit_horizon()`` takes the lock and reads the position as its owner (``SECURITY DEFINER``), so
the application calls it with no privilege over the log beyond INSERT and SELECT. Hardened as PostgreSQL
advises for such functions: the table is named with its schema, the search path is that schema then
``pg_temp`` (a caller's temporary table cannot stand in for the log), and EXECUTE is taken from PUBLIC —
the owner grants it to the application role (docs/how-to/set-up-postgresql-roles.md, step 2). The lock lasts until the
caller's transaction ends: the catch-up commits at once.

SQLite gets nothing: its writers are serialised and commit in position order.

Frozen like 0001: imports nothing from the application.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION: Final = "motcua_audit_horizon"

CREATE_FUNCTION: Final = """
CREATE FUNCTION {schema}.{function}() RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
SET search_path = {schema}, pg_temp AS $$
BEGIN
    LOCK TABLE {schema}.audit_entry IN SHARE MODE;
    RETURN coalesce((SELECT max(position) FROM {schema}.audit_entry), 0);
END;
$$
"""


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    schema = bind.dialect.identifier_preparer.quote(bind.exec_driver_sql("SELECT current_schema()").scalar_one())
    op.execute(CREATE_FUNCTION.format(schema=schema, function=FUNCTION))
    op.execute(f"REVOKE EXECUTE ON FUNCTION {schema}.{FUNCTION}() FROM PUBLIC")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
