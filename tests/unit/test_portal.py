"""The publish hook of the engine and the DVCQG records built from a dossier run through the real engine."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from motcua.adapters.bootstrap import PORTAL_PUBLISH, Motcua, open_motcua
from motcua.workers.handlers import Handlers
from motcua.workers.inline import InlineRunner
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.dvcqg.portal import EntrySync, dossier_record, progress_record, summarize
from motcua.workflow.dvcqg.records import parse_record, portal_text
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.decisions import Engine
from motcua.workflow.engine.model import SYSTEM_ACTOR, Actor, Effect, JsonValue, OutboxItem
from tests.conftest import LEADER, OFFICER, SPECIALIST, START

APPLICANT = Applicant("Trần Văn An", phone="0912345678", email="an@example.vn")
AGENCY = "000.00.00.H23"


class Keep:
    def __init__(self) -> None:
        self.items: list[OutboxItem] = []

    def deliver(self, item: OutboxItem) -> None:
        self.items.append(item)


def published(clock: ManualClock) -> Motcua:
    return open_motcua("memory://", clock=clock, observers=[], publish=PORTAL_PUBLISH)


def syncs(motcua: Motcua, code: str) -> list[Effect]:
    return [effect for effect in motcua.store.effects(code) if effect.kind == "dvcqg.sync"]


def run(motcua: Motcua, clock: ManualClock) -> str:
    """Received Monday 8:00 (3 working days), assigned, supplement asked and supplied, an apology, decided."""
    code = motcua.desk.receive("1.004873", "direct", APPLICANT, OFFICER, summary="Xác nhận TTHN").code
    steps: list[tuple[str, Actor, dict[str, JsonValue]]] = [("assign", OFFICER, {"assignee": SPECIALIST.name}),
             ("request_supplement", SPECIALIST, {"reason": "Bản sao CCCD"}),
             ("supplement_received", OFFICER, {}),
             ("apologize", LEADER, {"reason": "Chờ xác minh", "new_date": "2024-03-12"}),
             ("submit_for_approval", SPECIALIST, {"approver": LEADER.name, "electronic": True}),
             ("approve", LEADER, {}), ("mark_result_ready", OFFICER, {})]
    for trigger, actor, data in steps:
        clock.advance(timedelta(hours=2))
        motcua.service.fire(code, trigger, actor, data)
    return code


def test_every_decision_of_a_published_workflow_releases_one_sync_effect(clock: ManualClock) -> None:
    motcua = published(clock)
    code = run(motcua, clock)
    assert [dict(effect.payload) for effect in syncs(motcua, code)] == [{"sequence": n} for n in range(1, 10)]


def test_nothing_is_published_by_default_or_for_other_workflows(motcua: Motcua, clock: ManualClock) -> None:
    code = run(motcua, clock)
    assert syncs(motcua, code) == []
    engine = Engine(motcua.workflows, clock, {"plan-task": ("dvcqg.sync",)})
    decision = engine.open("tthc-dossier", "X-1", OFFICER, {"procedure": "1.004873", "channel": "direct",
                                                             "applicant_name": "A"}, rule_set="nd61-2018")
    assert all(effect.kind != "dvcqg.sync" for effect in decision.effects)
    assert Engine(motcua.workflows, clock, {"tthc-dossier": ()}).publish == {}


def test_timer_fired_decisions_are_published_too(clock: ManualClock) -> None:
    motcua = published(clock)
    code = motcua.desk.receive("1.004873", "direct", APPLICANT, OFFICER).code
    handlers = Handlers(motcua.service, motcua.store, motcua.store, Keep(), clock)
    InlineRunner(handlers, clock).run_until(clock.now() + timedelta(days=10))
    history = motcua.store.history(code)
    assert [entry.trigger for entry in history][-1] == "escalate"
    assert [effect.payload["sequence"] for effect in syncs(motcua, code)] == [entry.sequence for entry in history]


def test_the_dossier_record(clock: ManualClock) -> None:
    motcua = published(clock)
    code = run(motcua, clock)
    case, entries = motcua.store.load(code), motcua.store.history(code)
    definition = motcua.workflows.get(case.definition_key, case.definition_version).definition

    record = dossier_record(case, entries, definition, AGENCY, at=clock.now())

    assert record == {
        "MaHoSo": code, "MaTTHC": "1.004873", "TenTTHC": "Thủ tục cấp Giấy xác nhận tình trạng hôn nhân",
        "MaLinhVuc": "HT", "TenLinhVuc": "Hộ tịch", "ChuHoSo": "Trần Văn An", "LoaiDoiTuong": 1,
        "SoDienThoai": "0912345678", "Email": "an@example.vn", "TrichYeuHoSo": "Xác nhận TTHN",
        "NgayTiepNhan": "20240304080000", "NgayHenTra": "20240307080000", "TrangThaiHoSo": 9, "NgayTra": "",
        "NgayKetThucXuLy": "20240304220000", "DonViXuLy": AGENCY, "KenhThucHien": 1,
        "HoSoCoThanhPhanSoHoa": 0, "DuocThanhToanTrucTuyen": 0, "TaiLieuNop": [], "DanhSachLePhi": [],
        "DanhSachHoSoBoSung": [
            {"NgayBoSung": "20240304120000", "NgayTiepNhanBoSung": "20240304140000", "NoiDungBoSung": "Bản sao CCCD",
             "NgayHenTraTruoc": "20240307080000", "NgayHenTraMoi": "20240307083000"},  # paused 13:30–14:00
        ],  # the apology's new date (12/3) is no appointment: it is in its progress record only
        "DanhSachGiayToKetQua": [],
    }
    read = parse_record(record, 0)  # what motcua sends, motcua's importer reads
    assert (read.code, read.status, read.channel, read.applicant) == (code, 9, 1, "Trần Văn An")
    assert read.due == ("DanhSachHoSoBoSung[0].NgayHenTraMoi", datetime(2024, 3, 7, 8, 30, tzinfo=VN_TZ))
    assert read.due[1] == datetime.fromisoformat(str(case.attributes["appointment"]))
    assert (read.received_at, read.end) == (START, START + timedelta(hours=14))


def test_the_progress_record_of_each_entry(clock: ManualClock) -> None:
    motcua = published(clock)
    code = run(motcua, clock)
    case, entries = motcua.store.load(code), motcua.store.history(code)
    definition = motcua.workflows.get(case.definition_key, case.definition_version).definition

    assert progress_record(entries, 4, definition, AGENCY) == {
        "MaHoSo": code, "NguoiXuLy": "Phạm Văn Hùng", "ChucDanh": "Chuyên viên xử lý",
        "ThoiDiemXuLy": "20240304120000", "PhongBanXuLy": AGENCY, "NoiDungXuLy": "Yêu cầu bổ sung giấy tờ",
        "TrangThai": 5, "NgayBatDau": "20240304100000", "NgayKetThucTheoQuyDinh": "20240307080000",
    }
    first = progress_record(entries, 1, definition, AGENCY)
    assert (first["NoiDungXuLy"], first["TrangThai"], first["NgayKetThucTheoQuyDinh"]) == ("Đăng ký hồ sơ", 1, "")
    assert progress_record(entries, 5, definition, AGENCY)["NgayKetThucTheoQuyDinh"] == "20240307083000"
    apology = progress_record(entries, 6, definition, AGENCY)
    assert (apology["NoiDungXuLy"], apology["NgayKetThucTheoQuyDinh"]) == (
        "Xin lỗi và hẹn lại ngày trả kết quả: hẹn trả ngày 12/03/2024; lý do: Chờ xác minh", "20240307083000")


FEE_PROCEDURE = "2.001019"  # 2 working days, fee 50 000
Steps = list[tuple[str, Actor, dict[str, JsonValue]]]
PAYMENT: Steps = [("request_payment", SPECIALIST, {"amount": 50000}), ("payment_received", OFFICER, {})]
SUPPLEMENT: Steps = [("request_supplement", SPECIALIST, {"reason": "Bản sao CCCD"}),
                     ("supplement_received", OFFICER, {})]
APOLOGY: Steps = [("apologize", LEADER, {"reason": "Chờ xác minh", "new_date": "2024-03-15"})]
DECIDE: Steps = [("submit_for_approval", SPECIALIST, {"approver": LEADER.name}), ("approve", LEADER, {}),
                 ("mark_result_ready", OFFICER, {})]
ROUND_TRIPS = {
    "supplement, fee and apology": [*SUPPLEMENT, *PAYMENT, *APOLOGY, *DECIDE],
    "fee only": [*PAYMENT, *DECIDE],
    "apology only": [*APOLOGY, *DECIDE],
    "nothing": DECIDE,
    "still paying": PAYMENT[:1],
}


@pytest.mark.parametrize("story", ROUND_TRIPS)
def test_a_record_reads_back_with_the_dossiers_r_e_and_a(clock: ManualClock, story: str) -> None:
    """Every legal move of the appointment is in the record, an apology's new date is not: re-imported, a
    dossier keeps its reception, end and legal appointment (one-stop-shop.md, the national portal), so it stays late
    or on time."""
    motcua = published(clock)
    code = motcua.desk.receive(FEE_PROCEDURE, "direct", APPLICANT, OFFICER).code
    for trigger, actor, data in [("assign", OFFICER, {"assignee": SPECIALIST.name}), *ROUND_TRIPS[story]]:
        clock.advance(timedelta(hours=3))  # every pause holds the clock for working time
        motcua.service.fire(code, trigger, actor, data)
    case, entries = motcua.store.load(code), motcua.store.history(code)
    definition = motcua.workflows.get(case.definition_key, case.definition_version).definition

    read = parse_record(dossier_record(case, entries, definition, AGENCY, at=clock.now()), 0)

    a = case.attributes
    assert read.due is not None and read.due[1] == datetime.fromisoformat(str(a["appointment"]))
    assert read.received_at == datetime.fromisoformat(str(a["received_at"]))
    assert read.end == (datetime.fromisoformat(str(a["ended_at"])) if a.get("ended_at") else None)
    moves = [item for item in a["appointment_history"] if item["kind"] == "paused"]  # type: ignore[union-attr,index]
    assert [portal_text(item.new_appointment) for item in read.supplements if item.new_appointment] == [
        portal_text(datetime.fromisoformat(str(move["appointment"]))) for move in moves]  # type: ignore[index]
    assert len(moves) == story.count("fee") + story.count("supplement")


def test_a_fee_pause_is_an_item_of_its_own(clock: ManualClock) -> None:
    """Received Monday 8:00 (2 working days: Wednesday 8:00), assigned at 11:00; the fee awaited from 14:00 to
    17:00 holds the clock for 3 working hours: the appointment moves to Wednesday 11:00. The apology at 20:00
    promises Friday: no item."""
    motcua = published(clock)
    code = motcua.desk.receive(FEE_PROCEDURE, "direct", APPLICANT, OFFICER).code
    for trigger, actor, data in [("assign", OFFICER, {"assignee": SPECIALIST.name}), *PAYMENT, *APOLOGY]:
        clock.advance(timedelta(hours=3))
        motcua.service.fire(code, trigger, actor, data)
    case, entries = motcua.store.load(code), motcua.store.history(code)
    definition = motcua.workflows.get(case.definition_key, case.definition_version).definition

    record = dossier_record(case, entries, definition, AGENCY, at=clock.now())

    assert (record["NgayHenTra"], record["TrangThaiHoSo"]) == ("20240306080000", 4)
    assert record["DanhSachHoSoBoSung"] == [
        {"NgayBoSung": "", "NgayTiepNhanBoSung": "20240304170000",
         "NoiDungBoSung": "Yêu cầu thực hiện nghĩa vụ tài chính",
         "NgayHenTraTruoc": "20240306080000", "NgayHenTraMoi": "20240306110000"},
    ]
    assert case.attributes["appointment"] == "2024-03-06T11:00:00+07:00"


def test_a_dossier_summary_counts_its_synced_entries(clock: ManualClock) -> None:
    motcua = published(clock)
    code = motcua.desk.receive("1.004873", "direct", APPLICANT, OFFICER).code
    case = motcua.store.load(code)
    at = clock.now() + timedelta(seconds=30)

    assert summarize(case, []).status == "pending" and not summarize(case, []).complete
    first = EntrySync(code, 1, "synced", 1, at, synced_at=at)
    partial = summarize(case, [first, EntrySync(code, 2, "failed", 2, at, "HTTP 503")])
    assert (partial.synced, partial.entries, partial.status, partial.first_sync_delay) == (
        1, 2, "failed", timedelta(seconds=30))
    done = summarize(case, [first, EntrySync(code, 2, "synced", 3, at, synced_at=at)])
    assert done.complete and done.status == "synced" and done.last_synced_sequence == 2


def test_the_records_name_the_unit_that_decides_and_follow_a_merger(clock: ManualClock) -> None:
    clock.set(datetime(2025, 6, 2, 9, 0, tzinfo=VN_TZ))
    motcua = open_motcua("memory://", clock=clock, observers=[], agency="LOCAL-HD-AN-THUONG", publish=PORTAL_PUBLISH)
    case = motcua.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), OFFICER,
                               deciding_unit="LOCAL-HD-CAM-THUONG")
    armed = motcua.store.timers(case.code)
    assert armed
    clock.set(datetime(2025, 7, 1, 0, 5, tzinfo=VN_TZ))
    moved = motcua.service.fire(case.code, "transfer", SYSTEM_ACTOR, {
        "from_units": ["LOCAL-HD-CAM-THUONG"], "to_unit": "LOCAL-HP-THANH-DONG", "resolution": "1669/NQ-UBTVQH15",
        "effective": "2025-07-01"})
    entries = motcua.store.history(case.code)
    definition = motcua.workflows.get(case.definition_key, case.definition_version).definition
    record = dossier_record(moved, entries, definition, "000.00.00.H23", at=clock.now())
    assert record["DonViXuLy"] == "LOCAL-HP-THANH-DONG"
    held = [progress_record(entries, n, definition, "000.00.00.H23")["PhongBanXuLy"] for n in (1, 2, 3)]
    assert held == ["LOCAL-HD-CAM-THUONG", "LOCAL-HD-CAM-THUONG", "LOCAL-HP-THANH-DONG"]
    assert moved.attributes["receiving_unit"] == "LOCAL-HD-AN-THUONG"  # only the unit that ended is replaced
    assert moved.attributes["unit_history"] == [{
        "at": "2025-07-01T00:05:00+07:00", "from": ["LOCAL-HD-CAM-THUONG"], "to": "LOCAL-HP-THANH-DONG",
        "attributes": ["deciding_unit"], "resolution": "1669/NQ-UBTVQH15", "effective": "2025-07-01"}]
    assert (moved.state, motcua.store.timers(case.code)) == (case.state, armed)  # no state moved, timers kept
