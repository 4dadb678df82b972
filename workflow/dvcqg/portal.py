"""What motcua sends to the national public service portal (DVCQG, one-stop-shop.md, the national portal), built
without I/O.

:func:`dossier_record` is the ``DongBoHoSoMC`` record of a dossier as it stands now; :func:`progress_record`
the ``CapNhatTienDoHoSoMC`` record of one of its audit entries. Both read only the case, its audit
entries (the log alone: what was recorded, never recomputed) and its workflow definition (status codes,
trigger, role and state labels). Dates are ``yyyyMMddHHmmss`` in Vietnam time
(:func:`motcua.workflow.dvcqg.records.portal_text`); the status is the ``status_code`` the definition gives the
lifecycle
state; the channel is the code of :data:`motcua.workflow.dvcqg.records.CHANNEL_NAMES`. A record built here reads back
through :func:`motcua.workflow.dvcqg.records.parse_record`, with the same R, E and A: ``DanhSachHoSoBoSung`` lists the
legal pauses of the clock (supplements, fee payments), each with the appointment before and after it, so
that its last ``NgayHenTraMoi`` is the legal appointment in force; an apology's new date is never one
(one-stop-shop.md, the legal clock) and travels only in the apology's progress record (``NoiDungXuLy``).

The dossier record's format is the one in force on the day it is sent
(:func:`motcua.workflow.dvcqg.records.record_format`): from 25/01/2026 (Circular 04/2025/TT-VPCP) it lists the
component files filed (``TaiLieuNop``, with their digitisation and reuse flags), the link of each electronic result,
one fee line per amount charged or per the procedure's fee schedule, and the online payment channel; before, it is
what motcua sent until then.

The sync status a portal adapter keeps is modelled here too: :class:`EntrySync` per audit entry and
:class:`DossierSync`, the per-dossier summary :func:`summarize` derives from them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from motcua.workflow.dvcqg.imports import imported
from motcua.workflow.dvcqg.records import (
    APPLICANT_KINDS,
    CHANNEL_NAMES,
    PAYMENT_CHANNELS,
    portal_text,
    record_format,
    vietnam_date,
)
from motcua.workflow.engine.audit import AuditEntry
from motcua.workflow.engine.definition import WorkflowDefinition
from motcua.workflow.engine.labels import role_label, state_label, trigger_label
from motcua.workflow.engine.model import Case, JsonValue
from motcua.workflow.errors import InvalidInput, NotFound

__all__ = [
    "DOSSIER_SERVICE",
    "PROGRESS_SERVICE",
    "SYNC_KIND",
    "DossierSync",
    "EntrySync",
    "SyncStatus",
    "dossier_record",
    "progress_record",
    "sent_to_portal",
    "status_code",
    "summarize",
]

DOSSIER_SERVICE: Final = "DongBoHoSoMC"
PROGRESS_SERVICE: Final = "CapNhatTienDoHoSoMC"
SYNC_KIND: Final = "dvcqg.sync"  # the outbox effect of a published change: Effect(SYNC_KIND, {"sequence": n})
_CHANNEL_CODES: Final = {name: code for code, name in CHANNEL_NAMES.items()}
_KIND_CODES: Final = {name: code for code, name in APPLICANT_KINDS.items()}
_DIGITIZED: Final = frozenset({"digitized", "result_digitized"})
_SUPPLEMENT_REQUEST: Final = "request_supplement"
_SUPPLEMENT_RECEIVED: Final = "supplement_received"
_APOLOGY: Final = "apologize"
_PAYMENT_REQUEST: Final = "request_payment"
_PAYMENT_CODES: Final = {name: code for code, name in PAYMENT_CHANNELS.items()}
_LINK_SCHEMES: Final = ("https://", "http://")


# -- the dossier record --------------------------------------------------------------------------


def status_code(definition: WorkflowDefinition, case_state: Mapping[str, str]) -> int:
    """``TrangThaiHoSo``: the status code the definition gives the lifecycle state."""
    lifecycle = definition.regions.get("lifecycle")
    spec = lifecycle.states.get(case_state.get("lifecycle", "")) if lifecycle else None
    if spec is None or spec.status_code is None:
        raise InvalidInput("lifecycle", f"{definition.ref}: state {case_state.get('lifecycle')!r} has no DVCQG code")
    return spec.status_code


def dossier_record(
    case: Case, entries: Sequence[AuditEntry], definition: WorkflowDefinition, agency: str, *, at: datetime
) -> dict[str, JsonValue]:
    """The ``DongBoHoSoMC`` record of the dossier as it stands (``entries``: its whole history), in the format in
    force on the day of ``at``, the instant it is sent. ``DonViXuLy`` is the dossier's deciding unit; ``agency`` only
    for a dossier from before units."""
    a = case.attributes
    name = _text(a.get("procedure_name"))
    if record_format(vietnam_date(at)) == "tt04-2025":
        return {**_practice(case, entries, definition, agency, name), **_tt04_2025(case, entries, name)}
    return _practice(case, entries, definition, agency, name)


def _practice(
    case: Case, entries: Sequence[AuditEntry], definition: WorkflowDefinition, agency: str, name: str
) -> dict[str, JsonValue]:
    """The record as motcua sent it before 25/01/2026 (the ``DongBoHoSoMC`` practice)."""
    a = case.attributes
    record: dict[str, JsonValue] = {
        "MaHoSo": case.code, "MaTTHC": _text(a.get("procedure")), "TenTTHC": name,
        "MaLinhVuc": _text(a.get("field_code")), "TenLinhVuc": _text(a.get("field_name")),
        "ChuHoSo": _text(a.get("applicant_name")), "LoaiDoiTuong": _KIND_CODES.get(str(a.get("applicant_kind")), 1),
        "SoDienThoai": _text(a.get("phone")), "Email": _text(a.get("email")),
        "TrichYeuHoSo": _text(a.get("summary")) or name,
        "NgayTiepNhan": _stamp(a.get("received_at")), "NgayHenTra": _stamp(_initial_appointment(a)),
        "TrangThaiHoSo": status_code(definition, case.state), "NgayTra": _stamp(a.get("returned_at")),
        "NgayKetThucXuLy": _stamp(a.get("ended_at")), "DonViXuLy": _text(a.get("deciding_unit")) or agency,
        "KenhThucHien": _CHANNEL_CODES.get(str(a.get("channel")), 1),
        "HoSoCoThanhPhanSoHoa": int(case.state.get("records") in _DIGITIZED),
        "DuocThanhToanTrucTuyen": int(a.get("paid_online") is True),
        "TaiLieuNop": [], "DanhSachLePhi": _fees(a, name), "DanhSachHoSoBoSung": _supplements(entries, definition),
        "DanhSachGiayToKetQua": _results(a, name),
    }
    return record


def _tt04_2025(case: Case, entries: Sequence[AuditEntry], name: str) -> dict[str, JsonValue]:
    """What the record holds from 25/01/2026 on, over the practice's: the same field names (the practice's; the
    circular's own list could not be read, docs/reference/dvcqg-records.md), filled from what the dossier records."""
    a = case.attributes
    files = _files(a)
    digitized = case.state.get("records") in _DIGITIZED or any(item["DuocSoHoa"] == 1 for item in files)
    return {
        "HoSoCoThanhPhanSoHoa": int(digitized), "DuocThanhToanTrucTuyen": _payment_code(a),
        "TaiLieuNop": list(files), "DanhSachLePhi": _fee_lines(a, entries, name),
        "DanhSachGiayToKetQua": _linked_results(a, name),
    }


