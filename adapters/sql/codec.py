"""Column values as each driver takes and gives them, for the statements of :mod:`motcua.adapters.sql.queries`.

They write what SQLAlchemy's column types of :mod:`motcua.adapters.sql.tables` write, so that rows stored
either way read back the same either way:

- JSON is bound as the text of :func:`motcua.adapters.sql.engine.json_dumps` (UTF-8, no ``\\u`` escapes) on
  both databases (:mod:`motcua.adapters.sql.mapping` encodes it); PostgreSQL hands a ``json`` column back
  decoded, SQLite hands back its text;
- an instant is :class:`~motcua.adapters.sql.tables.UtcDateTime`'s: aware on PostgreSQL (``timestamptz``),
  naive UTC text to the microsecond on SQLite (``YYYY-MM-DD HH:MM:SS.ffffff``, SQLAlchemy's
  format), and an aware UTC datetime when read back; a naive datetime is refused.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Protocol

from motcua.workflow.engine.errors import StorageFailure

__all__ = ["Codec", "PostgresCodec", "SqliteCodec", "codec_for"]

JsonObject = dict[str, Any]  # what the JSON columns hold: objects (a state's values are strings)


class Codec(Protocol):
    def instant(self, value: datetime) -> object:
        """An instant as the driver binds it."""

    def instant_from(self, value: Any) -> datetime:
        """An instant read back: aware, in UTC."""

    def json_from(self, value: Any) -> JsonObject:
        """A JSON object read back from a JSON column."""


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise StorageFailure(f"refusing to store the naive datetime {value.isoformat()}")
    return value


class PostgresCodec:
    """psycopg binds an aware datetime as ``timestamptz`` and decodes ``json`` columns itself."""

    def instant(self, value: datetime) -> object:
        return _aware(value).astimezone(UTC)

    def instant_from(self, value: Any) -> datetime:
        instant: datetime = value
        return instant.astimezone(UTC)

    def json_from(self, value: Any) -> JsonObject:
        return dict(value)


class SqliteCodec:
    """sqlite3 stores and returns text: naive UTC instants, JSON documents."""

    def instant(self, value: datetime) -> object:
        return _aware(value).astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

    def instant_from(self, value: Any) -> datetime:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)

    def json_from(self, value: Any) -> JsonObject:
        decoded: JsonObject = json.loads(value)
        return decoded


def codec_for(dialect: str) -> Codec:
    if dialect == "sqlite":
        return SqliteCodec()
    if dialect == "postgresql":
        return PostgresCodec()
    raise ValueError(f"no column codec known for the {dialect} dialect")
