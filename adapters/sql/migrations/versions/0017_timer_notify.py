"""Wake the dispatcher when a timer falls due soon: ``pg_notify('motcua_timer', '')`` (PostgreSQL only).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06

A row-level trigger on ``timer`` (after INSERT, or UPDATE of ``due_at``, ``claimed_until`` or ``status``) calls
``motcua_timer_notify()`` for a row left armed, unclaimed and due within a minute of the transaction's start: a
timer armed or re-dated to fall due soon, or whose lease was given up. Its ``WHEN`` condition is checked without
calling the function, so a timer armed days ahead (a dossier's deadlines: nearly every arm), a claim (it sets
``claimed_until``) and a deletion cost nothing; measured, a statement-level trigger with a transition table cost
0.1–0.3 ms on every upsert of a timer instead. PostgreSQL sends a transaction's identical notifications once, at
commit (none on rollback): a listening dispatcher wakes and claims at once instead of waiting out its poll.
Nothing depends on it: a lost notification leaves the timer to the poll.

SQLite has no notifications: nothing is created there. Frozen like 0001: imports nothing from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "motcua_timer"
HORIZON = "1 minute"

_FUNCTION = f"""
CREATE OR REPLACE FUNCTION motcua_timer_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', '');
    RETURN NULL;
END
$$
"""

_TRIGGER = f"""
CREATE TRIGGER timer_notify AFTER INSERT OR UPDATE OF due_at, claimed_until, status ON timer FOR EACH ROW
WHEN (NEW.status = 'armed' AND NEW.claimed_until IS NULL AND NEW.due_at <= now() + interval '{HORIZON}')
EXECUTE FUNCTION motcua_timer_notify()
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_FUNCTION)
    op.execute(_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS timer_notify ON timer")
    op.execute("DROP FUNCTION IF EXISTS motcua_timer_notify()")
