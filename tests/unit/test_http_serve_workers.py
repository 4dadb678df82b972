"""``motcua serve --workers 2``: two processes answer on one socket, over one SQLite file, and the dispatcher runs
once, in the supervisor — real processes, real HTTP, each request on its own connection so that both processes
take some."""

from __future__ import annotations

import http.client
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from motcua.adapters.bootstrap import open_motcua
from motcua.adapters.keys import new_key
from motcua.workflow.engine.clock import SystemClock
from tests.servers import free_port

MOTCUA = [sys.executable, "-c", "from motcua.entrypoints.cli.main import main; main()"]
DOSSIERS = 4
FIRES = 12


@dataclass
class Server:
    port: int
    key: str
    db: Path
    process: subprocess.Popen[bytes]

    def request(self, method: str, path: str, body: object = None, **headers: str) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
            connection.request(method, path, data, {"X-API-Key": self.key, "Content-Type": "application/json",
                                                    "Connection": "close", **headers})
            answer = connection.getresponse()
            return answer.status, {name.lower(): value for name, value in answer.getheaders()}, answer.read()
        finally:
            connection.close()


def _children(pid: int) -> list[str]:
    """The command lines of the processes ``pid`` started (Linux /proc)."""
    listed = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode() for child in listed]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    if not Path("/proc/self/task").exists():
        pytest.skip("reads the process tree from Linux's /proc")
    db = tmp_path / "workers.db"
    motcua = open_motcua(f"sqlite:///{db}", observers=[])
    created = new_key("Phần mềm một cửa", ["officer"], SystemClock().now())
    motcua.backend.keys.add_key(created.stored)
    motcua.close()
    port = free_port()
    process = subprocess.Popen([*MOTCUA, "serve", "--workers", "2", "--db", f"sqlite:///{db}", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ})
    served = Server(port, created.secret_text, db, process)
    try:
        _wait_until_up(served)
        yield served
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_until_up(server: Server) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert server.process.poll() is None, f"motcua serve exited with {server.process.returncode}"
        try:
            if server.request("GET", "/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("motcua serve --workers 2 did not answer /healthz within 90 s")


def _receive_and_fire(server: Server, n: int) -> tuple[str, int]:
    body = {"procedure": "1.004873", "channel": "direct", "applicant": {"name": f"Trần Văn An {n}"}}
    status, headers, text = server.request("POST", "/dossiers", body)
    assert status == 201, text
    code, etag = json.loads(text)["code"], headers["etag"]
    for step in range(FIRES):
        status, headers, text = server.request("POST", f"/dossiers/{code}/events",
                                               {"trigger": "assign", "data": {"assignee": f"Cán bộ {step}"}},
                                               **{"If-Match": etag})
        assert status == 200, text
        etag = headers["etag"]
    return code, int(etag.strip('"'))


def test_two_processes_answer_over_one_database_and_one_dispatcher_delivers_each_effect_once(server: Server) -> None:
    workers = [line for line in _children(server.process.pid) if "spawn_main" in line]
    assert len(workers) == 2, _children(server.process.pid)

    with ThreadPoolExecutor(DOSSIERS) as pool:
        moved = list(pool.map(lambda n: _receive_and_fire(server, n), range(DOSSIERS)))

    for code, version in moved:
        status, headers, text = server.request("GET", f"/dossiers/{code}")
        assert status == 200 and headers["etag"] == f'"{version}"' and json.loads(text)["version"] == version
        stale = server.request("POST", f"/dossiers/{code}/events", {"trigger": "assign", "data": {"assignee": "X"}},
                               **{"If-Match": f'"{version - 1}"'})
        assert stale[0] == 412 and json.loads(stale[2])["current_version"] == version

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _receipts(server.db) != ["delivered 1"] * DOSSIERS:
        time.sleep(0.2)
    assert _receipts(server.db) == ["delivered 1"] * DOSSIERS  # each receipt delivered once, by one dispatcher


def _receipts(db: Path) -> list[str]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT status, attempts FROM outbox WHERE kind = 'form' ORDER BY id").fetchall()
    return [f"{status} {attempts}" for status, attempts in rows]


HOLD_WRITER = """
import sys, time
from motcua.adapters.sql.driver import Driver
driver = Driver.from_url(sys.argv[1])
with driver.transaction():  # as a projections rebuild, an import: the writer held for seconds
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
driver.close()
"""


def test_a_writer_held_for_seconds_elsewhere_freezes_neither_process(server: Server) -> None:
    """Short requests run on each process's event loop; one whose first write finds the writer held elsewhere goes
    to the pool and waits there, and ``/healthz`` is answered meanwhile (a frozen process accepts nothing, so the
    next desk's request lands on the other one and, waiting on its loop, would freeze it too)."""
    dossiers = [_receive_and_fire(server, n) for n in range(3)]
    holder = subprocess.Popen([sys.executable, "-c", HOLD_WRITER, f"sqlite:///{server.db}", "3"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with ThreadPoolExecutor(len(dossiers)) as pool:
            event = {"trigger": "assign", "data": {"assignee": "Cán bộ chờ"}}
            moving = []
            for code, version in dossiers:  # one after another: a process waiting on its loop accepts no more
                moving.append(pool.submit(server.request, "POST", f"/dossiers/{code}/events", event,
                                          **{"If-Match": f'"{version}"'}))
                time.sleep(0.2)
            slowest = 0.0
            while holder.poll() is None:
                started = time.monotonic()
                assert server.request("GET", "/healthz")[0] == 200
                slowest = max(slowest, time.monotonic() - started)
                time.sleep(0.05)
            answers = [future.result(timeout=60) for future in moving]
    finally:
        holder.wait(timeout=30)
        assert holder.stdout is not None
        holder.stdout.close()
    for (_, version), (status, headers, text) in zip(dossiers, answers, strict=True):
        assert status == 200 and headers["etag"] == f'"{version + 1}"', text  # moved once the writer was free
    assert slowest < 2.0, slowest  # a frozen server answered only after the holder's 3 s
