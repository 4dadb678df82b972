"""What a browser may do with motcua's answers: the headers on every answer, and ``/docs`` served from motcua itself.

Dossiers carry personal data (names, identity numbers, addresses, phone numbers). An answer opened in a browser
— an officer pasting a URL, the API's documentation page — must not be kept by the browser or a shared proxy,
sniffed into something executable, framed by another site, or leak its URL (a dossier code) to the next site
visited. So every answer carries (:class:`SecurityHeaders`):

- ``Cache-Control: no-store`` — every answer, ``/metrics`` and the errors included: which of them carry dossier
  data is not a line worth drawing. The one exception is the documentation's static assets (``/docs/assets/``:
  Swagger UI's script, style and icon), which carry none: ``no-cache``, so a browser keeps them and revalidates
  them by their ``ETag``.
- ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``, ``X-Frame-Options: DENY``.
- ``Content-Security-Policy``: :data:`API_POLICY` (nothing may load or run, no page may frame it) everywhere, and
  on the ``/docs`` page the least Swagger UI needs (:func:`docs_policy`): its script and style from motcua
  itself, its one inline script (the initialiser FastAPI's ``get_swagger_ui_html`` writes) by its SHA-256 — no
  ``'unsafe-inline'`` —, its icons as ``data:`` images, and requests back to motcua only (``/openapi.json``,
  "Try it out").
- ``Strict-Transport-Security`` only on an answer to a request that came over TLS: the ASGI scheme is
  ``https``, which uvicorn sets when it serves TLS itself, or from ``X-Forwarded-Proto`` when the request comes
  from a proxy it trusts (``FORWARDED_ALLOW_IPS``, by default 127.0.0.1 and ::1). This module never reads
  ``X-Forwarded-Proto`` itself: a client could send it straight to the server. (Browsers ignore HSTS over plain
  HTTP anyway.)

A header the route already set is left as it is. Even a bug that escapes every handler is answered here
(``500 internal-error``, a problem document) rather than by the framework's bare text, so that answer carries
them too.

``/docs`` loads nothing from outside: provincial networks are often closed. Swagger UI's files come from the
``fastapi-offline`` package (Swagger UI 5, which reads the OpenAPI 3.1 document FastAPI writes), mounted under
``/docs/assets``; the page names them, and the document, by relative URLs, so it works unchanged behind a proxy
that serves motcua under a path prefix. ReDoc's page is not served (it needs inline styles).
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import Final

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from motcua.entrypoints.http.problems import INTERNAL, ApiProblem, problem_response

__all__ = [
    "API_POLICY", "ASSETS_PATH", "DOCS_PATH", "HSTS", "SecurityHeaders", "api_headers", "docs_policy", "secure",
]

DOCS_PATH: Final = "/docs"
ASSETS_PATH: Final = "/docs/assets"
ASSETS_DIR: Final = Path(fastapi_offline.__file__).with_name("static")
API_POLICY: Final = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
HSTS: Final = "max-age=31536000"
"""A year; no ``includeSubDomains``: the province's other hosts are not motcua's to pin."""
_ALWAYS: Final = (
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
)
_INLINE_SCRIPT: Final = re.compile(rb"<script>(.*?)</script>", re.DOTALL)
_FAILED: Final = "the server failed; the error is logged"
_KINDS: Final = ("asset", "docs", "api")  # the paths whose answers carry different headers


def secure(app: FastAPI) -> None:
    """Serve ``/docs`` from motcua's own assets, and send the browser-facing headers on every answer of ``app``
    (created with ``docs_url=None, redoc_url=None``)."""
    page = _docs_page(app)
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="docs-assets")

    def docs() -> HTMLResponse:
        return HTMLResponse(page)

    app.add_api_route(DOCS_PATH, docs, methods=["GET"], include_in_schema=False)
    app.add_middleware(SecurityHeaders, docs_policy=docs_policy(page))


def _docs_page(app: FastAPI) -> bytes:
    """Swagger UI over the OpenAPI document, every URL relative to ``/docs`` (so under any path prefix too)."""
    assets = ASSETS_PATH.lstrip("/")
    page = get_swagger_ui_html(
        openapi_url=(app.openapi_url or "/openapi.json").lstrip("/"), title=f"{app.title} — HTTP API",
        swagger_js_url=f"{assets}/swagger-ui-bundle.js", swagger_css_url=f"{assets}/swagger-ui.css",
        swagger_favicon_url=f"{assets}/favicon.png", swagger_ui_parameters={"validatorUrl": None},
    )
    return bytes(page.body)


def docs_policy(page: bytes) -> str:
    """The Content-Security-Policy of the documentation ``page``: its inline scripts allowed by their hash."""
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
                      for script in _INLINE_SCRIPT.findall(page))
    return (f"default-src 'none'; script-src 'self' {hashes}; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


class SecurityHeaders:
    """The ASGI middleware that adds the headers to every HTTP answer (a plain one: it never reads the body)."""

    def __init__(self, app: ASGIApp, *, docs_policy: str) -> None:
        self.app = app
        self.docs_policy = docs_policy
        self._encoded = {(kind, tls): self._made(kind, tls) for kind in _KINDS for tls in (False, True)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = self._headers(scope)
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                present = list(message.get("headers", ()))
                names = {name.lower() for name, _ in present}  # a header the answer set itself is kept
                message["headers"] = present + [(name, value) for name, value in added if name not in names]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            if not started:  # a bug escaped every handler: its 500 is answered here, with the headers too
                await problem_response(ApiProblem(INTERNAL, _FAILED))(scope, receive, send_with_headers)
            raise  # and the server logs it, as it would have

    def _headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        path, root = str(scope.get("path", "")), str(scope.get("root_path", ""))
        path = path.removeprefix(root) if root and path.startswith(f"{root}/") else path  # behind a path prefix
        kind = "asset" if path.startswith(f"{ASSETS_PATH}/") else "docs" if path == DOCS_PATH else "api"
        return self._encoded[(kind, scope.get("scheme") == "https")]

    def _made(self, kind: str, tls: bool) -> list[tuple[bytes, bytes]]:
        """The headers of an answer to a ``kind`` of path (``asset``, ``docs``, ``api``), over TLS or not (made once:
        every answer of a kind carries the same)."""
        return _headers(kind, tls, self.docs_policy)


def api_headers(tls: bool) -> list[tuple[bytes, bytes]]:
    """The headers :class:`SecurityHeaders` adds to an answer of the API (not ``/docs``), over TLS or not: for an
    answer written before the application runs (:mod:`.wire`)."""
    return _headers("api", tls, docs_policy="")


def _headers(kind: str, tls: bool, docs_policy: str) -> list[tuple[bytes, bytes]]:
    """The headers of an answer to a ``kind`` of path, encoded as ASGI sends them."""
    added = [
        ("cache-control", "no-cache" if kind == "asset" else "no-store"),
        ("content-security-policy", docs_policy if kind == "docs" else API_POLICY),
        *_ALWAYS,
    ]
    if tls:
        added.append(("strict-transport-security", HSTS))
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in added]
