"""``motcua serve``: the HTTP API under uvicorn, and (by default) the timer and effect dispatcher beside it.

- Without ``--broker`` the dispatcher runs in a thread of the server and hands due timers and effects
  to the handlers in this process (the embedded default, like ``motcua worker`` without a broker).
- With ``--broker redis://…`` the server's dispatcher claims and *sends* them to that broker; the
  dramatiq workers of ``motcua worker --broker …`` (run separately, as many as needed) handle them.
- ``--no-dispatch``: the server only answers requests; a separate ``motcua worker`` does the rest
  (the usual production shape when the API runs on several machines).

Timers fired are counted in ``/metrics`` where they fire: in this process in the first case only.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import structlog
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.adapters.keys import HttpStore
from motcua.adapters.logging import LoggingObserver
from motcua.entrypoints.http.app import create_app
from motcua.entrypoints.http.metrics import MetricsObserver
from motcua.workflow.engine.clock import Clock, SystemClock
from motcua.workflow.errors import Retryable

__all__ = ["ServeOptions", "built_app", "serve"]

log = structlog.get_logger("motcua.http")


@dataclass(frozen=True)
class ServeOptions:
    database_url: str
    host: str = "127.0.0.1"
    port: int = 8000
    broker_url: str | None = None
    dispatch: bool = True
    poll: timedelta = timedelta(seconds=1)


@contextmanager
def built_app(url: str, *, clock: Clock | None = None) -> Iterator[tuple[FastAPI, Motcua, HttpStore]]:
    """The engine on ``url`` with the metrics observer, and the app over it; closed on exit."""
    registry = CollectorRegistry()
    motcua = open_motcua(url, clock=clock, observers=[LoggingObserver(), MetricsObserver(registry)])
    try:
        keys = motcua.backend.keys  # on the store's own database (in memory beside a memory store)
        yield create_app(motcua, keys, registry=registry, clock=clock), motcua, keys
    finally:
        motcua.close()


def _dispatch(motcua: Motcua, options: ServeOptions, clock: Clock, stop: threading.Event) -> None:
    from motcua.entrypoints.worker import dispatch_sink  # noqa: PLC0415 - dramatiq loads only when dispatching
    from motcua.workers.dispatcher import Dispatcher  # noqa: PLC0415 - same

    dispatcher = Dispatcher(motcua.store, motcua.store, dispatch_sink(motcua, clock, options.broker_url), clock)
    while not stop.is_set():
        try:
            report = dispatcher.tick()
        except Retryable as error:
            log.warning("dispatch.unavailable", error=type(error).__name__, detail=str(error))
            stop.wait(5 * options.poll.total_seconds())
            continue
        stop.wait(0.05 if report.busy else options.poll.total_seconds())


def serve(options: ServeOptions) -> None:
    """Run until SIGTERM / Ctrl-C."""
    import uvicorn  # noqa: PLC0415 - the server loads only for this command

    clock = SystemClock()
    with built_app(options.database_url, clock=clock) as (app, motcua, _):
        stop = threading.Event()
        worker = threading.Thread(target=_dispatch, args=(motcua, options, clock, stop), name="motcua-dispatch",
                                  daemon=True)
        if options.dispatch:
            worker.start()
        try:
            uvicorn.Server(uvicorn.Config(app, host=options.host, port=options.port, log_level="info")).run()
        finally:
            stop.set()
            if worker.is_alive():
                worker.join(10)
