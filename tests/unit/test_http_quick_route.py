"""The event routes' quick path (:mod:`motcua.entrypoints.http.quick`) changes no answer and is taken.

Two servers are built alike — the same memory store's contents, the same key, the same stopped clock — one as shipped,
one whose quick path steps aside (it does whenever the application overrides a dependency), so every request there is
answered by FastAPI's own handler. The same requests, plain and hostile, go to both: status, headers and body must be
byte for byte the same, and the dossiers move alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import fastapi.routing
import pytest
from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import motcua.entrypoints.http.quick
from motcua.adapters.bootstrap import open_motcua
from motcua.adapters.keys import KEY_CACHE_TTL, MemoryHttpStore, new_key
from motcua.entrypoints.http.app import create_app
from motcua.entrypoints.http.quick import quick_route
from motcua.entrypoints.http.schemas import EventRequest
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.engine.model import Actor
from tests.conftest import START

RECEIVE = {"procedure": "1.004873", "channel": "direct", "applicant": {"name": "Trần Văn An"}}
FEEDBACK = {"sender_name": "Nguyễn Văn Bình", "content": "Hồ sơ chậm", "channel": "online"}


def _no_override() -> None:
    """A dependency override that overrides nothing the API uses: it only makes the quick path step aside."""


OTHER_UNIT = "LOCAL-HP-LE-CHAN"  # a unit of the register that is not the server's home unit


@dataclass
class Pair:
    quick: TestClient
    resolved: TestClient
    key: str
    elsewhere: str  # a key of another unit's officer: the cases are outside its scope
    codes: dict[str, str]  # route prefix → a case code there

    def both(self, path: str, **request: Any) -> tuple[Any, Any]:
        return self.quick.post(path, **request), self.resolved.post(path, **request)


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    clock = ManualClock(START)
    created = new_key("Nguyễn Thị Lan", ["officer", "specialist", "leader"], clock.now())
    elsewhere = new_key("Trần Thị Mai", ["officer"], clock.now(), units=[OTHER_UNIT])
    clients = []
    for quick in (True, False):
        store = MemoryHttpStore()
        store.add_key(created.stored)
        store.add_key(elsewhere.stored)
        app = create_app(open_motcua("memory://", clock=clock, observers=[]), store, clock=clock)
        if not quick:
            app.dependency_overrides[_no_override] = _no_override
        clients.append(TestClient(app, raise_server_exceptions=False))
    quick_client, resolved_client = clients
    with quick_client, resolved_client:
        headers = {"X-API-Key": created.secret_text}
        codes = {}
        for prefix, path, body in (("dossiers", "/dossiers", RECEIVE), ("feedback", "/feedback", FEEDBACK)):
            answers = [client.post(path, json=body, headers=headers) for client in clients]
            assert [answer.status_code for answer in answers] == [201, 201], answers[0].text
            assert answers[0].json() == answers[1].json()
            codes[prefix] = answers[0].json()["code"]
        for client in clients:  # the other unit's key verified a moment ago too: its requests may take the quick path
            assert client.get(f"/dossiers/{codes['dossiers']}", headers={"X-API-Key": elsewhere.secret_text}
                              ).status_code == 404
        yield Pair(quick_client, resolved_client, created.secret_text, elsewhere.secret_text, codes)


def _same(quick: Any, resolved: Any) -> None:
    assert quick.status_code == resolved.status_code, (quick.text, resolved.text)
    assert quick.content == resolved.content
    assert sorted(quick.headers.multi_items()) == sorted(resolved.headers.multi_items())


_TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
_VALUE = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT,
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
                      max_leaves=8)
_ASSIGN = st.sampled_from([{"assignee": "Phạm Văn Hùng"}, {"assignee": "Phạm Văn Hùng", "category": "khac"}])
_MISTYPED = st.sampled_from([1, 0, True, 1.0, None, ["assign"], {"name": "assign"}, "true"])  # strict JSON: never
# coerced to the field's type, on either path
_EVENT = st.one_of(
    st.fixed_dictionaries({"trigger": st.just("assign"), "data": _ASSIGN}),  # a move, of a dossier or feedback
    st.fixed_dictionaries({"trigger": st.sampled_from(["assign", "extend", "publish", "", "no-such"]) | _TEXT
                                      | _MISTYPED},
                          optional={"data": _ASSIGN | st.just({}) | _VALUE | _MISTYPED, "extra": _VALUE}))


def _body(event: Any, form: str) -> bytes:
    if form == "json":
        return json.dumps(event, ensure_ascii=False).encode()
    return {"broken": b'{"trigger": "assign", ', "empty": b"", "array": b"[]",
            "latin1": "{\"trigger\": \"é\"}".encode("latin-1"), "nan": b'{"trigger": "assign", "data": {"x": NaN}}',
            "bom": b"\xef\xbb\xbf" + json.dumps(event).encode(),
            "surrogate": b'{"trigger": "assign", "data": {"assignee": "\\ud800"}}'}[form]


@st.composite
def _requests(draw: Callable[..., Any], pair: Pair) -> tuple[str, dict[str, Any]]:
    prefix = draw(st.sampled_from(sorted(pair.codes)))
    other = pair.codes["dossiers" if prefix == "feedback" else "feedback"]
    hostile = [other, "NO-SUCH-0001", "x" * 101, "a%00b", "a%0Ab", "Hồ sơ"]
    code = draw(st.sampled_from([pair.codes[prefix]] * 6 + hostile))
    headers: list[tuple[str, str]] = []
    key = draw(st.sampled_from(["live"] * 6 + ["elsewhere", "none", "wrong", "long"]))
    if key != "none":
        headers.append(("X-API-Key", {"live": pair.key, "elsewhere": pair.elsewhere, "wrong": "mc_nope_nope",
                                      "long": "k" * 300}[key]))
    content_type = draw(st.sampled_from(["application/json"] * 6 + ["application/json; charset=utf-8", "text/plain",
                                                                     "application/problem+json", None]))
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    version = draw(st.sampled_from(["current"] * 4 + ["stale", "garbage", None]))
    if version is not None:
        headers.append(("If-Match", {"current": "{version}", "stale": '"1"', "garbage": "W/x"}[version]))
    if draw(st.booleans()):
        headers.append(("Idempotency-Key", draw(st.sampled_from(["retry-1", "retry-2", "bad key\t"]))))
    if headers and draw(st.integers(0, 4)) == 0:  # a header sent twice, the second another value
        name, _ = draw(st.sampled_from(headers))
        headers.insert(draw(st.integers(0, len(headers))), (name, draw(st.sampled_from(
            [pair.key, "mc_nope_nope", "text/plain", "application/json", '"1"', "retry-3"]))))
    form = draw(st.sampled_from(["json"] * 8 + ["broken", "empty", "array", "latin1", "nan", "bom", "surrogate"]))
    query = draw(st.sampled_from([""] * 8 + ["?force=1", "?", "?trigger=assign&trigger=assign"]))  # none taken
    return f"/{prefix}/{code}/events{query}", {"content": _body(draw(_EVENT), form), "headers": headers}


def _current(pair: Pair, path: str) -> str:
    read = pair.quick.get(path.partition("?")[0].removesuffix("/events"), headers={"X-API-Key": pair.key})
    return read.headers.get("ETag", '"1"')


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_answer_is_the_one_fastapi_gives(pair: Pair, data: st.DataObject) -> None:
    path, request = data.draw(_requests(pair))
    request["headers"] = [(name, _current(pair, path) if value == "{version}" else value)
                          for name, value in request["headers"]]
    quick, resolved = pair.both(path, **request)
    event(f"{quick.status_code} {quick.json()['code'] if quick.status_code >= 400 else 'moved'}")  # what was met
    _same(quick, resolved)


def test_plain_moves_and_refusals_are_the_same_on_both(pair: Pair) -> None:
    """Valid transitions (with and without an Idempotency-Key, and its replay), each followed by a stale, an
    unauthenticated and a malformed request, on each route."""
    for n in range(12):
        for prefix in ("dossiers", "feedback"):
            path = f"/{prefix}/{pair.codes[prefix]}/events"
            data = {"assignee": f"Cán bộ {n}"} | ({"category": "thu_tuc_hanh_chinh"} if prefix == "feedback" else {})
            move = json.dumps({"trigger": "assign", "data": data}).encode()
            headers = {"X-API-Key": pair.key, "Content-Type": "application/json", "If-Match": _current(pair, path)}
            if n % 3 == 0:
                headers["Idempotency-Key"] = f"move-{prefix}-{n}"
            quick, resolved = pair.both(path, content=move, headers=headers)
            assert quick.status_code == 200, quick.text
            _same(quick, resolved)
            for changed in ({}, {"X-API-Key": "mc_nope_nope"}, {"If-Match": "nonsense"}):  # {}: stale, or replayed
                _same(*pair.both(path, content=move, headers={**headers, **changed}))
            _same(*pair.both(path, content=b"{", headers=headers))


@pytest.fixture
def resolved(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The path of every request FastAPI resolved the parameters of (its own handler ran), in order."""
    paths: list[str] = []
    solve = vars(fastapi.routing)["solve_dependencies"]

    async def counted(*args: Any, **kwargs: Any) -> Any:
        paths.append(kwargs["request"].url.path)
        return await solve(*args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counted)
    return paths


