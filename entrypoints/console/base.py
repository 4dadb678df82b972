"""What every page of the console shares: the signed-in user, the page renderer, the guards, the error pages.

A page module exposes ``routes(console) -> APIRouter`` built with :func:`router` (its routes are
:class:`ConsoleRoute`: every answer carries :data:`HEADERS`, and an error becomes a page, never a stack trace).
A route that needs a signed-in user takes ``Depends(console.signed_in)`` (a :class:`ConsoleUser`; a browser
without a live session is sent to ``/console/sign-in?next=…``: the page, or for a form posted the page it was on),
or ``Depends(console.requires("operator", "auditor"))`` (the same, and a 403 page for a user with none of those
roles). A POST takes ``Depends(console.posted)`` — the user, once :func:`verify_csrf` found the session's token in
the form field ``csrf_token`` (or the ``X-CSRF-Token`` header, for htmx) — or calls :func:`verify_csrf` itself,
then reads the form it parsed by :func:`posted_fields` (a field sent twice: a 400 page).

A user sees and moves dossiers exactly as an API key with the same roles and scope would:
:meth:`Console.cases` is the same :class:`~motcua.workflow.access.cases.ScopedCases` the HTTP API holds, so a
dossier outside the scope is the same "not found" as a code never issued.
"""

# No `from __future__ import annotations`: FastAPI reads the dependencies' annotations.

import hmac
import logging
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from http import HTTPStatus
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from motcua.adapters.bootstrap import Motcua
from motcua.adapters.keys import RecordSweep
from motcua.adapters.users import CONSOLE_ROLES, SignInPolicy, UserStore, session_key
from motcua.entrypoints.console.first_run import FirstRun
from motcua.entrypoints.console.throttle import AddressThrottle
from motcua.entrypoints.http.composed import unreadable_query
from motcua.workflow.access.cases import ScopedCases
from motcua.workflow.access.scope import Scope
from motcua.workflow.engine.clock import Clock, SystemClock, to_vietnam_time
from motcua.workflow.engine.model import Actor
from motcua.workflow.errors import (
    CaseNotFound,
    ConcurrencyConflict,
    InvalidInput,
    MotcuaError,
    NoRuleSetInForce,
    NotFound,
    Retryable,
)

__all__ = [
    "CONSOLE_POLICY",
    "CONSOLE_ROLES",
    "CSRF_FIELD",
    "HEADERS",
    "PREFIX",
    "SESSION_COOKIE",
    "SESSION_ID_MAX",
    "TOO_LARGE_MESSAGE",
    "Console",
    "ConsoleRoute",
    "ConsoleUser",
    "NavItem",
    "PageError",
    "SignInRequired",
    "posted_fields",
    "router",
    "verify_csrf",
]

PREFIX: Final = "/console"
SESSION_COOKIE: Final = "motcua_session"
SESSION_ID_MAX: Final = 128  # characters of a session cookie worth looking up (an id is 43)
NEXT_MAX: Final = 1000  # characters of the page to go back to after signing in
CSRF_FIELD: Final = "csrf_token"
CSRF_HEADER: Final = "x-csrf-token"
TEMPLATES_DIR: Final = Path(__file__).with_name("templates")
STATIC_DIR: Final = Path(__file__).with_name("static")
CONSOLE_POLICY: Final = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                         "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS: Final = {
    "Content-Security-Policy": CONSOLE_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
"""On every console answer (the HTTP API's :class:`~motcua.entrypoints.http.security.SecurityHeaders` keeps a
header an answer already has, and adds HSTS over TLS)."""
log = logging.getLogger("motcua.console")


@dataclass(frozen=True, slots=True)
class NavItem:
    url: str
    label: str
    roles: frozenset[str] | None = None  # None: every signed-in user


NAVIGATION: Final = (
    NavItem(f"{PREFIX}/", "Bàn làm việc"),
    NavItem(f"{PREFIX}/dossiers", "Hồ sơ"),
    NavItem(f"{PREFIX}/reports", "Báo cáo"),
    NavItem(f"{PREFIX}/plan", "Kế hoạch CCHC"),
    NavItem(f"{PREFIX}/workflows", "Quy trình"),
    NavItem(f"{PREFIX}/operations", "Vận hành", frozenset({"operator"})),
    NavItem(f"{PREFIX}/audit", "Nhật ký", frozenset({"operator", "auditor"})),
)


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    """The signed-in user: their actor (roles but ``system``) and scope, built by the rules of an API key."""

    name: str
    roles: frozenset[str]
    units: tuple[str, ...] | None
    scope: Scope
    actor: Actor
    csrf_token: str = field(repr=False)
    session_key: str = field(repr=False)

    def holds(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))

    @property
    def scope_label(self) -> str:
        """The scope as the pages name it: "tất cả đơn vị" for every unit (the scope's own label is the API's,
        "every unit"), else the scope's label (its unit codes, or the province)."""
        return "tất cả đơn vị" if self.scope.unlimited else self.scope.label


