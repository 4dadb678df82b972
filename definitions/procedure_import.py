"""Read a province's procedure list (CSV, XLSX or the catalogue's YAML) into a new catalogue, and say what changes.

:func:`plan_import` reads the file within bounds, turns it into field documents
(:mod:`motcua.workflow.dossiers.catalogue_import`), has the catalogue's loader validate them exactly as they would be
written, and compares them with the catalogue in use: an :class:`ImportPlan`, nothing written. :func:`apply_import`
writes the plan as a new revision of the catalogue directory (:class:`~motcua.definitions.catalogue_store.
CatalogueStore`), all or nothing.

The bounds: a file of at most :data:`MAX_FILE_BYTES`, at most :data:`MAX_ROWS` rows with a cell filled (of at most
:data:`MAX_SCANNED_ROWS` read) and :data:`MAX_COLUMNS` columns, each cell a text of at most 2,000 characters; a CSV
in UTF-8 (a byte-order mark allowed, ``,`` ``;`` or a tab between cells), strictly quoted, each row with every cell
of the header or none filled; an XLSX without macros, formulas, hidden rows or cells merged down into the
procedures' rows (its first visible sheet is read whole whatever its stored dimension says, uncompressed at most
:data:`MAX_UNZIPPED_BYTES`; a row openpyxl cannot read is a refusal naming it). The header row is the first of the
first :data:`HEADER_SEARCH_ROWS` rows naming a code column (rows above it, a title, are skipped).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

from motcua.definitions.catalogue import PROCEDURES_DIR, load_procedures
from motcua.definitions.catalogue_store import CatalogueStore, Manifest, dump_document, file_names, inside
from motcua.definitions.references import procedure_problems
from motcua.definitions.yamlsafe import load_yaml, yaml_files
from motcua.workflow.dossiers.catalogue_import import (
    COLUMNS,
    TIER_LABELS,
    CatalogueDiff,
    Document,
    Published,
    Tier,
    diff,
    end_missing,
    field_code_problem,
    header_key,
    merge,
    of_tier,
    read_rows,
)
from motcua.workflow.dossiers.desk import DOSSIER_WORKFLOW
from motcua.workflow.engine.bounds import excerpt
from motcua.workflow.errors import CatalogueImportRefused, CellProblem, InvalidDefinition, InvalidInput

__all__ = [
    "HEADER_SEARCH_ROWS",
    "MAX_COLUMNS",
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "MAX_SCANNED_ROWS",
    "MAX_UNZIPPED_BYTES",
    "ImportPlan",
    "apply_import",
    "by_tiers",
    "plan_import",
    "read_documents",
    "read_table",
]

MAX_FILE_BYTES: Final = 5 * 1024 * 1024  # a province's whole list is a few hundred kB
MAX_UNZIPPED_BYTES: Final = 50 * 1024 * 1024  # an XLSX is a zip: what it may expand to
MAX_ROWS: Final = 5_000  # a province publishes about 2,000 procedures, a commune's list a few hundred
MAX_SCANNED_ROWS: Final = 100_000  # rows read, empty ones included (borders drawn far below the list, ",,,," lines)
MAX_COLUMNS: Final = 40
HEADER_SEARCH_ROWS: Final = 10
_CODE_HEADERS: Final = frozenset(alias for alias, key in COLUMNS.items() if key == "code")
_MACRO_SUFFIXES: Final = frozenset({".xlsm", ".xltm", ".xlsb", ".xls"})
_DELIMITERS: Final = (",", ";", "\t")
_MERGE_CELL: Final = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?mergeCell\b[^>]*?\bref=[\"']((?P<column>[A-Z]{1,3})(?P<first>[0-9]{1,7}):[A-Z]{1,3}"
    rb"(?P<last>[0-9]{1,7}))[\"']")
_HIDDEN_ROW: Final = re.compile(  # a row element with cells (not self-closing) that the sheet does not show
    rb"<(?:[A-Za-z_][\w.-]*:)?row\b(?=[^>]*\bhidden=[\"'](?:1|true)[\"'])(?=[^>]*\br=[\"'](?P<row>[0-9]{1,7})[\"'])"
    rb"[^>]*(?<!/)>")
_CHUNK: Final = 1 << 20  # bytes of a sheet's XML scanned at a time for its merged cells
_CARRY: Final = 256  # bytes kept between two chunks: a <mergeCell …/> element is shorter

Table = tuple[int, list[str], list[tuple[int, dict[str, str]]]]  # header row, headers, (row, cells by header)


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """What an import would do: the new catalogue, the one in use, their difference; nothing written yet."""

    source: str  # the file's name
    sha256: str
    documents: tuple[Document, ...]
    current: tuple[Document, ...]
    base_revision: int | None  # the revision compared with (None: the shipped catalogue)
    difference: CatalogueDiff
    left_out: tuple[Published, ...] = ()  # rows of the list carried out by other tiers only, not imported
    beyond_commune: tuple[Published, ...] = ()  # rows imported (every tier) that the list gives no commune tier

    def left_out_by_tiers(self) -> dict[str, int]:
        """How many procedures were left out, by the tiers the list names for them, most first."""
        return by_tiers(self.left_out)


def by_tiers(rows: Sequence[Published]) -> dict[str, int]:
    """How many of ``rows`` the list gives to each set of tiers (``Cấp Tỉnh``, ``Cấp Bộ, Cấp Tỉnh``…), most first."""
    counts: dict[str, int] = {}
    for row in rows:
        label = ", ".join(TIER_LABELS[tier] for tier in TIER_LABELS if row.tiers and tier in row.tiers)
        counts[label] = counts.get(label, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def plan_import(path: Path, root: Path | None, *, effective: date, tier: Tier | None = None) -> ImportPlan:
    """Read ``path`` against the catalogue in use under ``root`` (``None``: the shipped one).

    CSV/XLSX: the province's whole list — with ``tier``, only the procedures that tier carries out (its column *Cấp
    thực hiện* naming that tier among others, or not saying), the others left out and counted; without, every one,
    those the list gives no commune tier counted (``beyond_commune``). A
    directory of YAML field files: the whole catalogue — a procedure of the
    catalogue they no longer list is kept, ended the day before ``effective``
    (:func:`~motcua.workflow.dossiers.catalogue_import.end_missing`). One YAML field file: its procedures added or
    replaced whole, by code; nothing ended."""
    content = _bounded_bytes(path) if path.is_file() else b""
    digest = hashlib.sha256(content).hexdigest() if path.is_file() else _directory_digest(path)
    store = CatalogueStore(root) if root is not None else None
    base = store.current_revision() if store is not None else None
    current_dir = (store.current() if store is not None else None) or PROCEDURES_DIR
    current = read_documents(current_dir)
    suffix = path.suffix.lower()
    rows: dict[str, int] = {}
    left_out: list[Published] = []
    beyond: list[Published] = []
    if tier is not None and (path.is_dir() or suffix in (".yaml", ".yml")):
        raise InvalidInput("--tier", "a YAML catalogue names no Cấp thực hiện: --tier chooses among a CSV/XLSX list's")
    if path.is_dir():
        documents = end_missing(_yaml_directory(path), current, effective=effective)
    elif suffix in (".yaml", ".yml"):
        documents = _yaml_file(path, current)
    else:
        header_row, headers, cells = read_table(path, content)
        read = read_rows(str(path), headers, cells, header_row=header_row, tiers=tier is not None)
        published, left_out = of_tier(read, tier)
        beyond = of_tier(read, "commune")[1] if tier is None else []
        if not published:
            column = next((header for header in headers if COLUMNS.get(header_key(header)) == "tiers"), "")
            raise CatalogueImportRefused(str(path), [CellProblem(0, column, _none_of_tier(tier, left_out))])
        note = (f"Nhập từ danh sách {path.name} (sha256 {digest[:12]}…) ngày {effective.isoformat()}: mã, tên, mức độ, "
                "thời hạn và phí theo danh sách công bố; chưa kiểm chứng với quyết định công bố.")
        merged = merge(str(path), published, current, effective=effective, note=note)
        documents = end_missing(merged, current, effective=effective)
        rows = {row.code: row.row for row in published}
    validate(str(path), documents, rows)
    return ImportPlan(path.name, digest, tuple(documents), tuple(current), base, diff(current, documents),
                      tuple(left_out), tuple(beyond))


def _none_of_tier(tier: Tier | None, left_out: Sequence[Published]) -> str:
    label = TIER_LABELS[tier] if tier is not None else "any tier"
    return (f"no procedure of the list is carried out at {label} ({len(left_out)} of other tiers only): "
            "--tier names the tier to import, --tier all every procedure")


def apply_import(plan: ImportPlan, root: Path, *, at: datetime) -> Manifest:
    """Write the plan as a new revision of ``root`` and make it current, or nothing."""
    return CatalogueStore(root).write(plan.documents, source=plan.source, sha256=plan.sha256, at=at,
                                      expected=plan.base_revision)


def validate(source: str, documents: Sequence[Document], rows: dict[str, int]) -> None:
    """The catalogue's loader on the documents exactly as they would be written (in a scratch directory); its
    problems named by the row of the list that gave the procedure. A field code that cannot name a file is refused
    before anything is written."""
    bad = [CellProblem(_row_of(document, rows), "field.code", f"{str(_field_code(document))[:40]!r}: {problem}")
           for document in documents if (problem := field_code_problem(_field_code(document)))]
    if bad:
        raise CatalogueImportRefused(source, bad)
    with tempfile.TemporaryDirectory(prefix="motcua-import-") as scratch:
        for name, document in zip(file_names(documents), documents, strict=True):
            inside(Path(scratch), name).write_text(dump_document(document), encoding="utf-8")
        try:
            problems = procedure_problems(load_procedures(Path(scratch), legacy_fees=False), {DOSSIER_WORKFLOW})
        except InvalidDefinition as error:
            problems = list(error.problems)
    if problems:
        raise CatalogueImportRefused(source, [_located(problem, rows) for problem in problems])


def _row_of(document: Document, rows: dict[str, int]) -> int:
    """The first row of the list that gave one of the document's procedures (0: none did)."""
    return min((rows[code] for entry in _procedures(document) if (code := str(entry.get("code"))) in rows),
               default=0)


