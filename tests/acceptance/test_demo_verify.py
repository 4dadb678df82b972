"""The main job end to end: `motcua demo` (a small year) then `motcua verify` on SQLite; tampering is named."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest


def motcua(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "motcua.entrypoints.cli", *args], capture_output=True, text=True,
                          timeout=300, check=False)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "out"
    ran = motcua("demo", "--dossiers", "40", "--out", str(out))
    assert ran.returncode == 0, ran.stderr
    assert "Hồ sơ tiếp nhận" in ran.stdout and "Biểu số 06/VPCP/KSTT" in ran.stdout
    return out / "motcua.db"


FIRST = "(SELECT MIN(case_code) FROM audit_entry WHERE sequence = 3)"  # the first dossier with three entries


def first_code(path: Path) -> str:
    with sqlite3.connect(path) as connection:
        return str(connection.execute(f"SELECT {FIRST}").fetchone()[0])


@pytest.fixture
def copy(demo_db: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy.db"
    shutil.copy(demo_db, target)
    return target


def verify(path: Path) -> subprocess.CompletedProcess[str]:
    return motcua("verify", "--db", f"sqlite:///{path}")


def sql(path: Path, statement: str) -> None:
    with sqlite3.connect(path) as connection:
        changed = connection.execute(statement).rowcount
    assert changed == 1


def test_demo_then_verify_passes(demo_db: Path) -> None:
    ran = verify(demo_db)
    assert ran.returncode == 0, ran.stderr
    assert "intact" in ran.stdout


def test_history_prints_a_timeline(demo_db: Path) -> None:
    with sqlite3.connect(demo_db) as connection:
        (code,) = connection.execute("SELECT code FROM \"case\" ORDER BY code LIMIT 1").fetchone()
    ran = motcua("history", code, "--db", f"sqlite:///{demo_db}")
    assert ran.returncode == 0, ran.stderr
    assert "Tiếp nhận" in ran.stdout


def test_altered_row_is_named(copy: Path) -> None:
    code = first_code(copy)
    sql(copy, f"UPDATE audit_entry SET actor = 'Kẻ giả mạo' WHERE sequence = 3 AND case_code = {FIRST}")
    ran = verify(copy)
    assert ran.returncode == 1
    assert f"{code} #3" in ran.stderr and "altered" in ran.stderr


def test_deleted_row_is_named(copy: Path) -> None:
    code = first_code(copy)
    sql(copy, f"DELETE FROM audit_entry WHERE sequence = 2 AND case_code = '{code}'")
    ran = verify(copy)
    assert ran.returncode == 1
    assert f"{code} #2" in ran.stderr


def test_inserted_row_is_named(copy: Path) -> None:
    code = first_code(copy)
    sql(copy, "INSERT INTO audit_entry (case_code, sequence, occurred_at, actor, role, \"trigger\", state_before, "
              "state_after, data, changes, reason, definition_key, definition_version, rule_set, prev_hash, hash, "
              "schema_version) SELECT case_code, 99, occurred_at, actor, role, \"trigger\", state_before, "
              "state_after, data, changes, reason, definition_key, definition_version, rule_set, prev_hash, hash, "
              f"schema_version FROM audit_entry WHERE sequence = 1 AND case_code = '{code}'")
    ran = verify(copy)
    assert ran.returncode == 1
    assert f"{code} #" in ran.stderr


def test_rewritten_case_state_is_named(copy: Path) -> None:
    sql(copy, "UPDATE \"case\" SET state = '{\"lifecycle\": \"refused\", \"deadline\": \"overdue\", "
              "\"records\": \"result_digitized\"}' WHERE code = (SELECT MIN(code) FROM \"case\" WHERE version > 3)")
    ran = verify(copy)
    assert ran.returncode == 1
    assert "state differs" in ran.stderr


def test_the_story_of_the_auditing_walk_through_writes_six_dossiers_that_verify(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'story.db'}"
    told = motcua("story", "--db", url)
    assert told.returncode == 0, told.stderr
    assert "6 hồ sơ đã xử lý" in told.stdout and told.stdout.count("Hồ sơ thủ tục hành chính") == 6
    with sqlite3.connect(tmp_path / "story.db") as connection:
        assert connection.execute('SELECT COUNT(*) FROM "case"').fetchone()[0] == 6
    assert motcua("verify", "--db", url).returncode == 0
