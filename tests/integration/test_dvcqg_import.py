"""Importing DVCQG sync files (one-stop-shop.md, the national portal) on the memory store, SQLite and PostgreSQL.

Hand-written records at every boundary: a good file imports and its chains verify; importing it again
changes nothing; a changed record adds exactly one entry; every kind of bad record refuses the whole
file, naming the record and the field, and nothing is written; R, E and A reach the reports as §5
defines them (Biểu 06 computed by hand over the folded facts). A generated file streams in bounded
memory. ``motcua import dvcqg`` is exercised through the CLI.
"""

from __future__ import annotations

import io
import json
import tracemalloc
import unicodedata
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import ijson  # type: ignore[import-untyped]
import pytest
import typer
from typer.testing import CliRunner

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.entrypoints.cli.import_cmd import register
from motcua.entrypoints.cli.main import app as motcua_cli
from motcua.entrypoints.errors import BadFile, FileRefused
from motcua.entrypoints.importer import (
    _CUT,
    BATCH,
    ImportReport,
    _cut,
    _HashingReader,
    _parsed,
    _SurrogateScan,
    import_file,
)
from motcua.workflow.auditing.replay import replay
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.dossiers.tracking_book import tracking_book
from motcua.workflow.dvcqg.imports import DvcqgImport, check_dossier_workflow
from motcua.workflow.dvcqg.records import parse_record
from motcua.workflow.engine.audit import verify_chains
from motcua.workflow.engine.bounds import JSON_DEPTH_MAX
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.definition import WorkflowDefinition
from motcua.workflow.engine.model import Actor
from motcua.workflow.errors import InvalidDefinition, RecordRefused, StorageFailure
from motcua.workflow.reports.projection import DossierFacts, bieu06, fold
from tests.integration.conftest import database

IMPORT_AT = datetime(2024, 4, 15, 9, 0, tzinfo=VN_TZ)
Q1 = (date(2024, 1, 1), date(2024, 3, 31))
YEAR_2023 = (date(2023, 1, 1), date(2023, 12, 31))
DROP: Any = object()  # a field left out of a record
BACKENDS = [
    pytest.param("memory", id="memory"),
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.integration),
]
SQL_BACKENDS = BACKENDS[1:]
cli = typer.Typer()  # the import command alone; the whole CLI (motcua_cli) for import-then-verify
register(cli)


def code(number: int) -> str:
    return f"000.00.06.H23-240301-{number:04d}"


def rec(number: int, **fields: Any) -> dict[str, Any]:
    """A record being processed (status 4), received 01/03/2024 08:00, due 05/03/2024 17:00."""
    record: dict[str, Any] = {
        "MaHoSo": code(number), "MaTTHC": "1.001193", "TenTTHC": "Thủ tục đăng ký khai sinh",
        "MaLinhVuc": "HT", "TenLinhVuc": "Hộ tịch", "ChuHoSo": "Trần Văn An", "LoaiDoiTuong": "1",
        "SoDienThoai": "0912345678", "Email": "an@example.vn", "TrichYeuHoSo": "Đăng ký khai sinh cho con",
        "NgayTiepNhan": "20240301080000", "NgayHenTra": "20240305170000", "TrangThaiHoSo": "4", "NgayTra": "",
        "HinhThuc": "0", "NgayKetThucXuLy": "", "DonViXuLy": "UBND xã An Thượng", "KenhThucHien": "1",
        "HoSoCoThanhPhanSoHoa": "0", "DuocThanhToanTrucTuyen": "0", "TaiLieuNop": [], "DanhSachLePhi": [],
        "DanhSachHoSoBoSung": [], "DanhSachGiayToKetQua": [], "TaiKhoanDuocXacThucVoiVNeID": "1",
    }
    record.update(fields)
    return {key: value for key, value in record.items() if value is not DROP}


def write(path: Path, records: list[dict[str, Any]], *, body: bool = True) -> Path:
    payload: object = {"service": "DongBoHoSoMC", "isUpdating": False, "data": records} if body else records
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


GOOD = [
    rec(1, TrangThaiHoSo="10", NgayKetThucXuLy="20240304100000", NgayTra="20240305090000", KenhThucHien="2",
        HoSoCoThanhPhanSoHoa="1", DuocThanhToanTrucTuyen="1",
        DanhSachLePhi=[{"TenPhiLePhi": "Lệ phí hộ tịch", "Gia": "8000"}],
        DanhSachGiayToKetQua=[{"TenGiayTo": "Giấy khai sinh", "MaGiayToKetQua": f"{code(1)}-KQ1"}]),
    rec(2, TrangThaiHoSo=5, DanhSachHoSoBoSung=[{"NgayBoSung": "20240302090000", "NgayHenTraTruoc": "20240305170000"}]),
    rec(3, TrangThaiHoSo=1, NgayTiepNhan="", NgayHenTra="", KenhThucHien="2"),
    rec(4, TrangThaiHoSo=3, NgayTiepNhan=DROP, NgayHenTra=DROP, KenhThucHien=DROP),
    rec(5),
]


# -- backends --------------------------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Motcua]:
    with database(request.param, request, tmp_path) as url:
        motcua = open_motcua(url, clock=ManualClock(IMPORT_AT), observers=[])
        yield motcua
        motcua.close()


@pytest.fixture(params=SQL_BACKENDS)
def sql_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Motcua]:
    with database(request.param, request, tmp_path) as url:
        motcua = open_motcua(url, clock=ManualClock(IMPORT_AT), observers=[])
        yield motcua
        motcua.close()


def rows(app: Motcua) -> tuple[int, int]:
    """(cases, audit entries) stored."""
    return sum(1 for _ in app.store.cases()), sum(1 for _ in app.store.entries())


def verified(app: Motcua) -> bool:
    return list(verify_chains(app.store.cases(), app.store.entries())) == []


def folded(app: Motcua) -> dict[str, DossierFacts]:
    facts: dict[str, DossierFacts | None] = {}
    for entry in sorted(app.store.entries(), key=lambda e: e.position or 0):
        facts[entry.case_code] = fold(facts.get(entry.case_code), entry, app.workflows.status_of,
                                      app.catalogue.full_online_eligible)
    return {key: value for key, value in facts.items() if value is not None}


def counts(report: ImportReport) -> tuple[int, int, int, int]:
    return report.records, report.created, report.updated, report.unchanged


# -- a good file -----------------------------------------------------------------------------------


def test_a_good_file_imports_and_every_chain_verifies(app: Motcua, tmp_path: Path) -> None:
    report = import_file(write(tmp_path / "dvcqg.json", GOOD), app)
    assert counts(report) == (5, 5, 0, 0)
    assert rows(app) == (5, 5) and verified(app)
    states = {case.code: dict(case.state) for case in app.store.cases()}
    assert states[code(1)] == {"lifecycle": "returned", "deadline": "on_time", "records": "result_digitized"}
    assert states[code(2)]["lifecycle"] == "supplement_requested"
    assert states[code(3)]["lifecycle"] == "submitted" and states[code(4)]["lifecycle"] == "refused"
    assert states[code(5)] == {"lifecycle": "processing", "deadline": "overdue", "records": "paper"}
    for number in range(1, 6):
        (entry,) = app.store.history(code(number))
        assert (entry.trigger, entry.actor, entry.role, entry.sequence) == ("import", "dvcqg-import", "system", 1)
        assert entry.data["imported"] is True and entry.data["source"] == "DVCQG"
        assert entry.occurred_at == IMPORT_AT
        assert app.store.timers(code(number)) == [] and app.store.effects(code(number)) == []  # no timers armed


def test_the_log_alone_replays_an_imported_dossier(app: Motcua, tmp_path: Path) -> None:
    import_file(write(tmp_path / "dvcqg.json", GOOD), app)
    import_file(write(tmp_path / "dvcqg.json", [rec(5, TrangThaiHoSo="9", NgayKetThucXuLy="20240306100000")]), app)
    for case in app.store.cases():
        assert replay(app.store.history(case.code)) == case


def test_a_plain_list_with_a_byte_order_mark_imports(app: Motcua, tmp_path: Path) -> None:
    path = write(tmp_path / "list.json", GOOD[:2], body=False)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert counts(import_file(path, app)) == (2, 2, 0, 0)


