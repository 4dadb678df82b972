"""The ceiling of any Python HTTP API on this machine: a bare ASGI callable that does nothing but the transition.

``bench.http`` runs it beside ``motcua serve``, under the same uvicorn settings (``server_config``: httptools,
uvloop, no access log), on the same database, with the same observers as the server's (a JSON log line per
decision, the Prometheus counters), the transition run where the server runs it (on the event loop on SQLite, on
the thread pool on PostgreSQL: :func:`~motcua.entrypoints.http.serve.short_on_loop`). Per request it reads the body,
takes the dossier's code from the path and the version from ``If-Match``, decodes the JSON, calls
``CaseService.fire`` and answers the case's code, state and version as JSON with its ETag. Nothing of an API's own:
no key, no validation, no scope, no problem documents, no middleware. The gap between it and the floor is what HTTP
in Python costs on these cores with the same server; the gap between ``motcua serve`` and it is what motcua's API
adds. (A ceiling for this server, not a proof that no server could do better.)

``python -c "from bench._bare_asgi import main; main()" DATABASE_URL PORT [WORKERS]``: with ``WORKERS`` > 1 the
processes of uvicorn's supervisor, as ``motcua serve --workers N`` runs them.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Sequence

from prometheus_client import CollectorRegistry
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from motcua.adapters.bootstrap import logging_observer, open_motcua
from motcua.adapters.logging import configure_logging
from motcua.entrypoints.http.metrics import MetricsObserver
from motcua.entrypoints.http.serve import ServeOptions, server_config, short_on_loop
from motcua.workflow.engine.clock import SystemClock
from motcua.workflow.engine.model import Actor
from motcua.workflow.engine.service import CaseService

__all__ = ["bare_app", "main"]

OFFICER = Actor.of("Nguyễn Thị Lan", "officer")


def bare_app(service: CaseService, *, on_loop: bool = True) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] != "POST":  # the benchmark's wait for the server to be up
            await _answer(send, b"ok")
            return
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        code = scope["path"].split("/")[2]
        version = int(dict(scope["headers"])[b"if-match"].strip(b'"'))
        event = json.loads(body)
        fire = functools.partial(service.fire, code, event["trigger"], OFFICER, event.get("data"),
                                 expected_version=version)
        case = fire() if on_loop else await run_in_threadpool(fire)
        answer = json.dumps({"code": case.code, "state": case.state, "version": case.version}).encode()
        await _answer(send, answer, (b"etag", f'"{case.version}"'.encode()))

    return app


async def _answer(send: Send, body: bytes, *headers: tuple[bytes, bytes]) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})


def main(argv: Sequence[str] | None = None) -> None:
    import uvicorn  # noqa: PLC0415 - as motcua serve does
    from uvicorn.supervisors import Multiprocess  # noqa: PLC0415 - same

    url, port, *more = argv or sys.argv[1:]
    workers = int(more[0]) if more else 1
    if workers > 1:  # each process builds its app (factory), the supervisor holds the socket, as motcua serve does
        config = server_config(functools.partial(_app_of_process, url), ServeOptions(url, port=int(port),
                                                                                    workers=workers))
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    configure_logging()
    motcua = open_motcua(url, clock=SystemClock(), observers=[logging_observer(), MetricsObserver(CollectorRegistry())])
    try:
        app = bare_app(motcua.service, on_loop=short_on_loop(url))
        uvicorn.Server(server_config(app, ServeOptions(url, port=int(port)))).run()
    finally:
        motcua.close()


def _app_of_process(url: str) -> ASGIApp:
    """The bare app of one process of several (its engine stays open until the process ends)."""
    configure_logging()
    motcua = open_motcua(url, clock=SystemClock(), observers=[logging_observer(), MetricsObserver(CollectorRegistry())])
    return bare_app(motcua.service, on_loop=short_on_loop(url))
