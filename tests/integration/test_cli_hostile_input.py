"""The command line under a careless or hostile operator: every refusal is a one-line error and exit 2, never a
traceback, an unbounded read or a half-written result (found by an adversarial pass; each failed before its fix)."""

from __future__ import annotations

import os
import resource
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from motcua.definitions.plans import PLANS_DIR

MOTCUA = [sys.executable, "-c", "from motcua.entrypoints.cli.main import main; main()"]


def run(args: list[str], cwd: Path, *, stdin: bytes = b"", timeout: float = 120,
        limit_memory: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_")}
    env["COLUMNS"] = "200"

    def limit() -> None:
        if limit_memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (limit_memory, limit_memory))

    done = subprocess.run([*MOTCUA, *args], check=False, cwd=cwd, input=stdin, capture_output=True, timeout=timeout,
                          env=env, preexec_fn=limit)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode("utf-8", "replace"),
                                       done.stderr.decode("utf-8", "replace"))


def assert_usage_error(done: subprocess.CompletedProcess[str]) -> None:
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output[-1500:]
    assert done.returncode == 2, (done.returncode, output[-1500:])
    assert "error:" in done.stderr


@pytest.fixture(scope="module")
def story_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("story") / "story.db"
    done = run(["story", "-q", "--db", f"sqlite:///{path}"], path.parent)
    assert done.returncode == 0, done.stderr
    return f"sqlite:///{path}"


CODE = "000.00.00.H23-240304-0001"  # a dossier of `motcua story`


# 1. a malformed PostgreSQL URL --------------------------------------------------------------------------------------
def test_malformed_database_url_is_a_usage_error(tmp_path: Path) -> None:
    assert_usage_error(run(["verify", "--db", "postgresql://postgres@[::1"], tmp_path))


# 2. a database at a schema revision this motcua does not know (newer, or another project's alembic) -----------------
def test_empty_database_url_is_a_usage_error_and_no_default_database_is_made(tmp_path: Path) -> None:
    assert_usage_error(run(["verify", "--db", ""], tmp_path))  # `--db "$UNSET"` had opened ./motcua.db
    assert not (tmp_path / "motcua.db").exists()


def test_database_at_unknown_revision_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        connection.execute("INSERT INTO alembic_version VALUES ('9999_from_a_newer_motcua')")
    assert_usage_error(run(["verify", "--db", f"sqlite:///{path}"], tmp_path))


# 3. verify --anchor reads the whole file: /dev/zero eats memory until MemoryError ------------------------------------
def test_verify_anchor_read_is_bounded(tmp_path: Path, story_db: str) -> None:
    done = run(["verify", "--db", story_db, "--anchor", "/dev/zero"], tmp_path, timeout=90,
               limit_memory=1_500_000_000)
    assert_usage_error(done)


# 4. --out to a path that cannot be written --------------------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ["anchor", "--out", "/nonexistent-dir/a.json"],
    ["history", CODE, "--format", "json", "--out", "/nonexistent-dir/h.json"],
    ["history", CODE, "--out", "/nonexistent-dir/h.txt"],
    ["control-sheet", CODE, "--out", "/nonexistent-dir/c.xlsx"],
    ["subject", "export", "001", "--out", "/nonexistent-dir/s.json"],
    ["report", "bieu06", "--period", "2024-Q1", "--format", "csv", "--out", "/nonexistent-dir/b.csv"],
    ["report", "book", "--from", "2024-01-01", "--to", "2024-12-31", "--format", "xlsx", "--out", "/tmp"],
], ids=["anchor", "history-json", "history-table", "control-sheet", "subject", "bieu06", "book-into-dir"])
def test_unwritable_out_is_a_usage_error(tmp_path: Path, story_db: str, args: list[str]) -> None:
    assert_usage_error(run([*args, "--db", story_db], tmp_path))


