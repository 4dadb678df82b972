"""``motcua worker``, ``motcua outbox failed|retry`` and ``motcua timers parked|retry``."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Final

import structlog
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from motcua.adapters.bootstrap import Motcua, database_url, open_motcua
from motcua.entrypoints.cli.terminal import terminal
from motcua.entrypoints.cli.usage import bounded_lines
from motcua.workers.dispatcher import DEFAULT_BATCH_SIZE, DEFAULT_MAX_IN_FLIGHT, DEFAULT_POLL, MAX_BATCH_SIZE
from motcua.workflow.engine.bounds import CASE_CODE_MAX, excerpt
from motcua.workflow.engine.clock import SystemClock, to_vietnam_time
from motcua.workflow.errors import InvalidInput

__all__ = ["outbox_app", "register", "timers_app"]

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: sqlite:///motcua.db).")]
outbox_app = typer.Typer(help="Effects waiting in the outbox: list the parked ones, retry them.",
                         no_args_is_help=True, add_completion=False)
timers_app = typer.Typer(help="Timers parked after their trigger failed six times: list them, send them back.",
                         no_args_is_help=True, add_completion=False)
_log = structlog.get_logger("motcua.worker")
_IDS_SHOWN = 10  # ids an error names
PARKED_SHOWN: Final = 1_000  # parked timers `motcua timers parked` lists (the count names them all)
PARKED_MAX: Final = 100_000  # parked timers `motcua timers retry` reads to find the codes' (parked timers are rare)


def _out() -> Console:
    """Made when printing, not at import: the width rich reads from ``COLUMNS`` is then the command's own."""
    return terminal(pipe_width=None)


def worker(
    *,
    db: DbOption = None,
    broker: Annotated[str | None, typer.Option("--broker", help="redis://host:port/db; omit to run in-process")] = None,
    processes: Annotated[int, typer.Option("--processes", min=1, help="dramatiq worker processes")] = 1,
    threads: Annotated[int, typer.Option("--threads", min=1, help="threads per worker process")] = 8,
    lease: Annotated[float, typer.Option(
        "--lease-seconds", min=1, max=86_400, help="claim lease before re-dispatch")] = 120,
    poll: Annotated[float, typer.Option(
        "--poll-seconds", min=0.05, max=3600, help="dispatcher poll interval")] = DEFAULT_POLL.total_seconds(),
    in_flight: Annotated[int, typer.Option(
        "--max-in-flight", min=1,
        help="timers and effects sent and not yet handled before the dispatcher stops claiming",
    )] = DEFAULT_MAX_IN_FLIGHT,
    batch_size: Annotated[int, typer.Option(
        "--batch-size", min=1, max=MAX_BATCH_SIZE,
        help="timers (or effects) one message carries")] = DEFAULT_BATCH_SIZE,
) -> None:
    """Run the timer dispatcher and the workers until SIGTERM / Ctrl-C."""
    from motcua.entrypoints.worker import WorkerOptions, run_worker  # noqa: PLC0415 - dramatiq loads only for this command
    from motcua.workers.broker import checked_url  # noqa: PLC0415 - same

    run_worker(WorkerOptions(
        database_url=database_url(db), broker_url=None if broker is None else checked_url(broker),
        processes=processes, threads=threads,
        lease=timedelta(seconds=lease), poll=timedelta(seconds=poll), max_in_flight=in_flight, batch_size=batch_size,
    ))


@outbox_app.command("failed")
def failed(db: DbOption = None) -> None:
    """List the effects parked after failing too often (or failing for good)."""
    motcua = open_motcua(db, observers=[])
    try:
        parked = motcua.store.parked()
    finally:
        motcua.close()
    table = Table(title=f"Hiệu ứng lỗi chờ xử lý ({len(parked)})")
    for column in ("id", "hồ sơ", "loại", "lần thử", "lỗi cuối", "sự kiện"):
        table.add_column(column)
    for item in parked:
        event = str(item.payload.get("event") or item.payload.get("form") or "")
        # what a server or a portal said, a code, a payload's event: text, never console markup (a "[/]" failed the
        # listing)
        table.add_row(str(item.id), Text(item.case_code), item.kind, str(item.attempts), Text(item.last_error or ""),
                      Text(event))
    _out().print(table)


