"""Tamper evidence beyond the hash chain.

On PostgreSQL the audit table refuses UPDATE, DELETE and TRUNCATE (the trigger of migration 0004), and the
roles of docs/how-to/set-up-postgresql-roles.md keep the application from even trying. Whoever gets past that —
a superuser disabling the trigger, or anyone with the SQLite file — is still caught: ``motcua verify``
names the dossier and the sequence of every row deleted, altered or inserted.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from alembic import command
from psycopg import errors, sql

from motcua.adapters.bootstrap import open_motcua
from motcua.adapters.sql.engine import create_engine
from motcua.adapters.sql.migrate import alembic_config, upgrade
from motcua.simulation.story import DEMO_START, run_story
from motcua.workflow.engine.clock import ManualClock
from tests.services import postgres_database, postgres_url, require_postgres

DOCS = Path(__file__).resolve().parents[2] / "docs" / "how-to" / "set-up-postgresql-roles.md"
FIRST = "(SELECT MIN(case_code) FROM audit_entry)"
TAMPERING = {  # what is done to the first dossier's chain, and the sequence verify must name
    "altered": (f"UPDATE audit_entry SET actor = 'Kẻ giả mạo' WHERE sequence = 3 AND case_code = {FIRST}", 3),
    "deleted": (f"DELETE FROM audit_entry WHERE sequence = 3 AND case_code = {FIRST}", 3),
    "inserted": (
        'INSERT INTO audit_entry (case_code, sequence, occurred_at, actor, role, "trigger", state_before, state_after, '
        "data, changes, reason, definition_key, definition_version, rule_set, prev_hash, hash, schema_version) "
        'SELECT case_code, 99, occurred_at, actor, role, "trigger", state_before, state_after, data, changes, reason, '
        f"definition_key, definition_version, rule_set, prev_hash, hash, schema_version FROM audit_entry "
        f"WHERE sequence = 1 AND case_code = {FIRST}",
        11,  # the first dossier has 10 entries: a 99th is found where the 11th would be
    ),
}


def populate(url: str) -> str:
    """The demo's six dossiers, written through the engine; returns the first dossier's code."""
    clock = ManualClock(DEMO_START)
    app = open_motcua(url, clock=clock, observers=[])
    try:
        cases = run_story(app, clock)
    finally:
        app.close()
    return min(case.code for case in cases)


def verify(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "motcua.entrypoints.cli", "verify", "--db", url], capture_output=True,
                          text=True, timeout=300, check=False)


def libpq(url: str, user: str | None = None) -> str:
    """The URL for psycopg (no ``+driver``), optionally as another role."""
    _, _, rest = url.partition("://")
    host = rest.split("@", 1)[-1]
    return f"postgresql://{user}@{host}" if user else f"postgresql://{rest}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    require_postgres()
    with postgres_database() as name:
        yield postgres_url(name)


@pytest.fixture
def pg_demo(pg_url: str) -> tuple[str, str]:
    return pg_url, populate(pg_url)


def run_sql(url: str, statement: str) -> int:
    with psycopg.connect(libpq(url)) as connection:
        return connection.execute(statement).rowcount


def entry_count(url: str) -> int:
    with psycopg.connect(libpq(url)) as connection:
        row = connection.execute("SELECT count(*) FROM audit_entry").fetchone()
    assert row is not None
    return int(row[0])


# -- the trigger -----------------------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize("statement", [
    f"UPDATE audit_entry SET actor = 'Kẻ giả mạo' WHERE sequence = 3 AND case_code = {FIRST}",
    f"DELETE FROM audit_entry WHERE sequence = 3 AND case_code = {FIRST}",
    "TRUNCATE audit_entry CASCADE",
], ids=["update", "delete", "truncate"])
def test_postgresql_refuses_to_change_or_remove_an_entry(pg_demo: tuple[str, str], statement: str) -> None:
    url, _ = pg_demo
    before = entry_count(url)
    with pytest.raises(errors.InsufficientPrivilege, match="audit_entry is append-only"):
        run_sql(url, statement)  # as a superuser, even
    assert entry_count(url) == before
    assert verify(url).returncode == 0


@pytest.mark.integration
def test_the_engine_still_appends_behind_the_guard(pg_demo: tuple[str, str]) -> None:
    url, _ = pg_demo
    before = entry_count(url)
    populate(url)  # six more dossiers, numbered on: inserts only
    assert entry_count(url) == 2 * before
    assert verify(url).returncode == 0


def migrate_to(url: str, revision: str, *, down: bool = False) -> None:
    engine = create_engine(url)
    try:
        with engine.connect() as connection, connection.begin():
            (command.downgrade if down else command.upgrade)(alembic_config(connection), revision)
    finally:
        engine.dispose()


@pytest.mark.integration
def test_downgrading_0004_lifts_the_guard_and_upgrading_restores_it(pg_url: str) -> None:
    """On a log written at 0003 (entries without position seals: a sealed log refuses the downgrade past 0012)."""
    url = pg_url
    migrate_to(url, "0003")
    run_sql(url, """INSERT INTO "case" VALUES ('H-1', 'k', 1, 'r', '{}', '{}', 1, 'h', now(), now())""")
    run_sql(url, """INSERT INTO audit_entry (case_code, sequence, occurred_at, actor, role, "trigger", state_before,
                      state_after, data, changes, definition_key, definition_version, rule_set, prev_hash, hash,
                      schema_version)
                    VALUES ('H-1', 1, now(), 'a', 'officer', 'open', '{}', '{}', '{}', '{}', 'k', 1, 'r', 'p', 'h',
                            1)""")
    upgrade(url)
    with pytest.raises(errors.InsufficientPrivilege):
        run_sql(url, "UPDATE audit_entry SET actor = actor WHERE sequence = 1")
    migrate_to(url, "0003", down=True)
    assert run_sql(url, "UPDATE audit_entry SET actor = actor WHERE sequence = 1") == 1
    upgrade(url)
    with pytest.raises(errors.InsufficientPrivilege):
        run_sql(url, "UPDATE audit_entry SET actor = actor WHERE sequence = 1")


# -- tampering past the guard is detected ---------------------------------------------------------


def tamper_postgres(url: str, statement: str) -> None:
    """What a superuser can do: switch the trigger off, tamper, switch it on again."""
    with psycopg.connect(libpq(url)) as connection:
        connection.execute("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only")
        assert connection.execute(statement).rowcount == 1
        connection.execute("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_append_only")


def tamper_sqlite(url: str, statement: str) -> None:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        assert connection.execute(statement).rowcount == 1


@pytest.fixture(params=[
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.integration),
])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Callable[[str, str], None]]]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'guard.db'}", tamper_sqlite
        return
    require_postgres()
    with postgres_database() as name:
        yield postgres_url(name), tamper_postgres


@pytest.mark.parametrize("kind", sorted(TAMPERING))
def test_tampering_is_named_by_dossier_and_sequence(
    backend: tuple[str, Callable[[str, str], None]], kind: str
) -> None:
    url, tamper = backend
    code = populate(url)
    statement, sequence = TAMPERING[kind]
    tamper(url, statement)

    ran = verify(url)
    assert ran.returncode == 1
    assert f"{code} #{sequence}" in ran.stderr, ran.stderr


# -- the documented roles -------------------------------------------------------------------------


def documented_sql(step: int) -> str:
    """The SQL block of docs/how-to/set-up-postgresql-roles.md that starts with ``-- motcua roles, step N``."""
    blocks = re.findall(r"```sql\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.DOTALL)
    [block] = [str(b) for b in blocks if b.startswith(f"-- motcua roles, step {step}")]
    return block


def documented_step(step: int, names: dict[str, str]) -> str:
    """A documented block with its role (and database) names replaced."""
    block = documented_sql(step)
    for old, new in names.items():
        block = block.replace(old, new)
    return block


@contextmanager
def documented_roles() -> Iterator[tuple[str, str, str, str]]:
    """A database set up exactly as the documentation says, with unique role names; yields
    (superuser URL, owner, app, reader), then drops the database and the roles."""
    suffix = uuid.uuid4().hex[:8]
    owner, app, reader = f"motcua_owner_{suffix}", f"motcua_app_{suffix}", f"motcua_reader_{suffix}"
    try:
        with postgres_database() as name:
            url = postgres_url(name)
            names = {"motcua_owner": owner, "motcua_app": app, "motcua_reader": reader,
                     "DATABASE motcua": f'DATABASE "{name}"'}
            with psycopg.connect(libpq(url), autocommit=True) as connection:
                connection.execute(documented_step(1, names))
            yield url, owner, app, reader
    finally:
        with psycopg.connect(libpq(postgres_url("postgres")), autocommit=True) as connection:
            for role in (reader, app, owner):
                connection.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def as_role(url: str, role: str) -> str:
    prefix, _, rest = url.partition("://")
    return f"{prefix}://{role}@{rest.split('@', 1)[-1]}"


@pytest.mark.integration
def test_the_documented_roles_let_the_application_append_but_never_rewrite() -> None:
    require_postgres()
    with documented_roles() as (url, owner, app, reader):
        upgrade(as_role(url, owner))  # migrations run as the owner
        step2 = documented_step(2, {"motcua_app": app, "motcua_reader": reader})
        with psycopg.connect(libpq(url, owner), autocommit=True) as connection:
            connection.execute(step2)

        code = populate(as_role(url, app))  # the whole demo, as the application
        assert verify(as_role(url, app)).returncode == 0
        reporting = open_motcua(as_role(url, app), observers=[])
        try:
            assert reporting.reports.catch_up() > 0  # the horizon's lock is taken by the owner's function
        finally:
            reporting.close()

        with psycopg.connect(libpq(url, app), autocommit=True) as connection:
            touched = connection.execute('UPDATE "case" SET updated_at = updated_at WHERE code = %s', (code,))
            assert touched.rowcount == 1
            for statement in ("UPDATE audit_entry SET actor = 'x'", "DELETE FROM audit_entry",
                              "TRUNCATE audit_entry CASCADE", "UPDATE alembic_version SET version_num = '0001'"):
                with pytest.raises(errors.InsufficientPrivilege, match="permission denied"):
                    connection.execute(statement)
