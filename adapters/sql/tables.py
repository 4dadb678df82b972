"""The SQL schema as SQLModel rows: what is stored, never what the core works with.

The row classes are the schema: the migrations (:mod:`motcua.adapters.sql.migrations`) are compared with
them, and every statement is written over their Core tables (:func:`table_of`, the ``*_queries`` modules);
no row object is ever built, the driver's rows are decoded by :mod:`motcua.adapters.sql.mapping`. The tables
have their own :class:`~sqlalchemy.MetaData` (with a naming convention), so the schema is exactly
these tables.

Two column types carry the storage rules:

- :class:`UtcDateTime` stores instants in UTC and always hands back aware datetimes (SQLite has
  no time-zone type, so it stores naive UTC text and the zone is put back on read);
- :data:`CODE` compares case codes (and timer names) byte-wise (``COLLATE "C"`` on PostgreSQL,
  SQLite's default), so ``ORDER BY code`` is Python's string order whatever the database locale:
  the merge-join of :func:`motcua.workflow.engine.audit.verify_chains` relies on it, and so does the memory
  store's order of timers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

__all__ = [
    "CODE",
    "ID",
    "NAMING_CONVENTION",
    "AuditEntryRow",
    "CaseRow",
    "OutboxRow",
    "Row",
    "SequenceCounterRow",
    "TimerRow",
    "UtcDateTime",
    "metadata",
    "table_of",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

CODE = sa.String().with_variant(sa.String(collation="C"), "postgresql")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # INTEGER PRIMARY KEY is SQLite's rowid


class UtcDateTime(sa.TypeDecorator[datetime]):
    """An aware instant, stored in UTC to the microsecond, read back aware (UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"refusing to store the naive datetime {value.isoformat()}")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Row(SQLModel, registry=registry(metadata=metadata)):
    """Base of every row class: binds them to :data:`metadata`, not SQLModel's global one."""


class CaseRow(Row, table=True):
    __tablename__ = "case"
    __table_args__ = (
        # a unit's cases in a state, by code (find by unit + state [+ due], keyset-paged): one range whose
        # rows come in page order, so a page costs the same at 10 thousand cases as at 2 million. Due and
        # ended follow the code (they do not change the order): the scan tests them on the index entry and
        # visits the table only for the page's rows, and a prepared statement's generic plan, which cannot
        # know how big a unit's backlog is, still finds reading in this order cheaper than sorting it.
        # On PostgreSQL migration 0009 also creates the statistics object st_case_lifecycle_ended
        # (SQLAlchemy has no construct for it): without it the planner takes "processing AND not ended" for
        # far rarer than it is, and sorts a unit's whole backlog instead of reading one page
        sa.Index("ix_case_unit_lifecycle_code", "index_unit", "state_lifecycle", "code", "index_due", "index_ended"),
        sa.Index("ix_case_received_by_code", "index_received_by", "code"),  # a scope: received by its units
        sa.Index("ix_case_applicant_code", "index_applicant", "code"),  # an applicant's own dossiers
    )

    code: str = Field(primary_key=True, sa_type=CODE)
    definition_key: str = Field(sa_type=sa.String)
    definition_version: int
    rule_set: str = Field(sa_type=sa.String)
    state: dict[str, str] = Field(sa_type=sa.JSON)
    attributes: dict[str, Any] = Field(sa_type=sa.JSON)
    version: int
    head_hash: str = Field(sa_type=sa.String)
    opened_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)
    # the case's index (motcua.workflow.engine.queries.INDEX_KEYS): what a query finds it by, written with the row
    index_procedure: str | None = Field(default=None, sa_type=sa.String)
    index_officer: str | None = Field(default=None, sa_type=sa.String)
    index_due: str | None = Field(default=None, sa_type=sa.String)
    index_ended: str | None = Field(default=None, sa_type=sa.String)
    index_unit: str | None = Field(default=None, sa_type=sa.String)
    index_received_by: str | None = Field(default=None, sa_type=sa.String)
    index_applicant: str | None = Field(default=None, sa_type=sa.String)
    # the regions a query filters on, copied from ``state`` when the row is written
    state_lifecycle: str | None = Field(default=None, sa_type=sa.String)
    state_deadline: str | None = Field(default=None, sa_type=sa.String)


