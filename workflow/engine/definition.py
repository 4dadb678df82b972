"""Workflow definitions as data: the typed, frozen model that YAML documents are validated into.

A definition declares orthogonal *regions* (lifecycle, deadline, records, …), each a flat state
machine, and *triggers* whose transitions may move several regions at once. Its *index* names, for
each search key of :data:`motcua.workflow.engine.queries.INDEX_KEYS`, the attributes a query reads it from
(:func:`motcua.workflow.engine.queries.indexed`). Nothing here is
evaluated from text: guards and actions are names resolved against a registry
(:mod:`motcua.workflow.engine.registry`); the graph checks live in :mod:`motcua.workflow.engine.checks`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

__all__ = [
    "SAFE_INTEGER",
    "ClockMode",
    "DataField",
    "DataType",
    "OpeningSpec",
    "Region",
    "StateSpec",
    "TransitionSpec",
    "TriggerSpec",
    "WorkflowDefinition",
]

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Bound = StrictInt | Annotated[float, Field(strict=True, allow_inf_nan=False)]  # a field's min or max, as YAML has it
SAFE_INTEGER: Final = 2**53 - 1
"""The greatest integer a trigger's data holds (and a JSON double exactly): every host reads back what was stored."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClockMode(StrEnum):
    """What the legal clock does while a lifecycle state holds."""

    IDLE = "idle"  # not started yet (submitted online, not received)
    RUNNING = "running"
    PAUSED = "paused"  # waiting for the applicant: supplement, payment
    STOPPED = "stopped"  # processing ended


class StateSpec(_Frozen):
    label: str = Field(min_length=1)
    initial: bool = False
    final: bool = False
    status_code: int | None = Field(default=None, ge=1, le=10)
    clock: ClockMode | None = None


class Region(_Frozen):
    label: str = Field(min_length=1)
    states: dict[Name, StateSpec] = Field(min_length=1)

    @property
    def initial_states(self) -> tuple[str, ...]:
        return tuple(name for name, spec in self.states.items() if spec.initial)

    @property
    def initial(self) -> str:
        return self.initial_states[0]


