"""The console mounted into the HTTP application: every page module's routes, the static files, the error pages.

``mount_console(app, console)`` is called by :func:`~motcua.entrypoints.http.app.create_app` before it secures
the app; ``/`` is sent to the console's desk. An unknown address under ``/console`` is answered by the console's
404 page (an HTML page with the console's headers); every other address keeps the HTTP API's problem documents.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Final

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from motcua.adapters.bootstrap import Motcua
from motcua.adapters.users import policy_from_settings
from motcua.entrypoints.console import auth, desk, dossier, operations, reception, reports, setup, workflows
from motcua.entrypoints.console.base import PREFIX, STATIC_DIR, Console, http_error_page
from motcua.workflow.engine.clock import Clock

__all__ = ["STATIC_PATH", "ConsoleTooLarge", "console_of", "mount_console"]

STATIC_PATH: Final = f"{PREFIX}/static"
_PAGES: Final = (auth, setup, desk, reception, dossier, reports, workflows, operations)  # reception before dossier


def console_of(app: FastAPI, motcua: Motcua, clock: Clock) -> None:
    """Mount the console over ``motcua``, its users on the store's database (in memory beside a memory store), with
    the sign-in policy of the ``MOTCUA_CONSOLE_*`` settings (:func:`~motcua.adapters.users.policy_from_settings`:
    a bad one stops the app from being built). The console is kept as ``app.state.console`` (``motcua serve`` opens
    its first-run setup there)."""
    console = Console(motcua, motcua.backend.users, clock, policy_from_settings())
    app.state.console = console
    mount_console(app, console)


def mount_console(app: FastAPI, console: Console) -> None:
    """Add the console's pages to ``app`` (after its exception handlers are installed)."""
    for module in _PAGES:
        app.include_router(module.routes(console))
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC_DIR), name="console-static")

    def home() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", status_code=307)  # a path, not a URL: the browser keeps its scheme

    app.add_api_route("/", home, methods=["GET"], include_in_schema=False)
    app.add_api_route(PREFIX, home, methods=["GET"], include_in_schema=False)  # the app redirects no other slash
    _console_errors(app, console)
    app.add_middleware(ConsoleTooLarge, console=console)  # outside the request-size limit: it sees its 413


def _console_path(path: str) -> bool:
    return path == PREFIX or path.startswith(f"{PREFIX}/")


class ConsoleTooLarge:
    """ASGI middleware: a 413 under ``/console`` — the HTTP app's request-size limit answers it with a problem
    document before any page runs (an anchor file, a form past ``MOTCUA_HTTP_MAX_BODY``) — becomes the console's
    413 page, in words, with the console's headers; the problem document's body is dropped."""

    def __init__(self, app: ASGIApp, console: Console) -> None:
        self.app = app
        self.console = console

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _console_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        replaced = False

        async def sending(message: Message) -> None:
            nonlocal replaced
            if replaced:
                return  # the problem document's body
            if message["type"] == "http.response.start" and message["status"] == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
                replaced = True
                page = await http_error_page(self.console, Request(scope), HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
                page.headers["Connection"] = "close"  # the client may still be sending: the connection is done
                await page(scope, receive, send)
                return
            await send(message)

        await self.app(scope, receive, sending)


def _console_errors(app: FastAPI, console: Console) -> None:
    """An HTTP error under ``/console`` (no such page, a method not allowed) as a console page; the API's
    handler answers everything else."""
    api_handler = app.exception_handlers.get(HTTPException)

    async def on_http(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        if _console_path(request.url.path) or api_handler is None:
            return await http_error_page(console, request, error.status_code)
        answer = api_handler(request, error)
        assert not isinstance(answer, Response), "the API's handler is a coroutine"
        return await answer

    app.add_exception_handler(HTTPException, on_http)
