"""16 HTTP clients hammering one dossier on a real PostgreSQL: one write per version wins, the rest get 412.

The server is uvicorn in a thread of the test (the app on its own fresh database); each client has its
own HTTP connection and all fire at once, each round with the same If-Match. After every round exactly
one client got 200 (with the next ETag) and fifteen got 412 ``version-mismatch``; at the end the audit
log holds exactly the winners' entries, in order, once each, and every chain verifies.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest
import uvicorn

from motcua.adapters.bootstrap import Motcua
from motcua.adapters.keys import new_key
from motcua.entrypoints.http.serve import built_app
from motcua.workflow.engine.audit import verify_chains
from motcua.workflow.engine.clock import SystemClock
from tests.servers import free_port, serving
from tests.services import postgres_database, postgres_url, require_postgres

pytestmark = pytest.mark.integration

CLIENTS = 16
ROUNDS = 6


@dataclass
class Running:
    base: str
    key: str
    motcua: Motcua


@pytest.fixture
def running() -> Iterator[Running]:
    require_postgres()
    with postgres_database() as name, built_app(postgres_url(name)) as (app, motcua, store):
        created = new_key("Phần mềm một cửa", ["officer"], SystemClock().now())
        store.add_key(created.stored)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
        with serving(server) as base:
            yield Running(base, created.secret_text, motcua)


def _round(running: Running, code: str, version: int, round_number: int) -> list[httpx.Response]:
    start = threading.Barrier(CLIENTS)

    def client(n: int) -> httpx.Response:
        with httpx.Client(base_url=running.base, headers={"X-API-Key": running.key}, timeout=60) as http:
            http.get("/healthz")  # connect first: the race is on the write, not on the handshake
            start.wait()
            return http.post(f"/dossiers/{code}/events", headers={"If-Match": f'"{version}"'},
                             json={"trigger": "assign", "data": {"assignee": f"Cán bộ {round_number}-{n}"}})

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(client, range(CLIENTS)))


def test_one_write_per_version_wins_and_the_log_holds_each_once(running: Running) -> None:
    headers = {"X-API-Key": running.key}
    with httpx.Client(base_url=running.base, headers=headers, timeout=60) as http:
        received = http.post("/dossiers", json={"procedure": "1.004873", "channel": "direct",
                                                "applicant": {"name": "Trần Văn An"}})
        assert received.status_code == 201, received.text
    code, version = received.json()["code"], received.json()["version"]
    winners: list[str] = []
    for round_number in range(ROUNDS):
        answers = _round(running, code, version, round_number)
        won = [answer for answer in answers if answer.status_code == 200]
        lost = [answer for answer in answers if answer.status_code != 200]
        assert len(won) == 1, [answer.text for answer in answers]
        assert all(answer.status_code == 412 and answer.json()["code"] == "version-mismatch" for answer in lost)
        assert won[0].headers["etag"] == f'"{version + 1}"'
        winners.append(won[0].json()["attributes"]["assignee"])
        version += 1

    history = running.motcua.store.history(code)
    assert [entry.sequence for entry in history] == list(range(1, version + 1))
    assert [entry.data.get("assignee") for entry in history if entry.trigger == "assign"] == winners
    store = running.motcua.store
    assert list(verify_chains(store.cases(), store.entries())) == []


def test_sixteen_retries_with_one_idempotency_key_fire_once(running: Running) -> None:
    with httpx.Client(base_url=running.base, headers={"X-API-Key": running.key}, timeout=60) as http:
        code = http.post("/dossiers", json={"procedure": "1.004873", "channel": "direct",
                                            "applicant": {"name": "Trần Văn An"}}).json()["code"]
    start = threading.Barrier(CLIENTS)

    def retry(_: int) -> httpx.Response:
        with httpx.Client(base_url=running.base, headers={"X-API-Key": running.key}, timeout=60) as http:
            http.get("/healthz")
            start.wait()
            return http.post(f"/dossiers/{code}/events", headers={"If-Match": '"2"', "Idempotency-Key": "assign-1"},
                             json={"trigger": "assign", "data": {"assignee": "Phạm Văn Hùng"}})

    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = list(pool.map(retry, range(CLIENTS)))

    assert {answer.status_code for answer in answers} <= {200, 409}, [answer.text for answer in answers]
    ok = [answer for answer in answers if answer.status_code == 200]
    assert ok and all(answer.json() == ok[0].json() for answer in ok)
    busy = [answer.json()["code"] for answer in answers if answer.status_code == 409]
    assert set(busy) <= {"idempotency-request-in-flight"}
    assert [entry.trigger for entry in running.motcua.store.history(code)] == ["open", "receive", "assign"]
