"""What a statement is: a SQLAlchemy Core construct, compiled once per dialect into the text the driver runs.

The decision, for every statement of the SQL adapter (cases, timers and outbox; reports; API keys and
idempotency; DVCQG sync status; bulk import):

- It is written as a Core construct over the tables of :mod:`motcua.adapters.sql.tables` (and its
  siblings): composable (CTEs, upserts, ``FOR UPDATE SKIP LOCKED`` that SQLite leaves out, JSON paths),
  checked against the schema, quoted by SQLAlchemy. Never an f-string, never a value spliced into text.
- Its inputs are named placeholders, :func:`param`, never values: a construct carries no bound value.
  The constants it is written with (a JSON key, a status, a ``LIMIT``) are rendered into the text by
  SQLAlchemy's literal renderers (``literal_binds``), so the text is complete and the same on every call.
- It is compiled once per dialect when an adapter is built (:class:`Compiler`), into the driver's own
  placeholder style (``:name`` for sqlite3, ``%(name)s`` for psycopg), without bind casts: the database
  takes each parameter's type from its column. The text is a :data:`Statement`, named in one class per
  concern (``*_queries`` modules), and run on DBAPI cursors by :mod:`motcua.adapters.sql.driver`: no
  SQLAlchemy execution machinery (connection events, execution context, result wrapping) per call.
- Parameters are given as the driver takes them, and rows read back as the driver gives them: the column
  codec (:mod:`motcua.adapters.sql.codec`) and the explicit mapping (:mod:`motcua.adapters.sql.mapping`)
  convert, so a row written by one statement reads back the same through any other.

A list parameter (``code IN …``) is :func:`one_of`: ``= ANY(array)`` on PostgreSQL, ``IN (SELECT value
FROM json_each(json))`` on SQLite; the codec encodes the list for each
(:meth:`~motcua.adapters.sql.codec.Codec.values`).
"""

from __future__ import annotations

from typing import Any, Final, NewType

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

__all__ = ["Compiler", "Statement", "one_of", "param"]

Statement = NewType("Statement", str)
"""A statement's text in the placeholder style of one dialect's driver."""

_PARAMSTYLES: Final = frozenset({"named", "pyformat"})


def _internals(*attributes: tuple[str, InternalTraversal]) -> list[tuple[str, InternalTraversal]]:
    """What SQLAlchemy compares of an element when it keys a cache on it."""
    return list(attributes)


class Param(ColumnElement[Any]):
    """A named placeholder: what a statement takes at each call."""

    __visit_name__ = "motcua_param"
    inherit_cache = True
    _traverse_internals = _internals(("name", InternalTraversal.dp_string))  # the name tells placeholders apart

    def __init__(self, name: str) -> None:
        self.name = name
        self.type = sa.types.NULLTYPE


class OneOf(ColumnElement[Any]):
    """``column`` equal to one of the values of the list parameter ``name``."""

    __visit_name__ = "motcua_one_of"
    inherit_cache = True
    _traverse_internals = _internals(("column", InternalTraversal.dp_clauseelement),
                                     ("name", InternalTraversal.dp_string))

    def __init__(self, column: ColumnElement[Any], name: str) -> None:
        self.column = column
        self.name = name
        self.type = sa.types.NULLTYPE  # not a Boolean: SQLite would get "… = 1" appended in a WHERE


def param(name: str) -> Any:
    """The placeholder ``name`` (typed ``Any``: it stands for a value of whatever column it meets)."""
    return Param(name)


def one_of(column: ColumnElement[Any], name: str) -> Any:
    """``column IN (the list parameter name)``: the list is bound whole (see the module doc)."""
    return OneOf(column, name)


class Compiler:
    """Compiles constructs for one dialect: ``sql(construct)`` is its :data:`Statement`."""

    def __init__(self, dialect: Dialect) -> None:
        if dialect.paramstyle not in _PARAMSTYLES:
            raise ValueError(f"the {dialect.name} engine binds {dialect.paramstyle}: named parameters are needed")
        self.dialect = dialect

    def __call__(self, construct: sa.ClauseElement) -> Statement:
        """The text of ``construct`` for the dialect's driver, its constants rendered inline."""
        return Statement(str(construct.compile(dialect=self.dialect, compile_kwargs={"literal_binds": True})))

    def insert(self, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
        """The dialect's ``INSERT``, which takes ``ON CONFLICT`` clauses; *inline*: nothing is returned but what
        the statement's own ``RETURNING`` names (SQLAlchemy would add the generated keys)."""
        insert = postgresql.insert(table) if self.dialect.name == "postgresql" else sqlite.insert(table)
        return insert.inline()


@compiles(Param)
def _placeholder(element: Param, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.compilation_bindtemplate % {"name": element.name}


@compiles(OneOf, "postgresql")
def _any(element: OneOf, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{compiler.process(element.column, **kw)} = ANY ({_placeholder(Param(element.name), compiler)})"


@compiles(OneOf, "sqlite")
def _json_each(element: OneOf, compiler: SQLCompiler, **kw: Any) -> str:
    listed = _placeholder(Param(element.name), compiler)
    return f"{compiler.process(element.column, **kw)} IN (SELECT value FROM json_each({listed}))"