def _files(attributes: Mapping[str, JsonValue]) -> list[dict[str, JsonValue]]:
    """``TaiLieuNop``: one item per component file the desk recorded (``digitize``'s ``component_files``). A file kept
    as an address goes in ``DuongDanTaiTepTin`` (its name is the address's last part), one kept as a name in
    ``TenTepDinhKem``; ``TepDinhKemId`` is its number in the list."""
    kept = attributes.get("component_files")
    items: list[dict[str, JsonValue]] = []
    for number, item in enumerate(kept if isinstance(kept, list) else [], start=1):
        if not isinstance(item, dict):
            continue
        file = _text(item.get("file"))
        link = file if file.startswith(_LINK_SCHEMES) else ""
        items.append({
            "TepDinhKemId": str(number), "TenTepDinhKem": link.rstrip("/").rsplit("/", 1)[-1] if link else file,
            "IsDeleted": 0, "MaThanhPhanHoSo": _text(item.get("component")), "DuongDanTaiTepTin": link,
            "DuocSoHoa": int(item.get("digitized") is True), "DuocTaiSuDung": int(item.get("reused") is True),
        })
    return items


def _payment_code(attributes: Mapping[str, JsonValue]) -> int:
    """``DuocThanhToanTrucTuyen``: 0 not paid online; 1 on the DVCQG payment platform, 2 through another payment
    portal (practice before 2026). Paid online without a channel recorded (dossiers from before ``channel``) is 1,
    as motcua sent before."""
    if attributes.get("paid_online") is not True:
        return 0
    return _PAYMENT_CODES.get(_text(attributes.get("payment_channel")), 1)


