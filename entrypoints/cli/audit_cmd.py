"""The auditor's commands: ``history``, ``verify``, ``replay``, ``anchor``, ``control-sheet``, ``subject export``.

Everything they show is read from the audit log: a dossier's history and its state at an instant are
replayed from its entries (:mod:`motcua.workflow.auditing.replay`), never taken from the case row; ``replay`` holds the
case rows to their replay; ``anchor`` writes a digest of every chain's head that ``verify --anchor``
proves the log still matches later (``--anchor DIR``: the latest the worker published there, docs/auditing.md);
``subject export`` gathers what the log holds about one applicant.
See docs/explanation/audit-log.md and docs/explanation/personal-data.md.

Each command logs one structured event of codes and counts — ``subject export`` logs how many dossiers it found,
never whose — and :mod:`motcua.adapters.logging` masks any ID or phone number that would still reach a line.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Final

import structlog
import typer
from rich.console import Console
from rich.table import Table

from motcua.adapters.bootstrap import Motcua, database_url, open_motcua
from motcua.adapters.files import replacing, write_text
from motcua.adapters.logging import mask_text
from motcua.adapters.render.timeline import (
    Timeline,
    build_timeline,
    entry_json,
    minute,
    subject_dossiers,
    timeline_json,
    timeline_tables,
)
from motcua.adapters.sql.engine import dialect_url
from motcua.entrypoints.cli.terminal import flagged, terminal
from motcua.entrypoints.cli.usage import bounded_line
from motcua.workflow.auditing.anchor import ANCHOR_MAX_BYTES, Anchor, AnchorReport, check, take
from motcua.workflow.auditing.control_sheet import ControlSheet, StepCheck, control_sheet
from motcua.workflow.auditing.replay import Difference, SearchColumns, replay_all
from motcua.workflow.dossiers.internal_process import working_time_label
from motcua.workflow.engine.audit import AuditEntry, verify_chains
from motcua.workflow.engine.bounds import CASE_CODE_MAX, CODE_MAX, EXCERPT_MAX, day_problem, json_document
from motcua.workflow.engine.clock import VN_TZ, to_vietnam_time
from motcua.workflow.engine.compiled import WorkflowSet
from motcua.workflow.engine.definition import WorkflowDefinition
from motcua.workflow.engine.model import Case, JsonValue
from motcua.workflow.engine.queries import found_by
from motcua.workflow.errors import CaseNotFound, InvalidInput, UnknownDefinition

__all__ = ["register", "subject_app"]

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: sqlite:///motcua.db).")]
OutOption = Annotated[Path | None, typer.Option("--out", help="Write to this file instead of the screen.")]
subject_app = typer.Typer(help="Dữ liệu cá nhân của người nộp hồ sơ (Nghị định 13/2023/NĐ-CP).",
                          no_args_is_help=True, add_completion=False)

_PIPE_WIDTH: Final = 160  # rich assumes 80 columns when not on a terminal: too narrow for timelines
_out = terminal(pipe_width=_PIPE_WIDTH)
_err = terminal(stderr=True, pipe_width=_PIPE_WIDTH)
_log = structlog.get_logger("motcua.audit")
_INSTANT_FORMATS: Final = ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y")
ANCHOR_FILES: Final = "anchor-*.json"  # what the worker's directory publisher writes (motcua.adapters.anchors)


class HistoryFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    XLSX = "xlsx"


class ListFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


def register(app: typer.Typer) -> None:
    app.command("history")(history)
    app.command("verify")(verify)
    app.command("replay")(replay)
    app.command("anchor")(anchor)
    app.command("control-sheet")(control_sheet_command)
    app.add_typer(subject_app, name="subject")


# -- shared ----------------------------------------------------------------------------------------


def parse_instant(text: str) -> datetime:
    """ISO 8601 (``2024-03-04T09:30``, offset optional) or ``04/03/2024 09:30``; naive means Vietnam time."""
    cleaned = text.strip()
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        parsed = _vietnamese_instant(cleaned)
    if (problem := day_problem(parsed.date())) is not None:  # at the calendar's ends, a time zone overflows it
        raise InvalidInput("--at", problem)
    return parsed.replace(tzinfo=VN_TZ) if parsed.tzinfo is None else parsed


def _vietnamese_instant(text: str) -> datetime:
    for pattern in _INSTANT_FORMATS:
        try:
            return datetime.strptime(text, pattern)  # naive on purpose: Vietnam time is implied
        except ValueError:
            continue
    raise InvalidInput("--at", f"{text[:EXCERPT_MAX]!r}: use 2024-03-04T09:30 (ISO 8601) or 04/03/2024 09:30")


def _entries(motcua: Motcua, code: str) -> tuple[list[AuditEntry], WorkflowDefinition]:
    entries = list(motcua.store.history(code))
    if not entries:
        raise CaseNotFound(code)
    first = entries[0]
    return entries, motcua.workflows.get(first.definition_key, first.definition_version).definition


def _dump(document: object) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _emit(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
    else:
        write_text(out, text)


def _need_out(out: Path | None, what: str) -> Path:
    if out is None:
        raise InvalidInput("--out", f"{what} is a file: give --out FILE.xlsx")
    return out


# -- history ---------------------------------------------------------------------------------------


def history(
    code: Annotated[str, typer.Argument(help="Mã hồ sơ (dossier code) or plan task code.",
                                        callback=bounded_line(CASE_CODE_MAX))],
    at: Annotated[str | None, typer.Option("--at", help="Show the dossier as it stood at this instant "
                                           "(ISO 8601 or dd/mm/yyyy HH:MM; Vietnam time unless an offset is given).")]
    = None,
    output: Annotated[HistoryFormat, typer.Option("--format", help="table, json or xlsx")] = HistoryFormat.TABLE,
    out: OutOption = None,
    db: DbOption = None,
) -> None:
    """Print a dossier's timeline — or, with --at, the dossier as it stood then, replayed from its log."""
    instant = parse_instant(at) if at is not None else None
    motcua = open_motcua(db, observers=[])
    try:
        entries, definition = _entries(motcua, code)
    finally:
        motcua.close()
    timeline = build_timeline(entries, definition, instant)
    _log.info("audit.history", case=code, at=instant.isoformat() if instant else None, format=output.value,
              entries=len(timeline.rows))
    if output is HistoryFormat.XLSX:
        from motcua.adapters.render.audit_xlsx import write_history  # noqa: PLC0415 - openpyxl loads only for a workbook

        write_history(timeline, _need_out(out, "an xlsx history"))
    elif output is HistoryFormat.JSON:
        _emit(_dump(timeline_json(timeline)), out)
    else:
        _print_tables(timeline, out)


