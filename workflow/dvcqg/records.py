"""The dossier record of the national public service portal (DVCQG, service ``DongBoHoSoMC``), validated.

:func:`parse_record` reads one record of a sync file into a frozen :class:`DvcqgRecord`: strict on the
fields motcua uses (codes, statuses, channels, ``yyyyMMddHHmmss`` dates in Vietnam time, fees), blind to
the many it does not. Portals send codes and flags as numbers or as strings of digits, and absent dates
as ``""``: both are read. A record that is malformed or contradicts itself (one-stop-shop.md, the national portal: E
before R, an
unknown status or channel, a missing code…) is refused with :class:`RecordRefused`, which names the
record and every field at fault. What an import *does* with a record is :mod:`motcua.workflow.dvcqg.imports`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import date, datetime
from functools import cached_property
from typing import Annotated, Final

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainValidator, ValidationError

from motcua.workflow.engine.clock import VN_TZ, to_vietnam_time
from motcua.workflow.errors import Problem, RecordRefused

__all__ = [
    "APPLICANT_KINDS",
    "CHANNEL_NAMES",
    "ENDED_STATUSES",
    "NOT_RECEIVED_STATUSES",
    "PAUSED_STATUSES",
    "SUPPLEMENT_STATUS",
    "DvcqgRecord",
    "Fee",
    "ResultDocument",
    "Supplement",
    "parse_record",
    "portal_text",
    "vietnam_date",
]

CHANNEL_NAMES: Final[Mapping[int, str]] = {1: "direct", 2: "online", 3: "postal"}  # KenhThucHien
APPLICANT_KINDS: Final[Mapping[int, str]] = {1: "citizen", 2: "business", 3: "agency", 4: "other"}  # LoaiDoiTuong
ENDED_STATUSES: Final = frozenset({7, 8, 9, 10})  # E exists
PAUSED_STATUSES: Final = frozenset({5, 6})  # the legal clock stands still
SUPPLEMENT_STATUS: Final = 5
NOT_RECEIVED_STATUSES: Final = frozenset({1, 3})  # never accepted: no R needed
_STAMP: Final = re.compile(r"[0-9]{14}")
_SMALL_NUMBER: Final = re.compile(r"[0-9]{1,2}")
_AMOUNT: Final = re.compile(r"[0-9]{1,15}")


# -- field types: strict on what motcua uses ---------------------------------------------------


def _instant(value: object) -> datetime | None:
    """``yyyyMMddHHmmss`` in Vietnam time; absent, null or ``""`` (what portals send) is no date."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _STAMP.fullmatch(value):
        raise ValueError(f"expected a date yyyyMMddHHmmss (Vietnam time), got {value!r}")
    try:
        return datetime(int(value[:4]), int(value[4:6]), int(value[6:8]), int(value[8:10]), int(value[10:12]),
                        int(value[12:]), tzinfo=VN_TZ)
    except ValueError as error:
        raise ValueError(f"{value!r} is not a real date and time ({error})") from None


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
            raise ValueError(f"expected a code {low}–{high}, got {value!r}")
        if not low <= number <= high:
            raise ValueError(f"unknown code {value!r}: expected {low}–{high}")
        return number

    return parse


def _flag(value: object) -> bool:
    if value is None or isinstance(value, bool):
        return value is True
    if (isinstance(value, int) and value in (0, 1)) or (isinstance(value, str) and value in ("", "0", "1")):
        return value in (1, "1")
    raise ValueError(f"expected 0 or 1, got {value!r}")


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
    raise ValueError(f"expected a whole, non-negative amount of đồng, got {value!r}")


