"""Definition pins: the digest of what a definition means, and the check that a database still runs what it pinned.

Every version of a workflow stays loadable so that a running case keeps the definition it started with; a case keeps
its rule set by key too. Neither holds if a file is edited in place: the cases would go on under other rules, and an
auditor replaying one would replay it against a definition it never ran under. So the store remembers, per
definition (a workflow's key and version, a rule set's key: a :class:`Pin`), the digest it had when a process first
opened the database with it (the first pin wins, whichever process writes it), and a later start whose definition of
that name has another digest is refused (:func:`check_pins`, :class:`~motcua.workflow.errors.DefinitionChanged`).

A digest is of the definition's *meaning*, not of its file: SHA-256 over a canonical JSON of the validated model
(:func:`digest`), so the same YAML re-formatted, its keys re-ordered, its comments changed, a default written out or
left implicit, a number written ``2`` or ``2.0`` give the same digest. What a person reads and nothing decides (a
title, a label, a citation) is left out, field by field, by a table of :class:`Treatment` per model class; each
family gives its own (:data:`WORKFLOW_TREATMENTS` for the workflows here, the rule sets' beside them); a field no table
names counts. Mappings are compared as sets of keys (sorted), sequences in their order, unless the table says
otherwise; a workflow's one order that means something beyond its sequences, the order of its regions where a
trigger runs actions in several, is made explicit (:func:`workflow_meaning`).

The canonical form is frozen like an audit entry's: a change to it (or to a table) changes the digest of every
definition, and every database would refuse to start; ``tests/unit/test_definition_digests.py`` holds it to known
digests.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Final

from pydantic import BaseModel

from motcua.workflow.engine.definition import (
    DataField,
    OpeningSpec,
    Region,
    StateSpec,
    TransitionSpec,
    TriggerSpec,
    WorkflowDefinition,
)
from motcua.workflow.engine.model import JsonValue
from motcua.workflow.errors import ChangedDefinition, DefinitionChanged

if TYPE_CHECKING:
    from motcua.workflow.engine.ports import DefinitionPins

__all__ = [
    "RULE_SET",
    "WORKFLOW",
    "WORKFLOW_TREATMENTS",
    "Pin",
    "Treatment",
    "Treatments",
    "check_pins",
    "digest",
    "digest_of",
    "meaning",
    "model_meaning",
    "workflow_digest",
    "workflow_meaning",
]

WORKFLOW: Final = "workflow"
RULE_SET: Final = "rule_set"
_KINDS: Final = frozenset({WORKFLOW, RULE_SET})


@dataclass(frozen=True, slots=True, order=True)
class Pin:
    """What is pinned: a workflow version (``kind`` :data:`WORKFLOW`, its ``key`` and ``version``), or a rule set
    (``kind`` :data:`RULE_SET`, its ``key``; ``version`` 0: a rule set has no versions, one file per legal frame)."""

    kind: str
    key: str
    version: int = 0

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"a pin names a workflow or a rule set, not a {self.kind!r}")

    @classmethod
    def workflow(cls, key: str, version: int) -> Pin:
        return cls(WORKFLOW, key, version)

    @classmethod
    def rule_set(cls, key: str) -> Pin:
        return cls(RULE_SET, key, 0)

    @property
    def file_name(self) -> str:
        """The name of the file the definition is read from, without ``.yaml``: ``tthc-dossier.v1``, ``nd118-2025``
        (what ``motcua definitions repin`` takes)."""
        return f"{self.key}.v{self.version}" if self.kind == WORKFLOW else self.key

    def __str__(self) -> str:
        return f"workflow {self.key} v{self.version}" if self.kind == WORKFLOW else f"rule set {self.key}"


class Treatment(Enum):
    """How a field of a model enters the canonical form (a field no table names enters as it is)."""

    OMIT = "omit"  # display only (a label, a title, a citation): left out
    NAMES = "names"  # a mapping name → display text: its names only, sorted
    SET = "set"  # a sequence whose order means nothing (roles allowed, source states): sorted
    SETS = "sets"  # a mapping of such sequences (a transition's ``when``): each sorted


Treatments = Mapping[type[BaseModel], Mapping[str, Treatment]]

WORKFLOW_TREATMENTS: Final[Treatments] = {
    # rule_sets: the keys a case of the workflow may name. The order of the regions, and of a trigger's transitions
    # of different regions, is :func:`workflow_meaning`'s to say
    WorkflowDefinition: {"title": Treatment.OMIT, "roles": Treatment.NAMES, "rule_sets": Treatment.SET},
    Region: {"label": Treatment.OMIT},
    StateSpec: {"label": Treatment.OMIT},
    TriggerSpec: {"label": Treatment.OMIT, "roles": Treatment.SET},
    OpeningSpec: {"label": Treatment.OMIT, "roles": Treatment.SET},
    # guards and actions keep their order (actions run in it); the source states and the states ``when`` allows are sets
    TransitionSpec: {"source": Treatment.SET, "when": Treatment.SETS},
    # choices: the values taken, in the order a form lists them (display); their labels are display only
    DataField: {"label": Treatment.OMIT, "choice_labels": Treatment.OMIT, "choices": Treatment.SET},
}
"""What of a workflow definition is display only, or unordered: everything else decides what a case may do."""


def meaning(value: object, treatments: Treatments) -> JsonValue:
    """``value`` (a model, or what one of its fields holds) as JSON values, the fields ``treatments`` say are display
    only left out, sets sorted, integral numbers written as integers."""
    if isinstance(value, BaseModel):
        return model_meaning(value, treatments)
    if isinstance(value, Mapping):
        return {str(key): meaning(item, treatments) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [meaning(item, treatments) for item in value]
    return _scalar(value.value if isinstance(value, Enum) else value)


def model_meaning(model: BaseModel, treatments: Treatments) -> dict[str, JsonValue]:
    """:func:`meaning` of a model: its fields by name, those its table omits left out."""
    fields = treatments.get(type(model), {})
    return {name: _treated(getattr(model, name), fields.get(name), treatments)
            for name in type(model).model_fields if fields.get(name) is not Treatment.OMIT}


def _scalar(value: object) -> JsonValue:
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, date):  # a datetime too
        return value.isoformat()
    if value is None or isinstance(value, (str, int)):  # a bool too
        return value
    raise TypeError(f"no canonical form for a {type(value).__name__}")


def _treated(value: object, treatment: Treatment | None, treatments: Treatments) -> JsonValue:
    if treatment is None:
        return meaning(value, treatments)
    if treatment is Treatment.NAMES:
        return [*sorted(str(name) for name in _mapping(value))]
    if treatment is Treatment.SET:
        return _sorted(_sequence(value), treatments)
    if treatment is Treatment.SETS:
        return {str(name): _sorted(_sequence(items), treatments) for name, items in _mapping(value).items()}
    raise ValueError(f"a field left out has no value: {treatment}")


def _mapping(value: object) -> Mapping[object, object]:
    if not isinstance(value, Mapping):
        raise TypeError(f"a mapping was expected, not a {type(value).__name__}")
    return value


def _sequence(value: object) -> Sequence[object]:
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"a sequence was expected, not a {type(value).__name__}")
    return value


def _sorted(items: Sequence[object], treatments: Treatments) -> list[JsonValue]:
    """The items' canonical forms, in the order of their canonical JSON (a set: its order means nothing)."""
    return sorted((meaning(item, treatments) for item in items), key=_canonical)


