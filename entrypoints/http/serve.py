"""``motcua serve``: the HTTP API under uvicorn, and (by default) the timer and effect dispatcher beside it.

- Without ``--broker`` the dispatcher runs in a thread of the server and hands due timers and effects
  to the handlers in this process (the embedded default, like ``motcua worker`` without a broker).
- With ``--broker redis://…`` the server's dispatcher claims and *sends* them to that broker; the
  dramatiq workers of ``motcua worker --broker …`` (run separately, as many as needed) handle them.
- ``--no-dispatch``: the server only answers requests; a separate ``motcua worker`` does the rest
  (the usual production shape when the API runs on several machines).

With ``--workers N`` (N > 1) uvicorn's supervisor starts N processes answering on one socket, each with its own
engine and connections; the dispatcher (unless ``--no-dispatch``) runs once, in the supervisor, never in the N
processes: one claimer per server, as with one process. On SQLite the processes take turns on the file's one writer
through :mod:`motcua.adapters.sql.writers`, and each runs its short requests on its event loop as one process does
(``python -m bench.http``: four desks, 1,050–1,180 requests/s with one process, 1,150–1,780 with two, on 2 vCPU).

On a database without any console user, one process prints the console's first-run setup code on standard error
(never in the logs) and opens ``/console/setup``; with ``--workers N`` no process holds a code, and the server says
instead that the first user is made with ``motcua user create … --all-units``
(:mod:`motcua.entrypoints.console.first_run`).

Timers fired are counted in ``/metrics`` where they fire: in this process with one process and the dispatcher
inline only. uvicorn's access log is off unless ``access_log`` (``--access-log``): each committed transition has
its own log line, and the access line cost ≈ 0.06 ms a request.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import structlog
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from motcua.adapters.bootstrap import Motcua, http_max_body, logging_observer, open_motcua
from motcua.adapters.keys import HttpStore
from motcua.adapters.logging import error_fields
from motcua.entrypoints.http.app import create_app
from motcua.entrypoints.http.metrics import MetricsObserver
from motcua.workflow.engine.clock import Clock, SystemClock
from motcua.workflow.errors import InvalidInput, Retryable

if TYPE_CHECKING:
    import uvicorn

    from motcua.workers.dispatcher import Dispatcher

__all__ = ["MAX_WORKERS", "ServeOptions", "built_app", "serve", "server_config", "worker_app"]

log = structlog.get_logger("motcua.http")
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
MAX_WORKERS = 64


@dataclass(frozen=True)
class ServeOptions:
    database_url: str
    host: str = "127.0.0.1"
    port: int = 8000
    broker_url: str | None = None
    dispatch: bool = True
    poll: timedelta = timedelta(seconds=1)
    workers: int = 1
    access_log: bool = False


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
        app = create_app(motcua, keys, registry=registry, clock=clock, max_body=limit,
                         short_on_loop=short_on_loop(url))
        yield app, motcua, keys
    finally:
        motcua.close()


def short_on_loop(url: str) -> bool:
    """Whether a dossier's read or transition runs on the event loop when every request in flight is such a one
    (:mod:`~motcua.entrypoints.http.offload`): on SQLite and in memory — in each process of ``--workers N`` too,
    whose writers hand SQLite's lock on through :mod:`~motcua.adapters.sql.writers` (a sibling's commit holds the loop
    a fraction of a millisecond; a longer hold sends short units to the pool, offload.py); never on PostgreSQL, where
    the thread pool overlaps the waits of concurrent requests."""
    return url.startswith(("sqlite:", "memory:"))


def _dispatcher(motcua: Motcua, options: ServeOptions, clock: Clock) -> Dispatcher:
    """The dispatcher and its sink (with the notifier, when effects are delivered in this process): built before any
    thread, so a setting that cannot work stops the command at start."""
    from motcua.entrypoints.worker import (  # noqa: PLC0415 - dramatiq loads only when dispatching
        dispatch_sink,
        log_send_error,
    )
    from motcua.workers.dispatcher import Dispatcher  # noqa: PLC0415 - same

    return Dispatcher(motcua.store, motcua.store, dispatch_sink(motcua, clock, options.broker_url), clock,
                      on_send_error=log_send_error)


def _dispatch(dispatcher: Dispatcher, options: ServeOptions, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            report = dispatcher.tick()
        except Retryable as error:
            log.warning("dispatch.unavailable", **error_fields(error))
            stop.wait(5 * options.poll.total_seconds())
            continue
        if report.broker_down:  # told by the dispatcher (dispatch.send_failed): wait as for the database
            stop.wait(5 * options.poll.total_seconds())
            continue
        stop.wait(0.05 if report.busy else _idle_wait(dispatcher, options.poll).total_seconds())


def _idle_wait(dispatcher: Dispatcher, poll: timedelta) -> timedelta:
    """Idle, the dispatcher sleeps until the next armed timer falls due, at most ``poll`` (as ``motcua worker``'s
    does; without its PostgreSQL notifications: a timer re-dated earlier waits at most the poll)."""
    try:
        return dispatcher.idle_wait(poll)
    except Retryable as error:  # the database went away since the tick: the next tick says so
        log.debug("dispatch.next_due_unavailable", **error_fields(error))
        return poll


def server_config(app: ASGIApp | Callable[[], ASGIApp], options: ServeOptions) -> uvicorn.Config:
    """uvicorn's settings. ``log_config=None``: uvicorn installs no handler of its own, so its lines (the access log,
    an unhandled error) go through motcua's logging (:func:`motcua.adapters.logging.configure_logging`): rendered as
    JSON lines like every other, a path without its query string, a client without its address, a traceback as its
    outline. No ``Server`` header: the answers do not name the server software. Each request's line and headers
