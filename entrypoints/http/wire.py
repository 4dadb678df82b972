"""What ``motcua serve`` reads off the wire before the app sees a request: each request's *head* — its request line
and its headers — bounded in size and in time, and its body in time.

uvicorn's HTTP parser (httptools, chosen for its speed: ``docs/reference/benchmarks.md``) keeps a head in memory
however large it grows, and waits for it however slowly it comes. One client could hold a gigabyte of headers in the
server's memory; a few thousand connections each sending a byte now and then (*slowloris*) could hold every file
descriptor of the process and keep every desk of the province out. :class:`BoundedRequest` is uvicorn's httptools
protocol with the two limits a reverse proxy would set in front of it:

- a head over :data:`HEAD_MAX` bytes, or of more than :data:`HEADERS_MAX` headers, is answered ``431
  request-head-too-large`` and the connection is closed — once the head has passed the limit by at most one read of
  the socket, and before the app sees the request;
- a head not complete :data:`HEAD_TIMEOUT` after its first byte (the first request's: after the connection opened)
  is answered ``408 request-timeout`` and the connection is closed (a connection that sent nothing at all is closed
  without an answer). Between two requests uvicorn's keep-alive timeout closes an idle connection, as before; bytes
  that begin no request (blank lines, which stop that timeout) have the head's time, then the connection is closed
  without an answer;
- a body not complete :data:`BODY_TIMEOUT` after its head closes the connection (the application, waiting for the
  body, reads a disconnect: it may be answering already, so nothing is written in its place); so do a chunked
  body's trailers (or a chunk's extension) over :data:`HEAD_MAX` (trailers are dropped, never added to the
  headers the app has read);
- an answer the client reads nothing of for :data:`WRITE_TIMEOUT` (uvicorn has stopped writing it: the socket's
  buffers are full) aborts the connection — a client that asks and never reads holds nothing for long.

Neither time runs while uvicorn does not read the connection (it stops while it answers a request with another
pipelined behind it, or while the app has not taken a body's first 64 KiB): the time is the server's. A refusal
(``431``, ``408``, uvicorn's ``400``) of a request pipelined behind one being answered is written once the answers
before it are whole, never into one or in its place (the client would take it for its earlier request's). At most
:data:`PIPELINE_MAX` requests are read ahead of the one being answered.

The 431 and the 408 are problem documents (:mod:`.problems`) with ``Connection: close`` and the headers of every
answer (:mod:`.security`). The log line says which limit, never the client's address (personal data). A request
body is bounded in size by :mod:`.limits` (``413``), after the head.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from http import HTTPStatus
from typing import ClassVar, Final

import structlog
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from motcua.entrypoints.http import problems as p
from motcua.entrypoints.http.security import api_headers

__all__ = [
    "BODY_TIMEOUT", "HEADERS_MAX", "HEAD_MAX", "HEAD_TIMEOUT", "PIPELINE_MAX", "WRITE_TIMEOUT", "BoundedRequest",
]

HEAD_MAX: Final = 32 * 1024
"""Bytes of a request line and its headers (nginx's default in all: four buffers of 8 KiB); an API request's head
is under 1 KiB, a browser's under 4 KiB."""
HEADERS_MAX: Final = 100
"""Headers of a request (Apache's and gunicorn's default): a browser sends some 20, a proxy adds a few; each costs
some 70 bytes of memory for as few as 4 sent."""
HEAD_TIMEOUT: Final = 20.0
"""Seconds for a head to arrive, from its first byte; an honest client sends it in one packet."""
BODY_TIMEOUT: Final = 60.0
"""Seconds for a body to arrive after its head: the largest body the API reads (1 MiB by default) over a slow
line of 200 kbit/s; an API request's body is under 10 kB."""
WRITE_TIMEOUT: Final = 60.0
"""Seconds an answer may wait for the client to read any of it."""
PIPELINE_MAX: Final = 16
"""Requests read ahead of the one being answered (pipelined): uvicorn parses a whole read of the socket, and each
request waiting costs some 2 KB of memory for 18 bytes sent; the last of them is answered with ``Connection: close``,
and a client sends the rest again on a new connection (RFC 9112 9.3.2)."""
_HEADER_OVERHEAD: Final = 4  # ": " and the line's CRLF

log = structlog.get_logger("motcua.http")


class BoundedRequest(HttpToolsProtocol):
    """uvicorn's httptools protocol with each request's head bounded in size and time, its body in time (see the
    module)."""

    head_max: ClassVar[int] = HEAD_MAX
    head_timeout: ClassVar[float] = HEAD_TIMEOUT
    body_timeout: ClassVar[float] = BODY_TIMEOUT
    write_timeout: ClassVar[float] = WRITE_TIMEOUT
    headers_max: ClassVar[int] = HEADERS_MAX
    pipeline_max: ClassVar[int] = PIPELINE_MAX

    _head: int  # the request being read: counts from 1 on each connection, 0 before its first byte
    _head_open: bool  # its head began and is incomplete
    _body_open: bool  # its head is complete, its body (chunked: and trailers) is not
    _body_read: bool  # the read being parsed carried body bytes
    _pieces: int  # bytes of its request line and of its headers parsed whole so far
    _whole_reads: int  # bytes of the socket reads that were its head from start to end
    _tail: int  # bytes of its body's reads that carried none of it since one did (trailers, a chunk extension)
    _refused: bool  # answered, or its answer is due, or closed: nothing more is read
    _due: Callable[[], None] | None  # the refusal, written once the requests before it are answered
    _timer: asyncio.TimerHandle | None  # the time left for the head, then for its body
    _stalled: asyncio.TimerHandle | None  # the time left for the client to read some of an answer

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._head, self._head_open, self._body_open, self._body_read = 0, False, False, False
        self._pieces, self._whole_reads, self._tail, self._refused = 0, 0, 0, False
        self._due, self._timer, self._stalled = None, None, None
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._unstall()
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._stalled is None:
            self._stalled = self.loop.call_later(self.write_timeout, self._write_timed_out)

    def resume_writing(self) -> None:
        super().resume_writing()
        self._unstall()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._timer is None:  # a byte between two requests: the next head's time runs (blank lines included)
            self._arm()
        head, was_open, was_body, self._body_read = self._head, self._head_open, self._body_open, False
        super().data_received(data)
        if self._refused or self.transport.is_closing():  # refused, or uvicorn refused it (400) or upgraded it
            return
        if was_open and self._head_open and self._head == head:  # the whole read was this head's
            self._whole_reads += len(data)
        if self._head_open and max(self._pieces, self._whole_reads) > self.head_max:
            self._answer(p.HEAD_TOO_LARGE, f"the request line and headers are over {self.head_max:,} bytes")
        elif was_body and self._body_open and not self._body_read:
            self._tail += len(data)
            if self._tail > self.head_max:  # trailers as large as a head: the app may be answering, nothing written
                self._close("http.request_trailers_refused")

    def send_400_response(self, msg: str) -> None:
        self._refuse(functools.partial(super().send_400_response, msg))

    def on_message_begin(self) -> None:
        if self._refused:
            return
        self._head, self._head_open, self._pieces, self._whole_reads = self._head + 1, True, 0, 0
        super().on_message_begin()
        if self._timer is None:
            self._arm()

    def on_url(self, url: bytes) -> None:
        if not self._refused:
            self._pieces += len(url)
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._refused:
            self._pieces += len(name) + len(value) + _HEADER_OVERHEAD
            if not self._head_open:  # a trailer is dropped (RFC 9110 6.5.1), not added to headers the app has read
                return
            if len(self.headers) >= self.headers_max:
                self._answer(p.HEAD_TOO_LARGE, f"the request has more than {self.headers_max} headers")
                return
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        if self._pieces > self.head_max:  # complete, but too large: the app never sees it
            self._answer(p.HEAD_TOO_LARGE, f"the request line and headers are over {self.head_max:,} bytes")
            return
        if len(self.pipeline) >= self.pipeline_max:  # read no further: answer those waiting, the last closes
            self._refused = True
            self._disarm()
            self.pipeline[0][0].keep_alive = False
            return
        self._head_open, self._body_open, self._tail = False, True, 0
        self._disarm()
        self._timer = self.loop.call_later(self.body_timeout, self._body_timed_out)  # until the message ends
        super().on_headers_complete()

    def handle_websocket_upgrade(self) -> None:
        self._disarm()  # the connection is no longer HTTP's: its time is the WebSocket protocol's
        super().handle_websocket_upgrade()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            self._body_read, self._tail = True, 0
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self._refused:
            self._body_open = False
            self._disarm()
            super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._due is not None and not self._answering() and not self.transport.is_closing():
            due, self._due = self._due, None
            due()

    def _answering(self) -> bool:
        """A request before the one being read is not answered whole yet."""
        return bool(self.pipeline) or (self.cycle is not None and not self.cycle.response_complete)

    def _arm(self) -> None:
        self._timer = self.loop.call_later(self.head_timeout, self._timed_out)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self) -> None:
        self._timer = None
        if self._refused or self.transport.is_closing():
            return
        if self.flow.read_paused:  # uvicorn stopped reading while it answers: the time is the server's
            self._arm()
        elif not self._head_open:  # nothing, or blank lines, since the last request: nothing to answer
            if not self._answering():
                self.transport.close()
        else:
            self._answer(p.HEAD_TIMEOUT, f"the request line and headers did not arrive within {self.head_timeout:g} s")

    def _body_timed_out(self) -> None:
        self._timer = None
        if self._refused or self.transport.is_closing():
            return
        if self.flow.read_paused:  # as for the head
            self._timer = self.loop.call_later(self.body_timeout, self._body_timed_out)
        else:
            self._close("http.request_body_timeout")

    def _unstall(self) -> None:
        if self._stalled is not None:
            self._stalled.cancel()
            self._stalled = None

    def _write_timed_out(self) -> None:
        """The client read nothing of an answer for :attr:`write_timeout`: the connection is aborted (a close would
        wait for the client to read what is buffered)."""
        self._stalled, self._refused = None, True
        self._disarm()
        log.warning("http.response_write_timeout")
        self.transport.abort()

    def _close(self, event: str) -> None:
        self._refused = True
        self._disarm()
        log.warning(event)
        self.transport.close()

    def _answer(self, spec: p.Spec, detail: str) -> None:
        """Answer ``spec`` with ``detail`` and close: the rest of what the client sends is not read."""
        log.warning("http.request_head_refused", code=spec.code)
        self._refuse(functools.partial(self._write_and_close, _raw_problem(spec, detail, tls=self.scheme == "https")))

    def _refuse(self, answer: Callable[[], None]) -> None:
        """Read no more; ``answer`` now, or once the requests before are answered (an answer is never written into
        another, nor in its place)."""
        self._refused = True
        self._disarm()
        if self._answering():
            self._due = answer
        elif not self.transport.is_closing():
            answer()

    def _write_and_close(self, answer: bytes) -> None:
        self.transport.write(answer)
        self.transport.close()


def _raw_problem(spec: p.Spec, detail: str, *, tls: bool) -> bytes:
    """The problem as a whole HTTP/1.1 answer, with the headers every answer of the API carries (:mod:`.security`)."""
    body = json.dumps({"type": f"urn:motcua:problem:{spec.code}", "title": spec.title, "status": spec.status,
                       "code": spec.code, "detail": detail}).encode()
    headers = [(b"content-type", p.PROBLEM_MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode()),
               *api_headers(tls), (b"connection", b"close")]
    status = f"HTTP/1.1 {spec.status} {HTTPStatus(spec.status).phrase}\r\n".encode("ascii")
    return status + b"".join(name + b": " + value + b"\r\n" for name, value in headers) + b"\r\n" + body
