"""A province's published procedure list read into catalogue documents, and the difference between two catalogues.

The national database of administrative procedures (CSDLQG về TTHC, through the Cổng DVCQG and the provinces'
portals) publishes each procedure with its code (*mã thủ tục*), name, field (*lĩnh vực*), level of execution
(*cấp thực hiện*), online level (*mức độ*), processing time (*thời hạn giải quyết*) and fees (*phí, lệ phí*). A list
exported from it (CSV or XLSX, read by ``motcua.definitions.procedure_import``) reaches this module as rows: the
row's number in the file and its cells by header. :func:`read_rows` reads them into :class:`Published` values,
:func:`merge` turns those into field documents in the catalogue's YAML shape (``docs/reference/definitions.md``),
dated from the import's ``effective`` day, and :func:`diff` says what changes. The column names accepted
(:data:`COLUMNS`) and the reading of times, levels and fees are this project's reading of such lists, not a
published specification.

Every problem names its row and column (:class:`~motcua.workflow.errors.CellProblem`); a list with any problem is
refused whole (:class:`~motcua.workflow.errors.CatalogueImportRefused`). This module reads and decides, it never
writes: the documents are validated by the catalogue's loader and written by ``motcua.definitions``.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final, Literal, TypeVar

from motcua.workflow.dossiers.catalogue import PROCESSING_TIME_MAX, Channel, Level
from motcua.workflow.engine.bounds import NAME_MAX, TEXT_MAX, excerpt, line_problem, text_problem
from motcua.workflow.errors import CatalogueImportRefused, CellProblem

__all__ = [
    "COLUMNS",
    "IGNORED_COLUMNS",
    "MAX_WORKING_DAYS",
    "TIER_LABELS",
    "CatalogueDiff",
    "Change",
    "Document",
    "Published",
    "Tier",
    "diff",
    "end_missing",
    "field_code_problem",
    "header_key",
    "merge",
    "of_tier",
    "parse_fee",
    "parse_level",
    "parse_tiers",
    "parse_time",
    "read_rows",
    "runs_as_formula",
]

Document = dict[str, object]
"""A field document as its YAML file holds it: ``{"field": {"code", "name"}, "procedures": [entries]}``."""
Row = tuple[int, Mapping[str, str]]
T = TypeVar("T")

MAX_WORKING_DAYS: Final = 365  # a longer legal time is a typing error, not a procedure
_HOURS_PER_DAY: Final = 8
COLUMNS: Final[Mapping[str, str]] = {
    "mã thủ tục": "code", "mã tthc": "code", "ký hiệu thủ tục": "code", "mã số thủ tục": "code",
    "tên thủ tục": "name", "tên tthc": "name", "tên thủ tục hành chính": "name",
    "lĩnh vực": "field", "tên lĩnh vực": "field",
    "mã lĩnh vực": "field_code",
    "mức độ dvc": "level", "mức độ": "level", "mức độ dịch vụ công": "level", "mức độ dvctt": "level",
    "thời hạn giải quyết": "time", "thời gian giải quyết": "time",
    "phí, lệ phí": "fee", "phí lệ phí": "fee", "lệ phí": "fee", "phí": "fee",
    "căn cứ phí, lệ phí": "fee_basis", "căn cứ thu phí, lệ phí": "fee_basis",
    "cấp thực hiện": "tiers", "cấp giải quyết": "tiers",
}
"""The columns read, by header (:func:`header_key`: case, spaces, a trailing ``:`` or ``*`` do not matter)."""
IGNORED_COLUMNS: Final = frozenset({
    "stt", "cơ quan thực hiện", "số quyết định", "loại thủ tục", "đối tượng thực hiện",
    "căn cứ pháp lý",
})
"""Columns of the national list that are known and not imported: the catalogue dates who decides and its legal
bases itself (``authority``, ``legal_bases``); a list cannot date them."""
Tier = Literal["central", "province", "district", "commune", "other"]
"""The tiers of government that carry a procedure out (*cấp thực hiện*): a ministry, the province, the district (none
since 1 July 2025: old lists still name it), the commune (xã, phường, đặc khu), another body."""
TIER_LABELS: Final[Mapping[Tier, str]] = {
    "central": "Cấp Bộ", "province": "Cấp Tỉnh", "district": "Cấp Huyện", "commune": "Cấp Xã", "other": "Cơ quan khác",
}
_TIERS: Final[Mapping[str, Tier]] = {
    "bộ": "central", "ngành": "central", "trung ương": "central",
    "tỉnh": "province", "thành phố": "province",  # since 1 July 2025 a city in a list is a province's tier (Hải Phòng)
    "thành phố trực thuộc trung ương": "province",
    "huyện": "district", "quận": "district", "thị xã": "district", "thành phố thuộc tỉnh": "district",
    "xã": "commune", "phường": "commune", "thị trấn": "commune", "đặc khu": "commune",
    "cơ quan khác": "other", "ngành dọc": "other", "khác": "other",
}
_TIER_PREFIX: Final = re.compile(r"^(?:(?:ubnd|ủy ban nhân dân|uỷ ban nhân dân)\s+)?(?:cấp\s+)?")
_TIER_SEPARATOR: Final = re.compile(r"[,;/\n\r+&]|\s+và\s+|[-–—]")
_TIER_ASIDE: Final = re.compile(r"\([^()]*\)")  # ``Cấp Xã (Phường, Thị trấn)``: what the tier before it covers
_REQUIRED: Final = ("code", "name")
# a province's portal may add its suffix: 1.000948.H38; ASCII digits only (``\d`` takes any script's: １.００１６９９)
_CODE: Final = re.compile(r"^([0-9]\.[0-9]{6})(?:\.H[0-9]{2})?$")
_SHORTENED: Final = re.compile(r"^[0-9]\.[0-9]{1,5}$")  # 1.001190 read from a number cell: 1.00119
_FIELD_CODE: Final = re.compile(r"^[A-Z][A-Z0-9_]*$")  # the catalogue model's Procedure.field_code
_FIELD_CODE_MAX: Final = 32
_FORMULA_START: Final = re.compile(r"^(?:[=+@]|-\D|-[\d.,\s]*[-+*/^&|!=<>(])")
"""What a spreadsheet runs: ``=``, ``+``, ``@``, ``-`` not starting a number, or a number then an operator
(``-2+3+cmd|' /C calc'!A0``, the classic DDE payload); ``-5``, ``-`` and ``-3 ngày`` are not."""
_LEVELS: Final[Mapping[str, Level]] = {
    "toàn trình": "toan_trinh", "dvc trực tuyến toàn trình": "toan_trinh", "mức độ 4": "toan_trinh",
    "một phần": "mot_phan", "dvc trực tuyến một phần": "mot_phan", "mức độ 3": "mot_phan",
    "trực tiếp": "truc_tiep", "cung cấp thông tin": "truc_tiep", "mức độ 2": "truc_tiep", "mức độ 1": "truc_tiep",
}
_CHANNEL_LABELS: Final[Mapping[str, Channel]] = {
    "trực tiếp": "direct", "trực tuyến": "online", "dịch vụ bưu chính": "postal", "bưu chính": "postal",
}
_SAME_DAY: Final = re.compile(r"^(?:ngay\s+)?trong\s+(?:ngày|ngày làm việc)\b")
_DURATION: Final = re.compile(r"^(-?[0-9]+(?:[.,][0-9]+)?)\s*(ngày làm việc|giờ làm việc|ngày|giờ)\b")
_ANOTHER_TIME: Final = re.compile(r"[0-9]\s*(?:ngày|giờ làm việc)|(?:trực tiếp|trực tuyến|bưu chính)\s*:")
"""After a cell's duration: a second one (``…, Trực tuyến: 03 ngày làm việc`` joined by a comma), not read."""
_EXEMPT: Final = frozenset({"", "không", "miễn phí", "miễn", "không thu", "miễn lệ phí", "không có", "0", "0 đồng"})
_COUNCIL: Final = re.compile(r"nghị quyết|hđnd|hội đồng nhân dân")
_RESOLUTION: Final = re.compile(r"Nghị quyết(?: số)? [0-9]+/[0-9]{4}/NQ-HĐND[^,;.]*", re.IGNORECASE)
_AMOUNT: Final = re.compile(  # thousands grouped by ".", "," or a space (12 500); never the tail of a number
    r"(?<![0-9])(?<![0-9][.,\s])([0-9]{1,3}(?:[.,\s][0-9]{3})+|[0-9]+)\s*(?:đồng|đ|vnđ|vnd)\b")
