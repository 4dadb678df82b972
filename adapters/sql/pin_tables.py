"""The definitions' pins (revision 0021): the digest of each definition as the database was first opened with it.

``definition_pin`` has one row per definition (:class:`~motcua.workflow.engine.pins.Pin`): ``kind`` (``workflow`` or
``rule_set``), ``key`` and ``version`` (a workflow's version; 0 for a rule set), keyed by all three; ``digest`` (64
hexadecimal digits, :func:`~motcua.workflow.engine.pins.digest`), ``pinned_at`` (when it was pinned, or last re-pinned)
and ``replaced`` (the digest the last ``motcua definitions repin`` replaced; NULL while never re-pinned). The rows
share :data:`motcua.adapters.sql.tables.metadata`; the migration environment imports this module.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from motcua.adapters.sql.tables import Row, UtcDateTime

__all__ = ["DefinitionPinRow"]


class DefinitionPinRow(Row, table=True):
    __tablename__ = "definition_pin"

    kind: str = Field(primary_key=True, sa_type=sa.String)
    key: str = Field(primary_key=True, sa_type=sa.String)
    version: int = Field(primary_key=True, sa_type=sa.Integer)
    digest: str = Field(sa_type=sa.String)
    pinned_at: datetime = Field(sa_type=UtcDateTime)
    replaced: str | None = Field(default=None, sa_type=sa.String)
