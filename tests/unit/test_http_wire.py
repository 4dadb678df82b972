"""A request's line and headers bounded in size and time, its body in time, under uvicorn (entrypoints/http/wire.py),
over real sockets.

Before: uvicorn's httptools parser kept a head of 64 MiB in memory and answered it 200, and a connection that sent
half a head, or nothing, or a body a byte now and then, stayed open for ever (slowloris). Each test runs the server
as ``motcua serve`` configures it (:func:`~motcua.entrypoints.http.serve.server_config`), on a free port, with
smaller limits where a test needs them (a subclass of :class:`~motcua.entrypoints.http.wire.BoundedRequest`).
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

import pytest
import structlog
import uvicorn
from starlette.types import Receive, Scope, Send
from structlog.testing import capture_logs

from motcua.adapters.bootstrap import open_motcua
from motcua.adapters.keys import MemoryHttpStore
from motcua.entrypoints.http.app import create_app
from motcua.entrypoints.http.security import API_POLICY
from motcua.entrypoints.http.serve import ServeOptions, server_config
from motcua.entrypoints.http.wire import HEAD_MAX, BoundedRequest
from tests.servers import free_port, serving

HEALTH: Final = b"GET /healthz HTTP/1.1\r\nHost: motcua\r\n"


class Quick(BoundedRequest):
    """Limits small enough to reach in a test."""

    head_max = 1024
    head_timeout = 0.4
    body_timeout = 0.6
    write_timeout = 0.5
    pipeline_max = 4


async def _slow(scope: Scope, receive: Receive, send: Send) -> None:
    """An app taking its time: ``/slow/<s>`` answers after ``s`` seconds, ``/stream/<n>`` streams ``n`` pieces 0.1 s
    apart, ``/read`` reads the body whole first; each answer names its path. ``/big/<n>`` answers ``n`` bytes."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    path: str = scope["path"]
    if path.startswith("/big/"):
        await _big(int(path.removeprefix("/big/")), send)
        return
    more = True
    while path == "/read" and more:
        more = (await receive()).get("more_body", False)
    if path.startswith("/slow/"):
        await asyncio.sleep(float(path.removeprefix("/slow/")))
    pieces = int(path.removeprefix("/stream/")) if path.startswith("/stream/") else 0
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", b"%d" % (len(path) + 3 * pieces))]})
    for n in range(pieces):
        await send({"type": "http.response.body", "body": b"%02d " % n, "more_body": True})
        await asyncio.sleep(0.1)
    await send({"type": "http.response.body", "body": path.encode()})