# 5. history --at an instant at the edge of the calendar --------------------------------------------------------------
@pytest.mark.parametrize("at", ["0001-01-01T00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_history_at_extreme_instant_is_a_usage_error(tmp_path: Path, story_db: str, at: str) -> None:
    assert_usage_error(run(["history", CODE, "--at", at, "--db", story_db], tmp_path))


# 6. procedures import --since 0001-01-01 ----------------------------------------------------------------------------
def test_procedures_import_since_year_one_is_a_usage_error(tmp_path: Path) -> None:
    listing = tmp_path / "list.csv"
    listing.write_text('Mã thủ tục,Tên thủ tục,Lĩnh vực,Mức độ DVC,Thời hạn giải quyết,"Phí, lệ phí"\n'
                       "1.001193,Thủ tục đăng ký khai sinh,Hộ tịch,Toàn trình,03 ngày làm việc,Miễn phí\n",
                       encoding="utf-8")
    assert_usage_error(run(["procedures", "import", str(listing), "--since", "0001-01-01",
                            "--dir", str(tmp_path / "catalogue")], tmp_path))


# 7. plan load writes the first tasks, then refuses a later one: half-written ----------------------------------------
def test_plan_load_refused_writes_nothing(tmp_path: Path) -> None:
    plan = yaml.safe_load((PLANS_DIR / "an-thuong-2023.yaml").read_text(encoding="utf-8"))
    tasks = [task for task in plan["tasks"] if "due" in task][:3]
    # 2018: Decree 61/2018 is in force from 21/06/2018 only; the third task falls before it
    for task, due in zip(tasks, ("2018-12-31", "2018-12-30", "2018-01-15"), strict=True):
        task["due"] = due
    plan.update(key="half-2018", year=2018, tasks=tasks, targets=[])
    path = tmp_path / "half-2018.yaml"
    path.write_text(yaml.safe_dump(plan, allow_unicode=True, sort_keys=False), encoding="utf-8")
    database = tmp_path / "plan.db"
    done = run(["plan", "load", str(path), "--db", f"sqlite:///{database}"], tmp_path)
    assert done.returncode == 2, done.stderr  # refused: "no rule set is in force on 2018-01-15"
    with sqlite3.connect(database) as connection:
        written = connection.execute('SELECT code FROM "case"').fetchall()
    assert written == [], f"refused, yet written: {written}"


# 8. user create: a password that is not UTF-8 on standard input ------------------------------------------------------
def test_user_create_non_utf8_password_is_a_usage_error(tmp_path: Path) -> None:
    done = run(["user", "create", "--name", "u5", "--role", "officer", "--all-units",
                "--db", f"sqlite:///{tmp_path / 'u.db'}"], tmp_path, stdin=b"\xff\xfepassword12345\n")
    assert_usage_error(done)


# 9. apikey create: the actor (recorded in the audit log, shown by `apikey list`) is not bounded ----------------------
@pytest.mark.parametrize("actor", ["officer\x1b[2J", "a" * 10_000], ids=["escape", "10k-characters"])
def test_apikey_actor_is_bounded(tmp_path: Path, actor: str) -> None:
    done = run(["apikey", "create", "--actor", actor, "--role", "officer", "--all-units",
                "--db", f"sqlite:///{tmp_path / 'k.db'}"], tmp_path)
    assert_usage_error(done)


# 10. worker --poll-seconds without an upper bound -----------------------------------------------------------------
@pytest.mark.parametrize("seconds", ["inf", "1e308"])
def test_worker_absurd_poll_seconds_is_a_usage_error(tmp_path: Path, seconds: str) -> None:
    done = run(["worker", "--poll-seconds", seconds, "--db", f"sqlite:///{tmp_path / 'w.db'}"], tmp_path, timeout=30)
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output[-1500:]
    assert done.returncode == 2


# 11. a malformed --broker URL ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("broker", ["garbage", "redis://[::1"])
def test_worker_malformed_broker_is_a_usage_error(tmp_path: Path, broker: str) -> None:
    done = run(["worker", "--broker", broker, "--db", f"sqlite:///{tmp_path / 'w.db'}"], tmp_path, timeout=30)
    assert_usage_error(done)


def test_serve_malformed_broker_does_not_keep_serving_without_dispatcher(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_")}
    process = subprocess.Popen([*MOTCUA, "serve", "--broker", "garbage", "--port", str(port),
                                "--db", f"sqlite:///{tmp_path / 's.db'}"],
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 15
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        still_serving = process.poll() is None
    finally:
        if process.poll() is None:
            process.terminate()
        _, err = process.communicate(timeout=20)
    text = err.decode("utf-8", "replace")
    assert not still_serving, "serve kept answering with its dispatcher thread dead:\n" + text[-1200:]
    assert "Traceback" not in text and process.returncode == 2


# 12. an auditor's command on a database made on the spot would call an empty log intact --------------------------
@pytest.mark.parametrize("command", ["verify", "replay", "anchor"])
@pytest.mark.parametrize("db", ["sqlite:///{tmp}/typo.db", "sqlite:///", "memory://"],
                         ids=["typo", "no-path", "memory"])
def test_an_auditors_command_reads_only_a_database_that_exists(tmp_path: Path, command: str, db: str) -> None:
    done = run([command, "--db", db.format(tmp=tmp_path)], tmp_path)
    assert_usage_error(done)
    assert "--db" in done.stderr and list(tmp_path.iterdir()) == []  # nothing created either


# 13. exit 0 on something that is not there; a key read as a file pattern -----------------------------------------
@pytest.mark.parametrize("args", [
    ["sync", "status", "000.00.00.H23-990101-9999"],
    ["outbox", "retry", "99999999999999999999999999"],
], ids=["sync-unknown-dossier", "retry-unknown-id"])
def test_a_command_about_nothing_is_a_usage_error(tmp_path: Path, story_db: str, args: list[str]) -> None:
    assert_usage_error(run([*args, "--db", story_db], tmp_path))


def test_retrying_some_ids_and_all_at_once_is_refused_as_a_usage_error(tmp_path: Path, story_db: str) -> None:
    done = run(["outbox", "retry", "1", "--all", "--db", story_db], tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "not both" in done.stderr


@pytest.mark.parametrize("key", ["*", "../../../../tmp/x", "tthc-dossier*"])
def test_diagram_reads_a_workflow_key_never_a_pattern(tmp_path: Path, key: str) -> None:
    done = run(["diagram", key], tmp_path)
    assert_usage_error(done)
    assert "flowchart" not in done.stdout and "stateDiagram" not in done.stdout


def test_an_over_long_diagram_key_is_echoed_cut_with_its_length(tmp_path: Path) -> None:
    done = run(["diagram", "a" * 100_000], tmp_path)
    assert_usage_error(done)
    assert "… (100000 characters)" in done.stderr and len(done.stderr) < 500


# 14. a SQLite file of another application, or no SQLite file at all, was migrated into (or failed unnamed) --------
@pytest.mark.parametrize("args", [
    ["history", CODE], ["story", "-q"], ["report", "bieu06", "--period", "2024-Q1"], ["apikey", "list"],
    ["outbox", "failed"],
], ids=["history", "story", "bieu06", "apikey-list", "outbox-failed"])
@pytest.mark.parametrize("kind", ["another-application", "not-sqlite"])
def test_a_sqlite_file_not_motcuas_is_refused_untouched(tmp_path: Path, args: list[str], kind: str) -> None:
    path = tmp_path / "app.db"
    if kind == "another-application":
        with sqlite3.connect(path) as connection:
            connection.execute("CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT)")
            connection.execute("INSERT INTO customer VALUES (1, 'An')")
        connection.close()
    else:
        path.write_text("name,phone\nAn,0901\n", encoding="utf-8")
    before = path.read_bytes()
    done = run([*args, "--db", f"sqlite:///{path}"], tmp_path)
    assert_usage_error(done)
    assert "app.db" in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["app.db"]  # no -wal, no -shm, no -journal


@pytest.mark.parametrize("existing", ["new-path", "empty-file"])
def test_a_new_path_or_an_empty_file_is_still_created_and_migrated(tmp_path: Path, existing: str) -> None:
    path = tmp_path / "fresh.db"
    if existing == "empty-file":
        path.touch()
    done = run(["story", "-q", "--db", f"sqlite:///{path}"], tmp_path)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
    connection.close()


# 15. a refusal that came after a directory or a lock file was made --------------------------------------------
def test_procedures_rollback_of_a_missing_directory_creates_nothing(tmp_path: Path) -> None:
    done = run(["procedures", "rollback", "--dir", str(tmp_path / "missing" / "catalogue")], tmp_path)
    assert_usage_error(done)
    assert list(tmp_path.iterdir()) == []


def test_procedures_rollback_of_an_empty_directory_writes_no_lock_file(tmp_path: Path) -> None:
    assert_usage_error(run(["procedures", "rollback", "--dir", str(tmp_path)], tmp_path))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("province", [False, True], ids=["commune", "province"])
def test_demo_refusing_its_db_creates_no_out_directory(tmp_path: Path, story_db: str, province: bool) -> None:
    out = tmp_path / "new" / "demo-output"
    done = run(["demo", *(["--province"] if province else []), "--dossiers", "10", "--quiet",
                "--db", story_db, "--out", str(out)], tmp_path)
    assert_usage_error(done)
    assert "already holds cases" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_demo_out_under_a_file_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    done = run(["demo", "--dossiers", "10", "--quiet", "--out", str(tmp_path / "a-file" / "out")], tmp_path)
    assert_usage_error(done)
    assert [p.name for p in tmp_path.iterdir()] == ["a-file"]


# 16. an argument of 100,000 characters was echoed whole in the error (and looked up in the database first) ------
LONG = "A" * 100_000


@pytest.mark.parametrize("args", [
    ["history", LONG], ["control-sheet", LONG, "--out", "c.xlsx"], ["sync", "status", LONG],
    ["subject", "export", LONG, "--out", "s.json"], ["apikey", "revoke", LONG], ["user", "disable", LONG],
], ids=["history", "control-sheet", "sync-status", "subject-export", "apikey-revoke", "user-disable"])
def test_an_overlong_identifier_is_refused_before_the_database_is_opened(tmp_path: Path, args: list[str]) -> None:
    done = run([*args, "--db", f"sqlite:///{tmp_path / 'x.db'}"], tmp_path)
    assert_usage_error(done)
    assert "longer than" in done.stderr and len(done.stderr) < 200, done.stderr[:300]
    assert list(tmp_path.iterdir()) == []


def test_procedures_show_refuses_an_overlong_code_without_echoing_it(tmp_path: Path) -> None:
    done = run(["procedures", "show", LONG], tmp_path)
    assert_usage_error(done)
    assert "longer than 64 characters" in done.stderr and len(done.stderr) < 200, done.stderr[:300]


@pytest.mark.parametrize("args", [
    ["report", "bieu06", "--period", LONG], ["plan", "load", LONG], ["history", CODE, "--out", f"/nonexistent/{LONG}"],
], ids=["period", "plan-file", "out-path"])
def test_an_error_echoes_at_most_a_bounded_excerpt_of_an_argument(tmp_path: Path, story_db: str,
                                                                  args: list[str]) -> None:
    done = run([*args, "--db", story_db], tmp_path)
    assert_usage_error(done)
    assert "characters)" in done.stderr and len(done.stderr) < 400, done.stderr[:500]
