"""``/console/setup``: the first user of a console without any, made with the setup code ``motcua serve`` printed.

- ``GET /console/setup``: the form (the code, a name, a password twice), with a one-time token also set in a
  short-lived cookie (``motcua_setup``, double submit, as the sign-in form's): a form posted from another site is
  refused.
- ``POST /console/setup``: the code is checked first (:meth:`~.first_run.FirstRun.check`: a wrong one is refused in
  words and counted; too many lock the page for a while); then the name and the password, by the bounds of
  ``motcua user create``; then the user is added only if there is still no user at all
  (:meth:`~motcua.adapters.users.UserStore.add_first_user`, one atomic step: two setups at once make one user), the
  code is voided and the new user is signed in (a new session).

The first user holds the role ``operator`` and every unit (``--all-units``): they see every page and every dossier,
run the operations and audit pages, and make the others with ``motcua user create``. They are *not* given
``officer`` or ``leader``: receiving and signing dossiers is done in a person's own name, by accounts made for
those people — the first account is whoever set the server up.

The page exists only while there is no user: once one exists (made here or by ``motcua user create``) it answers
404 and the code is void — but for the form that made the user posted again (a double click, at once or after: its
token and cookie), sent on to the console (``/console/``: the desk, or the sign-in form for a browser that did not
keep the first post's session).
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations.

import hmac
import logging
import secrets
from typing import Annotated, Final

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from motcua.adapters.users import NAME_MAX, PASSWORD_MAX, PASSWORD_MIN, check_name, check_password, new_user
from motcua.entrypoints.console.auth import secure_cookie, start_session
from motcua.entrypoints.console.base import NOT_FOUND_MESSAGE, PREFIX, Console, PageError, router
from motcua.entrypoints.console.first_run import CODE_MAX, FirstUser, SetupCheck
from motcua.workflow.errors import InvalidInput

__all__ = ["FIRST_USER_ROLES", "SETUP_COOKIE", "routes"]

SETUP_COOKIE: Final = "motcua_setup"
FIRST_USER_ROLES: Final = ("operator",)
_TOKEN_AGE: Final = 1800  # seconds a setup form stays valid
_PATH: Final = f"{PREFIX}/setup"
_EXPIRED: Final = "Biểu mẫu thiết lập đã hết hạn. Hãy tải lại trang thiết lập."
_WRONG: Final = "Mã thiết lập không đúng. Hãy xem lại dòng “Mã thiết lập bảng điều khiển” trên màn hình máy chủ."
_LOCKED: Final = "Nhập sai mã quá nhiều lần: trang thiết lập tạm khóa. Hãy thử lại sau {minutes} phút."
_DIFFERENT: Final = "Hai lần nhập mật khẩu không giống nhau."
_BAD_NAME: Final = ("Tên đăng nhập gồm 1 đến 64 chữ cái không dấu, chữ số, dấu chấm, gạch ngang, @ và gạch dưới, "
                    "bắt đầu bằng chữ cái hoặc chữ số.")
_BAD_PASSWORD: Final = f"Mật khẩu có từ {PASSWORD_MIN} đến {PASSWORD_MAX} ký tự."
log = logging.getLogger("motcua.console")


def routes(console: Console) -> APIRouter:
    pages = router(console)

    @pages.get("/setup")
    def setup_form(request: Request) -> Response:
        _still_open(console)
        return _form(console, request)

    @pages.post("/setup")
    def setup_post(  # noqa: PLR0917 - one parameter per form field, as FastAPI reads them
        request: Request,
        code: Annotated[str, Form(max_length=CODE_MAX)],
        name: Annotated[str, Form(max_length=NAME_MAX)],
        password: Annotated[str, Form(max_length=PASSWORD_MAX)],
        again: Annotated[str, Form(max_length=PASSWORD_MAX)],
        form_token: Annotated[str, Form(alias="setup_token", max_length=100)] = "",
    ) -> Response:
        expected = request.cookies.get(SETUP_COOKIE, "")
        genuine = bool(expected) and hmac.compare_digest(form_token.encode(), expected.encode())
        if genuine and console.first_run.made_with(form_token):  # the form that made the user, posted again
            return _to_console()
        _still_open(console)
        if not genuine:
            raise PageError(403, _EXPIRED)
        refusal = _code_refusal(console, code)
        if refusal is not None:
            return _form(console, request, name=name, error=refusal[1], status_code=refusal[0])
        problem = _input_problem(name.strip(), password, again)
        if problem is not None:
            return _form(console, request, name=name, error=problem, status_code=422)
        user = new_user(name.strip(), password, FIRST_USER_ROLES, console.clock.now())
        made = console.first_run.make_first(form_token, lambda: console.users.add_first_user(user))
        if made is FirstUser.AGAIN:  # a double click: the other post made the user meanwhile
            return _to_console()
        if made is FirstUser.TAKEN:  # another setup (or `motcua user create`) came first
            raise PageError(404, NOT_FOUND_MESSAGE)
        log.info("console.setup.done")
        response = start_session(console, request, user.name, f"{PREFIX}/")
        response.delete_cookie(SETUP_COOKIE, path=_PATH)
        return response

    return pages


def _to_console() -> Response:
    """The answer to the setup form posted again once it made the user: the desk (the sign-in form, for a browser
    that did not keep the first post's session)."""
    response = RedirectResponse(f"{PREFIX}/", status_code=303)
    response.delete_cookie(SETUP_COOKIE, path=_PATH)
    return response


def _still_open(console: Console) -> None:
    """A 404 page unless this process holds a setup code and there is still no user (one found voids the code)."""
    if not console.first_run.is_open:
        raise PageError(404, NOT_FOUND_MESSAGE)
    if console.users.has_users():
        console.first_run.close()
        raise PageError(404, NOT_FOUND_MESSAGE)


def _code_refusal(console: Console, code: str) -> tuple[int, str] | None:
    """The status and words refusing ``code``, or None when it is the setup code."""
    verdict = console.first_run.check(code, console.clock.now(), console.policy)
    if verdict is SetupCheck.ACCEPTED:
        return None
    if verdict is SetupCheck.CLOSED:
        raise PageError(404, NOT_FOUND_MESSAGE)
    log.info("console.setup.refused", extra={"verdict": verdict.value})
    if verdict is SetupCheck.LOCKED:
        minutes = int(console.policy.lock_for.total_seconds() // 60)
        return 429, _LOCKED.format(minutes=minutes)
    return 401, _WRONG


def _input_problem(name: str, password: str, again: str) -> str | None:
    """What is wrong with the name or the password (the bounds of ``motcua user create``), in words."""
    if not hmac.compare_digest(password.encode(), again.encode()):
        return _DIFFERENT
    try:
        check_name(name)
        check_password(password)
    except InvalidInput as error:
        return _BAD_PASSWORD if error.field == "password" else _BAD_NAME
    return None


def _form(console: Console, request: Request, *, name: str = "", error: str | None = None,
          status_code: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    response = console.render(request, None, "setup.html", status_code=status_code, setup_token=token, error=error,
                              name=name[:NAME_MAX], code_max=CODE_MAX, name_max=NAME_MAX, password_min=PASSWORD_MIN,
                              password_max=PASSWORD_MAX)
    response.set_cookie(SETUP_COOKIE, token, max_age=_TOKEN_AGE, path=_PATH, secure=secure_cookie(console, request),
                        httponly=True, samesite="strict")
    return response