def _fee_lines(attributes: Mapping[str, JsonValue], entries: Sequence[AuditEntry], name: str) -> list[JsonValue]:
    """``DanhSachLePhi``: one line per amount the dossier was asked to pay (``request_payment``), named after the
    procedure's fee schedule; with none asked, one line of the schedule in force at reception (``fee_schedule``, else
    ``fee`` on dossiers from before schedules): a per-case amount, ``Gia`` 0 for an exemption (a line of 0 is what tells
    the portal the dossier owes nothing), nothing when the amount is not known (per page — never the first page's
    price — or set by the council, not charged yet): never a silent 0."""
    code, title = _text(attributes.get("procedure")), _fee_title(attributes.get("fee_schedule"), name)
    asked = [entry.data.get("amount") for entry in entries if entry.trigger == _PAYMENT_REQUEST]
    amounts = [amount for amount in asked if isinstance(amount, int) and amount >= 0]
    if amounts:
        return [{"MaPhiLePhi": code if number == 1 else f"{code}-{number}", "TenPhiLePhi": title, "Gia": amount}
                for number, amount in enumerate(amounts, start=1)]
    due = _scheduled_amount(attributes)
    return [] if due is None else [{"MaPhiLePhi": code, "TenPhiLePhi": title, "Gia": due}]


def _scheduled_amount(attributes: Mapping[str, JsonValue]) -> int | None:
    schedule, fee = attributes.get("fee_schedule"), attributes.get("fee")
    if not isinstance(schedule, dict):  # a dossier received before fee schedules: its fee, when one is owed
        return fee if isinstance(fee, int) and fee > 0 else None
    kind = schedule.get("kind")
    if kind == "exempt":
        return 0
    if kind == "per_page":  # the amount hangs on the pages and copies: only what request_payment asked says it
        return None
    amount = schedule.get("amount")
    if isinstance(amount, int) and amount >= 0:
        return amount
    return fee if isinstance(fee, int) and fee > 0 else None  # a council's amount not in the schedule: as charged


def _fee_title(schedule: JsonValue, name: str) -> str:
    """``TenPhiLePhi``: the procedure, and how its fee is set (the schedule's basis), when the dossier records it."""
    kind = schedule.get("kind") if isinstance(schedule, dict) else None
    basis = _text(schedule.get("basis")) if isinstance(schedule, dict) else ""
    if kind == "exempt":
        return f"Miễn phí, lệ phí: {name}" + (f" ({basis})" if basis else "")
    if kind == "per_page" and isinstance(schedule, dict):
        first, then = schedule.get("first_pages"), schedule.get("then")
        pages = (f"; {first} trang đầu {schedule.get('amount')} đồng/trang, "
                 f"từ trang thứ {_next(first)} {then} đồng/trang")
        cap = schedule.get("cap")
        return f"Phí, lệ phí: {name}{pages}" + (f", tối đa {cap} đồng" if cap is not None else "")
    if kind == "council" and isinstance(schedule, dict):
        resolution = _text(schedule.get("resolution"))
        return f"Phí, lệ phí: {name}" + (f" ({resolution})" if resolution else " (theo nghị quyết HĐND tỉnh)")
    return f"Phí, lệ phí: {name}"


def _next(first: JsonValue) -> str:
    return str(first + 1) if isinstance(first, int) else "tiếp theo"


def _linked_results(attributes: Mapping[str, JsonValue], name: str) -> list[JsonValue]:
    """``DanhSachGiayToKetQua`` with ``DuongDanTepTinKetQua``, the link of each result (``""`` when none was given)."""
    links = attributes.get("electronic_result_links")
    known = links if isinstance(links, dict) else {}
    results = _results(attributes, name)
    for item in results:
        if isinstance(item, dict):
            item["DuongDanTepTinKetQua"] = _text(known.get(_text(item.get("MaGiayToKetQua"))))
    return results


def _text(value: JsonValue) -> str:
    return value if isinstance(value, str) else ""


def _instant(value: JsonValue) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _stamp(value: JsonValue | datetime) -> str:
    """A portal date, or ``""`` (what the portal sends for no date)."""
    moment = value if isinstance(value, datetime) else _instant(value)
    return portal_text(moment) if moment is not None else ""


