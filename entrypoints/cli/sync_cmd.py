"""``motcua sync status [CODE]``: what reached the DVCQG portal, per dossier or per change of one dossier."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from motcua.adapters.bootstrap import PORTAL_PUBLISH, Motcua, open_motcua
from motcua.entrypoints.cli.terminal import terminal
from motcua.entrypoints.cli.usage import bounded_line
from motcua.workflow.dvcqg.portal import EntrySync, sent_to_portal, summarize
from motcua.workflow.engine.bounds import CASE_CODE_MAX
from motcua.workflow.engine.clock import to_vietnam_time

__all__ = ["register_sync", "status"]

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: sqlite:///motcua.db).")]
sync_app = typer.Typer(help="Đồng bộ Cổng DVCQG (DVCQG synchronisation).", no_args_is_help=True,
                       add_completion=False)
_PIPE_WIDTH = 160  # rich assumes 80 columns when not on a terminal: too narrow for dossier codes
_out = terminal(pipe_width=_PIPE_WIDTH)


@sync_app.command("status")
def status(code: Annotated[str | None, typer.Argument(help="A dossier code: its changes one by one.",
                                                      callback=bounded_line(CASE_CODE_MAX))] = None,
           db: DbOption = None) -> None:
    """Sync status per dossier (every dossier handled in motcua), or per change of one dossier."""
    motcua = open_motcua(db, observers=[])
    try:
        table = _entries(motcua, code) if code else _dossiers(motcua)
    finally:
        motcua.close()
    _out.print(table)


def _dossiers(motcua: Motcua) -> Table:
    table = Table(title="Đồng bộ hồ sơ lên Cổng DVCQG")
    for column in ("hồ sơ", "trạng thái", "đã đồng bộ", "thay đổi", "lần cuối (seq)", "đồng bộ lần đầu sau"):
        table.add_column(column)
    for case in motcua.store.cases():
        if case.definition_key not in PORTAL_PUBLISH:
            continue
        statuses = motcua.sync.statuses(case.code)
        if not sent_to_portal(case, statuses):
            continue
        summary = summarize(case, statuses)
        table.add_row(Text(case.code), summary.status, str(summary.synced), str(summary.entries),
                      str(summary.last_synced_sequence or ""), _delay(summary.first_sync_delay))
    return table


def _entries(motcua: Motcua, code: str) -> Table:
    motcua.store.load(code)  # CaseNotFound (exit 2) for a code no case has, not an empty table
    history = motcua.store.history(code)
    recorded = {item.sequence: item for item in motcua.sync.statuses(code)}
    table = Table(title=Text(f"Đồng bộ hồ sơ {code}"))  # a code (an imported MaHoSo) is text, never markup
    for column in ("seq", "thao tác", "lúc", "trạng thái", "lần thử", "đồng bộ lúc", "lỗi cuối"):
        table.add_column(column)
    for entry in history:
        item: EntrySync | None = recorded.get(entry.sequence)
        table.add_row(str(entry.sequence), entry.trigger, _at(entry.occurred_at), item.status if item else "pending",
                      str(item.attempts if item else 0), _at(item.synced_at if item else None),
                      Text((item.last_error or "") if item else ""))  # what the portal said: text, never markup
    return table


def _at(moment: datetime | None) -> str:
    return to_vietnam_time(moment).strftime("%d/%m/%Y %H:%M:%S") if moment is not None else ""


def _delay(delay: timedelta | None) -> str:
    return str(delay) if delay is not None else ""


def register_sync(app: typer.Typer) -> None:
    app.add_typer(sync_app, name="sync")
