"""The benchmarks' HTTP/1.1 client: one keep-alive TCP connection, a request written whole, its answer read whole.

A load generator's own CPU is spent on the same two cores as the server it measures, so it is kept as small as a
correct client allows — as wrk or h2load are, which are not installable here. Per request it writes the request
line, every header and the body in one ``sendall``; reads the status line and every header of the answer; reads the
body by its ``Content-Length``; and refuses, with :class:`ClientError` naming it, what it does not read: an answer
without ``Content-Length`` (chunked or closed-delimited), a head over 64 KiB, a connection closed mid-answer. It does
no redirects, cookies, compression or TLS: the benchmarks need none. The standard library's ``http.client``
spends about twice the CPU per request, mostly building and parsing headers with ``email``'s parser
(``docs/reference/benchmarks.md``).
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Answer", "ClientError", "KeepAlive"]

HEAD_MAX = 64 * 1024
_READ = 65536


class ClientError(RuntimeError):
    """An answer the client cannot read as HTTP/1.1 with a Content-Length."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]  # names in lower case; a name sent twice keeps its last value
    body: bytes


class KeepAlive:
    """One keep-alive connection to ``host:port``, opened on first use and again after :meth:`close`."""

    def __init__(self, host: str, port: int, *, timeout: float = 60.0) -> None:
        self._address = (host, port)
        self._host = f"{host}:{port}".encode()
        self._timeout = timeout
        self._socket: socket.socket | None = None
        self._buffer = b""

    def __enter__(self) -> KeepAlive:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
        self._socket, self._buffer = None, b""

    def request(self, method: str, path: str, headers: Mapping[str, str], body: bytes = b"") -> Answer:
        connection = self._connected()
        lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: " + self._host,
                 b"Content-Length: " + str(len(body)).encode()]
        lines += [f"{name}: {value}".encode() for name, value in headers.items()]
        connection.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        return self._answer(connection, head_only=method == "HEAD")

    def _connected(self) -> socket.socket:
        if self._socket is None:
            self._socket = socket.create_connection(self._address, timeout=self._timeout)
            self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self._socket

    def _answer(self, connection: socket.socket, *, head_only: bool) -> Answer:
        end = self._buffer.find(b"\r\n\r\n")
        while end < 0:
            if len(self._buffer) > HEAD_MAX:
                raise ClientError(f"an answer's head over {HEAD_MAX} bytes")
            self._buffer += self._received(connection)
            end = self._buffer.find(b"\r\n\r\n")
        head, self._buffer = self._buffer[:end].decode("latin-1"), self._buffer[end + 4:]
        status, headers = _parsed(head)
        if head_only or status in (204, 304) or 100 <= status < 200:
            return Answer(status, headers, b"")
        if "content-length" not in headers:
            raise ClientError(f"an answer {status} without Content-Length (chunked or closed): not read here")
        size = int(headers["content-length"])
        while len(self._buffer) < size:
            self._buffer += self._received(connection)
        body, self._buffer = self._buffer[:size], self._buffer[size:]
        return Answer(status, headers, body)

    def _received(self, connection: socket.socket) -> bytes:
        chunk = connection.recv(_READ)
        if not chunk:
            self.close()
            raise ClientError("the server closed the connection in the middle of an answer")
        return chunk


def _parsed(head: str) -> tuple[int, dict[str, str]]:
    status_line, *lines = head.split("\r\n")
    version, _, rest = status_line.partition(" ")
    if not version.startswith("HTTP/1.") or not rest[:3].isdigit():
        raise ClientError(f"not an HTTP/1.x status line: {status_line[:80]!r}")
    headers: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon:
            raise ClientError(f"a header line without a colon: {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    return int(rest[:3]), headers
