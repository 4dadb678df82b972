"""The browser-facing headers on every answer, and ``/docs`` served from motcua alone (entrypoints/http/security.py).

In process (TestClient, memory store): every header on a dossier, on each kind of error, on ``/docs`` and its
assets; the page names no outside URL and every asset it names answers from motcua; its policy allows its one
inline script by hash, nothing inline else. Under uvicorn on a free port: ``Strict-Transport-Security`` follows
the scheme uvicorn decided — ``X-Forwarded-Proto: https`` from a trusted proxy (127.0.0.1 by default) counts,
the same header from anyone else does not.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from html.parser import HTMLParser
from typing import Final
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.adapters.keys import MemoryHttpStore, new_key
from motcua.entrypoints.http.app import create_app
from motcua.entrypoints.http.security import API_POLICY, HSTS
from motcua.entrypoints.http.serve import ServeOptions, server_config
from motcua.workflow.engine.clock import ManualClock, SystemClock
from tests.servers import free_port, serving

PROCEDURE: Final = "1.004873"
EVERYWHERE: Final[Mapping[str, str]] = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


@pytest.fixture
def served() -> Iterator[tuple[TestClient, Motcua, dict[str, str]]]:
    clock = ManualClock(SystemClock().now())
    motcua = open_motcua("memory://", clock=clock, observers=[])
    store = MemoryHttpStore()
    created = new_key("Nguyễn Thị Lan", ["officer"], clock.now())
    store.add_key(created.stored)
    with TestClient(create_app(motcua, store, clock=clock)) as client:
        yield client, motcua, {"X-API-Key": created.secret_text}
    motcua.close()


def _directives(policy: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}


def _guarded(answer: httpx.Response, *, cache: str = "no-store", policy: str = API_POLICY) -> None:
    for name, value in EVERYWHERE.items():
        assert answer.headers.get(name) == value, (answer.request.url, name)
    assert answer.headers.get("cache-control") == cache, answer.request.url
    assert answer.headers.get("content-security-policy") == policy, answer.request.url
    directives = _directives(answer.headers["content-security-policy"])
    assert directives["default-src"] == ["'none'"] and directives["frame-ancestors"] == ["'none'"]
    assert "strict-transport-security" not in answer.headers  # plain HTTP


def test_a_dossier_and_its_history_carry_every_header(served: tuple[TestClient, Motcua, dict[str, str]]) -> None:
    client, _, key = served
    body = {"procedure": PROCEDURE, "channel": "direct", "applicant": {"name": "Trần Văn An", "phone": "0912345678"}}
    received = client.post("/dossiers", json=body, headers=key)
    assert received.status_code == 201, received.text
    code = received.json()["code"]
    replayed = client.post("/dossiers", json=body, headers={**key, "Idempotency-Key": "k1"})
    again = client.post("/dossiers", json=body, headers={**key, "Idempotency-Key": "k1"})
    assert again.headers.get("idempotent-replayed") == "true"

    answers = [received, replayed, again, client.get(f"/dossiers/{code}", headers=key),
               client.get(f"/dossiers/{code}/history", headers=key), client.get("/dossiers", headers=key),
               client.get("/procedures", headers=key), client.get("/reports/bieu06?period=2025", headers=key),
               client.get("/healthz"), client.get("/metrics"), client.get("/openapi.json")]

    for answer in answers:
        assert answer.status_code in {200, 201}, (answer.request.url, answer.text)
        _guarded(answer)


def test_every_kind_of_error_carries_every_header(served: tuple[TestClient, Motcua, dict[str, str]]) -> None:
    client, _, key = served
    answers = {
        401: client.get("/dossiers/000.00.00.H23-250707-0001"),
        404: client.get("/dossiers/000.00.00.H23-250707-0001", headers=key),
        405: client.put("/dossiers", headers=key),
        422: client.get("/dossiers?limit=0", headers=key),
        428: client.post("/dossiers/000.00.00.H23-250707-0001/events", json={"trigger": "assign", "data": {}},
                         headers=key),
    }
    answers[4041] = client.get("/no/such/route")

    for status, answer in answers.items():
        assert answer.status_code == (404 if status == 4041 else status), answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        _guarded(answer)


def test_a_bug_that_escapes_every_handler_is_a_500_with_every_header(
    served: tuple[TestClient, Motcua, dict[str, str]],
) -> None:
    app = served[0].app
    assert isinstance(app, FastAPI)

    @app.get("/bug")
    def bug() -> None:
        raise RuntimeError("a bug, not a refusal")

    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/bug")

    assert (answer.status_code, answer.json()["code"]) == (500, "internal-error")
    assert "a bug" not in answer.text
    _guarded(answer)


def test_the_cdn_pages_are_gone(served: tuple[TestClient, Motcua, dict[str, str]]) -> None:
    client, _, _ = served
    for path in ("/redoc", "/docs/oauth2-redirect"):
        answer = client.get(path)
        assert answer.status_code == 404
        _guarded(answer)


class _Page(HTMLParser):
    """The URLs a page names (src and href) and the text of its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._in_inline = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        self.urls.extend(value for name, value in attrs if name in {"src", "href"} and value is not None)
        self._in_inline = tag == "script" and "src" not in named

    def handle_data(self, data: str) -> None:
        if self._in_inline:
            self.inline.append(data)

    def handle_endtag(self, tag: str) -> None:
        self._in_inline = False


