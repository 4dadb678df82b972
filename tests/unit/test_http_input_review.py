"""Four findings of an adversarial review of the HTTP API's input, each refused at the edge naming what was wrong,
with nothing written:

- a request body is strict JSON: ``"receive": "yes"`` (or ``"true"``, ``1``, ``"on"``) was read as ``true``;
- a listing's ``state`` or ``deadline`` no loaded definition declares answered an empty page, as if nothing were in it;
- ``applicant.id_number`` of ``POST /dossiers`` (and ``applicant_id`` of ``POST /feedback``) took any line of 100
  characters, while an applicant's key is made only for an identity number of one shape: now both take that shape;
- a body that could not be read (not UTF-8, not JSON, cut off) was ``400 http-error`` "There was an error parsing
  the body", or ``422 invalid-request`` "JSON decode error": now ``400 unreadable-body`` saying what was wrong, quoting
  none of the body.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest
import yaml
from fastapi.testclient import TestClient

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.adapters.keys import MemoryHttpStore, new_key
from motcua.definitions.workflows import WORKFLOWS_DIR, load_workflows
from motcua.entrypoints.http.app import create_app
from motcua.workflow.engine.bounds import id_number_problem
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.errors import InvalidInput, UnknownDefinition

RECEPTION: Final = {"procedure": "1.004873", "channel": "direct", "applicant": {"name": "Trần Văn An"}}
FEEDBACK: Final = {"sender_name": "Nguyễn Văn Bình", "content": "Hồ sơ chậm"}


@dataclass
class Api:
    client: TestClient
    key: str
    motcua: Motcua
    store: MemoryHttpStore

    def headers(self, **extra: str) -> dict[str, str]:
        return {"X-API-Key": self.key, **extra}

    def written(self) -> tuple[int, int]:
        """(cases, audit entries) in the store."""
        return sum(1 for _ in self.motcua.store.cases()), sum(1 for _ in self.motcua.store.entries())

    def post(self, path: str, body: object, **headers: str) -> Any:
        return self.client.post(path, json=body, headers=self.headers(**headers))


@contextmanager
def officers_client(clock: ManualClock, **app: Any) -> Iterator[tuple[TestClient, str, Motcua, MemoryHttpStore]]:
    """The HTTP app on ``memory://`` with one key of an officer, a specialist and a leader: the client, the key, the
    engine and the key store (``app``: :func:`create_app`'s other arguments)."""
    motcua = open_motcua("memory://", clock=clock, observers=[])
    store = MemoryHttpStore()
    created = new_key("Nguyễn Thị Lan", ["officer", "specialist", "leader"], clock.now())
    store.add_key(created.stored)
    try:
        with TestClient(create_app(motcua, store, clock=clock, **app)) as client:
            yield client, created.secret_text, motcua, store
    finally:
        motcua.close()


@pytest.fixture
def api(clock: ManualClock) -> Iterator[Api]:
    with officers_client(clock) as (client, key, motcua, store):
        yield Api(client, key, motcua, store)


def _problem(answer: Any, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = answer.json()
    assert (body["code"], body["type"]) == (code, f"urn:motcua:problem:{code}"), body
    return body


# -- request bodies are strict JSON ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["yes", "true", "false", "on", "1", "", 1, 0, 1.0, None, [], {}])
def test_a_boolean_of_a_reception_is_a_json_boolean_or_422_naming_it(api: Api, value: object) -> None:
    before = api.written()
    body = _problem(api.post("/dossiers", {**RECEPTION, "receive": value}), 422, "invalid-request")
    assert body["problems"] == {"body.receive": "Input should be a valid boolean"}, body
    assert api.written() == before


@pytest.mark.parametrize("value", ["yes", "true", 1, "0"])
def test_a_boolean_of_feedback_is_a_json_boolean_or_422_naming_it(api: Api, value: object) -> None:
    before = api.written()
    body = _problem(api.post("/feedback", {**FEEDBACK, "private": value}), 422, "invalid-request")
    assert list(body["problems"]) == ["body.private"], body
    assert api.written() == before


@pytest.mark.parametrize(("place", "value"), [
    (("procedure",), 1004873), (("channel",), 1), (("channel",), ["direct"]), (("summary",), 3.5),
    (("applicant", "name"), 12), (("applicant", "kind"), True), (("applicant", "id_number"), 1203004567),
    (("applicant", "phone"), 912345678), (("unit",), 7), (("applicant",), "Trần Văn An"), (("applicant",), None),
])
def test_a_text_or_an_object_of_another_json_type_is_422_naming_it(
    api: Api, place: tuple[str, ...], value: object
) -> None:
    body: dict[str, Any] = {**RECEPTION, "applicant": dict(RECEPTION["applicant"])}  # type: ignore[arg-type]
    (body if len(place) == 1 else body["applicant"])[place[-1]] = value
    refused = _problem(api.post("/dossiers", body), 422, "invalid-request")
    assert list(refused["problems"]) == ["body." + ".".join(place)], refused
    assert api.written() == (0, 0)


@pytest.mark.parametrize("body", [
    {"trigger": 1, "data": {}}, {"trigger": True, "data": {}}, {"trigger": ["assign"], "data": {}},
    {"trigger": "assign", "data": [["assignee", "Phạm Văn Hùng"]]}, {"trigger": "assign", "data": "assignee"},
])
def test_an_events_trigger_is_a_string_and_its_data_an_object(api: Api, body: dict[str, object]) -> None:
    code = api.post("/dossiers", RECEPTION).json()["code"]
    before = api.written()
    refused = _problem(api.post(f"/dossiers/{code}/events", body, **{"If-Match": '"2"'}), 422, "invalid-request")
    assert list(refused["problems"]) == ["body." + ("trigger" if body["trigger"] != "assign" else "data")], refused
    assert api.written() == before


def test_the_json_types_are_still_read_every_literal_and_boolean_as_sent(api: Api) -> None:
    submitted = api.post("/dossiers", {**RECEPTION, "channel": "online", "receive": False, "summary": None,
                                       "applicant": {"name": "Lê Thị Bình", "kind": "business"}})
    assert submitted.status_code == 201, submitted.text
    assert submitted.json()["state"]["lifecycle"] == "submitted"
    assert submitted.json()["attributes"]["applicant_kind"] == "business"
    received = api.post("/dossiers", {**RECEPTION, "receive": True})
    assert received.status_code == 201 and received.json()["state"]["lifecycle"] == "received"
    moved = api.post(f"/dossiers/{received.json()['code']}/events",
                     {"trigger": "assign", "data": {"assignee": "Phạm Văn Hùng"}}, **{"If-Match": '"2"'})
    assert moved.status_code == 200, moved.text
    feedback = api.post("/feedback", {**FEEDBACK, "private": True, "channel": "phone"})
    assert feedback.status_code == 201 and feedback.json()["attributes"]["private"] is True


# -- a listing's state and deadline are states a definition declares ---------------------------------------------

DOSSIER_STATES: Final = ("submitted, received, refused, processing, awaiting_approval, approved, supplement_requested, "
                         "awaiting_payment, withdrawal_requested, withdrawn, stopped, result_ready, returned")
TAKEN: Final = {
    ("/dossiers", "state"): f"not a lifecycle state of tthc-dossier: one of {DOSSIER_STATES}",
    ("/dossiers", "deadline"): "not a deadline state of tthc-dossier: one of on_time, due_soon, overdue",
    ("/feedback", "state"): "not a lifecycle state of pakn: one of received, assigned, answered, declined",
    ("/feedback", "deadline"): "not a deadline state of pakn: one of on_time, due_soon, overdue",
}


@pytest.mark.parametrize(("path", "parameter"), list(TAKEN))
@pytest.mark.parametrize("value", ["nope", "Received", "OVERDUE", "received ", " on_time", "late", "", "0",
                                   "paper", "done", "processing,received"])
def test_a_listing_filter_no_definition_declares_is_422_naming_it_and_the_values_it_takes(
    api: Api, path: str, parameter: str, value: str
) -> None:
    api.post("/dossiers", RECEPTION)
    api.post("/feedback", FEEDBACK)
    answer = api.client.get(path, params={parameter: value}, headers=api.headers())
    body = _problem(answer, 422, "invalid-request")
    said = TAKEN[(path, parameter)] if value else "empty: give a value or leave the parameter out"  # every query's rule
    assert body["problems"] == {f"query.{parameter}": said}, body
    assert body["detail"] == f"query.{parameter}: {said}"


def test_a_state_of_the_other_workflow_is_not_one_of_this_listing(api: Api) -> None:
    for path, state in (("/dossiers", "assigned"), ("/feedback", "processing")):
        answer = api.client.get(path, params={"state": state}, headers=api.headers())
        assert list(_problem(answer, 422, "invalid-request")["problems"]) == ["query.state"]


def test_every_declared_state_and_deadline_is_still_a_filter(api: Api) -> None:
    dossier = api.post("/dossiers", RECEPTION).json()["code"]
    feedback = api.post("/feedback", FEEDBACK).json()["code"]
    for path, code in (("/dossiers", dossier), ("/feedback", feedback)):
        for parameter in ("state", "deadline"):
            for value in TAKEN[(path, parameter)].split(": one of ")[1].split(", "):
                answer = api.client.get(path, params={parameter: value}, headers=api.headers())
                assert answer.status_code == 200, answer.text
                found = [item["code"] for item in answer.json()["items"]]
                assert found == ([code] if value in ("received", "on_time") else []), (path, parameter, value)


def test_the_document_lists_the_values_each_filter_takes(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    for (path, parameter), message in TAKEN.items():
        declared = next(item for item in document["paths"][path]["get"]["parameters"] if item["name"] == parameter)
        assert declared["schema"]["enum"] == message.split(": one of ")[1].split(", "), (path, parameter)


def test_the_states_a_filter_takes_are_those_of_every_loaded_version(api: Api, tmp_path: Path) -> None:
    """A state only one version declares is a state a case may be in: a v2 that adds a state of its records adds it
    to what a filter takes, and v1's stay."""
    for path in WORKFLOWS_DIR.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    document = yaml.safe_load((WORKFLOWS_DIR / "tthc-dossier.v1.yaml").read_text(encoding="utf-8"))
    document["version"] = 2
    document["regions"]["records"]["states"]["microfilmed"] = {"label": "Đã vi phim"}
    document["triggers"]["microfilm"] = {"label": "Vi phim", "roles": ["officer"], "transitions": [
        {"region": "records", "source": "digitized", "dest": "microfilmed"}]}
    (tmp_path / "tthc-dossier.v2.yaml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    workflows = load_workflows({key: api.motcua.workflows.latest(key).registry
                                for key in ("tthc-dossier", "plan-task", "pakn")}, tmp_path)

    assert workflows.states("tthc-dossier", "records") == ("paper", "digitized", "result_digitized", "microfilmed")
    assert api.motcua.workflows.states("tthc-dossier", "records") == ("paper", "digitized", "result_digitized")
    assert workflows.states("tthc-dossier", "no-such-region") == ()
    with pytest.raises(UnknownDefinition):
        workflows.states("no-such-workflow", "lifecycle")


# -- an identity number has one shape, the one an applicant's key is made with -----------------------------------

MALFORMED_IDS: Final = [
    "", " 001203004567", "001203004567 ", "001 203 004 567", "001-203-004-567", "-001203004567", "001203004567-",
    "0" * 33, "０１２３４５６７８９０１", "٠١٢٣٤٥٦٧٨٩٠١", "Nguyễn", "001203004567\u200b", "<script>", "1;DROP",
    "x" * 101,
]
WELL_FORMED_IDS: Final = ["001203004567", "030201001234", "B1234567", "0100109106-001", "a", "0" * 32]


@pytest.mark.parametrize("value", MALFORMED_IDS)
def test_an_applicants_id_number_of_another_shape_is_422_naming_it_and_writes_nothing(api: Api, value: str) -> None:
    body = {**RECEPTION, "applicant": {"name": "Trần Văn An", "id_number": value}}
    refused = _problem(api.post("/dossiers", body), 422, "invalid-request")
    assert list(refused["problems"]) == ["body.applicant.id_number"], refused
    assert not value.strip() or value.strip() not in refused["detail"], refused  # the message quotes none of it
    feedback = _problem(api.post("/feedback", {**FEEDBACK, "applicant_id": value}), 422, "invalid-request")
    assert list(feedback["problems"]) == ["body.applicant_id"], feedback
    assert api.written() == (0, 0)
    assert api.post("/dossiers", RECEPTION).json()["code"].endswith("-0001")  # no number was drawn


@pytest.mark.parametrize("value", MALFORMED_IDS[:8])
def test_the_rule_is_the_one_an_applicants_key_is_made_with(clock: ManualClock, value: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        new_key("Cổng dịch vụ công", ["applicant"], clock.now(), applicant=value)
    assert refused.value.field == "--applicant-id"
    assert refused.value.message == id_number_problem(value)


@pytest.mark.parametrize("value", WELL_FORMED_IDS)
def test_an_id_number_of_the_shape_is_kept_as_sent_and_an_applicants_key_finds_its_dossier(
    api: Api, clock: ManualClock, value: str
) -> None:
    answer = api.post("/dossiers", {**RECEPTION, "applicant": {"name": "Trần Văn An", "id_number": value}})
    assert answer.status_code == 201, answer.text
    assert answer.json()["attributes"]["applicant_id"] == value
    applicant = new_key("Cổng dịch vụ công", ["applicant"], clock.now(), applicant=value)
    api.store.add_key(applicant.stored)
    listed = api.client.get("/dossiers", headers={"X-API-Key": applicant.secret_text})
    assert [item["code"] for item in listed.json()["items"]] == [answer.json()["code"]]
    feedback = api.post("/feedback", {**FEEDBACK, "applicant_id": value})
    assert feedback.status_code == 201 and feedback.json()["attributes"]["applicant_id"] == value


def test_an_id_number_left_out_or_null_is_none(api: Api) -> None:
    for applicant in ({"name": "Trần Văn An"}, {"name": "Trần Văn An", "id_number": None}):
        answer = api.post("/dossiers", {**RECEPTION, "applicant": applicant})
        assert answer.status_code == 201 and "applicant_id" not in answer.json()["attributes"]


# -- a body that is not JSON in UTF-8 ----------------------------------------------------------------------------

PERSONAL: Final = {"procedure": "1.004873", "channel": "direct",
                   "applicant": {"name": "Trần Văn An", "id_number": "001203004567", "phone": "0912345678"}}
TEXT: Final = json.dumps(PERSONAL, ensure_ascii=False)


def _routes(api: Api) -> list[tuple[str, dict[str, str]]]:
    code = api.post("/dossiers", RECEPTION).json()["code"]
    feedback = api.post("/feedback", FEEDBACK).json()["code"]
    return [("/dossiers", {}), ("/feedback", {}), (f"/dossiers/{code}/events", {"If-Match": '"2"'}),
            (f"/feedback/{feedback}/events", {"If-Match": '"1"'})]


def _unreadable(answer: Any) -> str:
    body = _problem(answer, 400, "unreadable-body")
    assert body["title"] == "Unreadable request body" and list(body["problems"]) == ["body"], body
    for personal in ("Trần", "Tr\\u1ea7n", "001203004567", "0912345678", "Văn"):
        assert personal not in answer.text, answer.text  # nothing of the body is quoted back
    detail: str = body["detail"]
    assert detail == f"the request body {body['problems']['body']}", body
    return detail


@pytest.mark.parametrize(("content", "said"), [
    pytest.param(TEXT[:-1], "is not valid JSON: Expecting ',' delimiter at position ", id="cut-short"),
    pytest.param(TEXT + "}", "is not valid JSON: Extra data at position ", id="extra-data"),
    pytest.param(TEXT.replace('"', "'"), "is not valid JSON: Expecting property name enclosed in double quotes at "
                 "position 2", id="single-quotes"),
    pytest.param("{" + TEXT[1:-1] + ",}", "is not valid JSON: Expecting property name enclosed in double quotes at ",
                 id="trailing-comma"),
    pytest.param("procedure=1.004873&applicant=Trần Văn An", "is not valid JSON: Expecting value at position 1",
                 id="a-form"),
    pytest.param(TEXT.replace("Trần", "Tr\\ud8"), "is not valid JSON: Invalid \\uXXXX escape at position ",
                 id="bad-escape"),
])
def test_a_body_that_is_not_json_is_400_unreadable_body_saying_where_and_quoting_none_of_it(
    api: Api, content: str, said: str
) -> None:
    for path, headers in _routes(api):
        before = api.written()
        answer = api.client.post(path, content=content.encode(),
                                 headers=api.headers(**{"Content-Type": "application/json", **headers}))
        assert _unreadable(answer).startswith(f"the request body {said}"), (path, answer.text)
        assert api.written() == before


@pytest.mark.parametrize("content", [
    pytest.param(TEXT.encode("cp1258", errors="replace"), id="windows-1258"),
    pytest.param(TEXT.encode("utf-8")[:-3] + b"\xff}", id="a-stray-byte"),
])
def test_a_body_that_is_not_utf8_is_400_unreadable_body(api: Api, content: bytes) -> None:
    for path, headers in _routes(api):
        before = api.written()
        answer = api.client.post(path, content=content,
                                 headers=api.headers(**{"Content-Type": "application/json", **headers}))
        assert _unreadable(answer).startswith("the request body is not UTF-8 text (byte "), (path, answer.text)
        assert api.written() == before


@pytest.mark.parametrize(("content", "said"), [
    pytest.param(b"[" * 200_000, "is nested deeper than a JSON document can be read", id="200000-deep"),
    pytest.param(b'{"procedure": ' + b"9" * 5_000 + b"}", "holds a number of more than 4,300 digits", id="5000-digits"),
])
def test_a_json_body_no_parser_could_read_is_400_unreadable_body(api: Api, content: bytes, said: str) -> None:
    answer = api.client.post("/dossiers", content=content, headers=api.headers(**{"Content-Type": "application/json"}))
    assert _unreadable(answer).startswith(f"the request body {said}")
    assert api.written() == (0, 0)


@pytest.mark.parametrize("events", [False, True])
def test_a_body_cut_off_by_a_disconnect_is_400_unreadable_body_and_writes_nothing(api: Api, events: bool) -> None:
    """A chunked body whose client goes away before its last chunk: the application is told so, never reads the
    half it got as a request (on an event route too, whose quick path steps aside for it)."""
    path = f"/dossiers/{api.post('/dossiers', RECEPTION).json()['code']}/events" if events else "/dossiers"
    before = api.written()
    sent: list[MutableMapping[str, Any]] = []
    chunks = iter([{"type": "http.request", "body": TEXT.encode()[:40], "more_body": True},
                   {"type": "http.disconnect"}])

    async def receive() -> dict[str, Any]:
        return next(chunks, {"type": "http.disconnect"})

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    headers = [(b"x-api-key", api.key.encode()), (b"content-type", b"application/json"),
               (b"transfer-encoding", b"chunked"), (b"if-match", b'"2"')]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}
    asyncio.run(api.client.app(scope, receive, send))  # type: ignore[arg-type]

    start = next(message for message in sent if message["type"] == "http.response.start")
    body = json.loads(b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body"))
    assert (start["status"], body["code"]) == (400, "unreadable-body"), body
    assert body["detail"] == "the request body ended before it was complete: the client disconnected while sending it"
    assert api.written() == before


@pytest.mark.parametrize("content", [b"[]", b'"Tr\\u1ea7n"', b"null", b"{}", b'{"procedure": NaN}'])
def test_json_that_parses_but_fails_the_model_is_still_422_invalid_request(api: Api, content: bytes) -> None:
    answer = api.client.post("/dossiers", content=content, headers=api.headers(**{"Content-Type": "application/json"}))
    assert _problem(answer, 422, "invalid-request")["problems"], answer.text
    assert api.written() == (0, 0)


# -- a trigger's data within its field's bounds ------------------------------------------------------------------


@pytest.mark.parametrize(("trigger", "data", "field"), [
    ("apologize", {"reason": "quá tải", "new_date": "9999-12-31"}, "new_date"),
    ("request_payment", {"amount": -5_000_000}, "amount"),
    ("digitize", {"components": -7}, "components"),
])
def test_data_out_of_its_fields_bounds_is_422_naming_the_field_and_writes_nothing(
    api: Api, trigger: str, data: dict[str, object], field: str
) -> None:
    """A re-dating to 9999 would use up the one a letter may make; a negative fee would be dropped by the portal."""
    code = api.post("/dossiers", RECEPTION).json()["code"]
    version = api.post(f"/dossiers/{code}/events", {"trigger": "assign", "data": {"assignee": "Phạm Văn Hùng"}},
                       **{"If-Match": '"2"'}).json()["version"]
    before = api.written()
    answer = api.post(f"/dossiers/{code}/events", {"trigger": trigger, "data": data}, **{"If-Match": f'"{version}"'})
    body = _problem(answer, 422, "malformed-data")
    assert field in json.dumps(body["problems"], ensure_ascii=False), body
    assert api.written() == before
