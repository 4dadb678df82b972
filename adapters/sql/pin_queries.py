"""Every statement of the definitions' pins (:mod:`motcua.adapters.sql.pins`), by name, in one place.

``pin`` inserts a pin only where none is (``ON CONFLICT DO NOTHING``): two processes opening a new database at once
both insert, one row stands, and each reads back the one that stands. ``repin`` replaces a digest only while it is
still the one the operator was shown.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from motcua.adapters.sql.pin_tables import DefinitionPinRow
from motcua.adapters.sql.statement import Compiler, param
from motcua.adapters.sql.tables import table_of

__all__ = ["PinQueries"]

PINS = table_of(DefinitionPinRow)


class PinQueries:
    """The statements of the pins, compiled for one dialect."""

    def __init__(self, dialect: Dialect) -> None:
        sql = Compiler(dialect)
        self.pinned = sql(sa.select(PINS.c.kind, PINS.c.key, PINS.c.version, PINS.c.digest))
        named = sa.and_(PINS.c.kind == param("kind"), PINS.c.key == param("key"), PINS.c.version == param("version"))
        self.pin = sql(sql.insert(PINS).values(kind=param("kind"), key=param("key"), version=param("version"),
                                               digest=param("digest"), pinned_at=param("at"))
                       .on_conflict_do_nothing())
        self.repin = sql(sa.update(PINS).where(named, PINS.c.digest == param("old"))
                         .values(digest=param("new"), replaced=param("old"), pinned_at=param("at"))
                         .returning(PINS.c.key))
