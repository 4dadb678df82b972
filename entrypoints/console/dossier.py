"""The dossier page: its state, appointment, applicant, the actions this user may take, its timeline and its audit.

- ``GET /console/dossiers/{code}``: the state in each region with its label (and the DVCQG status code of the
  lifecycle), the legal appointment and how it moved, the applicant, the actions the state allows for this user
  (a trigger of the definition one of their roles may fire, with a transition from the current state; its guards
  are the engine's to check), each a form generated from the trigger's declared data (:mod:`.forms`), the timeline
  from the audit log, the chain check of this dossier (its hash chain, and its row against its replay). With
  ``?at=2024-03-04T09:30`` (Vietnam time) the page also shows the dossier as it stood then, replayed from its log.
- ``POST /console/dossiers/{code}/fire``: fires the trigger through the user's
  :class:`~motcua.workflow.access.cases.ScopedCases`, with the version the page showed (a hidden field). A refusal
  is said in words on the page (422); a dossier changed by someone else since is 409 with "Hồ sơ đã được người
  khác thay đổi" and a link to reload it — unless the change was this very action, by this user, with the same data
  (the form posted twice, a double click): then it is done, and the second post is answered as the first.
- ``GET /console/dossiers/{code}/control-sheet.xlsx``: the process control sheet (Phiếu kiểm soát quá trình giải
  quyết hồ sơ), as ``motcua control-sheet --out FILE.xlsx`` writes it.

A dossier outside the user's scope is the same 404 page as a code never issued.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations.

import io
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Final
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from motcua.adapters.render.timeline import Timeline, build_timeline
from motcua.entrypoints.console.base import Console, ConsoleUser, PageError, posted_fields, router, verify_csrf
from motcua.entrypoints.console.dossier_views import DEADLINE_TONES, definition_of, shown_of, text_of, when_of
from motcua.entrypoints.console.forms import DATA_PREFIX, FormField, form_fields, has_form, read_data
from motcua.entrypoints.console.refusals import IMPORTED_WORDS, REFUSED, refusal_text
from motcua.workflow.auditing.control_sheet import control_sheet
from motcua.workflow.auditing.replay import compare, replay
from motcua.workflow.dossiers.desk import DOSSIER_WORKFLOW
from motcua.workflow.dvcqg.imports import imported
from motcua.workflow.engine.audit import AuditEntry, check_chain
from motcua.workflow.engine.bounds import CASE_CODE_MAX, CODE_MAX
from motcua.workflow.engine.clock import VN_TZ
from motcua.workflow.engine.compiled import WorkflowSet, validate_data
from motcua.workflow.engine.definition import WorkflowDefinition
from motcua.workflow.engine.labels import region_label, state_label, trigger_label
from motcua.workflow.engine.model import Case, JsonValue
from motcua.workflow.errors import (
    ConcurrencyConflict,
    MalformedData,
    MotcuaError,
)

__all__ = ["PEOPLE", "STALE_MESSAGE", "Action", "offered", "routes", "with_people"]

STALE_MESSAGE: Final = "Hồ sơ đã được người khác thay đổi."
_XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_APPLICANT: Final = (("applicant_name", "Chủ hồ sơ"), ("applicant_kind", "Loại đối tượng"),
                     ("applicant_id", "Số định danh"), ("phone", "Số điện thoại"), ("email", "Thư điện tử"),
                     ("address", "Địa chỉ"))
_BAD_INSTANT: Final = "Thời điểm không hợp lệ (dạng 2024-03-04T09:30)."
_VERSION: Final = re.compile(r"[0-9]{1,18}")
_FORM_MAX: Final = 64  # fields a posted form may carry
log = logging.getLogger("motcua.console")
CaseCode = Annotated[str, Path(max_length=CASE_CODE_MAX)]
"""A case's code, slashes included: a reform-plan task's is ``PLAN/TASK[/PERIOD]`` (``an-thuong-2023/cd-09/q1``). The
control sheet's route is declared before the page's, which would take ``…/control-sheet.xlsx`` for a code."""


@dataclass(frozen=True, slots=True)
class Action:
    """A trigger this user may fire on the dossier now, with its form."""

    trigger: str
    label: str
    fields: list[FormField]


PEOPLE: Final = {"assignee": "specialist", "approver": "leader"}
"""Data fields that name a person, and the role of the console users the form suggests for them."""


def with_people(console: Console, case: Case, actions: list[Action]) -> list[Action]:
    """``actions`` whose fields naming a person suggest the live console users holding the role that sees ``case``
    (the names the desk then counts as theirs)."""
    index = console.motcua.workflows.index_of(case)
    directory, today = console.motcua.desk.units, console.motcua.desk.today()
    seeing = [user for user in console.users.users()
              if user.disabled_at is None and user.scope(directory, today).admits(index)]

    def suggested(field: FormField) -> FormField:
        role = PEOPLE.get(field.name.removeprefix(DATA_PREFIX))
        if role is None:
            return field
        return replace(field, suggestions=tuple(user.name for user in seeing if role in user.roles))

    return [replace(action, fields=[suggested(field) for field in action.fields]) for action in actions]


def offered(definition: WorkflowDefinition, state: Mapping[str, str], roles: frozenset[str]) -> list[Action]:
    """The triggers of ``definition`` that one of ``roles`` may fire and that have a transition from ``state`` (its
    region's state among the sources, the other regions' as ``when`` requires); not the timers', nor those whose data
    a browser form cannot carry. Guards are left to the engine: a refusal is said when the form is posted."""
    actions = []
    for name, spec in definition.triggers.items():
        if spec.timer or not roles & set(spec.roles) or not has_form(spec.data):
            continue
        if any(_from_here(transition.region, transition.source, transition.when, state)
               for transition in spec.transitions):
            actions.append(Action(name, spec.label, form_fields(spec.data, definition.searched)))
    return actions


def _from_here(region: str, sources: Sequence[str], when: Mapping[str, Sequence[str]],
               state: Mapping[str, str]) -> bool:
    return state.get(region) in sources and all(state.get(other) in states for other, states in when.items())


def routes(console: Console) -> APIRouter:
    pages = router(console)
    SignedIn = Annotated[ConsoleUser, Depends(console.signed_in)]  # noqa: N806 - a type alias local to the routes

    @pages.get("/dossiers/{code:path}/control-sheet.xlsx")
    def control_sheet_xlsx(code: CaseCode, user: SignedIn) -> Response:
        from motcua.adapters.render.audit_xlsx import control_sheet_workbook  # noqa: PLC0415 - openpyxl on demand

        cases = console.cases(user)
        case = cases.case(code)
        if case.definition_key != DOSSIER_WORKFLOW:
            raise PageError(404, "Phiếu kiểm soát chỉ có ở hồ sơ thủ tục hành chính.")
        book = control_sheet_workbook(control_sheet(cases.history(code)), definition_of(console.motcua, case))
        buffer = io.BytesIO()
        book.save(buffer)
        filename = f"phieu-kiem-soat-{code}.xlsx"
        return Response(buffer.getvalue(), media_type=_XLSX,
                        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})

    @pages.get("/dossiers/{code:path}")
    def dossier(request: Request, code: CaseCode, user: SignedIn,
                at: Annotated[str | None, Query(max_length=CODE_MAX)] = None,
                done: Annotated[str | None, Query(max_length=CODE_MAX)] = None) -> Response:
        case = console.cases(user).case(code)
        definition, notice = definition_of(console.motcua, case), None
        if done in definition.triggers:
            notice = f"Đã thực hiện «{trigger_label(definition, done)}»."
        return _page(console, request, user, case, at=at, notice=notice)

    @pages.post("/dossiers/{code:path}/fire")
    async def fire(request: Request, code: CaseCode, user: SignedIn) -> Response:
        form = await request.form(max_fields=_FORM_MAX, max_files=0)
        await verify_csrf(request, user)  # reads the form parsed above
        posted = posted_fields(form)
        return await run_in_threadpool(_fire, console, request, user, code, posted)  # the loop answers the others

    return pages


def _fire(console: Console, request: Request, user: ConsoleUser, code: str, posted: Mapping[str, str]) -> Response:
    """The posted action fired as ``user`` (303 back to the page, done), refused in words (422), or stale (409)."""
    cases = console.cases(user)
    case = cases.case(code)  # 404 outside the scope, before anything is read of the form
    definition = definition_of(console.motcua, case)
    trigger, version = posted.get("trigger", ""), posted.get("version", "")
    spec = definition.triggers.get(trigger)
    if spec is None or spec.timer or _VERSION.fullmatch(version) is None:
        raise PageError(400, "Thao tác không hợp lệ.")
    try:
        data = read_data(trigger, spec.data, posted)
        cases.fire(code, trigger, user.actor, data, expected_version=int(version))
    except ConcurrencyConflict:  # raised by the firing: the data were read
        if not _done_already(console, cases.history(code), case, Fired(trigger, data, int(version)), user):
            return _page(console, request, user, cases.case(code), stale=True, status_code=409)
    except REFUSED as error:
        log.info("console.refused", extra={"trigger": trigger, "error": type(error).__name__})
        return _page(console, request, user, case, error=refusal_text(definition, trigger, error),
                     status_code=422)
    return RedirectResponse(f"/console/dossiers/{quote(code, safe='')}?done={quote(trigger)}", status_code=303)


@dataclass(frozen=True, slots=True)
class Fired:
    """What a posted action asked: its trigger, its data as the form gave them, the version its page showed."""

    trigger: str
    data: Mapping[str, JsonValue]
    seen: int


def _done_already(console: Console, entries: Sequence[AuditEntry], case: Case, fired: Fired,
                  user: ConsoleUser) -> bool:
    """Whether the change that moved the dossier past the version the page showed was this action, by ``user``, with
    the same data (as the engine keeps them): the same form posted twice (a double click), done by its first post."""
    moved = next((entry for entry in entries if entry.sequence == fired.seen + 1), None)
    if moved is None or moved.trigger != fired.trigger or moved.actor != user.actor.name:
        return False
    compiled = console.motcua.workflows.get(case.definition_key, case.definition_version).trigger(fired.trigger)
    try:
        return validate_data(fired.trigger, compiled.data, fired.data, compiled.quick) == moved.data
    except MalformedData:
        return False


def _page(console: Console, request: Request, user: ConsoleUser, case: Case, *, at: str | None = None,
          notice: str | None = None, error: str | None = None, stale: bool = False,
          status_code: int = 200) -> Response:
    motcua = console.motcua
    definition = definition_of(motcua, case)
    entries = list(console.cases(user).history(case.code))
    timeline = build_timeline(entries, definition)
    instant = _instant(at)
    then = _then(entries, definition, instant) if instant is not None else None
    return console.render(
        request, user, "dossier.html", status_code=status_code, case=case, definition=definition,
        title=definition.title, regions=_regions(motcua.workflows, case, definition),
        appointment=when_of(text_of(case.attributes, "appointment")), timeline=timeline, then=then, at=at or "",
        applicant=[(label, shown_of(definition, case.attributes, name)) for name, label in _APPLICANT
                   if text_of(case.attributes, name)],
        facts=_facts(console, case), notice=notice,
        actions=[] if imported(case) else with_people(console, case, offered(definition, case.state, user.roles)),
        imported=imported(case), imported_words=IMPORTED_WORDS, error=error, stale=stale,
        chain=_chain(case, entries), is_dossier=case.definition_key == DOSSIER_WORKFLOW,
    )


def _instant(at: str | None) -> datetime | None:
    if not at:
        return None
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        raise PageError(400, _BAD_INSTANT) from None
    if not datetime.min.year < moment.year < datetime.max.year:  # at the calendar's edges a time zone overflows
        raise PageError(400, _BAD_INSTANT)
    return moment if moment.tzinfo else moment.replace(tzinfo=VN_TZ)


def _then(entries: list[AuditEntry], definition: WorkflowDefinition, instant: datetime) -> Timeline | None:
    """The dossier as it stood at ``instant``, replayed from its log; None before it was opened."""
    try:
        return build_timeline(entries, definition, instant)
    except MotcuaError:
        return None


@dataclass(frozen=True, slots=True)
class RegionView:
    label: str
    state: str
    state_label: str
    status_code: int | None
    tone: str = ""


def _regions(workflows: WorkflowSet, case: Case, definition: WorkflowDefinition) -> list[RegionView]:
    views = []
    for region, state in case.state.items():
        code = workflows.status_of(case.definition_key, case.definition_version, state) \
            if region == "lifecycle" else None
        tone = DEADLINE_TONES.get(state, "") if region == "deadline" else ""
        views.append(RegionView(region_label(definition, region), state, state_label(definition, region, state),
                                code, tone))
    return views


def _facts(console: Console, case: Case) -> list[tuple[str, str]]:
    attributes = case.attributes
    procedure = text_of(attributes, "procedure")
    try:
        name = console.motcua.catalogue.get(procedure).name if procedure else ""
    except LookupError:
        name = ""
    channel = shown_of(definition_of(console.motcua, case), attributes, "channel")
    facts = [("Thủ tục", f"{procedure} — {name}" if name else procedure),
             ("Trích yếu", text_of(attributes, "summary")), ("Kênh", channel),
             ("Đơn vị tiếp nhận", text_of(attributes, "receiving_unit")),
             ("Đơn vị giải quyết", text_of(attributes, "deciding_unit")),
             ("Người xử lý", text_of(attributes, "assignee"))]
    return [(label, value) for label, value in facts if value]


@dataclass(frozen=True, slots=True)
class ChainView:
    intact: bool
    entries: int
    problem: str


def _chain(case: Case, entries: list[AuditEntry]) -> ChainView:
    """This dossier's hash chain checked, and its row held to its replay from the log."""
    found = check_chain(case, entries)
    if found is not None:
        return ChainView(False, len(entries), str(found))
    replayed = replay(entries)
    differences = compare(case, replayed) if replayed is not None else []
    if differences:
        return ChainView(False, len(entries), str(differences[0]))
    return ChainView(True, len(entries), "")