_PER_PAGE: Final = re.compile(r"/\s*trang|mỗi trang|từ trang")
_PER_COPY: Final = re.compile(r"/\s*bản\b")


@dataclass(frozen=True, slots=True)
class Published:
    """One row of the list, read: what the national database publishes now about one procedure. ``None``: the list
    has no such column (the catalogue keeps what it has)."""

    row: int
    code: str
    name: str
    field_name: str | None = None
    field_code: str | None = None
    level: Level | None = None
    processing_time: dict[str, dict[str, object]] | None = None
    fee: dict[str, object] | None = None
    tiers: frozenset[Tier] | None = None  # who carries it out (None: the list does not say)


@dataclass(frozen=True, slots=True)
class Change:
    """A procedure in both catalogues whose entry differs, which of its keys, and what its level, time and fee in
    force were and become (``shifts``: ``(what, before, after)`` in words, for the clerk to check before applying)."""

    code: str
    name: str
    keys: tuple[str, ...]
    shifts: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class CatalogueDiff:
    added: tuple[tuple[str, str, str], ...] = ()  # (code, name, field code)
    removed: tuple[tuple[str, str, str], ...] = ()  # gone from the catalogue altogether
    changed: tuple[Change, ...] = ()
    unchanged: int = 0
    ended: tuple[tuple[str, str, str, date], ...] = ()  # (code, name, field code, its last day): kept, ended

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.ended)