async def _big(size: int, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % size)]})
    piece = b"x" * 65536
    for _ in range(size // len(piece)):
        await send({"type": "http.response.body", "body": piece, "more_body": True})
    await send({"type": "http.response.body", "body": b"x" * (size % len(piece))})


@contextmanager
def _server(protocol: type[BoundedRequest] | None = None, *, slow: bool = False) -> Iterator[int]:
    """``motcua serve``'s uvicorn over a memory store on a free port (``protocol`` instead of its own, if given; the
    slow app instead of motcua's, if ``slow``)."""
    motcua = open_motcua("memory://", observers=[])
    port = free_port()
    app = _slow if slow else create_app(motcua, MemoryHttpStore())
    config = server_config(app, ServeOptions("memory://", port=port))
    if protocol is not None:
        config.http = protocol
    try:
        with serving(uvicorn.Server(config)):
            yield port
    finally:
        motcua.close()


def _exchange(port: int, request: bytes, *, wait: float = 5.0) -> bytes:
    """Send ``request`` whole and read until the server closes the connection or ``wait`` passes."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as connection:
        connection.sendall(request)
        return _read_all(connection)


def _read_all(connection: socket.socket) -> bytes:
    answer = b""
    try:
        while chunk := connection.recv(65536):
            answer += chunk
    except TimeoutError:  # kept open: what arrived so far
        pass
    return answer


def _next_status(connection: socket.socket) -> int:
    """The status of the next answer on a keep-alive ``connection``, read whole (its head, then its body)."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = connection.recv(65536)
        assert chunk, f"closed after {answer!r}"
        answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    length = int(re.search(rb"content-length: (\d+)", head.lower()).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        chunk = connection.recv(65536)
        assert chunk, "closed in the body"
        body += chunk
    assert len(body) == length, "more than one answer"
    return int(head.split()[1])


def _statuses(answer: bytes) -> list[int]:
    """The status of each answer in ``answer`` (a pipelined answer starts right after the previous body)."""
    return [int(status) for status in re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)]


def _problem(answer: bytes) -> dict[str, Any]:
    """The problem document of ``answer``, checked to carry the headers of every answer of the API."""
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = set(head.lower().split(b"\r\n")[1:])
    expected = {b"content-type: application/problem+json", b"connection: close", b"cache-control: no-store",
                b"x-content-type-options: nosniff", b"referrer-policy: no-referrer", b"x-frame-options: deny",
                b"content-security-policy: " + API_POLICY.lower().encode()}
    assert expected <= lines, lines
    problem: dict[str, Any] = json.loads(body)
    return problem


def _headers(count: int, size: int) -> bytes:
    return b"".join(b"X-Extra-%d: %s\r\n" % (n, b"v" * size) for n in range(count))


def test_motcua_serve_refuses_a_head_over_its_limit_before_the_app_sees_it() -> None:
    with _server() as port:
        answer = _exchange(port, HEALTH + b"X-Big: " + b"a" * HEAD_MAX + b"\r\n\r\n")
        assert _statuses(answer) == [431]
        problem = _problem(answer)
        assert problem["code"] == "request-head-too-large" and problem["status"] == 431
        assert f"{HEAD_MAX:,} bytes" in problem["detail"]
        assert _statuses(_exchange(port, HEALTH + b"\r\n", wait=0.5)) == [200]  # the server is still there


def test_a_head_under_the_limit_in_many_headers_is_answered() -> None:
    head = HEALTH + _headers(98, 300)  # about 30 KiB in 99 headers, under 32 KiB and 100
    assert HEAD_MAX - 6000 < len(head) < HEAD_MAX
    with _server() as port:
        assert _statuses(_exchange(port, head + b"\r\n", wait=0.5)) == [200]


def test_many_small_headers_over_the_limit_are_refused() -> None:
    with _server(Quick) as port:
        assert _statuses(_exchange(port, HEALTH + _headers(100, 1) + b"\r\n")) == [431]


def test_a_huge_header_streamed_is_cut_off_after_the_limit_not_read_whole() -> None:
    """64 MiB of one header value, sent in 64 KiB pieces: the server closes once the head passes the limit, the
    client's sending fails long before the end (before: uvicorn read it all into memory and answered 200)."""
    piece, sent = b"a" * 65536, 0
    with _server(Quick) as port, socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            connection.sendall(HEALTH + b"X-Big: ")
            for _ in range(1024):
                connection.sendall(piece)
                sent += len(piece)
        assert sent < 16 * 1024 * 1024


def test_a_head_sent_too_slowly_is_answered_408_and_closed() -> None:
    with _server(Quick) as port, socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(HEALTH)  # the blank line never comes
        started = time.monotonic()
        answer = _read_all(connection)
        assert _statuses(answer) == [408] and _problem(answer)["code"] == "request-timeout"
        assert 0.3 < time.monotonic() - started < 4


def test_a_connection_that_sends_nothing_is_closed_without_an_answer() -> None:
    with _server(Quick) as port, socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        started = time.monotonic()
        assert connection.recv(100) == b""  # closed: not kept open for ever
        assert time.monotonic() - started < 4


def test_the_time_limit_is_each_heads_not_the_connections() -> None:
    """A keep-alive connection answering request after request for longer than the limit is never cut."""
    with _server(Quick) as port, socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        started = time.monotonic()
        while time.monotonic() - started < 1.2:  # three head timeouts
            connection.sendall(HEALTH + b"\r\n")
            assert _next_status(connection) == 200
            time.sleep(0.1)


def test_each_head_is_counted_from_its_own_start_on_a_keep_alive_connection() -> None:
    """Fifty heads of 600 bytes under a limit of 1 KiB, one connection: none is refused (the count is reset)."""
    head = HEALTH + _headers(1, 550) + b"\r\n"
    assert 600 < len(head) < Quick.head_max
    with _server(Quick) as port, socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        for _ in range(50):
            connection.sendall(head)
            assert _next_status(connection) == 200


def test_a_pipelined_body_is_not_counted_as_the_next_requests_head() -> None:
    """One read holding the end of a head, its body of 2 kB and the start of the next head, under a head limit of
    1 KiB: the next head is counted from its own start, and both requests are answered."""
    body = json.dumps({"note": "x" * 2000}).encode()
    reads = [b"POST /dossiers HTTP/1.1\r\nHost: motcua\r\n",
             b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body + HEALTH,
             b"\r\n"]
    with _server(Quick) as port, socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
        for read in reads:
            connection.sendall(read)
            time.sleep(0.1)  # each its own read of the server's socket
        assert _statuses(_read_all(connection)) == [401, 200]


def test_a_body_sent_too_slowly_closes_the_connection() -> None:
    head = (b"POST /dossiers HTTP/1.1\r\nHost: motcua\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{\"note\": ")
    with _server(Quick) as port, socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(head)  # 90 bytes of the body never come
        started = time.monotonic()
        assert _read_all(connection) == b""  # closed, nothing written in the application's place
        assert 0.5 < time.monotonic() - started < 4
        assert _statuses(_exchange(port, HEALTH + b"\r\n", wait=0.5)) == [200]


def test_a_body_in_time_and_the_requests_after_it_are_not_cut() -> None:
    """The body's time runs from its head to its end only: a keep-alive connection sending a body now and then, for
    longer than the limit in all, is answered every time."""
    body = json.dumps({"note": "x"}).encode()
    request = (b"POST /dossiers HTTP/1.1\r\nHost: motcua\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n" % len(body)) + body
    with _server(Quick) as port, socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        for _ in range(3):  # idle longer than the body's time after each answer, within the keep-alive timeout
            connection.sendall(request)
            assert _next_status(connection) == 401
            time.sleep(0.8)


def test_the_refusal_is_logged_without_the_clients_address() -> None:
    structlog.reset_defaults()
    with _server(Quick) as port, capture_logs() as logs:
        assert _statuses(_exchange(port, HEALTH + _headers(1, 2000) + b"\r\n")) == [431]
    refused = [entry for entry in logs if entry["event"] == "http.request_head_refused"]
    assert refused == [{"event": "http.request_head_refused", "code": "request-head-too-large",
                        "log_level": "warning"}]


def _answers(answer: bytes) -> list[tuple[int, bytes]]:
    """Each answer of ``answer`` (answers with a ``content-length``, one after the other): its status and body."""
    answers = []
    while answer:
        head, _, rest = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 "), f"not an answer: {answer!r}"
        length = int(re.search(rb"content-length: (\d+)", head.lower()).group(1))  # type: ignore[union-attr]
        answers.append((int(head.split()[1]), rest[:length]))
        answer = rest[length:]
    return answers


def test_a_head_refused_behind_a_request_being_answered_is_answered_after_it() -> None:
    """A pipelined head that times out, or is too large, while the request before it is being answered: that answer
    goes out whole first, then the refusal (before: the 408 or 431 was written in the middle of the streamed answer,
    or in place of an answer not started, which the client took for its request's)."""
    too_large = b"GET /b HTTP/1.1\r\nHost: motcua\r\n" + _headers(1, 2000) + b"\r\n"
    with _server(Quick, slow=True) as port:
        for late in (b"GET /b HTTP/1.1\r\nHost: motcua\r\n", too_large):
            for first in (b"/stream/10", b"/slow/1"):
                answer = _exchange(port, b"GET " + first + b" HTTP/1.1\r\nHost: motcua\r\n\r\n" + late)
                answers = _answers(answer)
                assert [status for status, _ in answers] == [200, 408 if late.endswith(b"motcua\r\n") else 431]
                assert answers[0][1].endswith(first)


def test_uvicorns_400_behind_a_request_being_answered_is_answered_after_it() -> None:
    with _server(Quick, slow=True) as port:
        answer = _exchange(port, b"GET /stream/8 HTTP/1.1\r\nHost: motcua\r\n\r\nGET /b HTTP/1.1\r\nHo st: x\r\n\r\n")
        assert [status for status, _ in _answers(answer)] == [200, 400]


def test_a_pipeline_behind_a_slow_answer_is_not_timed_while_the_server_does_not_read_it() -> None:
    """An honest pipeline behind an answer slower than the limits: the server stops reading the connection while it
    answers (uvicorn), so the rest of a head, or of a body, waits in the socket; neither limit runs meanwhile (before:
    a 408 for a head split by the socket, or the connection closed in the middle of the first answer)."""
    body = b"z" * 2_000_000
    with _server(Quick, slow=True) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
            connection.sendall(b"GET /slow/1.5 HTTP/1.1\r\nHost: motcua\r\n\r\nGET /b HTTP/1.1\r\nHost: motcua\r\n\r\n"
                               b"GET /c HTTP/1.1\r\n")
            time.sleep(0.1)
            connection.sendall(b"Host: motcua\r\nConnection: close\r\n\r\n")
            assert _answers(_read_all(connection)) == [(200, b"/slow/1.5"), (200, b"/b"), (200, b"/c")]
        with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
            connection.sendall(b"GET /slow/1.5 HTTP/1.1\r\nHost: motcua\r\n\r\nPOST /read HTTP/1.1\r\nHost: motcua\r\n"
                               b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body))
            sending = threading.Thread(target=connection.sendall, args=(body,), daemon=True)
            sending.start()
            assert _answers(_read_all(connection)) == [(200, b"/slow/1.5"), (200, b"/read")]
            sending.join(5)