def test_an_empty_data_list_imports_nothing(app: Motcua, tmp_path: Path) -> None:
    assert counts(import_file(write(tmp_path / "empty.json", []), app)) == (0, 0, 0, 0)


# -- re-imports ------------------------------------------------------------------------------------


def test_reimporting_an_unchanged_file_changes_nothing(app: Motcua, tmp_path: Path) -> None:
    path = write(tmp_path / "dvcqg.json", GOOD)
    import_file(path, app)
    before = ([c for c in app.store.cases()], rows(app))
    later = IMPORT_AT + timedelta(days=40)  # the deadline region would now say otherwise: still nothing
    assert counts(import_file(path, app, at=later)) == (5, 0, 0, 5)
    assert ([c for c in app.store.cases()], rows(app)) == before


def test_a_changed_record_adds_exactly_one_entry(app: Motcua, tmp_path: Path) -> None:
    path = write(tmp_path / "dvcqg.json", GOOD)
    import_file(path, app)
    first = app.store.load(code(5))
    changed = [*GOOD[:4], rec(5, TrangThaiHoSo="9", NgayKetThucXuLy="20240306100000",
                              DanhSachGiayToKetQua=[{"TenGiayTo": "Giấy khai sinh"}])]
    report = import_file(write(path, changed), app, at=IMPORT_AT + timedelta(hours=1))
    assert counts(report) == (5, 0, 1, 4)
    assert rows(app) == (5, 6) and verified(app)
    second = app.store.history(code(5))[-1]
    assert (second.sequence, second.trigger, second.prev_hash) == (2, "import", first.head_hash)
    assert dict(second.state_before) == dict(first.state)
    assert dict(second.state_after) == {"lifecycle": "result_ready", "deadline": "overdue",
                                        "records": "result_digitized"}
    assert set(second.changes) == {"ended_at", "end_state", "dvcqg_status", "electronic_results"}
    assert second.changes["electronic_results"] == [f"{code(5)}-KQ1"]
    facts = folded(app)[code(5)]
    assert (facts.status, facts.ended_at) == (9, datetime(2024, 3, 6, 10, tzinfo=VN_TZ))


def test_leaving_a_supplement_request_closes_the_pause(app: Motcua, tmp_path: Path) -> None:
    import_file(write(tmp_path / "dvcqg.json", GOOD[1:2]), app)
    resumed = rec(2, TrangThaiHoSo=4, DanhSachHoSoBoSung=[
        {"NgayBoSung": "20240302090000", "NgayTiepNhanBoSung": "20240311090000",
         "NgayHenTraTruoc": "20240305170000", "NgayHenTraMoi": "20240312170000"}])
    import_file(write(tmp_path / "dvcqg.json", [resumed]), app, at=IMPORT_AT + timedelta(days=1))
    entry = app.store.history(code(2))[-1]
    assert entry.changes["paused_at"] is None and entry.changes["appointment"] == "2024-03-12T17:00:00+07:00"
    (pause,) = folded(app)[code(2)].pauses  # ended the day the record says it was supplied, not the sync's
    assert (pause.start, pause.end) == (date(2024, 3, 2), date(2024, 3, 11))


def test_a_pause_whose_end_the_record_does_not_say_ends_on_the_sync_day(app: Motcua, tmp_path: Path) -> None:
    """A fee pause (6) the portal lists no item for, the record's last supplied date another pause's (before this one
    began): the clock ran again by the sync that saw it run. (A supplied date after the sync is refused.)"""
    import_file(write(tmp_path / "dvcqg.json", [rec(2, TrangThaiHoSo=6)]), app, at=IMPORT_AT)
    earlier = {"NgayBoSung": "20240302090000", "NgayTiepNhanBoSung": "20240304090000",
               "NgayHenTraTruoc": "20240305170000", "NgayHenTraMoi": "20240307170000"}
    import_file(write(tmp_path / "dvcqg.json", [rec(2, DanhSachHoSoBoSung=[earlier])]), app,
                at=IMPORT_AT + timedelta(days=2))
    assert [(p.start, p.end) for p in folded(app)[code(2)].pauses] == [(date(2024, 4, 15), date(2024, 4, 17))]


def test_a_second_supplement_request_seen_at_once_closes_the_first_pause(app: Motcua, tmp_path: Path) -> None:
    """A sync that sees the first supplement supplied and a second one asked: the first pause ends where the second
    starts. Left open, it paused the clock on every later day, and Biểu 06 counted the dossier within its time for
    ever while the dossier itself said overdue."""
    first = {"NgayBoSung": "20240302090000", "NgayHenTraTruoc": "20240305170000"}
    supplied = {**first, "NgayTiepNhanBoSung": "20240304090000", "NgayHenTraMoi": "20240307170000"}
    second = {"NgayBoSung": "20240306090000", "NgayHenTraTruoc": "20240307170000"}
    syncs = [rec(2, TrangThaiHoSo=5, DanhSachHoSoBoSung=[first]),
             rec(2, TrangThaiHoSo=5, DanhSachHoSoBoSung=[supplied, second]),
             rec(2, TrangThaiHoSo=4, DanhSachHoSoBoSung=[supplied, {**second, "NgayTiepNhanBoSung": "20240308090000",
                                                                    "NgayHenTraMoi": "20240312170000"}])]
    for day, record in enumerate(syncs):
        import_file(write(tmp_path / "dvcqg.json", [record]), app, at=IMPORT_AT + timedelta(days=day))
    pauses = folded(app)[code(2)].pauses
    assert [(p.start, p.end) for p in pauses] == [(date(2024, 3, 2), date(2024, 3, 6)),
                                                  (date(2024, 3, 6), date(2024, 3, 8))]
    app.reports.catch_up()
    total = app.reports.bieu06(date(2024, 5, 1), date(2024, 5, 31)).total
    assert (total.pending, total.pending_within, total.pending_overdue) == (1, 0, 1)  # past its appointment, 12/03
    assert app.store.load(code(2)).state["deadline"] == "overdue"  # what the dossier itself says


def test_a_corrected_end_date_in_a_later_sync_is_the_dossiers_end(app: Motcua, tmp_path: Path) -> None:
    """Section 5: E is the record's ``NgayKetThucXuLy`` when ``TrangThaiHoSo`` is 7–10, none otherwise — the latest
    record's, not the first seen: the portal corrected a return logged a day early (4/3, early; really 6/3, late
    against 5/3), then reopened the dossier. The engine's own dossiers keep their first end."""
    march = (date(2024, 3, 1), date(2024, 3, 31))
    syncs = [rec(1, TrangThaiHoSo="10", NgayKetThucXuLy="20240304100000", NgayTra="20240304100000"),
             rec(1, TrangThaiHoSo="10", NgayKetThucXuLy="20240306100000", NgayTra="20240306100000"),
             rec(1, TrangThaiHoSo="4")]
    expected = [(datetime(2024, 3, 4, 10, tzinfo=VN_TZ), "resolved_early"),
                (datetime(2024, 3, 6, 10, tzinfo=VN_TZ), "resolved_late"), (None, "pending_overdue")]
    for day, (record, (ended, column)) in enumerate(zip(syncs, expected, strict=True)):
        import_file(write(tmp_path / "dvcqg.json", [record]), app, at=IMPORT_AT + timedelta(days=day))
        assert folded(app)[code(1)].ended_at == ended
        app.reports.catch_up()
        counts = app.reports.bieu06(*march).total.counts()
        assert counts[column] == 1 and counts == bieu06(folded(app).values(), *march).total.counts(), day


def test_a_field_named_two_ways_is_named_alike_on_every_path(app: Motcua, tmp_path: Path) -> None:
    """Two dossiers of one field code, the portal's name of it changed between them: the report prints the name of
    the dossier folded last, on the SQL projection as in the reference."""
    records = [rec(1, TenLinhVuc="Hộ tịch"), rec(2, TenLinhVuc="Hộ tịch (tên mới)")]
    import_file(write(tmp_path / "dvcqg.json", records), app)
    app.reports.catch_up()
    start, end = date(2024, 3, 1), date(2024, 3, 31)
    printed = [(row.field_code, row.field_name, row.total) for row in app.reports.bieu06(start, end).rows]
    reference = [(row.field_code, row.field_name, row.total) for row in bieu06(folded(app).values(), start, end).rows]
    assert printed == reference == [("HT", "Hộ tịch (tên mới)", 2)]


