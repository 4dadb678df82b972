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

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import structlog
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from motcua.adapters.bootstrap import Motcua, http_max_body, logging_observer, open_motcua
from motcua.adapters.keys import HttpStore
from motcua.adapters.logging import error_fields
from motcua.entrypoints.http.app import create_app
from motcua.entrypoints.http.metrics import MetricsObserver
from motcua.workflow.engine.clock import Clock, SystemClock
from motcua.workflow.errors import Retryable

if TYPE_CHECKING:
    import uvicorn

__all__ = ["ServeOptions", "built_app", "serve", "server_config"]

log = structlog.get_logger("motcua.http")
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


@dataclass(frozen=True)
class ServeOptions:
    database_url: str
    host: str = "127.0.0.1"
    port: int = 8000
    broker_url: str | None = None
    dispatch: bool = True
    poll: timedelta = timedelta(seconds=1)


@contextmanager
def built_app(
    url: str, *, clock: Clock | None = None, max_body: int | None = None
) -> Iterator[tuple[FastAPI, Motcua, HttpStore]]:
    """The engine on ``url`` with the metrics observer, and the app over it; closed on exit. ``max_body``: the
    request-size limit in bytes (default: ``MOTCUA_HTTP_MAX_BODY``, else 1 MiB)."""
    limit = http_max_body() if max_body is None else max_body  # a bad setting stops the server before it opens
    registry = CollectorRegistry()
    motcua = open_motcua(url, clock=clock, observers=[logging_observer(), MetricsObserver(registry)])
    try:
        keys = motcua.backend.keys  # on the store's own database (in memory beside a memory store)
        yield create_app(motcua, keys, registry=registry, clock=clock, max_body=limit), motcua, keys
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
            log.warning("dispatch.unavailable", **error_fields(error))
            stop.wait(5 * options.poll.total_seconds())
            continue
        stop.wait(0.05 if report.busy else options.poll.total_seconds())


def server_config(app: FastAPI, options: ServeOptions) -> uvicorn.Config:
    """uvicorn's settings. ``log_config=None``: uvicorn installs no handler of its own, so its lines (the access log,
    an unhandled error) go through motcua's logging (:func:`motcua.adapters.logging.configure_logging`): rendered as
    JSON lines like every other, a path without its query string, a client without its address, a traceback as its
    outline."""
    import uvicorn  # noqa: PLC0415 - the server loads only for this command

    for name in _UVICORN_LOGGERS:  # handlers a uvicorn configured earlier in this process would bypass motcua's
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    return uvicorn.Config(app, host=options.host, port=options.port, log_level="info", log_config=None)


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
            uvicorn.Server(server_config(app, options)).run()
        finally:
            stop.set()
            if worker.is_alive():
                worker.join(10)
