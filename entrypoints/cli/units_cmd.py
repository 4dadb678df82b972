"""``motcua units``: the commune-level administrative units of definitions/units/, at a date or all, and
``units apply``, which carries the open cases of the units that ended over to their successors.

Every bad input ends with exit code 2 and one line on stderr naming what was wrong. ``units apply`` ends with
exit code 1 when a unit split among several successors, or ended without one, still has open cases: a person must
divide them, or name the successor.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import Annotated, Final

import typer
from rich.table import Table

from motcua.adapters.bootstrap import open_motcua
from motcua.definitions.units import load_units
from motcua.entrypoints.cli.terminal import terminal
from motcua.entrypoints.cli.usage import fail
from motcua.workflow.dvcqg.imports import imported
from motcua.workflow.engine.clock import VN_TZ, SystemClock, to_vietnam_time
from motcua.workflow.errors import InvalidInput, MotcuaError
from motcua.workflow.reports.periods import parse_date
from motcua.workflow.units.model import Unit
from motcua.workflow.units.succession import (
    SuccessionReport,
    SuccessionResult,
    adopt_unitless,
    apply_successions,
    unitless,
)

__all__ = ["units_app"]

units_app = typer.Typer(
    help="Đơn vị hành chính cấp xã (administrative units): codes, validity, successors.",
    no_args_is_help=True,
    add_completion=False,
)

_TABLE_WIDTH = 160
_MAX_CODE = 64
STRANDED: Final = 1  # the exit code of `units apply` when a split unit still has open cases
DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: sqlite:///motcua.db).")]


@units_app.callback()
def units_group() -> None:
    """Đơn vị hành chính cấp xã (a group, so that ``list`` keeps its name beside later commands)."""


def _day(text: str | None) -> date | None:
    """``--at``, read and bounded as every command reads a day (:func:`~motcua.workflow.reports.periods.parse_date`)."""
    return None if text is None else parse_date(text, "--at")


def _record(unit: Unit) -> dict[str, object]:
    return {
        "code": unit.code,
        "name": unit.name,
        "kind": unit.kind.value,
        "province": unit.province,
        "valid_from": unit.valid_from.isoformat() if unit.valid_from else None,
        "valid_to": unit.valid_to.isoformat() if unit.valid_to else None,
        "successors": list(unit.successors),
        "succession": (
            {"number": unit.succession.number, "signed": unit.succession.signed.isoformat()}
            if unit.succession else None
        ),
        "unconfirmed": unit.unconfirmed,
        "note": unit.note,
    }


def _validity(unit: Unit) -> str:
    start = unit.valid_from.isoformat() if unit.valid_from else "…"
    end = unit.valid_to.isoformat() if unit.valid_to else "…"
    return f"{start} → {end}"


def _table(title: str, units: tuple[Unit, ...]) -> Table:
    table = Table(title=title)
    for column in ("Mã", "Tên", "Loại", "Tỉnh/TP", "Hiệu lực", "Kế thừa bởi", "Chưa xác minh"):
        table.add_column(column, overflow="fold")
    for unit in units:
        successors = ", ".join(unit.successors)
        if unit.succession:
            successors += f" ({unit.succession.number}, {unit.succession.signed:%d/%m/%Y})"
        flag = "có" if unit.unconfirmed else ""
        table.add_row(unit.code, unit.name, unit.kind.value, unit.province, _validity(unit), successors, flag)
    return table


@units_app.command("list")
def list_command(
    *,
    at: Annotated[str | None, typer.Option("--at", help="Only the units in force on this date, YYYY-MM-DD.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array instead of a table.")] = False,
) -> None:
    """List the units in force on --at (all versions without it), with their successors and unconfirmed flag."""
    try:
        day = _day(at)
        register = load_units()
    except MotcuaError as error:
        fail(error, source="units file")
    units = register.units if day is None else register.live_at(day)
    if as_json:
        typer.echo(json.dumps([_record(unit) for unit in units], ensure_ascii=False, indent=2))
        return
    title = f"Đơn vị hành chính cấp xã — {'ngày ' + day.isoformat() if day else 'tất cả'} ({len(units)})"
    terminal(width=_TABLE_WIDTH).print(_table(title, units))


# -- apply ---------------------------------------------------------------------------------------------


def _apply_instant(day: date | None, now: datetime, *, dry_run: bool) -> datetime:
    """The instant the successions are applied at: now, or the start of --at (never later than today, unless only
    looking)."""
    today = to_vietnam_time(now).date()
    if day is None or day == today:
        return now
    if day > today and not dry_run:
        raise InvalidInput("--at", f"{day.isoformat()} is after today ({today.isoformat()}): a succession is applied "
                                   "from its effective day on; --dry-run shows what it will move")
    return datetime.combine(day, time.min, tzinfo=VN_TZ)


def _result_record(result: SuccessionResult) -> dict[str, object]:
    succession = result.succession
    return {
        "from_unit": succession.old.code,
        "to_unit": succession.new.code if succession.new else None,
        "successors": list(succession.successors),
        "effective": succession.effective.isoformat(),
        "resolution": succession.resolution.number if succession.resolution else None,
        "moved": list(result.moved),
        "skipped": list(result.skipped),
        "stranded": list(result.stranded),
    }


def _report_record(report: SuccessionReport) -> dict[str, object]:
    return {"day": report.day.isoformat(), "dry_run": report.dry_run, "moved": report.moved,
            "successions": [_result_record(result) for result in report.results]}


def _report_table(report: SuccessionReport) -> Table:
    mode = " — chạy thử, không ghi gì" if report.dry_run else ""
    table = Table(title=f"Sắp xếp đơn vị hành chính — ngày {report.day:%d/%m/%Y}{mode}")
    moved = "Sẽ chuyển" if report.dry_run else "Đã chuyển"
    for column in ("Đơn vị cũ", "Đơn vị kế thừa", "Hiệu lực từ", "Nghị quyết", moved, "Bỏ qua", "Chưa chuyển"):
        table.add_column(column, overflow="fold")
    for result in report.results:
        succession = result.succession
        new = f"{succession.new.label} ({succession.new.code})" if succession.new else (
            "chia cho " + ", ".join(succession.successors) if succession.successors else "không có đơn vị kế thừa")
        table.add_row(
            f"{succession.old.label} ({succession.old.code})", new, f"{succession.effective:%d/%m/%Y}",
            succession.resolution.number if succession.resolution else "", str(len(result.moved)),
            str(len(result.skipped)), str(len(result.stranded)),
        )
    return table


def _stranded_text(result: SuccessionResult) -> str:
    old, count = result.succession.old, len(result.stranded)
    if result.succession.successors:
        return (f"{old.code} is split among {', '.join(result.succession.successors)}: {count} open case(s) left "
                "where they are (a split is never applied automatically)")
    ended = old.valid_to.isoformat() if old.valid_to else "?"
    return (f"{old.code} ended on {ended} without a successor: {count} open case(s) left where they are (name its "
            "successor in the units file, then run again)")


@units_app.command("apply")
def apply_command(
    *,
    at: Annotated[str | None, typer.Option("--at", help="Apply the successions in force on this date, YYYY-MM-DD "
                                           "(default: today, Vietnam time).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Write nothing: show what would move.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document instead of a table.")] = False,
    db: DbOption = None,
) -> None:
    """Move the open dossiers and plan tasks of the units that ended to their successor.

    One audited transfer per case; timers kept. Idempotent: run it at or after 00:00 of the effective day, again
    whenever you like."""
    clock = SystemClock()
    try:
        now = _apply_instant(_day(at), clock.now(), dry_run=dry_run)
        register = load_units()
    except MotcuaError as error:
        fail(error, source="units file")
    motcua = open_motcua(db, clock=clock, observers=[])
    try:
        report = apply_successions(motcua.service, motcua.store, register, now, dry_run=dry_run)
    finally:
        motcua.close()
    if as_json:
        typer.echo(json.dumps(_report_record(report), ensure_ascii=False, indent=2))
    else:
        terminal(width=_TABLE_WIDTH).print(_report_table(report))
    for result in report.stranded:
        typer.echo(f"error: {_stranded_text(result)}", err=True)
    if report.stranded:
        raise typer.Exit(code=STRANDED)


@units_app.command("adopt")
def adopt_command(
    unit: Annotated[str, typer.Argument(help="The code of the unit that held this database's cases.")],
    *,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Write nothing: show what would be adopted.")] = False,
    skip_imported: Annotated[bool, typer.Option(
        "--skip-imported", help="Leave the dossiers imported from DVCQG as they are (their unit is the portal's)."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document instead of a line.")] = False,
    db: DbOption = None,
) -> None:
    """Give UNIT to every dossier and plan task written before units existed. Idempotent.

    One audited entry each, so that scoped keys, per-unit reports and `units apply` see them. Dossiers imported from
    DVCQG whose unit the register does not know are adopted too, and counted, unless --skip-imported."""
    try:
        register = load_units()
        if len(unit) > _MAX_CODE or not any(known.code == unit for known in register.units):
            raise InvalidInput("UNIT", f"unknown unit {unit[:_MAX_CODE]!r}: `motcua units list` shows the codes")
    except MotcuaError as error:
        fail(error, source="units file")
    motcua = open_motcua(db, clock=SystemClock(), observers=[])
    try:
        from_portal = {case.code for case in unitless(motcua.store, register) if imported(case)}
        adopted = adopt_unitless(motcua.service, motcua.store, register, unit, dry_run=dry_run,
                                 leave=imported if skip_imported else None)
    finally:
        motcua.close()
    if as_json:
        typer.echo(json.dumps({"unit": unit, "dry_run": dry_run, "adopted": list(adopted),
                               "imported_adopted": sorted(from_portal & set(adopted)),
                               "imported_left": sorted(from_portal - set(adopted))}, ensure_ascii=False))
    else:
        verb = "would be adopted by" if dry_run else "adopted by"
        typer.echo(f"{len(adopted)} case(s) {verb} {unit}{_portal_text(from_portal, adopted)}; run `motcua units "
                   "apply` to carry them over if it ended")


def _portal_text(from_portal: set[str], adopted: tuple[str, ...]) -> str:
    """What the adoption line says of the dossiers imported from DVCQG, if there were any without a unit."""
    taken = len(from_portal & set(adopted))
    if not from_portal:
        return ""
    if taken:
        return f" ({taken} of them imported from DVCQG: --skip-imported leaves those)"
    return f" ({len(from_portal)} imported from DVCQG left as they are)"