# -- refusals --------------------------------------------------------------------------------------

BAD_RECORDS = [
    pytest.param({"TrangThaiHoSo": "10", "NgayKetThucXuLy": "20240229163000"}, code(9), "NgayKetThucXuLy",
                 id="E-before-R"),
    pytest.param({"TrangThaiHoSo": "11"}, code(9), "TrangThaiHoSo", id="unknown-status"),
    pytest.param({"TrangThaiHoSo": 0}, code(9), "TrangThaiHoSo", id="status-zero"),
    pytest.param({"KenhThucHien": "4"}, code(9), "KenhThucHien", id="unknown-channel"),
    pytest.param({"MaHoSo": DROP}, "no MaHoSo", "MaHoSo", id="missing-MaHoSo"),
    pytest.param({"MaHoSo": "   "}, "no MaHoSo", "MaHoSo", id="blank-MaHoSo"),
    pytest.param({"MaLinhVuc": DROP}, code(9), "MaLinhVuc", id="missing-field-code"),
    pytest.param({"NgayTiepNhan": "01/03/2024 08:00"}, code(9), "NgayTiepNhan", id="unparseable-date"),
    pytest.param({"NgayHenTra": "20240230170000"}, code(9), "NgayHenTra", id="no-such-day"),
    pytest.param({"TrangThaiHoSo": "9", "NgayKetThucXuLy": ""}, code(9), "NgayKetThucXuLy", id="9-without-E"),
    pytest.param({"NgayTiepNhan": DROP}, code(9), "NgayTiepNhan", id="received-without-R"),
    pytest.param({"DanhSachHoSoBoSung": [{"NgayHenTraMoi": "20240229170000"}]}, code(9),
                 "DanhSachHoSoBoSung[0].NgayHenTraMoi", id="A-before-R"),
    pytest.param({"NgayTiepNhan": "20170301080000", "NgayHenTra": "20170305170000"}, code(9), "NgayTiepNhan",
                 id="no-rule-set"),
    pytest.param({"DanhSachLePhi": [{"Gia": "8.000đ"}]}, code(9), "DanhSachLePhi[0].Gia", id="bad-fee"),
    pytest.param({"MaHoSo": code(5)}, code(5), "MaHoSo", id="twice-in-the-file"),
    pytest.param({"MaHoSo": f" {code(5)}\u00a0"}, code(5), "MaHoSo", id="twice-in-the-file-but-for-spaces"),
    pytest.param({"NgayTiepNhan": "20990301080000", "NgayHenTra": "20990305170000"}, code(9), "NgayTiepNhan",
                 id="R-after-the-import"),
    pytest.param({"TrangThaiHoSo": "10", "NgayKetThucXuLy": "20240416080000"}, code(9), "NgayKetThucXuLy",
                 id="E-after-the-import"),
    pytest.param({"NgayTra": "20240416080000"}, code(9), "NgayTra", id="returned-after-the-import"),
    pytest.param({"TrangThaiHoSo": "5", "DanhSachHoSoBoSung": [{"NgayBoSung": "20240501080000"}]}, code(9),
                 "DanhSachHoSoBoSung[0].NgayBoSung", id="supplement-asked-after-the-import"),
]


@pytest.mark.parametrize(("fields", "named", "field"), BAD_RECORDS)
def test_a_bad_record_refuses_the_whole_file(
    app: Motcua, tmp_path: Path, fields: dict[str, Any], named: str, field: str
) -> None:
    import_file(write(tmp_path / "first.json", GOOD), app)
    before = (list(app.store.cases()), rows(app))
    changed_and_new = [rec(5, TrangThaiHoSo="9", NgayKetThucXuLy="20240306100000"), rec(8), rec(9, **fields)]
    with pytest.raises(FileRefused) as refused:
        import_file(write(tmp_path / "second.json", changed_and_new), app)
    (record,) = refused.value.refused
    assert str(record).startswith(f"record 2 ({named if named.startswith('no') else f'MaHoSo {named!r}'}): ")
    assert f" {field}: " in f" {str(record).partition(': ')[2]}"
    assert (refused.value.count, refused.value.records) == (1, 3)
    assert (list(app.store.cases()), rows(app)) == before


def test_a_code_in_another_unicode_form_is_the_same_dossier(app: Motcua, tmp_path: Path) -> None:
    """``MaHoSo`` is read NFC (like every text of a record): "Ế" decomposed is the code composed, not a second
    dossier counted twice by every report."""
    composed = "000.00.06.H23-Ế-0001"
    records = [rec(1, MaHoSo=composed), rec(2, MaHoSo=unicodedata.normalize("NFD", composed))]
    with pytest.raises(FileRefused) as refused:
        import_file(write(tmp_path / "dvcqg.json", records), app)
    assert [(r.index, r.code) for r in refused.value.refused] == [(1, composed)]
    import_file(write(tmp_path / "dvcqg.json", records[1:]), app)
    assert [case.code for case in app.store.cases()] == [composed]


def _imported_as_written(app: Motcua, raw: dict[str, Any]) -> None:
    """The dossier of ``raw`` as a motcua before MaHoSo was trimmed and read NFC imported it: its code as written."""
    importer = DvcqgImport(app.workflows, app.rules, app.catalogue)
    record = parse_record(raw, 0).model_copy(update={"code": raw["MaHoSo"]})
    with app.backend.bulk() as writing:
        writing.write([importer.decide(record, None, IMPORT_AT)])


@pytest.mark.parametrize("written", [f" {code(1)} ", unicodedata.normalize("NFD", "000.00.06.H23-Ế-0001")])
def test_a_dossier_imported_with_its_code_as_written_is_updated_not_imported_again(
    app: Motcua, tmp_path: Path, written: str
) -> None:
    """A database imported into before codes were trimmed holds the code as the file wrote it: the portal's next
    file, which still writes it so, updates that dossier — not a second one under the trimmed code."""
    _imported_as_written(app, rec(1, MaHoSo=written))
    changed = rec(1, MaHoSo=written, TrichYeuHoSo="Đăng ký khai sinh (bổ sung)")

    report = import_file(write(tmp_path / "dvcqg.json", [changed]), app, at=IMPORT_AT + timedelta(hours=1))

    assert (report.created, report.updated) == (0, 1)
    assert [case.code for case in app.store.cases()] == [written]
    assert app.store.load(written).attributes["summary"] == "Đăng ký khai sinh (bổ sung)"


def test_an_end_on_the_day_of_the_import_is_read(app: Motcua, tmp_path: Path) -> None:
    """The portal's clock may run ahead of motcua's by minutes: a date later the same (Vietnam) day is no future."""
    import_file(write(tmp_path / "dvcqg.json", [rec(1, TrangThaiHoSo="10", NgayKetThucXuLy="20240415235959")]), app)
    assert app.store.load(code(1)).attributes["ended_at"] == "2024-04-15T23:59:59+07:00"


@pytest.mark.parametrize(("ended", "read"), [
    ("20240416000200", True),  # 4 minutes past the import, the next day: a portal's clock a little ahead
    ("20240416005700", True),
    ("20240416010100", False),  # more than an hour past it: the future
], ids=["minutes-ahead-across-midnight", "within-the-hour", "past-the-hour"])
def test_a_date_across_midnight_is_read_within_an_hour_of_the_import(
    app: Motcua, tmp_path: Path, ended: str, read: bool,
) -> None:
    """Read at 23:58, a record the portal stamped 00:02 is not from the future: its clock runs minutes ahead."""
    records = [rec(1, TrangThaiHoSo="10", NgayKetThucXuLy=ended)]
    at = datetime(2024, 4, 15, 23, 58, tzinfo=VN_TZ)
    if read:
        import_file(write(tmp_path / "dvcqg.json", records), app, at=at)
        assert app.store.load(code(1)).attributes["ended_at"] is not None
        return
    with pytest.raises(FileRefused) as refused:
        import_file(write(tmp_path / "dvcqg.json", records), app, at=at)
    assert "NgayKetThucXuLy" in str(refused.value.refused[0]) and rows(app) == (0, 0)


