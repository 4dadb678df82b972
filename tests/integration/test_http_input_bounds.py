"""Every input of the HTTP API bounded at the edge, on the memory store, SQLite and PostgreSQL.

The attacks of issue 14, as a careless client or an attacker sends them: a NUL byte in every path and query
parameter of every route (PostgreSQL answered 500 with a traceback: its text cannot hold NUL), control characters
and lone surrogates in every text of a body, a trigger's data nested deeper than any form, a 10 MB body (read and
parsed in full, then quoted back: ~58 MB for one request). Now each is refused at the edge: 422 naming the
parameter, or 413 before the body is read; no answer to a huge input is larger than a short problem document, and
nothing is written.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from motcua.adapters.bootstrap import DEFAULT_HTTP_MAX_BODY, Motcua, http_max_body, open_motcua
from motcua.adapters.keys import new_key
from motcua.entrypoints.http.app import create_app
from motcua.entrypoints.http.serve import built_app
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.engine.model import Actor
from motcua.workflow.errors import InvalidInput
from tests.conftest import START

PROCEDURE: Final = "1.004873"
OFFICER: Final = Actor.of("Nguyễn Thị Lan", "officer")
SMALL: Final = 2048  # bytes: the most an error answer may weigh, whatever the request held
MEGABYTES_10: Final = 10 * 1024 * 1024
NUL_VALUES: Final = {"inside": "a\x00b", "alone": "\x00", "after-a-code": "000.00.00.H23-240304-0001\x00"}


@dataclass
class Api:
    client: TestClient
    app: FastAPI
    motcua: Motcua
    key: str
    code: str
    initial: tuple[int, int] = (1, 2)  # one dossier, opened and received

    def headers(self, **extra: str) -> dict[str, str]:
        return {"X-API-Key": self.key, **extra}

    def written(self) -> tuple[int, int]:
        """(cases, audit entries) in the store."""
        return sum(1 for _ in self.motcua.store.cases()), sum(1 for _ in self.motcua.store.entries())


@pytest.fixture
def api(url: str) -> Iterator[Api]:
    clock = ManualClock(START)
    motcua = open_motcua(url, clock=clock, observers=[])
    code = motcua.desk.receive(PROCEDURE, "direct", Applicant("Trần Văn An"), OFFICER).code
    keys = motcua.backend.keys
    created = new_key("Nguyễn Thị Lan", ["officer", "specialist", "leader"], clock.now())
    keys.add_key(created.stored)
    app = create_app(motcua, keys, clock=clock)
    with TestClient(app) as client:
        yield Api(client, app, motcua, created.secret_text, code)
    motcua.close()


def _problem(answer: Any, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert len(answer.content) < SMALL, len(answer.content)
    body: dict[str, Any] = answer.json()
    assert body["code"] == code, body
    return body


# -- every path and query parameter of every route --------------------------------------------------------------


def _parameters(app: FastAPI) -> list[tuple[str, str, str, str]]:
    """(method, path, location, name) of every path and query parameter the document declares."""
    return [(method.upper(), path, parameter["in"], parameter["name"])
            for path, methods in app.openapi()["paths"].items() for method, operation in methods.items()
            for parameter in operation.get("parameters", []) if parameter["in"] in ("path", "query")]


def _request(api: Api, method: str, path: str, location: str, name: str, *, value: str) -> Any:
    """The route called well in every other respect, with ``value`` as its parameter ``name``."""
    path_value = quote(value, safe="") if location == "path" else api.code
    target = path.replace("{code}", path_value)
    query = {name: value} if location == "query" else {}
    if path.startswith("/reports") and name not in ("from", "to", "period"):
        query["period"] = "2024-03"
    if method == "POST" and path.endswith("/events"):
        return api.client.post(target, params=query, json={"trigger": "assign", "data": {"assignee": "Phạm Văn Hùng"}},
                               headers=api.headers(**{"If-Match": '"2"'}))
    return api.client.request(method, target, params=query, headers=api.headers())


def test_every_route_declares_the_parameters_this_test_covers(api: Api) -> None:
    declared = {(method, path, name) for method, path, _, name in _parameters(api.app)}
    assert declared == {
        ("GET", "/dossiers/{code}", "code"), ("POST", "/dossiers/{code}/events", "code"),
        ("GET", "/dossiers/{code}/history", "code"),
        *{("GET", "/dossiers", name) for name in ("state", "deadline", "procedure", "officer", "unit", "cursor",
                                                  "limit")},
        *{(("GET", route, name)) for route in ("/reports/bieu06", "/reports/par766")
          for name in ("from", "to", "period", "cutoff_day", "unit")},
        ("GET", "/feedback/{code}", "code"), ("POST", "/feedback/{code}/events", "code"),
        *{("GET", "/feedback", name) for name in ("state", "deadline", "unit", "cursor", "limit")},
    }


@pytest.mark.parametrize("nul", NUL_VALUES)
def test_a_nul_byte_in_any_path_or_query_parameter_of_any_route_is_422_naming_it(api: Api, nul: str) -> None:
    before = api.written()
    for method, path, location, name in _parameters(api.app):
        answer = _request(api, method, path, location, name, value=NUL_VALUES[nul])
        body = _problem(answer, 422, "invalid-request")
        assert set(body["problems"]) == {f"{location}.{name}"}, (method, path, body)
        assert "\x00" not in answer.text and "\\u0000" not in answer.text
    assert api.written() == before


def test_a_control_character_or_a_huge_value_in_a_text_parameter_is_422_naming_it(api: Api) -> None:
    texts = [(method, path, location, name) for method, path, location, name in _parameters(api.app)
             if name not in ("limit", "cutoff_day")]
    for hostile in ("\x1b[31m", "a\rb", "a\nb", "\x7f", "\u0085", "x" * 10_000):
        for method, path, location, name in texts:
            body = _problem(_request(api, method, path, location, name, value=hostile), 422, "invalid-request")
            assert set(body["problems"]) == {f"{location}.{name}"}, (method, path, hostile[:10], body)


def test_a_well_formed_parameter_at_its_bound_is_still_read(api: Api) -> None:
    longest = "L" * 100
    assert _problem(api.client.get(f"/dossiers/{longest}", headers=api.headers()), 404, "case-not-found")
    listing = api.client.get("/dossiers", params={"officer": "Đ" * 500, "cursor": longest}, headers=api.headers())
    assert listing.status_code == 200 and listing.json()["items"] == []


@pytest.mark.parametrize("query", [
    {"from": "2000-01-01", "to": "9999-12-31"},  # the stores' "not ended yet" day: open dossiers would count resolved
    {"from": "1989-12-31", "to": "2024-03-31"}, {"from": "20240301", "to": "2024-03-31"},
    {"from": "2024-W09-5", "to": "2024-03-31"}, {"period": "٢٠٢٤"}, {"period": "2199"},
])
def test_a_report_of_days_out_of_range_or_written_otherwise_is_422_naming_them(
    api: Api, query: dict[str, str]
) -> None:
    for route in ("/reports/bieu06", "/reports/par766"):
        body = _problem(api.client.get(route, params=query, headers=api.headers()), 422, "invalid-input")
        assert len(body["problems"]) == 1 and set(body["problems"]) <= {"from", "to", "period"}, body
    within = api.client.get("/reports/bieu06", params={"from": "1990-01-01", "to": "2199-12-31"}, headers=api.headers())
    assert within.status_code == 200 and within.json()["total"]["pending"] == 1  # the open dossier: not resolved


# -- every text of a body ----------------------------------------------------------------------------------------

BODY_TEXTS: Final = {
    "procedure": ("procedure",), "name": ("applicant", "name"), "id_number": ("applicant", "id_number"),
    "phone": ("applicant", "phone"), "email": ("applicant", "email"), "address": ("applicant", "address"),
    "summary": ("summary",), "unit": ("unit",), "deciding_unit": ("deciding_unit",),
}


def _reception(place: tuple[str, ...], value: object) -> dict[str, Any]:
    body: dict[str, Any] = {"procedure": PROCEDURE, "channel": "direct", "applicant": {"name": "Lê Thị Bình"}}
    if len(place) == 1:
        body[place[0]] = value
    else:
        body[place[0]] = {**body[place[0]], place[1]: value}
    return body


@pytest.mark.parametrize("field", BODY_TEXTS)
def test_a_hostile_text_anywhere_in_a_reception_is_422_naming_it_and_draws_no_number(api: Api, field: str) -> None:
    for hostile in ("a\x00b", "\x1b[2J", "a\x0bb", "\ud800", "x" * 100_000, "Lan\u202egnp.exe", "Lan\u200b"):
        content = json.dumps(_reception(BODY_TEXTS[field], hostile))  # ASCII: a lone surrogate travels as \ud800
        answer = api.client.post("/dossiers", content=content,
                                 headers=api.headers(**{"Content-Type": "application/json"}))

        body = _problem(answer, 422, "invalid-request")
        assert set(body["problems"]) == {"body." + ".".join(BODY_TEXTS[field])}, body
        assert api.written() == api.initial
    assert api.client.post("/dossiers", json=_reception(("summary",), "Đăng ký"),
                           headers=api.headers()).json()["code"].endswith("-0002")  # no number was drawn


def test_tabs_and_line_breaks_are_free_text_in_a_summary_and_an_address(api: Api) -> None:
    body = _reception(("summary",), "Dòng một\r\nDòng hai\tcột")
    body["applicant"]["address"] = "Thôn Đông\nXã An Thượng"
    answer = api.client.post("/dossiers", json=body, headers=api.headers())
    assert answer.status_code == 201, answer.text
    assert answer.json()["attributes"]["summary"] == "Dòng một\r\nDòng hai\tcột"
    refused = api.client.post("/dossiers", json=_reception(("applicant", "name"), "Lê\nBình"), headers=api.headers())
    assert set(_problem(refused, 422, "invalid-request")["problems"]) == {"body.applicant.name"}


def _fire(api: Api, body: object) -> Any:
    content = body if isinstance(body, str) else json.dumps(body)
    return api.client.post(f"/dossiers/{api.code}/events", content=content,
                           headers=api.headers(**{"If-Match": '"2"', "Content-Type": "application/json"}))


@pytest.mark.parametrize(
    ("data", "named"),
    [
        pytest.param({"assignee": "a\x00b"}, "assignee", id="nul"),
        pytest.param({"assignee": "\x1b]0;owned\x07"}, "assignee", id="escape-sequence"),
        pytest.param({"assignee": "x" * 2_001}, "assignee", id="2001-characters"),
        pytest.param({"assignee": "Phạm", "ghi\x00chú": "x"}, "ghi\x00chú", id="nul-in-an-unknown-field"),
    ],
)
def test_a_hostile_text_in_a_triggers_data_is_refused_by_the_engine_naming_the_field(
    api: Api, data: dict[str, str], named: str
) -> None:
    before = api.written()
    body = _problem(_fire(api, {"trigger": "assign", "data": data}), 422, "malformed-data")
    assert named in body["problems"], body
    assert api.written() == before


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"assignee": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": "sâu"}}}}}}}}}, id="9-deep"),
        pytest.param({"assignee": "\ud800"}, id="lone-surrogate"),
        pytest.param({"\udfff": "Phạm"}, id="lone-surrogate-key"),
        pytest.param({f"k{n}": "x" * 100 for n in range(3_000)}, id="300k-characters"),
    ],
)
def test_a_triggers_data_too_deep_too_large_or_not_text_is_422_before_anything_reads_it(
    api: Api, data: dict[str, object]
) -> None:
    before = api.written()
    body = _problem(_fire(api, {"trigger": "assign", "data": data}), 422, "invalid-request")
    assert list(body["problems"]) == ["body.data"], body
    assert api.written() == before


def test_a_trigger_name_with_a_control_character_is_422_naming_it(api: Api) -> None:
    body = _problem(_fire(api, {"trigger": "assign\x00", "data": {}}), 422, "invalid-request")
    assert list(body["problems"]) == ["body.trigger"]


# -- the size of a request and of an answer ----------------------------------------------------------------------


def _asgi(app: FastAPI, headers: Mapping[str, str], chunks: Iterator[bytes], *, method: str = "POST",
          path: str = "/dossiers") -> tuple[int, dict[str, str], bytes, int]:
    """Call ``app`` as a server would: (status, headers, body, chunks of the request it pulled)."""
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        chunk = next(chunks, None)
        pulled += chunk is not None
        return {"type": "http.request", "body": chunk or b"", "more_body": chunk is not None}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(name.lower().encode(), value.encode("latin-1")) for name, value in headers.items()],
             "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}
    asyncio.run(app(scope, receive, send))
    start = next(message for message in sent if message["type"] == "http.response.start")
    body = b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body, pulled


def _ten_megabytes(chunk: int = 65_536) -> Iterator[bytes]:
    for _ in range(MEGABYTES_10 // chunk):
        yield b"[" * chunk


def test_a_10_mb_body_declared_is_413_without_a_byte_of_it_being_read(api: Api) -> None:
    headers = {"X-API-Key": api.key, "Content-Type": "application/json", "Content-Length": str(MEGABYTES_10)}
    status, answer_headers, body, pulled = _asgi(api.app, headers, _ten_megabytes())

    assert (status, pulled) == (413, 0)
    assert answer_headers["content-type"] == "application/problem+json" and answer_headers["connection"] == "close"
    assert len(body) < SMALL and json.loads(body)["code"] == "request-too-large"


def test_a_10_mb_body_streamed_without_a_length_is_413_as_soon_as_it_passes_the_limit(api: Api) -> None:
    headers = {"X-API-Key": api.key, "Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    status, _, body, pulled = _asgi(api.app, headers, _ten_megabytes())

    assert status == 413 and json.loads(body)["code"] == "request-too-large"
    assert pulled == DEFAULT_HTTP_MAX_BODY // 65_536 + 1  # the chunk that passed the limit, and not one more
    assert api.written() == api.initial


def test_a_10_mb_body_through_a_client_is_a_small_413_and_writes_nothing(api: Api) -> None:
    body = _reception(("summary",), "x" * MEGABYTES_10)
    answer = api.client.post("/dossiers", json=body, headers=api.headers())
    assert _problem(answer, 413, "request-too-large")["status"] == 413
    events = _fire(api, {"trigger": "assign", "data": {"assignee": "x" * MEGABYTES_10}})
    assert _problem(events, 413, "request-too-large")["detail"].endswith("the limit of this server")
    assert api.written() == api.initial


HUGE: Final = "Đ" * 150_000  # 900 kB as the client's JSON (\u0110): under the request limit, far over every text's
HUGE_IN_URL: Final = "Đ" * 1_500  # 9 kB percent-encoded: the client has its own limits on a URL


@pytest.mark.parametrize(
    ("call", "status"),
    [
        pytest.param(lambda api: api.client.get(f"/dossiers/{quote(HUGE_IN_URL)}", headers=api.headers()), 422,
                     id="path"),
        pytest.param(lambda api: api.client.get("/dossiers", params={"cursor": HUGE_IN_URL}, headers=api.headers()),
                     422, id="query"),
        pytest.param(lambda api: api.client.get("/reports/par766", params={"period": HUGE_IN_URL},
                                                headers=api.headers()), 422, id="period"),
        pytest.param(lambda api: api.client.post("/dossiers", json=_reception(("procedure",), HUGE),
                                                 headers=api.headers()), 422, id="procedure"),
        pytest.param(lambda api: api.client.post("/dossiers", json={**_reception(("summary",), "ok"), HUGE: 1},
                                                 headers=api.headers()), 422, id="unknown-body-field"),
        pytest.param(lambda api: _fire(api, {"trigger": HUGE, "data": {}}), 422, id="trigger"),
        pytest.param(lambda api: _fire(api, {"trigger": "assign", "data": {f"k{n}": n for n in range(20_000)}}), 422,
                     id="20000-unknown-fields"),
        pytest.param(lambda api: _fire(api, {"trigger": "assign", "data": {f"{n}" * 30: 1 for n in range(2_000)}}), 422,
                     id="2000-long-unknown-fields"),
        pytest.param(lambda api: _fire(api, "[" * 900_000), 400, id="nested-900000-deep"),
        pytest.param(lambda api: _fire(api, '{"trigger": "assign", "data": {"assignee": ' + "9" * 5_000 + "}}"), 400,
                     id="5000-digit-number"),
        pytest.param(lambda api: api.client.post(f"/dossiers/{api.code}/events", json={"trigger": "assign", "data": {}},
                                                 headers=api.headers(**{"If-Match": '"' + "9" * 8_000 + '"'})), 400,
                     id="if-match"),
    ],
)
def test_the_answer_to_a_huge_invalid_input_stays_small_and_quotes_none_of_it(
    api: Api, call: Any, status: int
) -> None:
    answer = call(api)
    assert answer.status_code == status, answer.text[:500]
    assert answer.headers["content-type"] == "application/problem+json"
    assert len(answer.content) < SMALL, len(answer.content)
    assert "Đ" * 50 not in answer.text
    assert api.written() == api.initial


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])
def test_every_route_and_method_answers_below_500_with_a_hostile_body(api: Api, method: str) -> None:
    for path in [*api.app.openapi()["paths"], "/nowhere%00", f"/dossiers/{api.code}/nowhere"]:
        target = path.replace("{code}", "a%00b")
        answer = api.client.request(method, target, content=b'{"\\u0000": [[[[[[[[[[[[1]]]]]]]]]]]]}',
                                    headers=api.headers(**{"Content-Type": "application/json", "If-Match": '"2"'}))
        assert answer.status_code < 500, (method, path, answer.text[:300])
        assert len(answer.content) < SMALL or answer.status_code == 200, (method, path)


@pytest.mark.parametrize("key", ["mc_1\x00_x", "mc_\x00_\x00", "mc_" + "1" * 10_000 + "_x", "mc_é_\xff"])
def test_an_api_key_no_client_could_have_been_given_is_401_never_looked_up(api: Api, key: str) -> None:
    status, _, body, _ = _asgi(api.app, {"X-API-Key": key}, iter(()), method="GET", path="/dossiers")
    assert status == 401 and json.loads(body)["code"] == "unauthenticated"


# -- the limit is the server's setting ---------------------------------------------------------------------------


def test_the_limit_is_read_from_motcua_http_max_body(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTCUA_HTTP_MAX_BODY", "1024")
    with built_app(f"sqlite:///{tmp_path / 'motcua.db'}", clock=ManualClock(START)) as (app, _, keys):
        created = new_key("Nguyễn Thị Lan", ["officer"], START)
        keys.add_key(created.stored)
        headers = {"X-API-Key": created.secret_text}
        with TestClient(app) as client:
            small = client.post("/dossiers", json=_reception(("summary",), "x" * 500), headers=headers)
            large = client.post("/dossiers", json=_reception(("summary",), "x" * 1_500), headers=headers)
        assert small.status_code == 201, small.text
        assert _problem(large, 413, "request-too-large")["detail"].startswith("the request body is larger than 1,024")


@pytest.mark.parametrize("setting", ["abc", "0", "-1", "1e6", "1.5", "9" * 30, " 12 kB"])
def test_a_bad_limit_setting_is_refused_naming_it(setting: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        http_max_body({"MOTCUA_HTTP_MAX_BODY": setting})
    assert refused.value.field == "MOTCUA_HTTP_MAX_BODY"


def test_the_default_limit_is_one_mebibyte() -> None:
    assert http_max_body({}) == DEFAULT_HTTP_MAX_BODY == 1_048_576
    assert http_max_body({"MOTCUA_HTTP_MAX_BODY": " 4096 "}) == 4096
