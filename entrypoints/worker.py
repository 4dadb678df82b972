"""`motcua worker`: the dispatcher and the dramatiq workers, wired to a database and a broker.

Without a broker everything runs in this process (the embedded default): the dispatcher hands due
timers and effects straight to the handlers. With ``--broker redis://…`` this process claims and
sends, and ``--processes`` child processes run dramatiq workers with ``--threads`` threads each; run
as many of these on as many machines as needed — claims use ``FOR UPDATE SKIP LOCKED`` on PostgreSQL.

The main process supervises its children: one that dies (killed, crashed) is started again at the
next tick, and a child whose parent died stops by itself, so no orphan keeps consuming: on Linux the kernel
tells it at once (``PR_SET_PDEATHSIG``: SIGTERM when the parent dies), elsewhere it looks every
PARENT_CHECK_S. It then takes no new message, finishes the ones in hand (for at most STOP_TIMEOUT) and exits.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Final, NoReturn
from urllib.parse import urlsplit, urlunsplit

import dramatiq
import structlog

from motcua.adapters.backends import Backend, Waker
from motcua.adapters.bootstrap import Motcua, anchor_schedule_from_settings, notifier_from_settings, open_motcua
from motcua.adapters.logging import error_fields
from motcua.workers.actors import declare_actors
from motcua.workers.anchors import AnchorSchedule
from motcua.workers.broker import queued_messages, redis_broker
from motcua.workers.dispatcher import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_POLL,
    Dispatcher,
    Sink,
    TickReport,
)
from motcua.workers.handlers import Handlers
from motcua.workers.inline import InlineSink
from motcua.workflow.engine.clock import Clock, SystemClock
from motcua.workflow.errors import Retryable

__all__ = [
    "WorkerOptions", "dispatch_sink", "handlers_for", "log_send_error", "run_worker", "worker_process",
]

log = structlog.get_logger("motcua.worker")

BUSY_POLL: Final = timedelta(milliseconds=50)  # the wait between ticks while more is due than was sent
WAKE_GAP: Final = timedelta(milliseconds=10)  # the least time between two ticks a notification brings forward
MAX_BACKOFF: Final = timedelta(seconds=30)  # the longest wait of the dispatcher while the database is away
PARENT_CHECK_S: Final = 0.2  # how often a worker process looks for its parent (where the kernel cannot tell it)
RESTART_DELAY: Final = timedelta(seconds=5)
STOP_TIMEOUT: Final = timedelta(seconds=10)  # a stopping worker process finishes its messages in hand, this long
_PR_SET_PDEATHSIG: Final = 1  # <linux/prctl.h>


@dataclass(frozen=True)
class WorkerOptions:
    database_url: str
    broker_url: str | None = None
    processes: int = 1
    threads: int = 8
    lease: timedelta = timedelta(minutes=2)
    poll: timedelta = DEFAULT_POLL
    batch: int = 500
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    batch_size: int = DEFAULT_BATCH_SIZE  # timers (or effects) one message carries


def handlers_for(motcua: Motcua, clock: Clock, stopping: threading.Event | None = None) -> Handlers:
    """The handlers of one process; ``stopping``, once set, lets a batch of effects start no more deliveries."""
    store = motcua.store
    notifier = notifier_from_settings(motcua=motcua, clock=clock)
    return Handlers(motcua.service, store, store, notifier, clock, stopping=stopping or threading.Event())


def log_send_error(what: str, error: Exception) -> None:
    """What a dispatcher does when the broker does not answer: log it (``dispatch.send_failed``)."""
    log.warning("dispatch.send_failed", what=what, **error_fields(error))


def _on_dropped(what: str, error: Exception) -> None:
    log.warning("dispatch.message_failed", what=what, **error_fields(error))


class _Fleet:
    """The dramatiq worker processes of this ``motcua worker``; one that dies is started again (a slot is
    restarted at most once per RESTART_DELAY, so a child failing at start does not spin)."""

    def __init__(self, options: WorkerOptions) -> None:
        self._options = options
        self._context = multiprocessing.get_context("spawn")
        self._children: list[BaseProcess] = []
        self._started: list[float] = []

    def start(self) -> None:
        for n in range(self._options.processes):
            self._children.append(self._spawn(n))
            self._started.append(time.monotonic())

    def replace_dead(self) -> None:
        for n, child in enumerate(self._children):
            if child.is_alive() or time.monotonic() - self._started[n] < RESTART_DELAY.total_seconds():
                continue
            log.warning("worker.process.died", process=child.name, pid=child.pid, exitcode=child.exitcode)
            child.close()
            self._children[n], self._started[n] = self._spawn(n), time.monotonic()

    def stop(self, timeout: float = 30.0) -> None:
        for child in self._children:
            if child.is_alive():
                child.terminate()
        deadline = time.monotonic() + timeout
        for child in self._children:
            child.join(max(0.0, deadline - time.monotonic()))
            if child.is_alive():
                child.kill()
                child.join(5.0)

    def _spawn(self, n: int) -> BaseProcess:
        child = self._context.Process(
            target=_worker_main, args=(self._options,), name=f"motcua-worker-{n}", daemon=False
        )
        child.start()
        log.info("worker.process.spawned", process=child.name, pid=child.pid)
        return child


def _log_tick(report: TickReport) -> None:
    if report.timers or report.effects or report.send_errors:
        log.info("dispatch.tick", timers=report.timers, effects=report.effects, send_errors=report.send_errors)


class _Alarm:
    """What the dispatcher sleeps on between ticks: the poll runs out, or it is rung (a notification that a timer
    falls due soon, or the stop)."""

    def __init__(self, stop: threading.Event) -> None:
        self._rung = threading.Event()
        self.stop = stop
        self._watch = threading.Thread(target=self._ring_on_stop, name="motcua-dispatch-stop", daemon=True)
        self._watch.start()

    def ring(self) -> None:
        self._rung.set()

    def sleep(self, seconds: float) -> bool:
        """Sleep ``seconds`` or until rung; True when rung (and not stopped)."""
        rung = self._rung.wait(seconds)
        self._rung.clear()
        return rung and not self.stop.is_set()

    def _ring_on_stop(self) -> None:
        self.stop.wait()
        self._rung.set()


def _dispatch_loop(dispatcher: Dispatcher, poll: timedelta, alarm: _Alarm, fleet: _Fleet | None) -> None:
    """Tick until ``alarm.stop``; while the database or the broker is away, wait longer and longer (up to
    MAX_BACKOFF), logging each failed attempt once. Idle, sleep until the next timer falls due (at most ``poll``)
    or until the alarm rings; two ticks are at least WAKE_GAP apart, however often it rings."""
    failures, stop = 0, alarm.stop
    while not stop.is_set():
        ticked = time.monotonic()
        try:
            report = dispatcher.tick()
        except Retryable as error:
            report = None
            log.warning("dispatch.unavailable", **error_fields(error),
                        retry_in_s=_backoff(poll, failures + 1).total_seconds())
        if fleet is not None:
            fleet.replace_dead()
        if report is None or report.broker_down:
            failures += 1
            stop.wait(_backoff(poll, failures).total_seconds())
            continue
        failures = 0
        _log_tick(report)
        if alarm.sleep(_wait_after(dispatcher, report, poll).total_seconds()):
            stop.wait(max(0.0, WAKE_GAP.total_seconds() - (time.monotonic() - ticked)))


def _wait_after(dispatcher: Dispatcher, report: TickReport, poll: timedelta) -> timedelta:
    if report.busy:
        return min(poll, BUSY_POLL)
    try:
        return dispatcher.idle_wait(poll)
    except Retryable as error:  # the database went away since the tick: the next tick says so
        log.debug("dispatch.next_due_unavailable", **error_fields(error))
        return poll


def _backoff(poll: timedelta, failures: int) -> timedelta:
    return min(poll * (1 << min(failures, 16)), MAX_BACKOFF)


def _stop_on_signals(stop: threading.Event) -> None:
    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def run_worker(options: WorkerOptions, stop: threading.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (or ``stop`` is set)."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        _stop_on_signals(stop)
    clock = SystemClock()
    notifier_from_settings()  # bad notifier settings stop the command now, not every worker process's messages
    motcua = open_motcua(options.database_url, clock=clock)
    fleet: _Fleet | None = None
    anchors: AnchorSchedule | None = None
    listener: Waker | None = None
    try:
        anchors = anchor_schedule_from_settings(motcua, clock)  # anchors published on a schedule (docs/auditing.md)
        if anchors is not None:
            anchors.start()
        sink = dispatch_sink(motcua, clock, options.broker_url)
        if options.broker_url:
            fleet = _Fleet(options)
            fleet.start()
        dispatcher = Dispatcher(motcua.store, motcua.store, sink, clock, batch=options.batch, lease=options.lease,
                                max_in_flight=options.max_in_flight, batch_size=options.batch_size,
                                on_send_error=log_send_error)
        alarm = _Alarm(stop)
        listener = _listener(motcua.backend, alarm)
        log.info("worker.started", broker=_shown(options.broker_url), processes=options.processes if fleet else 0,
                 listening=listener is not None)
        _dispatch_loop(dispatcher, options.poll, alarm, fleet)
    finally:
        log.info("worker.stopping")
        if listener is not None:
            listener.stop()
        if fleet is not None:
            fleet.stop()
        if anchors is not None:
            anchors.stop()
        motcua.close()
        log.info("worker.stopped")


def _listener(backend: Backend, alarm: _Alarm) -> Waker | None:
    """On PostgreSQL, a started listener that rings ``alarm`` when a timer falls due soon (None elsewhere)."""
    listener = backend.timer_wakeups(alarm.ring)
    if listener is not None:
        listener.start()
    return listener


def _shown(url: str | None) -> str:
    """The broker URL for a log line, without credentials."""
    if not url:
        return "inline"
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2], query=""))


def _never_handles() -> Handlers:
    raise RuntimeError("the dispatcher process only sends messages")


def dispatch_sink(motcua: Motcua, clock: Clock, broker_url: str | None) -> Sink:
    """Where a dispatcher sends what it claims: handled in-process without a broker, else messages on Redis
    for the ``motcua worker`` processes (this process declares the actors only to send)."""
    if not broker_url:
        return InlineSink(handlers_for(motcua, clock), dropped=_on_dropped)
    broker = redis_broker(broker_url)
    return declare_actors(broker, _never_handles, lambda: queued_messages(broker))


def worker_process(options: WorkerOptions) -> None:
    """One dramatiq worker process: its own database pool, its own broker connection.

    Stops on SIGTERM/SIGINT, and by itself when the process that started it is gone."""
    from motcua.adapters.logging import configure_logging  # noqa: PLC0415 - configured once per spawned process

    configure_logging()
    assert options.broker_url is not None
    broker = redis_broker(options.broker_url)
    stop = threading.Event()
    factory: Callable[[], Handlers] = lambda: _process_handlers(options.database_url, stop)  # noqa: E731
    declare_actors(broker, factory)
    worker = dramatiq.Worker(broker, worker_threads=options.threads, worker_timeout=100)
    _stop_on_signals(stop)
    _stop_with_parent()
    worker.start()
    log.info("worker.process.started", threads=options.threads)
    parent = multiprocessing.parent_process()
    while not stop.is_set() and not _orphaned(parent):
        stop.wait(PARENT_CHECK_S)
    stop.set()  # a batch in hand starts no more deliveries (orphaned, the signal may not have come)
    if _orphaned(parent):
        log.warning("worker.process.orphaned", detail="the dispatcher process is gone: stopping")
    worker.stop(timeout=int(STOP_TIMEOUT.total_seconds() * 1000))
    broker.close()
    log.info("worker.process.stopped")


def _worker_main(options: WorkerOptions) -> NoReturn:
    """A spawned worker process: :func:`worker_process`, then out at once.

    Once stopped it holds nothing worth a teardown (its messages are finished or handed back, its connections
    close with it), and the interpreter's teardown takes most of a second on a busy machine: an orphan would
    outlive its parent by that much. So its output is flushed and it exits without one (status 1, after the
    traceback, when it failed)."""
    code = 1
    try:
        worker_process(options)
        code = 0
    except BaseException:  # what multiprocessing would print for a failed process, then the same status
        traceback.print_exc()
    finally:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _stop_with_parent() -> None:
    """On Linux, have the kernel send this process SIGTERM (which stops it) when its parent dies.

    The kernel watches the parent *thread* that started this process: the dispatcher loop's, which lives as long
    as the command does. Elsewhere, or if the call fails, the process still looks for its parent every
    PARENT_CHECK_S; a parent that died before the call is found by the first look."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        failed = libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0
    except (OSError, AttributeError):  # no libc, or one without prctl
        failed = True
    if failed:
        log.warning("worker.process.parent_watch", detail=f"prctl failed: polling every {PARENT_CHECK_S}s")


def _orphaned(parent: BaseProcess | None) -> bool:
    return parent is not None and not parent.is_alive()


def _process_handlers(database_url: str, stopping: threading.Event) -> Handlers:
    clock = SystemClock()
    return handlers_for(open_motcua(database_url, clock=clock), clock, stopping)
