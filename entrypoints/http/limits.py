"""The request-size limit: a body larger than the limit is answered 413 before it is read, let alone parsed.

Parsing is where a large body costs: a 10 MB JSON document is read whole, decoded, validated, and (before this
limit) an error quoted it back. :class:`BodyLimit` sits in front of the application as an ASGI middleware:

- a ``Content-Length`` above the limit is answered at once, ``413`` with a problem document
  (``request-too-large``), without reading a byte of the body and with ``Connection: close`` (the client is still
  sending: the connection cannot carry another request);
- a body sent without a length (``Transfer-Encoding: chunked``), or longer than its length claims, is counted as it
  streams in: the chunk that passes the limit stops the reading, and the answer is the same 413 — the application
  never sees the body.

The limit is the server's setting (``MOTCUA_HTTP_MAX_BODY``, bytes; 1 MiB by default:
:func:`motcua.adapters.bootstrap.http_max_body`); the largest legitimate body, a dossier with every field at its
bound, is under 10 kB.
"""

from __future__ import annotations

from typing import Final

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from motcua.entrypoints.http import problems as p

__all__ = ["BodyLimit", "BodyTooLarge", "install"]

_CLOSE: Final = {"Connection": "close"}
_DIGITS: Final = 18  # a Content-Length longer than this is larger than any limit (and than int() should parse)


class BodyTooLarge(HTTPException):
    """The body passed the limit while it was read. An :class:`HTTPException`, so that FastAPI's body reading lets
    it through (it turns any other error of the reading into a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _detail(limit), headers=_CLOSE)
        self.limit = limit


def _detail(limit: int) -> str:
    return f"the request body is larger than {limit:,} bytes, the limit of this server"


def _answer(limit: int) -> Response:
    return p.problem_response(p.ApiProblem(p.TOO_LARGE, _detail(limit)), headers=_CLOSE)


class BodyLimit:
    """ASGI middleware: 413 for a body over ``limit`` bytes, declared or streamed, before the application reads it."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _declared(scope) > self.limit:
            await _answer(self.limit)(scope, receive, send)  # nothing of the body is read
            return
        counted, started = 0, False

        async def counting() -> Message:
            nonlocal counted
            message = await receive()
            if message["type"] == "http.request":
                counted += len(message.get("body", b""))
                if counted > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting, sending)
        except BodyTooLarge:  # passed the limit outside a route (the routes answer it with the same problem)
            if started:
                raise
            await _answer(self.limit)(scope, receive, send)


def _declared(scope: Scope) -> int:
    """The ``Content-Length`` the client declared; 0 without one (the stream is counted). A malformed one is left to
    the server (uvicorn refuses it before the application is called); one of more than 18 digits is too large."""
    value = Headers(scope=scope).get("content-length", "").strip()
    if not (value.isascii() and value.isdigit()):
        return 0
    return int(value) if len(value) <= _DIGITS else 1 << 63


def install(app: FastAPI, limit: int) -> None:
    """Put the limit in front of ``app``: the middleware for what is declared or streamed past it, the problem
    document for what a route was reading when it passed."""
    if limit < 1:
        raise ValueError(f"the request-size limit must be at least one byte, not {limit}")

    async def too_large(request: Request, error: Exception) -> Response:
        assert isinstance(error, BodyTooLarge)
        return _answer(error.limit)

    app.add_exception_handler(BodyTooLarge, too_large)
    app.add_middleware(BodyLimit, limit=limit)