def test_blank_lines_between_requests_do_not_hold_the_connection() -> None:
    """A keep-alive connection sent an empty line now and then, never a request (each line stopped uvicorn's
    keep-alive timeout, and no head began: before, the connection stayed open for ever)."""
    with _server(Quick) as port, socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(HEALTH + b"\r\n")
        assert _next_status(connection) == 200
        started = time.monotonic()
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            while time.monotonic() - started < 4:
                connection.sendall(b"\r\n")
                time.sleep(0.1)
        assert connection.recv(100) == b""  # closed without an answer: no request to answer


@pytest.mark.parametrize("start", [b"0\r\nX-Trailer: ", b"3;extension="], ids=["trailer", "chunk-extension"])
def test_trailers_are_bounded_as_a_head_is(start: bytes) -> None:
    """A chunked body's trailers (header lines after its last chunk) over the head's limit close the connection
    (before: kept in memory however large, until the body's time ran out: 30 MB in 0.6 s); so does a chunk's
    extension as large."""
    head = b"POST /read HTTP/1.1\r\nHost: motcua\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"
    sent = 0
    with _server(Quick, slow=True) as port, socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            connection.sendall(head + start)
            for _ in range(1024):
                connection.sendall(b"a" * 4096)
                sent += 4096
                time.sleep(0.001)
        assert sent < 512 * 1024
    with _server(Quick, slow=True) as port:  # a trailer under the limit is no harm
        assert _answers(_exchange(port, head + b"0\r\nX-Trailer: a\r\n\r\n", wait=1)) == [(200, b"/read")]


