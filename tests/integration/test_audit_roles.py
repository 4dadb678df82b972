"""The PostgreSQL roles of docs/how-to/set-up-postgresql-roles.md, run as written: who may write audit entries
and who may only read them, and what the writer's role still allows (docs/auditing.md).

- the reader (auditors, reporting tools) runs the auditor's commands, and can write nothing: no INSERT of an
  entry, no UPDATE of a case, no sight of the API keys;
- the writer (the application) appends entries and can neither UPDATE nor DELETE one;
- the writer's role is enough to append a well-formed entry and move the case row along — ``verify`` cannot
  tell it from a real one — but an anchor published before still shows the head before it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from psycopg import errors

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.adapters.sql.engine import create_engine
from motcua.adapters.sql.migrate import alembic_config, upgrade
from motcua.workflow.auditing.anchor import Anchor, check
from motcua.workflow.errors import StorageFailure
from tests.integration.test_audit_guard import as_role, documented_roles, documented_step, libpq, populate
from tests.services import postgres_database, postgres_url, require_postgres
from tests.unit.test_anchor_schedule import insider_append

pytestmark = pytest.mark.integration


def motcua_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "motcua.entrypoints.cli", *args], capture_output=True, text=True,
                          timeout=300, check=False)


@pytest.fixture(scope="module")
def roles() -> Iterator[tuple[str, str, str, str]]:
    """The documented roles on a fresh database, migrated as the owner, the demo written as the application;
    yields (superuser URL, app URL, reader URL, the first dossier's code)."""
    require_postgres()
    with documented_roles() as (url, owner, app, reader):
        upgrade(as_role(url, owner))
        with psycopg.connect(libpq(url, owner), autocommit=True) as connection:
            connection.execute(documented_step(2, {"motcua_app": app, "motcua_reader": reader}))
        code = populate(as_role(url, app))
        yield url, as_role(url, app), as_role(url, reader), code


def as_user(url: str, statement: str, *params: object) -> None:
    with psycopg.connect(libpq(url), autocommit=True) as connection:
        connection.execute(statement, params or None)


INSERT_COPY = (
    'INSERT INTO audit_entry (case_code, sequence, occurred_at, actor, role, "trigger", state_before, state_after, '
    "data, changes, reason, definition_key, definition_version, rule_set, prev_hash, hash, schema_version) "
    'SELECT case_code, 99, occurred_at, actor, role, "trigger", state_before, state_after, data, changes, reason, '
    "definition_key, definition_version, rule_set, prev_hash, hash, schema_version FROM audit_entry "
    "WHERE sequence = 1 AND case_code = %s"
)


def test_the_reader_runs_the_auditors_commands(roles: tuple[str, str, str, str], tmp_path: Path) -> None:
    _, _, reader, code = roles
    assert motcua_cli("verify", "--db", reader).returncode == 0
    assert motcua_cli("replay", "--db", reader).returncode == 0
    assert motcua_cli("history", code, "--db", reader).returncode == 0
    assert motcua_cli("control-sheet", code, "--db", reader).returncode == 0
    assert motcua_cli("subject", "export", "001099012345", "--db", reader).returncode == 0
    anchor = tmp_path / "anchor.json"
    ran = motcua_cli("anchor", "--out", str(anchor), "--db", reader)
    assert ran.returncode == 0, ran.stderr
    ran = motcua_cli("verify", "--anchor", str(anchor), "--db", reader)
    assert ran.returncode == 0 and "the log matches it" in ran.stdout, ran.stderr


@pytest.mark.parametrize("statement", [
    INSERT_COPY,
    'UPDATE "case" SET updated_at = updated_at WHERE code = %s',
    "UPDATE audit_entry SET actor = 'x' WHERE case_code = %s",
    "DELETE FROM audit_entry WHERE case_code = %s",
    "SELECT * FROM api_key WHERE key_id = %s",
    "SELECT * FROM idempotency_record WHERE key_id = %s",
], ids=["insert-entry", "update-case", "update-entry", "delete-entry", "read-keys", "read-answers"])
def test_the_reader_can_write_nothing(roles: tuple[str, str, str, str], statement: str) -> None:
    _, _, reader, code = roles
    with pytest.raises(errors.InsufficientPrivilege, match="permission denied"):
        as_user(reader, statement, code)


@pytest.mark.parametrize("statement", [
    "UPDATE audit_entry SET actor = 'x' WHERE case_code = %s",
    "UPDATE audit_entry SET position = position + 1000 WHERE case_code = %s",
    "DELETE FROM audit_entry WHERE case_code = %s",
], ids=["update", "move", "delete"])
def test_the_writer_cannot_update_or_delete_an_entry(roles: tuple[str, str, str, str], statement: str) -> None:
    _, app, _, code = roles
    with pytest.raises(errors.InsufficientPrivilege, match="permission denied"):
        as_user(app, statement, code)


def test_the_writers_role_appends_what_verify_cannot_tell_but_an_anchor_taken_before_pins_it(
    roles: tuple[str, str, str, str], tmp_path: Path,
) -> None:
    url, app, reader, _ = roles
    anchor = tmp_path / "before.json"
    assert motcua_cli("anchor", "--out", str(anchor), "--db", reader).returncode == 0
    insider: Motcua = open_motcua(app, observers=[])
    try:
        victim = next(insider.store.cases())
        forged = insider_append(insider, victim.code)
    finally:
        insider.close()

    assert motcua_cli("verify", "--db", reader).returncode == 0  # the limit: a well-formed entry, a moved row
    assert motcua_cli("replay", "--db", reader).returncode == 0
    ran = motcua_cli("verify", "--anchor", str(anchor), "--db", reader)
    assert ran.returncode == 0 and "1 entries appended to 1 anchored chains" in ran.stdout, ran.stdout
    taken = Anchor.from_json(json.loads(anchor.read_text(encoding="utf-8")))
    [head] = [head for head in taken.heads if head.code == victim.code]
    assert (head.sequence, head.hash) == (victim.version, victim.head_hash) == (forged.version - 1, victim.head_hash)
    reading = open_motcua(reader, observers=[])
    try:
        report = check(taken, reading.store.entries())
    finally:
        reading.close()
    assert [(f.code, f.sequence, f.broken) for f in report.findings] == [(victim.code, forged.version, False)]
    assert url  # the superuser's URL is the fixture's: nothing was done as it


def test_positions_swapped_past_the_guard_are_named_on_postgresql() -> None:
    """The seals PostgreSQL computed in the INSERT are the ones ``verify`` recomputes: a superuser who switches the
    guard off and swaps two entries' positions between chains is named, entry by entry."""
    require_postgres()
    with postgres_database() as name:
        url = postgres_url(name)
        populate(url)
        with psycopg.connect(libpq(url), autocommit=True) as connection:
            free = "position NOT IN (SELECT position FROM outbox)"  # no notice points at them: no foreign key
            rows = connection.execute(f"SELECT min(position), case_code FROM audit_entry WHERE {free} "
                                      "GROUP BY case_code ORDER BY case_code LIMIT 2").fetchall()
            [(mine, first), (theirs, second)] = rows
            connection.execute("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only")
            for old, new in ((mine, -1), (theirs, mine), (-1, theirs)):
                connection.execute("UPDATE audit_entry SET position = %s WHERE position = %s", (new, old))
            connection.execute("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_append_only")
        ran = motcua_cli("verify", "--db", url)
    assert ran.returncode == 1
    assert ran.stderr.count("position seal does not match") == 2, ran.stderr
    assert f"BROKEN {first} #" in ran.stderr and f"BROKEN {second} #" in ran.stderr


def test_the_application_on_a_schema_not_yet_migrated_is_told_to_migrate_as_the_owner() -> None:
    """A new motcua started as the application before the owner migrated the schema: its own attempt to migrate
    fails for want of privileges, and the error says so — the revision found, the one needed, who migrates —
    rather than only the table it was denied; nothing of the attempt stays."""
    require_postgres()
    with documented_roles() as (url, owner, app, reader):
        engine = create_engine(as_role(url, owner))
        try:
            with engine.connect() as connection, connection.begin():
                command.upgrade(alembic_config(connection), "0018")
        finally:
            engine.dispose()
        with psycopg.connect(libpq(url, owner), autocommit=True) as connection:
            connection.execute(documented_step(2, {"motcua_app": app, "motcua_reader": reader}))

        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        told = rf"at revision 0018, this motcua needs {head}; migrating it failed.*owner"
        for role in (app, reader):
            with pytest.raises(StorageFailure, match=told):
                open_motcua(as_role(url, role), observers=[])

        with psycopg.connect(libpq(url, owner)) as connection:
            assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [("0018",)]
