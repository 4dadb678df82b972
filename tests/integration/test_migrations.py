"""The schema is the sum of the migrations: Alembic's ``upgrade head`` builds exactly the tables.

Run on SQLite and on PostgreSQL, from an empty database each time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from adapters.sql.engine import create_engine
from adapters.sql.migrate import alembic_config, upgrade
from adapters.sql.tables import metadata
from tests.services import postgres_database, postgres_url, require_postgres


@pytest.fixture(params=[
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.integration),
])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database, schema not created."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    require_postgres()
    with postgres_database() as name:
        yield postgres_url(name)


@pytest.fixture
def connection(empty_url: str) -> Iterator[sa.Connection]:
    engine = create_engine(empty_url)
    try:
        with engine.connect() as opened:
            yield opened
    finally:
        engine.dispose()


def _differences(connection: sa.Connection) -> list[object]:
    differences: list[object] = compare_metadata(MigrationContext.configure(connection), metadata)
    connection.rollback()
    return differences


def _heads(connection: sa.Connection) -> tuple[str, ...]:
    heads = MigrationContext.configure(connection).get_current_heads()
    connection.rollback()
    return heads


def test_the_migrations_build_exactly_the_tables(empty_url: str, connection: sa.Connection) -> None:
    upgrade(empty_url)

    assert _differences(connection) == []


def test_upgrade_is_idempotent_and_ends_at_head(empty_url: str, connection: sa.Connection) -> None:
    upgrade(empty_url)
    upgrade(empty_url)

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head == "0001"
    assert _heads(connection) == (head,)


def test_processes_starting_together_migrate_once(empty_url: str, connection: sa.Connection) -> None:
    starters = 6
    start = threading.Barrier(starters)

    def start_up() -> None:
        start.wait()
        upgrade(empty_url)

    with ThreadPoolExecutor(starters) as pool:
        for started in [pool.submit(start_up) for _ in range(starters)]:
            started.result(timeout=60)

    assert _heads(connection) == ("0001",)
    assert _differences(connection) == []


def test_downgrade_to_base_removes_every_table(empty_url: str, connection: sa.Connection) -> None:
    upgrade(empty_url)

    with connection.begin():
        command.downgrade(alembic_config(connection), "base")

    assert set(sa.inspect(connection).get_table_names()) == {"alembic_version"}


@pytest.mark.integration
def test_case_codes_sort_byte_wise_on_postgresql() -> None:
    """``COLLATE "C"``: ORDER BY code is Python's order whatever the database locale (compare_metadata
    does not look at collations, so this is checked here)."""
    require_postgres()
    with postgres_database() as name:
        upgrade(postgres_url(name))
        engine = create_engine(postgres_url(name))
        query = sa.text(
            "SELECT table_name, collation_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND column_name IN ('code', 'case_code') ORDER BY table_name"
        )
        try:
            with engine.connect() as connection:
                collations = [tuple(row) for row in connection.execute(query)]
        finally:
            engine.dispose()

    assert collations == [("audit_entry", "C"), ("case", "C"), ("outbox", "C"), ("timer", "C")]