@outbox_app.command("retry")
def retry(
    ids: Annotated[list[int] | None, typer.Argument(help="outbox ids to retry")] = None,
    every: Annotated[bool, typer.Option("--all", help="retry every parked effect")] = False,
    db: DbOption = None,
) -> None:
    """Make parked effects pending again; the next dispatcher tick delivers them."""
    if bool(ids) == every:
        raise typer.BadParameter("name the outbox ids to retry, or pass --all (not both)")
    motcua = open_motcua(db, observers=[])
    try:
        missing = sorted(set(ids or ()) - {item.id for item in motcua.store.parked()})
        if missing:  # an id mistyped, or an effect delivered or retried since: nothing is requeued
            shown = ", ".join(str(item)[:20] for item in missing[:_IDS_SHOWN])
            more = " …" if len(missing) > _IDS_SHOWN else ""
            raise InvalidInput("ids", f"no parked effect {shown}{more} (`motcua outbox failed` lists them)")
        count = motcua.store.requeue(None if every else ids, SystemClock().now())
    finally:
        motcua.close()
    _log.info("outbox.requeued", count=count, every=every, by="cli")  # an operator's act, on the record
    _out().print(f"{count} hiệu ứng được đưa lại hàng đợi ({to_vietnam_time(SystemClock().now()):%d/%m/%Y %H:%M})")


@timers_app.command("parked")
def parked_timers(db: DbOption = None) -> None:
    """List the timers set aside after their trigger failed again and again, with the last failure."""
    motcua = open_motcua(db, observers=[])
    try:
        parked, count = motcua.store.parked_timers(PARKED_SHOWN), motcua.store.parked_count()
    finally:
        motcua.close()
    shown = f" (the {len(parked):,} due first)" if count > len(parked) else ""
    _out().print(f"Hẹn giờ tạm dừng do lỗi: {count}{shown}", highlight=False)
    for timer in parked:  # lines, not a table: a code or a reason cut to a terminal's width would mislead
        due = f"{to_vietnam_time(timer.due_at):%d/%m/%Y %H:%M}"
        _out().print(f"{timer.case_code}  {timer.name}  {timer.trigger}  đến hạn {due}  lần {timer.attempts}\n"
                   f"    lỗi: {timer.error}", markup=False, highlight=False, soft_wrap=True)


@timers_app.command("retry")
def retry_timers(
    codes: Annotated[list[str] | None, typer.Argument(help="dossiers whose parked timers to send back",
                                                      callback=bounded_lines(CASE_CODE_MAX))] = None,
    every: Annotated[bool, typer.Option("--all", help="send back every parked timer")] = False,
    db: DbOption = None,
) -> None:
    """Arm parked timers again (after the cause was fixed), their failures forgotten.

    The next dispatcher tick fires those due."""
    if bool(codes) == every:
        raise typer.BadParameter("name the dossiers whose parked timers to send back, or pass --all (not both)")
    motcua = open_motcua(db, observers=[])
    try:
        count = motcua.store.requeue_timers(None) if every else _requeue_of(motcua, codes or [])
    finally:
        motcua.close()
    _log.info("timers.requeued", count=count, every=every, by="cli")  # an operator's act, on the record
    _out().print(f"{count} hẹn giờ được kích hoạt lại ({to_vietnam_time(SystemClock().now()):%d/%m/%Y %H:%M})")


def _requeue_of(motcua: Motcua, codes: list[str]) -> int:
    """Arm again the parked timers of ``codes``; a code with none (mistyped, armed again or cancelled since) is
    refused first, and nothing is armed."""
    parked = motcua.store.parked_timers(PARKED_MAX)
    missing = sorted(set(codes) - {timer.case_code for timer in parked})
    if missing:
        shown = ", ".join(excerpt(code) for code in missing[:_IDS_SHOWN])
        more = " …" if len(missing) > _IDS_SHOWN else ""
        raise InvalidInput("codes", f"no parked timer on {shown}{more} (`motcua timers parked` lists them)")
    return motcua.store.requeue_timers([(t.case_code, t.name) for t in parked if t.case_code in set(codes)])


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
    app.add_typer(outbox_app, name="outbox")
    app.add_typer(timers_app, name="timers")
