"""``motcua procedures``: the procedure catalogue, dated. The bare command lists every procedure with the version and
fee in force on a day (today by default); ``procedures show CODE`` shows one procedure's versions, authority, fee
schedule, internal steps and legal bases, with their sources."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

import typer
from rich.console import Group
from rich.table import Table

from motcua.adapters.bootstrap import procedure_catalogue
from motcua.entrypoints.cli.terminal import terminal
from motcua.entrypoints.cli.usage import bounded_line, shown
from motcua.workflow.dossiers.catalogue import (
    CHANNELS,
    Channel,
    FeeEntry,
    Government,
    Level,
    Procedure,
    ProcedureVersion,
    ProcessingTime,
    TimeUnit,
)
from motcua.workflow.engine.bounds import CODE_MAX
from motcua.workflow.engine.clock import to_vietnam_time
from motcua.workflow.errors import UnknownProcedure
from motcua.workflow.reports.periods import parse_date

__all__ = ["fee_text", "procedures", "procedures_app", "register", "show"]

_UNITS: dict[TimeUnit, str] = {
    "working_days": "ngày làm việc",
    "working_hours": "giờ làm việc",
    "calendar_days": "ngày",
}
_CHANNELS: dict[Channel, str] = {"direct": "Trực tiếp", "online": "Trực tuyến", "postal": "Bưu chính"}
_LEVELS: dict[Level, str] = {"toan_trinh": "Toàn trình", "mot_phan": "Một phần", "truc_tiep": "Trực tiếp"}
_GOVERNMENTS: dict[Government, str] = {
    "central": "Trung ương", "province": "Cấp tỉnh", "district": "Cấp huyện", "commune": "Cấp xã",
}

procedures_app = typer.Typer(help="Danh mục thủ tục hành chính, theo phiên bản và biểu phí.")


class Format(StrEnum):
    table = "table"
    json = "json"


FormatOption = typer.Option(Format.table, "--format", help="table hoặc json.")
OnDay = typer.Option(None, "--on", help="Ngày xem phiên bản có hiệu lực, YYYY-MM-DD (mặc định: hôm nay).")


@procedures_app.callback(invoke_without_command=True)
def procedures(
    ctx: typer.Context,
    field: str | None = typer.Option(None, "--field", help="Chỉ liệt kê một lĩnh vực, theo mã (ví dụ HT)."),
    on: str | None = OnDay,
) -> None:
    """Liệt kê danh mục thủ tục hành chính có hiệu lực trong ngày.

    Mỗi thủ tục: mã, tên, lĩnh vực, phiên bản, mức độ, thời hạn, lệ phí."""
    if ctx.invoked_subcommand is not None:
        return
    catalogue = procedure_catalogue()  # MOTCUA_PROCEDURES_DIR's current revision, else the shipped one
    console = terminal(pipe_width=None)
    rows = catalogue.by_field(field) if field else tuple(catalogue)
    if not rows:
        known = ", ".join(f"{code} ({name})" for code, name in catalogue.fields().items())
        console.print(shown(f"Không có lĩnh vực {field!r}. Các lĩnh vực: {known}"), highlight=False, markup=False)
        raise typer.Exit(code=1)
    day = _day(on)
    console.print(_table(tuple(procedure for procedure in rows if procedure.valid_on(day)), day))


@procedures_app.command("show")
def show(
    code: str = typer.Argument(..., help="Mã thủ tục (mã TTHC), ví dụ 2.000815.", callback=bounded_line(CODE_MAX)),
    output: Format = FormatOption,
) -> None:
    """Một thủ tục: các phiên bản, thẩm quyền, biểu phí, các bước nội bộ, căn cứ pháp lý và nguồn."""
    catalogue = procedure_catalogue()  # MOTCUA_PROCEDURES_DIR's current revision, else the shipped one
    try:
        procedure = catalogue.get(code)
    except UnknownProcedure:
        typer.echo(shown(f"Không có thủ tục {code!r} trong danh mục ({len(catalogue)} thủ tục)."), err=True)
        raise typer.Exit(code=1) from None
    if output is Format.json:
        typer.echo(json.dumps(_as_json(procedure), ensure_ascii=False, indent=2))
        return
    terminal(pipe_width=None).print(_details(procedure))


def register(app: typer.Typer) -> None:
    app.add_typer(procedures_app, name="procedures")


def _day(text: str | None) -> date:
    if text is None:
        return to_vietnam_time(datetime.now(UTC)).date()
    return parse_date(text, "--on")  # as every command reads a day: YYYY-MM-DD, 1990 … 2199


def _table(rows: tuple[Procedure, ...], day: date) -> Table:
    table = Table(title=f"Danh mục thủ tục hành chính ({len(rows)}), phiên bản có hiệu lực ngày {day:%d/%m/%Y}")
    table.add_column("Mã", no_wrap=True, min_width=8)
    table.add_column("Tên thủ tục", overflow="fold")
    table.add_column("Lĩnh vực")
    table.add_column("Phiên bản", no_wrap=True)
    table.add_column("Mức độ")
    table.add_column("Thời hạn")
    table.add_column("Lệ phí", justify="right")
    for procedure in rows:
        version = procedure.version_on(day)
        table.add_row(
            procedure.code, procedure.name, procedure.field_name, _since(version.since), _LEVELS[version.level],
            _times(version), fee_text(procedure.fee_on(day)),
        )
    return table


def _details(procedure: Procedure) -> Group:
    header = Table.grid(padding=(0, 1))
    header.add_row("Mã:", procedure.code)
    header.add_row("Tên:", procedure.name)
    header.add_row("Lĩnh vực:", f"{procedure.field_code} – {procedure.field_name}")
    header.add_row("Đã đối chiếu:", "có" if procedure.confirmed else "chưa (xem nguồn)")
    header.add_row("Nguồn:", procedure.source.strip())
    parts: list[Table] = [header, _versions(procedure), _authority(procedure), _fees(procedure)]
    if procedure.steps:
        parts.append(_steps(procedure))
    if procedure.legal_bases:
        parts.append(_bases(procedure))
    return Group(*parts)


def _versions(procedure: Procedure) -> Table:
    table = Table(title="Phiên bản")
    for column in ("Từ ngày", "Đến ngày", "Mức độ", "Toàn trình", "Thời hạn", "Gia hạn", "Nguồn"):
        table.add_column(column, overflow="fold")
    for version, until in _spans(procedure):
        extension = version.extension or (
            f"thêm không quá {version.extension_working_days} ngày làm việc" if version.extension_working_days else "")
        table.add_row(_since(version.since), _until(until), _LEVELS[version.level],
                      "có" if version.eligible else "không", _times(version), extension, version.source or "")
    return table


def _authority(procedure: Procedure) -> Table:
    table = Table(title="Thẩm quyền")
    for column in ("Từ ngày", "Đến ngày", "Quyết định", "Tiếp nhận"):
        table.add_column(column)
    for entry in procedure.authority:
        table.add_row(_since(entry.since), _until(entry.until), _GOVERNMENTS[entry.decides],
                      _GOVERNMENTS[entry.receives])
    if not procedure.authority:
        table.add_row("—", "—", "danh mục chưa ghi", "danh mục chưa ghi")
    return table


def _fees(procedure: Procedure) -> Table:
    table = Table(title="Biểu phí, lệ phí")
    for column in ("Từ ngày", "Đến ngày", "Mức", "Căn cứ", "Nghị quyết HĐND"):
        table.add_column(column, overflow="fold")
    for entry in procedure.fees:
        table.add_row(_since(entry.since), _until(entry.until), fee_text(entry), entry.basis or "(không ghi căn cứ)",
                      entry.resolution or ("chưa rõ" if entry.kind == "council" else ""))
    return table


def _steps(procedure: Procedure) -> Table:
    table = Table(title="Quy trình nội bộ" + (f" ({procedure.steps_source.strip()})" if procedure.steps_source else ""))
    for column in ("Bước", "Nội dung", "Thời gian"):
        table.add_column(column, overflow="fold")
    for step in procedure.steps:
        budget = "không tính" if step.budget is None else f"{step.budget.amount:g} {_UNITS[step.budget.unit]}"
        table.add_row(step.key, step.label, budget)
    return table


def _bases(procedure: Procedure) -> Table:
    table = Table(title="Căn cứ pháp lý")
    for column in ("Văn bản", "Ngày ký", "Sửa đổi, bổ sung bởi"):
        table.add_column(column, overflow="fold")
    for basis in procedure.legal_bases:
        table.add_row(basis.text, f"{basis.signed:%d/%m/%Y}" if basis.signed else "", "; ".join(basis.amended_by))
    return table


def _spans(procedure: Procedure) -> list[tuple[ProcedureVersion, date | None]]:
    """Each version with its last day: the day before the next one's ``since`` (the last: ``valid_to``)."""
    ends: list[date | None] = [
        later.since - timedelta(days=1) if later.since is not None else None for later in procedure.versions[1:]
    ]
    return list(zip(procedure.versions, [*ends, procedure.valid_to], strict=True))