def test_the_first_refusals_are_all_named(app: Motcua, tmp_path: Path) -> None:
    records = [rec(n, TrangThaiHoSo="12") if n % 2 else rec(n) for n in range(60)]
    with pytest.raises(FileRefused) as refused:
        import_file(write(tmp_path / "bad.json", records), app)
    assert refused.value.count == 30 and len(refused.value.refused) == 20
    assert [r.index for r in refused.value.refused] == list(range(1, 40, 2))
    assert rows(app) == (0, 0)


def test_a_dossier_handled_in_motcua_is_not_overwritten_and_nothing_is_written(app: Motcua, tmp_path: Path) -> None:
    officer = Actor.of("Nguyễn Thị Lan", "officer")
    native = app.desk.receive("1.001193", "direct", Applicant("Lê Văn Bình"), officer)
    before = (list(app.store.cases()), rows(app))
    records = [rec(n) for n in range(10, 10 + 2 * BATCH)] + [rec(1, MaHoSo=native.code)]  # refused in pass 2
    with pytest.raises(FileRefused) as refused:
        import_file(write(tmp_path / "dvcqg.json", records), app)
    (record,) = refused.value.refused
    assert (record.index, record.code, record.problems[0].field) == (2 * BATCH, native.code, "MaHoSo")
    assert "handled in motcua" in str(record)
    assert (list(app.store.cases()), rows(app)) == before


def test_every_dossier_handled_in_motcua_is_named_at_once_or_skipped(app: Motcua, tmp_path: Path) -> None:
    """A portal's export of the commune holds the dossiers motcua received and published: each run had named the next
    one alone, after a whole first pass."""
    officer = Actor.of("Nguyễn Thị Lan", "officer")
    natives = [app.desk.receive("1.001193", "direct", Applicant("Lê Văn Bình"), officer).code for _ in range(3)]
    records = [rec(1, MaHoSo=natives[0]), rec(10), rec(2, MaHoSo=natives[1]), rec(11), rec(3, MaHoSo=natives[2])]
    path = write(tmp_path / "dvcqg.json", records)
    before = (list(app.store.cases()), rows(app))
    with pytest.raises(FileRefused) as refused:
        import_file(path, app)
    named = [(record.index, record.code) for record in refused.value.refused]
    assert named == list(zip((0, 2, 4), natives, strict=True))
    assert (list(app.store.cases()), rows(app)) == before  # nothing written

    report = import_file(path, app, skip_local=True)

    assert (report.records, report.created, report.skipped, report.unchanged) == (5, 2, 3, 0)
    assert [app.store.load(code).version for code in natives] == [case.version for case in before[0]
                                                                 if case.code in natives]  # untouched


