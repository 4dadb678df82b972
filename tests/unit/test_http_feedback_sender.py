"""POST /feedback: an applicant's key files, reads, lists and rates its own feedback; a retried request with the
same Idempotency-Key opens one case, also after a first run that died before its answer was stored."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.adapters.keys import IN_FLIGHT_LEASE, MemoryHttpStore, new_key
from motcua.entrypoints.http.app import create_app
from motcua.entrypoints.http.idempotency import fingerprint
from motcua.entrypoints.http.schemas import FeedbackRequest
from motcua.workflow.access.cases import ScopedCases
from motcua.workflow.access.scope import EVERYTHING
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.engine.model import Actor
from motcua.workflow.feedback.intake import Feedback

OWN_ID = "001203004567"
BODY = {"sender_name": "Trần Văn An", "content": "Niêm yết thủ tục thiếu", "channel": "online"}


@dataclass
class Api:
    client: TestClient
    keys: dict[str, str]
    ids: dict[str, str]
    motcua: Motcua
    store: MemoryHttpStore

    def headers(self, key: str = "officer", **extra: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[key], **extra}

    def event(self, code: str, trigger: str, data: dict[str, object], key: str = "officer") -> int:
        version = self.client.get(f"/feedback/{code}", headers=self.headers(key)).json()["version"]
        return self.client.post(f"/feedback/{code}/events", json={"trigger": trigger, "data": data},
                                headers=self.headers(key, **{"If-Match": f'"{version}"'})).status_code


@pytest.fixture
def api(clock: ManualClock) -> Iterator[Api]:
    motcua = open_motcua("memory://", clock=clock, observers=[])
    store = MemoryHttpStore()
    keys, ids = {}, {}
    for name, roles, applicant in (("officer", ["officer"], None), ("specialist", ["specialist"], None),
                                   ("citizen", ["applicant"], OWN_ID), ("neighbour", ["applicant"], "001203009999")):
        created = new_key(f"Người dùng {name}", roles, clock.now(), applicant=applicant)
        store.add_key(created.stored)
        keys[name], ids[name] = created.secret_text, created.stored.key_id
    with TestClient(create_app(motcua, store, clock=clock)) as client:
        yield Api(client, keys, ids, motcua, store)
    motcua.close()


def test_an_applicant_key_files_reads_lists_and_rates_its_own_feedback(api: Api) -> None:
    filed = api.client.post("/feedback", json=BODY, headers=api.headers("citizen"))
    assert filed.status_code == 201, filed.text
    code = filed.json()["code"]
    assert api.client.get(f"/feedback/{code}", headers=api.headers("citizen")).status_code == 200
    assert [item["code"] for item in api.client.get("/feedback", headers=api.headers("citizen")).json()["items"]] == [
        code]
    assert api.client.get(f"/feedback/{code}", headers=api.headers("neighbour")).status_code == 404
    assert api.client.get("/feedback", headers=api.headers("neighbour")).json()["items"] == []
    assert api.event(code, "assign", {"category": "khac", "assignee": "Phạm Văn Hùng"}) == 200
    assert api.event(code, "answer", {"answer": "Đã bổ sung"}, key="specialist") == 200
    assert api.event(code, "rate", {"satisfied": True}, key="officer") == 403  # the unit never rates itself
    assert api.event(code, "rate", {"satisfied": True}, key="citizen") == 200


def test_an_applicant_key_cannot_file_under_anothers_identity(api: Api) -> None:
    refused = api.client.post("/feedback", json={**BODY, "applicant_id": "001203009999"},
                              headers=api.headers("citizen"))
    assert refused.status_code == 403 and refused.json()["type"].endswith("outside-scope"), refused.text
    assert list(api.motcua.store.cases()) == []


def test_a_retried_post_with_the_same_key_opens_one_case(api: Api) -> None:
    headers = api.headers(**{"Idempotency-Key": "pakn-1"})
    first = api.client.post("/feedback", json=BODY, headers=headers)
    again = api.client.post("/feedback", json=BODY, headers=headers)
    assert first.status_code == again.status_code == 201 and again.json()["code"] == first.json()["code"]
    assert len(list(api.motcua.store.cases())) == 1


def test_a_retry_after_a_crash_returns_the_case_the_first_run_opened(api: Api, clock: ManualClock) -> None:
    as_sent = FeedbackRequest.model_validate(BODY).model_dump(mode="json")
    officer, key_id = Actor.of("Người dùng officer", "officer"), api.ids["officer"]
    feedback = Feedback(BODY["sender_name"], BODY["content"], "online")
    # the first run: claimed the key, reserved its code, opened the case, then died before storing its answer
    assert api.store.claim(key_id, "crash-1", fingerprint("POST", "/feedback", as_sent, None), clock.now()).fresh
    cases = ScopedCases(api.motcua.service, api.motcua.store, api.motcua.desk, EVERYTHING)
    reserved = cases.feedback_code(feedback, officer)
    api.store.reserve(key_id, "crash-1", clock.now(), reserved)
    cases.receive_feedback(feedback, officer, code=reserved)
    clock.advance(IN_FLIGHT_LEASE)

    retried = api.client.post("/feedback", json=BODY, headers=api.headers(**{"Idempotency-Key": "crash-1"}))

    assert retried.status_code == 201, retried.text
    assert retried.json()["code"] == reserved and len(list(api.motcua.store.cases())) == 1
    assert [entry.trigger for entry in api.motcua.service.history(reserved)] == ["open"]
