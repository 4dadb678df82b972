"""The DVCQG sync status rows (revision 0006): one row per audit entry a sync was attempted for.

``portal_sync`` is keyed like the audit log, ``(case_code, sequence)``; an entry without a row is
pending. The per-dossier summary is computed from these rows and the case's version (its number of
entries), never stored twice. The rows share :data:`motcua.adapters.sql.tables.metadata`; the migration
environment imports this module.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from motcua.adapters.sql.tables import CODE, Row, UtcDateTime

__all__ = ["PortalSyncRow"]


class PortalSyncRow(Row, table=True):
    __tablename__ = "portal_sync"

    case_code: str = Field(primary_key=True, sa_type=CODE)
    sequence: int = Field(primary_key=True, sa_type=sa.Integer)
    status: str = Field(sa_type=sa.String)  # synced | failed | parked
    attempts: int = Field(sa_type=sa.Integer)
    last_error: str | None = Field(default=None, sa_type=sa.String)
    synced_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)
