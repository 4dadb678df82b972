"""An auditor's day on the six-dossier story's database, through the command line only
(docs/tutorials/auditing-the-story.md).

The story (``motcua.simulation.story.run_story``: six dossiers, each a known chapter) is written in-process; every
check after that goes through the command line. ``motcua demo`` itself (the simulated year) has its own
tests in ``test_year_demo.py``."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]  # openpyxl ships no type information

from motcua.adapters.bootstrap import open_motcua
from motcua.simulation.story import DEMO_START, run_story
from motcua.workflow.auditing.upcasting import V0_CHANGES_KEY
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.audit import AuditEntry, entry_hash
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.model import GENESIS_HASH
from tests.conftest import OFFICER, SPECIALIST

MARITAL = "000.00.00.H23-240311-0001"  # the demo's dossier with a supplement request (9 entries)
BIRTH = "000.00.00.H23-240304-0001"  # the demo's first dossier (10 entries)
ID_NUMBER, PHONE = "030201001234", "0912345678"


def motcua(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "motcua.entrypoints.cli", *args], capture_output=True, text=True,
                          timeout=300, check=False)


def write_story(path: Path) -> None:
    """The six dossiers of the story, again (a second run numbers them -0002, … on the same days)."""
    clock = ManualClock(DEMO_START)
    app = open_motcua(f"sqlite:///{path}", clock=clock, observers=[])
    try:
        run_story(app, clock)
    finally:
        app.close()


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("auditor") / "demo.db"
    write_story(path)
    return path


@pytest.fixture
def copy(demo_db: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy.db"
    shutil.copy(demo_db, target)
    return target


def db(path: Path) -> tuple[str, str]:
    return "--db", f"sqlite:///{path}"


def sql(path: Path, statement: str, *parameters: object) -> None:
    with sqlite3.connect(path) as connection:
        assert connection.execute(statement, parameters).rowcount >= 1


# -- history ---------------------------------------------------------------------------------------


def test_history_shows_labels_regions_reasons_and_the_appointment_history(demo_db: Path) -> None:
    ran = motcua("history", MARITAL, *db(demo_db))
    assert ran.returncode == 0, ran.stderr
    for text in ("Yêu cầu bổ sung giấy tờ", "Trạng thái hồ sơ", "Số hóa", "Phạm Văn Hùng", "Chuyên viên xử lý",
                 "11/03/2024 13:45", "Bổ sung bản sao giấy chứng tử", "Lịch sử hẹn trả kết quả", "18/03/2024 13:45"):
        assert text in ran.stdout, text


def history_json(path: Path, *extra: str) -> dict[str, Any]:
    ran = motcua("history", MARITAL, "--format", "json", *extra, *db(path))
    assert ran.returncode == 0, ran.stderr
    document: dict[str, Any] = json.loads(ran.stdout)
    return document


def test_history_at_an_instant_is_the_dossier_replayed_to_then(demo_db: Path) -> None:
    then = history_json(demo_db, "--at", "13/03/2024 10:00")
    assert (then["version"], then["state"]["lifecycle"], len(then["entries"])) == (4, "supplement_requested", 4)
    assert then["attributes"]["appointment"] == "2024-03-14T13:45:00+07:00"  # before the pause moved it
    assert [a["kind"] for a in then["appointment_history"]] == ["initial"]
    assert history_json(demo_db, "--at", "2024-03-13T03:00:00Z") == then  # the same instant, in UTC
    now = history_json(demo_db)
    assert (now["version"], now["state"]["lifecycle"]) == (9, "returned")
    assert now["entries"][:4] == then["entries"]


def test_history_at_ignores_a_rewritten_case_row(copy: Path) -> None:
    sql(copy, """UPDATE "case" SET state = json_set(state, '$.lifecycle', 'stopped') WHERE code = ?""", MARITAL)
    assert history_json(copy, "--at", "16/03/2024 08:00")["state"]["lifecycle"] == "returned"


def test_history_before_the_dossier_existed_is_refused(demo_db: Path) -> None:
    ran = motcua("history", MARITAL, "--at", "2024-03-01", *db(demo_db))
    assert ran.returncode == 2 and "not yet opened" in ran.stderr


def test_history_as_a_workbook(demo_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "lich-su.xlsx"
    ran = motcua("history", MARITAL, "--at", "15/03/2024 12:00", "--format", "xlsx", "--out", str(out), *db(demo_db))
    assert ran.returncode == 0, ran.stderr
    book = load_workbook(out)
    assert book.sheetnames == ["Diễn biến", "Lịch sử hẹn trả", "Tại thời điểm"]
    rows = list(book["Diễn biến"].values)
    assert rows[0][:5] == ("#", "Thời điểm", "Người thực hiện", "Vai trò", "Thao tác") and len(rows) == 1 + 8


# -- control sheet ---------------------------------------------------------------------------------


def test_the_control_sheet_is_the_official_form(demo_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "phieu-kiem-soat.xlsx"
    ran = motcua("control-sheet", MARITAL, "--out", str(out), *db(demo_db))
    assert ran.returncode == 0, ran.stderr
    form = load_workbook(out)["Phiếu kiểm soát"]
    cells = [[cell for cell in row if cell is not None] for row in form.values]
    assert ["PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ"] in cells and [f"Mã hồ sơ: {MARITAL}"] in cells
    header = cells.index(["TÊN CƠ QUAN", "THỜI GIAN GIAO, NHẬN HỒ SƠ",
                          "KẾT QUẢ GIẢI QUYẾT HỒ SƠ\n(Trước hạn/đúng hạn/quá hạn)", "GHI CHÚ"])
    rows = cells[header + 1:header + 9]
    assert rows[0][0] == "1. Giao: Tổ chức, cá nhân\n2. Nhận: Bộ phận tiếp nhận và trả kết quả"
    assert rows[0][1].startswith("13 giờ 45 phút, ngày 11 tháng 03 năm 2024\nNgười giao: Đỗ Thị Hoa")
    assert all(row[2] == "Trước hạn" for row in rows)
    data = list(load_workbook(out)["Dữ liệu"].values)
    assert len(data) == 1 + 8 and data[1][-1] == 2  # the receive entry is #2 of the log


# -- replay ----------------------------------------------------------------------------------------


def test_replay_is_clean_on_the_demo_and_lists_every_difference_of_a_rewritten_row(copy: Path) -> None:
    ran = motcua("replay", *db(copy))
    assert ran.returncode == 0 and "all 6 case rows equal their replay" in ran.stdout
    sql(copy, """UPDATE "case" SET attributes = json_set(attributes, '$.appointment', '2024-03-30T17:00:00+07:00',
                 '$.rating', 1) WHERE code = ?""", MARITAL)
    assert motcua("verify", *db(copy)).returncode == 0  # the chain cannot see a case row's attributes…

    ran = motcua("replay", *db(copy))
    assert ran.returncode == 1  # … the replay can
    lines = [line for line in ran.stdout.splitlines() if line.startswith("DIFFERS")]
    assert lines == [
        f'DIFFERS {MARITAL}  attributes.appointment: stored "2024-03-30T17:00:00+07:00" ≠ replayed '
        '"2024-03-18T13:45:00+07:00"',
        f"DIFFERS {MARITAL}  attributes.rating: stored 1 ≠ replayed (không có)",
    ]
    listed = json.loads(motcua("replay", "--format", "json", *db(copy)).stdout)
    assert [(d["code"], d["field"]) for d in listed["differences"]] == [(MARITAL, "attributes.appointment"),
                                                                        (MARITAL, "attributes.rating")]


def test_replay_names_a_search_column_rewritten_behind_the_logs_back(copy: Path) -> None:
    """A dossier moved to another unit's lists and onto the overdue ones by its search columns alone: its row's values
    and its chain untouched, every list, filter and report would read it there."""
    sql(copy, """UPDATE "case" SET index_unit = 'LOCAL-HP-LE-CHAN', state_deadline = 'overdue' WHERE code = ?""",
        MARITAL)
    assert motcua("verify", *db(copy)).returncode == 0  # the chain covers the entries, not the row's columns…

    ran = motcua("replay", *db(copy))
    assert ran.returncode == 1  # … the replay holds them to the case the log gives
    differs = [line for line in ran.stdout.splitlines() if line.startswith("DIFFERS")]
    assert [line.split(":")[0] for line in differs] == [f"DIFFERS {MARITAL}  found_by.state.deadline",
                                                        f"DIFFERS {MARITAL}  found_by.unit"]
    assert 'stored "LOCAL-HP-LE-CHAN"' in differs[1]
    listed = json.loads(motcua("replay", "--format", "json", *db(copy)).stdout)
    assert {d["field"] for d in listed["differences"]} == {"found_by.state.deadline", "found_by.unit"}
    assert listed["search_columns_unchecked"] == 0


# -- anchor ----------------------------------------------------------------------------------------


def chain(path: Path, code: str) -> list[dict[str, Any]]:
    with sqlite3.connect(path) as connection:
        connection.row_factory = sqlite3.Row
        rows = connection.execute("SELECT * FROM audit_entry WHERE case_code = ? ORDER BY sequence", (code,))
        return [dict(row) for row in rows]


def test_an_anchor_catches_what_the_chain_alone_cannot(copy: Path, tmp_path: Path) -> None:
    anchor = tmp_path / "anchor.json"
    ran = motcua("anchor", "--out", str(anchor), *db(copy))
    assert ran.returncode == 0, ran.stderr
    document = json.loads(anchor.read_text(encoding="utf-8"))
    assert (document["kind"], document["chains"], len(document["digest"])) == ("motcua-audit-anchor", 6, 64)
    ran = motcua("verify", "--anchor", str(anchor), *db(copy))
    assert ran.returncode == 0 and "the log matches it" in ran.stdout

    write_story(copy)  # life goes on: six more dossiers
    ran = motcua("verify", "--anchor", str(anchor), *db(copy))
    assert ran.returncode == 0 and "6 new chains" in ran.stdout

    # someone who can write the file removes the last entry of a chain and puts the case row back to match
    entries = chain(copy, BIRTH)
    last, before = entries[-1], entries[-2]
    sql(copy, "DELETE FROM audit_entry WHERE position = ?", last["position"])
    sql(copy, """UPDATE "case" SET version = ?, head_hash = ?, state = ?, updated_at = ? WHERE code = ?""",
        before["sequence"], before["hash"], before["state_after"], before["occurred_at"], BIRTH)
    assert motcua("verify", *db(copy)).returncode == 0  # a consistent, shorter chain

    ran = motcua("verify", "--anchor", str(anchor), *db(copy))
    assert ran.returncode == 1
    assert f"ANCHOR BROKEN {BIRTH} #10: the anchored head entry is gone (removed)" in ran.stderr
    assert "does NOT match" in ran.stdout


# -- an older schema -------------------------------------------------------------------------------


def test_entries_written_in_schema_0_still_read_and_verify(copy: Path) -> None:
    """The pilot's prototype layout: actions' attributes inside data["_set"], no changes, no reason column."""
    previous = GENESIS_HASH
    for row in chain(copy, MARITAL):
        data = json.loads(row["data"])
        changes = json.loads(row["changes"])
        if changes:
            data[V0_CHANGES_KEY] = changes
        at = datetime.fromisoformat(row["occurred_at"] + "+00:00")  # SQLite keeps naive UTC text
        entry = AuditEntry(
            case_code=MARITAL, sequence=row["sequence"], occurred_at=at, actor=row["actor"], role=row["role"],
            trigger=row["trigger"], state_before=json.loads(row["state_before"]),
            state_after=json.loads(row["state_after"]), data=data, changes={}, reason=None,
            definition_key=row["definition_key"], definition_version=row["definition_version"],
            rule_set=row["rule_set"], prev_hash=previous, schema_version=0,
        )
        entry = replace(entry, hash=entry_hash(entry))
        sql(copy, "UPDATE audit_entry SET data = ?, changes = '{}', reason = NULL, schema_version = 0, prev_hash = ?, "
                  "hash = ?, position_hash = NULL WHERE position = ?", json.dumps(data, ensure_ascii=False), previous,
            entry.hash, row["position"])  # the prototype sealed no position either
        previous = entry.hash
    sql(copy, """UPDATE "case" SET head_hash = ? WHERE code = ?""", previous, MARITAL)

    assert motcua("verify", *db(copy)).returncode == 0
    assert motcua("replay", *db(copy)).returncode == 0
    ran = motcua("history", MARITAL, *db(copy))
    assert ran.returncode == 0 and "Bổ sung bản sao giấy chứng tử" in ran.stdout and "18/03/2024 13:45" in ran.stdout
    assert {e["schema_version"] for e in history_json(copy)["entries"]} == {0}

    sql(copy, "UPDATE audit_entry SET actor = 'Kẻ giả mạo' WHERE case_code = ? AND sequence = 4", MARITAL)
    ran = motcua("verify", *db(copy))
    assert ran.returncode == 1 and f"{MARITAL} #4" in ran.stderr


# -- personal data ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def people_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    path = tmp_path_factory.mktemp("people") / "people.db"
    clock = ManualClock(datetime(2024, 3, 4, 8, 0, tzinfo=VN_TZ))
    app = open_motcua(f"sqlite:///{path}", clock=clock, observers=[])
    try:
        an = Applicant("Trần Văn An", id_number=ID_NUMBER, phone=PHONE)
        mine = [app.desk.receive("1.004873", "direct", an, OFFICER).code,
                app.desk.receive("1.001193", "direct", an, OFFICER).code]
        other = app.desk.receive("1.004873", "direct", Applicant("Lê Thị B", id_number="001199000111"), OFFICER)
        app.service.fire(mine[0], "assign", OFFICER, {"assignee": SPECIALIST.name})
        app.service.fire(other.code, "assign", OFFICER, {"assignee": SPECIALIST.name})
    finally:
        app.close()
    return path, mine


def test_subject_export_gathers_every_dossier_and_entry_about_one_person(
    people_db: tuple[Path, list[str]], tmp_path: Path
) -> None:
    path, mine = people_db
    out = tmp_path / "export.json"
    ran = motcua("subject", "export", ID_NUMBER, "--out", str(out), *db(path))
    assert ran.returncode == 0, ran.stderr
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["subject"] == {"applicant_id": ID_NUMBER}
    assert [d["code"] for d in document["dossiers"]] == sorted(mine)
    assert [len(d["entries"]) for d in document["dossiers"]] == [3, 2]
    assert all(d["attributes"]["applicant_name"] == "Trần Văn An" for d in document["dossiers"])
    assert "2 hồ sơ" in ran.stderr and "*********234" in ran.stderr

    nobody = motcua("subject", "export", "079000000000", *db(path))
    assert nobody.returncode == 0 and json.loads(nobody.stdout)["dossiers"] == []


def test_no_command_of_the_auditor_logs_an_identifier(people_db: tuple[Path, list[str]], tmp_path: Path) -> None:
    path, mine = people_db
    anchor = tmp_path / "a.json"
    runs = [
        motcua("subject", "export", ID_NUMBER, *db(path)),
        motcua("subject", "export", f" {ID_NUMBER[:6]} {ID_NUMBER[6:]} ", "--out", str(tmp_path / "x.json"), *db(path)),
        motcua("history", mine[0], "--format", "json", *db(path)),
        motcua("history", mine[0], "--at", "04/03/2024 08:00", *db(path)),
        motcua("control-sheet", mine[0], "--format", "json", *db(path)),
        motcua("replay", *db(path)),
        motcua("anchor", "--out", str(anchor), *db(path)),
        motcua("verify", "--anchor", str(anchor), *db(path)),
    ]
    assert [ran.returncode for ran in runs] == [0] * len(runs), [ran.stderr for ran in runs]
    events = [json.loads(line)["event"] for ran in runs for line in ran.stderr.splitlines() if line.startswith("{")]
    assert {"subject.exported", "audit.history", "audit.control_sheet", "audit.replayed", "audit.anchored",
            "audit.verified"} <= set(events)
    for ran in runs:
        assert ID_NUMBER not in ran.stderr and PHONE not in ran.stderr
