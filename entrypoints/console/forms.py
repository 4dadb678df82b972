"""A trigger's form, generated from the data its definition declares, and the data read back from a posted form.

Each declared field becomes a labelled input of its type (:data:`INPUTS`): text, a number, a checkbox, a date, a
date and time (Vietnam time), a rating 1–5, a choice, a list of texts (one a line). A ``record_list`` has no
browser form: a trigger that *requires* one is not offered here (the HTTP API takes it), an optional one is left
out. What comes back is parsed by the same types — an integer that is not one is named — and the engine checks
the data as it checks any caller's (:class:`~motcua.workflow.errors.MalformedData`, said in words by
:mod:`.refusals`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from motcua.entrypoints.console.refusals import FormProblems, field_words
from motcua.workflow.engine.bounds import NAME_MAX, TEXT_MAX
from motcua.workflow.engine.clock import VN_TZ
from motcua.workflow.engine.definition import DataField, DataType
from motcua.workflow.engine.model import JsonValue

__all__ = ["DATA_PREFIX", "FIELD_MAX", "FormField", "form_fields", "has_form", "read_data"]

DATA_PREFIX: Final = "data."
FIELD_MAX: Final = 4000
"""Characters a list of texts' field may hold (the engine bounds each of its lines again); a text's field holds the
engine's own bound, :data:`~motcua.workflow.engine.bounds.TEXT_MAX`."""
INPUTS: Final = {
    DataType.TEXT: "text", DataType.INTEGER: "number", DataType.NUMBER: "number", DataType.BOOLEAN: "checkbox",
    DataType.DATE: "date", DataType.DATETIME: "datetime-local", DataType.RATING: "select",
    DataType.CHOICE: "select", DataType.TEXT_LIST: "textarea",
}
_MAXLENGTH: Final = {DataType.TEXT: TEXT_MAX, DataType.TEXT_LIST: FIELD_MAX}
"""The characters an input takes, by its field's type: a text as many as the engine takes."""
_LONG_TEXTS: Final = frozenset({"reason", "note", "comment", "summary", "content", "answer"})


@dataclass(frozen=True, slots=True)
class FormField:
    name: str  # the input's name: DATA_PREFIX + the data field's
    label: str
    input: str
    required: bool
    choices: tuple[tuple[str, str], ...] = ()
    step: str | None = None
    help: str | None = None
    maxlength: int | None = None
    value: str | None = None
    suggestions: tuple[str, ...] = ()  # offered as the input's datalist (the people who may take a dossier)
    least: str | None = None  # a number's ``min`` and ``max`` as the definition declares them (the engine checks)
    greatest: str | None = None


def has_form(data: Mapping[str, DataField]) -> bool:
    """Whether the console can post this data (no required record list)."""
    return not any(field.required and field.type is DataType.RECORD_LIST for field in data.values())


def form_fields(data: Mapping[str, DataField], searched: frozenset[str] = frozenset()) -> list[FormField]:
    """The inputs of a trigger's (or the opening's) declared ``data``; a text ``searched`` by the definition's index
    (:attr:`~motcua.workflow.engine.definition.WorkflowDefinition.searched`) holds a name's bound."""
    return [_field(name, field, name in searched) for name, field in data.items()
            if field.type is not DataType.RECORD_LIST]


def _field(name: str, spec: DataField, searched: bool = False) -> FormField:
    kind = INPUTS[spec.type]
    if spec.type is DataType.TEXT and name in _LONG_TEXTS:
        kind = "textarea"
    choices: tuple[tuple[str, str], ...] = ()
    if spec.type is DataType.CHOICE:
        choices = tuple((choice, spec.choice_label(choice)) for choice in spec.choices)
    elif spec.type is DataType.RATING:
        choices = tuple((str(score), str(score)) for score in range(1, 6))
    step = {DataType.INTEGER: "1", DataType.NUMBER: "any"}.get(spec.type)
    helps = {DataType.TEXT_LIST: "Mỗi dòng một giá trị.", DataType.DATETIME: "Giờ Việt Nam."}
    return FormField(f"{DATA_PREFIX}{name}", spec.label or name, kind, spec.required, choices, step,
                     helps.get(spec.type),
                     NAME_MAX if searched and spec.type is DataType.TEXT else _MAXLENGTH.get(spec.type),
                     least=_bound(spec.min), greatest=_bound(spec.max))


def _bound(value: float | None) -> str | None:
    """A field's ``min`` or ``max`` as an input's attribute (``0``, ``0.5``)."""
    return None if value is None else str(value)  # a float as its shortest exact text (0.5, 1e+20)


def read_data(trigger: str, declared: Mapping[str, DataField], form: Mapping[str, str]) -> dict[str, JsonValue]:
    """The ``declared`` data of ``trigger`` from the posted ``form``: empty fields left out, each value parsed by its
    type; :class:`~.refusals.FormProblems` naming the fields that are not of it, in words."""
    data: dict[str, JsonValue] = {}
    problems: dict[str, str] = {}
    for name, field in declared.items():
        if field.type is DataType.RECORD_LIST:
            continue
        raw = form.get(f"{DATA_PREFIX}{name}", "")
        if field.type is DataType.BOOLEAN:
            if raw:
                data[name] = raw == "true"
            continue
        if not raw.strip():
            continue
        try:
            data[name] = _parsed(field.type, raw.strip())
        except ValueError:
            problems[name] = field_words(field)
    if problems:
        raise FormProblems(trigger, problems)
    return data


def _parsed(kind: DataType, raw: str) -> JsonValue:
    if kind in (DataType.INTEGER, DataType.RATING):
        return int(raw)
    if kind is DataType.NUMBER:
        return float(raw)
    if kind is DataType.DATETIME:
        moment = datetime.fromisoformat(raw)
        return (moment if moment.tzinfo else moment.replace(tzinfo=VN_TZ)).isoformat()
    if kind is DataType.TEXT_LIST:
        return [line.strip() for line in raw.splitlines() if line.strip()]
    return raw