def _initial_appointment(attributes: Mapping[str, JsonValue]) -> JsonValue:
    """``NgayHenTra`` is the appointment of the receipt; later ones travel in ``DanhSachHoSoBoSung``."""
    history = attributes.get("appointment_history")
    if isinstance(history, list) and history and isinstance(history[0], dict):
        return history[0].get("appointment")
    return attributes.get("appointment")


def _fees(attributes: Mapping[str, JsonValue], name: str) -> list[JsonValue]:
    fee = attributes.get("fee")
    if not isinstance(fee, int) or fee <= 0:
        return []
    return [{"MaPhiLePhi": _text(attributes.get("procedure")), "TenPhiLePhi": f"Phí, lệ phí: {name}", "Gia": fee}]


def _results(attributes: Mapping[str, JsonValue], name: str) -> list[JsonValue]:
    codes = attributes.get("electronic_results")
    if not isinstance(codes, list):
        return []
    return [{"MaGiayToKetQua": code, "TenGiayTo": f"Kết quả: {name}"} for code in codes if isinstance(code, str)]


def _supplements(entries: Sequence[AuditEntry], definition: WorkflowDefinition) -> list[JsonValue]:
    """``DanhSachHoSoBoSung``: one item per legal pause of the clock, in the order they happened, so that the
    last ``NgayHenTraMoi`` given is the legal appointment in force (one-stop-shop.md, the national portal: how an
    import reads A).

    A supplement request opens an item (asked, what for, the appointment before); the supplement closes it
    (supplied, the appointment shifted by the pause). Any other move of the appointment after reception —
    the end of a fee pause (``awaiting_payment``, status 6) — is an item of its own: no ``NgayBoSung`` (no
    document was asked for, and the portal counts supplement requests), ``NgayTiepNhanBoSung`` the instant
    the clock resumed, ``NoiDungBoSung`` the label of the state the clock stood still in. Apologies are no
    items: their new date is not an appointment (one-stop-shop.md, the legal clock); their progress record carries
    it."""
    items: list[dict[str, JsonValue]] = []
    appointment: JsonValue = None
    for entry in entries:
        moved = entry.changes.get("appointment", appointment)
        if entry.trigger == _SUPPLEMENT_REQUEST:
            items.append(_item(entry.reason or "", appointment, requested=portal_text(entry.occurred_at)))
        elif entry.trigger == _SUPPLEMENT_RECEIVED and items and items[-1]["NgayTiepNhanBoSung"] == "":
            items[-1].update(NgayTiepNhanBoSung=portal_text(entry.occurred_at), NgayHenTraMoi=_stamp(moved))
        elif appointment is not None and "appointment" in entry.changes:
            lifecycle = entry.state_before.get("lifecycle", "")
            items.append(_item(state_label(definition, "lifecycle", lifecycle), appointment,
                               supplied=portal_text(entry.occurred_at), moved=_stamp(moved)))
        appointment = moved
    return list(items)


def _item(
    content: str, before: JsonValue, *, requested: str = "", supplied: str = "", moved: str = ""
) -> dict[str, JsonValue]:
    return {"NgayBoSung": requested, "NgayTiepNhanBoSung": supplied, "NoiDungBoSung": content,
            "NgayHenTraTruoc": _stamp(before), "NgayHenTraMoi": moved}


# -- the progress record ---------------------------------------------------------------------------


def progress_record(
    entries: Sequence[AuditEntry], sequence: int, definition: WorkflowDefinition, agency: str
) -> dict[str, JsonValue]:
    """The ``CapNhatTienDoHoSoMC`` record of the entry ``sequence`` (``entries``: the history up to it at least).

    The step runs from the previous change (``NgayBatDau``) to this one (``ThoiDiemXuLy``); its due time
    (``NgayKetThucTheoQuyDinh``) is the legal appointment in force after the entry, ``""`` before reception.
    """
    entry = _entry(entries, sequence)
    started = entries[sequence - 2].occurred_at if sequence > 1 else entry.occurred_at
    return {
        "MaHoSo": entry.case_code, "NguoiXuLy": entry.actor, "ChucDanh": role_label(definition, entry.role),
        "ThoiDiemXuLy": portal_text(entry.occurred_at), "PhongBanXuLy": _unit_after(entries, sequence) or agency,
        "NoiDungXuLy": _content(definition, entry), "TrangThai": status_code(definition, entry.state_after),
        "NgayBatDau": portal_text(started), "NgayKetThucTheoQuyDinh": _stamp(_appointment_after(entries, sequence)),
    }