def test_a_plain_request_skips_fastapis_resolution_and_any_other_does_not(pair: Pair, resolved: list[str]) -> None:
    path = f"/dossiers/{pair.codes['dossiers']}/events"
    move = json.dumps({"trigger": "assign", "data": {"assignee": "Lê Văn Nam"}}).encode()

    def send(content_type: str) -> int:
        headers = {"X-API-Key": pair.key, "Content-Type": content_type, "If-Match": _current(pair, path)}
        answer = pair.quick.post(path, content=move, headers=headers)
        assert answer.status_code == 200, answer.text
        return len([seen for seen in resolved if seen == path])

    assert send("application/json") == 0  # the key was verified a moment ago (the fixture's requests)
    assert send("application/json; charset=utf-8") == 1  # not the plain form: FastAPI's handler
    assert pair.resolved.post(path, content=move, headers={"X-API-Key": pair.key, "Content-Type": "application/json"}
                              ).status_code == 428
    assert resolved.count(path) == 2  # the app that overrides a dependency always resolves


def _app(clock: ManualClock, store: MemoryHttpStore) -> tuple[TestClient, str]:
    """A server with a dossier moved to processing, and its code."""
    motcua = open_motcua("memory://", clock=clock, observers=[])
    app = create_app(motcua, store, clock=clock)
    officer = Actor.of("Nguyễn Thị Lan", "officer")
    case = motcua.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), officer)
    return TestClient(app, raise_server_exceptions=False), case.code