bounded in size and time, each body in time (:class:`~motcua.entrypoints.http.wire.BoundedRequest`: ``431``,
    ``408``)."""
    import uvicorn  # noqa: PLC0415 - the server loads only for this command

    from motcua.entrypoints.http.wire import BoundedRequest  # noqa: PLC0415 - uvicorn's protocol: same

    for name in _UVICORN_LOGGERS:  # handlers a uvicorn configured earlier in this process would bypass motcua's
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    return uvicorn.Config(app, host=options.host, port=options.port, log_level="info", log_config=None,
                          access_log=options.access_log, workers=options.workers, factory=options.workers > 1,
                          server_header=False,  # "server: uvicorn" tells a stranger what to attack
                          http=BoundedRequest)  # httptools, each request bounded in size and time (wire.py)


def serve(options: ServeOptions) -> None:
    """Run until SIGTERM / Ctrl-C."""
    import uvicorn  # noqa: PLC0415 - the server loads only for this command

    if not 1 <= options.workers <= MAX_WORKERS:
        raise InvalidInput("--workers", f"give 1 to {MAX_WORKERS} worker processes, not {options.workers}")
    if options.workers > 1 and options.database_url.startswith("memory:"):
        raise InvalidInput("--workers", "memory:// lives inside one process: several workers need a SQL database")
    clock = SystemClock()
    if options.workers > 1:
        _serve_processes(options, clock)
        return
    with built_app(options.database_url, clock=clock) as (app, motcua, _), _dispatching(motcua, options, clock):
        _offer_setup(app, options)
        uvicorn.Server(server_config(app, options)).run()


def _offer_setup(app: FastAPI, options: ServeOptions) -> None:
    """On a database without any console user: the first-run setup code, printed on standard error (never logged;
    :mod:`motcua.entrypoints.console.first_run`)."""
    from motcua.entrypoints.console.base import Console  # noqa: PLC0415 - only for this check
    from motcua.entrypoints.console.first_run import announce, setup_address  # noqa: PLC0415 - same

    console = app.state.console
    assert isinstance(console, Console), "create_app keeps its console in app.state"
    announce(console.first_run, console.users, setup_address(options.host, options.port),
             kept=not options.database_url.startswith("memory:"))


@contextmanager
def _dispatching(motcua: Motcua, options: ServeOptions, clock: Clock) -> Iterator[None]:
    """The dispatcher in a thread of this process while the block runs (unless ``--no-dispatch``); built here, so a
    notifier setting that cannot work stops the command (a thread that failed to build it died, and the server
    answered while nothing was dispatched)."""
    stop = threading.Event()
    worker: threading.Thread | None = None
    if options.dispatch:
        worker = threading.Thread(target=_dispatch, args=(_dispatcher(motcua, options, clock), options, stop),
                                  name="motcua-dispatch", daemon=True)
        worker.start()
    try:
        yield
    finally:
        stop.set()
        if worker is not None and worker.is_alive():
            worker.join(10)


def _serve_processes(options: ServeOptions, clock: Clock) -> None:
    """uvicorn's supervisor over ``options.workers`` processes on one socket (each builds its app with
    :func:`worker_app`); the dispatcher in this process only."""
    from uvicorn.supervisors import Multiprocess  # noqa: PLC0415 - the server loads only for this command

    limit = http_max_body()  # a bad setting stops the server before any process starts
    factory = functools.partial(worker_app, options.database_url, limit)
    config = server_config(factory, options)  # a factory (factory=True): each process calls it
    with ExitStack() as stack:
        _no_setup_with_workers(options.database_url)
        # what every worker process would refuse at start (a definition edited in place, a setting that cannot work)
        # is refused here, once, before the socket is bound: uvicorn would respawn refused workers for ever
        motcua = open_motcua(options.database_url, clock=clock, observers=[logging_observer()])
        stack.callback(motcua.close)
        socket = config.bind_socket()
        stack.callback(socket.close)
        if options.dispatch:
            stack.enter_context(_dispatching(motcua, options, clock))
        Multiprocess(config, sockets=[socket]).run()


def _no_setup_with_workers(database_url: str) -> None:
    """No process of ``--workers N`` holds a setup code (each would count wrong codes apart): on a database without
    any console user, say that the first one is made with ``motcua user create``."""
    from motcua.adapters.backends import open_backend  # noqa: PLC0415 - only for this check
    from motcua.entrypoints.console.first_run import refuse_with_workers  # noqa: PLC0415 - same

    backend = open_backend(database_url)
    try:
        refuse_with_workers(backend.users)
    finally:
        backend.close()


def worker_app(database_url: str, max_body: int) -> ASGIApp:
    """The app of one worker process of ``--workers N`` (run in that process, which uvicorn spawned): motcua's logging,
    the engine on ``database_url`` with the metrics observer, no dispatcher; the engine closes when the server
    stops."""
    from motcua.adapters.logging import configure_logging  # noqa: PLC0415 - a spawned process configures its own

    configure_logging()
    opened = ExitStack()
    app, _, _ = opened.enter_context(built_app(database_url, clock=SystemClock(), max_body=max_body))
    return _Closing(app, opened.close)


class _Closing:
    """An app that runs ``close`` when the server shuts it down (the ASGI lifespan's shutdown)."""

    def __init__(self, app: ASGIApp, close: Callable[[], object]) -> None:
        self.app = app
        self.close = close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            await send(message)
            if message["type"] in {"lifespan.shutdown.complete", "lifespan.shutdown.failed"}:
                self.close()

        await self.app(scope, receive, sending)
