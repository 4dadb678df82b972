"""Citizens' feedback over HTTP: received, moved with If-Match, listed and read within the key's scope."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.adapters.keys import MemoryHttpStore, new_key
from motcua.entrypoints.http.app import create_app
from motcua.workflow.engine.clock import ManualClock

OTHER_UNIT = "LOCAL-HP-LE-CHAN"  # a unit of the register that is not the server's home unit


@dataclass
class Api:
    client: TestClient
    keys: dict[str, str]
    motcua: Motcua

    def headers(self, key: str = "officer", **extra: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[key], **extra}


@pytest.fixture
def api(clock: ManualClock) -> Iterator[Api]:
    motcua = open_motcua("memory://", clock=clock, observers=[])
    store = MemoryHttpStore()
    keys = {}
    for name, roles, units in (("officer", ["officer"], None), ("specialist", ["specialist"], None),
                               ("elsewhere", ["officer"], [OTHER_UNIT])):
        created = new_key(f"Cán bộ {name}", roles, clock.now(), units=units)
        store.add_key(created.stored)
        keys[name] = created.secret_text
    with TestClient(create_app(motcua, store, clock=clock)) as client:
        yield Api(client, keys, motcua)
    motcua.close()


def event(api: Api, code: str, trigger: str, data: dict[str, object], key: str = "officer") -> dict[str, object]:
    version = api.client.get(f"/feedback/{code}", headers=api.headers(key)).json()["version"]
    answer = api.client.post(f"/feedback/{code}/events", json={"trigger": trigger, "data": data},
                             headers=api.headers(key, **{"If-Match": f'"{version}"'}))
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def test_feedback_is_received_moved_and_listed(api: Api) -> None:
    dossier = api.client.post("/dossiers", headers=api.headers(), json={
        "procedure": "1.004873", "channel": "direct", "applicant": {"name": "Trần Văn An"}}).json()
    answer = api.client.post("/feedback", headers=api.headers(), json={
        "sender_name": "Nguyễn Văn Bình", "content": "Hồ sơ chậm", "channel": "online", "dossier": dossier["code"]})
    assert answer.status_code == 201, answer.text
    created = answer.json()
    code = created["code"]
    assert answer.headers["Location"] == f"/feedback/{code}" and answer.headers["ETag"] == '"1"'
    assert created["workflow"] == "pakn" and created["state"]["lifecycle"] == "received"
    assert created["attributes"]["dossier"] == dossier["code"]
    event(api, code, "assign", {"category": "thu_tuc_hanh_chinh", "assignee": "Phạm Văn Hùng"})
    done = event(api, code, "answer", {"answer": "Đã giải quyết"}, key="specialist")
    assert done["state"]["lifecycle"] == "answered"  # type: ignore[index]
    listed = api.client.get("/feedback", params={"state": "answered"}, headers=api.headers()).json()
    assert [item["code"] for item in listed["items"]] == [code]
    assert api.client.get(f"/feedback/{dossier['code']}", headers=api.headers()).status_code == 404
    stale = api.client.post(f"/feedback/{code}/events", headers=api.headers(**{"If-Match": '"1"'}),
                            json={"trigger": "publish", "data": {"where": "Cổng thông tin điện tử xã"}})
    assert stale.status_code == 412  # a stale If-Match, as for dossiers


def test_scope_and_links_are_checked(api: Api) -> None:
    body = {"sender_name": "Nguyễn Văn Bình", "content": "Hồ sơ chậm"}
    created = api.client.post("/feedback", headers=api.headers(), json=body).json()
    assert api.client.get(f"/feedback/{created['code']}", headers=api.headers("elsewhere")).status_code == 404
    assert api.client.get("/feedback", headers=api.headers("elsewhere")).json()["items"] == []
    home = api.motcua.desk.agency
    outside = api.client.post("/feedback", headers=api.headers("elsewhere"), json={**body, "unit": home})
    assert outside.status_code == 403 and outside.json()["code"] == "outside-scope"
    unknown = api.client.post("/feedback", headers=api.headers(), json={**body, "dossier": "NO-SUCH-0001"})
    assert unknown.status_code == 422
    assert api.client.get("/feedback", headers=api.headers()).json()["items"][0]["code"] == created["code"]