def _text(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {value!r}")
    cleaned = unicodedata.normalize("NFC", value).strip()
    return cleaned or None


def _required_text(value: object) -> str:
    cleaned = _text(value)
    if cleaned is None:
        raise ValueError("missing" if value is None else "must not be empty")
    return cleaned


def _dossier_code(value: object) -> str:
    """``MaHoSo`` is the motcua code as is: only a missing or blank one is refused."""
    if not isinstance(value, str):
        raise ValueError("missing" if value is None else f"expected text, got {value!r}")
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _listed(value: object) -> object:
    return [] if value is None or value == "" else value


Instant = Annotated[datetime | None, PlainValidator(_instant)]
Text = Annotated[str | None, PlainValidator(_text)]
RequiredText = Annotated[str, PlainValidator(_required_text)]


class _Portal(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=False)


class Supplement(_Portal):
    """One item of ``DanhSachHoSoBoSung``: when it was asked for and supplied, the appointment before and after."""

    requested_at: Instant = Field(default=None, alias="NgayBoSung")
    supplied_at: Instant = Field(default=None, alias="NgayTiepNhanBoSung")
    previous_appointment: Instant = Field(default=None, alias="NgayHenTraTruoc")
    new_appointment: Instant = Field(default=None, alias="NgayHenTraMoi")


class Fee(_Portal):
    """One item of ``DanhSachLePhi``."""

    code: Text = Field(default=None, alias="MaPhiLePhi")
    name: Text = Field(default=None, alias="TenPhiLePhi")
    amount: Annotated[int, PlainValidator(_amount)] = Field(default=0, alias="Gia")


class ResultDocument(_Portal):
    """One item of ``DanhSachGiayToKetQua``: a result document the portal holds electronically."""

    code: Text = Field(default=None, alias="MaGiayToKetQua")
    document_id: Text = Field(default=None, alias="GiayToId")
    name: Text = Field(default=None, alias="TenGiayTo")


class DvcqgRecord(_Portal):
    """A dossier record of the portal (``DongBoHoSoMC``), with the fields motcua uses."""

    code: Annotated[str, PlainValidator(_dossier_code)] = Field(alias="MaHoSo")
    procedure_code: RequiredText = Field(alias="MaTTHC")
    procedure_name: Text = Field(default=None, alias="TenTTHC")
    field_code: RequiredText = Field(alias="MaLinhVuc")
    field_name: Text = Field(default=None, alias="TenLinhVuc")
    applicant: Text = Field(default=None, alias="ChuHoSo")
    applicant_kind: Annotated[int | None, PlainValidator(_code_in(1, 4, optional=True))] = Field(
        default=None, alias="LoaiDoiTuong")
    phone: Text = Field(default=None, alias="SoDienThoai")
    email: Text = Field(default=None, alias="Email")
    summary: Text = Field(default=None, alias="TrichYeuHoSo")
    received_at: Instant = Field(default=None, alias="NgayTiepNhan")
    appointment: Instant = Field(default=None, alias="NgayHenTra")
    status: Annotated[int, PlainValidator(_code_in(1, 10, optional=False))] = Field(alias="TrangThaiHoSo")
    returned_at: Instant = Field(default=None, alias="NgayTra")
    ended_at: Instant = Field(default=None, alias="NgayKetThucXuLy")
    channel: Annotated[int | None, PlainValidator(_code_in(1, 3, optional=True))] = Field(
        default=None, alias="KenhThucHien")
    digitized: Annotated[bool, PlainValidator(_flag)] = Field(default=False, alias="HoSoCoThanhPhanSoHoa")
    online_payment: Annotated[int | None, PlainValidator(_code_in(0, 2, optional=True))] = Field(
        default=None, alias="DuocThanhToanTrucTuyen")
    fees: Annotated[tuple[Fee, ...], BeforeValidator(_listed)] = Field(default=(), alias="DanhSachLePhi")
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



def parse_record(raw: object, index: int) -> DvcqgRecord:
    """The validated record at ``index`` of a file, or :class:`RecordRefused` naming every problem found."""
    if not isinstance(raw, Mapping):
        raise RecordRefused(index, None, [Problem("record", f"expected an object, got {type(raw).__name__}")])
    code = raw.get("MaHoSo")
    shown = code if isinstance(code, str) and code.strip() else None
    try:
        record = DvcqgRecord.model_validate(raw)
    except ValidationError as error:
        raise RecordRefused(index, shown, _problems(error)) from None
    problems = _contradictions(record)
    if problems:
        raise RecordRefused(index, shown, problems)
    return record