def _located(problem: str, rows: dict[str, int]) -> CellProblem:
    found = re.search(r"procedure (\d\.\d{6})", problem)
    return CellProblem(rows.get(found.group(1), 0) if found else 0, "", problem)


def read_documents(directory: Path) -> list[Document]:
    """The field documents of a catalogue directory, as their files hold them (bounded like every definition)."""
    documents = []
    for path in yaml_files(directory):
        document = load_yaml(path)
        if not isinstance(document, dict):
            raise InvalidDefinition(str(path), ["the file must be a mapping"])
        documents.append(document)
    return documents


def _yaml_directory(path: Path) -> list[Document]:
    documents = read_documents(path)
    if not documents:
        raise CatalogueImportRefused(str(path), [CellProblem(0, "", "no *.yaml field file in the directory")])
    return documents


def _yaml_file(path: Path, current: Sequence[Document]) -> list[Document]:
    """The catalogue with the procedures of one field file added or replaced whole, by code; nothing ended."""
    document = load_yaml(path)
    header = document.get("field") if isinstance(document, dict) else None
    entries = document.get("procedures") if isinstance(document, dict) else None
    if not isinstance(document, dict) or not isinstance(header, dict) or not isinstance(entries, list):
        raise CatalogueImportRefused(str(path), [CellProblem(0, "", "a field file holds 'field' and 'procedures'")])
    given = {str(entry.get("code")) for entry in entries if isinstance(entry, dict)}
    kept = []
    for other in current:
        procedures = [entry for entry in _procedures(other) if str(entry.get("code")) not in given]
        if procedures:
            kept.append({**other, "procedures": procedures})
    return [*kept, document]


