"""The text of a request's address is read as NFC before anything validates or uses it (entrypoints/http/composed.py).

Vietnamese typed decomposed (macOS, iOS, Unikey's "tổ hợp" mode: "a" then U+0323 for "ạ") is the same text as the
composed form motcua stores, and finds the same dossiers: ``?officer=`` sent in NFD, percent-encoded or not, with
``+`` or ``%20`` for its spaces, lists what the NFC one lists. Bounds count the NFC text. A query that is not UTF-8
text is a 422 naming the parameter (after the key), never an empty page that reads as "none", never a 500. What is
no text — the X-API-Key above all — is compared as it came, byte for byte.
"""

from __future__ import annotations

import asyncio
import json
import unicodedata
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl, quote, urlencode

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from motcua.adapters.bootstrap import Motcua
from motcua.adapters.keys import MemoryHttpStore, authenticate, new_key
from motcua.entrypoints.http.composed import composed_query
from motcua.workflow.engine.bounds import CASE_CODE_MAX, NAME_MAX
from motcua.workflow.engine.clock import ManualClock
from tests.unit.test_http_api_review import invalid_request
from tests.unit.test_http_input_review import officers_client

RECEPTION: Final = {"procedure": "1.004873", "channel": "direct", "applicant": {"name": "Trần Văn An"}}
OFFICER: Final = "Phạm Văn Hùng"  # as the engine stores it: NFC
NFD_OFFICER: Final = unicodedata.normalize("NFD", OFFICER)
NOT_UTF8: Final = "not UTF-8 text: send the text's UTF-8 bytes, percent-encoded"


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


@dataclass
class Api:
    client: TestClient
    key: str
    motcua: Motcua
    store: MemoryHttpStore
    assigned: str  # the dossier Phạm Văn Hùng holds
    other: str  # one another officer holds

    def get(self, path: str, **params: str) -> Any:
        return self.client.get(path, params=params or None, headers={"X-API-Key": self.key})

    def codes(self, path: str, **params: str) -> list[str]:
        answer = self.get(path, **params)
        assert answer.status_code == 200, answer.text
        return [item["code"] for item in answer.json()["items"]]


@pytest.fixture
def api(clock: ManualClock) -> Iterator[Api]:
    with officers_client(clock) as (client, key, motcua, store):
        codes = []
        for assignee in (OFFICER, "Lê Thị Mai"):
            answer = client.post("/dossiers", json=RECEPTION, headers={"X-API-Key": key})
            assert answer.status_code == 201, answer.text
            code = answer.json()["code"]
            fired = client.post(f"/dossiers/{code}/events", json={"trigger": "assign", "data": {"assignee": assignee}},
                                headers={"X-API-Key": key, "If-Match": answer.headers["etag"]})
            assert fired.status_code == 200, fired.text
            codes.append(code)
        yield Api(client, key, motcua, store, *codes)


# -- an NFD filter finds what the NFC one finds ------------------------------------------------------------------


def test_the_officer_filter_in_nfc_finds_the_dossier_it_holds(api: Api) -> None:
    assert api.codes("/dossiers", officer=OFFICER) == [api.assigned]


@pytest.mark.parametrize("query", [
    "officer=Pha%CC%A3m%20Va%CC%86n%20Hu%CC%80ng",  # the brief's request: NFD, percent-encoded, %20
    "officer=Pha%CC%A3m+Va%CC%86n+Hu%CC%80ng",  # a form's encoding: + for a space
    urlencode({"officer": NFD_OFFICER}),
    urlencode({"officer": NFD_OFFICER, "state": "processing", "limit": "5"}),
    "officer=" + quote(unicodedata.normalize("NFD", "Phạm") + " Va\u0306n Hu\u0300ng"),  # mixed: part NFC
], ids=["percent-20", "plus", "urlencode", "with-other-filters", "mixed"])
def test_a_decomposed_officer_finds_the_same_dossiers(api: Api, query: str) -> None:
    answer = api.client.get(f"/dossiers?{query}", headers={"X-API-Key": api.key})
    assert answer.status_code == 200, answer.text
    assert [item["code"] for item in answer.json()["items"]] == [api.assigned]


