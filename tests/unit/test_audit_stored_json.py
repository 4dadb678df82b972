"""An entry's stored JSON text that repeats a key in one object: the readers of the file disagree on its value.

``json.loads`` (what the store decodes, what the hash was checked over) keeps the *last* of a repeated key;
SQLite's ``json_extract`` returns the *first*. So a key put in front of an entry's ``data`` shows an auditor querying
the file a forged value while the hash still verifies. ``verify`` names such an entry; a text merely written
otherwise than the store writes it (spaces, escapes) stays intact. These tests tamper with an SQLite file as
anyone holding it can (PostgreSQL refuses UPDATE on the log: migration 0004).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.adapters.sql.codec import SqliteCodec
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.audit import ChainBreak, check_chain, verify_chains
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.engine.model import Case
from tests.conftest import OFFICER, SPECIALIST, START

FORGED = "Kẻ Giả Mạo"


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[Motcua, Path, Case]]:
    path = tmp_path / "stored-json.db"
    app = open_motcua(f"sqlite:///{path}", clock=ManualClock(START), observers=[])
    case = app.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), OFFICER)
    case = app.service.fire(case.code, "assign", OFFICER, {"assignee": SPECIALIST.name})
    yield app, path, case
    app.close()


def breaks(app: Motcua) -> list[ChainBreak]:
    return list(verify_chains(app.store.cases(), app.store.entries()))


def stored(path: Path, code: str, column: str) -> tuple[int, str]:
    """The position and the text of ``column`` of the case's entry that holds the assignee."""
    with sqlite3.connect(path) as connection:
        [(position, text)] = connection.execute(
            f"SELECT position, {column} FROM audit_entry WHERE case_code = ? AND data LIKE '%assignee%'", (code,))
    return position, text


def rewrite(path: Path, position: int, column: str, text: str) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute(f"UPDATE audit_entry SET {column} = ? WHERE position = ?", (text, position))


def test_a_key_put_in_front_of_an_entrys_data_is_named_though_its_hash_still_matches(
    database: tuple[Motcua, Path, Case],
) -> None:
    app, path, case = database
    assert breaks(app) == []
    position, text = stored(path, case.code, "data")
    rewrite(path, position, "data", f'{{"assignee": "{FORGED}", {text.lstrip()[1:]}')
    with sqlite3.connect(path) as connection:  # what an auditor querying the file sees
        [(seen,)] = connection.execute("SELECT json_extract(data, '$.assignee') FROM audit_entry WHERE position = ?",
                                       (position,))
    assert seen == FORGED

    [found] = breaks(app)
    assert (found.case_code, found.sequence) == (case.code, 3)
    assert found.problem.startswith("stored JSON text of data repeats the key 'assignee' in one object")
    [entry] = [e for e in app.store.history(case.code) if e.position == position]
    assert entry.data["assignee"] == SPECIALIST.name  # the value the hash covers, as json.loads reads it
    assert check_chain(case, list(app.store.history(case.code))) == found  # the dossier's own check too


def test_a_key_repeated_deep_inside_an_object_or_spelled_with_an_escape_is_named(
    database: tuple[Motcua, Path, Case],
) -> None:
    app, path, case = database
    position, text = stored(path, case.code, "state_after")
    rewrite(path, position, "state_after", f'{{"lif\\u0065cycle": "returned", {text.lstrip()[1:]}')
    [found] = breaks(app)
    assert found.sequence == 3 and "state_after repeats the key 'lifecycle'" in found.problem

    rewrite(path, position, "state_after", text)
    assert breaks(app) == []
    with sqlite3.connect(path) as connection:  # the receive entry's changes: a list of objects, one per appointment
        [(position, text)] = connection.execute("SELECT position, changes FROM audit_entry WHERE case_code = ? "
                                                "AND sequence = 2", (case.code,))
    assert '"appointment_history":[{"at":' in text
    rewrite(path, position, "changes", text.replace('[{"at":', '[{"kind":"forged","at":'))
    [found] = breaks(app)
    assert found.sequence == 2 and "changes repeats the key 'kind'" in found.problem


def test_a_text_written_otherwise_but_with_every_key_once_is_not_a_break(database: tuple[Motcua, Path, Case]) -> None:
    app, path, case = database
    position, text = stored(path, case.code, "data")
    rewrite(path, position, "data", json.dumps(json.loads(text), indent=2))  # spaces, ASCII escapes
    assert breaks(app) == []


def test_the_sqlite_codec_gives_the_value_json_loads_reads_and_the_key_repeated() -> None:
    codec = SqliteCodec()
    assert codec.json_checked_from('{"a": 1, "b": {"c": [{"d": 1}]}}') == ({"a": 1, "b": {"c": [{"d": 1}]}}, None)
    assert codec.json_checked_from('{"a": 1, "b": 2, "a": 3}') == ({"a": 3, "b": 2}, "a")
    assert codec.json_checked_from('[{"x": {"y": 1, "y": 1}}]') == ([{"x": {"y": 1}}], "y")


def test_verify_names_the_repeated_key_from_the_command_line(database: tuple[Motcua, Path, Case]) -> None:
    _, path, case = database
    position, text = stored(path, case.code, "data")
    rewrite(path, position, "data", f'{{"assignee": "{FORGED}", {text.lstrip()[1:]}')
    ran = subprocess.run([sys.executable, "-m", "motcua.entrypoints.cli", "verify", "--db", f"sqlite:///{path}"],
                         capture_output=True, text=True, timeout=120, check=False)
    assert ran.returncode == 1
    assert f"{case.code} #3: stored JSON text of data repeats the key 'assignee'" in ran.stderr, ran.stderr
