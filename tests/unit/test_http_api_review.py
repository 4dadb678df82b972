"""Findings of an adversarial review of the HTTP API as a client and an attacker see it, each reproduced here:

- a query parameter no route declares (``?stat=overdue``, a typo), one sent twice (``?unit=A&unit=B``, of which the
  last silently won) or sent empty (``?procedure=``, which answered an empty page reading as "none") was taken as
  it came: now each is ``422 invalid-request`` naming the parameter, on every route that needs a key, after the key;
- ``?unit=`` of a standalone desk whose home code (``MOTCUA_AGENCY``) is not in a unit code's shape (``xa-an-lao``)
  was 422 for its own unit, which its keys are made with: now the home code is taken as it is configured;
- a JSON body sent as ``text/plain`` (or with no Content-Type) was ``422`` "body: Input should be a valid dictionary",
  as if the JSON were wrong: now ``415 unsupported-media-type`` saying to send ``application/json``;
- a dossier's read ignored its preconditions: ``If-None-Match`` naming the current version was a full ``200``,
  ``If-Match`` naming a stale one a ``200`` too; now ``304`` and ``412`` (RFC 9110, 13.1), the full syntax taken;
- ``HEAD`` was ``405`` on every route (``HEAD /healthz`` of a monitor included): now ``GET`` without the body.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import pytest
from fastapi.testclient import TestClient

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.adapters.keys import MemoryHttpStore, new_key
from motcua.entrypoints.http.app import create_app
from motcua.workflow.engine.clock import ManualClock
from tests.unit.test_http_input_review import officers_client

RECEPTION: Final = {"procedure": "1.004873", "channel": "direct", "applicant": {"name": "Trần Văn An"}}


@dataclass
class Api:
    client: TestClient
    key: str
    motcua: Motcua
    code: str

    def get(self, path: str, **headers: str) -> Any:
        return self.client.get(path, headers={"X-API-Key": self.key, **headers})


@pytest.fixture
def api(clock: ManualClock) -> Iterator[Api]:
    with officers_client(clock) as (client, key, motcua, _):
        answer = client.post("/dossiers", json=RECEPTION, headers={"X-API-Key": key})
        assert answer.status_code == 201, answer.text
        yield Api(client, key, motcua, answer.json()["code"])


def invalid_request(answer: Any) -> dict[str, str]:
    """The problems of a 422 ``invalid-request`` answer (asserted so)."""
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["code"] == "invalid-request", body
    problems: dict[str, str] = body["problems"]
    return problems


# -- query parameters are strict ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "named"), [
    ("/dossiers?stat=overdue", "query.stat"),
    ("/dossiers?state=received&Limit=5", "query.Limit"),
    ("/feedback?procedure=1.004873", "query.procedure"),
    ("/reports/bieu06?period=2024-Q1&units=X", "query.units"),
    ("/procedures?all=1", "query.all"),
    ("/dossiers/{code}?verbose=1", "query.verbose"),
    ("/dossiers/{code}/history?limit=5", "query.limit"),
])
def test_a_query_parameter_the_route_does_not_take_is_422_naming_it(api: Api, path: str, named: str) -> None:
    problems = invalid_request(api.get(path.format(code=api.code)))
    assert list(problems) == [named]
    assert problems[named].startswith("unknown parameter"), problems


def test_a_query_parameter_on_an_event_route_is_422_on_the_quick_path_too(api: Api) -> None:
    read = api.get(f"/dossiers/{api.code}")
    answer = api.client.post(f"/dossiers/{api.code}/events?force=1", json={"trigger": "assign", "data": {
        "assignee": "Phạm Văn Hùng"}}, headers={"X-API-Key": api.key, "If-Match": read.headers["ETag"]})
    assert list(invalid_request(answer)) == ["query.force"]
    assert api.get(f"/dossiers/{api.code}").headers["ETag"] == read.headers["ETag"]  # nothing moved


@pytest.mark.parametrize("query", ["unit=000.00.00.H23&unit=LOCAL-HP-LE-CHAN", "limit=1&limit=2",
                                   "state=received&state=received"])
def test_a_query_parameter_sent_twice_is_422_naming_it(api: Api, query: str) -> None:
    problems = invalid_request(api.get(f"/dossiers?{query}"))
    (named,) = problems
    assert named == f"query.{query.split('=', maxsplit=1)[0]}"
    assert "2 times" in problems[named]


@pytest.mark.parametrize("parameter", ["procedure", "officer", "cursor", "unit", "state", "limit"])
def test_an_empty_query_parameter_is_422_naming_it_never_an_empty_page(api: Api, parameter: str) -> None:
    problems = invalid_request(api.get(f"/dossiers?{parameter}="))
    assert list(problems) == [f"query.{parameter}"]
    assert "empty" in problems[f"query.{parameter}"]


def test_the_key_is_checked_before_the_query(api: Api) -> None:
    answer = api.client.get("/dossiers?stat=overdue", headers={"X-API-Key": "mc_nope_nope"})
    assert answer.status_code == 401, answer.text


def test_the_declared_parameters_still_work_and_routes_without_a_key_are_unchanged(api: Api) -> None:
    listed = api.get("/dossiers?state=received&limit=5&unit=000.00.00.H23&procedure=1.004873")
    assert listed.status_code == 200, listed.text
    assert [item["code"] for item in listed.json()["items"]] == [api.code]
    assert api.get("/reports/bieu06?from=2024-03-01&to=2024-03-31").status_code == 200
    assert api.client.get("/healthz").status_code == 200


@pytest.mark.parametrize("route", ["/dossiers", "/feedback"])
def test_a_listing_of_a_unit_no_register_knows_is_404_as_a_report_never_an_empty_page(api: Api, route: str) -> None:
    """``?unit=000.00.00.H32`` (the home H23 mistyped) listed nothing, which read as "none"; the reports answered the
    same typo 404. Both say so now."""
    answer = api.get(f"{route}?unit=000.00.00.H32")
    assert answer.status_code == 404, answer.text
    assert answer.json()["code"] == "unit-not-found"
    assert "000.00.00.H32" in answer.json()["detail"]
    assert api.get(f"{route}?unit=000.00.00.H23").status_code == 200


# -- a standalone desk's home code is a unit the API names as it is written -------------------------------------

STANDALONE: Final = "xa-an-lao"  # MOTCUA_AGENCY of a desk before units: in no register, not in a unit code's shape


@pytest.fixture
def standalone(clock: ManualClock) -> Iterator[Api]:
    motcua = open_motcua("memory://", clock=clock, observers=[], agency=STANDALONE)
    store = MemoryHttpStore()
    created = new_key("Nguyễn Thị Lan", ["officer", "specialist", "leader"], clock.now(), units=[STANDALONE],
                      home=STANDALONE)
    store.add_key(created.stored)
    with TestClient(create_app(motcua, store, clock=clock)) as client:
        answer = client.post("/dossiers", json=RECEPTION, headers={"X-API-Key": created.secret_text})
        assert answer.status_code == 201, answer.text
        assert answer.json()["receiving_unit"] == STANDALONE
        yield Api(client, created.secret_text, motcua, answer.json()["code"])
    motcua.close()


def test_a_standalone_desks_lower_case_home_is_a_unit_its_listings_and_reports_take(standalone: Api) -> None:
    listed = standalone.get(f"/dossiers?unit={STANDALONE}")
    assert listed.status_code == 200, listed.text
    assert [item["code"] for item in listed.json()["items"]] == [standalone.code]
    assert standalone.get(f"/feedback?unit={STANDALONE}").status_code == 200
    report = standalone.get(f"/reports/bieu06?from=2024-03-01&to=2024-03-31&unit={STANDALONE}")
    assert report.status_code == 200, report.text


@pytest.mark.parametrize("unit", ["xa-an-lao-2", "xa-an-lao\n", "local-hp-le-chan"])
def test_any_other_lower_case_unit_is_still_422(standalone: Api, unit: str) -> None:
    assert list(invalid_request(standalone.client.get("/dossiers", params={"unit": unit}, headers={
        "X-API-Key": standalone.key}))) == ["query.unit"]


def test_a_server_whose_home_has_the_shape_takes_only_the_shape(api: Api) -> None:
    assert list(invalid_request(api.get("/dossiers?unit=000.00.00.h23"))) == ["query.unit"]


# -- a body of another media type is 415 -------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml",
                                          "text/json", None])
@pytest.mark.parametrize("route", ["/dossiers", "/feedback", "/dossiers/{code}/events"])
def test_a_body_that_is_not_sent_as_json_is_415_naming_the_media_type_taken(
    api: Api, content_type: str | None, route: str
) -> None:
    read = api.get(f"/dossiers/{api.code}")
    headers = {"X-API-Key": api.key, "If-Match": read.headers["ETag"]}
    if content_type is not None:
        headers["Content-Type"] = content_type
    before = sum(1 for _ in api.motcua.store.cases())
    answer = api.client.post(route.format(code=api.code), content=b'{"trigger": "assign"}', headers=headers)
    assert answer.status_code == 415, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["code"] == "unsupported-media-type", body
    assert "application/json" in body["detail"]
    assert sum(1 for _ in api.motcua.store.cases()) == before


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "application/merge-patch+json"])
def test_json_of_any_json_media_type_is_still_read(api: Api, content_type: str) -> None:
    answer = api.client.post("/dossiers", content=json.dumps(RECEPTION).encode(), headers={
        "X-API-Key": api.key, "Content-Type": content_type})
    assert answer.status_code == 201, answer.text


def test_an_empty_body_is_still_422_naming_it(api: Api) -> None:
    assert list(invalid_request(api.client.post("/dossiers", headers={"X-API-Key": api.key}))) == ["body"]


# -- a dossier's GET evaluates If-None-Match and If-Match (RFC 9110, 13.1) ---------------------------------------


@pytest.mark.parametrize("prefix", ["dossiers", "feedback"])
@pytest.mark.parametrize("sent", ['"{v}"', 'W/"{v}"', '"99", "{v}"', '"99",W/"{v}"', "*"])
def test_if_none_match_with_the_current_etag_is_304_with_it_and_no_body(api: Api, prefix: str, sent: str) -> None:
    code = api.code if prefix == "dossiers" else api.client.post("/feedback", json={
        "sender_name": "Nguyễn Văn Bình", "content": "Hồ sơ chậm"}, headers={"X-API-Key": api.key}).json()["code"]
    read = api.get(f"/{prefix}/{code}")
    version = read.json()["version"]
    answer = api.get(f"/{prefix}/{code}", **{"If-None-Match": sent.format(v=version)})
    assert answer.status_code == 304, answer.text
    assert answer.content == b""
    assert answer.headers["ETag"] == read.headers["ETag"]
    assert answer.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("sent", ['"99"', 'W/"99"', '"99", "98"'])
def test_if_none_match_with_another_etag_is_the_dossier(api: Api, sent: str) -> None:
    answer = api.get(f"/dossiers/{api.code}", **{"If-None-Match": sent})
    assert answer.status_code == 200, answer.text
    assert answer.json()["code"] == api.code


@pytest.mark.parametrize("sent", ['"99"', 'W/"{v}"', '"98", "99"'])
def test_if_match_on_a_get_that_does_not_match_strongly_is_412_with_the_current_version(api: Api, sent: str) -> None:
    version = api.get(f"/dossiers/{api.code}").json()["version"]
    answer = api.get(f"/dossiers/{api.code}", **{"If-Match": sent.format(v=version)})
    assert answer.status_code == 412, answer.text
    body = answer.json()
    assert (body["code"], body["current_version"]) == ("version-mismatch", version)


@pytest.mark.parametrize("sent", ['"{v}"', '"99", "{v}"', "*"])
def test_if_match_on_a_get_that_matches_is_the_dossier(api: Api, sent: str) -> None:
    version = api.get(f"/dossiers/{api.code}").json()["version"]
    answer = api.get(f"/dossiers/{api.code}", **{"If-Match": sent.format(v=version)})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(("header", "code"), [("If-None-Match", "invalid-if-none-match"),
                                              ("If-Match", "invalid-if-match")])
@pytest.mark.parametrize("sent", ["3", '"3', "W/3", '"3" "4"', "**", '"a"b"', '*, "3"', 'w/"3"'])
def test_a_malformed_precondition_on_a_get_is_400_naming_the_header(
    api: Api, header: str, code: str, sent: str
) -> None:
    answer = api.get(f"/dossiers/{api.code}", **{header: sent})
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == code


def test_a_precondition_on_a_dossier_outside_the_scope_is_still_404(api: Api) -> None:
    answer = api.get("/dossiers/NO-SUCH-0001", **{"If-None-Match": "*"})
    assert answer.status_code == 404, answer.text


# -- HEAD is GET without the body (RFC 9110, 9.3.2) --------------------------------------------------------------


@pytest.mark.parametrize("path", ["/dossiers/{code}", "/dossiers", "/dossiers/{code}/history", "/procedures",
                                  "/healthz", "/openapi.json"])
def test_head_answers_as_get_without_the_body(api: Api, path: str) -> None:
    got = api.get(path.format(code=api.code))
    head = api.client.head(path.format(code=api.code), headers={"X-API-Key": api.key})
    assert (head.status_code, head.content) == (200, b""), head.text
    for name in ("content-type", "content-length", "etag", "cache-control", "content-security-policy"):
        assert head.headers.get(name) == got.headers.get(name), name


def test_head_refusals_are_gets_refusals_without_the_body(api: Api) -> None:
    unauthenticated = api.client.head(f"/dossiers/{api.code}")
    assert (unauthenticated.status_code, unauthenticated.content) == (401, b"")
    assert unauthenticated.headers["content-type"] == "application/problem+json"
    post_only = api.client.head(f"/dossiers/{api.code}/events", headers={"X-API-Key": api.key})
    assert (post_only.status_code, post_only.headers["allow"]) == (405, "POST")


def test_a_405_of_a_get_route_allows_head_too(api: Api) -> None:
    answer = api.client.delete(f"/dossiers/{api.code}", headers={"X-API-Key": api.key})
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, HEAD"
    assert answer.json()["code"] == "method-not-allowed"


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/dossiers/"), ("GET", "/healthz/"), ("GET", "/reports/bieu06/"), ("POST", "/dossiers/{code}/events/"),
])
def test_a_trailing_slash_is_a_404_saying_so_never_a_redirect(api: Api, method: str, path: str) -> None:
    """Starlette answered ``/dossiers/`` with ``307`` to an absolute URL built from the request's scheme: behind a
    TLS proxy uvicorn does not trust, ``http://…``, and a client following it sent its ``X-API-Key`` in the clear."""
    answer = api.client.request(method, path.format(code=api.code), headers={"X-API-Key": api.key},
                                json={"trigger": "assign", "data": {}}, follow_redirects=False)
    assert answer.status_code == 404 and "location" not in answer.headers
    assert answer.headers["content-type"] == "application/problem+json"
    assert "without its trailing slash" in answer.json()["detail"]


def test_the_console_is_still_found_without_its_slash_by_a_relative_redirect(api: Api) -> None:
    for path in ("/", "/console"):
        answer = api.client.get(path, follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (307, "/console/")
    assert api.client.get("/console/sign-in/", follow_redirects=False).status_code == 404
