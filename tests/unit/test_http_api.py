"""The HTTP API in-process (memory store): happy paths and every refusal, as a host in another language sees them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.adapters.keys import IN_FLIGHT_LEASE, MemoryHttpStore, new_key
from motcua.entrypoints.http.app import create_app
from motcua.entrypoints.http.idempotency import fingerprint
from motcua.entrypoints.http.metrics import MetricsObserver
from motcua.entrypoints.http.schemas import ReceiveRequest
from motcua.entrypoints.http.serve import built_app
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.engine.decisions import Decision
from motcua.workflow.engine.model import Actor
from motcua.workflow.errors import StorageUnavailable

PROCEDURE = "1.004873"  # Xác nhận tình trạng hôn nhân
ROLES = ("officer", "specialist", "leader", "applicant")
CITIZEN = {"name": "Trần Văn An", "id_number": "001203004567"}  # the applicant the applicant key acts for


@dataclass
class Api:
    client: TestClient
    keys: dict[str, str]
    store: MemoryHttpStore
    motcua: Motcua
    registry: CollectorRegistry

    def headers(self, role: str = "officer", **extra: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[role], **extra}

    def receive(self, **extra: object) -> dict[str, object]:
        body = {"procedure": PROCEDURE, "channel": "direct", "applicant": {"name": "Trần Văn An"}, **extra}
        answer = self.client.post("/dossiers", json=body, headers=self.headers())
        assert answer.status_code == 201, answer.text
        dossier: dict[str, object] = answer.json()
        return dossier

    def fire(self, code: object, trigger: str, data: Mapping[str, object] | None = None, *, role: str = "officer",
             version: object = None, **headers: str) -> object:
        if version is None:
            version = self.client.get(f"/dossiers/{code}", headers=self.headers()).json()["version"]
        extra = {"If-Match": f'"{version}"', **headers}
        return self.client.post(f"/dossiers/{code}/events", json={"trigger": trigger, "data": dict(data or {})},
                                headers=self.headers(role, **extra))


@pytest.fixture
def api(clock: ManualClock) -> Iterator[Api]:
    registry = CollectorRegistry()
    motcua = open_motcua("memory://", clock=clock, observers=[MetricsObserver(registry)])
    store = MemoryHttpStore()
    keys = {}
    for role in ROLES:
        created = new_key(f"Cán bộ {role}", [role], clock.now(),
                          applicant=CITIZEN["id_number"] if role == "applicant" else None)
        store.add_key(created.stored)
        keys[role] = created.secret_text
    with TestClient(create_app(motcua, store, registry=registry, clock=clock)) as client:
        yield Api(client, keys, store, motcua, registry)
    motcua.close()


def _problem(answer: object, status: int, code: str) -> dict[str, object]:
    assert answer.status_code == status, answer.text  # type: ignore[attr-defined]
    assert answer.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    body: dict[str, object] = answer.json()  # type: ignore[attr-defined]
    assert body["code"] == code and body["status"] == status and body["type"] == f"urn:motcua:problem:{code}"
    return body


# -- happy paths -----------------------------------------------------------------------------------


def test_a_dossier_runs_from_reception_to_return(api: Api) -> None:
    dossier = api.receive(summary="Xin xác nhận tình trạng hôn nhân")
    code = dossier["code"]
    assert dossier["state"] == {"lifecycle": "received", "deadline": "on_time", "records": "paper"}
    assert dossier["state_labels"]["lifecycle"] == "Được tiếp nhận"  # type: ignore[index]
    assert dossier["status_code"] == 2 and dossier["appointment"]
    steps = [("assign", {"assignee": "Phạm Văn Hùng"}, "officer"),
             ("submit_for_approval", {"approver": "Lê Minh Tuấn"}, "specialist"),
             ("approve", {"decision_number": "12/QĐ-UBND"}, "leader"),
             ("mark_result_ready", {}, "officer"), ("return_result", {"receiver": "Trần Văn An"}, "officer")]
    for trigger, data, role in steps:
        answer = api.fire(code, trigger, data, role=role)
        assert answer.status_code == 200, answer.text  # type: ignore[attr-defined]
    final = api.client.get(f"/dossiers/{code}", headers=api.headers())
    assert final.json()["state"]["lifecycle"] == "returned" and final.json()["status_code"] == 10
    assert final.headers["etag"] == f'"{final.json()["version"]}"'
    history = api.client.get(f"/dossiers/{code}/history", headers=api.headers()).json()
    assert [entry["trigger"] for entry in history] == ["open", "receive", *(step[0] for step in steps)]
    assert [entry["actor"] for entry in history][-3] == "Cán bộ leader"


def test_receive_answers_201_with_location_and_etag(api: Api) -> None:
    answer = api.client.post("/dossiers", headers=api.headers(), json={
        "procedure": PROCEDURE, "channel": "online", "applicant": {"name": "Trần Văn An", "kind": "citizen"},
        "receive": False})
    assert answer.status_code == 201
    body = answer.json()
    assert body["state"]["lifecycle"] == "submitted" and body["version"] == 1
    assert answer.headers["location"] == f"/dossiers/{body['code']}" and answer.headers["etag"] == '"1"'


def test_listing_filters_and_pages_by_code(api: Api) -> None:
    codes = [api.receive()["code"] for _ in range(3)]
    api.fire(codes[1], "assign", {"assignee": "Phạm Văn Hùng"})
    first = api.client.get("/dossiers?limit=2", headers=api.headers()).json()
    assert [item["code"] for item in first["items"]] == codes[:2] and first["next_cursor"] == codes[1]
    rest = api.client.get(f"/dossiers?limit=2&cursor={first['next_cursor']}", headers=api.headers()).json()
    assert [item["code"] for item in rest["items"]] == codes[2:] and rest["next_cursor"] is None
    processing = api.client.get("/dossiers?state=processing&officer=Phạm Văn Hùng", headers=api.headers()).json()
    assert [item["code"] for item in processing["items"]] == [codes[1]]
    by_procedure = api.client.get(f"/dossiers?procedure={PROCEDURE}&deadline=on_time", headers=api.headers())
    assert len(by_procedure.json()["items"]) == 3


def test_a_key_acting_for_an_applicant_reads_and_lists_that_applicants_dossiers_alone(api: Api) -> None:
    own, other = api.receive(applicant=CITIZEN)["code"], api.receive()["code"]
    citizen = api.headers("applicant")
    assert api.client.get(f"/dossiers/{own}", headers=citizen).status_code == 200
    _problem(api.client.get(f"/dossiers/{other}", headers=citizen), 404, "case-not-found")
    listed = api.client.get("/dossiers", headers=citizen).json()
    assert [item["code"] for item in listed["items"]] == [own]


def test_procedures_and_reports(api: Api) -> None:
    api.receive()
    procedures = api.client.get("/procedures", headers=api.headers()).json()
    assert PROCEDURE in {procedure["code"] for procedure in procedures}
    bieu06 = api.client.get("/reports/bieu06?period=2024-03", headers=api.headers())
    assert bieu06.status_code == 200, bieu06.text
    assert bieu06.json()["from"] == "2024-03-01" and bieu06.json()["total"]["total"] == 1
    par766 = api.client.get("/reports/par766?from=2024-03-01&to=2024-03-31", headers=api.headers())
    assert par766.status_code == 200 and par766.json()["indicators"]
    _problem(api.client.get("/reports/bieu06?period=2024-13", headers=api.headers()), 422, "invalid-input")
    _problem(api.client.get("/reports/par766?from=2024-03-01", headers=api.headers()), 422, "invalid-input")


def test_health_and_metrics_need_no_key(api: Api) -> None:
    code = api.receive()["code"]
    api.fire(code, "approve", {}, role="leader")  # refused: counted
    health = api.client.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    metrics = api.client.get("/metrics").text
    assert 'motcua_transitions_total{trigger="receive",workflow="tthc-dossier"} 1.0' in metrics
    assert 'motcua_rejections_total{error="TransitionNotAllowed",trigger="approve"} 1.0' in metrics
    for gauge in ("motcua_timers_armed", "motcua_timers_lagging", "motcua_timers_parked", "motcua_outbox_parked",
                  "motcua_sync_failures"):
        assert f"\n{gauge} " in metrics


def test_a_caller_cannot_grow_the_rejection_series_with_triggers_of_its_own(api: Api) -> None:
    code = api.receive()["code"]
    for n in range(3):  # undeclared triggers on a real case, any trigger on an unknown code
        assert api.fire(code, f"probe-{n}").status_code == 422  # type: ignore[attr-defined]
        assert api.fire("000.00.00.H99-990101-0001", f"probe-{n}", version=1).status_code == 404  # type: ignore[attr-defined]
    metrics = api.client.get("/metrics").text
    assert "probe-" not in metrics
    assert 'motcua_rejections_total{error="UnknownTrigger",trigger="(unnamed)"} 3.0' in metrics
    assert 'motcua_rejections_total{error="CaseNotFound",trigger="(unnamed)"} 3.0' in metrics


# -- refusals ----------------------------------------------------------------------------------------


def test_no_key_or_a_wrong_or_revoked_key_is_401(api: Api, clock: ManualClock) -> None:
    _problem(api.client.get("/dossiers"), 401, "unauthenticated")
    _problem(api.client.get("/dossiers", headers={"X-API-Key": "mc_000000000000_nope"}), 401, "unauthenticated")
    forged = api.keys["officer"][:-2] + "xx"
    _problem(api.client.get("/procedures", headers={"X-API-Key": forged}), 401, "unauthenticated")
    key_id = api.keys["officer"].split("_")[1]
    assert api.store.revoke(key_id, clock.now())
    answer = api.client.get("/procedures", headers=api.headers())
    assert _problem(answer, 401, "unauthenticated") and "WWW-Authenticate" in answer.headers


def test_a_role_that_may_not_fire_is_403_and_nothing_changes(api: Api) -> None:
    code = api.receive(applicant=CITIZEN)["code"]  # the applicant's own: in its key's scope
    body = _problem(api.fire(code, "assign", {"assignee": "X"}, role="applicant"), 403, "role-not-allowed")
    assert body["allowed_roles"] == ["leader", "officer"]
    assert api.client.get(f"/dossiers/{code}", headers=api.headers()).json()["version"] == 2
    _problem(api.client.post("/dossiers", headers=api.headers("applicant"), json={
        "procedure": PROCEDURE, "channel": "direct", "applicant": CITIZEN}), 403, "role-not-allowed")
    assert api.client.get("/dossiers", headers=api.headers()).json()["items"] == [api.client.get(
        f"/dossiers/{code}", headers=api.headers()).json()]  # the refused reception opened nothing
    following = api.receive()["code"]  # and drew no dossier number: the register has no gap
    assert int(following.rsplit("-", 1)[1]) == int(code.rsplit("-", 1)[1]) + 1


def test_unknown_dossiers_are_404(api: Api) -> None:
    missing = "000.00.00.H23-240304-9999"
    _problem(api.client.get(f"/dossiers/{missing}", headers=api.headers()), 404, "case-not-found")
    _problem(api.client.get(f"/dossiers/{missing}/history", headers=api.headers()), 404, "case-not-found")
    _problem(api.fire(missing, "assign", {"assignee": "X"}, version=1), 404, "case-not-found")
    _problem(api.client.get("/nowhere", headers=api.headers()), 404, "not-found")


def test_if_match_is_required_well_formed_and_current(api: Api) -> None:
    code = api.receive()["code"]
    url, body = f"/dossiers/{code}/events", {"trigger": "assign", "data": {"assignee": "Phạm Văn Hùng"}}
    _problem(api.client.post(url, json=body, headers=api.headers()), 428, "if-match-required")
    _problem(api.client.post(url, json=body, headers=api.headers(**{"If-Match": "2"})), 400, "invalid-if-match")
    stale = _problem(api.fire(code, "assign", {"assignee": "X"}, version=1), 412, "version-mismatch")
    assert "changed since version 1" in str(stale["detail"]) and stale["current_version"] == 2
    won = api.fire(code, "assign", {"assignee": "Phạm Văn Hùng"}, version=2)
    assert won.status_code == 200 and won.headers["etag"] == '"3"'  # type: ignore[attr-defined]
    late = _problem(api.fire(code, "assign", {"assignee": "Y"}, version=2), 412, "version-mismatch")
    assert late["current_version"] == 3
    assert len(api.client.get(f"/dossiers/{code}/history", headers=api.headers()).json()) == 3


def test_bad_triggers_data_and_bodies_are_422_or_409(api: Api) -> None:
    code = api.receive()["code"]
    _problem(api.fire(code, "fly", {}), 422, "unknown-trigger")
    malformed = _problem(api.fire(code, "assign", {"assignee": 7, "extra": 1}), 422, "malformed-data")
    assert "extra" in str(malformed["problems"])
    state = _problem(api.fire(code, "approve", {}, role="leader"), 409, "transition-not-allowed")
    assert state["state"] == {"lifecycle": "received", "deadline": "on_time", "records": "paper"}
    invalid = api.client.post(f"/dossiers/{code}/events", json={"data": {}}, headers=api.headers(**{"If-Match": '"2"'}))
    assert "body.trigger" in _problem(invalid, 422, "invalid-request")["problems"]  # type: ignore[operator]
    not_json = api.client.post("/dossiers", content=b"{", headers=api.headers(**{"Content-Type": "application/json"}))
    assert _problem(not_json, 400, "unreadable-body")["detail"] == (  # not JSON at all: unreadable, not invalid
        "the request body is not valid JSON: Expecting property name enclosed in double quotes at position 2")
    _problem(api.client.post("/dossiers", headers=api.headers(), json={
        "procedure": "9.999999", "channel": "direct", "applicant": {"name": "A"}}), 422, "unknown-procedure")
    _problem(api.client.get("/dossiers?limit=500", headers=api.headers()), 422, "invalid-request")
    _problem(api.client.delete("/dossiers", headers=api.headers()), 405, "method-not-allowed")


def test_a_refusal_by_a_legal_rule_names_the_rule_and_its_source(api: Api) -> None:
    """A second supplement request, then a second re-dating: 409 guard-rejected with ``rule`` and ``source``; only a
    leader may authorise one more request, and the authorised one passes."""
    code = api.receive(procedure="1.001776")["code"]  # 10 working days; received 2024: Decree 61/2018
    rules = api.motcua.rules.get("nd61-2018")
    api.fire(code, "assign", {"assignee": "Phạm Văn Hùng"})
    for trigger, role in (("request_supplement", "specialist"), ("supplement_received", "officer")):
        assert api.fire(code, trigger, {"reason": "Bản sao CCCD"} if role == "specialist" else {},
                        role=role).status_code == 200  # type: ignore[attr-defined]
    again = _problem(api.fire(code, "request_supplement", {"reason": "Lần hai"}, role="specialist"), 409,
                     "guard-rejected")
    assert (again["rule"], again["source"]) == ("supplement_request_limit", rules.supplement_requests.source)
    assert again["guards"] == ["supplement_request_allowed"] and "04/03/2024" in str(again["detail"])
    _problem(api.fire(code, "authorise_extra_supplement", {"reason": "Cần xác nhận"}, role="officer"), 403,
             "role-not-allowed")
    assert api.fire(code, "authorise_extra_supplement", {"reason": "Cần xác nhận"},
                    role="leader").status_code == 200  # type: ignore[attr-defined]
    assert api.fire(code, "request_supplement", {"reason": "Lần hai"},
                    role="specialist").status_code == 200  # type: ignore[attr-defined]
    assert api.fire(code, "apologize", {"reason": "Chờ xác minh", "new_date": "2024-03-29"},
                    role="leader").status_code == 200  # type: ignore[attr-defined]
    redated = _problem(api.fire(code, "apologize", {"reason": "Lần hai", "new_date": "2024-04-05"}, role="leader"),
                       409, "guard-rejected")
    assert (redated["rule"], redated["source"]) == ("redating_limit", rules.redating.source)
    history = api.client.get(f"/dossiers/{code}/history", headers=api.headers()).json()
    assert [entry["trigger"] for entry in history][-3:] == ["authorise_extra_supplement", "request_supplement",
                                                            "apologize"]


# -- idempotency -------------------------------------------------------------------------------------


def test_a_retried_event_returns_the_first_answer_and_fires_once(api: Api) -> None:
    code = api.receive()["code"]
    first = api.fire(code, "assign", {"assignee": "Phạm Văn Hùng"}, version=2, **{"Idempotency-Key": "k-1"})
    again = api.fire(code, "assign", {"assignee": "Phạm Văn Hùng"}, version=2, **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 200  # type: ignore[attr-defined]
    assert again.json() == first.json() and again.headers["etag"] == '"3"'  # type: ignore[attr-defined]
    assert again.headers["idempotent-replayed"] == "true"  # type: ignore[attr-defined]
    assert [e["trigger"] for e in api.client.get(f"/dossiers/{code}/history", headers=api.headers()).json()] == [
        "open", "receive", "assign"]
    reused = api.fire(code, "assign", {"assignee": "Someone else"}, version=2, **{"Idempotency-Key": "k-1"})
    _problem(reused, 422, "idempotency-key-reused")


def test_a_retried_reception_registers_one_dossier(api: Api) -> None:
    body = {"procedure": PROCEDURE, "channel": "direct", "applicant": {"name": "Trần Văn An"}}
    headers = api.headers(**{"Idempotency-Key": "receipt-0001"})
    first, again = (api.client.post("/dossiers", json=body, headers=headers) for _ in range(2))
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert len(api.client.get("/dossiers", headers=api.headers()).json()["items"]) == 1
    leader = api.headers("leader", **{"Idempotency-Key": "receipt-0001"})
    other_key = api.client.post("/dossiers", json=body, headers=leader)
    _problem(other_key, 403, "role-not-allowed")  # another API key: another scope, and leaders do not receive


def test_a_key_is_kept_a_day_then_forgotten_by_the_servers_sweep(api: Api, clock: ManualClock) -> None:
    body = {"procedure": PROCEDURE, "channel": "direct", "applicant": {"name": "Trần Văn An"}}
    headers = api.headers(**{"Idempotency-Key": "receipt-0001"})
    first = api.client.post("/dossiers", json=body, headers=headers)
    clock.advance(timedelta(hours=23))
    assert api.client.post("/dossiers", json=body, headers=headers).json() == first.json()  # within the day
    clock.advance(timedelta(hours=2))  # the first request is 25 hours old, the last sweep 23 hours
    api.client.post("/dossiers", json=body, headers=api.headers(**{"Idempotency-Key": "receipt-0002"}))
    assert api.store.purge(clock.now() - timedelta(hours=24)) == 0  # that claim swept the old record away
    again = api.client.post("/dossiers", json=body, headers=headers)
    assert again.status_code == 201 and "idempotent-replayed" not in again.headers
    assert again.json()["code"] != first.json()["code"]  # a new request after a day: a new dossier


def test_refusals_are_replayed_too_and_in_flight_duplicates_get_409(api: Api, clock: ManualClock) -> None:
    code = api.receive()["code"]
    refused = api.fire(code, "approve", {}, role="leader", **{"Idempotency-Key": "a-1"})
    replayed = api.fire(code, "approve", {}, role="leader", **{"Idempotency-Key": "a-1"})
    assert refused.status_code == replayed.status_code == 409  # type: ignore[attr-defined]
    assert replayed.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    key_id = api.keys["officer"].split("_")[1]
    api_print = "the first request's fingerprint"
    assert api.store.claim(key_id, "busy", api_print, clock.now()).fresh
    _problem(api.fire(code, "assign", {"assignee": "X"}, **{"Idempotency-Key": "busy"}), 422, "idempotency-key-reused")
    _problem(api.fire(code, "assign", {"assignee": "X"}, **{"Idempotency-Key": "bad key"}), 400,
             "invalid-idempotency-key")


def test_an_in_flight_request_with_the_same_print_gets_409(api: Api, clock: ManualClock) -> None:
    code = api.receive()["code"]
    key_id = api.keys["officer"].split("_")[1]
    body = {"trigger": "assign", "data": {"assignee": "X"}}
    assert api.store.claim(key_id, "busy", fingerprint("POST", f"/dossiers/{code}/events", body, '"2"'),
                           clock.now()).fresh
    _problem(api.fire(code, "assign", {"assignee": "X"}, version=2, **{"Idempotency-Key": "busy"}), 409,
             "idempotency-request-in-flight")


def _abandon(api: Api, clock: ManualClock, key: str, request_print: str, reserved: str) -> None:
    """What a first run that died after committing, before storing its answer, leaves behind."""
    key_id = api.keys["officer"].split("_")[1]
    assert api.store.claim(key_id, key, request_print, clock.now()).fresh
    api.store.reserve(key_id, key, clock.now(), reserved)


def test_a_retry_after_a_crash_finishes_the_first_reception_and_opens_nothing_twice(
    api: Api, clock: ManualClock
) -> None:
    body = {"procedure": PROCEDURE, "channel": "direct", "applicant": {"name": "Trần Văn An"}}
    code = api.motcua.desk.new_code()
    as_sent = ReceiveRequest.model_validate(body).model_dump(mode="json")
    _abandon(api, clock, "crash-1", fingerprint("POST", "/dossiers", as_sent, None), code)
    officer = Actor.of("Cán bộ officer", "officer")
    api.motcua.desk.receive(PROCEDURE, "direct", Applicant("Trần Văn An"), officer, code=code)  # then it died
    early = api.client.post("/dossiers", json=body, headers=api.headers(**{"Idempotency-Key": "crash-1"}))
    _problem(early, 409, "idempotency-request-in-flight")

    clock.advance(IN_FLIGHT_LEASE)
    retried = api.client.post("/dossiers", json=body, headers=api.headers(**{"Idempotency-Key": "crash-1"}))

    assert retried.status_code == 201, retried.text
    assert retried.json()["code"] == code and retried.json()["state"]["lifecycle"] == "received"
    assert [e.trigger for e in api.motcua.service.history(code)] == ["open", "receive"]
    assert len(list(api.motcua.store.cases())) == 1
    again = api.client.post("/dossiers", json=body, headers=api.headers(**{"Idempotency-Key": "crash-1"}))
    assert again.json() == retried.json() and again.headers["idempotent-replayed"] == "true"


def test_a_server_error_while_receiving_leaves_nothing_and_the_retry_opens_one_dossier(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = api.motcua.service.store
    commit = store.commit

    def database_gone_once(*decisions: Decision) -> None:
        monkeypatch.setattr(store, "commit", commit)  # the next try finds the database back
        raise StorageUnavailable("the connection was reset")

    monkeypatch.setattr(store, "commit", database_gone_once)
    body = {"procedure": PROCEDURE, "channel": "direct", "applicant": {"name": "Trần Văn An"}}
    headers = api.headers(**{"Idempotency-Key": "flaky-1"})

    _problem(api.client.post("/dossiers", json=body, headers=headers), 503, "storage-unavailable")
    assert list(api.motcua.store.cases()) == []  # opening and receiving are one commit: nothing half-received
    retried = api.client.post("/dossiers", json=body, headers=headers)

    assert retried.status_code == 201, retried.text
    [case] = api.motcua.store.cases()
    assert retried.json()["code"] == case.code and case.state["lifecycle"] == "received"
    assert [entry.trigger for entry in api.motcua.store.history(case.code)] == ["open", "receive"]


def test_a_retry_after_a_crash_does_not_fire_the_trigger_again(api: Api, clock: ManualClock) -> None:
    code = str(api.receive()["code"])
    body = {"trigger": "assign", "data": {"assignee": "Phạm Văn Hùng"}}
    _abandon(api, clock, "crash-2", fingerprint("POST", f"/dossiers/{code}/events", body, '"2"'), "3")
    api.motcua.service.fire(code, "assign", Actor.of("Cán bộ officer", "officer"), body["data"])  # then it died
    clock.advance(IN_FLIGHT_LEASE)

    retried = api.fire(code, "assign", body["data"], version=2, **{"Idempotency-Key": "crash-2"})

    assert retried.status_code == 200, retried.text  # type: ignore[attr-defined]
    assert retried.json()["version"] == 3  # type: ignore[attr-defined]
    assert [e.trigger for e in api.motcua.service.history(code)] == ["open", "receive", "assign"]


def test_a_reservation_another_decision_took_is_not_mistaken_for_ours(api: Api, clock: ManualClock) -> None:
    code = str(api.receive()["code"])
    body = {"trigger": "assign", "data": {"assignee": "Phạm Văn Hùng"}}
    _abandon(api, clock, "crash-3", fingerprint("POST", f"/dossiers/{code}/events", body, '"2"'), "3")
    api.motcua.service.fire(code, "digitize", Actor.of("Cán bộ officer", "officer"), {"components": 2})
    clock.advance(IN_FLIGHT_LEASE)

    retried = api.fire(code, "assign", body["data"], version=2, **{"Idempotency-Key": "crash-3"})

    _problem(retried, 412, "version-mismatch")


# -- the document ----------------------------------------------------------------------------------


def test_every_error_answer_is_documented_as_a_problem(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    assert "Problem" in document["components"]["schemas"]
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert document["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"
    events = document["paths"]["/dossiers/{code}/events"]["post"]
    assert {"400", "401", "403", "404", "409", "412", "422", "428"} <= set(events["responses"])
    for path in document["paths"].values():
        for operation in path.values():
            for status, answer in operation["responses"].items():
                if status.startswith(("4", "5")):
                    assert list(answer["content"]) == ["application/problem+json"], (status, operation["summary"])


def test_a_forgotten_if_match_is_not_kept_as_the_answer_to_the_key(api: Api) -> None:
    code = api.receive()["code"]
    url, body = f"/dossiers/{code}/events", {"trigger": "assign", "data": {"assignee": "Phạm Văn Hùng"}}
    forgot = api.client.post(url, json=body, headers=api.headers(**{"Idempotency-Key": "k-9"}))
    _problem(forgot, 428, "if-match-required")
    fixed = api.client.post(url, json=body, headers=api.headers(**{"Idempotency-Key": "k-9", "If-Match": '"2"'}))
    assert fixed.status_code == 200, fixed.text


def test_the_app_on_sqlite_keeps_keys_and_answers_in_the_database(tmp_path: Path, clock: ManualClock) -> None:
    with built_app(f"sqlite:///{tmp_path / 'api.db'}", clock=clock) as (app, _, store), TestClient(app) as client:
        created = new_key("Nguyễn Thị Lan", ["officer"], clock.now())
        store.add_key(created.stored)
        headers = {"X-API-Key": created.secret_text, "Idempotency-Key": "r-1"}
        body = {"procedure": PROCEDURE, "channel": "postal", "applicant": {"name": "Trần Văn An"}}
        first, again = (client.post("/dossiers", json=body, headers=headers) for _ in range(2))
        assert first.status_code == again.status_code == 201 and first.json() == again.json()
        assert again.headers["idempotent-replayed"] == "true" and again.headers["etag"] == '"2"'
        assert "motcua_outbox_backlog " in client.get("/metrics").text
