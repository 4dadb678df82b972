"""The Alembic environment of motcua's SQL schema.

:func:`motcua.adapters.sql.migrate.upgrade` hands over an open connection, already inside the
transaction (and, on PostgreSQL, the advisory lock) the upgrade runs in; nothing here reads an
``alembic.ini`` or configures logging. The ``alembic`` command line works too, given
``sqlalchemy.url``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

import motcua.adapters.sql.http_tables  # registers the HTTP API's rows in the metadata
import motcua.adapters.sql.pin_tables  # registers the definitions' pins in the metadata
import motcua.adapters.sql.portal_tables  # registers the DVCQG sync status rows in the metadata
import motcua.adapters.sql.report_tables  # noqa: F401 - registers the reporting projection's rows in the metadata
from motcua.adapters.sql.engine import WRITE, create_engine, dialect_url
from motcua.adapters.sql.tables import metadata


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection, target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    )
    with context.begin_transaction():
        context.run_migrations()


def _migrate_url(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.connect() as connection, connection.execution_options(**WRITE).begin():
            _migrate(connection)
    finally:
        engine.dispose()


def _script_offline(url: str) -> None:
    context.configure(url=dialect_url(url), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    connection = context.config.attributes.get("connection")
    url = context.config.get_main_option("sqlalchemy.url", "")
    if isinstance(connection, Connection):
        _migrate(connection)
    elif context.is_offline_mode():
        _script_offline(url)
    else:
        _migrate_url(url)


run()