def _entry(entries: Sequence[AuditEntry], sequence: int) -> AuditEntry:
    if not 1 <= sequence <= len(entries) or entries[sequence - 1].sequence != sequence:
        raise NotFound("sequence", f"no audit entry {sequence} in a history of {len(entries)}")
    return entries[sequence - 1]


def _content(definition: WorkflowDefinition, entry: AuditEntry) -> str:
    """The trigger's label; an apology's adds the new date promised and the reason, which the dossier record
    does not carry (a new date is not an appointment, one-stop-shop.md, the legal clock)."""
    label = trigger_label(definition, entry.trigger)
    new_date = entry.data.get("new_date") if entry.trigger == _APOLOGY else None
    if not isinstance(new_date, str):
        return label
    shown = datetime.fromisoformat(new_date).strftime("%d/%m/%Y")
    return f"{label}: hẹn trả ngày {shown}" + (f"; lý do: {entry.reason}" if entry.reason else "")


def _unit_after(entries: Sequence[AuditEntry], sequence: int) -> str:
    """The deciding unit that held the dossier after the entry ``sequence``: named by the opening's data, moved by
    a merger's transfer (its ``changes``)."""
    unit: JsonValue = entries[0].data.get("deciding_unit") if entries else None
    for entry in entries[1:sequence]:
        unit = entry.changes.get("deciding_unit", unit)
    return _text(unit)


def _appointment_after(entries: Sequence[AuditEntry], sequence: int) -> JsonValue:
    appointment: JsonValue = None
    for entry in entries[:sequence]:
        appointment = entry.changes.get("appointment", appointment)
    return appointment


# -- sync status -----------------------------------------------------------------------------------

SyncStatus = Literal["pending", "synced", "failed", "parked"]


@dataclass(frozen=True, slots=True)
class EntrySync:
    """The sync status of one audit entry: ``failed`` will be retried, ``parked`` waits for an operator."""

    case_code: str
    sequence: int
    status: SyncStatus
    attempts: int
    updated_at: datetime
    last_error: str | None = None
    synced_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DossierSync:
    """A dossier's sync summary: its changes (audit entries), how many reached the portal, and when first."""

    case_code: str
    entries: int
    synced: int
    status: SyncStatus
    last_synced_sequence: int | None
    first_synced_at: datetime | None
    first_sync_delay: timedelta | None  # from the dossier's opening to its first synced change

    @property
    def complete(self) -> bool:
        """Every change of the dossier reached the portal (the ``sync`` indicator's numerator)."""
        return self.entries > 0 and self.synced == self.entries


def sent_to_portal(case: Case, statuses: Sequence[EntrySync]) -> bool:
    """Whether motcua sends the dossier's changes to the portal: not one imported from it (the portal holds it, and
    an import releases no effect; the ``sync`` indicator of Decision 766 leaves it out), unless a change made in
    motcua was sent since (``statuses``: the dossier's)."""
    return not imported(case) or bool(statuses)


def summarize(case: Case, statuses: Iterable[EntrySync]) -> DossierSync:
    """The summary of a case at its version from its entries' statuses (an entry without one is pending). Of a dossier
    imported from DVCQG, the entries before its first sent change are the import's, never sent: not counted."""
    recorded = {item.sequence: item for item in statuses if item.sequence <= case.version}
    synced = [item for item in recorded.values() if item.status == "synced"]
    first = min((item.synced_at for item in synced if item.synced_at is not None), default=None)
    imported = case.attributes.get("imported") is True
    since = min(recorded, default=case.version + 1) if imported else 1
    return DossierSync(
        case_code=case.code, entries=case.version - since + 1, synced=len(synced),
        status=_overall(since, case.version, recorded),
        last_synced_sequence=max((item.sequence for item in synced), default=None), first_synced_at=first,
        first_sync_delay=first - case.opened_at if first is not None else None,
    )


def _overall(since: int, version: int, recorded: Mapping[int, EntrySync]) -> SyncStatus:
    states = {recorded[n].status if n in recorded else "pending" for n in range(since, version + 1)}
    return next((status for status in _WORST_FIRST if status in states), "synced")


_WORST_FIRST: Final[tuple[SyncStatus, ...]] = ("parked", "failed", "pending")
