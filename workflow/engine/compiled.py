"""Definitions compiled into shared ``transitions`` machines, one per region, once per version.

This is the only module that touches ``transitions``. Each region of a definition becomes one
:class:`transitions.Machine` created with ``model=None`` and ``auto_transitions=False``; every case
of that definition version shares it, and a trigger runs on a throwaway subject that holds just
the region's current state (the maintainers' advice for many models, transitions issue #146).
Guards are wired as condition callables and the transition taken is recorded by an ``after``
callable, so no callback is ever named by a string and no generated method reaches our API.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, create_model
from transitions import EventData, Machine

from motcua.workflow.engine.bounds import CODE_MAX, NAME_MAX, TEXT_MAX, excerpt, free_text, line_problem, text_problem
from motcua.workflow.engine.checks import validate
from motcua.workflow.engine.definition import (
    SAFE_INTEGER,
    DataField,
    DataType,
    TransitionSpec,
    TriggerSpec,
    WorkflowDefinition,
)
from motcua.workflow.engine.model import Case, JsonValue
from motcua.workflow.engine.queries import index_order, indexed
from motcua.workflow.engine.registry import Action, Context, Guard, Refusal, Registry
from motcua.workflow.errors import MalformedData, UnknownDefinition, UnknownTrigger

__all__ = ["CompiledTrigger", "CompiledWorkflow", "QuickData", "RegionRun", "WorkflowSet"]


def _free_nfc(text: str) -> str:
    """Free text (:func:`~motcua.workflow.engine.bounds.free_text`), then NFC, of at most ``TEXT_MAX`` characters: one
    validator, called once a field. The length is said here, in characters, as every bound of motcua says it (the
    field's own ``max_length`` after a validator would say "items"); it stays in the schema all the same."""
    composed = unicodedata.normalize("NFC", free_text(text))
    if len(composed) > TEXT_MAX:
        raise ValueError(f"longer than {TEXT_MAX} characters ({len(composed)})")
    return composed


def _line_nfc(text: str) -> str:
    """One line (:func:`~motcua.workflow.engine.bounds.line_problem`), then NFC, of at most ``NAME_MAX`` characters:
    a text a search key reads (:func:`_searched`), which a filter must be able to name."""
    composed = unicodedata.normalize("NFC", text)
    problem = line_problem(composed, NAME_MAX)
    if problem is not None:
        raise ValueError(f"{problem}: a value a dossier is searched by is one line of at most {NAME_MAX} characters")
    return composed


# Text of a trigger's data, on every path (HTTP, CLI, Python): trimmed, NFC, 1 to TEXT_MAX characters, no control
# character but tabs and line breaks (bounds.py). Numbers are finite and integers exact in a JSON double (±2⁵³), so
# that every host reads back what was stored, and no database refuses it; a field's own ``min`` and ``max`` narrow
# that (:func:`_ranged`, and the quick path's :func:`_within`).
_Text = Annotated[str, AfterValidator(_free_nfc), Field(min_length=1, max_length=TEXT_MAX)]
_Line = Annotated[str, AfterValidator(_line_nfc), Field(min_length=1, max_length=NAME_MAX)]
_SAFE_INTEGER: Final = SAFE_INTEGER
_RATING: Final = (1, 5)  # an applicant's satisfaction, lowest to highest
_Rating = Annotated[int, Field(ge=_RATING[0], le=_RATING[1])]
_MAX_LIST: Final = 50
_MAX_PROBLEMS: Final = 10  # the fields a refusal names: enough to fix a form, never the size of the input
_PLAIN_TYPES: dict[DataType, object] = {
    DataType.TEXT: _Text,
    DataType.INTEGER: Annotated[int, Field(ge=-_SAFE_INTEGER, le=_SAFE_INTEGER)],
    DataType.NUMBER: Annotated[float, Field(allow_inf_nan=False)],
    DataType.BOOLEAN: bool,
    DataType.DATE: date,
    DataType.DATETIME: datetime,
    DataType.RATING: _Rating,
    DataType.TEXT_LIST: Annotated[list[_Text], Field(min_length=1, max_length=_MAX_LIST)],
}


# -- the quick path: a value the types above certainly take as it is --------------------------------------------------
#
# For each scalar type, a predicate that holds only of values the pydantic type above accepts *unchanged* (exact type,
# already trimmed and NFC, within the same bounds): for such data the model's validator and serializer would return
# the data itself, so :func:`validate_data` returns it without them. Whatever a predicate does not vouch for — a
# value to coerce, trim or refuse, a missing or undeclared field, a date, a list — goes through the model, which alone
# refuses (its messages are the only ones). The predicates read the same bounds as the types; a property test
# (tests/unit/test_quick_data.py) checks that the two paths agree on every input.


def _plain_text(value: object) -> bool:
    return (type(value) is str and value != "" and not value[0].isspace() and not value[-1].isspace()
            and text_problem(value, TEXT_MAX) is None and unicodedata.is_normalized("NFC", value))


def _plain_line(value: object) -> bool:
    return (type(value) is str and value != "" and not value[0].isspace() and not value[-1].isspace()
            and line_problem(value, NAME_MAX) is None and unicodedata.is_normalized("NFC", value))


def _exact_integer(value: object) -> bool:
    return type(value) is int and -_SAFE_INTEGER <= value <= _SAFE_INTEGER


def _finite_number(value: object) -> bool:
    return type(value) is float and math.isfinite(value)


def _boolean(value: object) -> bool:
    return type(value) is bool


def _rating(value: object) -> bool:
    return type(value) is int and _RATING[0] <= value <= _RATING[1]


_TAKEN_AS_IS: dict[DataType, Callable[[object], bool]] = {
    DataType.TEXT: _plain_text,
    DataType.INTEGER: _exact_integer,
    DataType.NUMBER: _finite_number,
    DataType.BOOLEAN: _boolean,
    DataType.RATING: _rating,
}


def _within(check: Callable[[object], bool], spec: DataField) -> Callable[[object], bool]:
    """``check``, narrowed to the field's own ``min`` and ``max`` when it declares them (a number, once ``check``
    vouched for it)."""
    least, greatest = spec.min, spec.max
    if least is None and greatest is None:
        return check
    low = -math.inf if least is None else least
    high = math.inf if greatest is None else greatest
    return lambda value: check(value) and low <= value <= high  # type: ignore[operator]


def _one_of(choices: tuple[str, ...]) -> Callable[[object], bool] | None:
    if any(choice != choice.strip() for choice in choices):  # a choice pydantic's trimming might touch: no shortcut
        return None
    allowed = frozenset(choices)
    return lambda value: type(value) is str and value in allowed


_QuickField = tuple[str, Callable[[object], bool], bool]  # name, the predicate, required


class QuickData:
    """The quick path of one trigger's data (flat data of text, numbers, booleans, ratings and choices): the data
    itself, in the fields' declared order and without the ``None`` of optional fields, when every value is one its
    type takes as it is; else ``None``, and the model decides."""

    __slots__ = ("_fields",)

    def __init__(self, fields: tuple[_QuickField, ...]) -> None:
        self._fields = fields

    @classmethod
    def of(cls, fields: Mapping[str, DataField], searched: frozenset[str] = frozenset()) -> QuickData | None:
        """The quick path of these fields (``searched``: the names a search key reads, :func:`data_model`), or
        ``None`` when one of them is not a plain scalar."""
        compiled: list[_QuickField] = []
        for name, spec in fields.items():
            check = (_one_of(spec.choices) if spec.type is DataType.CHOICE
                     else _plain_line if _searched(name, spec, searched) else _TAKEN_AS_IS.get(spec.type))
            if check is None:
                return None
            compiled.append((name, _within(check, spec), spec.required))
        return cls(tuple(compiled))

    def __call__(self, data: Mapping[str, object]) -> dict[str, JsonValue] | None:
        if type(data) is not dict:
            return None
        values: dict[str, JsonValue] = {}
        found = 0
        for name, check, required in self._fields:
            if name not in data:
                if required:
                    return None
                continue
            found += 1
            value = data[name]
            if value is None and not required:
                continue
            if not check(value):
                return None
            values[name] = value  # a str, int, float or bool: check() said so
        return values if found == len(data) else None  # an undeclared field: the model names it


def _searched(name: str, spec: DataField, searched: frozenset[str]) -> bool:
    """Whether the field is a text a search key of the definition reads (its ``index``: the officer a dossier is
    assigned to, a unit, an identity number): one line a filter can name, at most ``NAME_MAX`` characters."""
    return spec.type is DataType.TEXT and name in searched


def _field_type(name: str, spec: DataField, searched: bool = False) -> Any:
    if searched:
        return _Line
    if spec.type is DataType.CHOICE:
        return Literal[spec.choices]
    if spec.type is DataType.RECORD_LIST:  # each item validated like a trigger's data: declared fields only, typed
        item: Any = data_model(name, spec.fields)
        return Annotated[list[item], Field(min_length=1, max_length=_MAX_LIST)]
    return _ranged(spec)


def _ranged(spec: DataField) -> Any:
    """The field's plain type, narrowed to its own ``min`` and ``max`` (an integer's or a number's) when it has them:
    a value outside is refused naming the field and the bound (``greater than or equal to 0``)."""
    plain = _PLAIN_TYPES[spec.type]
    if spec.min is None and spec.max is None:
        return plain
    return Annotated[plain, Field(ge=spec.min, le=spec.max)]  # a bound left None is no bound


def data_model(name: str, fields: Mapping[str, DataField], searched: frozenset[str] = frozenset()) -> type[BaseModel]:
    """A pydantic model that validates a trigger's data: declared fields only, typed; a text ``searched`` by the
    definition's index one line (:func:`_searched`)."""
    definitions: dict[str, Any] = {}
    for key, spec in fields.items():
        kind = _field_type(f"{name}_{key}", spec, _searched(key, spec, searched))
        definitions[key] = (kind, ...) if spec.required else (kind | None, None)
    config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    model: type[BaseModel] = create_model(f"{name}_data", __config__=config, **definitions)
    return model


def validate_data(
    trigger: str, model: type[BaseModel], data: Mapping[str, object], quick: QuickData | None = None
) -> dict[str, JsonValue]:
    """``data`` validated by ``model``, as JSON values, the fields not given left out. Data the ``quick`` path vouches
    for (:class:`QuickData`, compiled from the same fields) is returned by it; anything else runs the model's
    validator and serializer themselves (what ``model_validate`` and ``model_dump`` wrap)."""
    if quick is not None and (values := quick(data)) is not None:
        return values
    try:
        parsed = model.__pydantic_validator__.validate_python(data if type(data) is dict else dict(data))
    except ValidationError as error:
        raise MalformedData(trigger, _problems(error)) from None
    dumped: dict[str, JsonValue] = model.__pydantic_serializer__.to_python(parsed, mode="json", exclude_none=True)
    return dumped


def _problems(error: ValidationError) -> dict[str, str]:
    """Field → what is wrong, for the first :data:`_MAX_PROBLEMS` errors; a field named by the caller (an unknown
    one) is shown cut to a short excerpt, the value never."""
    problems: dict[str, str] = {}
    for item in error.errors(include_input=False, include_url=False)[:_MAX_PROBLEMS]:
        where = ".".join(str(part) for part in item["loc"]) or "data"
        shown = where if len(where) <= CODE_MAX else excerpt(where, CODE_MAX)
        problems[shown] = "missing" if item["type"] == "missing" else item["msg"].removeprefix("Value error, ")
    return problems


@dataclass(frozen=True, slots=True)
class CompiledTrigger:
    name: str
    spec: TriggerSpec
    roles: frozenset[str]
    data: type[BaseModel]
    regions: tuple[str, ...]
    quick: QuickData | None = None  # the data's quick path, when the data is flat and plain (:class:`QuickData`)


@dataclass(slots=True)
class RegionRun:
    """Per-call scratch handed to the shared machines through the event's kwargs."""

    context: Context
    taken: list[TransitionSpec]
    rejected: list[str]
    refusals: list[Refusal] = field(default_factory=list)


class _Subject:
    """The throwaway model a shared machine moves: one region's state, nothing else."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


class CompiledWorkflow:
    def __init__(self, definition: WorkflowDefinition, registry: Registry) -> None:
        self.definition = definition
        self.registry = registry
        self.searched = definition.searched
        self.opening_data = data_model("open", definition.opening.data, self.searched)
        self.opening_quick = QuickData.of(definition.opening.data, self.searched)
        self.index_order = index_order(definition.index)  # what the case is found by, read once per decision
        self.triggers = {
            name: self._compile_trigger(name, spec) for name, spec in definition.triggers.items()
        }
        self._machines = {name: self._machine(name) for name in definition.regions}
        # resolved once, like the guards wired into the machines: every name a definition uses is registered (checks)
        self._events = {(region, trigger): event for region, machine in self._machines.items()
                        for trigger, event in machine.events.items()}
        self._actions = {name: entry.run for name, entry in registry.actions.items()}

    def trigger(self, name: str) -> CompiledTrigger:
        compiled = self.triggers.get(name)
        if compiled is None:
            raise UnknownTrigger(name, self.definition.ref)
        return compiled

    def action(self, name: str) -> Action:
        return self._actions[name]

    def could_move(self, trigger: str, state: Mapping[str, str]) -> bool:
        """Whether some transition of ``trigger`` starts from ``state`` and finds the other regions as its ``when``
        requires — roles, data and guards aside: whether the trigger could move a case in ``state`` at all."""
        return any(state.get(spec.region) in spec.source
                   and all(state.get(region) in allowed for region, allowed in spec.when.items())
                   for spec in self.trigger(trigger).spec.transitions)

    def has_transition(self, region: str, trigger: str, state: str) -> bool:
        event = self._events.get((region, trigger))
        return event is not None and state in event.transitions

    def run_region(self, region: str, trigger: str, state: str, scratch: RegionRun) -> str:
        subject = _Subject(state)
        self._events[(region, trigger)].trigger(subject, run=scratch)
        return subject.state

    def _compile_trigger(self, name: str, spec: TriggerSpec) -> CompiledTrigger:
        touched = {transition.region for transition in spec.transitions}
        regions = tuple(region for region in self.definition.regions if region in touched)
        return CompiledTrigger(name, spec, frozenset(spec.roles), data_model(name, spec.data, self.searched), regions,
                               QuickData.of(spec.data, self.searched))

    def _machine(self, region: str) -> Machine:
        transitions = [
            self._transition(trigger, spec)
            for trigger, trigger_spec in self.definition.triggers.items()
            for spec in trigger_spec.transitions
            if spec.region == region
        ]
        states = list(self.definition.regions[region].states)
        return Machine(
            model=None, states=states, initial=self.definition.regions[region].initial,
            transitions=transitions, auto_transitions=False, send_event=True,
        )

    def _transition(self, trigger: str, spec: TransitionSpec) -> dict[str, object]:
        conditions = [_when(spec.when)] if spec.when else []
        conditions += [_guard(name, self.registry.guards[name]) for name in spec.guards]
        return {
            "trigger": trigger, "source": list(spec.source), "dest": spec.dest,
            "conditions": conditions, "after": [_record(spec)],
        }


def _when(required: Mapping[str, tuple[str, ...]]) -> Callable[[EventData], bool]:
    def holds(event: EventData) -> bool:
        run: RegionRun = event.kwargs["run"]
        state = run.context.case.state
        if all(state.get(region) in allowed for region, allowed in required.items()):
            return True
        run.rejected.append("when " + ", ".join(f"{r} in {list(a)}" for r, a in required.items()))
        return False

    return holds


def _guard(name: str, guard: Guard) -> Callable[[EventData], bool]:
    def holds(event: EventData) -> bool:
        run: RegionRun = event.kwargs["run"]
        verdict = guard(run.context)
        if verdict and not isinstance(verdict, Refusal):
            return True
        run.rejected.append(name)
        if isinstance(verdict, Refusal):
            run.refusals.append(verdict)
        return False

    return holds


def _record(spec: TransitionSpec) -> Callable[[EventData], None]:
    def taken(event: EventData) -> None:
        run: RegionRun = event.kwargs["run"]
        run.taken.append(spec)

    return taken


class WorkflowSet:
    """Every loaded definition version, compiled once and shared."""

    def __init__(self) -> None:
        self._compiled: dict[tuple[str, int], CompiledWorkflow] = {}

    def add(self, definition: WorkflowDefinition, registry: Registry, source: str) -> CompiledWorkflow:
        validate(definition, registry, source)
        compiled = CompiledWorkflow(definition, registry)
        self._compiled[(definition.key, definition.version)] = compiled
        return compiled

    def get(self, key: str, version: int) -> CompiledWorkflow:
        compiled = self._compiled.get((key, version))
        if compiled is None:
            raise UnknownDefinition(key, version)
        return compiled

    def latest(self, key: str) -> CompiledWorkflow:
        versions = [version for (name, version) in self._compiled if name == key]
        if not versions:
            raise UnknownDefinition(key)
        return self._compiled[(key, max(versions))]

    def states(self, key: str, region: str) -> tuple[str, ...]:
        """The states of ``region`` that some loaded version of workflow ``key`` declares, in the order its versions
        declare them: what a case of ``key`` may be in there (a case of an earlier version keeps a state a later one
        dropped), and so the values a filter on that region may take — any other finds nothing, ever.
        :class:`UnknownDefinition` for a workflow not loaded."""
        versions = sorted(version for (name, version) in self._compiled if name == key)
        if not versions:
            raise UnknownDefinition(key)
        regions = (self._compiled[(key, version)].definition.regions.get(region) for version in versions)
        return tuple(dict.fromkeys(state for spec in regions if spec is not None for state in spec.states))

    def status_of(self, key: str, version: int, lifecycle_state: str) -> int | None:
        """The DVCQG status code of a lifecycle state; ``None`` for workflows without codes (plan tasks)."""
        region = self.get(key, version).definition.regions.get("lifecycle")
        spec = region.states.get(lifecycle_state) if region else None
        return spec.status_code if spec else None

    def index_of(self, case: Case) -> dict[str, str]:
        """The values ``case`` is found by, as the index of its definition version reads its attributes."""
        return indexed(self.get(case.definition_key, case.definition_version).definition.index, case.attributes)

    def definitions(self) -> list[WorkflowDefinition]:
        return [compiled.definition for compiled in self._compiled.values()]