def _number(value: float) -> int | float:
    """A float that is a whole number as that integer (``2.0`` is ``2``, ``-0.0`` is ``0``): one number, one form."""
    if not math.isfinite(value):
        raise ValueError(f"no canonical form for {value}")
    return int(value) if value.is_integer() else value


def _canonical(document: JsonValue) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def digest_of(document: JsonValue) -> str:
    """The SHA-256 (64 hexadecimal digits) of the canonical JSON of ``document``: keys sorted, no space, UTF-8."""
    return hashlib.sha256(_canonical(document).encode("utf-8")).hexdigest()


def digest(model: BaseModel, treatments: Treatments) -> str:
    """:func:`digest_of` ``model``'s :func:`meaning`."""
    return digest_of(meaning(model, treatments))


def workflow_meaning(definition: WorkflowDefinition) -> dict[str, JsonValue]:
    """What a workflow definition means (:data:`WORKFLOW_TREATMENTS`), its order made explicit where the engine reads
    one (:mod:`motcua.workflow.engine.compiled`, :mod:`motcua.workflow.engine.decisions`): a trigger runs each region's
    transitions in their order (the first that holds is taken), region after region in the definition's order of
    regions, then the actions of the transitions taken in that order. So each trigger's transitions are given by
    region, each region's in order, and, for a trigger whose transitions run actions in several regions, the order of
    those regions (``action_regions``); the order of the regions means nothing else, nor does a trigger's order of
    transitions of different regions."""
    document = model_meaning(definition, WORKFLOW_TREATMENTS)
    document["triggers"] = {name: _trigger_meaning(spec, tuple(definition.regions))
                            for name, spec in definition.triggers.items()}
    return document


def _trigger_meaning(spec: TriggerSpec, regions: tuple[str, ...]) -> dict[str, JsonValue]:
    document = model_meaning(spec, WORKFLOW_TREATMENTS)
    by_region: dict[str, JsonValue] = {}
    for region in regions:
        taken = [meaning(transition, WORKFLOW_TREATMENTS) for transition in spec.transitions
                 if transition.region == region]
        if taken:
            by_region[region] = taken
    document["transitions"] = by_region
    acting: list[JsonValue] = [region for region in regions
                               if any(t.actions for t in spec.transitions if t.region == region)]
    if len(acting) > 1:
        document["action_regions"] = acting
    return document


def workflow_digest(definition: WorkflowDefinition) -> str:
    """The digest of a workflow definition's meaning (:func:`workflow_meaning`): everything but its display texts."""
    return digest_of(workflow_meaning(definition))


def check_pins(pins: DefinitionPins, digests: Mapping[Pin, str], at: datetime) -> None:
    """Refuse, with :class:`~motcua.workflow.errors.DefinitionChanged` naming each of them, the definitions of
    ``digests`` whose digest is not the one pinned; then pin (at ``at``) every one the database has not pinned yet.
    A refused start writes nothing (a draft beside an edited file is not frozen by it); a database pinned already is
    only read. Another process may pin a missing one first: its pin wins, and is checked like the others."""
    stored = dict(pins.pinned())
    _refuse_changed(stored, digests)
    missing = {name: value for name, value in digests.items() if name not in stored}
    if missing:
        stored.update(pins.pin(missing, at))
        _refuse_changed(stored, digests)


def _refuse_changed(stored: Mapping[Pin, str], digests: Mapping[Pin, str]) -> None:
    changed = [ChangedDefinition(name.kind, name.key, name.version, stored[name], value)
               for name, value in sorted(digests.items()) if stored.get(name, value) != value]
    if changed:
        raise DefinitionChanged(changed)
