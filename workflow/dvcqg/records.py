"""The dossier record of the national public service portal (DVCQG, service ``DongBoHoSoMC``), validated.

:func:`parse_record` reads one record of a sync file into a frozen :class:`DvcqgRecord`: strict on the
fields motcua uses (codes, statuses, channels, ``yyyyMMddHHmmss`` dates in Vietnam time, fees), blind to
the many it does not. Portals send codes and flags as numbers or as strings of digits, and absent dates
as ``""``: both are read. A record that is malformed or contradicts itself (one-stop-shop.md, the national portal: E
before R, an
unknown status or channel, a missing code…) is refused with :class:`RecordRefused`, which names the
record and every field at fault. What an import *does* with a record is :mod:`motcua.workflow.dvcqg.imports`.

Two formats (docs/reference/dvcqg-records.md, the two formats): the practice before 2026 and the one motcua sends from
:data:`TT04_2025_FROM` on (Circular 04/2025/TT-VPCP, in force 25/01/2026), chosen by the day a record is *sent*
(:func:`record_format`). The circular's text could not be read: every field name here is the ``DongBoHoSoMC`` practice
before 2026 (the portal's connectors and the indicator rules of its coordination system), and the circular is assumed
to keep those names and make the component files, the result's link, the fee lines and the payment channel part of
every record. The parser reads both formats: an imported file says nothing of when it was sent. The items of the lists
motcua now reads whole (``TaiLieuNop``, ``DanhSachGiayToKetQua``) are strict: a field that neither the practice nor
motcua knows is refused, so a misspelt flag is never read as "not digitised".

Every input is bounded (:mod:`motcua.workflow.engine.bounds`), before anything is written: a record nests at most
8 deep and holds at most :data:`RECORD_MAX` characters (checked before any field is read); ``MaHoSo`` is at most
100 characters, the other codes 64, names, telephone numbers and e-mail addresses 500, ``TrichYeuHoSo`` 2,000; no
text holds a control character (``TrichYeuHoSo`` may hold tabs and line breaks). A refusal quotes a short excerpt of
a value, never the value.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import date, datetime
from functools import cached_property
from typing import Annotated, Final, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainValidator, ValidationError

from motcua.workflow.engine.bounds import (
    CASE_CODE_MAX,
    CODE_MAX,
    EXCERPT_MAX,
    JSON_DEPTH_MAX,
    NAME_MAX,
    TEXT_MAX,
    checked_line,
    day_problem,
    excerpt,
    json_shape,
    line_problem,
    text_problem,
)
from motcua.workflow.engine.clock import VN_TZ, to_vietnam_time
from motcua.workflow.errors import Problem, RecordRefused

__all__ = [
    "APPLICANT_KINDS",
    "CHANNEL_NAMES",
    "ENDED_STATUSES",
    "NOT_RECEIVED_STATUSES",
    "PAUSED_STATUSES",
    "PAYMENT_CHANNELS",
    "RECORD_MAX",
    "SUPPLEMENT_STATUS",
    "TT04_2025_FROM",
    "DvcqgRecord",
    "Fee",
    "RecordFormat",
    "ResultDocument",
    "SubmittedFile",
    "Supplement",
    "parse_record",
    "portal_text",
    "record_format",
    "vietnam_date",
]

CHANNEL_NAMES: Final[Mapping[int, str]] = {1: "direct", 2: "online", 3: "postal"}  # KenhThucHien
APPLICANT_KINDS: Final[Mapping[int, str]] = {1: "citizen", 2: "business", 3: "agency", 4: "other"}  # LoaiDoiTuong
ENDED_STATUSES: Final = frozenset({7, 8, 9, 10})  # E exists
PAUSED_STATUSES: Final = frozenset({5, 6})  # the legal clock stands still
SUPPLEMENT_STATUS: Final = 5
NOT_RECEIVED_STATUSES: Final = frozenset({1, 3})  # never accepted: no R needed
# DuocThanhToanTrucTuyen, practice before 2026 (the coordination system's indicator "tỷ lệ hồ sơ thanh toán trực
# tuyến"): 1 paid online on the DVCQG payment platform, 2 through a ministry's or province's payment portal; 0 not
PAYMENT_CHANNELS: Final[Mapping[int, str]] = {1: "national", 2: "provincial"}
TT04_2025_FROM: Final = date(2026, 1, 25)  # Circular 04/2025/TT-VPCP (issued 08/12/2025) in force
RecordFormat = Literal["practice", "tt04-2025"]
_STAMP: Final = re.compile(r"[0-9]{14}")
_NO_DATE: Final = "00010101000000"  # .NET's DateTime.MinValue: what a portal's empty date serialises to
_SMALL_NUMBER: Final = re.compile(r"[0-9]{1,2}")
_AMOUNT: Final = re.compile(r"[0-9]{1,15}")
RECORD_MAX: Final = 1_000_000  # characters of one record: a record is a few kilobytes, its documents are links
_SCALARS: Final = (str, int, float, type(None))


# -- field types: strict on what motcua uses ---------------------------------------------------


def _instant(value: object) -> datetime | None:
    """``yyyyMMddHHmmss`` in Vietnam time, a day from 1990 to 2199 (:func:`~motcua.workflow.engine.bounds.
    day_problem`); absent, null, ``""`` or ``00010101000000`` (what portals send: the last is .NET's empty
    ``DateTime.MinValue``) is no date. A day outside those years is refused: year 1 read as Vietnam time is before
    the first instant a datetime holds in UTC, and every report that folded it would fail."""
    if value is None or value in ("", _NO_DATE):
        return None
    if not isinstance(value, str) or not _STAMP.fullmatch(value):
        raise ValueError(f"expected a date yyyyMMddHHmmss (Vietnam time), got {excerpt(value)}")
    try:
        moment = datetime(int(value[:4]), int(value[4:6]), int(value[6:8]), int(value[8:10]), int(value[10:12]),
                          int(value[12:]), tzinfo=VN_TZ)
    except ValueError as error:
        raise ValueError(f"{excerpt(value)} is not a real date and time ({error})") from None
    if (problem := day_problem(moment.date())) is not None:
        raise ValueError(problem)
    return moment


def _code_in(low: int, high: int, *, optional: bool) -> Callable[[object], int | None]:
    """A portal code: an integer or a string of digits (portals send both) between low and high."""

    def parse(value: object) -> int | None:
        if optional and (value is None or value == ""):
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and _SMALL_NUMBER.fullmatch(value):
            number = int(value)
        else:
            raise ValueError(f"expected a code {low}–{high}, got {excerpt(value)}")
        if not low <= number <= high:
            raise ValueError(f"unknown code {excerpt(value)}: expected {low}–{high}")
        return number

    return parse


def _flag(value: object) -> bool:
    if value is None or isinstance(value, bool):
        return value is True
    if (isinstance(value, int) and value in (0, 1)) or (isinstance(value, str) and value in ("", "0", "1")):
        return value in (1, "1")
    raise ValueError(f"expected 0 or 1, got {excerpt(value)}")


def _amount(value: object) -> int:
    """A fee in đồng: a non-negative whole number, as a number or a string of digits."""
    if value is None or value == "":
        return 0
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    if isinstance(value, str) and _AMOUNT.fullmatch(value):
        return int(value)
    raise ValueError(f"expected a whole, non-negative amount of đồng, got {excerpt(value)}")


def _text(limit: int, *, free: bool = False) -> Callable[[object], str | None]:
    """Text of at most ``limit`` characters, trimmed and NFC; one line (no control character), or with ``free``
    free text (tabs and line breaks allowed). Absent or blank is no text."""

    def parse(value: object) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            # the type alone: a text field may be a name or a telephone number, sent as a number — never quoted
            raise ValueError(f"expected text, got {_kind(value)}")
        cleaned = unicodedata.normalize("NFC", value).strip()
        problem = text_problem(cleaned, limit) if free else line_problem(cleaned, limit)
        if problem is not None:
            raise ValueError(problem)
        return cleaned or None

    return parse


def _kind(value: object) -> str:
    """What ``value`` is, without a character of it (``a number``, ``a list``…)."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    return "an object" if isinstance(value, dict) else type(value).__name__