@dataclass
class _Problems:
    items: list[CellProblem] = field(default_factory=list)

    def add(self, row: int, column: str, message: str) -> None:
        self.items.append(CellProblem(row, column, message))


# -- reading the rows ----------------------------------------------------------------------------


def header_key(header: str) -> str:
    """A header as :data:`COLUMNS` names it: NFC, lower case, one space between words, no trailing ``:``/``*``."""
    text = unicodedata.normalize("NFC", header).casefold().replace("*", " ")
    return " ".join(text.split()).rstrip(":").strip()


def read_rows(
    source: str, headers: Sequence[str], rows: Iterable[Row], *, header_row: int = 1, tiers: bool = True,
) -> list[Published]:
    """The rows of a list whose header row (``header_row`` of the file) is ``headers``; refused whole on any
    problem. ``tiers=False``: a *Cấp thực hiện* cell that is not read (no tier is chosen by it) is no problem, the
    row's tiers left unknown."""
    problems = _Problems()
    columns = _columns(headers, header_row, problems)
    if problems.items:
        raise CatalogueImportRefused(source, problems.items)
    published: list[Published] = []
    first_row: dict[str, int] = {}
    for number, cells in rows:
        values = {columns[header]: _cell(cells.get(header)) for header in columns}
        if not any(values.values()):
            continue  # an empty row: spreadsheets end with some
        row = _read_row(number, values, _names(columns), problems, tiers=tiers)
        if row is None:
            continue
        if row.code in first_row:
            problems.add(number, _names(columns)["code"], f"code {row.code} also given in row {first_row[row.code]}")
            continue
        first_row[row.code] = number
        published.append(row)
    if not published and not problems.items:
        problems.add(0, "", "no procedure in the list")
    if problems.items:
        raise CatalogueImportRefused(source, problems.items)
    return published


def _columns(headers: Sequence[str], header_row: int, problems: _Problems) -> dict[str, str]:
    """Header as given → the key it is read as."""
    columns: dict[str, str] = {}
    seen: dict[str, str] = {}
    for place, header in enumerate(headers, 1):
        unreadable = line_problem(header, NAME_MAX)
        if unreadable is not None:  # never echoed: shown as an excerpt, its control characters escaped
            problems.add(header_row, f"column {place}", f"header {excerpt(header)}: {unreadable}")
            continue
        key = header_key(header)
        if not key or key in IGNORED_COLUMNS:
            continue
        name = COLUMNS.get(key)
        if name is None:
            problems.add(header_row, header, f"unknown column (known: {', '.join(sorted(set(COLUMNS)))})")
        elif name in seen:
            problems.add(header_row, header, f"the same column as {seen[name]!r}")
        else:
            seen[name] = header
            columns[header] = name
    for name in _REQUIRED:
        if name not in seen:
            problems.add(header_row, "", f"missing column {name!r} (e.g. {_alias(name)!r})")
    return columns


def _alias(name: str) -> str:
    return next(alias for alias, key in COLUMNS.items() if key == name)


def _names(columns: Mapping[str, str]) -> dict[str, str]:
    """The key → the header the file gives it (or the usual header when the file has none)."""
    given = {key: header for header, key in columns.items()}
    return {key: given.get(key, _alias(key)) for key in set(COLUMNS.values())}


def _cell(value: str | None) -> str | None:
    if value is None:
        return None
    text = unicodedata.normalize("NFC", value).strip()
    return text or None


def _read_row(number: int, values: Mapping[str, str | None], names: Mapping[str, str],
              problems: _Problems, *, tiers: bool = True) -> Published | None:
    before = len(problems.items)
    for key, text in values.items():
        if text is not None and (problem := text_problem(text, TEXT_MAX) or cell_text_problem(text)):
            problems.add(number, names[key], problem)
    if len(problems.items) > before:
        return None
    code = _code(values.get("code"), number, names["code"], problems)
    name = values.get("name")
    if name is None:
        problems.add(number, names["name"], "missing name")
    elif problem := line_problem(name, NAME_MAX):
        problems.add(number, names["name"], problem)
    field_code = values.get("field_code")
    if field_code is not None and (problem := field_code_problem(field_code)):
        problems.add(number, names["field_code"], problem)
    level = _parsed(parse_level, values.get("level"), number, names["level"], problems)
    times = _parsed(parse_time, values.get("time"), number, names["time"], problems)
    fee_text = values.get("fee")
    fee = None
    if "fee" in values:
        try:
            fee = parse_fee(fee_text or "", values.get("fee_basis"))
        except ValueError as error:
            problems.add(number, names["fee"], str(error))
    tiers_read = _parsed(parse_tiers, values.get("tiers"), number, names["tiers"], problems if tiers else _Problems())
    if len(problems.items) > before or code is None or name is None:
        return None
    return Published(number, code, name, values.get("field"), field_code, level, times, fee, tiers_read)


