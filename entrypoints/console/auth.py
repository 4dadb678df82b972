"""Signing in and out of the console.

- ``GET /console/sign-in``: the form. It carries a one-time token also set in a short-lived cookie
  (``motcua_signin``, double submit): a form posted from another site, which cannot read that cookie, is refused.
- ``POST /console/sign-in``: name and password (:func:`~motcua.adapters.users.sign_in`: Argon2 verification, lock-out
  after repeated failures), unless the client's address has failed too often lately (:mod:`.throttle`: ``429`` with
  ``Retry-After``, the password not checked; the failures of a name that then signs in from there are taken back). On
  success a *new* session is made, whatever session id the browser brought (no fixation), and set in an HttpOnly,
  SameSite=Strict cookie, Secure over HTTPS; the browser goes on to ``next`` (a console page of this site only). A
  refusal says the same thing for a wrong name, a wrong password, a disabled or a locked-out user. While no user exists
  at all, the page says how the first one is made: the setup page with the code ``motcua serve`` printed
  (:mod:`.setup`), or ``motcua user create``.
- ``POST /console/sign-out`` (with the session's CSRF token): the session is deleted and the cookie cleared.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations.

import hmac
import logging
import math
import secrets
from datetime import timedelta
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from motcua.adapters.users import NAME_MAX, PASSWORD_MAX, PasswordsBusy, new_session, session_key, sign_in
from motcua.entrypoints.console.base import (
    HEADERS,
    PREFIX,
    SESSION_COOKIE,
    SESSION_ID_MAX,
    Console,
    ConsoleUser,
    PageError,
    router,
    safe_next,
)

__all__ = ["SIGN_IN_COOKIE", "routes", "secure_cookie", "start_session"]

SIGN_IN_COOKIE: Final = "motcua_signin"
_SIGN_IN_TOKEN_AGE: Final = 1800  # seconds a sign-in form stays valid
_REFUSED: Final = "Tên đăng nhập hoặc mật khẩu không đúng, hoặc tài khoản đang bị tạm khóa."
log = logging.getLogger("motcua.console")


def routes(console: Console) -> APIRouter:
    pages = router(console)

    @pages.get("/sign-in")
    def sign_in_form(request: Request, next_url: Annotated[str | None, Query(alias="next", max_length=1000)] = None,
                     ) -> Response:
        return _form(console, request, safe_next(next_url))

    @pages.post("/sign-in")
    def sign_in_post(
        request: Request,
        name: Annotated[str, Form(max_length=NAME_MAX)],
        password: Annotated[str, Form(max_length=PASSWORD_MAX)],
        form_token: Annotated[str, Form(alias="signin_token", max_length=100)] = "",
        next_url: Annotated[str | None, Form(alias="next", max_length=1000)] = None,
    ) -> Response:
        target = safe_next(next_url)
        expected = request.cookies.get(SIGN_IN_COOKIE, "")
        if not expected or not hmac.compare_digest(form_token.encode(), expected.encode()):
            raise PageError(403, "Biểu mẫu đăng nhập đã hết hạn. Hãy tải lại trang đăng nhập.")
        now, host = console.clock.now(), request.client.host if request.client else None
        name = name.strip()  # the name as the store is asked for it, and as the throttle counts it
        wait = console.throttle.attempt(host, name, now)  # counted as failed already, until it succeeds
        if wait is not None:
            log.info("console.sign_in.throttled")  # never the address nor the name: personal data
            return _throttled(console, request, target, wait)
        try:
            user = sign_in(console.users, name, password, now, console.policy)
        except PasswordsBusy:
            console.throttle.take_back(host, name, now)  # no password checked: no guess
            raise
        if user is None:
            log.info("console.sign_in.refused")
            return _form(console, request, target, error=_REFUSED, status_code=401)
        console.throttle.signed_in(host, name, now)  # its earlier failures were typos, not guesses at other names
        log.info("console.sign_in")
        response = start_session(console, request, user.name, target)
        response.delete_cookie(SIGN_IN_COOKIE, path=f"{PREFIX}/sign-in")
        return response

    @pages.post("/sign-out")
    def sign_out(request: Request, user: Annotated[ConsoleUser, Depends(console.posted)]) -> Response:
        console.users.end_session(user.session_key)
        response = RedirectResponse(f"{PREFIX}/sign-in", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=PREFIX, secure=secure_cookie(console, request), httponly=True,
                               samesite="strict")
        return response

    return pages


def start_session(console: Console, request: Request, name: str, target: str) -> Response:
    """A *new* session for the user ``name`` (whatever session the browser brought ends: no fixation), in an
    HttpOnly, SameSite=Strict cookie; the browser goes on to ``target``."""
    now = console.clock.now()
    ended = request.cookies.get(SESSION_COOKIE)
    if ended and len(ended) <= SESSION_ID_MAX:
        console.users.end_session(session_key(ended))  # whatever session the browser brought ends here
    session_id, session = new_session(name, now, console.policy.session_lifetime)
    console.users.add_session(session)
    console.users.purge_sessions(now)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, session_id, max_age=int(console.policy.session_lifetime.total_seconds()),
                        path=PREFIX, secure=secure_cookie(console, request), httponly=True, samesite="strict")
    return response


def _throttled(console: Console, request: Request, target: str, wait: timedelta) -> Response:
    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    response = _form(console, request, target, status_code=429, error=(
        f"Có quá nhiều lần đăng nhập không thành công từ địa chỉ này. Hãy thử lại sau {minutes} phút."))
    response.headers["Retry-After"] = str(max(1, math.ceil(wait.total_seconds())))
    return response


def _form(console: Console, request: Request, target: str, *, error: str | None = None,
          status_code: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    no_user = not console.users.has_users()  # the page says how the first user is made
    response = console.render(request, None, "sign_in.html", status_code=status_code, next_url=target,
                              signin_token=token, error=error, no_user=no_user,
                              setup_open=no_user and console.first_run.is_open)
    response.set_cookie(SIGN_IN_COOKIE, token, max_age=_SIGN_IN_TOKEN_AGE, path=f"{PREFIX}/sign-in",
                        secure=secure_cookie(console, request), httponly=True, samesite="strict")
    response.headers.update(HEADERS)
    return response


def secure_cookie(console: Console, request: Request) -> bool:
    chosen = console.policy.secure_cookie
    return request.url.scheme == "https" if chosen is None else chosen