def _procedures(document: Document) -> list[dict[str, object]]:
    entries = document.get("procedures")
    return [entry for entry in entries if isinstance(entry, dict)] if isinstance(entries, list) else []


def _field_code(document: Document) -> object:
    header = document.get("field")
    return header.get("code") if isinstance(header, dict) else None


def _directory_digest(path: Path) -> str:
    digest = hashlib.sha256()
    for file in yaml_files(path):
        digest.update(file.name.encode() + b"\0" + _bounded_bytes(file))
    return digest.hexdigest()


def _bounded_bytes(path: Path) -> bytes:
    refused = CatalogueImportRefused
    try:
        with path.open("rb") as file:
            content = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise refused(str(path), [CellProblem(0, "", f"cannot read the file: {error.strerror}")]) from None
    if len(content) > MAX_FILE_BYTES:
        raise refused(str(path), [CellProblem(0, "", f"the file is larger than {MAX_FILE_BYTES:,} bytes")])
    return content


# -- tables --------------------------------------------------------------------------------------


def read_table(path: Path, content: bytes | None = None) -> Table:
    """The header row, the headers and the rows of a CSV or XLSX list, within the bounds."""
    data = _bounded_bytes(path) if content is None else content
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _table(str(path), _csv_rows(str(path), data), ragged=False)
    if suffix in _MACRO_SUFFIXES:
        raise _refused(path, 0, f"a {suffix} workbook is not read: save the list as .xlsx (without macros) or CSV")
    if suffix == ".xlsx":
        merged: list[_Merge] = []  # the deepest merge down rows ending in the rows the header may be in
        table = _table(str(path), _xlsx_rows(path, data, merged), ragged=True)
        if merged and merged[0].last > table[0]:  # it reaches below the header: a procedure's cell reads empty
            raise merged[0].refusal(path)
        return table
    raise _refused(path, 0, "a list is .csv, .xlsx, or the catalogue's .yaml")


