"""A local fake of the DVCQG sync API: a real HTTP server on 127.0.0.1, a free port, in a thread.

It answers like the portal is assumed to (docs/reference/dvcqg-records.md): ``{"error_code": "0", "message": …}`` on
success; a ``DongBoHoSoMC`` record whose ``MaHoSo`` it already holds, sent with ``isUpdating`` false, is
refused with ``"Hồ sơ … đã tồn tại"``; a wrong bearer token gets HTTP 401. Scripted answers (``then``)
come first, one per request: transient 5xx, malformed bodies, refusals.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "bi-mat-lgsp"
OK = (200, {"error_code": "0", "message": "Thành công"})


@dataclass
class FakePortal:
    url: str = ""
    scripted: list[tuple[int, bytes]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)  # every document received, answered or not
    dossiers: dict[str, dict[str, Any]] = field(default_factory=dict)  # MaHoSo → the last record accepted
    progress: list[dict[str, Any]] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)  # MaHoSo refused for good (HTTP 400)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def then(self, status: int, body: bytes | dict[str, Any]) -> FakePortal:
        """Answer the next request so, before any default behaviour."""
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.scripted.append((status, raw))
        return self

    def services(self) -> list[tuple[str, bool]]:
        return [(request["service"], request["isUpdating"]) for request in self.requests]

    def answer(self, document: dict[str, Any]) -> tuple[int, dict[str, Any] | bytes]:
        with self.lock:
            self.requests.append(document)
            if self.scripted:
                return self.scripted.pop(0)
            return self._default(document)

    def _default(self, document: dict[str, Any]) -> tuple[int, dict[str, Any] | bytes]:
        record = document["data"][0]
        code = record["MaHoSo"]
        if code in self.refused:
            return 400, {"error_code": "-1", "message": f"MaHoSo {code} không hợp lệ"}
        if document["service"] == "CapNhatTienDoHoSoMC":
            self.progress.append(record)
            return OK
        if code in self.dossiers and not document["isUpdating"]:
            return 200, {"error_code": "-1", "message": f"Hồ sơ {code} đã tồn tại trên hệ thống"}
        self.dossiers[code] = record
        return OK


def _handler(portal: FakePortal) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._reply(401, {"error_code": "401", "message": "Sai mã truy cập"})
                return
            status, answer = portal.answer(json.loads(body.decode("utf-8")))
            self._reply(status, answer)

        def _reply(self, status: int, answer: dict[str, Any] | bytes) -> None:
            raw = answer if isinstance(answer, bytes) else json.dumps(answer, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextmanager
def fake_portal() -> Iterator[FakePortal]:
    portal = FakePortal()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(portal))
    portal.url = f"http://127.0.0.1:{server.server_address[1]}/dvcqg/sync"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield portal
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