def parse_tiers(text: str) -> frozenset[Tier]:
    """``Cấp Xã`` / ``Cấp Tỉnh, Cấp Xã`` / ``UBND cấp xã; UBND cấp huyện`` / ``Cấp bộ/ngành`` / ``Cơ quan khác`` →
    the tiers named (a province's list names every tier that carries the procedure out, one or several, separated by
    ``,`` ``;`` ``/`` ``-`` a line break or *và*; words in brackets are what the tier before them covers)."""
    tiers: set[Tier] = set()
    for part in _TIER_SEPARATOR.split(_TIER_ASIDE.sub(" ", unicodedata.normalize("NFC", text).casefold())):
        words = _TIER_PREFIX.sub("", " ".join(part.split()).strip(" .:")).strip()
        if not words:
            continue
        tier = _TIERS.get(words)
        if tier is None:
            raise ValueError(f"unknown level of execution {excerpt(words)} (known: {', '.join(TIER_LABELS.values())})")
        tiers.add(tier)
    if not tiers:
        raise ValueError(f"no level of execution named (known: {', '.join(TIER_LABELS.values())})")
    return frozenset(tiers)


def of_tier(published: Sequence[Published], tier: Tier | None) -> tuple[list[Published], list[Published]]:
    """The rows a catalogue of ``tier`` takes (those naming it, and those whose tier the list does not say), and the
    rows left out (carried out by other tiers only); ``None``: every row taken."""
    kept = [row for row in published if tier is None or row.tiers is None or tier in row.tiers]
    taken = {row.code for row in kept}
    return kept, [row for row in published if row.code not in taken]


def field_code_problem(code: object) -> str | None:
    """What is wrong with a field code (it also names the field's file), or ``None``."""
    if not isinstance(code, str) or len(code) > _FIELD_CODE_MAX or not _FIELD_CODE.match(code):
        return f"a field code is upper-case letters, digits and _ (e.g. HT), at most {_FIELD_CODE_MAX}"
    return None


def runs_as_formula(text: str) -> bool:
    """Whether a spreadsheet opening ``text`` as a cell would read it as a formula (``=``, ``+``, ``@``, or ``-``
    not starting a number): refused on import, quoted on export."""
    return _FORMULA_START.match(text) is not None


def cell_text_problem(text: str) -> str | None:
    """A cell a spreadsheet would run as a formula (``=``, ``+``, ``@``, ``-`` not starting a number), or ``None``.
    (Bidirectional and zero-width characters are refused with every text, by :func:`bounds.text_problem`.)"""
    if runs_as_formula(text):
        return "a cell may not start with =, +, @ or - (a spreadsheet would run it as a formula)"
    return None


def _code(text: str | None, number: int, column: str, problems: _Problems) -> str | None:
    if text is None:
        problems.add(number, column, "missing code")
        return None
    found = _CODE.match(text)
    if found is None:
        shortened = _SHORTENED.match(text) is not None
        numeric = " (a number cell drops a code's last zeros: format the column as Text)" if shortened else ""
        problems.add(number, column, "a code is d.dddddd (e.g. 1.001193), optionally with a province suffix .Hnn"
                     + numeric)
        return None
    return found.group(1)


def _parsed(parse: Callable[[str], T], text: str | None, number: int, column: str, problems: _Problems) -> T | None:
    if text is None:
        return None
    try:
        return parse(text)
    except ValueError as error:
        problems.add(number, column, str(error))
        return None


def parse_level(text: str) -> Level:
    """``Toàn trình`` / ``Một phần`` / ``Trực tiếp`` (or the older *Mức độ 4/3/2/1*) → the catalogue's level."""
    level = _LEVELS.get(header_key(text))
    if level is None:
        raise ValueError(f"unknown online level (known: {', '.join(sorted(_LEVELS))})")
    return level


def parse_time(text: str) -> dict[str, dict[str, object]]:
    """``03 ngày làm việc`` / ``Trong ngày`` / ``08 giờ làm việc`` / ``30 ngày``, or one per channel
    (``Trực tiếp: 03 ngày làm việc; Trực tuyến: 02 ngày làm việc``) → ``processing_time``. ``ngày`` without
    ``làm việc`` is read as calendar days. The words after the duration (``kể từ ngày nhận đủ hồ sơ``) are not read."""
    times: dict[str, dict[str, object]] = {}
    for part in (piece.strip() for piece in re.split(r"[;\n]", text)):
        if not part:
            continue
        channel, duration = _channel_of(part)
        if channel in times:
            raise ValueError(f"two times for the channel {channel!r}")
        times[channel] = _duration(duration)
    if "direct" not in times:
        if len(times) == 1 and "unlabelled" in times:
            times = {"direct": times.pop("unlabelled")}
        else:
            raise ValueError("several times without their channel: label each 'Trực tiếp: …', 'Trực tuyến: …'")
    times.pop("unlabelled", None)
    return times


