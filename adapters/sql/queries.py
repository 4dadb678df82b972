"""Every statement the store runs through the driver, by name, in one place (procrastinate's ``queries.sql``).

They are written once with ``:name`` placeholders and rendered once per driver (:meth:`Queries.rendered`):
SQLite's ``sqlite3`` takes them as they are, psycopg takes ``%(name)s``. The text carries no casts: the
database takes each parameter's type from its column (psycopg sends a ``str`` as *unknown*), so a JSON
column is given its text (:func:`motcua.adapters.sql.engine.json_dumps`, the bytes SQLAlchemy's JSON type wrote)
and an instant what :class:`motcua.adapters.sql.tables.UtcDateTime` binds (see :mod:`motcua.adapters.sql.codec`).

Conflicts are found by the statements themselves: ``insert_case`` and ``append_entry`` do nothing on a
conflict, ``update_case`` and ``consume_timer`` match no row when another writer came first, and all
four then return no row. Status values are written into the text, never bound (see :mod:`motcua.adapters.sql.store`).

The claims (:meth:`SqlStore.claim_due`, :meth:`SqlStore.claim_effects`) and the operator's rare writes
stay SQLAlchemy Core statements: they are composed (CTEs, an inlined ``LIMIT``, ``FOR UPDATE SKIP LOCKED``
that SQLite leaves out) rather than run thousands of times a second.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Final

__all__ = ["CASE_COLUMNS", "Queries"]

CASE_COLUMNS: Final = (
    "code", "definition_key", "definition_version", "rule_set", "state", "attributes", "version", "head_hash",
    "opened_at", "updated_at",
)
"""The columns of ``load_case``, in the order of its result row."""

_ENTRY_COLUMNS: Final = (
    "case_code", "sequence", "occurred_at", "actor", "role", "trigger", "state_before", "state_after", "data",
    "changes", "reason", "definition_key", "definition_version", "rule_set", "prev_hash", "hash", "schema_version",
)
_TIMER_COLUMNS: Final = ("case_code", "name", "trigger", "due_at", "data", "generation")
_RESERVED: Final = frozenset({"trigger"})  # a keyword in both dialects: quoted, as SQLAlchemy quotes it
_PLACEHOLDER: Final = re.compile(r"(?<![:\w]):(\w+)")  # ``:name``, not a ``::type`` cast


def _names(columns: tuple[str, ...]) -> str:
    return ", ".join(f'"{column}"' if column in _RESERVED else column for column in columns)


def _values(columns: tuple[str, ...]) -> str:
    return ", ".join(f":{column}" for column in columns)


def _assignments(columns: tuple[str, ...]) -> str:
    return ", ".join(f"{_names((column,))} = :{column}" for column in columns)


def _pyformat(statement: str) -> str:
    return _PLACEHOLDER.sub(r"%(\1)s", statement)


@dataclass(frozen=True, slots=True)
class Queries:
    """The named statements, with ``:name`` placeholders until :meth:`rendered` for a driver."""

    load_case: str = f'SELECT {_names(CASE_COLUMNS)} FROM "case" WHERE code = :code'
    find_case: str = 'SELECT code FROM "case" WHERE code = :code'
    insert_case: str = (
        f'INSERT INTO "case" ({_names(CASE_COLUMNS)}) VALUES ({_values(CASE_COLUMNS)})'
        " ON CONFLICT DO NOTHING RETURNING code"
    )
    update_case: str = (
        f'UPDATE "case" SET {_assignments(CASE_COLUMNS[1:])}'
        " WHERE code = :code AND version = :expected_version RETURNING code"
    )
    append_entry: str = (
        f"INSERT INTO audit_entry ({_names(_ENTRY_COLUMNS)}) VALUES ({_values(_ENTRY_COLUMNS)})"
        " ON CONFLICT (case_code, sequence) DO NOTHING RETURNING position"
    )
    consume_timer: str = (
        "DELETE FROM timer WHERE case_code = :case_code AND name = :name AND generation = :generation"
        " RETURNING name"
    )
    cancel_timer: str = "DELETE FROM timer WHERE case_code = :case_code AND name = :name"
    arm_timer: str = (
        f"INSERT INTO timer ({_names(_TIMER_COLUMNS)}, status, claimed_until)"
        f" VALUES ({_values(_TIMER_COLUMNS)}, 'armed', NULL)"
        ' ON CONFLICT (case_code, name) DO UPDATE SET "trigger" = excluded."trigger", due_at = excluded.due_at,'
        " data = excluded.data, status = 'armed', generation = excluded.generation, claimed_until = NULL"
    )
    enqueue_effect: str = (
        "INSERT INTO outbox (case_code, position, kind, payload, status, attempts, next_attempt_at, created_at,"
        " last_error, claimed_until) VALUES (:case_code, :position, :kind, :payload, 'pending', 0, :at, :at,"
        " NULL, NULL)"
    )
    next_sequence: str = (
        "INSERT INTO sequence_counter (scope, value) VALUES (:scope, 1)"
        " ON CONFLICT (scope) DO UPDATE SET value = sequence_counter.value + 1 RETURNING value"
    )

    def rendered(self, dialect: str) -> Queries:
        """The statements in the placeholder style of ``dialect``'s driver (``sqlite`` or ``postgresql``)."""
        if dialect == "sqlite":
            return self
        if dialect == "postgresql":
            return Queries(**{each.name: _pyformat(getattr(self, each.name)) for each in fields(self)})
        raise ValueError(f"no driver placeholders known for the {dialect} dialect")
