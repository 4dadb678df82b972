"""The databases the integration tests run on: memory, an SQLite file, and a PostgreSQL database cloned from a
migrated template (made once per module), so that a test gets an empty, migrated database of each backend."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from motcua.adapters.sql.migrate import upgrade
from tests import services

BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.integration)]


@pytest.fixture(scope="module")
def postgres_template() -> Iterator[str]:
    services.require_postgres()
    with services.postgres_database() as name:
        upgrade(services.postgres_url(name))
        yield name


@contextmanager
def database(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty, migrated database of ``backend``."""
    if backend == "memory":
        yield "memory://"
    elif backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'motcua.db'}"
    else:
        services.require_postgres()
        with services.postgres_database(template=request.getfixturevalue("postgres_template")) as name:
            yield services.postgres_url(name)


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database(request.param, request, tmp_path) as found:
        yield found


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated PostgreSQL database of the test's own (the PostgreSQL-only tests)."""
    with database("postgres", request, tmp_path) as found:
        yield found
