"""``motcua feedback``: citizens' feedback (phản ánh, kiến nghị, the ``pakn`` workflow) from the command line.

- ``feedback receive``: receive one piece of feedback, from options and/or a JSON file (an option wins over the
  file's field), every field bounded and checked before the database is opened; a refused one writes nothing and
  draws no number;
- ``feedback list``: the feedback of the database, filtered by unit, lifecycle state or overdue, a page at a time;
- ``feedback show CODE``: one piece of feedback — its states, deadlines and timeline.

Feedback is moved on (assigned, extended, answered, published, rated) through the Python API
(:meth:`motcua.OneStop.fire`) or HTTP (``POST /feedback/{code}/events``): the command line fires no trigger on
dossiers either (docs/how-to/handle-citizen-feedback.md).

Bad input exits with status 2 and one line on standard error naming the field
(:func:`motcua.entrypoints.cli.usage.fail`).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Final, get_args

import typer
from rich.console import Console
from rich.table import Table

from motcua.adapters.render.timeline import build_timeline, timeline_json, timeline_tables
from motcua.entrypoints.cli.terminal import terminal
from motcua.entrypoints.cli.usage import fail
from motcua.shop import OneStop, connect
from motcua.workflow.engine.bounds import (
    CASE_CODE_MAX,
    CODE_MAX,
    NAME_MAX,
    TEXT_MAX,
    json_document,
    line_problem,
    text_problem,
)
from motcua.workflow.engine.clock import instant, to_vietnam_time
from motcua.workflow.engine.definition import WorkflowDefinition
from motcua.workflow.engine.labels import state_label
from motcua.workflow.engine.model import Actor, Case, JsonValue
from motcua.workflow.engine.queries import MAX_PAGE, CaseFilter, Page
from motcua.workflow.errors import InvalidInput, MotcuaError, NotFound
from motcua.workflow.feedback.actions import FEEDBACK_WORKFLOW
from motcua.workflow.feedback.intake import Feedback, FeedbackChannel

__all__ = ["FILE_MAX", "FeedbackInput", "feedback_app", "parse_feedback", "read_feedback_file", "register"]

FILE_MAX: Final = 64 * 1024  # bytes of a feedback JSON file: one piece of feedback, far below
APPLICANT_ID_MAX: Final = 100
_PIPE_WIDTH: Final = 200
_CHANNELS: Final[dict[str, FeedbackChannel]] = {channel: channel for channel in get_args(FeedbackChannel)}
_DEADLINES: Final = (("received_at", "Tiếp nhận"), ("classify_due_at", "Hạn phân loại"),
                     ("answer_due_at", "Hạn trả lời"), ("ended_at", "Kết thúc"))

feedback_app = typer.Typer(help="Phản ánh, kiến nghị (citizens' feedback): tiếp nhận, tra cứu.", no_args_is_help=True,
                           add_completion=False)

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: sqlite:///motcua.db).")]


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"


FormatOption = Annotated[Format, typer.Option("--format", help="table or json.")]


def register(app: typer.Typer) -> None:
    app.add_typer(feedback_app, name="feedback")


def _console() -> Console:
    return terminal(pipe_width=_PIPE_WIDTH)


# -- the input: options and/or a JSON file, checked field by field -------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeedbackInput:
    """One piece of feedback to receive and the unit receiving it (``None``: the home unit)."""

    feedback: Feedback
    unit: str | None


def _string(problem_of: Callable[[str, int], str | None], limit: int) -> Callable[[str, object], str]:
    """The check of a text field: a string, stripped and NFC-normalised, that ``problem_of`` finds nothing wrong with
    at ``limit`` characters."""
    def check(field: str, value: object) -> str:
        if not isinstance(value, str):
            raise InvalidInput(field, f"a text is expected, not {type(value).__name__}")
        text = unicodedata.normalize("NFC", value.strip())
        if problem := problem_of(text, limit):
            raise InvalidInput(field, problem)
        return text
    return check


def _line(limit: int) -> Callable[[str, object], str]:
    return _string(line_problem, limit)


_text: Final = _string(text_problem, TEXT_MAX)


def _channel(field: str, value: object) -> FeedbackChannel:
    if not isinstance(value, str) or value not in _CHANNELS:
        raise InvalidInput(field, f"{str(value)[:20]!r}: one of {', '.join(_CHANNELS)}")
    return _CHANNELS[value]


def _flag(field: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(field, f"true or false is expected, not {type(value).__name__}")
    return value


_FIELDS: Final[Mapping[str, Callable[[str, object], object]]] = {
    "sender_name": _line(NAME_MAX), "content": _text, "channel": _channel, "contact": _line(NAME_MAX),
    "dossier": _line(CASE_CODE_MAX), "private": _flag, "applicant_id": _line(APPLICANT_ID_MAX),
    "unit": _line(CODE_MAX),
}
"""Every field a piece of feedback may carry, with its check (the bounds of ``POST /feedback``)."""
_REQUIRED: Final = ("sender_name", "content")


def read_feedback_file(path: Path) -> dict[str, object]:
    """The JSON object of ``path``: at most :data:`FILE_MAX` bytes of UTF-8, one object (its fields are checked by
    :func:`parse_feedback`)."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(FILE_MAX + 1)
    except OSError as error:
        raise InvalidInput("--file", f"{path}: cannot be read ({error.strerror or error})") from None
    if len(raw) > FILE_MAX:
        raise InvalidInput("--file", f"{path}: larger than {FILE_MAX:,} bytes")
    try:
        document = json_document(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidInput("--file", f"{path}: not UTF-8") from None
    except json.JSONDecodeError as error:
        raise InvalidInput("--file", f"{path}: not JSON ({error.msg}, line {error.lineno})") from None
    except ValueError as error:  # nested too deep to read
        raise InvalidInput("--file", f"{path}: not JSON ({error})") from None
    if not isinstance(document, dict):
        raise InvalidInput("--file", f"{path}: a JSON object of feedback fields is expected")
    return document


def parse_feedback(given: Mapping[str, object]) -> FeedbackInput:
    """The feedback ``given`` (field → value, ``None`` for absent), every field checked; an unknown, missing or
    malformed field is :class:`InvalidInput` naming it."""
    unknown = sorted(set(given) - set(_FIELDS))
    if unknown:
        raise InvalidInput(unknown[0][:CODE_MAX], f"unknown field; the fields are {', '.join(_FIELDS)}")
    values = {name: _FIELDS[name](name, value) for name, value in given.items() if value is not None}
    for name in _REQUIRED:
        if not values.get(name):
            raise InvalidInput(name, "required (an option or a field of --file)")
    feedback = Feedback(
        sender_name=str(values["sender_name"]), content=str(values["content"]),
        channel=_CHANNELS[str(values.get("channel", "direct"))],  # checked by _channel
        contact=_optional(values.get("contact")), dossier=_optional(values.get("dossier")),
        private=values.get("private") is True, applicant_id=_optional(values.get("applicant_id")),
    )
    return FeedbackInput(feedback, _optional(values.get("unit")))


def _optional(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


# -- receive ------------------------------------------------------------------------------------------------------


@feedback_app.command("receive")
def receive(
    *,
    officer: Annotated[str, typer.Option("--officer", help="Công chức tiếp nhận (the officer receiving it).")],
    file: Annotated[Path | None, typer.Option("--file", help="A JSON object with the fields below (sender_name, "
                                              "content, channel, contact, dossier, private, applicant_id, unit); "
                                              "an option given wins over the file's field.")] = None,
    sender: Annotated[str | None, typer.Option("--sender", help="Họ tên cá nhân, tên tổ chức phản ánh.")] = None,
    content: Annotated[str | None, typer.Option("--content", help="Nội dung phản ánh, kiến nghị.")] = None,
    channel: Annotated[str | None, typer.Option("--channel", help="direct, online, postal or phone (default "
                                                "direct).")] = None,
    contact: Annotated[str | None, typer.Option("--contact", help="Địa chỉ, điện thoại, thư điện tử.")] = None,
    dossier: Annotated[str | None, typer.Option("--dossier", help="Mã hồ sơ liên quan, if it concerns one.")] = None,
    private: Annotated[bool, typer.Option("--private", help="Not to be published (thông tin riêng tư).")] = False,
    applicant_id: Annotated[str | None, typer.Option("--applicant-id", help="Số định danh của người phản ánh.")]
    = None,
    unit: Annotated[str | None, typer.Option("--unit", help="The receiving unit's code (default: the home "
                                             "unit).")] = None,
    output: FormatOption = Format.TABLE,
    db: DbOption = None,
) -> None:
    """Receive citizens' feedback: its answer is due within the legal time, its timers armed. Prints its code."""
    try:
        actor = _officer(officer)
        given: dict[str, object] = read_feedback_file(file) if file is not None else {}
        options = {"sender_name": sender, "content": content, "channel": channel, "contact": contact,
                   "dossier": dossier, "private": True if private else None, "applicant_id": applicant_id,
                   "unit": unit}
        given.update({name: value for name, value in options.items() if value is not None})
        wanted = parse_feedback(given)
        with connect(db, observers=[]) as shop:
            case = shop.receive_feedback(wanted.feedback, actor, unit=wanted.unit)
            definition = _definition(shop, case)
    except MotcuaError as error:
        fail(error, source="feedback")
    if output is Format.JSON:
        typer.echo(json.dumps(_summary(case, definition), ensure_ascii=False, indent=2))
        return
    _console().print(_details(case, definition))


def _officer(name: str) -> Actor:
    checked = _line(NAME_MAX)("--officer", name)
    if not checked:
        raise InvalidInput("--officer", "the officer receiving the feedback is named")
    return Actor.of(checked, "officer")


# -- list ---------------------------------------------------------------------------------------------------------


@feedback_app.command("list")
def list_command(
    *,
    unit: Annotated[str | None, typer.Option("--unit", help="Only the feedback this unit holds.")] = None,
    state: Annotated[str | None, typer.Option("--state", help="Only in this lifecycle state (received, assigned, "
                                              "answered, declined).")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only feedback past its answer's deadline and not "
                                          "answered.")] = False,
    limit: Annotated[int, typer.Option("--limit", help=f"At most this many (1 to {MAX_PAGE}).")] = 50,
    after: Annotated[str | None, typer.Option("--after", help="The next page: the cursor the previous one "
                                              "printed.")] = None,
    output: FormatOption = Format.TABLE,
    db: DbOption = None,
) -> None:
    """List citizens' feedback, by code, a page at a time."""
    try:
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput("--limit", f"{limit}: give a number from 1 to {MAX_PAGE}")
        if after is not None and (problem := line_problem(after, CASE_CODE_MAX)):
            raise InvalidInput("--after", problem)
        with connect(db, observers=[]) as shop:
            definition = shop.parts.workflows.latest(FEEDBACK_WORKFLOW).definition
            where = _filter(shop, unit, state, overdue=overdue)
            page = shop.feedback(where, after=after, limit=limit)
    except MotcuaError as error:
        fail(error, source="feedback")
    if output is Format.JSON:
        document = {"items": [_summary(case, definition) for case in page.items], "next_cursor": page.next_cursor}
        typer.echo(json.dumps(document, ensure_ascii=False, indent=2))
        return
    console = _console()
    console.print(_list_table(page, definition))
    if page.next_cursor is not None:
        console.print(f"Trang sau: --after {page.next_cursor}", highlight=False)


def _filter(shop: OneStop, unit: str | None, state: str | None, *, overdue: bool) -> CaseFilter:
    if unit is not None:
        units = shop.parts.desk.units
        if line_problem(unit, CODE_MAX) or not (units.knows(unit) or unit == units.home):
            raise NotFound("--unit", f"no unit {unit[:CODE_MAX]!r}: `motcua units list` shows the codes")
    if state is not None:
        states = shop.parts.workflows.states(FEEDBACK_WORKFLOW, "lifecycle")  # every version's, as HTTP takes
        if state not in states:
            raise InvalidInput("--state", f"{state[:20]!r}: one of {', '.join(states)}")
    return CaseFilter(lifecycle=state, unit=unit, deadline="overdue" if overdue else None,
                      ended=False if overdue else None)


def _list_table(page: Page, definition: WorkflowDefinition) -> Table:
    table = Table(title=f"Phản ánh, kiến nghị ({len(page.items)})")
    for column in ("Mã", "Đơn vị", "Hình thức", "Tiếp nhận", "Hạn trả lời", "Tình trạng", "Thời hạn", "Hồ sơ"):
        table.add_column(column, overflow="fold")
    for case in page.items:
        attributes = case.attributes
        table.add_row(
            case.code, _shown(attributes.get("unit")), _shown(attributes.get("channel")),
            _moment(attributes.get("received_at")), _moment(attributes.get("answer_due_at")),
            state_label(definition, "lifecycle", case.state.get("lifecycle")),
            state_label(definition, "deadline", case.state.get("deadline")), _shown(attributes.get("dossier")),
        )
    return table


# -- show ---------------------------------------------------------------------------------------------------------


@feedback_app.command("show")
def show(
    code: Annotated[str, typer.Argument(help="Mã phản ánh, kiến nghị (PAKN-…).")],
    output: FormatOption = Format.TABLE,
    db: DbOption = None,
) -> None:
    """One piece of feedback: its states, deadlines and timeline."""
    try:
        if problem := line_problem(code, CASE_CODE_MAX):
            raise InvalidInput("CODE", problem)
        with connect(db, observers=[]) as shop:
            case = shop.case(code)
            if case.definition_key != FEEDBACK_WORKFLOW:  # a dossier or a plan task: `motcua history` shows it
                raise InvalidInput("CODE", f"{code!r} is not feedback (PAKN-…) but a {case.definition_key} case: "
                                           "`motcua history CODE` shows it")
            definition = _definition(shop, case)
            timeline = build_timeline(shop.history(code), definition)
    except MotcuaError as error:
        fail(error, source="feedback")
    if output is Format.JSON:
        document: dict[str, JsonValue] = {**timeline_json(timeline), "deadlines": _deadlines(case)}
        typer.echo(json.dumps(document, ensure_ascii=False, indent=2))
        return
    console = _console()
    console.print(_details(case, definition))
    for table in timeline_tables(timeline):
        console.print(table)


# -- shared -------------------------------------------------------------------------------------------------------


def _definition(shop: OneStop, case: Case) -> WorkflowDefinition:
    return shop.parts.workflows.get(case.definition_key, case.definition_version).definition


def _deadlines(case: Case) -> dict[str, JsonValue]:
    return {key: case.attributes.get(key) for key, _ in _DEADLINES}


def _summary(case: Case, definition: WorkflowDefinition) -> dict[str, JsonValue]:
    """What a list shows of one piece of feedback: codes, states and deadlines, no personal data."""
    attributes = case.attributes
    return {
        "code": case.code, "workflow": f"{definition.key}.v{definition.version}", "rule_set": case.rule_set,
        "unit": attributes.get("unit"), "channel": attributes.get("channel"), "dossier": attributes.get("dossier"),
        "state": dict(case.state), "deadlines": _deadlines(case), "extensions": attributes.get("extensions"),
    }


def _details(case: Case, definition: WorkflowDefinition) -> Table:
    attributes = case.attributes
    grid = Table(title=f"Phản ánh, kiến nghị {case.code}", show_header=False)
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    for label, key in (("Người phản ánh", "sender_name"), ("Liên hệ", "contact"), ("Nội dung", "content"),
                       ("Đơn vị", "unit"), ("Hình thức", "channel"), ("Hồ sơ liên quan", "dossier"),
                       ("Nhóm phản ánh", "category"), ("Công chức xử lý", "assignee")):
        grid.add_row(label, _shown(attributes.get(key)))
    for region, state in case.state.items():
        grid.add_row(definition.regions[region].label if region in definition.regions else region,
                     state_label(definition, region, state))
    for key, label in _DEADLINES:
        grid.add_row(label, _moment(attributes.get(key)))
    grid.add_row("Số lần gia hạn", _shown(attributes.get("extensions")))
    return grid


def _shown(value: object) -> str:
    return "" if value is None else str(value)


def _moment(value: object) -> str:
    return f"{to_vietnam_time(instant(value)):%d/%m/%Y %H:%M}" if isinstance(value, str) else ""