def _channel_of(part: str) -> tuple[str, str]:
    head, colon, rest = part.partition(":")
    channel = _CHANNEL_LABELS.get(header_key(head)) if colon else None
    return (channel, rest.strip()) if channel else ("unlabelled", part)


def _duration(text: str) -> dict[str, object]:
    spoken = unicodedata.normalize("NFC", text).casefold().strip()
    same_day = _SAME_DAY.match(spoken)
    found = same_day or _DURATION.match(spoken)
    if found is None:
        raise ValueError("not a duration: write e.g. '03 ngày làm việc', 'Trong ngày' or '08 giờ làm việc'")
    if _ANOTHER_TIME.search(spoken, found.end()):
        raise ValueError("two times in one: give one per channel, each labelled and separated by ';' ('Trực tiếp: "
                         "05 ngày làm việc; Trực tuyến: 03 ngày làm việc'), or keep one")
    if same_day:
        return {"amount": 0, "unit": "working_days"}
    number, unit_text = found.group(1).replace(",", "."), found.group(2)
    if "." in number:
        raise ValueError("a duration is a whole number of days or hours")
    amount = int(number)
    if amount < 0:
        raise ValueError("a duration cannot be negative")
    unit = {"ngày làm việc": "working_days", "giờ làm việc": "working_hours", "giờ": "working_hours",
            "ngày": "calendar_days"}[unit_text]
    days = amount / _HOURS_PER_DAY if unit == "working_hours" else amount
    if days > MAX_WORKING_DAYS:
        raise ValueError(f"{amount} {unit_text} is longer than {MAX_WORKING_DAYS} working days: a typing error?")
    if amount > PROCESSING_TIME_MAX:  # the catalogue's own bound, in any unit: hours too
        raise ValueError(f"{amount} {unit_text} is more than {PROCESSING_TIME_MAX} of its unit, the catalogue's "
                         "longest processing time: a typing error?")
    return {"amount": amount, "unit": unit}


def parse_fee(text: str, basis: str | None) -> dict[str, object]:
    """The fee text of the list (and the basis column, when the file has one) → one entry of a fee schedule,
    without ``since``:

    - no fee (empty, ``Không``, ``Miễn phí``…): ``exempt``;
    - a fee set by the provincial council (``Theo Nghị quyết … HĐND``): ``council``, the resolution named when the text
      gives its number; the text itself is the basis unless the basis column gives one;
    - one amount in đồng (``Lệ phí: 8.000 đồng``, ``3.000 đồng/bản``): ``per_case`` (per copy: ``per: bản``);
    - one amount a page or a copy (``2.000 đồng/trang``): ``per_page`` with that amount only — the list does not say
      the rest of the schedule, so it is only read as "unchanged" against a per-page fee of that amount;
    - anything else (several amounts, no amount): refused.

    ``basis`` is taken from the basis column; an entry that becomes part of the catalogue needs one (:func:`merge`).
    """
    spoken = " ".join(unicodedata.normalize("NFC", text).casefold().split()).rstrip(".")
    stripped = re.sub(r"^(?:phí|lệ phí|phí, lệ phí)\s*:\s*", "", spoken)
    given = {"basis": basis} if basis else {}
    if stripped in _EXEMPT:
        return {"kind": "exempt", **given}
    if _COUNCIL.search(spoken):
        original = unicodedata.normalize("NFC", text).strip()
        resolution = _RESOLUTION.search(original)
        named = {"resolution": resolution.group(0).strip()} if resolution else {}
        return {"kind": "council", **named, "basis": basis or original}
    if "%" in spoken:
        raise ValueError("a fee as a share (%) of a value: write the fee schedule in the catalogue's YAML")
    amounts = {int(re.sub(r"[.,\s]", "", found)) for found in _AMOUNT.findall(spoken)}
    if not amounts:
        raise ValueError("cannot read the fee: write one amount in đồng ('Lệ phí: 8.000 đồng'), 'Không' or "
                         "'Theo Nghị quyết … HĐND tỉnh'")
    if len(amounts) > 1:
        raise ValueError("several amounts: write the fee schedule in the catalogue's YAML")
    if _PER_PAGE.search(spoken):
        return {"kind": "per_page", "amount": amounts.pop(), **given}
    per = {"per": "bản"} if _PER_COPY.search(spoken) else {}
    return {"kind": "per_case", "amount": amounts.pop(), **per, **given}