def test_a_database_failure_half_way_leaves_nothing(
    sql_app: Motcua, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from motcua.adapters.sql import bulk  # noqa: PLC0415 - SQL backends only

    import_file(write(tmp_path / "first.json", GOOD), sql_app)
    before = rows(sql_app)
    written = bulk.SqlBulkWriter.write
    calls = []

    def failing(self: bulk.SqlBulkWriter, decisions: Any) -> None:
        calls.append(len(decisions))
        if len(calls) == 2:
            raise StorageFailure("disk full (simulated)")
        written(self, decisions)

    monkeypatch.setattr(bulk.SqlBulkWriter, "write", failing)
    records = [rec(n) for n in range(10, 10 + 3 * BATCH)]
    with pytest.raises(StorageFailure):
        import_file(write(tmp_path / "second.json", records), sql_app)
    assert calls == [BATCH, BATCH] and rows(sql_app) == before and verified(sql_app)


class _Rewriter:
    """A progress sink that rewrites the file between the two passes."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def phase(self, name: str, total: int | None) -> None:
        if total is not None:
            write(self.path, [*GOOD, rec(6)])

    def advance(self, records: int) -> None:
        pass


def test_a_file_changed_between_the_passes_writes_nothing(app: Motcua, tmp_path: Path) -> None:
    path = write(tmp_path / "dvcqg.json", GOOD)
    with pytest.raises(BadFile, match="changed while it was being imported"):
        import_file(path, app, progress=_Rewriter(path))
    assert rows(app) == (0, 0)


# -- R, E and A in the reports ---------------------------------------------------------------------


def test_appointment_is_the_last_new_appointment_given(app: Motcua, tmp_path: Path) -> None:
    supplements = [
        {"NgayBoSung": "20240302090000", "NgayTiepNhanBoSung": "20240304090000",
         "NgayHenTraTruoc": "20240305170000", "NgayHenTraMoi": "20240307170000"},
        {"NgayBoSung": "20240305090000", "NgayTiepNhanBoSung": "20240306090000",
         "NgayHenTraTruoc": "20240307170000", "NgayHenTraMoi": "20240308170000"},
        {"NgayBoSung": "20240307090000", "NgayHenTraTruoc": "20240308170000", "NgayHenTraMoi": ""},
    ]
    import_file(write(tmp_path / "dvcqg.json", [rec(1, DanhSachHoSoBoSung=supplements)]), app)
    case = app.store.load(code(1))
    assert case.attributes["appointment"] == "2024-03-08T17:00:00+07:00"
    history = case.attributes["appointment_history"]
    assert isinstance(history, list)
    assert [item["appointment"] for item in history if isinstance(item, dict)] == [
        "2024-03-05T17:00:00+07:00", "2024-03-07T17:00:00+07:00", "2024-03-08T17:00:00+07:00"]
    assert folded(app)[code(1)].appointment == datetime(2024, 3, 8, 17, tzinfo=VN_TZ)


PERIOD_RECORDS = [
    # a: received on the first day of Q1, resolved early
    rec(1, NgayTiepNhan="20240101080000", NgayHenTra="20240105170000", TrangThaiHoSo="10",
        NgayKetThucXuLy="20240103100000"),
    # b: received online on the last day of Q1, still pending within its appointment
    rec(2, NgayTiepNhan="20240331160000", NgayHenTra="20240403170000", TrangThaiHoSo="2", KenhThucHien="2"),
    # c: received (by post) in 2023, carried over into 2024, resolved one day late
    rec(3, NgayTiepNhan="20231228090000", NgayHenTra="20240102170000", TrangThaiHoSo="9",
        NgayKetThucXuLy="20240103150000", KenhThucHien="3"),
    # d: withdrawn after its appointment: resolved late
    rec(4, NgayTiepNhan="20240301080000", NgayHenTra="20240306170000", TrangThaiHoSo="7",
        NgayKetThucXuLy="20240312100000"),
    # e: late against NgayHenTra, on time against the supplement's new appointment (channel unknown)
    rec(5, NgayTiepNhan="20240201080000", NgayHenTra="20240206170000", TrangThaiHoSo="10",
        NgayKetThucXuLy="20240209160000", KenhThucHien=DROP,
        DanhSachHoSoBoSung=[{"NgayHenTraTruoc": "20240206170000", "NgayHenTraMoi": "20240209170000"}]),
    # f: processing past its appointment: pending overdue
    rec(6, NgayTiepNhan="20240310080000", NgayHenTra="20240320170000", TrangThaiHoSo="4", KenhThucHien="2"),
    # g: past its appointment but waiting for a supplement since 18/03: pending within
    rec(7, NgayTiepNhan="20240310080000", NgayHenTra="20240320170000", TrangThaiHoSo="5",
        DanhSachHoSoBoSung=[{"NgayBoSung": "20240318090000", "NgayHenTraTruoc": "20240320170000"}]),
    # h, i: never accepted: left out
    rec(8, NgayTiepNhan="", NgayHenTra="", TrangThaiHoSo="1", KenhThucHien="2"),
    rec(9, NgayTiepNhan="20240202080000", NgayHenTra="", TrangThaiHoSo="3"),
    # j: received and resolved (late) in 2023: not in Q1 2024
    rec(10, NgayTiepNhan="20231101080000", NgayHenTra="20231106170000", TrangThaiHoSo="10",
        NgayKetThucXuLy="20231201080000"),
]


def test_reports_see_r_e_a_as_section_5_defines_them(app: Motcua, tmp_path: Path) -> None:
    import_file(write(tmp_path / "dvcqg.json", PERIOD_RECORDS), app)
    facts = folded(app)
    a, c, e = facts[code(1)], facts[code(3)], facts[code(5)]
    assert (a.received_at, a.ended_at, a.appointment) == (
        datetime(2024, 1, 1, 8, tzinfo=VN_TZ), datetime(2024, 1, 3, 10, tzinfo=VN_TZ),
        datetime(2024, 1, 5, 17, tzinfo=VN_TZ))
    assert (c.channel, e.channel, facts[code(2)].channel) == (3, None, 2)
    assert e.appointment == datetime(2024, 2, 9, 17, tzinfo=VN_TZ)
    assert facts[code(2)].ended_at is None and all(f.imported for f in facts.values())
    q1 = bieu06(facts.values(), *Q1).total.counts()
    assert q1 == {"total": 7, "online": 2, "direct_postal": 4, "carried_over": 1,
                  "resolved": 4, "resolved_early": 1, "resolved_on_time": 1, "resolved_late": 2,
                  "pending": 3, "pending_within": 2, "pending_overdue": 1}
    year = bieu06(facts.values(), *YEAR_2023).total.counts()
    assert (year["total"], year["direct_postal"], year["resolved_late"], year["pending_within"]) == (2, 2, 1, 1)


def test_the_tracking_book_lists_the_accepted_dossiers_alone(app: Motcua, tmp_path: Path) -> None:
    """A record never accepted (i: refused, with a reception date) is in no report: not in Biểu 06, not in the book."""
    import_file(write(tmp_path / "dvcqg.json", PERIOD_RECORDS), app)
    book = tracking_book(app.store.entries(), app.workflows.status_of, *Q1)
    assert [row.code for row in book] == [code(1), code(5), code(4), code(6), code(7), code(2)]


def test_imported_facts_carry_fees_payment_and_digitisation(app: Motcua, tmp_path: Path) -> None:
    import_file(write(tmp_path / "dvcqg.json", GOOD), app)
    returned, pending = folded(app)[code(1)], folded(app)[code(5)]
    flags = ("fee", "paid_online", "digitized", "electronic_result", "field_code", "field_name", "procedure")
    assert [getattr(returned, f) for f in flags] == [8000, True, True, True, "HT", "Hộ tịch", "1.001193"]
    assert [getattr(pending, f) for f in flags] == [0, False, False, False, "HT", "Hộ tịch", "1.001193"]


# -- the command line ------------------------------------------------------------------------------


def test_the_cli_imports_then_verify_passes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'motcua.db'}"
    path = write(tmp_path / "dvcqg.json", GOOD)
    runner = CliRunner()
    first = runner.invoke(motcua_cli, ["import", "dvcqg", str(path), "--db", url])
    assert first.exit_code == 0, first.stderr
    assert "5 created, 0 updated, 0 unchanged" in first.stdout
    again = runner.invoke(motcua_cli, ["import", "dvcqg", str(path), "--db", url])
    assert "0 created, 0 updated, 5 unchanged" in again.stdout
    checked = runner.invoke(motcua_cli, ["verify", "--db", url])
    assert checked.exit_code == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(b"MaHoSo;TrangThaiHoSo\n", "not JSON", id="csv"),
        pytest.param(b'[{"MaHoSo": "x"', "not JSON", id="truncated"),
        pytest.param(b"[] []", "not JSON", id="trailing-garbage"),
        pytest.param(b"", "not JSON", id="empty"),
        pytest.param(b"42", "expected a JSON list of records", id="a-number"),
        pytest.param(b'{"service": "DongBoHoSoMC", "isUpdating": true}', 'no "data" list', id="no-data"),
        pytest.param(b'{"data": {"MaHoSo": "x"}}', '"data" must be a list', id="data-not-a-list"),
        pytest.param(b'{"service": "CapNhatTienDoHoSoMC", "data": []}', "only DongBoHoSoMC", id="progress-records"),
        pytest.param(b"[1" + b"0" * 5_000 + b"]", "a number of more than 4,300 digits", id="5001-digit-number"),
        pytest.param(b'{"service": "DongBoHoSoMC", "isUpdating": ' + b"9" * 4_301 + b', "data": []}',
                     "a number of more than 4,300 digits", id="4301-digit-isUpdating"),
        pytest.param(b'[{"MaHoSo": "Tr\\ud800n"}]', "a lone surrogate escaped at byte 15", id="lone-high-surrogate"),
        pytest.param(b'{"data": [], "data": [{"MaHoSo": "x"}]}', '"data" given twice', id="data-twice"),
        pytest.param(b'[{"MaHoSo": "a", "MaHoSo": "b"}]', "record 0: key 'MaHoSo' given twice", id="key-twice"),
    ],
)
# The file is named relative to the test's directory: an error echoes a path of at most 80 characters (longer ones
# are cut, saying so), and a temporary directory's absolute path may be longer (under pytest-xdist, say).


def test_a_bad_file_is_one_line_and_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes,
                                           expected: str) -> None:
    monkeypatch.chdir(tmp_path)
    Path("bad.json").write_bytes(content)
    result = CliRunner().invoke(cli, ["import", "dvcqg", "bad.json", "--db", "sqlite:///motcua.db"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: bad.json: ") and expected in lines[0]


def test_a_missing_file_is_one_line_and_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["import", "dvcqg", "nowhere.json", "--db", "sqlite:///motcua.db"])
    assert (result.exit_code, result.stderr.strip()) == (2, "error: nowhere.json: no such file")


def test_refused_records_are_listed_and_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(Path("dvcqg.json"), [rec(1), rec(2, KenhThucHien="9"), rec(3, MaHoSo=DROP)])
    url = "sqlite:///motcua.db"
    result = CliRunner().invoke(cli, ["import", "dvcqg", str(path), "--db", url])
    assert result.exit_code == 2
    refused = [line for line in result.stderr.splitlines() if line.startswith(("refused", "error"))]
    assert refused == [
        f"refused record 1 (MaHoSo '{code(2)}'): KenhThucHien: unknown code '9': expected 1–3",
        "refused record 2 (no MaHoSo): MaHoSo: missing",
        f"error: {path}: 2 of 3 records refused, nothing was written",
    ]


# -- records, strictly -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "attribute", "value"),
    [
        ({"TrangThaiHoSo": 4}, "status", 4),
        ({"TrangThaiHoSo": "10", "NgayKetThucXuLy": "20240304100000"}, "status", 10),
        ({"KenhThucHien": ""}, "channel", None),
        ({"KenhThucHien": None}, "channel", None),
        ({"KenhThucHien": DROP}, "channel", None),
        ({"HoSoCoThanhPhanSoHoa": True}, "digitized", True),
        ({"HoSoCoThanhPhanSoHoa": 1}, "digitized", True),
        ({"HoSoCoThanhPhanSoHoa": ""}, "digitized", False),
        ({"NgayHenTra": ""}, "appointment", None),
        ({"DanhSachLePhi": None}, "fees", ()),
        ({"TenLinhVuc": "  Ho\u0302\u0323 tịch "}, "field_name", "Hộ tịch"),  # NFC, trimmed
        ({"MaHoSo": " X-1 "}, "code", "X-1"),  # MaHoSo trimmed: " X-1 " is no second dossier
    ],
)
def test_a_record_reads_what_portals_send(fields: dict[str, Any], attribute: str, value: object) -> None:
    assert getattr(parse_record(rec(1, **fields), 0), attribute) == value


def test_fees_add_up_whatever_their_spelling() -> None:
    fees = [{"Gia": "8000"}, {"Gia": 2000}, {"Gia": 500.0}, {"Gia": ""}]
    assert sum(fee.amount for fee in parse_record(rec(1, DanhSachLePhi=fees), 0).fees) == 10500


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"TrangThaiHoSo": 4.0}, "TrangThaiHoSo"),
        ({"TrangThaiHoSo": True}, "TrangThaiHoSo"),
        ({"TrangThaiHoSo": "4a"}, "TrangThaiHoSo"),
        ({"TrangThaiHoSo": DROP}, "TrangThaiHoSo"),
        ({"KenhThucHien": 0}, "KenhThucHien"),
        ({"LoaiDoiTuong": "5"}, "LoaiDoiTuong"),
        ({"NgayTiepNhan": 20240301080000}, "NgayTiepNhan"),
        ({"NgayTiepNhan": "2024030108000"}, "NgayTiepNhan"),
        ({"NgayTiepNhan": "20241301080000"}, "NgayTiepNhan"),
        ({"NgayTiepNhan": "20240301250000"}, "NgayTiepNhan"),
        ({"HoSoCoThanhPhanSoHoa": "2"}, "HoSoCoThanhPhanSoHoa"),
        ({"DuocThanhToanTrucTuyen": "3"}, "DuocThanhToanTrucTuyen"),
        ({"DanhSachLePhi": [{"Gia": -1}]}, "DanhSachLePhi[0].Gia"),
        ({"DanhSachLePhi": "8000"}, "DanhSachLePhi"),
        ({"MaTTHC": 1001193}, "MaTTHC"),
        ({"TenTTHC": ["a"]}, "TenTTHC"),
    ],
)
def test_a_record_is_strict_on_what_motcua_uses(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(RecordRefused) as refused:
        parse_record(rec(7, **fields), 3)
    assert refused.value.index == 3 and field in [problem.field for problem in refused.value.problems]


def test_the_dossier_workflow_must_have_the_states_an_import_lands_in() -> None:
    motcua = open_motcua("memory://", observers=[])
    raw = motcua.workflows.latest("tthc-dossier").definition.model_dump(mode="json")
    raw["regions"]["lifecycle"]["states"]["returned"]["status_code"] = 9
    del raw["regions"]["records"]["states"]["result_digitized"]
    del raw["triggers"]["issue_electronic_result"]
    with pytest.raises(InvalidDefinition) as invalid:
        check_dossier_workflow(WorkflowDefinition.model_validate(raw))
    assert invalid.value.problems == (
        "lifecycle state 'returned' with status_code 10 is needed by the DVCQG import",
        "records state 'result_digitized' is needed by the DVCQG import",
    )


# -- a large file ----------------------------------------------------------------------------------

GENERATED = 4_000  # 16 batches of BATCH; the CLI was run by hand on 100,000 (see the import report in the handover)
LINK = "https://dichvucong.gov.vn/files/" + "x" * 1400
ATTACHED = 2  # other attached files a generated record lists, links of 1.4 kB: records of 3.7 kB, a 15 MB file


def generated_records(count: int) -> Iterator[dict[str, Any]]:
    """``count`` records of a few kilobytes each, as portals send them: most of the bytes are the links of attached
    files (a field motcua does not read, parsed and dropped like any other)."""
    start = datetime(2023, 1, 2, 8, 0)
    statuses = ("2", "4", "5", "6", "7", "8", "9", "10", "1", "3")
    for n in range(count):
        received = start + timedelta(minutes=7 * n)
        status = statuses[n % 10]
        ended = f"{received + timedelta(days=n % 9):%Y%m%d%H%M%S}" if status in ("7", "8", "9", "10") else ""
        yield rec(n, MaHoSo=f"000.00.06.H23-{received:%y%m%d}-{n:06d}", NgayTiepNhan=f"{received:%Y%m%d%H%M%S}",
                  NgayHenTra=f"{received + timedelta(days=5):%Y%m%d}170000", TrangThaiHoSo=status,
                  KenhThucHien=str(n % 3 + 1), HoSoCoThanhPhanSoHoa=str(n % 2), NgayKetThucXuLy=ended,
                  DanhSachLePhi=[{"TenPhiLePhi": "Lệ phí", "Gia": "8000"}] if n % 4 == 0 else [],
                  **{UNUSED: [{"TenTepDinhKem": f"Tệp {k}", "DuongDanTepDinhKem": f"{LINK}/{n:06d}/{k:02d}.pdf"}
                              for k in range(ATTACHED)]})


def write_generated(path: Path, count: int) -> Path:
    """A sync body of ``count`` generated records, written a record at a time."""
    with path.open("w", encoding="utf-8") as out:
        out.write('{"service": "DongBoHoSoMC", "isUpdating": false, "data": [\n')
        for n, record in enumerate(generated_records(count)):
            out.write((",\n" if n else "") + json.dumps(record, ensure_ascii=False))
        out.write("\n]}\n")
    return path


def test_a_large_file_streams_in_bounded_memory(tmp_path: Path) -> None:
    path = write_generated(tmp_path / "large.json", GENERATED)
    size = path.stat().st_size
    app = open_motcua(f"sqlite:///{tmp_path / 'motcua.db'}", clock=ManualClock(IMPORT_AT), observers=[])
    try:
        tracemalloc.start()
        report = import_file(path, app)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert counts(report) == (GENERATED, GENERATED, 0, 0)
        assert peak < size / 3, f"peak {peak:,} B for a file of {size:,} B"  # ~4 MB at any size (BATCH)
        assert rows(app) == (GENERATED, GENERATED)
    finally:
        app.close()


# -- bounds: odd bytes, over-long values, deep nesting, huge records (issue 14) ------------------------------------


UNUSED = "DanhSachTepDinhKemKhac"  # a field of the practice motcua does not read (other attached files)


def nested(depth: int) -> str:
    """A JSON value ``depth`` lists deep, as text: no JSON encoder of Python writes 50,000 levels."""
    return "[" * depth + "]" * depth


def write_raw(path: Path, records: list[dict[str, Any]], raw: dict[str, str]) -> Path:
    """A sync body whose last record also holds the ``raw`` JSON texts (field → JSON) as they are, in place of the
    fields of the same names (a key given twice is refused)."""
    path.write_text(raw_text(records, raw), encoding="utf-8")
    return path


def raw_text(records: list[dict[str, Any]], raw: dict[str, str]) -> str:
    """The text :func:`write_raw` writes."""
    *first, last = records
    last = {key: value for key, value in last.items() if key not in raw}
    extra = "".join(f", {json.dumps(key)}: {value}" for key, value in raw.items())
    body = json.dumps(last, ensure_ascii=False)[:-1] + extra + "}"
    head = "".join(json.dumps(record, ensure_ascii=False) + ", " for record in first)
    return '{"service": "DongBoHoSoMC", "data": [' + head + body + "]}"


HOSTILE_RECORDS = [
    pytest.param({"MaHoSo": code(9) + "\x00"}, {}, "MaHoSo", id="nul-in-MaHoSo"),
    pytest.param({"MaHoSo": "A" * 100_000}, {}, "MaHoSo", id="100000-character-MaHoSo"),
    pytest.param({"MaHoSo": "A" * 101}, {}, "MaHoSo", id="101-character-MaHoSo"),
    pytest.param({"ChuHoSo": "B" * 20_000_000}, {}, "ChuHoSo", id="20-MB-ChuHoSo"),
    pytest.param({"ChuHoSo": "B" * 501}, {}, "ChuHoSo", id="501-character-ChuHoSo"),
    pytest.param({"ChuHoSo": "Trần\x00Văn An"}, {}, "ChuHoSo", id="nul-in-ChuHoSo"),
    pytest.param({"SoDienThoai": "0912\r\n345678"}, {}, "SoDienThoai", id="line-break-in-a-phone-number"),
    pytest.param({"TrichYeuHoSo": "\x1b]0;owned\x07"}, {}, "TrichYeuHoSo", id="escape-sequence-in-the-summary"),
    pytest.param({"TrichYeuHoSo": "x" * 2_001}, {}, "TrichYeuHoSo", id="2001-character-summary"),
    pytest.param({"MaTTHC": "1" * 65}, {}, "MaTTHC", id="65-character-procedure-code"),
    pytest.param({"DanhSachLePhi": [{"TenPhiLePhi": "Lệ\x00phí", "Gia": "8000"}]}, {}, "DanhSachLePhi[0].TenPhiLePhi",
                 id="nul-in-a-fee"),
    pytest.param({}, {"ChuHoSo": nested(50_000)}, "ChuHoSo", id="ChuHoSo-nested-50000-deep"),
    pytest.param({}, {"ChuHoSo": nested(500_000)}, "ChuHoSo", id="ChuHoSo-nested-500000-deep"),  # a 1 MB record
    # TaiLieuNop is read since issue 16 (component files): the unused field is now DanhSachTepDinhKemKhac
    pytest.param({}, {UNUSED: nested(50_000)}, UNUSED, id="unused-field-nested-50000-deep"),
    pytest.param({}, {UNUSED: nested(8)}, UNUSED, id="unused-field-nested-9-deep"),
    pytest.param({}, {UNUSED: json.dumps(["x" * 1000] * 1_100)}, UNUSED, id="unused-field-of-1-MB"),
]


@pytest.mark.parametrize(("fields", "raw", "field"), HOSTILE_RECORDS)
def test_a_hostile_record_refuses_the_whole_file_before_anything_is_written(
    app: Motcua, tmp_path: Path, fields: dict[str, Any], raw: dict[str, str], field: str
) -> None:
    path = write_raw(tmp_path / "hostile.json", [rec(8), rec(9, **fields)], raw)

    with pytest.raises(FileRefused) as refused:
        import_file(path, app)

    (record,) = refused.value.refused
    assert record.index == 1 and field in [problem.field for problem in record.problems], str(record)[:500]
    assert len(str(record)) < 400, str(record)[:500]  # named, never quoted
    assert rows(app) == (0, 0)


def test_the_parser_never_builds_a_path_deeper_than_the_cut() -> None:
    """ijson keeps the path to every value (its prefix), so a value n deep costs n² before anything can refuse it:
    12 s at 50,000 levels, an hour at 500,000. Containers deeper than the cut never reach that parser."""
    text = '{"service": "DongBoHoSoMC", "x": ' + nested(500_000) + ', "data": [{"ChuHoSo": ' + nested(500_000) + "}]}"
    depth = deepest = 0
    for event, _ in _cut(ijson.basic_parse(io.BytesIO(text.encode()))):
        depth += (event in ("start_map", "start_array")) - (event in ("end_map", "end_array"))
        deepest = max(deepest, depth)
    assert deepest == _CUT and depth == 0
    assert _CUT - 3 > JSON_DEPTH_MAX  # a cut field (below the body, its list and the record) is refused anyway


def test_no_path_the_parser_builds_grows_with_a_key_or_the_depth(tmp_path: Path) -> None:
    """ijson's own parse joins the whole path for every event: a 400,000-character key above 200,000 others took 7 s
    (quadratic in the file). The paths compared are two levels of short names; nothing longer is built."""
    key = "k" * 400_000
    many = ", ".join(['"a": 0'] * 20_000)
    text = ('{"service": "DongBoHoSoMC", "' + key + '": {' + many + '}, "data": [{"' + key + '": {' + many + "}}]}")
    path = tmp_path / "long-keys.json"
    path.write_text(text, encoding="utf-8")
    reader = _HashingReader(path)
    try:
        prefixes = {prefix for prefix, _, _ in _parsed(reader)}
    finally:
        reader.close()
    assert {"", "service", "data", "data.item"} <= prefixes
    assert max(len(prefix) for prefix in prefixes) <= len("data.item")


def test_a_number_before_the_records_is_read_as_the_head_scan_always_read_it(app: Motcua, tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"x": 99999999999999999999, "service": "Other", "data": []}', encoding="utf-8")
    with pytest.raises(BadFile, match="service 'Other': only DongBoHoSoMC"):
        import_file(path, app)


def test_tabs_and_line_breaks_are_free_text_in_a_summary_only(app: Motcua, tmp_path: Path) -> None:
    report = import_file(write(tmp_path / "ok.json", [rec(1, TrichYeuHoSo="Khai sinh\r\ncho con\tthứ hai")]), app)
    assert counts(report) == (1, 1, 0, 0)
    (case,) = app.store.cases()
    assert case.attributes["summary"] == "Khai sinh\r\ncho con\tthứ hai"


def test_the_longest_values_in_bounds_import(app: Motcua, tmp_path: Path) -> None:
    longest = rec(1, MaHoSo="M" * 100, MaTTHC="1" * 64, TenTTHC="T" * 500, ChuHoSo="Đ" * 500, TrichYeuHoSo="x" * 2000,
                  **{UNUSED: json.loads(nested(7))})
    assert counts(import_file(write(tmp_path / "longest.json", [longest]), app)) == (1, 1, 0, 0)


def test_the_cli_names_a_hostile_record_in_a_few_lines(tmp_path: Path) -> None:
    path = write_raw(tmp_path / "hostile.json", [rec(8, MaHoSo="A" * 100_000), rec(9)], {"ChuHoSo": nested(50_000)})
    url = f"sqlite:///{tmp_path / 'motcua.db'}"
    result = CliRunner().invoke(cli, ["import", "dvcqg", str(path), "--db", url])
    assert result.exit_code == 2
    assert len(result.stderr) < 1_000, result.stderr[:1_000]
    assert "MaHoSo: longer than 100 characters (100000)" in " ".join(result.stderr.split())
    assert "ChuHoSo: nested more than 8 deep" in " ".join(result.stderr.split())


def test_a_lone_surrogate_the_parser_cannot_decode_is_a_bad_file_not_a_crash(app: Motcua, tmp_path: Path) -> None:
    path = write_raw(tmp_path / "surrogate.json", [rec(8), rec(9)], {"TenTTHC": '"\\udfff"'})
    with pytest.raises(BadFile) as refused:
        import_file(path, app)
    assert "not UTF-8 text" in str(refused.value)
    assert rows(app) == (0, 0)


# -- what the parser would read otherwise than the file says (review of the import) ---------------------------------


BUFFER = 64 * 1024  # ijson reads its file in chunks of this many bytes
HUGE = "1" + "0" * 5_000  # more digits than Python converts to an integer (4,300)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(raw_text([rec(8), rec(9)], {"TrangThaiHoSo": HUGE}), id="a-record-field"),
        pytest.param(raw_text([rec(8), rec(9)], {UNUSED: "-" + HUGE}), id="a-negative-number"),
        pytest.param('{"service": "DongBoHoSoMC", "isUpdating": ' + HUGE + ', "data": []}', id="isUpdating"),
        pytest.param('{"x": ' + HUGE + ', "service": "DongBoHoSoMC", "data": []}', id="before-the-records"),
        pytest.param(json.dumps([rec(8)])[:-1] + ", " + HUGE + "]", id="a-bare-list"),
        pytest.param(raw_text([rec(8), rec(9)], {UNUSED: "[" * 20 + HUGE + "]" * 20}), id="below-the-cut"),
        pytest.param(raw_text([rec(8), rec(9)], {UNUSED: "{" + '"a": {' * 20 + f'"b": {HUGE}' + "}" * 21}),
                     id="below-the-cut-in-an-object"),
    ],
)
def test_a_number_python_cannot_convert_is_a_bad_file(app: Motcua, tmp_path: Path, text: str) -> None:
    path = tmp_path / "huge.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BadFile) as refused:
        import_file(path, app)
    assert refused.value.reason == "not JSON motcua reads: a number of more than 4,300 digits"
    assert rows(app) == (0, 0)


def test_a_long_number_past_the_first_chunk_is_refused_by_the_parser_itself(app: Motcua, tmp_path: Path) -> None:
    """Past the head of the file, records are read with integers of at most 64 bits: the parser refuses longer ones."""
    path = write_raw(tmp_path / "far.json", [rec(8, **{UNUSED: "x" * BUFFER}), rec(9)], {UNUSED: HUGE})
    with pytest.raises(BadFile, match="not JSON: parse error: integer overflow"):
        import_file(path, app)
    assert rows(app) == (0, 0)


@pytest.mark.parametrize("error", [ValueError("the importer's own"), UnicodeDecodeError("utf-8", b"\xff", 0, 1, "own")])
def test_an_error_of_the_importers_own_code_is_not_read_as_the_files(
    app: Motcua, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: ValueError
) -> None:
    def failing(self: DvcqgImport, raw: object, index: int, at: datetime) -> None:
        raise error

    monkeypatch.setattr(DvcqgImport, "read", failing)
    with pytest.raises(type(error)) as raised:
        import_file(write(tmp_path / "dvcqg.json", GOOD), app)
    assert raised.value is error
    assert rows(app) == (0, 0)


def fed(text: bytes, size: int) -> int | None:
    """What :class:`_SurrogateScan` finds in ``text`` handed over ``size`` bytes at a time, then the end."""
    scan = _SurrogateScan()
    for start in range(0, len(text), size):
        if (found := scan.feed(text[start:start + size])) is not None:
            return found
    return scan.feed(b"")


def split_twice(text: bytes, first: int, second: int) -> int | None:
    scan = _SurrogateScan()
    for chunk in (text[:first], text[first:second], text[second:]):
        if chunk and (found := scan.feed(chunk)) is not None:  # an empty chunk is the end of the text
            return found
    return scan.feed(b"")


SURROGATES = [
    pytest.param(rb'["Tr\ud800n"]', 4, id="lone-high"),
    pytest.param(rb'["Tr\uDBFFn"]', 4, id="lone-high-upper-case"),
    pytest.param(rb'["Tr\ud800\u0041n"]', 4, id="high-then-another-escape"),
    pytest.param(rb'["\ud800\ud800\udc00"]', 2, id="high-then-a-pair"),
    pytest.param(rb'["\ud800\\udc00"]', 2, id="high-then-an-escaped-backslash"),
    pytest.param(rb'["\\\ud800"]', 4, id="an-escaped-backslash-then-a-high"),
    pytest.param(rb'["x", "' + b"\\" * 1_001 + rb'ud800"]', 7 + 1_000, id="after-an-odd-run-of-1001-backslashes"),
    pytest.param(rb'["x\ud800', 3, id="high-at-the-end-of-the-text"),
    pytest.param(rb'["\ud83d\ude00"]', None, id="a-pair"),
    pytest.param(rb'["\uD83D\uDE00 \udbff\udfff"]', None, id="pairs-upper-case"),
    pytest.param(rb'["\\ud800"]', None, id="an-escaped-backslash-then-text"),
    pytest.param(rb'["\\\\ud800"]', None, id="two-escaped-backslashes-then-text"),
    pytest.param(rb'["x", "' + b"\\" * 1_000 + rb'ud800"]', None, id="after-an-even-run-of-1000-backslashes"),
    pytest.param(rb'["\udfff", "\uFFFF", "\ud7ff", "\ue000"]', None, id="no-high-surrogate"),  # the parser's own
    pytest.param(rb'["\ud8"]', None, id="not-an-escape"),
]


@pytest.mark.parametrize(("text", "offset"), SURROGATES)
def test_a_lone_high_surrogate_is_found_however_the_text_is_cut(text: bytes, offset: int | None) -> None:
    assert fed(text, len(text) + 1) == offset
    for size in (1, 2, 3, 5, 7, 11, 12, 13):
        assert fed(text, size) == offset, size
    for first in range(len(text) + 1):
        for second in range(first, min(first + 14, len(text)) + 1):
            assert split_twice(text, first, second) == offset, (first, second)


@pytest.mark.parametrize(
    ("escape", "imports"),
    [
        pytest.param("\\ud800", False, id="lone-high"),
        pytest.param("\\ud800\\u0041", False, id="high-then-another-escape"),
        pytest.param("\\ud83d\\ude00", True, id="a-pair"),
        pytest.param("\\\\ud800", True, id="an-escaped-backslash"),
    ],
)
@pytest.mark.parametrize("shift", [-12, -11, -6, -5, -3, -1, 0])
def test_a_lone_high_surrogate_across_the_parsers_buffer_is_refused(
    tmp_path: Path, escape: str, imports: bool, shift: int
) -> None:
    """The escape starts ``shift`` bytes from the end of the parser's first chunk: split across two reads, or not."""
    app = open_motcua("memory://", clock=ManualClock(IMPORT_AT), observers=[])
    marker = "MARKER"
    text = raw_text([rec(8)], {UNUSED: json.dumps("x" * 10 + marker)})
    pad = BUFFER + shift - text.encode().index(marker.encode())
    text = text.replace(marker, "x" * pad + escape)
    assert text.encode().index(escape.encode()) == BUFFER + shift
    path = tmp_path / "across.json"
    path.write_text(text, encoding="utf-8")
    if imports:
        assert counts(import_file(path, app)) == (1, 1, 0, 0)
        return
    with pytest.raises(BadFile) as refused:
        import_file(path, app)
    assert f"a lone surrogate escaped at byte {BUFFER + shift} " in refused.value.reason
    assert rows(app) == (0, 0)


def test_a_lone_high_surrogate_is_named_by_its_byte_in_the_file_a_byte_order_mark_counted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # a short path: an error echoes at most 80 characters of it
    text = raw_text([rec(8), rec(9)], {"ChuHoSo": '"Tr\\ud800n"'}).encode()
    at = 3 + text.index(rb"\ud800")
    path = Path("bom.json")
    path.write_bytes(b"\xef\xbb\xbf" + text)
    result = CliRunner().invoke(cli, ["import", "dvcqg", str(path), "--db", "sqlite:///motcua.db"])
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line == (f"error: {path}: not UTF-8 text: a lone surrogate escaped at byte {at} "
                    "(\\uD800–\\uDBFF not followed by \\uDC00–\\uDFFF)")


DUPLICATES = [
    pytest.param(raw_text([rec(8), rec(9)], {"MaHoSo": json.dumps(code(9)) + ', "MaHoSo": "X-9999"'}),
                 "record 1: key 'MaHoSo' given twice in one object", id="MaHoSo-twice"),
    pytest.param(raw_text([rec(8)], {"DanhSachLePhi": '[{"Gia": "8000", "Gia": "0"}]'}),
                 "record 0: key 'Gia' given twice in one object", id="a-fee-amount-twice"),
    pytest.param(raw_text([rec(8), rec(9)], {UNUSED: '[{"a": {"b": 1, "b": 2}}]'}),
                 "record 1: key 'b' given twice in one object", id="twice-deep-in-an-unused-field"),
    pytest.param(raw_text([rec(8)], {UNUSED: '{"' + "k" * 10_000 + '": 1, "' + "k" * 10_000 + '": 2}'}),
                 f"record 0: key {'k' * 40!r}… (10000 characters) given twice", id="a-long-key-twice"),
    pytest.param("[" + json.dumps(rec(8))[:-1] + ', "TrangThaiHoSo": "10"}]',
                 "record 0: key 'TrangThaiHoSo' given twice", id="in-a-bare-list"),
    pytest.param('{"data": [' + json.dumps(rec(31)) + '], "data": [' + json.dumps(rec(32)) + "]}",
                 '"data" given twice in the sync body', id="two-data-lists"),
    pytest.param('{"service": "DongBoHoSoMC", "data": [], "data": [' + json.dumps(rec(11)) + "]}",
                 '"data" given twice in the sync body', id="an-empty-data-list-then-another"),
    pytest.param('{"service": "DongBoHoSoMC", "service": "DongBoHoSoMC", "data": []}',
                 '"service" given twice in the sync body', id="service-twice"),
    pytest.param('{"isUpdating": false, "data": [], "isUpdating": true}', '"isUpdating" given twice in the sync body',
                 id="isUpdating-twice-after-the-records"),
]


@pytest.mark.parametrize(("text", "expected"), DUPLICATES)
def test_a_key_given_twice_is_a_bad_file_and_nothing_is_written(
    app: Motcua, tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "twice.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BadFile) as refused:
        import_file(path, app)
    assert expected in refused.value.reason
    assert len(refused.value.reason) < 200
    assert rows(app) == (0, 0)


def test_the_same_key_in_two_objects_and_another_body_key_twice_import(app: Motcua, tmp_path: Path) -> None:
    """Each object has its own keys; a key of the body motcua does not read is not remembered (memory stays bounded)."""
    fees = json.dumps([{"Gia": "8000"}, {"Gia": "2000"}])
    text = raw_text([rec(8), rec(9)], {"DanhSachLePhi": fees})
    path = tmp_path / "ok.json"
    path.write_text(text[:-1] + ', "note": 1, "note": 2}', encoding="utf-8")
    assert counts(import_file(path, app)) == (2, 2, 0, 0)


def test_an_unchanged_record_of_a_dossier_imported_before_resumed_at_decides_nothing(
    app: Motcua, tmp_path: Path
) -> None:
    """``resumed_at`` is read only when an import sees a pause end: a dossier already past its supplement is not
    changed by the same record again."""
    supplied = rec(2, DanhSachHoSoBoSung=[{"NgayBoSung": "20240302090000", "NgayTiepNhanBoSung": "20240304090000",
                                           "NgayHenTraTruoc": "20240305170000", "NgayHenTraMoi": "20240307170000"}])
    import_file(write(tmp_path / "dvcqg.json", [supplied]), app)
    report = import_file(write(tmp_path / "dvcqg.json", [supplied]), app, at=IMPORT_AT + timedelta(days=1))
    assert counts(report) == (1, 0, 0, 1)
    assert "resumed_at" not in app.store.load(code(2)).attributes