def test_a_key_revoked_while_its_body_is_sent_is_refused() -> None:
    """The key is looked up once the body is in, as FastAPI does: a request whose headers came while the key was
    remembered, and whose body came after its revocation was felt (KEY_CACHE_TTL later), is 401."""
    clock, store = ManualClock(START), MemoryHttpStore()
    created = new_key("Nguyễn Thị Lan", ["officer"], clock.now())
    store.add_key(created.stored)
    client, code = _app(clock, store)
    with client:
        read = client.get(f"/dossiers/{code}", headers={"X-API-Key": created.secret_text})  # remembered now
        assert read.status_code == 200

        def slow_body() -> Iterator[bytes]:
            store.revoke(created.stored.key_id, clock.now())
            clock.advance(KEY_CACHE_TTL + timedelta(seconds=1))
            yield json.dumps({"trigger": "assign", "data": {"assignee": "Phạm Văn Hùng"}}).encode()

        answer = client.post(f"/dossiers/{code}/events", content=slow_body(), headers={
            "X-API-Key": created.secret_text, "Content-Type": "application/json", "If-Match": read.headers["ETag"]})
        assert answer.status_code == 401, answer.text
        assert client.get(f"/dossiers/{code}", headers={"X-API-Key": "x"}).status_code == 401


def test_while_fastapi_traces_every_request_is_fastapis(
    pair: Pair, resolved: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """FastAPI records the request, its body and its values for OpenTelemetry while it resolves them: with a tracer
    on, the quick path steps aside."""
    monkeypatch.setattr(motcua.entrypoints.http.quick, "get_telemetry_data", object)
    path = f"/dossiers/{pair.codes['dossiers']}/events"
    headers = {"X-API-Key": pair.key, "Content-Type": "application/json", "If-Match": _current(pair, path)}
    answer = pair.quick.post(path, json={"trigger": "assign", "data": {"assignee": "Lê Văn Nam"}}, headers=headers)
    assert answer.status_code == 200, answer.text
    assert resolved.count(path) == 1


async def _plain(request: Request) -> dict[str, Any] | None:
    return None


async def _good(code: str, body: EventRequest, key: str, if_match: str | None = None,
                idempotency_key: str | None = None) -> Response:
    return Response()


def _sync(code: str, body: EventRequest, key: str, if_match: str | None = None,
          idempotency_key: str | None = None) -> Response:
    return Response()


async def _named_otherwise(code: str, body: EventRequest, api_key: str, if_match: str | None = None,
                           idempotency_key: str | None = None) -> Response:
    return Response()


async def _a_model(code: str, body: EventRequest, key: str, if_match: str | None = None,
                   idempotency_key: str | None = None) -> EventRequest:
    return body


@pytest.mark.parametrize(("endpoint", "refused"), [
    (_sync, "coroutine function"), (_named_otherwise, "takes"), (_a_model, "answers a Response")])
def test_a_function_the_quick_path_could_call_wrongly_is_refused_when_the_app_is_built(
    endpoint: Callable[..., Any], refused: str
) -> None:
    arguments = frozenset({"code", "body", "key", "if_match", "idempotency_key"})
    app = FastAPI()
    app.router.add_api_route("/ok/{code}", _good, methods=["POST"], route_class_override=quick_route(_plain, arguments))
    with pytest.raises(TypeError, match=refused):
        app.router.add_api_route("/x/{code}", endpoint, methods=["POST"],
                                 route_class_override=quick_route(_plain, arguments))