class DataType(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    RATING = "rating"  # 1..5, an applicant's satisfaction
    CHOICE = "choice"
    TEXT_LIST = "text_list"  # one or more texts (at most 50), e.g. the units a merger joins
    RECORD_LIST = "record_list"  # one or more items (at most 50), each an object of the declared scalar `fields`


class DataField(_Frozen):
    """One field of a trigger's (or the opening's) data. ``personal`` (the default) keeps its value out of every log
    line; ``personal: false`` is the author's word that the field carries codes, counts, flags or dates — never a
    person's name, number, address or words — and lets its value reach the log. Logs by allowlist: a field added
    without the flag is withheld, never shown by mistake."""

    type: DataType
    required: bool = False
    label: str = ""
    choices: tuple[str, ...] = ()
    # how a person reads each choice (forms, pages): every key one of ``choices``; a choice without one shows its code
    choice_labels: dict[str, str] = Field(default_factory=dict)
    personal: bool = True
    # integer, number: the least and the greatest value taken (both included), e.g. ``min: 0`` for an amount of money
    min: Bound | None = None
    max: Bound | None = None
    # record_list: the fields of each item, scalars only (no list in a list); ``personal`` is the whole list's
    fields: dict[Name, DataField] = Field(default_factory=dict)

    @field_validator("choices")
    @classmethod
    def _choices_are_distinct(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("choices must be distinct")
        return value

    @model_validator(mode="after")
    def _choices_only_for_choices(self) -> DataField:
        if self.type is DataType.CHOICE and not self.choices:
            raise ValueError("a choice lists at least one choice")
        if self.type is not DataType.CHOICE and self.choices:
            raise ValueError(f"`choices` are given for a choice only, not for a field of type {self.type.value}")
        return self

    @model_validator(mode="after")
    def _labels_name_choices(self) -> DataField:
        unknown = sorted(set(self.choice_labels) - set(self.choices))
        if unknown:
            raise ValueError(f"choice_labels name what is not a choice: {', '.join(unknown)}")
        empty = sorted(choice for choice, label in self.choice_labels.items() if not label.strip())
        if empty:
            raise ValueError(f"choice_labels: the label of {', '.join(empty)} is empty")
        return self

    def choice_label(self, value: str) -> str:
        """How a person reads ``value`` of this choice: its label, or the value itself."""
        return self.choice_labels.get(value, value)

    @model_validator(mode="after")
    def _bounds_only_for_numbers(self) -> DataField:
        bounds = [bound for bound in (self.min, self.max) if bound is not None]
        if not bounds:
            return self
        if self.type not in (DataType.INTEGER, DataType.NUMBER):
            raise ValueError(f"`min` and `max` are given for an integer or a number only, not a {self.type.value}")
        if self.type is DataType.INTEGER and not all(isinstance(bound, int) for bound in bounds):
            raise ValueError("`min` and `max` of an integer are integers")
        if any(abs(bound) > SAFE_INTEGER for bound in bounds):
            raise ValueError(f"`min` and `max` are within ±{SAFE_INTEGER} (what a JSON double holds exactly)")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"`min` ({self.min}) is greater than `max` ({self.max})")
        return self

    @model_validator(mode="after")
    def _fields_only_for_record_lists(self) -> DataField:
        if (self.type is DataType.RECORD_LIST) != bool(self.fields):
            raise ValueError("`fields` is given for a record_list, and only for one (at least one field)")
        nested = sorted(name for name, spec in self.fields.items()
                        if spec.type in (DataType.RECORD_LIST, DataType.TEXT_LIST))
        if nested:
            raise ValueError(f"the fields of a record_list item are scalars: {', '.join(nested)} is a list")
        return self


class TransitionSpec(_Frozen):
    region: Name
    source: tuple[Name, ...] = Field(min_length=1)
    dest: Name | None = None  # None: an internal transition, the state does not change
    guards: tuple[Name, ...] = ()
    actions: tuple[Name, ...] = ()
    when: dict[Name, tuple[Name, ...]] = Field(default_factory=dict)  # other regions' states required

    @field_validator("source", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value


class TriggerSpec(_Frozen):
    label: str = Field(min_length=1)
    roles: tuple[Name, ...] = Field(min_length=1)
    data: dict[Name, DataField] = Field(default_factory=dict)
    transitions: tuple[TransitionSpec, ...] = Field(min_length=1)
    timer: bool = False  # fired by the worker when a timer falls due


class OpeningSpec(_Frozen):
    """How a case comes into being: who may open it, the attributes it takes, what runs then."""

    label: str = Field(min_length=1)
    roles: tuple[Name, ...] = Field(min_length=1)
    data: dict[Name, DataField] = Field(default_factory=dict)
    actions: tuple[Name, ...] = ()


class WorkflowDefinition(_Frozen):
    key: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")]
    version: int = Field(ge=1)
    title: str = Field(min_length=1)
    rule_sets: tuple[str, ...] = Field(min_length=1)
    roles: dict[Name, str] = Field(min_length=1)  # role → Vietnamese label
    regions: dict[Name, Region] = Field(min_length=1)
    triggers: dict[Name, TriggerSpec] = Field(min_length=1)
    opening: OpeningSpec
    index: dict[Name, tuple[Name, ...]] = Field(default_factory=dict)  # search key → attributes, first filled wins

    @field_validator("index", mode="before")
    @classmethod
    def _attributes_one_or_many(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value
        return {key: (names,) if isinstance(names, str) else names for key, names in value.items()}

    @property
    def ref(self) -> str:
        return f"{self.key}@{self.version}"

    @property
    def searched(self) -> frozenset[str]:
        """The attributes a search key reads (:attr:`index`): a text field of that name is one line a filter can
        name (the engine's data model, and the console's inputs)."""
        return frozenset(name for names in self.index.values() for name in names)

    def initial_state(self) -> dict[str, str]:
        return {name: region.initial for name, region in self.regions.items()}
