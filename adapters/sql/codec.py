"""Column values as each driver takes and gives them, for the statements of :mod:`motcua.adapters.sql.statement`.

They write what SQLAlchemy's column types of :mod:`motcua.adapters.sql.tables` write, so that rows stored
either way read back the same either way:

- JSON is bound as the text of :func:`motcua.adapters.sql.engine.json_dumps` (UTF-8, no ``\\u`` escapes) on
  both databases (:mod:`motcua.adapters.sql.mapping` encodes it); PostgreSQL hands a ``json`` column back
  decoded, SQLite hands back its text; read with :meth:`Codec.json_checked_from` (an audit entry's texts, for
  verify), a text that repeats a key in one object is named, since SQLite's ``json_extract`` and ``json.loads``
  then read different values;
- an instant is :class:`~motcua.adapters.sql.tables.UtcDateTime`'s: aware on PostgreSQL (``timestamptz``),
  naive UTC text to the microsecond on SQLite (``YYYY-MM-DD HH:MM:SS.ffffff``, SQLAlchemy's
  format), and an aware UTC datetime when read back; a naive datetime is refused;
- a day (:class:`~motcua.adapters.sql.report_tables.Day`) is a ``date`` on PostgreSQL, its day number
  (``date.toordinal()``) on SQLite; a boolean is SQLite's 0 or 1 (``bool()`` of either reads it back);
- a list parameter (:func:`~motcua.adapters.sql.statement.one_of`) is an array on PostgreSQL, its JSON text on SQLite.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, Protocol

from motcua.adapters.sql.engine import json_dumps
from motcua.workflow.errors import StorageFailure

__all__ = ["Codec", "PostgresCodec", "SqliteCodec", "codec_for"]


class Codec(Protocol):
    def instant(self, value: datetime) -> object:
        """An instant as the driver binds it."""

    def instant_from(self, value: Any) -> datetime:
        """An instant read back: aware, in UTC."""

    def json_from(self, value: Any) -> Any:
        """A JSON document read back from a JSON column."""

    def json_checked_from(self, value: Any) -> tuple[Any, str | None]:
        """A JSON document read back as :meth:`json_from` reads it, with the first key its stored text repeats
        within one object (``None``: every key once), which readers of the text may not agree on."""

    def day(self, value: date) -> object:
        """A calendar day as the driver binds it."""

    def day_from(self, value: Any) -> date:
        """A calendar day read back."""

    def values(self, items: Sequence[object]) -> object:
        """A list parameter as :func:`~motcua.adapters.sql.statement.one_of` takes it."""


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise StorageFailure(f"refusing to store the naive datetime {value.isoformat()}")
    return value


class PostgresCodec:
    """psycopg binds an aware datetime as ``timestamptz``, a list as an array, and decodes ``json`` columns itself."""

    def instant(self, value: datetime) -> object:
        return _aware(value).astimezone(UTC)

    def instant_from(self, value: Any) -> datetime:
        instant: datetime = value
        return instant.astimezone(UTC)

    def json_from(self, value: Any) -> Any:
        return value

    def json_checked_from(self, value: Any) -> tuple[Any, str | None]:
        """Every reader of a ``json`` column agrees on a repeated key: PostgreSQL's operators and functions and
        psycopg (``json.loads``) all take the last, as the hash does; and the log refuses UPDATE (migration 0004)."""
        return value, None

    def day(self, value: date) -> object:
        return value

    def day_from(self, value: Any) -> date:
        day: date = value
        return day

    def values(self, items: Sequence[object]) -> object:
        return list(items)


class SqliteCodec:
    """sqlite3 stores and returns text (naive UTC instants, JSON documents) and integers (days, booleans)."""

    def instant(self, value: datetime) -> object:
        return _aware(value).astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

    def instant_from(self, value: Any) -> datetime:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)

    def json_from(self, value: Any) -> Any:
        return json.loads(value)

    def json_checked_from(self, value: Any) -> tuple[Any, str | None]:
        """SQLite's ``json_extract`` takes the first of a repeated key, ``json.loads`` the last: such a text shows a
        query of the file another value than the one read here. The key is named, the document read as ever."""
        try:
            return _UNIQUE_KEYS.decode(value), None
        except _RepeatedKey as repeated:
            return json.loads(value), repeated.key

    def day(self, value: date) -> object:
        return value.toordinal()

    def day_from(self, value: Any) -> date:
        return date.fromordinal(value)

    def values(self, items: Sequence[object]) -> object:
        return json_dumps(list(items))


class _RepeatedKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """One object of a JSON text, refused (:class:`_RepeatedKey`) when it holds a key twice."""
    document = dict(pairs)
    if len(document) == len(pairs):
        return document
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise _RepeatedKey(key)
        seen.add(key)
    raise AssertionError("a dict shorter than its pairs holds a key twice")


_UNIQUE_KEYS = json.JSONDecoder(object_pairs_hook=_unique_keys)


def codec_for(dialect: str) -> Codec:
    if dialect == "sqlite":
        return SqliteCodec()
    if dialect == "postgresql":
        return PostgresCodec()
    raise ValueError(f"no column codec known for the {dialect} dialect")
