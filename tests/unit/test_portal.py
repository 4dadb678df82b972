"""The publish hook of the engine and the DVCQG records built from a dossier run through the real engine."""

from __future__ import annotations

from datetime import timedelta

from adapters.bootstrap import PORTAL_PUBLISH, Motcua, open_motcua
from tests.conftest import LEADER, OFFICER, SPECIALIST
from workers.handlers import Handlers
from workers.inline import InlineRunner
from workflow.clock import ManualClock
from workflow.desk import Applicant
from workflow.dvcqg import parse_record
from workflow.engine import Engine
from workflow.model import Actor, Effect, JsonValue, OutboxItem
from workflow.portal import EntrySync, dossier_record, progress_record, summarize

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

    record = dossier_record(case, entries, definition, AGENCY)

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
            {"NgayBoSung": "", "NgayTiepNhanBoSung": "", "NoiDungBoSung": "Chờ xác minh",
             "NgayHenTraTruoc": "20240307083000", "NgayHenTraMoi": "20240312083000"},
        ],
        "DanhSachGiayToKetQua": [],
    }
    read = parse_record(record, 0)  # what motcua sends, motcua's importer reads
    assert (read.code, read.status, read.channel, read.applicant) == (code, 9, 1, "Trần Văn An")


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
