"""`motcua demo`: a commune's year end to end through the command line, its files, and the auditor's checks."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]  # openpyxl ships no type information

from motcua.simulation.charts import CHART_FILES
from tests import services

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def motcua(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "motcua.entrypoints.cli", *args], capture_output=True, text=True,
                          timeout=600, check=False)


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("year") / "demo-output"
    ran = motcua("demo", "--dossiers", "300", "--seed", "3", "--out", str(out))
    assert ran.returncode == 0, ran.stderr
    return out, ran


def scalar(path: Path, statement: str) -> int:
    with sqlite3.connect(path) as connection:
        return int(connection.execute(statement).fetchone()[0])


def test_it_prints_the_reports_a_province_reads(year: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    _, ran = year
    for text in ("Biểu số 06/VPCP/KSTT", "Quý I", "Quý IV", "Năm 2023", "Chỉ số Quyết định 766/QĐ-TTg",
                 "chỉ tiêu: đạt hay không đạt", "Thư xin lỗi", "motcua verify"):
        assert text in ran.stdout, text
    assert "━" not in ran.stderr  # no progress bar when standard error is not a terminal


def test_verify_and_replay_pass_on_the_written_database(year: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, _ = year
    db = f"sqlite:///{out / 'motcua.db'}"
    verified = motcua("verify", "--db", db)
    assert verified.returncode == 0 and "intact" in verified.stdout, verified.stderr
    replayed = motcua("replay", "--db", db)
    assert replayed.returncode == 0 and "equal their replay" in replayed.stdout, replayed.stderr


def test_the_year_had_pressure(year: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, _ = year
    db = out / "motcua.db"
    assert scalar(db, "SELECT COUNT(*) FROM audit_entry WHERE \"trigger\" = 'mark_overdue'") > 0  # timers fired
    assert scalar(db, "SELECT COUNT(*) FROM audit_entry WHERE \"trigger\" = 'apologize'") > 0
    assert scalar(db, "SELECT COUNT(*) FROM audit_entry WHERE \"trigger\" = 'refuse'") > 0
    assert scalar(db, "SELECT COUNT(*) FROM \"case\" WHERE definition_key = 'plan-task'") == 45
    summary = json.loads((out / "tom-tat.json").read_text(encoding="utf-8"))
    year_report = summary["bieu06"]["Năm 2023"]["total"]
    received = scalar(db, "SELECT COUNT(*) FROM \"case\" WHERE definition_key = 'tthc-dossier' AND "
                          "json_extract(state, '$.lifecycle') NOT IN ('submitted', 'refused')")
    assert year_report["total"] == received == summary["dossiers"] - scalar(
        db, "SELECT COUNT(*) FROM \"case\" WHERE json_extract(state, '$.lifecycle') = 'refused'")
    assert year_report["resolved_late"] > 0
    quarters = [summary["bieu06"][q]["total"]["online"] + summary["bieu06"][q]["total"]["direct_postal"]
                for q in ("Quý I", "Quý II", "Quý III", "Quý IV")]
    assert sum(quarters) == year_report["total"]


def test_the_workbooks_and_charts(year: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, _ = year
    for slug in ("quy-1", "quy-2", "quy-3", "quy-4", "nam"):
        book = load_workbook(out / f"bieu06-2023-{slug}.xlsx")
        assert book.sheetnames == ["Bieu 06"]
        cells = [cell for row in book["Bieu 06"].values for cell in row if cell is not None]
        assert "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH" in cells and "Tổng cộng" in cells
    assert list(load_workbook(out / "qd766-2023.xlsx")["QD 766"].values)[2][:2] == ("Mã", "Chỉ số")
    plan_rows = list(load_workbook(out / "chi-tieu-ke-hoach-2023.xlsx")["Chi tieu ke hoach"].values)
    assert plan_rows[1][0] == "Chỉ tiêu" and len(plan_rows) > 5
    for name in CHART_FILES:
        data = (out / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000, name


@pytest.mark.parametrize(("args", "message"), [
    (("--year", "2019"), "--year"),
    (("--commune", "Không Có"), "--commune"),
    (("--dossiers", "0"), "--dossiers"),
    (("--dossiers", "-3"), "--dossiers"),
])
def test_bad_options_are_typed_errors_and_write_nothing(args: tuple[str, ...], message: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    ran = motcua("demo", "--out", str(out), *args)
    assert ran.returncode == 2 and ran.stderr.startswith("error:") and message in ran.stderr, ran.stderr
    assert not out.exists()


def test_an_unwritable_out_and_a_used_database_are_refused(
    year: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    ran = motcua("demo", "--out", str(blocker / "sub"))
    assert ran.returncode == 2 and "--out" in ran.stderr
    used = f"sqlite:///{year[0] / 'motcua.db'}"
    ran = motcua("demo", "--dossiers", "5", "--db", used, "--out", str(tmp_path / "other"))
    assert ran.returncode == 2 and "already holds cases" in ran.stderr


@pytest.mark.integration
def test_the_same_year_through_dramatiq_on_redis(tmp_path: Path) -> None:
    url = services.require_redis()
    inline = motcua("demo", "--dossiers", "40", "--seed", "9", "--out", str(tmp_path / "inline"))
    redis = motcua("demo", "--dossiers", "40", "--seed", "9", "--out", str(tmp_path / "redis"), "--broker", url,
                   "--threads", "3")
    assert inline.returncode == 0 and redis.returncode == 0, redis.stderr
    db = tmp_path / "redis" / "motcua.db"
    assert motcua("verify", "--db", f"sqlite:///{db}").returncode == 0
    assert scalar(db, "SELECT COUNT(*) FROM audit_entry WHERE role = 'system'") > 0  # timers fired by workers
    one = json.loads((tmp_path / "inline" / "tom-tat.json").read_text(encoding="utf-8"))
    two = json.loads((tmp_path / "redis" / "tom-tat.json").read_text(encoding="utf-8"))
    assert one["bieu06"] == two["bieu06"]  # the same year, whoever fired the timers
