"""`motcua demo --province`: a province's 2025 across the merger of 1 July, end to end through the command line.

Counted in the database itself: the province's Biểu 06 is the sum of its units'; after the merger no open
dossier is held by an old unit and none is received there; every dossier still open at 00:00 on 1 July has
exactly one transfer entry, and no other dossier has one; every unit receives citizens' feedback, counted under the
unit that holds it in the plan's feedback rows and the Decision 766 feedback indicators; the audit log verifies and
replays.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]  # openpyxl ships no type information

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
OLD_UNITS = ("LOCAL-HD-AN-THUONG", "LOCAL-HD-BINH-HAN", "LOCAL-HD-CAM-THUONG", "LOCAL-HD-NGUYEN-TRAI")
WARD = "LOCAL-HP-THANH-DONG"
MERGER_UTC = "2025-06-30 17:00:00"  # 00:00 on 1 July 2025 in Vietnam, as SQLite stores instants (naive UTC)
FINAL = ("returned", "refused", "withdrawn", "stopped", "answered", "declined")  # a dossier's, then feedback's
FEEDBACK_ROWS = ("received", "answered_on_time", "answered_late", "pending_within", "pending_overdue")
OLD = ", ".join(f"'{code}'" for code in OLD_UNITS)


def motcua(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "motcua.entrypoints.cli", *args], capture_output=True, text=True,
                          timeout=600, check=False)


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("province") / "demo-output"
    ran = motcua("demo", "--province", "--dossiers", "1200", "--seed", "1", "--out", str(out))
    assert ran.returncode == 0, ran.stderr
    return out, ran


def rows(path: Path, statement: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as connection:
        return [tuple(row) for row in connection.execute(statement).fetchall()]


def test_it_prints_each_units_report_and_the_provinces(
        province: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    _, ran = province
    for text in ("Biểu số 06/VPCP/KSTT năm 2025 — theo đơn vị và toàn tỉnh", "xã An Thượng", "phường Thành Đông",
                 "đến 30/06", "từ 01/07", "Toàn tỉnh bằng tổng các đơn vị", "motcua verify",
                 "Phản ánh, kiến nghị năm 2025 — theo đơn vị và toàn tỉnh", "PAKN đúng hạn (%)"):
        assert text in ran.stdout, text
    assert "KHÁC tổng" not in ran.stdout


def test_the_provinces_report_is_the_sum_of_its_units(province: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, _ = province
    summary = json.loads((out / "tom-tat-tinh.json").read_text(encoding="utf-8"))
    units = summary["units"]
    whole = summary["province"]["total"]

    assert set(units) == {*OLD_UNITS, WARD, "LOCAL-HP-THUY-NGUYEN", "LOCAL-HP-HONG-BANG", "LOCAL-HP-LE-CHAN",
                          "LOCAL-HP-NGO-QUYEN", "LOCAL-HP-CAT-HAI"}
    for count in whole:
        assert whole[count] == sum(unit["bieu06"]["total"][count] for unit in units.values()), count
    db = out / "motcua.db"
    [(received,)] = rows(db, "SELECT COUNT(*) FROM \"case\" WHERE definition_key = 'tthc-dossier' AND "
                             "json_extract(state, '$.lifecycle') NOT IN ('submitted', 'refused')")
    assert whole["total"] == received > 0
    assert summary["units_add_up"] is True


def test_after_the_merger_no_dossier_is_held_or_received_by_an_old_unit(
        province: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, _ = province
    db = out / "motcua.db"
    [(held_open,)] = rows(db, f"SELECT COUNT(*) FROM \"case\" WHERE index_unit IN ({OLD}) AND "
                              "(index_ended IS NULL OR state_lifecycle IN ('result_ready', 'withdrawal_requested'))")
    [(ended_later,)] = rows(db, f"SELECT COUNT(*) FROM \"case\" WHERE index_unit IN ({OLD}) AND "
                                "index_ended >= '2025-07-01T00:00:00+07:00'")
    [(received_later,)] = rows(db, f"SELECT COUNT(*) FROM \"case\" WHERE opened_at >= '{MERGER_UTC}' AND "
                                   f"(index_received_by IN ({OLD}) OR index_unit IN ({OLD}))")
    [(old_before,)] = rows(db, f"SELECT COUNT(*) FROM \"case\" WHERE index_received_by IN ({OLD}) OR "
                               f"index_unit IN ({OLD})")
    [(ward_before,)] = rows(db, f"SELECT COUNT(*) FROM \"case\" WHERE opened_at < '{MERGER_UTC}' AND "
                                f"code LIKE '{WARD}-%'")

    assert (held_open, ended_later, received_later, ward_before) == (0, 0, 0, 0)
    assert old_before > 0  # the old units did work, and what they finished stays theirs


def test_every_dossier_open_at_the_merger_was_transferred_exactly_once(
        province: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, _ = province
    db = out / "motcua.db"
    at_merger = rows(db, f"""
        SELECT e.case_code, json_extract(e.state_after, '$.lifecycle') FROM audit_entry e
        WHERE e.sequence = (SELECT MAX(x.sequence) FROM audit_entry x
                            WHERE x.case_code = e.case_code AND x.occurred_at < '{MERGER_UTC}')""")
    still_open = {str(code) for code, lifecycle in at_merger if lifecycle not in FINAL}
    transfers = dict(rows(db, "SELECT case_code, COUNT(*) FROM audit_entry WHERE \"trigger\" = 'transfer' "
                              "GROUP BY case_code"))
    entries = rows(db, "SELECT DISTINCT occurred_at, actor, json_extract(data, '$.to_unit'), "
                       "json_extract(data, '$.resolution') FROM audit_entry WHERE \"trigger\" = 'transfer'")
    moved = rows(db, "SELECT DISTINCT COALESCE(json_extract(attributes, '$.deciding_unit'), "
                     "json_extract(attributes, '$.unit')) FROM \"case\" WHERE code IN "
                     "(SELECT case_code FROM audit_entry WHERE \"trigger\" = 'transfer')")

    assert len(still_open) >= 3  # the run is big enough for the merger to carry some dossiers over
    assert transfers == dict.fromkeys(still_open, 1)
    assert entries == [(f"{MERGER_UTC}.000000", "motcua", WARD, "1669/NQ-UBTVQH15")]
    assert moved == [(WARD,)]


def test_every_unit_receives_feedback_counted_under_the_unit_that_holds_it(
        province: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, _ = province
    summary = json.loads((out / "tom-tat-tinh.json").read_text(encoding="utf-8"))
    units, whole = summary["units"], summary["province_feedback"]
    held = dict(rows(out / "motcua.db", "SELECT json_extract(attributes, '$.unit'), COUNT(*) FROM \"case\" "
                                        "WHERE definition_key = 'pakn' GROUP BY 1"))

    assert {code: unit["feedback"]["received"] for code, unit in units.items()} == held
    assert all(count > 0 for count in held.values()) and set(held) == set(units)
    for row in FEEDBACK_ROWS:
        assert whole[row] == sum(unit["feedback"][row] for unit in units.values()), row
    assert whole["answered_on_time"] + whole["answered_late"] > 0
    for unit in (*units.values(), {"petition": summary["province_petition"]}):
        on_time = unit["petition"]["petition_on_time"]
        assert on_time["denominator"] > 0 and on_time["value"] is not None
    transferred = rows(out / "motcua.db", "SELECT COUNT(*) FROM \"case\" WHERE definition_key = 'pakn' AND code IN "
                                          "(SELECT case_code FROM audit_entry WHERE \"trigger\" = 'transfer')")
    assert transferred == [(units[WARD]["feedback"]["received"] - _received_at(out, WARD),)]


def _received_at(out: Path, unit: str) -> int:
    [(count,)] = rows(out / "motcua.db", f"SELECT COUNT(*) FROM \"case\" WHERE code LIKE 'PAKN-{unit}-%'")
    return int(str(count))


def test_the_rule_set_follows_the_day_of_reception(province: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, _ = province
    found = rows(out / "motcua.db", f"""
        SELECT rule_set, opened_at < '{MERGER_UTC}', COUNT(*) FROM "case" GROUP BY 1, 2 ORDER BY 1, 2""")
    assert [(rule_set, before) for rule_set, before, _ in found] == [("nd118-2025", 0), ("nd61-2018", 1)]


def test_some_dossiers_are_decided_by_another_unit_of_the_province(
        province: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, _ = province
    [(elsewhere,)] = rows(out / "motcua.db", """
        SELECT COUNT(*) FROM "case" WHERE index_unit <> index_received_by AND code NOT IN
          (SELECT case_code FROM audit_entry WHERE "trigger" = 'transfer')""")
    assert elsewhere > 0


def test_verify_and_replay_pass(province: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, _ = province
    db = f"sqlite:///{out / 'motcua.db'}"
    verified = motcua("verify", "--db", db)
    assert verified.returncode == 0 and "intact" in verified.stdout, verified.stderr
    replayed = motcua("replay", "--db", db)
    assert replayed.returncode == 0 and "equal their replay" in replayed.stdout, replayed.stderr


def test_the_workbooks_name_their_unit_and_the_chart_is_drawn(
        province: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, _ = province
    for name, unit in (("LOCAL-HD-AN-THUONG", "xã An Thượng"), (WARD, "phường Thành Đông"),
                       ("toan-tinh", "Toàn tỉnh")):
        book = load_workbook(out / f"bieu06-2025-{name}.xlsx")
        cells = [cell for row in book["Bieu 06"].values for cell in row if isinstance(cell, str)]
        assert any(unit in cell for cell in cells), (name, cells[:3])
        assert "Tổng cộng" in cells
    assert (out / "ho-so-theo-don-vi-theo-thang.png").read_bytes().startswith(PNG_SIGNATURE)


@pytest.mark.parametrize(("option", "value", "field"), [
    ("--year", "2023", "--year"),
    ("--commune", "An Thượng", "--commune"),
    ("--broker", "redis://127.0.0.1:6379/0", "--broker"),
    ("--dossiers", "0", "--dossiers"),
])
def test_options_that_do_not_apply_to_a_province_are_refused(tmp_path: Path, option: str, value: str,
                                                             field: str) -> None:
    out = tmp_path / "out"
    ran = motcua("demo", "--province", option, value, "--out", str(out))
    assert ran.returncode == 2
    assert field in ran.stderr
    assert not (out / "motcua.db").exists()  # refused before anything is written
