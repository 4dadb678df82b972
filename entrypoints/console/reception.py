"""Receiving a dossier at the desk (tiếp nhận hồ sơ): the form and its post.

- ``GET /console/dossiers/new``: the form, its fields and labels the dossier workflow's opening data
  (``Mã thủ tục hành chính``, ``Kênh thực hiện``, ``Chủ hồ sơ``…): the procedure chosen from the catalogue, the
  receiving unit among the user's units (the one unit of a user of one unit, chosen for them).
- ``POST /console/dossiers/new`` (with ``csrf_token``): registers and receives the dossier through the user's
  :class:`~motcua.workflow.access.cases.ScopedCases` — a unit outside the scope is refused before a number is
  drawn —, the appointment set; 303 to the new dossier's page. A refusal (missing data, an unknown procedure, a
  unit outside the scope or not in force, an applicant's text out of the desk's bounds) is the form again, 422, said
  in words — a field's own problem beside it —, the values kept.

For users holding the role ``officer`` (the opening's and the reception's role at the desk); others get a 403 page.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations.

from collections.abc import Mapping
from dataclasses import replace
from typing import Annotated, Final
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from motcua.entrypoints.console.base import Console, ConsoleUser, router, verify_csrf
from motcua.entrypoints.console.dossier import refusal_text
from motcua.entrypoints.console.forms import DATA_PREFIX, FormField, form_fields, read_data
from motcua.workflow.dossiers.catalogue import Channel
from motcua.workflow.dossiers.desk import APPLICANT_BOUNDS, DOSSIER_WORKFLOW, Applicant, TextBound, applicant_problems
from motcua.workflow.engine.bounds import id_number_problem
from motcua.workflow.engine.decisions import OPEN_TRIGGER
from motcua.workflow.engine.definition import WorkflowDefinition
from motcua.workflow.engine.model import JsonValue
from motcua.workflow.errors import InvalidInput, MalformedData, MotcuaError

__all__ = ["OFFICER", "routes"]

OFFICER: Final = "officer"
_UNIT_FIELDS: Final = ("receiving_unit", "deciding_unit")
_FORM_MAX: Final = 64
_CHANNELS: Final[Mapping[str, Channel]] = {"direct": "direct", "online": "online", "postal": "postal"}


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
        posted = {name: value for name, value in form.items() if isinstance(value, str)}
        definition = _definition(console)
        try:
            data = read_data(OPEN_TRIGGER, definition.opening.data, posted)
            code = _register(console, user, data)
        except MotcuaError as error:
            problems = error.problems if isinstance(error, MalformedData) else {}
            return _form(console, request, user, posted, error=refusal_text(definition, OPEN_TRIGGER, error),
                         problems=problems, status_code=422)
        return RedirectResponse(f"/console/dossiers/{quote(code, safe='')}?done=receive", status_code=303)

    return pages


def _definition(console: Console) -> WorkflowDefinition:
    return console.motcua.workflows.latest(DOSSIER_WORKFLOW).definition


def _register(console: Console, user: ConsoleUser, data: Mapping[str, JsonValue]) -> str:
    """Register and receive the dossier ``data`` describes, as ``user``, in their scope; its code."""
    def text(name: str) -> str | None:
        value = data.get(name)
        return value if isinstance(value, str) and value else None

    channel = _CHANNELS.get(text("channel") or "direct")
    if channel is None:
        raise InvalidInput("channel", "direct, online or postal")
    name = text("applicant_name")
    if name is None or not name.strip():
        raise MalformedData(OPEN_TRIGGER, {"applicant_name": "bắt buộc"})
    identity = text("applicant_id")
    if identity is not None and id_number_problem(identity) is not None:  # the rule HTTP and API keys apply
        raise MalformedData(OPEN_TRIGGER, {"applicant_id": "chỉ gồm chữ cái và chữ số (CCCD: 12 chữ số; mã số thuế "
                                                           "của chi nhánh có một dấu gạch ngang)"})
    applicant = Applicant(name, text("applicant_kind") or "citizen", text("applicant_id"), text("phone"),
                          text("email"), text("address"))
    problems = applicant_problems(applicant)  # the desk's bounds, said in Vietnamese before the desk refuses
    if problems:
        raise MalformedData(OPEN_TRIGGER, {field: _bound_words(APPLICANT_BOUNDS[field]) for field in problems})
    unit = text("receiving_unit") or (user.units[0] if user.units is not None and len(user.units) == 1 else None)
    case = console.cases(user).register(
        text("procedure") or "", channel, applicant, user.actor, receive=True,
        summary=text("summary"), unit=unit, deciding_unit=text("deciding_unit"))
    return case.code


def _bound_words(bound: TextBound) -> str:
    """A text's bound in words: ``một dòng, tối đa 100 ký tự…``."""
    limit = f"{bound.limit:,}".replace(",", ".")
    if bound.one_line:
        return f"chỉ một dòng, tối đa {limit} ký tự, không có ký tự điều khiển"
    return f"tối đa {limit} ký tự, không có ký tự điều khiển (ngoài xuống dòng và tab)"


def _form(console: Console, request: Request, user: ConsoleUser, posted: Mapping[str, str], *,
          error: str | None = None, problems: Mapping[str, str] | None = None, status_code: int = 200) -> Response:
    definition = _definition(console)
    fields = [_with_problem(_with_choices(console, user, field, posted.get(field.name)), problems or {})
              for field in form_fields(definition.opening.data)]
    return console.render(request, user, "dossier_new.html", status_code=status_code, fields=fields,
                          title=definition.opening.label, error=error)


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