def test_the_client_sending_nfd_text_finds_the_same_dossiers(api: Api) -> None:
    """httpx percent-encodes the NFD text's UTF-8 as any client does."""
    assert api.codes("/dossiers", officer=NFD_OFFICER) == api.codes("/dossiers", officer=OFFICER) == [api.assigned]


def test_raw_utf8_bytes_in_the_query_string_are_read_as_utf8_and_composed(api: Api) -> None:
    """A client that sends the bytes unescaped (the server passes them on as they came): read as UTF-8, not as
    Latin-1 (Starlette's own reading), and composed."""
    for text in (OFFICER, NFD_OFFICER):
        status, body = _asgi_get(api, "/dossiers", b"officer=" + text.encode().replace(b" ", b"%20"))
        assert status == 200, body
        assert [item["code"] for item in body["items"]] == [api.assigned]


def test_a_dossier_code_in_the_path_is_composed_before_its_bound_is_counted(api: Api) -> None:
    """``{code}`` is at most 100 characters of the NFC text: 100 "ạ" decomposed (200 code points) is a code that is
    not there (404), not a code too long (422); 101 composed is too long, as before."""
    within = api.get(f"/dossiers/{quote(nfd('ạ' * CASE_CODE_MAX))}")
    assert within.status_code == 404 and within.json()["code"] == "case-not-found", within.text
    beyond = api.get(f"/dossiers/{quote('ạ' * (CASE_CODE_MAX + 1))}")
    assert list(invalid_request(beyond)) == ["path.code"]


def test_a_filter_is_bounded_by_its_nfc_length(api: Api) -> None:
    """``officer`` is at most NAME_MAX characters once composed: NFD text twice as long whose NFC fits is a filter
    (an empty page: nobody has that name); NFC one character over is refused, NFD or not."""
    fits = nfd("ạ" * NAME_MAX)
    assert len(fits) == 2 * NAME_MAX
    assert api.codes("/dossiers", officer=fits) == []
    for over in ("ạ" * (NAME_MAX + 1), nfd("ạ" * (NAME_MAX + 1))):
        problems = invalid_request(api.get("/dossiers", officer=over))
        assert problems == {"query.officer": f"String should have at most {NAME_MAX} characters"}


def test_control_characters_are_refused_after_composition_too(api: Api) -> None:
    problems = invalid_request(api.get("/dossiers", officer=nfd("Phạm\x00Hùng")))
    assert problems == {"query.officer": "contains a control character (U+0000) at position 5"}


def test_strictness_of_the_query_is_unchanged(api: Api) -> None:
    """Unknown, duplicate and empty parameters are still refused, each named as composed."""
    unknown = api.client.get(f"/dossiers?{quote(nfd('người'))}=x", headers={"X-API-Key": api.key})
    assert list(invalid_request(unknown)) == ["query.người"]
    twice = api.client.get(f"/dossiers?{urlencode([('officer', OFFICER), ('officer', NFD_OFFICER)])}",
                           headers={"X-API-Key": api.key})
    assert invalid_request(twice) == {"query.officer": "given 2 times: give it once"}
    empty = api.client.get("/dossiers?officer=&state=processing", headers={"X-API-Key": api.key})
    assert invalid_request(empty) == {"query.officer": "empty: give a value or leave the parameter out"}


# -- a query that is not UTF-8 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("query", [
    "officer=%FF",  # no UTF-8 starts with it
    "officer=Ph%E1%BA",  # cut short
    "officer=%C0%AF",  # an overlong encoding of "/"
    "officer=%E0%80%AF",  # another
    "officer=%ED%A0%80",  # a surrogate, which UTF-8 may not encode
    "officer=Ph%E1%BA%A1m&state=%FF",
], ids=["ff", "truncated", "overlong-2", "overlong-3", "surrogate", "second"])
def test_a_query_value_that_is_not_utf8_is_422_naming_it(api: Api, query: str) -> None:
    answer = api.client.get(f"/dossiers?{query}", headers={"X-API-Key": api.key})
    named = query.rsplit("&", 1)[-1].split("=", maxsplit=1)[0]
    assert invalid_request(answer) == {f"query.{named}": NOT_UTF8}


def test_a_query_name_that_is_not_utf8_is_422(api: Api) -> None:
    problems = invalid_request(api.client.get("/dossiers?officer%FF=x", headers={"X-API-Key": api.key}))
    assert problems == {"query.officer\ufffd": NOT_UTF8}


