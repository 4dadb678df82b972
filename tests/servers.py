"""uvicorn in a thread of the test, on a free port of this machine: what the HTTP tests that need real sockets share."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import uvicorn


def free_port() -> int:
    """A TCP port of 127.0.0.1 no one listens on (a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serving(server: uvicorn.Server) -> Iterator[str]:
    """``server`` answering in a thread until the block ends; yields its base URL (``http://127.0.0.1:PORT``)."""
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(30)


@contextmanager
def tcp_server(handle: Callable[[socket.socket], None]) -> Iterator[int]:
    """A TCP server on 127.0.0.1 that hands each connection it accepts, one at a time, to ``handle`` in a thread of
    the test, then closes it, until the block ends; yields its port. A client that hangs up meanwhile ends that
    connection's handling (its ``OSError`` is the client's doing, not the test's)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection, contextlib.suppress(OSError):
                handle(connection)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(10)
        listener.close()


def read_request(connection: socket.socket) -> bytes:
    """One HTTP/1.1 request read whole from ``connection``: its head, and its body by its ``Content-Length``."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    size = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                 if line.lower().startswith(b"content-length")), 0)
    while len(body) < size:
        chunk = connection.recv(65536)
        data, body = data + chunk, body + chunk
    return data
