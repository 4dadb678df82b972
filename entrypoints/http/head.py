"""``HEAD`` answered as ``GET`` without the body (RFC 9110, 9.3.2: every general-purpose server supports GET and HEAD).

FastAPI routes a request by the methods each route declares, and its ``GET`` routes declare no ``HEAD``: a monitor
probing ``HEAD /healthz``, or a client asking for a dossier's ``ETag`` alone, was answered ``405``. :class:`HeadAsGet`
(a plain ASGI middleware) runs a ``HEAD`` request as the ``GET`` it stands for — the same key, checks, status and
headers, ``Content-Length`` included — and sends none of the body. A route that takes no ``GET`` answers ``HEAD``
with its ``405``, whose ``Allow`` names ``HEAD`` wherever it names ``GET`` (:func:`allowed`).
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HeadAsGet", "allowed"]


class HeadAsGet:
    """ASGI middleware: a ``HEAD`` request runs as ``GET``, and its answer goes out without a byte of body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def bodiless(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, bodiless)


def allowed(headers: Mapping[str, str] | None) -> dict[str, str]:
    """The headers of a 405: ``Allow`` with ``HEAD`` wherever it has ``GET`` (:class:`HeadAsGet` answers it)."""
    chosen = dict(headers or {})
    methods = [method.strip() for method in chosen.get("Allow", "").split(",") if method.strip()]
    if "GET" in methods and "HEAD" not in methods:
        chosen["Allow"] = ", ".join([*methods, "HEAD"])
    return chosen