def test_raw_bytes_that_are_not_utf8_are_422_too(api: Api) -> None:
    status, body = _asgi_get(api, "/dossiers", b"officer=Ph\xe1m")
    assert status == 422 and body["problems"] == {"query.officer": NOT_UTF8}, body


def test_a_query_that_is_not_utf8_waits_for_the_key_and_is_ignored_where_no_query_is_read(api: Api) -> None:
    assert api.client.get("/dossiers?officer=%FF", headers={"X-API-Key": "mc_nope_nope"}).status_code == 401
    assert api.client.get("/healthz?x=%FF").status_code == 200


def test_an_overlong_query_is_refused_not_a_failure(api: Api) -> None:
    answer = api.get("/dossiers", officer=nfd("ạ") * 5_000)  # 35 kB of query, as httpx sends at most 64
    assert list(invalid_request(answer)) == ["query.officer"]


# -- what is not text is not normalised ------------------------------------------------------------------------------


def test_the_api_key_is_compared_byte_for_byte(api: Api, clock: ManualClock) -> None:
    """U+212A KELVIN SIGN is "K" once in NFC (or NFD): a key with it in place of a "K" is another key, refused at
    the HTTP edge and by the verification itself, never read as the key it looks like."""
    key = api.key
    while "K" not in key.split("_", 2)[2]:  # a key whose secret has a K
        created = new_key("Nguyễn Thị Lan", ["officer"], clock.now())
        api.store.add_key(created.stored)
        key = created.secret_text
    lookalike = key.replace("K", "\u212a", 1)
    assert unicodedata.normalize("NFC", lookalike) == key and lookalike.encode() != key.encode()
    assert api.client.get("/dossiers", headers={"X-API-Key": key}).status_code == 200
    assert api.client.get("/dossiers", headers={b"X-API-Key": lookalike.encode()}).status_code == 401
    assert authenticate(api.store, key) is not None
    assert authenticate(api.store, lookalike) is None


# -- the query string's rewriting ------------------------------------------------------------------------------------


_TEXT = st.text(st.characters(codec="utf-8"), max_size=12)  # no lone surrogate: no UTF-8 holds one


@given(st.lists(st.tuples(_TEXT.filter(bool), _TEXT), max_size=5))
def test_composed_query_reads_back_as_the_nfc_pairs(pairs: list[tuple[str, str]]) -> None:
    sent = urlencode([(nfd(name), nfd(value)) for name, value in pairs]).encode()
    composed, unreadable = composed_query(sent)
    assert unreadable == ()
    assert parse_qsl(composed.decode("latin-1"), keep_blank_values=True) == [
        (unicodedata.normalize("NFC", name), unicodedata.normalize("NFC", value)) for name, value in pairs]
    assert composed_query(composed) == (composed, ())  # composed once is composed


@pytest.mark.parametrize("query", [b"", b"state=received&limit=5", b"officer=Ph%E1%BA%A1m+V%C4%83n", b"a&&b=",
                                   b"officer=%ZZ", b"x=%41%42"])
def test_a_query_already_composed_is_passed_on_as_it_came(query: bytes) -> None:
    composed, unreadable = composed_query(query)
    assert composed is query and unreadable == ()


def test_an_unreadable_pair_is_read_as_starlette_reads_it_and_named() -> None:
    composed, unreadable = composed_query(b"a=%FF&officer=Pha%CC%A3m&b%FE=1")
    assert unreadable == ("a", "b\ufffd")
    assert parse_qsl(composed.decode("latin-1"), keep_blank_values=True) == [
        ("a", "\ufffd"), ("officer", "Phạm"), ("b\ufffd", "1")]


def _asgi_get(api: Api, path: str, query: bytes) -> tuple[int, Any]:
    """A GET whose query string is exactly ``query`` (httpx would escape it), straight into the application."""
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": query, "root_path": "",
             "headers": [(b"x-api-key", api.key.encode())], "client": ("127.0.0.1", 50000),
             "server": ("testserver", 80)}
    asyncio.run(api.client.app(scope, receive, send))  # type: ignore[arg-type]
    start = next(message for message in sent if message["type"] == "http.response.start")
    body = b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body")
    return start["status"], json.loads(body)