def _print_tables(timeline: Timeline, out: Path | None) -> None:
    _print_out(timeline_tables(timeline), out)


def _print_out(tables: Sequence[Table], out: Path | None) -> None:
    """``tables`` on the screen, or as text in ``out`` (written whole or not at all)."""
    if out is None:
        _print_to(_out, tables)
        return
    with replacing(out) as temporary, temporary.open("w", encoding="utf-8") as file:
        _print_to(terminal(file=file, width=_PIPE_WIDTH), tables)


def _print_to(console: Console, tables: Sequence[Table]) -> None:
    for table in tables:
        console.print(table)


# -- verify ------------------------------------------------------------------------------------------


def verify(
    db: DbOption = None,
    anchor_file: Annotated[Path | None, typer.Option("--anchor", help="Also prove the log still matches this "
                                                     "anchor (written earlier by `motcua anchor`), or the latest "
                                                     "of a directory the worker publishes to.")] = None,
) -> None:
    """Check every audit chain; exit 1 naming the first broken entry of each broken chain."""
    anchored = _read_anchor(anchor_file) if anchor_file is not None else None
    motcua = open_motcua(_kept(db), observers=[])
    try:
        breaks = list(verify_chains(motcua.store.cases(), motcua.store.entries()))
        report = check(anchored, motcua.store.entries()) if anchored is not None else None
    finally:
        motcua.close()
    for found in breaks:
        _err.print(flagged("BROKEN", "red", f" {found}"), highlight=False)
    _log.info("audit.verified", broken=len(breaks), anchor=anchored.digest if anchored else None,
              anchor_intact=report.intact if report else None)
    if report is not None and anchored is not None:
        _print_anchor_report(anchored, report)
    if breaks or (report is not None and not report.intact):
        raise typer.Exit(1)
    _out.print(flagged("audit log intact", "green", ": every chain verifies"))


