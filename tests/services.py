"""The real services integration tests run against, and throwaway PostgreSQL databases on them.

Where the services are comes from ``MOTCUA_TEST_POSTGRES_URL`` and ``MOTCUA_TEST_REDIS_URL``
(defaults: the local servers); tests that kill Redis start their own ``redis-server``
(``MOTCUA_TEST_REDIS_SERVER``, default: the one on the PATH). A test that needs one calls
:func:`require_postgres`, :func:`require_redis` or :func:`require_redis_server`: when the service
does not answer the test is skipped, unless ``CI`` is ``true``, where a missing service is a
failure, never a silent skip.

Each PostgreSQL test gets its own database (:func:`postgres_database`), cloned from a template
the caller migrated once, and dropped afterwards. Fresh databases use the ICU ``vi-VN``
collation when the server has it, so that nothing passes only because the locale happens to be
``C``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final, NoReturn

import psycopg
import pytest
import redis
from psycopg import sql
from sqlalchemy.engine import URL, make_url

__all__ = [
    "postgres_database",
    "postgres_url",
    "redis_url",
    "require_postgres",
    "require_redis",
    "require_redis_server",
]

DEFAULT_POSTGRES_URL: Final = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL: Final = "redis://127.0.0.1:6379/0"
PROBE_TIMEOUT_S: Final = 3
_VIETNAMESE_DATABASE: Final = sql.SQL("TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'vi-VN'")
_PLAIN_DATABASE: Final = sql.SQL("TEMPLATE template0 ENCODING 'UTF8'")


def postgres_url(database: str = "test") -> str:
    """The URL of ``database`` on the test PostgreSQL server (``postgresql://…``, any driver)."""
    return _postgres(database).render_as_string(hide_password=False)


def redis_url() -> str:
    return os.environ.get("MOTCUA_TEST_REDIS_URL", DEFAULT_REDIS_URL)


def require_postgres() -> str:
    """The URL of the test database, or skip (fail under ``CI=true``) if PostgreSQL is not answering."""
    url = postgres_url()
    try:
        with psycopg.connect(_libpq(url), connect_timeout=PROBE_TIMEOUT_S) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as error:
        _unavailable("PostgreSQL", _address(_postgres(), 5432), error)
    return url


def require_redis() -> str:
    """The Redis URL, or skip (fail under ``CI=true``) if Redis is not answering."""
    url = redis_url()
    client = redis.Redis.from_url(url, socket_connect_timeout=PROBE_TIMEOUT_S, socket_timeout=PROBE_TIMEOUT_S)
    try:
        client.ping()
    except redis.RedisError as error:
        _unavailable("Redis", _address(make_url(url), 6379), error)
    finally:
        client.close()
    return url


def require_redis_server() -> str:
    """The path of a ``redis-server`` binary (``MOTCUA_TEST_REDIS_SERVER``, else the PATH's), for the tests
    that run a private Redis to kill and restart it; skip (fail under ``CI=true``) when there is none."""
    binary = os.environ.get("MOTCUA_TEST_REDIS_SERVER") or shutil.which("redis-server")
    if binary is None or not os.access(binary, os.X_OK):
        _unavailable("redis-server", "this machine", FileNotFoundError("no redis-server binary to start"))
    return binary


@contextmanager
def postgres_database(template: str | None = None) -> Iterator[str]:
    """A new, uniquely named database (a copy of ``template`` if given); yields its name, then drops it."""
    name = f"motcua_test_{uuid.uuid4().hex[:16]}"
    _create_database(name, template)
    try:
        yield name
    finally:
        _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _create_database(name: str, template: str | None) -> None:
    create = sql.SQL("CREATE DATABASE {} ").format(sql.Identifier(name))
    if template is not None:
        _admin(create + sql.SQL("TEMPLATE {}").format(sql.Identifier(template)))
        return
    try:
        _admin(create + _VIETNAMESE_DATABASE)
    except psycopg.DatabaseError:  # a server older than 15, or built without ICU
        _admin(create + _PLAIN_DATABASE)


def _admin(statement: sql.Composed) -> None:
    """Run a statement that cannot run in a transaction (CREATE/DROP DATABASE) on the server."""
    with psycopg.connect(_libpq(postgres_url("postgres")), autocommit=True) as connection:
        connection.execute(statement)


def _postgres(database: str | None = None) -> URL:
    url = make_url(os.environ.get("MOTCUA_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    return url if database is None else url.set(database=database)


def _libpq(url: str) -> str:
    """The URL as libpq reads it (without SQLAlchemy's ``+driver`` suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _address(url: URL, default_port: int) -> str:
    return f"{url.host or 'localhost'}:{url.port or default_port}"


def _unavailable(service: str, address: str, error: Exception) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{service} is not answering on {address} and CI=true, where it must run: {error}")
    pytest.skip(f"{service} is not answering on {address} — integration test skipped (CI=true makes this a failure)")