def _unit_code(value: object) -> str | None:
    """``DonViXuLy`` when it may be a unit code (one line of at most 64 characters), else ``None``: the portal may
    send a name, a number or anything else there, and a record is never refused for it — it then names no unit."""
    if not isinstance(value, str):
        return None
    cleaned = unicodedata.normalize("NFC", value).strip()
    return cleaned if cleaned and line_problem(cleaned, CODE_MAX) is None else None


def _required_code(value: object) -> str:
    cleaned = _text(CODE_MAX)(value)
    if cleaned is None:
        raise ValueError("missing" if value is None else "must not be empty")
    return cleaned


def _dossier_code(value: object) -> str:
    """``MaHoSo`` is the motcua code, read like every text of a record (NFC, trimmed: a code decomposed or followed by a
    space is the same dossier, never a second one): a missing or blank one is refused, and so is one longer than
    :data:`~motcua.workflow.engine.bounds.CASE_CODE_MAX` or holding a control character."""
    if not isinstance(value, str):
        raise ValueError("missing" if value is None else f"expected text, got {excerpt(value)}")
    cleaned = unicodedata.normalize("NFC", value).strip()
    if not cleaned:
        raise ValueError("must not be empty")
    return checked_line(cleaned, CASE_CODE_MAX)


def _listed(value: object) -> object:
    return [] if value is None or value == "" else value