def _kept(db: str | None) -> str:
    """The database an auditor's command reads: one that exists. A check of a database made on the spot — a mistyped
    SQLite path, an empty path or ``memory://`` — would find nothing broken and say the log is intact."""
    url = database_url(db)
    if url.startswith("memory:"):
        raise InvalidInput("--db", "memory:// holds no log to check: name the database that keeps it")
    parsed = dialect_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database or ""
        if path in ("", ":memory:") or not Path(path).is_file():
            raise InvalidInput("--db", f"no database file at {path[:EXCERPT_MAX]!r}: name the one that keeps the log")
    return url


def _read_anchor(path: Path) -> Anchor:
    if path.is_dir():  # the worker's published anchors (MOTCUA_ANCHOR_TO): named by instant, so the last is the latest
        published = sorted(path.glob(ANCHOR_FILES))
        if not published:
            raise InvalidInput("--anchor", f"{path}: no {ANCHOR_FILES} in this directory")
        path = published[-1]
        _out.print(f"anchor file: {path.name}", highlight=False)
    try:
        document = json_document(_bounded_text(path))
    except (OSError, ValueError) as error:
        raise InvalidInput("--anchor", f"{path}: {error}") from None
    return Anchor.from_json(document)


def _bounded_text(path: Path) -> str:
    """The text of the anchor file ``path``: a regular file of at most :data:`ANCHOR_MAX_BYTES` (never read past it)."""
    if not path.is_file():
        raise ValueError("not a regular file")
    with path.open("rb") as file:
        content = file.read(ANCHOR_MAX_BYTES + 1)
    if len(content) > ANCHOR_MAX_BYTES:
        raise ValueError(f"larger than {ANCHOR_MAX_BYTES:,} bytes: no anchor is")
    return content.decode("utf-8")


def _print_anchor_report(anchored: Anchor, report: AnchorReport) -> None:
    for finding in report.findings:
        label = flagged("ANCHOR BROKEN", "red") if finding.broken else flagged("ANCHOR WARNING", "yellow")
        _err.print(label, f"{finding}", highlight=False)
    verdict = "matches" if report.intact else "does NOT match"
    _out.print(f"anchor {anchored.digest[:16]}… of {minute(anchored.taken_at)} ({report.chains_checked} chains, "
               f"{anchored.count} entries): the log {verdict} it", highlight=False)
    _out.print(f"since the anchor: {report.changes()}", highlight=False)


# -- replay ------------------------------------------------------------------------------------------


def replay(
    db: DbOption = None,
    output: Annotated[ListFormat, typer.Option("--format", help="text or json")] = ListFormat.TEXT,
) -> None:
    """Rebuild every case from the audit log alone and compare it with its stored row; exit 1 on any difference."""
    motcua = open_motcua(_kept(db), observers=[])
    counted, searched = _Counter(), _Searched(motcua.workflows)
    try:
        search = SearchColumns(motcua.store.found_by(), searched.expected)
        differences = list(replay_all(counted.cases(motcua.store.cases()), motcua.store.entries(), search))
    finally:
        motcua.close()
    _log.info("audit.replayed", cases=counted.count, differences=len(differences), unchecked=searched.unknown)
    if output is ListFormat.JSON:
        sys.stdout.write(_dump({"cases": counted.count, "differences": [_difference_json(d) for d in differences],
                                "search_columns_unchecked": searched.unknown}))
    else:
        _print_differences(differences, counted.count, searched.unknown)
    if differences:
        raise typer.Exit(1)


class _Counter:
    def __init__(self) -> None:
        self.count = 0

    def cases(self, cases: Iterator[Case]) -> Iterator[Case]:
        for case in cases:
            self.count += 1
            yield case


class _Searched:
    """What each replayed case's search columns should hold (by its definition version's index), counting the cases
    whose definition version this installation does not load (not checked)."""

    def __init__(self, workflows: WorkflowSet) -> None:
        self._workflows = workflows
        self.unknown = 0

    def expected(self, case: Case) -> dict[str, str] | None:
        try:
            compiled = self._workflows.get(case.definition_key, case.definition_version)
        except UnknownDefinition:
            self.unknown += 1
            return None
        return found_by(compiled.index_order, case)


