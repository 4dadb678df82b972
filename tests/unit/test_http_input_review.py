"""Four findings of an adversarial review of the HTTP API's input, each refused at the edge naming what was wrong,
with nothing written:

- a request body is strict JSON: ``"receive": "yes"`` (or ``"true"``, ``1``, ``"on"``) was read as ``true``;
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import pytest
from fastapi.testclient import TestClient

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.adapters.keys import MemoryHttpStore, new_key
from motcua.entrypoints.http.app import create_app
from motcua.workflow.engine.clock import ManualClock

RECEPTION: Final = {"procedure": "1.004873", "channel": "direct", "applicant": {"name": "Trần Văn An"}}
FEEDBACK: Final = {"sender_name": "Nguyễn Văn Bình", "content": "Hồ sơ chậm"}


@dataclass
class Api:
    client: TestClient
    key: str
    motcua: Motcua

    def headers(self, **extra: str) -> dict[str, str]:
        return {"X-API-Key": self.key, **extra}

    def written(self) -> tuple[int, int]:
        """(cases, audit entries) in the store."""
        return sum(1 for _ in self.motcua.store.cases()), sum(1 for _ in self.motcua.store.entries())

    def post(self, path: str, body: object, **headers: str) -> Any:
        return self.client.post(path, json=body, headers=self.headers(**headers))


@pytest.fixture
def api(clock: ManualClock) -> Iterator[Api]:
    motcua = open_motcua("memory://", clock=clock, observers=[])
    store = MemoryHttpStore()
    created = new_key("Nguyễn Thị Lan", ["officer", "specialist", "leader"], clock.now())
    store.add_key(created.stored)
    with TestClient(create_app(motcua, store, clock=clock)) as client:
        yield Api(client, created.secret_text, motcua)
    motcua.close()


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