def record_format(sent_on: date) -> RecordFormat:
    """The format of a record sent on ``sent_on`` (Vietnam date): the circular's from :data:`TT04_2025_FROM` on.
    The day of sending decides, not the dossier's reception: the portal reads every record it receives by the rules in
    force that day, so a dossier received in 2025 and synced in 2026 is sent in the new format."""
    return "tt04-2025" if sent_on >= TT04_2025_FROM else "practice"


Instant = Annotated[datetime | None, PlainValidator(_instant)]
Code = Annotated[str | None, PlainValidator(_text(CODE_MAX))]
RequiredCode = Annotated[str, PlainValidator(_required_code)]
Name = Annotated[str | None, PlainValidator(_text(NAME_MAX))]
FreeText = Annotated[str | None, PlainValidator(_text(TEXT_MAX, free=True))]
Link = Annotated[str | None, PlainValidator(_text(TEXT_MAX))]  # a file's name or its address: one line
Flag = Annotated[bool, PlainValidator(_flag)]


class _Portal(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=False)


class _Item(BaseModel):
    """An item of a list motcua reads whole: a field it does not know is refused (a misspelt flag is no "0")."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)


class SubmittedFile(_Item):
    """One item of ``TaiLieuNop``: a file of a component of the dossier (thành phần hồ sơ). Every name is the
    practice before 2026 (assumed kept by Circular 04/2025/TT-VPCP, whose text could not be read)."""

    file_id: Name = Field(default=None, alias="TepDinhKemId")
    file_name: Link = Field(default=None, alias="TenTepDinhKem")
    deleted: Flag = Field(default=False, alias="IsDeleted")  # a file withdrawn: not a component any more
    component: Name = Field(default=None, alias="MaThanhPhanHoSo")
    url: Link = Field(default=None, alias="DuongDanTaiTepTin")
    digitized: Flag = Field(default=False, alias="DuocSoHoa")  # 0 or 1
    # 0 submitted; 1 taken from data already held (tái sử dụng); 2 the same, replacing the result MaKetQuaThayThe
    reused: Annotated[int | None, PlainValidator(_code_in(0, 2, optional=True))] = Field(
        default=None, alias="DuocTaiSuDung")
    from_national_catalogue: Flag = Field(default=False, alias="DuocLayTuKhoDMQG")  # read, not kept
    replaced_result: Name = Field(default=None, alias="MaKetQuaThayThe")  # read, not kept

    @property
    def file(self) -> str | None:
        """The file as motcua keeps it: its address, else its name."""
        return self.url or self.file_name


class Supplement(_Portal):
    """One item of ``DanhSachHoSoBoSung``: when it was asked for and supplied, the appointment before and after."""

    requested_at: Instant = Field(default=None, alias="NgayBoSung")
    supplied_at: Instant = Field(default=None, alias="NgayTiepNhanBoSung")
    previous_appointment: Instant = Field(default=None, alias="NgayHenTraTruoc")
    new_appointment: Instant = Field(default=None, alias="NgayHenTraMoi")


class Fee(_Portal):
    """One item of ``DanhSachLePhi``."""

    code: Code = Field(default=None, alias="MaPhiLePhi")
    name: Name = Field(default=None, alias="TenPhiLePhi")
    amount: Annotated[int, PlainValidator(_amount)] = Field(default=0, alias="Gia")


class ResultDocument(_Item):
    """One item of ``DanhSachGiayToKetQua``: a result document the portal holds electronically, with the address of
    its file (``DuongDanTepTinKetQua``: the coordination system counts a result electronic when it has one). Names:
    practice before 2026."""

    code: Name = Field(default=None, alias="MaGiayToKetQua")
    document_id: Name = Field(default=None, alias="GiayToId")
    name: Name = Field(default=None, alias="TenGiayTo")
    component: Name = Field(default=None, alias="MaThanhPhanHoSo")  # practice sends "0": read, not kept
    url: Link = Field(default=None, alias="DuongDanTepTinKetQua")


class DvcqgRecord(_Portal):
    """A dossier record of the portal (``DongBoHoSoMC``), with the fields motcua uses."""

    code: Annotated[str, PlainValidator(_dossier_code)] = Field(alias="MaHoSo")
    procedure_code: RequiredCode = Field(alias="MaTTHC")
    procedure_name: Name = Field(default=None, alias="TenTTHC")
    field_code: RequiredCode = Field(alias="MaLinhVuc")
    field_name: Name = Field(default=None, alias="TenLinhVuc")
    applicant: Name = Field(default=None, alias="ChuHoSo")
    applicant_kind: Annotated[int | None, PlainValidator(_code_in(1, 4, optional=True))] = Field(
        default=None, alias="LoaiDoiTuong")
    phone: Name = Field(default=None, alias="SoDienThoai")
    email: Name = Field(default=None, alias="Email")
    summary: FreeText = Field(default=None, alias="TrichYeuHoSo")
    received_at: Instant = Field(default=None, alias="NgayTiepNhan")
    appointment: Instant = Field(default=None, alias="NgayHenTra")
    status: Annotated[int, PlainValidator(_code_in(1, 10, optional=False))] = Field(alias="TrangThaiHoSo")
    returned_at: Instant = Field(default=None, alias="NgayTra")
    ended_at: Instant = Field(default=None, alias="NgayKetThucXuLy")
    channel: Annotated[int | None, PlainValidator(_code_in(1, 3, optional=True))] = Field(
        default=None, alias="KenhThucHien")
    agency: Annotated[str | None, PlainValidator(_unit_code)] = Field(default=None, alias="DonViXuLy")
    digitized: Flag = Field(default=False, alias="HoSoCoThanhPhanSoHoa")
    online_payment: Annotated[int | None, PlainValidator(_code_in(0, 2, optional=True))] = Field(
        default=None, alias="DuocThanhToanTrucTuyen")
    fees: Annotated[tuple[Fee, ...], BeforeValidator(_listed)] = Field(default=(), alias="DanhSachLePhi")
    files: Annotated[tuple[SubmittedFile, ...], BeforeValidator(_listed)] = Field(default=(), alias="TaiLieuNop")
    supplements: Annotated[tuple[Supplement, ...], BeforeValidator(_listed)] = Field(
        default=(), alias="DanhSachHoSoBoSung")
    results: Annotated[tuple[ResultDocument, ...], BeforeValidator(_listed)] = Field(
        default=(), alias="DanhSachGiayToKetQua")

    @property
    def end(self) -> datetime | None:
        """E: the end of processing, only for status 7–10."""
        return self.ended_at if self.status in ENDED_STATUSES else None

    @property
    def paused_since(self) -> datetime | None:
        """Status 5: when the supplement still awaited was asked for, if the record says so."""
        if self.status != SUPPLEMENT_STATUS or not self.supplements or self.supplements[-1].supplied_at:
            return None
        return self.supplements[-1].requested_at

    @cached_property
    def due(self) -> tuple[str, datetime] | None:
        """A and the field it comes from: the last ``NgayHenTraMoi`` given, else ``NgayHenTra``."""
        for index in range(len(self.supplements) - 1, -1, -1):
            moved = self.supplements[index].new_appointment
            if moved is not None:
                return f"DanhSachHoSoBoSung[{index}].NgayHenTraMoi", moved
        return ("NgayHenTra", self.appointment) if self.appointment is not None else None


# -- refusals ----------------------------------------------------------------------------------


def _problems(error: ValidationError) -> list[Problem]:
    problems = []
    for item in error.errors():
        where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in item["loc"]).lstrip(".")
        message = "missing" if item["type"] == "missing" else str(item["msg"]).removeprefix("Value error, ")
        problems.append(Problem(where or "record", message))
    return problems


def portal_text(instant: datetime) -> str:
    return to_vietnam_time(instant).strftime("%Y%m%d%H%M%S")


def _contradictions(record: DvcqgRecord) -> list[Problem]:
    """The record against itself (one-stop-shop.md, the national portal): what a portal record may not say at once."""
    problems = []
    received, status = record.received_at, record.status
    if received is None and status not in NOT_RECEIVED_STATUSES:
        problems.append(Problem("NgayTiepNhan", f"missing, but TrangThaiHoSo {status} means the dossier was received"))
    if status in ENDED_STATUSES and record.ended_at is None:
        problems.append(Problem("NgayKetThucXuLy", f"missing, but TrangThaiHoSo {status} means processing ended"))
    if received is not None and record.ended_at is not None and record.ended_at < received:
        ended = portal_text(record.ended_at)
        problems.append(Problem("NgayKetThucXuLy", f"{ended} is before NgayTiepNhan {portal_text(received)}"))
    due = record.due
    if received is not None and due is not None and vietnam_date(due[1]) < vietnam_date(received):
        shown = portal_text(due[1])
        problems.append(Problem(due[0], f"appointment {shown} is before NgayTiepNhan {portal_text(received)}"))
    return problems


def vietnam_date(instant: datetime) -> date:
    return to_vietnam_time(instant).date()



def _oversized(raw: Mapping[object, object]) -> list[Problem]:
    """The record against the bounds of any input, before anything reads its fields: no field nested deeper than
    :data:`~motcua.workflow.engine.bounds.JSON_DEPTH_MAX` (with the record itself), no record larger than
    :data:`RECORD_MAX` characters."""
    problems: list[Problem] = []
    total, largest, largest_key = 0, 0, None
    for key, value in raw.items():
        if isinstance(value, _SCALARS):  # most fields: measured here, without a walk
            size = len(value) if isinstance(value, str) else 5
        else:
            depth, size = json_shape(value, JSON_DEPTH_MAX - 1, RECORD_MAX)  # the record is the first level
            if depth >= JSON_DEPTH_MAX:
                problems.append(Problem(_field_name(key), f"nested more than {JSON_DEPTH_MAX} deep"))
        weight = size + len(str(key)) + 4  # a field's name counts as much as its value
        total += weight
        if weight > largest:
            largest, largest_key = weight, key
    if not problems and total > RECORD_MAX:
        shown = "record" if largest_key is None else _field_name(largest_key)
        problems.append(Problem(shown, f"the record is larger than {RECORD_MAX:,} characters, this field the largest"))
    return problems


def _field_name(key: object) -> str:
    text = str(key) if isinstance(key, str | int) else type(key).__name__
    return text if line_problem(text, CODE_MAX) is None else excerpt(text)


def _shown_code(code: object) -> str | None:
    """``MaHoSo`` as a refusal names it: as is, or its first characters when it is not a code at all."""
    if not isinstance(code, str) or not code.strip():
        return None
    return code if len(code) <= CASE_CODE_MAX else code[:EXCERPT_MAX] + "…"


def parse_record(raw: object, index: int) -> DvcqgRecord:
    """The validated record at ``index`` of a file, or :class:`RecordRefused` naming every problem found."""
    if not isinstance(raw, Mapping):
        raise RecordRefused(index, None, [Problem("record", f"expected an object, got {type(raw).__name__}")])
    shown = _shown_code(raw.get("MaHoSo"))
    oversized = _oversized(raw)
    if oversized:
        raise RecordRefused(index, shown, oversized)
    try:
        record = DvcqgRecord.model_validate(raw)
    except ValidationError as error:
        raise RecordRefused(index, shown, _problems(error)) from None
    problems = _contradictions(record)
    if problems:
        raise RecordRefused(index, shown, problems)
    return record
