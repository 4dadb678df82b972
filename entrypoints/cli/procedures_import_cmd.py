"""``motcua procedures import FILE`` and ``motcua procedures rollback``: a province's catalogue, in revisions.

``import`` reads the list (CSV/XLSX exported from the national database, or the catalogue's YAML), prints what it
adds, removes and changes, and writes a new revision of the catalogue directory only with ``--apply`` (or when the
question asked on a terminal is answered yes). A refused list prints one line per problem (row and column) and exits
2, having written nothing. ``rollback`` makes the revision before the current one current again
(docs/how-to/import-the-procedure-catalogue.md).
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Final
from zoneinfo import ZoneInfo

import typer
from rich.console import Console

from motcua.adapters.bootstrap import procedures_dir
from motcua.definitions.catalogue_store import CatalogueStore
from motcua.definitions.procedure_import import ImportPlan, apply_import, by_tiers, plan_import
from motcua.entrypoints.cli.terminal import flagged, terminal
from motcua.entrypoints.cli.usage import refusal
from motcua.workflow.dossiers.catalogue_import import CatalogueDiff, Tier
from motcua.workflow.engine.bounds import day_problem
from motcua.workflow.errors import CatalogueImportRefused, InvalidInput, MotcuaError
from motcua.workflow.reports.periods import parse_date

__all__ = ["import_procedures", "register", "rollback_procedures"]

_PIPE_WIDTH: Final = 160
_VIETNAM: Final = ZoneInfo("Asia/Ho_Chi_Minh")
_NO_DIR: Final = ("the shipped catalogue is read-only: set MOTCUA_PROCEDURES_DIR (or give --dir) to a directory "
                  "of the province's catalogue; the first import writes its revision 1 there")

class TierChoice(StrEnum):
    """The tiers ``--tier`` takes (*cấp thực hiện*); since 1 July 2025 there is no district tier to import for."""

    COMMUNE = "commune"
    PROVINCE = "province"
    ALL = "all"


_TIERS: Final[dict[TierChoice, Tier | None]] = {
    TierChoice.COMMUNE: "commune", TierChoice.PROVINCE: "province", TierChoice.ALL: None,
}

DirOption = Annotated[Path | None, typer.Option(
    "--dir", help="Thư mục danh mục của tỉnh (the catalogue directory; default MOTCUA_PROCEDURES_DIR).")]


def register(group: typer.Typer) -> None:
    """Add ``import`` and ``rollback`` to the ``procedures`` group."""
    group.command("import")(import_procedures)
    group.command("rollback")(rollback_procedures)


def _consoles() -> tuple[Console, Console]:
    return (terminal(pipe_width=_PIPE_WIDTH),
            terminal(stderr=True, pipe_width=_PIPE_WIDTH))




def import_procedures(
    file: Annotated[Path, typer.Argument(help="Danh sách thủ tục: .csv, .xlsx, một tệp .yaml lĩnh vực, "
                                              "hoặc một thư mục các tệp .yaml.")],
    *,
    apply: Annotated[bool, typer.Option("--apply", help="Ghi phiên bản mới (without it: only the difference).")]
    = False,
    since: Annotated[str | None, typer.Option(
        "--since", help="Ngày áp dụng thời hạn/mức độ/phí mới, YYYY-MM-DD (default: today in Vietnam).")] = None,
    tier: Annotated[TierChoice, typer.Option(
        "--tier", help="Cấp thực hiện nhập từ danh sách CSV/XLSX: all (every procedure, default), commune (cấp "
                       "xã) or province (cấp tỉnh); a procedure the list gives no tier is always imported.")]
    = TierChoice.ALL,
    directory: DirOption = None,
) -> None:
    """Nhập danh mục thủ tục của tỉnh: in các thay đổi; chỉ ghi khi có --apply (all or nothing)."""
    out, err = _consoles()
    root = procedures_dir(directory)
    if not file.exists():
        raise refusal(err, f"{file}: no such file")
    try:
        effective = _day(since)
        plan = plan_import(file, root, effective=effective, tier=_TIERS[tier])
    except CatalogueImportRefused as refused:
        for problem in refused.cells:
            err.print(flagged("refused", "red", f" {problem}"), highlight=False, soft_wrap=True)
        raise refusal(err, f"{file}: {len(refused.cells)} problem(s), nothing was written") from None
    except MotcuaError as error:
        raise refusal(err, str(error)) from None
    _print_plan(out, plan, root)
    if plan.difference.empty:
        out.print("Không có thay đổi: không ghi phiên bản mới.")
        return
    if root is None:
        raise refusal(err, _NO_DIR)
    if not apply and sys.stdin.isatty():
        apply = typer.confirm("Ghi phiên bản mới của danh mục?", default=False)
    if not apply:
        out.print("Chưa ghi gì: chạy lại với --apply để ghi phiên bản mới.")
        return
    try:
        manifest = apply_import(plan, root, at=datetime.now(UTC))
    except MotcuaError as error:
        raise refusal(err, f"{error} (nothing was written)") from None
    out.print(flagged(f"Đã ghi phiên bản {manifest.revision}", "green", f" của {root} "
                      f"({manifest.procedures} thủ tục); phiên bản trước: {manifest.previous or 'danh mục kèm theo'}. "
                      "Khởi động lại các tiến trình (serve, worker) để dùng danh mục mới."), highlight=False)


def rollback_procedures(
    to: Annotated[int | None, typer.Option("--to", help="Phiên bản dùng lại (default: the one before).")] = None,
    directory: DirOption = None,
) -> None:
    """Dùng lại một phiên bản trước của danh mục (the revisions stay; nothing is deleted)."""
    out, err = _consoles()
    root = procedures_dir(directory)
    if root is None:
        raise refusal(err, _NO_DIR)
    try:
        manifest = CatalogueStore(root).rollback(to)
    except MotcuaError as error:
        raise refusal(err, str(error)) from None
    out.print(f"Phiên bản {manifest.revision} ({manifest.source}, {manifest.written_at}) là phiên bản "
              "đang dùng. Khởi động lại các tiến trình (serve, worker) để dùng nó.", highlight=False)


def _day(text: str | None) -> date:
    if text is None:
        return datetime.now(_VIETNAM).date()
    day = parse_date(text, "--since")
    if (problem := day_problem(day)) is not None:
        raise InvalidInput("--since", problem)
    return day


def _print_plan(out: Console, plan: ImportPlan, root: Path | None) -> None:
    base = f"phiên bản {plan.base_revision}" if plan.base_revision else "danh mục kèm theo gói"
    where = str(root) if root is not None else "(chưa cấu hình MOTCUA_PROCEDURES_DIR)"
    out.print(f"Danh mục đang dùng: {base} — {where}", highlight=False)
    out.print(f"Tệp nhập: {plan.source} (sha256 {plan.sha256[:16]}…)", highlight=False)
    for line in diff_lines(plan.difference, frozenset(row.code for row in plan.left_out)):
        out.print(line, highlight=False, soft_wrap=True)
    if plan.left_out:
        tiers = "; ".join(f"{label}: {count}" for label, count in plan.left_out_by_tiers().items())
        out.print(f"Bỏ qua {len(plan.left_out)} thủ tục không thực hiện ở cấp đã chọn ({tiers}); --tier all để nhập "
                  "tất cả.", highlight=False, soft_wrap=True)
    elif plan.beyond_commune:
        tiers = "; ".join(f"{label}: {count}" for label, count in by_tiers(plan.beyond_commune).items())
        out.print(f"Danh sách có {len(plan.beyond_commune)} thủ tục không thực hiện ở cấp xã ({tiers}): --tier "
                  "commune để chỉ nhập thủ tục cấp xã.", highlight=False, soft_wrap=True)


def diff_lines(difference: CatalogueDiff, other_tier: frozenset[str] = frozenset()) -> list[str]:
    """The difference, one line a procedure: ``+`` added, ``-`` removed or ended (``other_tier``: the codes the list
    holds for another tier than the one chosen, said so), ``~`` changed (with the keys, and below it its level, time
    and fee before → after), then the counts."""
    lines = [f"+ {code}  {name}  [{field}]" for code, name, field in difference.added]
    lines.extend(f"- {code}  {name}  [{field}]" for code, name, field in difference.removed)
    lines.extend(f"- {code}  {name}  [{field}] ({_why_ended(code, other_tier)}: hết hiệu lực sau {last:%d/%m/%Y})"
                 for code, name, field, last in difference.ended)
    for change in difference.changed:
        lines.append(f"~ {change.code}  {change.name}: {', '.join(change.keys)}")
        lines.extend(f"    {what}: {before} → {after}" for what, before, after in change.shifts)
    gone = len(difference.removed) + len(difference.ended)
    lines.append(f"Thêm {len(difference.added)}, bỏ {gone}, thay đổi {len(difference.changed)}, "
                 f"giữ nguyên {difference.unchanged}.")
    return lines


def _why_ended(code: str, other_tier: frozenset[str]) -> str:
    return "danh sách giao cho cấp khác, không nhập với --tier đã chọn" if code in other_tier \
        else "không còn trong danh sách"
