"""`motcua serve --broker redis://…`: the server's dispatcher sends what falls due to Redis, and a separate
`motcua worker --broker …` delivers it — the production shape of docs/how-to/serve-the-http-api.md, with real processes,
a real Redis (its own database number, emptied before and after) and a SQLite file both processes share.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from tests import services
from tests.servers import free_port

MOTCUA = [sys.executable, "-c", "from motcua.entrypoints.cli.main import main; main()"]
REDIS_DB = 11  # a database of the test Redis no other test uses


def _broker_url() -> str:
    return services.require_redis().rsplit("/", 1)[0] + f"/{REDIS_DB}"


@pytest.fixture
def broker() -> Iterator[str]:
    url = _broker_url()
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


def _queued(url: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        return int(client.llen("dramatiq:motcua"))
    finally:
        client.close()


def _outbox(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as connection:
        return [(kind, status) for kind, status in connection.execute("SELECT kind, status FROM outbox ORDER BY id")]


def _until(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("not reached in time")


def _started(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("w") as out:  # the child writes to its own copy of the descriptor
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)


def _stopped(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.mark.integration
def test_the_server_sends_through_redis_and_a_worker_delivers(tmp_path: Path, broker: str) -> None:
    db_file = tmp_path / "commune.db"
    db, port = f"sqlite:///{db_file}", free_port()
    created = subprocess.run([*MOTCUA, "apikey", "create", "--actor", "Phần mềm một cửa", "--role", "officer",
                              "--all-units", "--db", db], capture_output=True, text=True, check=True, timeout=60)
    server = _started([*MOTCUA, "serve", "--port", str(port), "--db", db, "--broker", broker], tmp_path / "s.log")
    worker: subprocess.Popen[bytes] | None = None
    try:
        base = f"http://127.0.0.1:{port}"
        _until(lambda: _answers(f"{base}/healthz"), 60)
        body = {"procedure": "1.004873", "channel": "direct", "applicant": {"name": "Trần Văn An"}}
        request = urllib.request.Request(f"{base}/dossiers", data=json.dumps(body).encode(), method="POST",
                                         headers={"X-API-Key": created.stdout.strip(),
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status == 201

        _until(lambda: _queued(broker) == 1)  # the receipt, sent by the server's dispatcher, waits in Redis
        assert _outbox(db_file) == [("form", "pending")]

        worker = _started([*MOTCUA, "worker", "--db", db, "--broker", broker, "--processes", "1", "--threads", "2"],
                          tmp_path / "w.log")
        _until(lambda: _outbox(db_file) == [("form", "delivered")], 60)
        assert _queued(broker) == 0
    finally:
        if worker is not None:
            _stopped(worker)
        _stopped(server)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False
