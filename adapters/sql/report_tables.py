"""The rows of the reporting projection (revision 0003): what is stored, never what the core works with.

- ``dossier_report``: one row per dossier, the fields of :class:`motcua.workflow.reports.projection.DossierFacts`, with
  the Vietnam dates of reception (R), end of processing (E) and appointment (A) precomputed as date
  columns (:class:`Day`; ``ended_on`` is :data:`OPEN` while the dossier is not ended), so that Biểu 06 is
  date comparisons inside one ``GROUP BY``, over one index range;
- ``dossier_pause``: the stretches a dossier's legal clock stood still, by Vietnam dates
  (``end_on`` :data:`OPEN` while still paused), for "paused at the end of the period";
- ``report_field``: the name of each field code, looked up once per row of a report;
- ``projection_checkpoint``: the global audit position a projection has folded up to.

The rows share :data:`motcua.adapters.sql.tables.metadata`, so the schema compared with the migrations is
one; the migration environment imports this module.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field

from motcua.adapters.sql.tables import CODE, ID, Row, UtcDateTime

__all__ = ["OPEN", "Day", "DossierPauseRow", "DossierReportRow", "ProjectionCheckpointRow", "ReportFieldRow"]


class Day(sa.TypeDecorator[date]):
    """A calendar date (Vietnam time): ``DATE`` on PostgreSQL; on SQLite, which has no date type, the day
    number ``date.toordinal()`` as an INTEGER, so that the reports compare integers, not text."""

    impl = sa.Date
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        return dialect.type_descriptor(sa.Integer() if dialect.name == "sqlite" else sa.Date())

    def process_bind_param(self, value: date | None, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        return value.toordinal()

    def process_result_value(self, value: Any, dialect: Dialect) -> date | None:
        if value is None or isinstance(value, date):
            return value
        return date.fromordinal(int(value))


OPEN: Final = date.max
"""``ended_on`` of a dossier not ended yet: "not ended before the period" is then one range of one index."""


class DossierReportRow(Row, table=True):
    """Columns the reports read come first (SQLite finds a column by walking the record's header)."""

    __tablename__ = "dossier_report"
    __table_args__ = (
        # A period's dossiers are those not ended before it (ended_on >= start, the still-open ones at
        # OPEN included): one range of this index, which holds every column Biểu 06 reads, so the report
        # is an index-only range scan that reads the dossiers of the period and those still open, not
        # the whole history of the commune.
        sa.Index("ix_dossier_report_bieu06", "ended_on", "received_on", "appointment_on", "status", "channel",
                 "field_code", "code"),
        # the same for one unit's report (revision 0010): the unit's range of the same columns
        sa.Index("ix_dossier_report_unit_bieu06", "unit", "ended_on", "received_on", "appointment_on", "status",
                 "channel", "field_code", "code"),
    )

    code: str = Field(primary_key=True, sa_type=CODE)
    field_code: str = Field(sa_type=CODE)  # byte order: rows sort like the reference's sorted()
    field_name: str = Field(sa_type=sa.String)
    status: int = Field(sa_type=sa.SmallInteger)
    channel: int | None = Field(default=None, sa_type=sa.SmallInteger)
    received_on: date | None = Field(default=None, sa_type=Day)
    ended_on: date = Field(sa_type=Day)  # OPEN while not ended
    appointment_on: date | None = Field(default=None, sa_type=Day)
    procedure: str = Field(sa_type=sa.String)
    received_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    appointment: datetime | None = Field(default=None, sa_type=UtcDateTime)
    paper_result: bool = Field(sa_type=sa.Boolean)
    electronic_result: bool = Field(sa_type=sa.Boolean)
    digitized: bool = Field(sa_type=sa.Boolean)
    handovers: int = Field(sa_type=sa.Integer)
    electronic_handovers: int = Field(sa_type=sa.Integer)
    fee: int = Field(sa_type=sa.BigInteger)
    # false: a council fee of unknown amount, left out of the payment indicator (0015; rebuilt by the upgrade)
    fee_known: bool = Field(sa_type=sa.Boolean, sa_column_kwargs={"server_default": sa.true()})
    paid_online: bool = Field(sa_type=sa.Boolean)
    rating: int | None = Field(default=None, sa_type=sa.SmallInteger)
    apologies: int = Field(sa_type=sa.Integer)
    apologies_in_time: int = Field(sa_type=sa.Integer)
    # an apology sent in time fixed a new date; asked to supplement how many times (0013; rebuilt by the upgrade)
    redated_in_time: bool = Field(sa_type=sa.Boolean, sa_column_kwargs={"server_default": sa.false()})
    supplement_requests: int = Field(sa_type=sa.Integer, sa_column_kwargs={"server_default": "0"})
    imported: bool = Field(sa_type=sa.Boolean)
    # its procedure was eligible for full-online service on the date of R (0014; false until a rebuild for older rows)
    full_online_eligible: bool = Field(sa_type=sa.Boolean, sa_column_kwargs={"server_default": sa.false()})
    position: int = Field(sa_type=ID)  # the last audit position folded into the row
    unit: str | None = Field(default=None, sa_type=sa.String)  # the deciding unit it is counted under (0010)


class DossierPauseRow(Row, table=True):
    __tablename__ = "dossier_pause"
    __table_args__ = (
        # the pauses running at a period's end (end_on > end >= start_on): one index-only range
        sa.Index("ix_dossier_pause_end_on", "end_on", "start_on", "code"),
    )

    code: str = Field(primary_key=True, sa_type=CODE)
    seq: int = Field(primary_key=True, sa_type=sa.Integer)
    start_on: date = Field(sa_type=Day)
    end_on: date = Field(sa_type=Day)  # the day the clock ran again; OPEN while still paused


class ReportFieldRow(Row, table=True):
    """The name of each field of procedure (lĩnh vực) in the projection, for the rows of the reports.

    One code carries one name (the catalogue checks it); a name changed later replaces the old one.
    """

    __tablename__ = "report_field"

    field_code: str = Field(primary_key=True, sa_type=CODE)
    field_name: str = Field(sa_type=sa.String)


class ProjectionCheckpointRow(Row, table=True):
    __tablename__ = "projection_checkpoint"

    name: str = Field(primary_key=True, sa_type=sa.String)
    position: int = Field(sa_type=ID)
