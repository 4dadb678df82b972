"""The DVCQG dossier record from 25/01/2026 (Circular 04/2025/TT-VPCP, docs/reference/dvcqg-records.md): the
component files with their digitisation and reuse flags, the link of each electronic result, the fee lines and the
online payment channel; the format chosen by the day a record is sent; export → import gives the same dossier; and
bad component or result items refused, naming the record and the field."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.entrypoints.importer import import_file
from motcua.workflow.dossiers.catalogue import Catalogue
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.dvcqg.imports import DvcqgImport
from motcua.workflow.dvcqg.portal import dossier_record
from motcua.workflow.dvcqg.records import TT04_2025_FROM, parse_record, record_format
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.definition import DataField
from motcua.workflow.engine.model import Case, JsonValue
from motcua.workflow.errors import GuardRejected, MalformedData, RecordRefused
from tests.conftest import LEADER, OFFICER, SPECIALIST
from tests.unit.test_catalogue_versions import MOVED, procedure

APPLICANT = Applicant("Trần Văn An", phone="0912345678", email="an@example.vn")
AGENCY = "000.00.00.H23"
FEE_PROCEDURE = "2.001019"  # a fee of 50 000 đồng per case
BEFORE = datetime(2026, 1, 24, 23, 59, 59, tzinfo=VN_TZ)  # the last instant of the practice's format
FROM = datetime(2026, 1, 25, 0, 0, tzinfo=VN_TZ)  # Circular 04/2025/TT-VPCP in force
FILES: list[JsonValue] = [
    {"component": "Tờ khai chứng thực", "file": "https://dvc.example.vn/tep/to-khai.pdf", "digitized": True},
    {"component": "Bản sao CCCD", "file": "cccd.pdf", "digitized": True, "reused": True},
]
RESULT_URL = "https://dvc.example.vn/ket-qua/KQ-1.pdf"


def dossier(motcua: Motcua, clock: ManualClock, *, channel: str | None = "provincial") -> str:
    """Received 2024, the components digitised, the fee asked and paid online, approved, its result issued with a
    link."""
    code = motcua.desk.receive(FEE_PROCEDURE, "direct", APPLICANT, OFFICER).code
    paid: dict[str, JsonValue] = {"online": True, **({"payment_channel": channel} if channel else {})}
    steps: list[tuple[str, Any, dict[str, JsonValue]]] = [
        ("digitize", OFFICER, {"components": 2, "component_files": FILES}),
        ("assign", OFFICER, {"assignee": SPECIALIST.name}),
        ("request_payment", SPECIALIST, {"amount": 50000}), ("payment_received", OFFICER, paid),
        ("submit_for_approval", SPECIALIST, {"approver": LEADER.name}), ("approve", LEADER, {}),
        ("issue_electronic_result", OFFICER, {"result_code": "KQ-1", "result_url": RESULT_URL}),
        ("mark_result_ready", OFFICER, {}),
    ]
    for trigger, actor, data in steps:
        clock.advance(timedelta(hours=1))
        motcua.service.fire(code, trigger, actor, data)
    return code


def record_of(motcua: Motcua, code: str, at: datetime) -> dict[str, JsonValue]:
    case, entries = motcua.store.load(code), motcua.store.history(code)
    definition = motcua.workflows.get(case.definition_key, case.definition_version).definition
    return dossier_record(case, entries, definition, AGENCY, at=at)


# -- the format follows the day of sending ---------------------------------------------------------


def test_the_format_switches_on_the_day_the_circular_takes_effect() -> None:
    assert date(2026, 1, 25) == TT04_2025_FROM
    assert [record_format(day) for day in (date(2026, 1, 24), date(2026, 1, 25), date(2027, 1, 1))] == [
        "practice", "tt04-2025", "tt04-2025"]


def test_a_dossier_received_in_2024_is_sent_in_the_format_of_the_day_it_is_synced(
    motcua: Motcua, clock: ManualClock
) -> None:
    code = dossier(motcua, clock)

    before, after = record_of(motcua, code, BEFORE), record_of(motcua, code, FROM)

    assert (before["TaiLieuNop"], before["DuocThanhToanTrucTuyen"]) == ([], 1)  # what motcua sent until then
    assert before["DanhSachGiayToKetQua"] == [{"MaGiayToKetQua": "KQ-1", "TenGiayTo": "Kết quả: Chứng thực di chúc"}]
    assert after["TaiLieuNop"] == [
        {"TepDinhKemId": "1", "TenTepDinhKem": "to-khai.pdf", "IsDeleted": 0, "MaThanhPhanHoSo": "Tờ khai chứng thực",
         "DuongDanTaiTepTin": "https://dvc.example.vn/tep/to-khai.pdf", "DuocSoHoa": 1, "DuocTaiSuDung": 0},
        {"TepDinhKemId": "2", "TenTepDinhKem": "cccd.pdf", "IsDeleted": 0, "MaThanhPhanHoSo": "Bản sao CCCD",
         "DuongDanTaiTepTin": "", "DuocSoHoa": 1, "DuocTaiSuDung": 1},
    ]
    assert after["DanhSachGiayToKetQua"] == [{"MaGiayToKetQua": "KQ-1", "TenGiayTo": "Kết quả: Chứng thực di chúc",
                                              "DuongDanTepTinKetQua": RESULT_URL}]
    assert (after["DuocThanhToanTrucTuyen"], after["HoSoCoThanhPhanSoHoa"]) == (2, 1)  # a provincial portal
    assert after["DanhSachLePhi"] == [{"MaPhiLePhi": FEE_PROCEDURE, "TenPhiLePhi": "Phí, lệ phí: Chứng thực di chúc",
                                       "Gia": 50000}]  # the amount asked
    unchanged = set(before) - {"TaiLieuNop", "DanhSachGiayToKetQua", "DuocThanhToanTrucTuyen", "DanhSachLePhi",
                               "HoSoCoThanhPhanSoHoa"}
    assert {key: after[key] for key in unchanged} == {key: before[key] for key in unchanged}


def test_paid_online_without_a_channel_is_the_national_platform_as_before(motcua: Motcua, clock: ManualClock) -> None:
    code = dossier(motcua, clock, channel=None)
    assert record_of(motcua, code, FROM)["DuocThanhToanTrucTuyen"] == 1
    assert motcua.store.load(code).attributes.get("payment_channel") is None


# -- fee lines from the schedule -------------------------------------------------------------------


def _with(case: Case, **attributes: JsonValue) -> Case:
    kept = {k: v for k, v in case.attributes.items() if k not in ("fee_schedule", "fee")}
    return dataclasses.replace(case, attributes={**kept, **attributes})


@pytest.mark.parametrize(
    ("attributes", "lines"),
    [
        pytest.param({"fee_schedule": {"kind": "per_case", "amount": 10000, "basis": "TT 226/2016/TT-BTC"},
                      "fee": 10000}, [10000], id="per-case"),
        pytest.param({"fee_schedule": {"kind": "exempt", "basis": "Luật Hộ tịch 2014, Điều 11"}, "fee": 0}, [0],
                     id="exempt-is-a-line-of-0"),
        pytest.param({"fee_schedule": {"kind": "per_page", "first_pages": 2, "amount": 2000, "then": 1000,
                                       "cap": 200000, "basis": "TT 226/2016/TT-BTC"}}, [], id="per-page-not-charged"),
        pytest.param({"fee_schedule": {"kind": "per_page", "first_pages": 2, "amount": 2000, "then": 1000,
                                       "cap": 200000, "basis": "TT 226/2016/TT-BTC"}, "fee": 2000}, [],
                     id="per-page-not-the-first-page-price"),
        pytest.param({"fee_schedule": {"kind": "council", "resolution": None, "basis": "Luật Phí và lệ phí, Điều 21"}},
                     [], id="council-unknown-amount"),
        pytest.param({"fee_schedule": {"kind": "council", "amount": 15000, "resolution": "NQ 12/2023/NQ-HĐND",
                                       "basis": "Luật Phí và lệ phí, Điều 21"}}, [15000], id="council-amount"),
        pytest.param({"fee": 8000}, [8000], id="older-dossier-its-fee"),
        pytest.param({"fee": 0}, [], id="older-dossier-no-fee"),
    ],
)
def test_without_an_amount_asked_the_fee_line_is_the_schedules(
    motcua: Motcua, attributes: dict[str, JsonValue], lines: list[int]
) -> None:
    code = motcua.desk.receive(FEE_PROCEDURE, "direct", APPLICANT, OFFICER).code
    case, entries = motcua.store.load(code), motcua.store.history(code)
    definition = motcua.workflows.get(case.definition_key, case.definition_version).definition

    record = dossier_record(_with(case, **attributes), entries, definition, AGENCY, at=FROM)

    fees = record["DanhSachLePhi"]
    assert isinstance(fees, list) and [line["Gia"] for line in fees if isinstance(line, dict)] == lines
    assert [fee.amount for fee in parse_record(record, 0).fees] == lines  # and reads back


def test_a_per_page_line_says_how_the_amount_is_set(motcua: Motcua, clock: ManualClock) -> None:
    code = dossier(motcua, clock)
    case, entries = motcua.store.load(code), motcua.store.history(code)
    definition = motcua.workflows.get(case.definition_key, case.definition_version).definition
    schedule: JsonValue = {"kind": "per_page", "first_pages": 2, "amount": 2000, "then": 1000, "cap": 200000,
                           "basis": "TT 226/2016/TT-BTC"}

    (line,) = dossier_record(_with(case, fee_schedule=schedule), entries, definition, AGENCY, at=FROM)["DanhSachLePhi"]

    assert line == {"MaPhiLePhi": FEE_PROCEDURE, "Gia": 50000, "TenPhiLePhi": (
        "Phí, lệ phí: Chứng thực di chúc; 2 trang đầu 2000 đồng/trang, từ trang thứ 3 1000 đồng/trang, "
        "tối đa 200000 đồng")}


# -- the round trip --------------------------------------------------------------------------------

KEPT = ("procedure", "received_at", "appointment", "ended_at", "fee", "paid_online", "payment_channel",
        "component_files", "electronic_results", "electronic_result_links")


def test_export_then_import_gives_the_same_dossier(motcua: Motcua, clock: ManualClock, tmp_path: Path) -> None:
    code = dossier(motcua, clock)
    record = record_of(motcua, code, FROM)
    path = tmp_path / "dvcqg.json"
    path.write_text(json.dumps({"service": "DongBoHoSoMC", "isUpdating": False, "data": [record]},
                               ensure_ascii=False), encoding="utf-8")
    other = open_motcua("memory://", clock=ManualClock(FROM), observers=[])

    import_file(path, other)

    native, imported = motcua.store.load(code).attributes, other.store.load(code).attributes
    assert {key: imported.get(key) for key in KEPT} == {key: native.get(key) for key in KEPT}
    assert native["component_files"] == [  # both flags always recorded
        {"component": "Tờ khai chứng thực", "file": "https://dvc.example.vn/tep/to-khai.pdf", "digitized": True,
         "reused": False},
        {"component": "Bản sao CCCD", "file": "cccd.pdf", "digitized": True, "reused": True}]
    assert native["electronic_result_links"] == {"KQ-1": RESULT_URL}
    other.close()


# -- bad input -------------------------------------------------------------------------------------

FILE = {"TepDinhKemId": "1", "TenTepDinhKem": "a.pdf", "MaThanhPhanHoSo": "Tờ khai", "DuocSoHoa": "1",
        "DuocTaiSuDung": "0"}


def _record(**fields: Any) -> dict[str, Any]:
    return {"MaHoSo": "H23-1", "MaTTHC": FEE_PROCEDURE, "MaLinhVuc": "CT", "TrangThaiHoSo": "4",
            "NgayTiepNhan": "20260126080000", "NgayHenTra": "20260128080000", **fields}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        pytest.param({"TaiLieuNop": [{**FILE, "DuocSoHoá": "1"}]}, "TaiLieuNop[0].DuocSoHoá", id="unknown-field"),
        pytest.param({"TaiLieuNop": [{**FILE, "DuocSoHoa": "2"}]}, "TaiLieuNop[0].DuocSoHoa", id="digitised-2"),
        pytest.param({"TaiLieuNop": [{**FILE, "DuocTaiSuDung": "3"}]}, "TaiLieuNop[0].DuocTaiSuDung", id="reused-3"),
        pytest.param({"TaiLieuNop": [{**FILE, "IsDeleted": "yes"}]}, "TaiLieuNop[0].IsDeleted", id="deleted-yes"),
        pytest.param({"TaiLieuNop": ["a.pdf"]}, "TaiLieuNop[0]", id="a-file-not-an-object"),
        pytest.param({"DanhSachGiayToKetQua": [{"MaGiayToKetQua": "KQ", "DuongDanTepTinKetQua": "https://x\n/y"}]},
                     "DanhSachGiayToKetQua[0].DuongDanTepTinKetQua", id="line-break-in-a-result-link"),
        pytest.param({"DanhSachGiayToKetQua": [{"MaGiayToKetQua": "KQ", "LinkKetQua": "https://x"}]},
                     "DanhSachGiayToKetQua[0].LinkKetQua", id="unknown-result-field"),
    ],
)
def test_a_bad_component_or_result_item_is_refused_naming_the_record_and_field(
    fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(RecordRefused) as refused:
        parse_record(_record(**fields), 4)
    assert (refused.value.index, refused.value.code) == (4, "H23-1")
    assert field in [problem.field for problem in refused.value.problems]


@pytest.mark.parametrize(("stamp", "says"), [
    ("18991231235959", "outside the days motcua takes"),  # before 1990: a typing error, or another sentinel
    ("22000101000000", "outside the days motcua takes"),
])
def test_a_date_outside_the_years_motcua_takes_is_refused_naming_its_field(stamp: str, says: str) -> None:
    with pytest.raises(RecordRefused) as refused:
        parse_record(_record(NgayHenTra=stamp), 0)
    [problem] = refused.value.problems
    assert problem.field == "NgayHenTra" and says in problem.message


def test_a_personal_field_of_the_wrong_type_is_refused_without_quoting_it() -> None:
    with pytest.raises(RecordRefused) as refused:
        parse_record(_record(SoDienThoai=912345678, ChuHoSo=["Nguyễn Văn An"]), 0)
    shown = str(refused.value)
    assert "912345678" not in shown and "Nguyễn" not in shown  # the refusal reaches stderr, cron mail, CI logs
    assert {(problem.field, problem.message) for problem in refused.value.problems} == {
        ("SoDienThoai", "expected text, got a number"), ("ChuHoSo", "expected text, got a list")}


def test_dotnets_empty_date_is_no_date_not_year_one() -> None:
    """``00010101000000`` (``DateTime.MinValue``) had been imported as year 1, before the first instant UTC holds: every
    report folding the dossier failed with an OverflowError, for ever (the log is append-only)."""
    record = parse_record(_record(TrangThaiHoSo="1", NgayTiepNhan="", NgayHenTra="00010101000000"), 0)
    assert record.appointment is None


def test_the_practices_fields_of_a_component_file_are_read() -> None:
    files = [{**FILE, "DuongDanTaiTepTin": "https://x/a.pdf", "DuocTaiSuDung": "2", "MaKetQuaThayThe": "KQ-9",
              "DuocLayTuKhoDMQG": "1"}, {**FILE, "IsDeleted": "1"}]
    record = parse_record(_record(TaiLieuNop=files, DuocThanhToanTrucTuyen="2"), 0)
    first = record.files[0]
    assert (first.file, first.digitized, first.reused, first.component) == ("https://x/a.pdf", True, 2, "Tờ khai")
    assert (record.files[1].deleted, record.online_payment) == (True, 2)


# -- the dossier's data ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "files",
    [
        pytest.param([{"component": "Tờ khai"}], id="a-file-missing"),
        pytest.param([{"component": "Tờ khai", "file": "a.pdf", "scanned": True}], id="an-unknown-flag"),
        pytest.param([{"component": "Tờ khai", "file": "a.pdf", "digitized": "maybe"}], id="a-flag-not-a-flag"),
        pytest.param([], id="an-empty-list"),
    ],
)
def test_component_files_are_checked_before_anything_is_written(motcua: Motcua, files: list[JsonValue]) -> None:
    code = motcua.desk.receive(FEE_PROCEDURE, "direct", APPLICANT, OFFICER).code
    version = motcua.store.load(code).version
    with pytest.raises(MalformedData) as refused:
        motcua.service.fire(code, "digitize", OFFICER, {"components": 1, "component_files": files})
    assert all(field.startswith("component_files") for field in refused.value.problems)
    assert motcua.store.load(code).version == version


def test_a_channel_with_a_payment_not_online_is_refused(motcua: Motcua, clock: ManualClock) -> None:
    code = motcua.desk.receive(FEE_PROCEDURE, "direct", APPLICANT, OFFICER).code
    for trigger, data in [("assign", {"assignee": SPECIALIST.name}), ("request_payment", {"amount": 50000})]:
        motcua.service.fire(code, trigger, SPECIALIST if trigger == "request_payment" else OFFICER, data)
    version = motcua.store.load(code).version
    with pytest.raises(GuardRejected):
        motcua.service.fire(code, "payment_received", OFFICER, {"online": False, "payment_channel": "national"})
    assert motcua.store.load(code).version == version


def test_a_record_list_declares_its_scalar_fields() -> None:
    with pytest.raises(ValueError, match="fields"):
        DataField.model_validate({"type": "record_list"})
    with pytest.raises(ValueError, match="scalars"):
        DataField.model_validate({"type": "record_list", "fields": {"names": {"type": "text_list"}}})
    with pytest.raises(ValueError, match="fields"):
        DataField.model_validate({"type": "text", "fields": {"name": {"type": "text"}}})


def test_an_imported_dossier_takes_the_fee_in_force_on_its_reception_day(motcua: Motcua) -> None:
    """The importer reads the catalogue as it stood when the portal's dossier was received, like a desk does."""
    importer = DvcqgImport(motcua.workflows, motcua.rules, Catalogue([procedure()]))
    at = datetime(2026, 3, 2, 9, 0, tzinfo=VN_TZ)
    fees: dict[str, JsonValue] = {}
    for received in ("20250602080000", "20250804080000"):
        raw = _record(MaHoSo=f"H-{received[:8]}", MaTTHC=MOVED, NgayTiepNhan=received, NgayHenTra=received)
        decision = importer.decide(importer.read(raw, 0, at), None, at)
        assert decision is not None
        fees[received[:4] + received[4:6]] = decision.case.attributes.get("fee")
    assert fees == {"202506": 20000, "202508": 0}  # per case until 30/6/2025; then set by the council, unknown