def test_requests_pipelined_beyond_the_limit_are_not_read() -> None:
    """128 KiB of small requests pipelined behind a slow one: the server answers the one and the few it read ahead,
    the last with ``Connection: close``, and closes (before: uvicorn parsed a whole read of the socket into
    thousands of waiting requests, some 15 MB of memory for each 128 KiB a connection sent)."""
    pipeline = b"GET /slow/0.3 HTTP/1.1\r\n\r\n" + b"GET /b HTTP/1.1\r\n\r\n" * 7000
    with _server(Quick, slow=True) as port:
        answer = _exchange(port, pipeline)
        assert _answers(answer) == [(200, b"/slow/0.3")] + [(200, b"/b")] * Quick.pipeline_max
        assert answer.lower().count(b"connection: close") == 1
        assert _answers(_exchange(port, b"GET /a HTTP/1.1\r\nConnection: close\r\n\r\n")) == [(200, b"/a")]


def test_more_headers_than_the_limit_are_refused() -> None:
    """100 headers are answered, 101 are not (each costs memory out of proportion to its bytes)."""
    with _server() as port:
        assert _statuses(_exchange(port, HEALTH + _headers(99, 1) + b"\r\n", wait=0.5)) == [200]
        answer = _exchange(port, HEALTH + _headers(100, 1) + b"\r\n")
        assert _statuses(answer) == [431] and "more than 100 headers" in _problem(answer)["detail"]


def test_an_answer_the_client_never_reads_aborts_the_connection() -> None:
    """A client asks for 64 MiB and reads nothing: once the buffers are full the answer waits on the client, and after
    the write timeout the server aborts the connection (before: it held the answer and the connection for ever)."""
    size = 64 * 1024 * 1024
    with _server(Quick, slow=True) as port, socket.socket() as connection:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        connection.settimeout(5)
        connection.connect(("127.0.0.1", port))
        connection.sendall(b"GET /big/%d HTTP/1.1\r\nHost: motcua\r\n\r\n" % size)
        time.sleep(2)  # reads nothing meanwhile
        received, reset = 0, False
        try:
            while chunk := connection.recv(1 << 20):
                received += len(chunk)
        except ConnectionResetError:
            reset = True
        assert reset or received < size
