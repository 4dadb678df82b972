"""A timer whose trigger keeps failing, end to end: a dossier on an SQLite file, a dispatcher and a real dramatiq
worker (stub broker), the operator's commands.

Before, such a timer (here: its trigger retired from the definition, as a careless deploy or migration leaves it)
failed its message, stayed claimed until its lease ran out, and was handed out again, for ever — and, first of its
dossier, held back the dossier's later timers. Now each failure is recorded with the timer and logged without the
case's data; it is tried again after 1, 2, 4, 8, 16 minutes, then parked; the dispatcher claims it no more;
``motcua timers parked`` lists it and ``motcua timers retry`` sends it back once the cause is fixed, and it fires
exactly once.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker
from structlog.testing import capture_logs

import motcua
from motcua.entrypoints.worker import handlers_for
from motcua.workers.actors import QUEUE, declare_actors
from motcua.workers.dispatcher import Dispatcher, TickReport
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.model import Actor

PROCEDURE = "1.001193"  # đăng ký khai sinh
OFFICER = Actor.of("Nguyễn Thị Lan", "officer")
APPLICANT = Applicant("Phạm Văn Bí Mật", id_number="001099012345")
RETIRED = "retired_trigger"
LEASE = timedelta(minutes=2)
MOTCUA = [sys.executable, "-c", "from motcua.entrypoints.cli.main import main; main()"]


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[motcua.OneStop, ManualClock, str]]:
    clock = ManualClock(datetime(2025, 9, 8, 8, 0, tzinfo=VN_TZ))
    url = f"sqlite:///{tmp_path / 'motcua.db'}"
    with motcua.connect(url, clock=clock, observers=[]) as opened:
        yield opened, clock, url


def _first_timer(path: str, code: str) -> tuple[str, str, datetime]:
    with sqlite3.connect(path) as db:
        name, trigger, due_at = db.execute(
            "SELECT name, trigger, due_at FROM timer WHERE case_code = ? ORDER BY due_at, name LIMIT 1", (code,)
        ).fetchone()
    return name, trigger, datetime.fromisoformat(due_at).replace(tzinfo=UTC)  # stored as UTC


def _set_trigger(path: str, code: str, name: str, trigger: str) -> None:
    with sqlite3.connect(path) as db:
        db.execute("UPDATE timer SET trigger = ? WHERE case_code = ? AND name = ?", (trigger, code, name))


def _run(shop: motcua.OneStop, clock: ManualClock) -> TickReport:
    """One dispatcher tick, its messages handled by a real dramatiq worker until the queue is empty."""
    handlers = handlers_for(shop.parts, clock)
    broker = StubBroker()
    broker.emit_after("process_boot")
    sink = declare_actors(broker, lambda: handlers)
    report = Dispatcher(shop.parts.store, shop.parts.store, sink, clock, lease=LEASE).tick()
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        broker.join(QUEUE, fail_fast=True)  # fail_fast: a message that failed would raise here
        worker.join()
    finally:
        worker.stop()
        broker.close()
    return report


def _shown(instant: datetime) -> str:
    return f"{instant.astimezone(VN_TZ):%d/%m/%Y %H:%M}"


def _cli(url: str, *arguments: str) -> tuple[int, str]:
    """The command as an operator runs it (its own process: exit status and refusals as the shell sees them)."""
    ran = subprocess.run([*MOTCUA, *arguments, "--db", url], capture_output=True, text=True, timeout=120,
                         check=False, env={**os.environ, "COLUMNS": "80"})
    return ran.returncode, ran.stdout + ran.stderr


def test_a_timer_failing_for_good_is_parked_once_listed_and_sent_back(
    shop: tuple[motcua.OneStop, ManualClock, str],
) -> None:
    one_stop, clock, url = shop
    path = url.removeprefix("sqlite:///")
    code = one_stop.receive(PROCEDURE, APPLICANT, OFFICER).code
    name, trigger, due_at = _first_timer(path, code)
    _set_trigger(path, code, name, RETIRED)  # the definition no longer declares the trigger the row names
    clock.set(due_at + timedelta(minutes=1))

    with capture_logs() as logs:
        for wait in (1, 2, 4, 8, 16):
            assert _run(one_stop, clock).timers == 1  # handled without failing its message (join is fail-fast)
            clock.advance(timedelta(minutes=wait - 0.5))
            assert _run(one_stop, clock).timers == 0  # not before its wait is over
            clock.advance(timedelta(minutes=0.5))
        assert _run(one_stop, clock).timers == 1  # the sixth failure: parked
    failed = [line for line in logs if line["event"] in ("timer.failed", "timer.parked")]
    assert [(line["event"], line["attempt"]) for line in failed] == [
        *(("timer.failed", n) for n in range(1, 6)), ("timer.parked", 6)]
    assert failed[-1] == {"event": "timer.parked", "log_level": "warning", "case": code, "timer": name,
                          "trigger": RETIRED, "error": "UnknownTrigger", "attempt": 6}
    assert not any(APPLICANT.name in str(line) or APPLICANT.id_number in str(line) for line in logs)

    clock.advance(timedelta(days=1))  # before, it was handed out again at every lease
    assert _run(one_stop, clock).timers == 0
    status, listed = _cli(url, "timers", "parked")
    [reason] = [timer.error for timer in one_stop.parts.store.parked_timers(10)]
    assert reason.startswith("UnknownTrigger: ") and RETIRED in reason
    assert status == 0 and listed.splitlines() == [
        "Hẹn giờ tạm dừng do lỗi: 1", f"{code}  {name}  {RETIRED}  đến hạn {_shown(due_at)}  lần 6",
        f"    lỗi: {reason}"]

    status, refused = _cli(url, "timers", "retry", "000.00.00.H00-250908-9999")
    assert (status, refused) == (2, "error: codes: no parked timer on '000.00.00.H00-250908-9999' "
                                    "(`motcua timers parked` lists them)\n")
    _set_trigger(path, code, name, trigger)  # the cause fixed (here by hand, as a repair migration would)
    status, said = _cli(url, "timers", "retry", code)
    assert status == 0 and said.startswith("1 hẹn giờ được kích hoạt lại"), said
    logged = [json.loads(line) for line in said.splitlines() if line.startswith("{")]  # an operator's act, on record
    assert [(line["event"], line["count"], line["every"], line["by"]) for line in logged] == [
        ("timers.requeued", 1, False, "cli")]
    assert code not in "".join(line for line in said.splitlines() if line.startswith("{"))
    assert _run(one_stop, clock).timers == 1
    fired = [entry.trigger for entry in one_stop.history(code) if entry.actor == "motcua"]
    assert fired == [trigger]
    assert _cli(url, "timers", "parked") == (0, "Hẹn giờ tạm dừng do lỗi: 0\n")


def test_retry_takes_codes_or_all_never_both_nor_neither(shop: tuple[motcua.OneStop, ManualClock, str]) -> None:
    _, _, url = shop
    for arguments in (("timers", "retry"), ("timers", "retry", "x", "--all")):
        status, said = _cli(url, *arguments)
        assert status == 2 and "--all" in said, said
    assert _cli(url, "timers", "retry", "--all")[0] == 0  # nothing parked: nothing sent back