def _difference_json(difference: Difference) -> dict[str, JsonValue]:
    return {"code": difference.code, "field": difference.field, "stored": difference.stored,
            "replayed": difference.replayed}


def _print_differences(differences: Sequence[Difference], cases: int, unchecked: int) -> None:
    for difference in differences:
        _out.print(flagged("DIFFERS", "red", f" {difference.code}  {difference.field}: stored {difference.stored} "
                           f"≠ replayed {difference.replayed}"), highlight=False)
    if differences:
        codes = len({difference.code for difference in differences})
        _err.print(f"{len(differences)} differences on {codes} of {cases} cases", style="red")
    else:
        _out.print(flagged("replay identical", "green", f": all {cases} case rows equal their replay from the audit "
                           "log, and their search columns what the log gives"))
    if unchecked:
        _err.print(f"{unchecked} case rows' search columns not checked: their definition version is not loaded here")


# -- anchor ------------------------------------------------------------------------------------------


def anchor(db: DbOption = None, out: OutOption = None) -> None:
    """Write a digest of every chain's head (SHA-256 over code, sequence, head hash; count; max position)."""
    motcua = open_motcua(_kept(db), observers=[])
    try:
        taken = take(motcua.store.entries(), motcua.service.engine.clock.now())
    finally:
        motcua.close()
    _emit(_dump(taken.as_json()), out)
    _log.info("audit.anchored", digest=taken.digest, chains=len(taken.heads), count=taken.count,
              max_position=taken.max_position)
    if out is not None:
        _out.print(f"anchor written to {out}: digest {taken.digest} — {len(taken.heads)} chains, {taken.count} "
                   f"entries, last position {taken.max_position}", highlight=False)


# -- control sheet -----------------------------------------------------------------------------------


def control_sheet_command(
    code: Annotated[str, typer.Argument(help="Mã hồ sơ (dossier code).", callback=bounded_line(CASE_CODE_MAX))],
    out: OutOption = None,
    output: Annotated[HistoryFormat | None, typer.Option("--format", help="table, json or xlsx (default: xlsx "
                                                          "with --out FILE.xlsx, else table)")] = None,
    db: DbOption = None,
) -> None:
    """The process control sheet (Phiếu kiểm soát quá trình giải quyết hồ sơ) of a dossier, from its log."""
    motcua = open_motcua(db, observers=[])
    try:
        entries, definition = _entries(motcua, code)
    finally:
        motcua.close()
    sheet = control_sheet(entries)
    chosen = output or (HistoryFormat.XLSX if out is not None and out.suffix == ".xlsx" else HistoryFormat.TABLE)
    _log.info("audit.control_sheet", case=code, handovers=len(sheet.handovers), format=chosen.value)
    if chosen is HistoryFormat.XLSX:
        from motcua.adapters.render.audit_xlsx import write_control_sheet  # noqa: PLC0415 - openpyxl loads only for a workbook

        target = _need_out(out, "an xlsx control sheet")
        write_control_sheet(sheet, definition, target)
        _out.print(f"Phiếu kiểm soát của hồ sơ {code}: {len(sheet.handovers)} lần giao nhận → {target}",
                   highlight=False)
    elif chosen is HistoryFormat.JSON:
        _emit(_dump(_sheet_json(sheet)), out)
    else:
        _print_out([_sheet_table(sheet)], out)


def _sheet_json(sheet: ControlSheet) -> dict[str, JsonValue]:
    return {
        "code": sheet.code, "procedure": sheet.procedure, "applicant": sheet.applicant,
        "received_at": to_vietnam_time(sheet.received_at).isoformat() if sheet.received_at else None,
        "appointment": to_vietnam_time(sheet.appointment).isoformat() if sheet.appointment else None,
        "handovers": [
            {
                "number": h.number, "sequence": h.sequence, "step": h.trigger, "at": to_vietnam_time(h.at).isoformat(),
                "giver": h.giver.name, "giver_unit": h.giver.unit, "receiver": h.receiver.name,
                "receiver_unit": h.receiver.unit,
                "deadline": to_vietnam_time(h.deadline).isoformat() if h.deadline else None,
                "result": h.result.value, "result_label": h.result.label, "electronic": h.electronic, "note": h.note,
                "process_step": _step_json(h.step) if h.step is not None else None,
            }
            for h in sheet.handovers
        ],
        "late_steps": [
            {"number": h.number, "key": h.step.key, "label": h.step.label} for h in sheet.late_steps if h.step
        ],
    }