def _refused(path: Path | str, row: int, message: str, column: str = "") -> CatalogueImportRefused:
    return CatalogueImportRefused(str(path), [CellProblem(row, column, message)])


def _table(source: str, rows: Iterator[tuple[int, list[str]]], *, ragged: bool) -> Table:
    """The header row, the headers and the records of ``rows``. ``ragged``: a row may end before the last column (a
    workbook stores no empty cell after the last one filled); a CSV writes every row whole."""
    header_row, headers = 0, []
    records: list[tuple[int, dict[str, str]]] = []
    scanned: list[tuple[int, list[str]]] = []
    for number, cells in rows:
        _check_bounds(source, number, cells)
        if header_row and not any(cell.strip() for cell in cells):
            continue  # an empty row below the header: skipped, not counted
        if not header_row:
            scanned.append((number, cells))
            if any(header_key(cell) in _CODE_HEADERS for cell in cells):
                header_row, headers = number, cells
            elif len(scanned) >= HEADER_SEARCH_ROWS:
                header_row, headers = scanned[0]  # no code column: the first row, its problems named as such
                records.extend(_record(source, n, c, headers, ragged) for n, c in scanned[1:])
            continue
        records.append(_record(source, number, cells, headers, ragged))
    if not header_row:
        if not scanned:
            raise _refused(source, 0, "the list is empty")
        header_row, headers = scanned[0]
        records.extend(_record(source, n, c, headers, ragged) for n, c in scanned[1:])
    if len(records) > MAX_ROWS:
        raise _refused(source, records[MAX_ROWS][0], f"more than {MAX_ROWS:,} rows")
    return header_row, headers, records


def _check_bounds(source: str, number: int, cells: list[str]) -> None:
    if number > MAX_SCANNED_ROWS:
        raise _refused(source, number, f"more than {MAX_SCANNED_ROWS:,} rows, empty ones included")
    if len(cells) > MAX_COLUMNS:
        raise _refused(source, number, f"more than {MAX_COLUMNS} columns")


def _record(
    source: str, number: int, cells: list[str], headers: list[str], ragged: bool
) -> tuple[int, dict[str, str]]:
    extra = [cell for cell in cells[len(headers):] if cell.strip()]
    if extra:
        raise _refused(source, number, f"{len(cells)} cells for {len(headers)} columns")
    named = _named_width(headers)
    if not ragged and len(cells) < named and any(cell.strip() for cell in cells):  # an empty row is skipped
        raise _refused(source, number, f"{len(cells)} cells for {named} columns: a cell is missing, or a "
                                       "quote joined it to the one before")
    return number, {header: cell for header, cell in zip(headers, cells, strict=False) if header.strip()}


def _named_width(headers: list[str]) -> int:
    """The columns up to the last one with a name: an unnamed column after it (a header row ending in a delimiter, as
    spreadsheet exports write) asks a row for no cell."""
    return next((index + 1 for index in range(len(headers) - 1, -1, -1) if headers[index].strip()), 0)