def test_docs_loads_everything_from_motcua(served: tuple[TestClient, Motcua, dict[str, str]]) -> None:
    client, _, _ = served
    docs = client.get("/docs")
    assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/html")
    page = _Page()
    page.feed(docs.text)

    assert len(page.urls) == 3 and len(page.inline) == 1  # the script, the style, the icon; the initialiser
    assert "http" not in docs.text and "//" not in " ".join(page.urls)  # no CDN, no outside host at all
    assert re.search(r"url: 'openapi\.json'", page.inline[0])  # the document, from motcua too
    for url in page.urls:
        target = urlsplit(urljoin(str(docs.url), url))
        assert (target.scheme, target.netloc) == ("http", "testserver")
        asset = client.get(target.path)
        assert asset.status_code == 200 and len(asset.content) > 1000, url
        _guarded(asset, cache="no-cache")
    spec = client.get(urlsplit(urljoin(str(docs.url), "openapi.json")).path)
    assert spec.status_code == 200 and spec.json()["openapi"].startswith("3.1")  # what Swagger UI 5 reads


def test_the_docs_policy_allows_its_own_script_and_style_and_nothing_inline_else(
    served: tuple[TestClient, Motcua, dict[str, str]],
) -> None:
    client, _, _ = served
    docs = client.get("/docs")
    page = _Page()
    page.feed(docs.text)
    inline_hash = base64.b64encode(hashlib.sha256(page.inline[0].encode()).digest()).decode()

    policy = docs.headers["content-security-policy"]
    _guarded(docs, policy=policy)
    assert _directives(policy) == {
        "default-src": ["'none'"], "script-src": ["'self'", f"'sha256-{inline_hash}'"], "style-src": ["'self'"],
        "img-src": ["'self'", "data:"], "connect-src": ["'self'"], "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"], "form-action": ["'none'"],
    }
    assert "unsafe" not in policy


def test_hsts_only_over_tls(served: tuple[TestClient, Motcua, dict[str, str]]) -> None:
    client, _, key = served
    plain = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})  # a header anyone can send: not TLS
    assert "strict-transport-security" not in plain.headers
    with TestClient(client.app, base_url="https://testserver") as tls:
        for answer in (tls.get("/healthz"), tls.get("/docs"), tls.get("/dossiers/none", headers=key)):
            assert answer.headers.get("strict-transport-security") == HSTS
            assert answer.headers.get("cache-control") == "no-store"


def test_motcua_serve_answers_without_naming_its_server(served: tuple[TestClient, Motcua, dict[str, str]]) -> None:
    app = served[0].app
    assert isinstance(app, FastAPI)
    port = free_port()
    with serving(uvicorn.Server(server_config(app, ServeOptions("memory://", port=port)))) as base:
        answers = [httpx.get(f"{base}/healthz"), httpx.get(f"{base}/dossiers/none")]
    assert [answer.status_code for answer in answers] == [200, 401]
    for answer in answers:
        assert "server" not in answer.headers and answer.headers["x-content-type-options"] == "nosniff"


@contextmanager
def _uvicorn(app: FastAPI, **options: str) -> Iterator[str]:
    port = free_port()
    with serving(uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                                **options))) as base:
        yield base


@pytest.mark.parametrize(("trusted", "hsts"), [(None, True), ("192.0.2.1", False)],
                         ids=["proxy-on-this-host", "untrusted-peer"])
def test_behind_a_proxy_hsts_follows_the_forwarded_scheme_of_a_trusted_proxy_only(
    served: tuple[TestClient, Motcua, dict[str, str]], trusted: str | None, hsts: bool, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``motcua serve`` leaves uvicorn's proxy settings at their defaults: X-Forwarded-Proto is believed from
    FORWARDED_ALLOW_IPS (127.0.0.1 and ::1 unless set), from no one else."""
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)  # uvicorn's default, as motcua serve runs it
    app = served[0].app
    assert isinstance(app, FastAPI)
    options = {} if trusted is None else {"forwarded_allow_ips": trusted}
    with _uvicorn(app, **options) as base:
        forwarded = httpx.get(f"{base}/healthz", headers={"X-Forwarded-Proto": "https"})
        direct = httpx.get(f"{base}/healthz")

    assert ("strict-transport-security" in forwarded.headers) is hsts
    assert "strict-transport-security" not in direct.headers
    for answer in (forwarded, direct):
        assert answer.headers["cache-control"] == "no-store" and answer.headers["x-frame-options"] == "DENY"