# -- merging into the catalogue ------------------------------------------------------------------


def merge(source: str, published: Sequence[Published], current: Sequence[Document], *, effective: date,
          note: str) -> list[Document]:
    """The catalogue the list publishes: every procedure of the list (the ones it no longer lists are
    :func:`end_missing`'s).

    A procedure already in ``current`` keeps its entry (steps, legal bases, authority…), its name replaced by the
    published one; a level or time that differs from its latest version opens a new version from ``effective``, a
    fee that differs from the fee in force closes it the day before and opens the new one. A procedure new to the
    catalogue starts on ``effective``, ``confirmed: false``, its source ``note``. Its field is found by name among
    the current fields, or given by the column 'Mã lĩnh vực'. Refused whole on any problem.
    """
    problems = _Problems()
    entries = {_code_text(entry): (document, entry) for document in current for entry in _entries(document)}
    fields = _fields(current)
    merged: dict[str, Document] = {}
    for row in published:
        found = entries.get(row.code)
        field_header = _field_of(row, found[0] if found else None, fields, problems)
        if field_header is None:
            continue
        entry = _updated(row, found[1], effective, note, problems) if found else _new(row, effective, note, problems)
        if entry is None:
            continue
        target = merged.setdefault(str(field_header["code"]), {"field": dict(field_header), "procedures": []})
        procedures = target["procedures"]
        assert isinstance(procedures, list)
        procedures.append(entry)
    if problems.items:
        raise CatalogueImportRefused(source, problems.items)
    return [merged[code] for code in sorted(merged)]


def end_missing(new: Sequence[Document], current: Sequence[Document], *, effective: date) -> list[Document]:
    """``new`` with every procedure of ``current`` it no longer lists kept, ended on the day before ``effective``
    (``valid_to``; an earlier end stays): a dossier received under it still finds it, none can be received any more.
    """
    listed = {_code_text(entry) for document in new for entry in _entries(document)}
    documents = [copy.deepcopy(dict(document)) for document in new]
    last_day = effective - timedelta(days=1)
    for document in current:
        for entry in _entries(document):
            if _code_text(entry) in listed:
                continue
            ended = copy.deepcopy(entry)
            earlier = ended.get("valid_to")
            if not (isinstance(earlier, date) and earlier <= last_day):
                ended["valid_to"] = last_day
            code = _field_code_of(document)
            target = next((other for other in documents if _field_code_of(other) == code), None)
            if target is None:
                target = {"field": _field_header(document), "procedures": []}
                documents.append(target)
            procedures = target["procedures"]
            assert isinstance(procedures, list)
            procedures.append(ended)
    return documents


def _field_code_of(document: Mapping[str, object]) -> object:
    return _field_header(document).get("code")


def _entries(document: Mapping[str, object]) -> list[dict[str, object]]:
    procedures = document.get("procedures")
    return [entry for entry in procedures if isinstance(entry, dict)] if isinstance(procedures, list) else []


def _code_text(entry: Mapping[str, object]) -> str:
    return str(entry.get("code"))


def _field_header(document: Mapping[str, object]) -> dict[str, object]:
    header = document.get("field")
    return dict(header) if isinstance(header, dict) else {}


def _fields(current: Sequence[Document]) -> dict[str, dict[str, object]]:
    """A field's name (as :func:`field_key` reads it) → its header."""
    return {field_key(str(header.get("name"))): header for header in map(_field_header, current)}


def field_key(name: str) -> str:
    """A field's name as it is matched: :func:`header_key`, each word's marks kept in order but not where they sit —
    the old and the new placement of a tone mark (``Hoà``/``Hòa``, ``Thuỷ``/``Thủy``) name the same field."""
    return " ".join(_word_key(word) for word in header_key(name).split())


def _word_key(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word)
    letters = "".join(char for char in decomposed if not unicodedata.combining(char))
    marks = "".join(char for char in decomposed if unicodedata.combining(char))
    return f"{letters}{marks}"


def _field_of(row: Published, document: Document | None, fields: Mapping[str, dict[str, object]],
              problems: _Problems) -> dict[str, object] | None:
    if row.field_name is None:
        if document is not None:
            return _field_header(document)
        problems.add(row.row, "Lĩnh vực", "a procedure new to the catalogue needs its field")
        return None
    known = fields.get(field_key(row.field_name))
    if known is not None:
        if row.field_code is not None and row.field_code != known.get("code"):
            problems.add(row.row, "Mã lĩnh vực",
                         f"the field {row.field_name!r} is {known.get('code')} in the catalogue")
            return None
        return known
    if row.field_code is None:
        problems.add(row.row, "Lĩnh vực", "a field new to the catalogue: give its code in a column 'Mã lĩnh vực'")
        return None
    return {"code": row.field_code, "name": row.field_name}