class AuditEntryRow(Row, table=True):
    __tablename__ = "audit_entry"
    __table_args__ = (
        sa.UniqueConstraint("case_code", "sequence"),  # optimistic concurrency, and the (code, seq) index
        {"sqlite_autoincrement": True},  # positions are never reused
    )

    position: int | None = Field(default=None, primary_key=True, sa_type=ID)
    case_code: str = Field(foreign_key="case.code", sa_type=CODE)
    sequence: int
    occurred_at: datetime = Field(sa_type=UtcDateTime)
    actor: str = Field(sa_type=sa.String)
    role: str = Field(sa_type=sa.String)
    trigger: str = Field(sa_type=sa.String)
    state_before: dict[str, str] = Field(sa_type=sa.JSON)
    state_after: dict[str, str] = Field(sa_type=sa.JSON)
    data: dict[str, Any] = Field(sa_type=sa.JSON)
    changes: dict[str, Any] = Field(sa_type=sa.JSON)
    reason: str | None = Field(default=None, sa_type=sa.String)
    definition_key: str = Field(sa_type=sa.String)
    definition_version: int
    rule_set: str = Field(sa_type=sa.String)
    prev_hash: str = Field(sa_type=sa.String)
    hash: str = Field(sa_type=sa.String)
    schema_version: int
    # the position seal (motcua.workflow.engine.audit.position_seal), computed by the INSERT with the position;
    # NULL on entries appended before migration 0011
    position_hash: str | None = Field(default=None, sa_type=sa.String)


class TimerRow(Row, table=True):
    """An armed timer; firing (consuming) or cancelling it deletes the row.

    ``claimed_until`` is a dispatcher's lease. The claim index holds ``status = 'armed'`` rows only, so a
    status other than armed takes a timer out of the claim at no cost: ``'parked'``, a timer whose trigger failed
    again and again, with its last failure in ``error`` (:meth:`motcua.workflow.engine.ports.TimerQueue.timer_failed`);
    the operator's list reads them on an index of their own.
    """

    __tablename__ = "timer"
    __table_args__ = (
        # the claim: WHERE status = 'armed' AND due_at <= now ORDER BY due_at LIMIT n
        sa.Index("ix_timer_armed_due_at", "due_at",
                 postgresql_where=sa.text("status = 'armed'"), sqlite_where=sa.text("status = 'armed'")),
        sa.Index("ix_timer_parked_due_at", "due_at",
                 postgresql_where=sa.text("status = 'parked'"), sqlite_where=sa.text("status = 'parked'")),
    )

    case_code: str = Field(primary_key=True, foreign_key="case.code", sa_type=CODE)
    name: str = Field(primary_key=True, sa_type=CODE)  # byte order too: timers(code) and claims sort by it
    trigger: str = Field(sa_type=sa.String)
    due_at: datetime = Field(sa_type=UtcDateTime)
    data: dict[str, Any] = Field(sa_type=sa.JSON)
    status: str = Field(default="armed", sa_type=sa.String)
    # the global position of the audit entry that armed it: unique forever, so a stale claim never matches
    generation: int = Field(sa_type=ID)
    claimed_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # failures of its trigger so far (0: sound; it holds back its case's later timers), and the last one
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    error: str | None = Field(default=None, sa_type=sa.String)


class OutboxRow(Row, table=True):
    __tablename__ = "outbox"
    __table_args__ = (
        # rows are kept once delivered: the claim and the operator's list only index the live ones
        sa.Index("ix_outbox_pending_id", "id",
                 postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'")),
        sa.Index("ix_outbox_parked_id", "id",
                 postgresql_where=sa.text("status = 'parked'"), sqlite_where=sa.text("status = 'parked'")),
        sa.Index("ix_outbox_case_code_position", "case_code", "position"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    case_code: str = Field(foreign_key="case.code", sa_type=CODE)
    position: int = Field(foreign_key="audit_entry.position", sa_type=ID)
    kind: str = Field(sa_type=sa.String)
    payload: dict[str, Any] = Field(sa_type=sa.JSON)
    status: str = Field(default="pending", sa_type=sa.String)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UtcDateTime)
    created_at: datetime = Field(sa_type=UtcDateTime)
    last_error: str | None = Field(default=None, sa_type=sa.String)
    claimed_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # the token of the claim that holds the row (a worker delivering it extends ``claimed_until`` under it)
    claim_token: str | None = Field(default=None, sa_type=sa.String)
    # the channels of a fan-out a failed attempt delivered to, comma-separated: a retry skips them (migration 0020)
    delivered_channels: str | None = Field(default=None, sa_type=sa.String)


class SequenceCounterRow(Row, table=True):
    __tablename__ = "sequence_counter"

    scope: str = Field(primary_key=True, sa_type=sa.String)
    value: int = Field(sa_type=sa.BigInteger)


def table_of(row_class: type[Row]) -> sa.Table:
    """The Core table behind a row class: what the statements are written over."""
    return metadata.tables[str(row_class.__tablename__)]