class SignInRequired(Exception):
    """No live session: the browser is sent to the sign-in page, then back to ``next``."""

    def __init__(self, next_url: str) -> None:
        super().__init__("sign in")
        self.next_url = next_url


class PageError(Exception):
    """An error page: ``status`` with ``message`` (Vietnamese, for the user; never a stack trace)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


NOT_FOUND_MESSAGE: Final = "Không tìm thấy trang hoặc hồ sơ này."
FORBIDDEN_MESSAGE: Final = "Tài khoản của bạn không có quyền xem trang này."
CSRF_MESSAGE: Final = "Biểu mẫu đã hết hạn hoặc không hợp lệ. Hãy tải lại trang rồi thử lại."
CONTROL_MESSAGE: Final = "Địa chỉ có ký tự điều khiển không hợp lệ."
UNREADABLE_MESSAGE: Final = "Địa chỉ có ký tự không đọc được (không phải văn bản UTF-8)."
REPEATED_QUERY_MESSAGE: Final = "Địa chỉ có một tham số được gửi hai lần."
REPEATED_FIELD_MESSAGE: Final = "Biểu mẫu có một trường được gửi hai lần. Hãy tải lại trang rồi thử lại."
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
FAILED_MESSAGE: Final = "Hệ thống gặp lỗi; lỗi đã được ghi lại. Hãy thử lại sau."
_TITLES: Final = {400: "Yêu cầu không hợp lệ", 403: "Không có quyền", 404: "Không tìm thấy",
                  405: "Không hỗ trợ", 409: "Xung đột", 413: "Dữ liệu gửi lên quá lớn", 500: "Lỗi hệ thống",
                  503: "Tạm thời không sẵn sàng"}
TOO_LARGE_MESSAGE: Final = ("Tệp hoặc biểu mẫu gửi lên lớn hơn giới hạn của máy chủ (thiết lập MOTCUA_HTTP_MAX_BODY). "
                            "Với một tệp dấu neo lớn, hãy kiểm tra bằng lệnh: motcua verify --anchor TỆP.")


def _templates() -> Jinja2Templates:
    environment = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html"]),
                              trim_blocks=True, lstrip_blocks=True)
    environment.filters["vntime"] = _vietnam_time
    return Jinja2Templates(env=environment)


def _vietnam_time(instant: datetime | None, spec: str = "%d/%m/%Y %H:%M") -> str:
    return "" if instant is None else to_vietnam_time(instant).strftime(spec)


@dataclass(frozen=True)
class Console:
    """What the pages need: the engine, the users and sessions, the clock, the templates, the sign-in policy (its
    ``secure_cookie`` None by default: the session cookie is Secure when the request came over HTTPS — uvicorn sets
    the scheme from TLS or a trusted proxy's X-Forwarded-Proto). ``first_run``: the setup code of a console without
    users (:mod:`~motcua.entrypoints.console.first_run`; closed until ``motcua serve`` opens it)."""

    motcua: Motcua
    users: UserStore
    clock: Clock = field(default_factory=SystemClock)
    policy: SignInPolicy = field(default_factory=SignInPolicy)
    templates: Jinja2Templates = field(default_factory=_templates)
    first_run: FirstRun = field(default_factory=FirstRun)

    @cached_property
    def throttle(self) -> AddressThrottle:
        """Failed sign-ins per client address (:mod:`~motcua.entrypoints.console.throttle`), by the policy."""
        return AddressThrottle(limit=self.policy.address_failures, window=self.policy.lock_for)

    @cached_property
    def record_sweep(self) -> RecordSweep:
        """Deletes the reception forms' idempotency records older than a day, now and then."""
        return RecordSweep(self.motcua.backend.keys)

    def cases(self, user: ConsoleUser) -> ScopedCases:
        """The dossiers as ``user`` may see and move them (as an API key with the same grant)."""
        motcua = self.motcua
        return ScopedCases(motcua.service, motcua.store, motcua.desk, user.scope)

    def render(self, request: Request, user: ConsoleUser | None, template: str, status_code: int = 200,
               **context: Any) -> HTMLResponse:
        """``template`` with ``context``, the user, their CSRF token and the navigation they may follow."""
        navigation = [item for item in NAVIGATION if user is not None and (item.roles is None or user.holds(
            *item.roles))]
        values = {"request": request, "user": user, "csrf_token": user.csrf_token if user else "",
                  "csrf_field": CSRF_FIELD, "navigation": navigation, "prefix": PREFIX,
                  "path": request.url.path, **context}
        response = self.templates.TemplateResponse(request, template, values, status_code=status_code)
        response.headers.update(HEADERS)
        return response

    def error_page(self, request: Request, status: int, message: str,
                   user: ConsoleUser | None = None) -> HTMLResponse:
        return self.render(request, user, "error.html", status_code=status, status=status,
                           title=_TITLES.get(status, "Lỗi"), message=message)

    def current_user(self, request: Request) -> ConsoleUser | None:
        """The user of the request's live session, or None."""
        session_id = request.cookies.get(SESSION_COOKIE)
        if not session_id or len(session_id) > SESSION_ID_MAX:
            return None
        key = session_key(session_id)
        session = self.users.session(key)
        if session is None or session.expires_at <= self.clock.now():
            return None
        user = self.users.user(session.user)
        if user is None or user.disabled_at is not None:
            return None
        desk = self.motcua.desk
        return ConsoleUser(user.name, frozenset(user.actor.roles), user.units, user.scope(desk.units, desk.today()),
                           user.actor, session.csrf_token, key)

    def signed_in(self, request: Request) -> ConsoleUser:
        """A FastAPI dependency: the signed-in user; else the browser goes to the sign-in page."""
        user = self.current_user(request)
        if user is None:
            raise SignInRequired(_local_url(request))
        return user

    def requires(self, *roles: str) -> Callable[[Request], ConsoleUser]:
        """A FastAPI dependency: the signed-in user holding one of ``roles``; else a 403 page."""
        def dependency(request: Request) -> ConsoleUser:
            user = self.signed_in(request)
            if not user.holds(*roles):
                raise PageError(403, FORBIDDEN_MESSAGE)
            return user

        return dependency

    async def posted(self, request: Request) -> ConsoleUser:
        """A FastAPI dependency for a POST: the signed-in user (their session read on the thread pool, as a ``def``
        dependency's), once the form carried their CSRF token."""
        user = await run_in_threadpool(self.signed_in, request)
        await verify_csrf(request, user)
        return user


_READS: Final = frozenset({"GET", "HEAD"})


def _local_url(request: Request) -> str:
    """Where to come back after signing in: this page (its path and query); for a form posted (a POST cannot be
    followed again, and a GET of its address is a 405 page), the console page of this site it was posted from (the
    ``Referer``, which the console's ``Referrer-Policy: same-origin`` sends), else the desk. Never another site."""
    if request.method in _READS:
        query = f"?{request.url.query}" if request.url.query else ""
        return f"{request.url.path}{query}"
    referer = urlsplit(request.headers.get("referer", ""))
    if (referer.scheme, referer.netloc) != (request.url.scheme, request.url.netloc):
        return f"{PREFIX}/"
    return safe_next(f"{referer.path}?{referer.query}" if referer.query else referer.path)


def safe_next(target: str | None) -> str:
    """``target`` if it is a console page of this site, else the desk (no open redirect)."""
    plain = target is not None and len(target) <= NEXT_MAX and target.isascii() and target.isprintable() \
        and " " not in target and "\\" not in target
    return target if plain and target is not None and target.startswith(f"{PREFIX}/") else f"{PREFIX}/"


async def verify_csrf(request: Request, user: ConsoleUser) -> None:
    """A 403 page unless the request carries ``user``'s CSRF token (form field ``csrf_token``, or the
    ``X-CSRF-Token`` header)."""
    presented = request.headers.get(CSRF_HEADER)
    if presented is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        presented = value if isinstance(value, str) else None
    if not presented or not hmac.compare_digest(presented.encode(), user.csrf_token.encode()):
        raise PageError(403, CSRF_MESSAGE)


def posted_fields(form: FormData) -> dict[str, str]:
    """The text fields of a form posted, by name; a 400 page for a field sent twice (a page's form sends each of its
    fields once: which of two values is meant is no guess to make)."""
    names = [name for name, _ in form.multi_items()]
    if len(set(names)) != len(names):
        raise PageError(400, REPEATED_FIELD_MESSAGE)
    return {name: value for name, value in form.multi_items() if isinstance(value, str)}


def sign_in_redirect(request: Request, next_url: str) -> Response:
    """To the sign-in form, then back to ``next_url``. A request of htmx (``HX-Request``) is answered by an
    ``HX-Redirect`` instead: htmx would follow a 303 inside its request and swap the sign-in page's results (none)
    into the page, the address bar showing the sign-in form's; the whole page goes to the form instead."""
    target = f"{PREFIX}/sign-in?next={quote(next_url, safe='')}"
    if request.headers.get("hx-request") == "true":
        response = Response(status_code=204, headers={"HX-Redirect": target})
    else:
        response = RedirectResponse(target, status_code=303)
    response.headers.update(HEADERS)
    return response


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class ConsoleRoute(APIRoute):
    """A console route: its answer carries :data:`HEADERS`; a refusal or a failure becomes an error page (a typed
    error in words, a 404 identical for a code outside the scope and one never issued, a 500 without a trace). An
    address holding a control character, or a query that is not UTF-8 text (its path and query reach the route in NFC:
    :mod:`motcua.entrypoints.http.composed`), or a query naming a parameter twice, is a 400 page before the route
    runs."""

    console: Console  # set by router()

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        console = self.console

        async def page(request: Request) -> Response:
            try:
                if _has_control(request):  # a NUL reaches no database: PostgreSQL refuses it (a misleading 409)
                    raise PageError(400, CONTROL_MESSAGE)
                if unreadable_query(request.scope):  # bytes that are no text: a filter of them would match nothing
                    raise PageError(400, UNREADABLE_MESSAGE)
                if _repeated(request):  # which of two values is meant is no guess to make (the API refuses it too)
                    raise PageError(400, REPEATED_QUERY_MESSAGE)
                response = await handler(request)
            except Exception as error:  # every failure of a page is answered by a page (its user read on the pool)
                response = await run_in_threadpool(_answer, console, request, error)
            for name, value in HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return page


def _has_control(request: Request) -> bool:
    """Whether the address (its path's values or its query) holds a control character, which no code, name,
    state or date holds."""
    values = [*request.path_params.values(), *(value for _, value in request.query_params.multi_items())]
    return any(isinstance(value, str) and _CONTROL.search(value) for value in values)


def _repeated(request: Request) -> bool:
    """Whether a name is given twice in the query (no console page takes a list there)."""
    names = [name for name, _ in request.query_params.multi_items()]
    return len(set(names)) != len(names)


def _answer(console: Console, request: Request, error: Exception) -> Response:
    if isinstance(error, SignInRequired):
        return sign_in_redirect(request, error.next_url)
    status, message = _status_of(error)
    return console.error_page(request, status, message, _quietly_user(console, request))


_KNOWN: Final[tuple[tuple[type[Exception], int, str], ...]] = (
    (CaseNotFound, 404, NOT_FOUND_MESSAGE),
    (NotFound, 404, NOT_FOUND_MESSAGE),
    (RequestValidationError, 400, "Dữ liệu gửi lên không hợp lệ."),
    (InvalidInput, 400, "Dữ liệu gửi lên không hợp lệ."),
    (ConcurrencyConflict, 409, "Hồ sơ đã được người khác thay đổi. Hãy tải lại trang."),
    # a report of a period no rule set covers (the scorecard's points are the rule set's): a question, not a refusal
    (NoRuleSetInForce, 400,
     "Không lập được báo cáo: không có bộ quy tắc nào có hiệu lực vào ngày cuối của kỳ đã chọn."),
    (Retryable, 503, "Hệ thống tạm thời không sẵn sàng. Hãy thử lại sau ít phút."),  # the database is out of reach
    (MotcuaError, 409, "Yêu cầu không thực hiện được với hồ sơ ở trạng thái này."),
)
"""Errors a page did not answer itself, most specific first: the status and the words of their page."""


def _status_of(error: Exception) -> tuple[int, str]:
    """The status and the words of an error page for ``error`` (a failure is logged, its trace never shown)."""
    if isinstance(error, PageError):
        return error.status, error.message
    if isinstance(error, HTTPException):
        return error.status_code, _http_message(error.status_code)
    for kind, status, message in _KNOWN:
        if isinstance(error, kind):
            if status >= HTTPStatus.CONFLICT:  # a refusal or an outage, not a mistyped address: worth a line
                log.warning("console.refused", extra={"error": type(error).__name__, "status": status})
            return status, message
    log.error("console.error", exc_info=error)
    return 500, FAILED_MESSAGE


def _http_message(status: int) -> str:
    return {404: NOT_FOUND_MESSAGE, 403: FORBIDDEN_MESSAGE, 405: "Phương thức không được hỗ trợ ở địa chỉ này.",
            413: TOO_LARGE_MESSAGE}.get(status, "Yêu cầu không thực hiện được.")


def _quietly_user(console: Console, request: Request) -> ConsoleUser | None:
    """The user, for the error page's navigation; None when even that fails (a database down)."""
    try:
        return console.current_user(request)
    except Exception:  # the error page is shown whatever happened
        return None


def router(console: Console) -> APIRouter:
    """A page module's router: its routes are :class:`ConsoleRoute` of ``console``, under ``/console``."""
    route_class = type("BoundConsoleRoute", (ConsoleRoute,), {"console": console})
    return APIRouter(prefix=PREFIX, route_class=route_class, include_in_schema=False)


async def http_error_page(console: Console, request: Request, status: int) -> Response:
    """The page for an error the framework raised before any console route ran (an unknown console address); its user
    is read on the thread pool, as a page's."""
    user = await run_in_threadpool(_quietly_user, console, request)
    return console.error_page(request, status, _http_message(status), user)

