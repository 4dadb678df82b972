"""`motcua worker`: the dispatcher and the dramatiq workers, wired to a database and a broker.

Without a broker everything runs in this process (the embedded default): the dispatcher hands due
timers and effects straight to the handlers. With ``--broker redis://…`` this process claims and
sends, and ``--processes`` child processes run dramatiq workers with ``--threads`` threads each; run
as many of these on as many machines as needed — claims use ``FOR UPDATE SKIP LOCKED`` on PostgreSQL.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from multiprocessing.process import BaseProcess
from types import FrameType

import dramatiq
import structlog
from dramatiq.brokers.redis import RedisBroker

from adapters.bootstrap import Motcua, notifier_from_settings, open_motcua
from workers.actors import declare_actors
from workers.dispatcher import Dispatcher, Sink
from workers.handlers import Handlers
from workers.inline import InlineSink
from workflow.clock import Clock, SystemClock
from workflow.errors import Retryable

__all__ = ["WorkerOptions", "handlers_for", "redis_broker", "run_worker", "worker_process"]

log = structlog.get_logger("motcua.worker")


@dataclass(frozen=True)
class WorkerOptions:
    database_url: str
    broker_url: str | None = None
    processes: int = 1
    threads: int = 8
    lease: timedelta = timedelta(minutes=2)
    poll: timedelta = timedelta(seconds=1)
    batch: int = 500


def handlers_for(motcua: Motcua, clock: Clock) -> Handlers:
    store = motcua.store
    return Handlers(motcua.service, store, store, notifier_from_settings(), clock)


def _on_send_error(what: str, error: Exception) -> None:
    log.warning("dispatch.send_failed", what=what, error=type(error).__name__, detail=str(error))


def _dispatch_loop(dispatcher: Dispatcher, poll: timedelta, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            report = dispatcher.tick()
        except Retryable as error:
            log.warning("dispatch.unavailable", error=type(error).__name__, detail=str(error))
            stop.wait(poll.total_seconds() * 5)
            continue
        if report.timers or report.effects:
            log.info("dispatch.tick", timers=report.timers, effects=report.effects, send_errors=report.send_errors)
        stop.wait(poll.total_seconds())


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
    motcua = open_motcua(options.database_url, clock=clock)
    children: list[BaseProcess] = []
    try:
        sink: Sink = InlineSink(handlers_for(motcua, clock))
        if options.broker_url:
            broker = redis_broker(options.broker_url)
            sink = declare_actors(broker, _never_handles)
            children = _start_children(options)
        dispatcher = Dispatcher(motcua.store, motcua.store, sink, clock, options.batch, options.lease,
                                _on_send_error)
        log.info("worker.started", broker=options.broker_url or "inline", processes=len(children))
        _dispatch_loop(dispatcher, options.poll, stop)
    finally:
        _stop_children(children)
        motcua.close()


def redis_broker(url: str) -> RedisBroker:
    return RedisBroker(url=url)  # type: ignore[no-untyped-call]  # dramatiq leaves RedisBroker.__init__ unannotated


def _never_handles() -> Handlers:
    raise RuntimeError("the dispatcher process only sends messages")


def _start_children(options: WorkerOptions) -> list[BaseProcess]:
    context = multiprocessing.get_context("spawn")
    children: list[BaseProcess] = [
        context.Process(target=worker_process, args=(options,), name=f"motcua-worker-{n}", daemon=False)
        for n in range(options.processes)
    ]
    for child in children:
        child.start()
    return children


def _stop_children(children: list[BaseProcess], timeout: float = 30.0) -> None:
    for child in children:
        if child.is_alive() and child.pid is not None:
            child.terminate()
    deadline = time.monotonic() + timeout
    for child in children:
        child.join(max(0.0, deadline - time.monotonic()))
        if child.is_alive():
            child.kill()


def worker_process(options: WorkerOptions) -> None:
    """One dramatiq worker process: its own database pool, its own broker connection."""
    from adapters.logging import configure_logging  # noqa: PLC0415 - configured once per spawned process

    configure_logging()
    assert options.broker_url is not None
    broker = redis_broker(options.broker_url)
    factory: Callable[[], Handlers] = lambda: _process_handlers(options.database_url)  # noqa: E731
    declare_actors(broker, factory)
    worker = dramatiq.Worker(broker, worker_threads=options.threads, worker_timeout=100)
    stop = threading.Event()
    _stop_on_signals(stop)
    worker.start()
    log.info("worker.process.started", threads=options.threads)
    stop.wait()
    worker.stop(timeout=10_000)
    broker.close()


def _process_handlers(database_url: str) -> Handlers:
    clock = SystemClock()
    return handlers_for(open_motcua(database_url, clock=clock), clock)