def _step_json(step: StepCheck) -> dict[str, JsonValue]:
    """The step of the internal process a hand-over ends: its budget, start, end, working time spent, result."""
    return {
        "key": step.key, "label": step.label, "budget": step.budget,
        "budget_minutes": int(step.budget_time.total_seconds()) // 60 if step.budget_time is not None else None,
        "started": to_vietnam_time(step.started).isoformat(), "ended": to_vietnam_time(step.ended).isoformat(),
        "spent_minutes": int(step.spent.total_seconds()) // 60,
        "due": to_vietnam_time(step.due).isoformat() if step.due else None,
        "result": step.result.value if step.result is not None else None,
    }


def _step_cell(step: StepCheck | None) -> str:
    if step is None:
        return ""
    return (f"{step.label}\nThời hạn: {step.budget or 'không tính thời gian'}\nBắt đầu: {minute(step.started)}\n"
            f"Kết thúc: {minute(step.ended)}\nĐã dùng: {working_time_label(step.spent)}")


def _sheet_table(sheet: ControlSheet) -> Table:
    table = Table(title=f"PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ — Mã hồ sơ: {sheet.code}", show_lines=True)
    for column in ("TÊN CƠ QUAN", "THỜI GIAN GIAO, NHẬN HỒ SƠ", "KẾT QUẢ", "GHI CHÚ", "BƯỚC (THỜI HẠN RIÊNG)"):
        table.add_column(column)
    for h in sheet.handovers:
        table.add_row(f"1. Giao: {h.giver.unit}\n2. Nhận: {h.receiver.unit}",
                      f"{minute(h.at)}\nNgười giao: {h.giver.name or '—'}\nNgười nhận: {h.receiver.name or '—'}",
                      h.result.label, h.note, _step_cell(h.step))
    if sheet.late_steps:
        late = "; ".join(f"{h.number}. {h.step.label}" for h in sheet.late_steps if h.step is not None)
        table.caption = f"Bước quá thời hạn riêng: {late}"
    return table


# -- subject export ----------------------------------------------------------------------------------


@subject_app.command("export")
def subject_export(
    id_number: Annotated[str, typer.Argument(help="Số định danh cá nhân (CCCD) of the applicant.",
                                             callback=bounded_line(CODE_MAX))],
    db: DbOption = None,
    out: OutOption = None,
) -> None:
    """Export every dossier and audit entry about one applicant (matched on applicant_id) as JSON."""
    wanted = "".join(id_number.split())
    if not wanted:
        raise InvalidInput("ID_NUMBER", "give the applicant's identification number")
    motcua = open_motcua(db, observers=[])
    try:
        found = list(subject_dossiers(motcua.store.entries(), wanted))
        now = motcua.service.engine.clock.now()
    finally:
        motcua.close()
    _emit(_dump(_subject_document(wanted, found, now)), out)
    _log.info("subject.exported", dossiers=len(found), to_file=out is not None)  # whose: not in a log
    _err.print(f"{len(found)} hồ sơ về người có số định danh {mask_text(wanted)}", highlight=False)


def _subject_document(
    id_number: str, found: list[tuple[Case, list[AuditEntry]]], now: datetime
) -> dict[str, JsonValue]:
    return {
        "kind": "motcua-subject-export", "exported_at": to_vietnam_time(now).isoformat(),
        "subject": {"applicant_id": id_number},
        "legal_basis": "Nghị định 13/2023/NĐ-CP về bảo vệ dữ liệu cá nhân; xem docs/explanation/personal-data.md",
        "dossiers": [
            {
                "code": case.code, "definition": case.definition_ref, "rule_set": case.rule_set,
                "opened_at": to_vietnam_time(case.opened_at).isoformat(), "version": case.version,
                "state": dict(case.state), "attributes": dict(case.attributes),
                "entries": [entry_json(entry) for entry in entries],
            }
            for case, entries in found
        ],
    }