def _as_json(procedure: Procedure) -> dict[str, object]:
    data: dict[str, object] = procedure.model_dump(mode="json")
    data["versions"] = [
        {"key": version.key, "until": until.isoformat() if until else None, **version.model_dump(mode="json")}
        for version, until in _spans(procedure)
    ]
    data["fees"] = [{**entry.model_dump(mode="json"), "known": entry.known} for entry in procedure.fees]
    return data


def _since(day: date | None) -> str:
    return f"{day:%d/%m/%Y}" if day else "(từ đầu)"


def _until(day: date | None) -> str:
    return f"{day:%d/%m/%Y}" if day else "nay"


def _times(version: ProcedureVersion) -> str:
    cutoff = f" (nhận sau {version.cutoff:%H:%M}: ngày làm việc sau)" if version.cutoff else ""
    distinct = {version.time_for(channel) for channel in CHANNELS}
    if len(distinct) == 1:
        return _duration(version.time_for("direct")) + cutoff
    parts = [f"{_CHANNELS[channel]}: {_duration(version.time_for(channel))}" for channel in CHANNELS]
    return "; ".join(parts) + cutoff


def _duration(value: ProcessingTime) -> str:
    if value.amount == 0 and value.unit == "working_days":
        return "trong ngày"
    return f"{value.amount} {_UNITS[value.unit]}"


def fee_text(entry: FeeEntry) -> str:
    """A fee entry as a desk reads it: "2.000 đ/trang, từ trang 3: 1.000 đ/trang, tối đa 200.000 đ/bản"."""
    per = f"/{entry.per}" if entry.per else ""
    if entry.kind == "exempt":
        return "Miễn"
    if entry.kind == "council":
        known = f": {_money(entry.amount)}{per}" if entry.amount is not None else " (chưa rõ mức)"
        return "HĐND tỉnh quy định" + known
    if entry.kind == "per_case" or entry.amount is None:
        return f"{_money(entry.amount or 0)}{per}"
    text = f"{_money(entry.amount)}/trang"
    if entry.first_pages is not None and entry.then is not None:
        text += f", từ trang {entry.first_pages + 1}: {_money(entry.then)}/trang"
    return text + (f", tối đa {_money(entry.cap)}{per}" if entry.cap is not None else "")


def _money(amount: int) -> str:
    return f"{amount:,}".replace(",", ".") + " đ"

