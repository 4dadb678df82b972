"""A webhook receiver for the reliability tests: a real HTTP server that takes its time, and counts.

It answers every signed request 200 after ``delay`` seconds (a slow receiver: the delivery outlasts the
lease), and records each request's ``Idempotency-Key`` and when it arrived, so a test can tell how many times
each effect reached it, and whether any request started after a given instant. :func:`webhook_rows` reads the
outbox rows of the effects the webhook receives.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg

from motcua.adapters.notifiers import verify_signature

__all__ = ["SECRET", "SlowReceiver", "all_delivered", "slow_receiver", "webhook_rows"]

SECRET = "khoa-bi-mat-nguoi-nhan"
_SENT = "SELECT id, status, attempts FROM outbox WHERE kind <> 'dvcqg.sync' ORDER BY id"  # the portal's are parked


def webhook_rows(url: str) -> list[tuple[int, str, int]]:
    """(id, status, attempts) of the outbox rows the webhook receives (every effect but the portal's)."""
    with psycopg.connect(url, autocommit=True) as connection:
        return [(int(id_), str(status), int(attempts)) for id_, status, attempts in connection.execute(_SENT)]


def all_delivered(url: str) -> bool:
    rows = webhook_rows(url)
    return bool(rows) and all(status == "delivered" for _, status, _ in rows)


@dataclass
class SlowReceiver:
    delay: float
    port: int = 0
    arrivals: list[tuple[float, str]] = field(default_factory=list)  # (monotonic instant, Idempotency-Key)
    unsigned: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/motcua/effects"

    def environment(self) -> dict[str, str]:
        """The settings that point ``motcua worker`` at this receiver."""
        return {"MOTCUA_WEBHOOK_URL": self.url, "MOTCUA_WEBHOOK_SECRET": SECRET}

    def received(self) -> Counter[str]:
        """How many requests reached the receiver, by Idempotency-Key."""
        with self.lock:
            return Counter(key for _, key in self.arrivals)

    def arrived_after(self, instant: float) -> list[str]:
        with self.lock:
            return [key for arrived, key in self.arrivals if arrived > instant]


def _handler(receiver: SlowReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            arrived = time.monotonic()
            body = self.rfile.read(int(self.headers["Content-Length"]))
            signed = verify_signature(SECRET.encode(), self.headers.get("X-Motcua-Timestamp", ""), body,
                                      self.headers.get("X-Motcua-Signature", ""), time.time())
            with receiver.lock:
                if signed:
                    receiver.arrivals.append((arrived, self.headers.get("Idempotency-Key", "")))
                else:
                    receiver.unsigned += 1
            time.sleep(receiver.delay)
            self.send_response(200 if signed else 401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test reads the receiver's counts."""

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A worker process killed mid-request: nothing to report."""


@contextmanager
def slow_receiver(delay: float) -> Iterator[SlowReceiver]:
    receiver = SlowReceiver(delay)
    server = _QuietServer(("127.0.0.1", 0), _handler(receiver))
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
