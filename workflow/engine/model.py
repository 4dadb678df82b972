"""Domain values: cases (dossiers and plan tasks), actors, timer changes and effects.

All frozen. A *case* is one running instance of a workflow definition: a dossier of an
administrative procedure, or a task of the reform plan. Its attributes hold JSON values only,
so that what is stored, hashed and replayed is exactly what the engine saw.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, TypeAlias

from motcua.workflow.engine.bounds import NAME_MAX, line_problem
from motcua.workflow.engine.frozen import quick_init
from motcua.workflow.errors import InvalidInput

__all__ = [
    "GENESIS_HASH",
    "SYSTEM_ACTOR",
    "SYSTEM_ROLE",
    "Actor",
    "ArmedTimer",
    "CancelTimer",
    "Case",
    "DueTimer",
    "Effect",
    "JsonValue",
    "OutboxItem",
    "ParkedTimer",
    "SetTimer",
    "TimerChange",
]

JsonValue: TypeAlias = str | int | float | bool | list["JsonValue"] | dict[str, "JsonValue"] | None

GENESIS_HASH = "0" * 64


@dataclass(frozen=True, slots=True)
class Actor:
    """Who fires a trigger, and the roles they hold (officer, specialist, leader, applicant, system)."""

    name: str
    roles: frozenset[str]

    def __post_init__(self) -> None:
        """An actor's name goes into the audit log and is hashed there: one line of text, in NFC, of at most
        :data:`~motcua.workflow.engine.bounds.NAME_MAX` characters (a number — a user id — would be hashed as a
        number and stored as text, and the entry would no longer verify); its roles are texts."""
        problem = _name_problem(self.name)
        if problem is not None:
            raise InvalidInput("actor", f"an actor's name is {problem}")
        if not isinstance(self.roles, frozenset) or not all(isinstance(role, str) and role for role in self.roles):
            raise InvalidInput("actor", "an actor's roles are texts (Actor.of(name, 'officer', 'leader'))")

    @classmethod
    def of(cls, name: str, *roles: str) -> Actor:
        """``name`` (read as NFC) with ``roles``."""
        if any(not isinstance(role, str) for role in roles):
            raise InvalidInput("actor", "an actor's roles are texts, each its own argument: Actor.of(name, 'officer')")
        chosen = unicodedata.normalize("NFC", name) if isinstance(name, str) else name
        return cls(name=chosen, roles=frozenset(roles))


def _name_problem(name: object) -> str | None:
    if not isinstance(name, str):
        return f"a text, not {type(name).__name__}"
    if not name.strip():
        return "not empty"
    problem = line_problem(name, NAME_MAX)
    if problem is not None:
        return f"one line of at most {NAME_MAX} characters, without control characters ({problem})"
    if not unicodedata.is_normalized("NFC", name):
        return "in NFC (Actor.of normalises it)"
    return None


SYSTEM_ROLE: Final = "system"
"""The role timers fire in: every trigger a timer fires allows it (checked when a definition loads)."""
SYSTEM_ACTOR = Actor(name="motcua", roles=frozenset({SYSTEM_ROLE}))


@quick_init
@dataclass(frozen=True, slots=True)
class Case:
    code: str
    definition_key: str
    definition_version: int
    rule_set: str
    state: Mapping[str, str]
    attributes: Mapping[str, JsonValue]
    version: int
    head_hash: str
    opened_at: datetime
    updated_at: datetime

    @property
    def definition_ref(self) -> str:
        return f"{self.definition_key}@{self.definition_version}"


@dataclass(frozen=True, slots=True)
class SetTimer:
    """Arm (or re-arm) the named timer of a case: at ``due_at`` the worker fires ``trigger``."""

    name: str
    trigger: str
    due_at: datetime
    data: Mapping[str, JsonValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CancelTimer:
    name: str


TimerChange: TypeAlias = SetTimer | CancelTimer


@dataclass(frozen=True, slots=True)
class Effect:
    """A side effect released after commit through the outbox (a notification, a portal sync…)."""

    kind: str
    payload: Mapping[str, JsonValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DueTimer:
    """An armed timer a dispatcher claimed. ``generation`` is the global position of the audit entry
    that armed it: a re-armed timer gets a new one, so a stale claim can never fire the new timer. ``attempts``:
    how many times its trigger failed already (:meth:`~motcua.workflow.engine.ports.TimerQueue.timer_failed`)."""

    case_code: str
    name: str
    trigger: str
    due_at: datetime
    data: Mapping[str, JsonValue]
    generation: int
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class ArmedTimer:
    """An armed timer as an operator's table shows it: when it falls due, and until when a dispatcher's claim
    holds it (``None``: not claimed; a lease in the past ran out)."""

    case_code: str
    name: str
    trigger: str
    due_at: datetime
    claimed_until: datetime | None
    attempts: int = 0  # its trigger failed this many times; it is tried again when the claim runs out
    error: str | None = None  # the last failure


@dataclass(frozen=True, slots=True)
class ParkedTimer:
    """A timer set aside after its trigger failed again and again (its data no longer fits the definition, a trigger
    or a role the definition lacks, an action that fails…): not claimed again, nor holding back its case's later
    timers, until an operator sends it back (:meth:`~motcua.workflow.engine.ports.TimerQueue.requeue_timers`) or a
    later decision of its case re-arms or cancels it. ``error``: the last failure, as the worker saw it."""

    case_code: str
    name: str
    trigger: str
    due_at: datetime
    error: str
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """An effect waiting in the outbox (or parked after failing too often)."""

    id: int
    case_code: str
    kind: str
    payload: Mapping[str, JsonValue]
    attempts: int
    status: str
    next_attempt_at: datetime
    last_error: str | None = None
    created_at: datetime | None = None  # when the decision wrote it (None: sent by a motcua before it was carried)
    delivered: frozenset[str] = frozenset()  # the channels an attempt that failed on another delivered it to