def _csv_rows(source: str, data: bytes) -> Iterator[tuple[int, list[str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        row = data[: error.start].count(b"\n") + 1
        raise _refused(source, row, f"not UTF-8 text (byte {error.start}): save the list as 'CSV UTF-8'") from None
    first = text.split("\n", 1)[0]
    delimiter = max(_DELIMITERS, key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    number = 0
    try:
        for number, cells in enumerate(reader, start=1):
            yield number, cells
    except csv.Error as error:
        raise _refused(source, number + 1, f"not CSV: {_csv_problem(error)}") from None


def _csv_problem(error: csv.Error) -> str:
    """What ``csv`` (strict) found wrong, in words a clerk can act on."""
    if str(error) == "unexpected end of data":
        return "a quote opened in this row is never closed (a cell's text runs to the end of the file)"
    return str(error)


def _xlsx_rows(path: Path, data: bytes, merged: list[_Merge]) -> Iterator[tuple[int, list[str]]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except zipfile.BadZipFile:
        raise _refused(path, 0, "not an XLSX workbook") from None
    if any(entry.filename.lower().endswith("vbaproject.bin") for entry in entries):
        raise _refused(path, 0, "the workbook holds macros: save it as .xlsx without them")
    if sum(entry.file_size for entry in entries) > MAX_UNZIPPED_BYTES:
        raise _refused(path, 0, f"the workbook expands to more than {MAX_UNZIPPED_BYTES:,} bytes")
    from openpyxl import load_workbook  # type: ignore[import-untyped]  # noqa: PLC0415 - only for a workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as error:
        raise _refused(path, 0, f"not a readable XLSX workbook: {type(error).__name__}") from None
    number, sheet_name = 0, "?"
    try:
        sheet = next(sheet for sheet in workbook.worksheets if sheet.sheet_state == "visible")
        sheet_name = sheet.title
        merged.extend(_refuse_merged_down(path, data, getattr(sheet, "_worksheet_path", "")))
        sheet.reset_dimensions()  # the stored <dimension> may be stale: read every row the sheet holds
        rows = sheet.iter_rows()
        while True:
            try:
                row = next(rows)
            except StopIteration:
                break
            except Exception as error:  # the sheet's XML, a cell's type or reference: whatever openpyxl raises
                raise _refused(path, number + 1, f"sheet {sheet_name!r}: unreadable row after row {number} "
                                                 f"({type(error).__name__})") from None
            number += 1
            if number > MAX_SCANNED_ROWS:
                raise _refused(path, number, f"more than {MAX_SCANNED_ROWS:,} rows, empty ones included")
            yield number, [_xlsx_cell(path, number, cell) for cell in row]
    except StopIteration:
        raise _refused(path, 0, "the workbook has no visible sheet") from None
    finally:
        workbook.close()


@dataclass(frozen=True, slots=True)
class _Merge:
    """Cells merged down rows: ``ref`` (``F3:F4``), its column, its first and last row."""

    ref: str
    column: str
    first: int
    last: int

    def refusal(self, path: Path) -> CatalogueImportRefused:
        return _refused(path, self.first + 1, f"merged cells {self.ref}: unmerge them and write the value in each row "
                        "(a reader finds it in the first row only)", self.column)


def _refuse_merged_down(path: Path, data: bytes, member: str) -> list[_Merge]:
    """Refuse cells merged down rows into the procedures' rows: the sheet shows the value in every row, a reader finds
    it in the first only, and an empty cell keeps what the catalogue has — a procedure would silently keep its old time
    or fee. (Merged along one row, a title, is read; so is a merge ending in the first :data:`HEADER_SEARCH_ROWS` rows,
    a title two rows tall, unless it reaches below the header: the deepest such merge is returned, for the caller to
    judge against the header row.) Refuse a hidden row below them too: the clerk does not see it (a filter), the
    import would read it. ``member``: the sheet's XML in the workbook."""
    deepest: _Merge | None = None
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        try:
            sheet = archive.open(member)
        except KeyError:
            raise _refused(path, 0, "not a readable XLSX workbook: its first sheet is missing") from None
        with sheet:
            carry = b""
            while chunk := sheet.read(_CHUNK):
                window = carry + chunk
                for hidden in _HIDDEN_ROW.finditer(window):
                    if int(hidden["row"]) > HEADER_SEARCH_ROWS:
                        raise _refused(path, int(hidden["row"]), "a hidden row (hidden by hand or by a filter): "
                                       "show every row, and delete the ones not meant for the catalogue")
                for found in _MERGE_CELL.finditer(window):
                    first, last = int(found["first"]), int(found["last"])
                    if last <= first:
                        continue
                    merge = _Merge(found[1].decode(), found["column"].decode(), first, last)
                    if last > HEADER_SEARCH_ROWS:
                        raise merge.refusal(path)
                    if deepest is None or last > deepest.last:
                        deepest = merge
                carry = window[-_CARRY:]
    return [] if deepest is None else [deepest]


def _xlsx_cell(path: Path, number: int, cell: Any) -> str:
    value = cell.value
    if getattr(cell, "data_type", None) == "f":  # a text that would become one: catalogue_import.cell_text_problem
        column = getattr(cell, "column_letter", "")
        raise _refused(path, number, "a formula: paste the values, not the formulas", column)
    if getattr(cell, "data_type", None) == "e":  # #N/A, #REF!…: what a formula left, not a value
        column = getattr(cell, "column_letter", "")
        raise _refused(path, number, f"a cell showing an error ({excerpt(value)}): write its value", column)
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
