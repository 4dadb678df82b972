"""Receiving a dossier at the desk (tiếp nhận hồ sơ): the form and its post.

- ``GET /console/dossiers/new``: the form, its fields and labels the dossier workflow's opening data
  (``Mã thủ tục hành chính``, ``Kênh thực hiện``, ``Chủ hồ sơ``…): the procedure chosen from the catalogue, the
  receiving unit among the user's units (the one unit of a user of one unit, chosen for them).
- ``POST /console/dossiers/new`` (with ``csrf_token``): registers and receives the dossier through the user's
  :class:`~motcua.workflow.access.cases.ScopedCases` — a unit outside the scope is refused before a number is
  drawn —, the appointment set; 303 to the new dossier's page. A refusal (missing data, an unknown procedure, a
  unit outside the scope or not in force, an applicant's text out of the desk's bounds) is the form again, 422, said
  in words — a field's own problem beside it —, the values kept.

Each form served carries its own random key (``form_key``), claimed in the HTTP API's idempotency records (as an
``Idempotency-Key``, under the user's name) before anything is written: a form posted again — a double click, a
reload of the answer, a retry after a lost one — opens no second dossier, and is sent to the one the first post
opened; the dossier's number is reserved on the claim before it is opened, so a post retried after the server died
half-way finishes the first one's dossier. A post of the form while its first post still runs (a double click)
waits for it, :data:`IN_FLIGHT_WAIT` seconds at most, then goes where it went: to its dossier (or, the first refused,
is received or refused as itself). The same key with other values, or a first post still running after the wait, is
a 409 page. A refused form comes back with a new key (the refusal is not kept). A post without a key (not from this
form) is received as posted.

For users holding the role ``officer`` (the opening's and the reception's role at the desk); others get a 403 page.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations.

import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Final
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from motcua.adapters.keys import IdempotencyStore, StoredResponse
from motcua.entrypoints.console.base import (
    CSRF_FIELD,
    HEADERS,
    Console,
    ConsoleUser,
    PageError,
    posted_fields,
    router,
    verify_csrf,
)
from motcua.entrypoints.console.forms import DATA_PREFIX, FormField, form_fields, read_data
from motcua.entrypoints.console.refusals import FormProblems, bound_words, problem_words, refusal_text
from motcua.entrypoints.http.idempotency import fingerprint
from motcua.workflow.dossiers.catalogue import Channel
from motcua.workflow.dossiers.desk import APPLICANT_BOUNDS, DOSSIER_WORKFLOW, Applicant, TextBound, applicant_problems
from motcua.workflow.engine.bounds import id_number_problem
from motcua.workflow.engine.decisions import OPEN_TRIGGER
from motcua.workflow.engine.definition import WorkflowDefinition
from motcua.workflow.engine.model import JsonValue
from motcua.workflow.errors import CaseAlreadyExists, InvalidInput, MalformedData, MotcuaError

__all__ = ["FORM_KEY_FIELD", "IN_FLIGHT_WAIT", "OFFICER", "routes"]

OFFICER: Final = "officer"
_UNIT_FIELDS: Final = ("receiving_unit", "deciding_unit")
_FORM_MAX: Final = 64
_CHANNELS: Final[Mapping[str, Channel]] = {"direct": "direct", "online": "online", "postal": "postal"}
_PATH: Final = "/console/dossiers/new"
FORM_KEY_FIELD: Final = "form_key"
_FORM_KEY: Final = re.compile(r"[A-Za-z0-9_-]{20,64}")
_BAD_KEY: Final = "Biểu mẫu không hợp lệ. Hãy mở lại trang tiếp nhận hồ sơ."
_SENT_OTHERWISE: Final = "Biểu mẫu này đã được gửi với nội dung khác. Hãy mở lại trang tiếp nhận hồ sơ."
_IN_FLIGHT: Final = "Biểu mẫu này đang được tiếp nhận. Hãy xem danh sách hồ sơ sau giây lát."
IN_FLIGHT_WAIT: Final = 10.0
"""Seconds a post of a form waits for its first post still running (a double click), before a 409 page."""
_POLL: Final = 0.1  # seconds between two looks at the first post's claim


@dataclass(frozen=True, slots=True)
class _Claim:
    """A reception form's key claimed in the idempotency records (no ``records``: a post without a key, unclaimed);
    ``earlier``: the dossier number a first post of this form reserved, then died before it answered."""

    records: IdempotencyStore | None = None
    scope: str = ""
    key: str = ""
    at: datetime | None = None
    earlier: str | None = None

    def keep(self, code: str) -> None:
        if self.records is not None and self.at is not None:
            self.records.reserve(self.scope, self.key, self.at, code)

    def settle(self, answer: Response) -> None:
        """Keep the answer of a form received (its 303), so that the form posted again gets it; forget a refusal."""
        if self.records is None or self.at is None:
            return
        location = answer.headers.get("location")
        if answer.status_code == 303 and location is not None:  # noqa: PLR2004 - the dossier opened
            self.records.complete(self.scope, self.key, self.at, StoredResponse(303, {"location": location}, ""))
        else:
            self.release()

    def release(self) -> None:
        if self.records is not None and self.at is not None:
            self.records.release(self.scope, self.key, self.at)


def _claim(console: Console, user: ConsoleUser, posted: Mapping[str, str]) -> _Claim | str:
    """The claim of the posted form's key, or the address the form's first post was sent to (posted again; a first
    post still running waited for)."""
    key = posted.get(FORM_KEY_FIELD)
    if key is None:
        return _Claim()
    if _FORM_KEY.fullmatch(key) is None:
        raise PageError(400, _BAD_KEY)
    records, scope = console.motcua.backend.keys, f"console:{user.name}"
    printed = fingerprint("POST", _PATH, {name: value for name, value in posted.items() if name != CSRF_FIELD}, None)
    console.record_sweep.after_claim(console.clock.now())
    waited_until = time.monotonic() + IN_FLIGHT_WAIT
    while True:  # a first post still running is waited for; claimed anew once it gave up its claim (refused)
        now = console.clock.now()
        claimed = records.claim(scope, key, printed, now)
        if claimed.fresh:
            return _Claim(records, scope, key, now, claimed.reserved)
        if claimed.fingerprint != printed:
            raise PageError(409, _SENT_OTHERWISE)
        if claimed.response is not None and (location := claimed.response.headers.get("location")) is not None:
            return location
        if time.monotonic() >= waited_until:
            raise PageError(409, _IN_FLIGHT)
        time.sleep(_POLL)


def _see_other(location: str) -> Response:
    answer = RedirectResponse(location, status_code=303)
    answer.headers.update(HEADERS)
    return answer


def routes(console: Console) -> APIRouter:
    pages = router(console)
    Officer = Annotated[ConsoleUser, Depends(console.requires(OFFICER))]  # noqa: N806 - a type alias of the routes

    @pages.get("/dossiers/new")
    def new_dossier(request: Request, user: Officer) -> Response:
        return _form(console, request, user, {})

    @pages.post("/dossiers/new")
    async def receive(request: Request, user: Officer) -> Response:
        form = await request.form(max_fields=_FORM_MAX, max_files=0)
        await verify_csrf(request, user)
        posted = posted_fields(form)
        return await run_in_threadpool(_received, console, request, user, posted)  # the loop answers the others

    return pages


def _received(console: Console, request: Request, user: ConsoleUser, posted: Mapping[str, str]) -> Response:
    """The posted form received once, whatever number of times it is posted (its key claimed)."""
    claim = _claim(console, user, posted)
    if isinstance(claim, str):  # the same form again: the dossier its first post opened
        return _see_other(claim)
    try:
        answer = _receive(console, request, user, posted, claim)
    except BaseException:
        claim.release()
        raise
    claim.settle(answer)
    return answer


def _receive(console: Console, request: Request, user: ConsoleUser, posted: Mapping[str, str],
             claim: _Claim) -> Response:
    """The posted form received (303 to the new dossier), or refused in words (the form again, 422)."""
    definition = _definition(console)
    try:
        data = read_data(OPEN_TRIGGER, definition.opening.data, posted)
        code = _register(console, user, data, claim)
    except MotcuaError as error:
        problems = (problem_words(definition.opening.data, error, definition.searched)
                    if isinstance(error, MalformedData) else {})
        return _form(console, request, user, posted, error=refusal_text(definition, OPEN_TRIGGER, error),
                     problems=problems, status_code=422)
    return _see_other(f"/console/dossiers/{quote(code, safe='')}?done=receive")


def _definition(console: Console) -> WorkflowDefinition:
    return console.motcua.workflows.latest(DOSSIER_WORKFLOW).definition


def _register(console: Console, user: ConsoleUser, data: Mapping[str, JsonValue], claim: _Claim) -> str:
    """Register and receive the dossier ``data`` describes, as ``user``, in their scope; its code. What the desk
    would refuse is refused before a number is drawn; the number is kept on ``claim`` before the dossier is opened
    (a post of a form whose first post reserved one, then died, opens that dossier, or finds it opened)."""
    def text(name: str) -> str | None:
        value = data.get(name)
        return value if isinstance(value, str) and value else None

    channel = _CHANNELS.get(text("channel") or "direct")
    if channel is None:
        raise InvalidInput("channel", "direct, online or postal")
    name = text("applicant_name")
    if name is None or not name.strip():
        raise FormProblems(OPEN_TRIGGER, {"applicant_name": "bắt buộc"})
    identity = text("applicant_id")
    if identity is not None and id_number_problem(identity) is not None:  # the rule HTTP and API keys apply
        raise FormProblems(OPEN_TRIGGER, {"applicant_id": "chỉ gồm chữ cái và chữ số (CCCD: 12 chữ số; mã số thuế "
                                                           "của chi nhánh có một dấu gạch ngang)"})
    applicant = Applicant(name, text("applicant_kind") or "citizen", text("applicant_id"), text("phone"),
                          text("email"), text("address"))
    problems = applicant_problems(applicant)  # the desk's bounds, said in Vietnamese before the desk refuses
    if problems:
        raise FormProblems(OPEN_TRIGGER, {field: _bound_words(APPLICANT_BOUNDS[field]) for field in problems})
    unit = text("receiving_unit") or (user.units[0] if user.units is not None and len(user.units) == 1 else None)
    cases, desk, procedure, summary = console.cases(user), console.motcua.desk, text("procedure") or "", text("summary")
    units = cases.vet_reception(applicant, unit, text("deciding_unit"))
    if claim.earlier is None:
        desk.vet(procedure, channel, applicant, user.actor, summary=summary, unit=units.receiving,
                 deciding_unit=units.deciding)
    code = claim.earlier or desk.new_code(units.receiving)
    claim.keep(code)
    try:
        cases.register(procedure, channel, applicant, user.actor, receive=True, summary=summary, code=code,
                       unit=units.receiving, deciding_unit=units.deciding)
    except CaseAlreadyExists:  # opened by the form's first post, which died before it answered
        if claim.earlier is None:
            raise
    return code


def _bound_words(bound: TextBound) -> str:
    """An applicant's text's bound in words: ``chỉ một dòng, tối đa 100 ký tự…``."""
    return bound_words(bound.limit, one_line=bound.one_line)


def _form(console: Console, request: Request, user: ConsoleUser, posted: Mapping[str, str], *,
          error: str | None = None, problems: Mapping[str, str] | None = None, status_code: int = 200) -> Response:
    definition = _definition(console)
    fields = [_with_problem(_with_choices(console, user, field, posted.get(field.name)), problems or {})
              for field in form_fields(definition.opening.data, definition.searched)]
    return console.render(request, user, "dossier_new.html", status_code=status_code, fields=fields,
                          title=definition.opening.label, error=error, form_key=secrets.token_urlsafe(24))


def _with_problem(field: FormField, problems: Mapping[str, str]) -> FormField:
    """The field with its bound as the input's ``maxlength``, and what is wrong with it, if anything, beside it."""
    name = field.name.removeprefix(DATA_PREFIX)
    bound = APPLICANT_BOUNDS.get(name)
    if bound is not None and field.maxlength is not None:
        field = replace(field, maxlength=min(field.maxlength, bound.limit))
    problem = problems.get(name)
    return field if problem is None else replace(field, help=f"Chưa hợp lệ: {problem}")


def _with_choices(console: Console, user: ConsoleUser, field: FormField, value: str | None) -> FormField:
    """The opening's field as the desk offers it: the procedure from the catalogue, units from the user's scope."""
    name = field.name.removeprefix(DATA_PREFIX)
    if name == "procedure":
        choices = tuple((procedure.code, f"{procedure.code} — {procedure.name}")
                        for procedure in console.motcua.catalogue)
        return replace(field, input="select", choices=choices, value=value)
    if name in _UNIT_FIELDS and user.units is not None:
        directory = console.motcua.desk.units
        choices = tuple((code, directory.label(code)) for code in user.units)
        required = name == "receiving_unit" and len(user.units) > 1
        return replace(field, input="select", choices=choices, value=value, required=required)
    return replace(field, value=value)