def _new(row: Published, effective: date, note: str, problems: _Problems) -> dict[str, object] | None:
    missing = [column for column, value in (("Mức độ DVC", row.level), ("Thời hạn giải quyết", row.processing_time),
                                            ("Phí, lệ phí", row.fee)) if value is None]
    for column in missing:
        problems.add(row.row, column, "a procedure new to the catalogue needs this column")
    if missing or not _fee_complete(row, problems):
        return None
    return {
        "code": row.code,
        "name": row.name,
        "confirmed": False,
        "source": note,
        "versions": [_version(row, {}, effective, note)],
        "fees": [{"since": effective, **(row.fee or {})}],
    }


def _version(row: Published, latest: Mapping[str, object], effective: date, note: str) -> dict[str, object]:
    version = {key: copy.deepcopy(value) for key, value in latest.items()
               if key not in ("since", "source", "full_online")}  # eligibility follows the new level
    version.update({"level": row.level or latest.get("level"),
                    "processing_time": row.processing_time or latest.get("processing_time"), "source": note})
    version.setdefault("paper_result", True)
    return {"since": effective, **{key: value for key, value in version.items() if key != "since"}}


def _updated(row: Published, entry: Mapping[str, object], effective: date, note: str,
             problems: _Problems) -> dict[str, object] | None:
    updated = copy.deepcopy(dict(entry))
    updated["name"] = row.name
    ended = updated.get("valid_to")
    if isinstance(ended, date) and ended < effective:
        del updated["valid_to"]  # listed again: in force again
    versions = updated.get("versions")
    if isinstance(versions, list) and versions and isinstance(versions[-1], dict):
        latest = versions[-1]
        if _differs(row, latest):
            since = latest.get("since")
            if isinstance(since, date) and since >= effective:
                problems.add(row.row, "", f"the latest version of {row.code} starts on {since}, not before the "
                                          f"import's day {effective}: give a later --since")
                return None
            versions.append(_version(row, latest, effective, note))
    elif _differs(row, updated):
        problems.add(row.row, "", f"procedure {row.code} is in the catalogue's older flat shape, which cannot date "
                                  "a new level, time or fee: give it 'versions:' and 'fees:' first")
        return None
    if row.fee is not None and isinstance(updated.get("fees"), list):
        before = len(problems.items)
        _new_fee(updated, row.fee, effective, row, problems)
        if len(problems.items) > before:
            return None
    elif row.fee is not None and "fees" not in updated and not _same_flat_fee(row.fee, updated.get("fee")):
        problems.add(row.row, "Phí, lệ phí", f"procedure {row.code} has a flat 'fee': give it 'fees:' first")
        return None
    return updated


def _times(value: object) -> dict[str, object]:
    """A processing time with every channel (as the model fills it): the direct one where none is given."""
    if not isinstance(value, dict) or "direct" not in value:
        return {}
    return {channel: value.get(channel, value["direct"]) for channel in ("direct", "online", "postal")}


def _differs(row: Published, entry: Mapping[str, object]) -> bool:
    level_differs = row.level is not None and row.level != entry.get("level")
    time_differs = row.processing_time is not None and (
        _times(row.processing_time) != _times(entry.get("processing_time")))
    return level_differs or time_differs


def _same_flat_fee(fee: Mapping[str, object], flat: object) -> bool:
    return fee.get("kind") == "per_case" and fee.get("amount") == flat


def _new_fee(entry: dict[str, object], fee: Mapping[str, object], effective: date, row: Published,
             problems: _Problems) -> None:
    fees = entry["fees"]
    assert isinstance(fees, list)
    open_ones = [item for item in fees if isinstance(item, dict) and item.get("until") is None]
    current = open_ones[-1] if open_ones else None
    if current is not None and _same_fee(current, fee):
        return
    if not _fee_complete(row, problems):
        return
    if current is not None:
        since = current.get("since")
        if isinstance(since, date) and since >= effective:
            problems.add(row.row, "Phí, lệ phí", f"the fee in force starts on {since}, not before the import's "
                                                 f"day {effective}: give a later --since")
            return
        current["until"] = effective - timedelta(days=1)
    fees.append({"since": effective, **fee})


def _same_fee(current: Mapping[str, object], published: Mapping[str, object]) -> bool:
    """Whether the list says what the fee in force asks (its basis, the parts the list cannot say, aside)."""
    if current.get("kind") != published.get("kind") or current.get("amount") != published.get("amount"):
        return False
    resolution = published.get("resolution")
    return resolution is None or resolution == current.get("resolution")


