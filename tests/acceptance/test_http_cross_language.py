"""A host in another language runs a dossier from reception to return over HTTP, knowing only the OpenAPI document.

The server is the real thing: ``motcua serve`` under uvicorn on a free port, in its own process, on a
SQLite file, with a key from ``motcua apikey create``. The client imports nothing of motcua: it speaks
plain HTTP with :mod:`urllib`, finds every path and body field in ``/openapi.json``, and knows only what
a host's developer reads in docs/reference/http-api.md — the names of the workflow's triggers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.servers import free_port

MOTCUA = [sys.executable, "-c", "from motcua.entrypoints.cli.main import main; main()"]
STEPS = [  # (trigger, data) from reception to return: the host's only domain knowledge
    ("assign", {"assignee": "Phạm Văn Hùng"}),
    ("submit_for_approval", {"approver": "Lê Minh Tuấn"}),
    ("approve", {"decision_number": "15/QĐ-UBND"}),
    ("mark_result_ready", {}),
    ("return_result", {"receiver": "Trần Văn An"}),
]


@dataclass
class Server:
    base: str
    key: str


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    db, port = f"sqlite:///{tmp_path / 'host.db'}", free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    created = subprocess.run([*MOTCUA, "apikey", "create", "--actor", "Phần mềm một cửa", "--role", "officer",
                              "--role", "specialist", "--role", "leader", "--all-units", "--db", db],
                             capture_output=True, text=True, check=True, env=env, timeout=60)
    key = created.stdout.strip()
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen([*MOTCUA, "serve", "--port", str(port), "--db", db], stdout=log,
                               stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
        yield Server(base, key)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited at start"
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise AssertionError("the server did not answer /healthz within 60 s")


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


def _call(server: Server, method: str, path: str, body: object = None, **headers: str) -> Answer:
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(server.base + path, data=data, method=method, headers={
        "X-API-Key": server.key, "Accept": "application/json", **headers,
        **({"Content-Type": "application/json"} if data is not None else {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return Answer(answer.status, {k.lower(): v for k, v in answer.headers.items()}, json.loads(answer.read()))
    except urllib.error.HTTPError as error:
        return Answer(error.code, {k.lower(): v for k, v in error.headers.items()}, json.loads(error.read()))


class Document:
    """What the host reads in /openapi.json: which path takes which body, and each body's fields."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def schema(self, name: str) -> dict[str, Any]:
        schema: dict[str, Any] = self.document["components"]["schemas"][name]
        return schema

    def path_taking(self, body_schema: str) -> str:
        """The one POST path whose request body is ``body_schema``."""
        ref = f"#/components/schemas/{body_schema}"
        paths: list[str] = [path for path, methods in self.document["paths"].items()
                  if methods.get("post", {}).get("requestBody", {}).get("content", {})
                  .get("application/json", {}).get("schema", {}).get("$ref") == ref]
        [path] = paths
        return path

    def get_path_answering(self, schema: str, *, templated: bool) -> str:
        """The GET path answering with ``schema`` (or an array of it), templated or not."""
        ref = f"#/components/schemas/{schema}"
        found: list[str] = []
        for path, methods in self.document["paths"].items():
            answer = methods.get("get", {}).get("responses", {}).get("200", {})
            shown = answer.get("content", {}).get("application/json", {}).get("schema", {})
            if ref in (shown.get("$ref"), shown.get("items", {}).get("$ref")) and ("{" in path) == templated:
                found.append(path)
        [path] = found
        return path

    def fill(self, template: str, **values: str) -> str:
        for name, value in values.items():
            template = template.replace("{" + name + "}", value)
        return template


def test_a_dossier_runs_from_reception_to_return_over_plain_http(server: Server) -> None:
    document = Document(_call(server, "GET", "/openapi.json").body)
    receive_path, events_path = document.path_taking("ReceiveRequest"), document.path_taking("EventRequest")
    dossier_path = document.get_path_answering("Dossier", templated=True)
    history_path = document.get_path_answering("HistoryEntry", templated=True)
    [code_parameter] = [name for name in document.schema("Dossier")["required"] if name == "code"]
    receive_fields = set(document.schema("ReceiveRequest")["properties"])
    event_fields = set(document.schema("EventRequest")["properties"])
    assert {"procedure", "channel", "applicant"} <= receive_fields and {"trigger", "data"} <= event_fields

    procedures = _call(server, "GET", document.get_path_answering("ProcedureOut", templated=False))
    procedure = next(item["code"] for item in procedures.body if "xác nhận tình trạng hôn nhân" in item["name"])
    reception = {"procedure": procedure, "channel": "direct", "applicant": {"name": "Trần Văn An"}}
    received = _call(server, "POST", receive_path, reception, **{"Idempotency-Key": "r-1"})
    assert received.status == 201, received.body
    code, etag = received.body[code_parameter], received.headers["etag"]
    path = document.fill(events_path, code=code)
    for trigger, data in STEPS:
        stale = _call(server, "POST", path, {"trigger": trigger, "data": data}, **{"If-Match": '"1"'})
        assert stale.status == 412 and stale.body["code"] == "version-mismatch"
        fired = _call(server, "POST", path, {"trigger": trigger, "data": data}, **{"If-Match": etag})
        assert fired.status == 200, fired.body
        etag = fired.headers["etag"]

    final = _call(server, "GET", document.fill(dossier_path, code=code))
    assert final.body["state"]["lifecycle"] == "returned" and final.body["status_code"] == 10
    assert final.headers["etag"] == etag
    history = _call(server, "GET", document.fill(history_path, code=code)).body
    assert [entry["trigger"] for entry in history] == ["open", "receive", *(trigger for trigger, _ in STEPS)]
    assert {entry["actor"] for entry in history} == {"Phần mềm một cửa"}
