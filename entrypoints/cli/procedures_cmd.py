"""``motcua procedures``: print the procedure catalogue as a table."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from motcua.definitions.catalogue import load_procedures
from motcua.workflow.dossiers.catalogue import CHANNELS, Channel, Level, Procedure, ProcessingTime, TimeUnit

__all__ = ["procedures", "register"]

_UNITS: dict[TimeUnit, str] = {
    "working_days": "ngày làm việc",
    "working_hours": "giờ làm việc",
    "calendar_days": "ngày",
}
_CHANNELS: dict[Channel, str] = {"direct": "Trực tiếp", "online": "Trực tuyến", "postal": "Bưu chính"}
_LEVELS: dict[Level, str] = {"toan_trinh": "Toàn trình", "mot_phan": "Một phần", "truc_tiep": "Trực tiếp"}


def procedures(
    field: str | None = typer.Option(None, "--field", help="Chỉ liệt kê một lĩnh vực, theo mã (ví dụ HT)."),
) -> None:
    """Liệt kê danh mục thủ tục hành chính: mã, tên, lĩnh vực, mức độ, thời hạn, lệ phí."""
    catalogue = load_procedures()
    console = Console()
    rows = catalogue.by_field(field) if field else tuple(catalogue)
    if not rows:
        known = ", ".join(f"{code} ({name})" for code, name in catalogue.fields().items())
        console.print(f"Không có lĩnh vực {field!r}. Các lĩnh vực: {known}")
        raise typer.Exit(code=1)
    console.print(_table(rows))


def register(app: typer.Typer) -> None:
    app.command("procedures")(procedures)


def _table(rows: tuple[Procedure, ...]) -> Table:
    table = Table(title=f"Danh mục thủ tục hành chính ({len(rows)})")
    table.add_column("Mã", no_wrap=True, min_width=8)
    table.add_column("Tên thủ tục", overflow="fold")
    table.add_column("Lĩnh vực")
    table.add_column("Mức độ")
    table.add_column("Thời hạn")
    table.add_column("Lệ phí", justify="right")
    for procedure in rows:
        table.add_row(
            procedure.code,
            procedure.name,
            procedure.field_name,
            _LEVELS[procedure.level],
            _times(procedure),
            _fee(procedure.fee),
        )
    return table


def _times(procedure: Procedure) -> str:
    cutoff = f" (nhận sau {procedure.cutoff:%H:%M}: ngày làm việc sau)" if procedure.cutoff else ""
    distinct = {procedure.time_for(channel) for channel in CHANNELS}
    if len(distinct) == 1:
        return _duration(procedure.time_for("direct")) + cutoff
    parts = [f"{_CHANNELS[channel]}: {_duration(procedure.time_for(channel))}" for channel in CHANNELS]
    return "; ".join(parts) + cutoff


def _duration(value: ProcessingTime) -> str:
    if value.amount == 0 and value.unit == "working_days":
        return "trong ngày"
    return f"{value.amount} {_UNITS[value.unit]}"


def _fee(amount: int) -> str:
    return "Miễn phí" if amount == 0 else f"{amount:,}".replace(",", ".") + " đ"