def _fee_complete(row: Published, problems: _Problems) -> bool:
    """A fee the list makes part of the catalogue: whole, and with its basis."""
    fee = row.fee or {}
    if fee.get("kind") == "per_page":
        problems.add(row.row, "Phí, lệ phí", "a per-page fee that is new or changed: write its schedule "
                                             "(first_pages, then, cap) in the catalogue's YAML")
        return False
    if fee.get("basis"):
        return True
    what = "no fee: say which article exempts it" if fee.get("kind") == "exempt" else "a fee needs its basis"
    problems.add(row.row, "Phí, lệ phí", f"{what} in the column 'Căn cứ phí, lệ phí'")
    return False


# -- the difference ------------------------------------------------------------------------------


def diff(old: Sequence[Document], new: Sequence[Document]) -> CatalogueDiff:
    """What ``new`` adds, removes, ends and changes against ``old``: procedures by code, the keys of an entry that
    differ (``field`` when it moved to another field); a procedure given a ``valid_to`` it did not have is *ended*."""
    before = _by_code(old)
    after = _by_code(new)
    added = tuple((code, str(after[code][1].get("name")), after[code][0]) for code in sorted(set(after) - set(before)))
    removed = tuple((code, str(before[code][1].get("name")), before[code][0])
                    for code in sorted(set(before) - set(after)))
    changed: list[Change] = []
    ended: list[tuple[str, str, str, date]] = []
    unchanged = 0
    for code in sorted(set(before) & set(after)):
        (old_field, old_entry), (new_field, new_entry) = before[code], after[code]
        keys = sorted(key for key in set(old_entry) | set(new_entry) if old_entry.get(key) != new_entry.get(key))
        if old_field != new_field:
            keys.insert(0, "field")
        last_day = new_entry.get("valid_to")
        is_ended = "valid_to" in keys and isinstance(last_day, date)
        if is_ended and isinstance(last_day, date):
            ended.append((code, str(new_entry.get("name")), new_field, last_day))
            keys.remove("valid_to")
        if keys:
            changed.append(Change(code, str(new_entry.get("name")), tuple(keys), _shifts(old_entry, new_entry)))
        elif not is_ended:
            unchanged += 1
    return CatalogueDiff(added, removed, tuple(changed), unchanged, tuple(ended))


_UNIT_WORDS: Final = {"working_days": "ngày làm việc", "working_hours": "giờ làm việc", "calendar_days": "ngày"}
_CHANNEL_WORDS: Final = {"direct": "Trực tiếp", "online": "Trực tuyến", "postal": "Bưu chính"}
_LEVEL_WORDS: Final = {"toan_trinh": "Toàn trình", "mot_phan": "Một phần", "truc_tiep": "Trực tiếp"}


def _shifts(old: Mapping[str, object], new: Mapping[str, object]) -> tuple[tuple[str, str, str], ...]:
    """The level, time and fee in force of ``old`` and ``new`` where they differ, in words."""
    old_version, new_version = _last(old.get("versions")), _last(new.get("versions"))
    pairs = (
        ("mức độ", _LEVEL_WORDS.get(str(old_version.get("level")), "—"),
         _LEVEL_WORDS.get(str(new_version.get("level")), "—")),
        ("thời hạn", _time_words(old_version.get("processing_time")), _time_words(new_version.get("processing_time"))),
        ("phí, lệ phí", _fee_words(_last(old.get("fees"))), _fee_words(_last(new.get("fees")))),
    )
    return tuple((what, before, after) for what, before, after in pairs if before != after)


def _last(value: object) -> Mapping[str, object]:
    return value[-1] if isinstance(value, list) and value and isinstance(value[-1], Mapping) else {}


def _time_words(value: object) -> str:
    times = _times(value)
    if not times:
        return "—"
    spoken = {channel: _duration_words(time) for channel, time in times.items()}
    if len(set(spoken.values())) == 1:
        return spoken["direct"]
    return "; ".join(f"{_CHANNEL_WORDS[channel]}: {words}" for channel, words in spoken.items())


def _duration_words(time: object) -> str:
    if not isinstance(time, Mapping):
        return "—"
    amount, unit = time.get("amount"), str(time.get("unit"))
    return "Trong ngày" if amount == 0 and unit == "working_days" else f"{amount} {_UNIT_WORDS.get(unit, unit)}"


def _fee_words(fee: Mapping[str, object]) -> str:
    kind, amount = fee.get("kind"), fee.get("amount")
    money = f"{amount:,} đồng".replace(",", ".") if isinstance(amount, int) else "?"
    words = {"exempt": "Không", "council": "Theo nghị quyết HĐND", "per_page": f"{money}/trang",
             "per_case": f"{money}/bản" if fee.get("per") == "bản" else money}
    return words.get(str(kind), "—")


def _by_code(documents: Sequence[Document]) -> dict[str, tuple[str, dict[str, object]]]:
    return {_code_text(entry): (str(_field_header(document).get("code")), entry)
            for document in documents for entry in _entries(document)}
