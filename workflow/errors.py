"""The errors of the core (the engine and its families), together: the one exception tree of motcua.

It sits beside ``engine/`` rather than in it, so that the engine names no family's errors while every error of
the core layer lives in one module. The driven and the driving side add their own few (``adapters/errors.py``,
``entrypoints/errors.py``), all under :class:`MotcuaError`.

Every error a caller can act on is a subclass of :class:`MotcuaError` and carries the data that names what was
wrong; an error saying that something named does not exist is also a :class:`LookupError`. Driver errors (SQL,
Redis, HTTP) are translated into these at the adapter boundary and never escape it. :class:`Retryable` — a type,
never a flag — marks failures worth trying again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from motcua.workflow.engine.bounds import excerpt

__all__ = [
    "ActionFailed",
    "CaseAlreadyExists",
    "CaseNotFound",
    "CatalogueImportRefused",
    "CellProblem",
    "ChangedDefinition",
    "ConcurrencyConflict",
    "DatabaseNotEmpty",
    "DefinitionChanged",
    "DeliveryDeferred",
    "DeliveryFailed",
    "DeliveryUnavailable",
    "DossierNotImported",
    "GuardRejected",
    "InvalidDefinition",
    "InvalidInput",
    "MalformedData",
    "MotcuaError",
    "NoRuleSetInForce",
    "NotFound",
    "OutsideScope",
    "Problem",
    "RecordRefused",
    "Retryable",
    "RoleNotAllowed",
    "RuleRefused",
    "StaleTimer",
    "StorageFailure",
    "StorageUnavailable",
    "SuccessionHalted",
    "TransitionNotAllowed",
    "UnknownDefinition",
    "UnknownProcedure",
    "UnknownRuleSet",
    "UnknownTrigger",
    "delivery_failure",
]


class MotcuaError(Exception):
    """Root of every error motcua raises on purpose."""


class Retryable(MotcuaError):
    """A failure that may succeed when tried again (a lost race, a service briefly away)."""


class InvalidDefinition(MotcuaError):
    """A definition file (workflow, procedure, rule set, office, plan) failed validation."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__(f"{source}: " + "; ".join(self.problems))


@dataclass(frozen=True, slots=True)
class ChangedDefinition:
    """A definition whose digest is not the one the database pinned: a workflow version (``kind`` ``workflow``, its
    ``key`` and ``version``) or a rule set (``rule_set``, its ``key``, ``version`` 0), the digest ``pinned`` and the
    digest of the definition loaded now (``loaded``), each 64 hexadecimal digits."""

    kind: str
    key: str
    version: int
    pinned: str
    loaded: str

    def __str__(self) -> str:
        digests = f"pinned sha256 {self.pinned[:16]}…, loaded {self.loaded[:16]}…"
        if self.kind == "workflow":
            name = f"{self.key}.v{self.version}"
            return (f"workflow {self.key} v{self.version} changed in place since this database pinned it ({digests}): "
                    f"its running cases would go on under other rules. Restore {name}.yaml as it was and put the "
                    f"change in a new version file ({self.key}.v<next>.yaml, version: <next>): new cases take it, "
                    f"running ones keep v{self.version}; only for a correction that must reach the running cases too, "
                    f"re-pin it: motcua definitions repin {name}")
        return (f"rule set {self.key} changed in place since this database pinned it ({digests}): the cases received "
                f"under it would go on under other rules. Restore {self.key}.yaml as it was and publish a change of "
                f"the law as a new rule set from the day it takes effect; only for a correction that must reach the "
                f"running cases too, re-pin it: motcua definitions repin {self.key}")


class DefinitionChanged(InvalidDefinition):
    """Definitions (workflow versions, rule sets) edited in place since the database pinned them: the process is
    refused at start, before any case is read or moved (:mod:`motcua.workflow.engine.pins`). ``changed`` names each,
    with both digests and what to do."""

    def __init__(self, changed: Sequence[ChangedDefinition]) -> None:
        self.changed = tuple(changed)
        super().__init__("definitions", [str(item) for item in self.changed])


class InvalidInput(MotcuaError):
    """A caller passed an argument that cannot be used."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class NotFound(InvalidInput, LookupError):
    """A caller named something that does not exist (an office, a plan, an API key, an entry, an indicator)."""


class UnknownDefinition(MotcuaError, LookupError):
    def __init__(self, key: str, version: int | None = None) -> None:
        self.key = key
        self.version = version
        shown = key if version is None else f"{key} v{version}"
        super().__init__(f"no workflow definition {shown}")


class UnknownProcedure(MotcuaError, LookupError):
    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(f"no procedure {excerpt(code, 100)} in the catalogue")


class UnknownRuleSet(MotcuaError, LookupError):
    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"no rule set {key!r} in the rule book")


class NoRuleSetInForce(MotcuaError, LookupError):
    """No rule set of the rule book covers the given day."""

    def __init__(self, at: date) -> None:
        self.at = at
        super().__init__(f"no rule set is in force on {at.isoformat()}")


class UnknownTrigger(MotcuaError, LookupError):
    def __init__(self, trigger: str, definition: str) -> None:
        self.trigger = trigger
        self.definition = definition
        super().__init__(f"{definition} declares no trigger {trigger!r}")


class TransitionNotAllowed(MotcuaError):
    """The trigger exists but no region can take it from the current state."""

    def __init__(self, trigger: str, state: Mapping[str, str]) -> None:
        self.trigger = trigger
        self.state = dict(state)
        shown = ", ".join(f"{region}={name}" for region, name in self.state.items())
        super().__init__(f"trigger {trigger!r} is not allowed in state {{{shown}}}")


class GuardRejected(TransitionNotAllowed):
    """Transitions exist from the current state but their guards said no."""

    def __init__(self, trigger: str, state: Mapping[str, str], guards: Sequence[str]) -> None:
        super().__init__(trigger, state)
        self.guards = tuple(guards)
        self.args = (f"{self.args[0]}: rejected by {', '.join(self.guards)}",)


class RuleRefused(GuardRejected):
    """A guard refused by a named legal rule: ``rule`` (its key), ``source`` (the legal text) and ``reason`` (what
    the case already holds that the rule forbids, e.g. the first apology letter's date)."""

    def __init__(self, trigger: str, state: Mapping[str, str], guards: Sequence[str], *, rule: str, source: str,
                 reason: str) -> None:
        super().__init__(trigger, state, guards)
        self.rule = rule
        self.source = source
        self.reason = reason
        self.args = (f"{trigger!r} refused by rule {rule} ({source}): {reason}",)


class RoleNotAllowed(MotcuaError):
    def __init__(self, actor: str, roles: Sequence[str], trigger: str, allowed: Sequence[str]) -> None:
        self.actor = actor
        self.roles = tuple(roles)
        self.trigger = trigger
        self.allowed = tuple(allowed)
        super().__init__(
            f"actor {actor!r} with roles {list(self.roles)} may not fire {trigger!r} "
            f"(allowed: {list(self.allowed)})"
        )


class OutsideScope(MotcuaError):
    """A caller scoped to some units (or to one applicant) asked to create or act for others. Reads and moves of
    an existing case outside the scope answer :class:`CaseNotFound` instead: its existence is not disclosed."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class MalformedData(MotcuaError):
    """The data given with a trigger is missing fields or has wrong values."""

    def __init__(self, trigger: str, problems: Mapping[str, str]) -> None:
        self.trigger = trigger
        self.problems = dict(problems)
        shown = "; ".join(f"{name}: {message}" for name, message in self.problems.items())
        super().__init__(f"data of {trigger!r} rejected: {shown}")


class ActionFailed(MotcuaError):
    """An action or a guard of ``trigger`` raised an error that is not motcua's (a bug, a broken extension): named by
    its type (``kind``) only — its message may quote anything. The error itself is the ``__cause__``."""

    def __init__(self, trigger: str, kind: str) -> None:
        self.trigger = trigger
        self.kind = kind
        super().__init__(f"an action or a guard of {trigger!r} raised {kind}")


class CaseNotFound(MotcuaError, LookupError):
    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(f"no dossier or task with code {excerpt(code, 100)}")  # a code is at most 100 characters


class ImportedDossier(MotcuaError):
    """A person asked to move a dossier imported from the DVCQG portal. Its record is the portal's: the system that
    received it handles it, and only a later import of its record moves it here (a merger's transfer too, motcua's
    own decision). Acting on it here would post the portal's own dossier back to it, and be undone by the next
    import."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(f"dossier {code!r} was imported from the DVCQG portal: it is handled in the system that "
                         "received it, and moves here only by a later import of its record")


class CaseAlreadyExists(MotcuaError):
    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(f"a dossier or task with code {code!r} already exists")


class ConcurrencyConflict(Retryable):
    """Another writer committed first; reload and decide again."""

    def __init__(self, code: str, expected_version: int) -> None:
        self.code = code
        self.expected_version = expected_version
        super().__init__(f"{code} changed since version {expected_version}")


class StorageUnavailable(Retryable):
    """The database could not be reached; nothing was written."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"storage unavailable: {detail}")


class StorageFailure(MotcuaError):
    """The database refused the work for a reason trying again will not fix (schema, data)."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"storage failure: {detail}")


class StaleTimer(MotcuaError):
    """The timer was re-armed, cancelled or already fired since it was claimed: nothing to do."""

    def __init__(self, code: str, name: str, generation: int) -> None:
        self.code = code
        self.name = name
        self.generation = generation
        super().__init__(f"timer {name!r} of {code} (generation {generation}) is no longer armed")


class SuccessionHalted(MotcuaError):
    """Applying a unit succession stopped at case ``code``: the cases moved before it stay moved, this one was not
    (each transfer is its own transaction). Run it again once the cause is fixed: moved cases are not moved twice."""

    def __init__(self, code: str, from_unit: str, to_unit: str, detail: str) -> None:
        self.code = code
        self.from_unit = from_unit
        self.to_unit = to_unit
        self.detail = detail
        super().__init__(f"succession {from_unit} → {to_unit} stopped at {code}: {detail}")


class DeliveryFailed(MotcuaError):
    """A notifier could not deliver an effect, and trying again will not help (the effect is parked)."""

    def __init__(self, kind: str, detail: str, *, delivered: frozenset[str] = frozenset()) -> None:
        self.kind = kind
        self.detail = detail
        self.delivered = delivered  # the channels of a fan-out this attempt did deliver to (a retry skips them)
        super().__init__(f"{kind} delivery failed: {detail}")


class DeliveryUnavailable(DeliveryFailed, Retryable):
    """A notifier could not deliver an effect now (receiver away, busy, timed out): tried again later, not before
    ``retry_after`` from now when the receiver asked for that wait (an HTTP ``Retry-After``; the retry policy bounds
    it)."""

    def __init__(
        self, kind: str, detail: str, *, retry_after: timedelta | None = None, delivered: frozenset[str] = frozenset()
    ) -> None:
        super().__init__(kind, detail, delivered=delivered)
        self.retry_after = retry_after


class DeliveryDeferred(DeliveryUnavailable):
    """An effect not sent at all: its receiver asked, answering another effect, that nothing be sent to it before
    ``retry_after`` from now (an HTTP ``Retry-After`` on a 408, 429 or 5xx). Tried again then, and not counted as an
    attempt: an effect is parked for what its own attempts met, never for a wait asked on another's behalf."""


def delivery_failure(
    kind: str, detail: str, *, transient: bool, retry_after: timedelta | None = None,
    delivered: frozenset[str] = frozenset(),
) -> DeliveryFailed:
    """The failure for a delivery judged transient (retryable, with the wait the receiver asked for) or permanent."""
    if transient:
        return DeliveryUnavailable(kind, detail, retry_after=retry_after, delivered=delivered)
    return DeliveryFailed(kind, detail, delivered=delivered)


class DatabaseNotEmpty(MotcuaError):
    """A command that builds a database from nothing (``motcua demo``) was pointed at one holding cases."""

    def __init__(self, url: str, cases: int) -> None:
        self.url = url
        self.cases = cases
        super().__init__(f"{url} already holds cases ({cases}+): the demo needs an empty database, "
                         "give another --db or leave --db out to use the one in --out")


# -- the DVCQG exchange ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class RecordRefused(MotcuaError):
    """A record that cannot be imported; ``index`` is its place in the file's list, from 0."""

    def __init__(self, index: int, code: str | None, problems: Sequence[Problem]) -> None:
        self.index = index
        self.code = code
        self.problems = tuple(problems)
        named = f"MaHoSo {code!r}" if code else "no MaHoSo"
        super().__init__(f"record {index} ({named}): " + "; ".join(str(p) for p in self.problems))


class DossierNotImported(MotcuaError):
    """The code names a dossier motcua handles itself: an import must not overwrite it."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(f"dossier {code!r} is handled in motcua, not imported from DVCQG: not overwritten")


# -- the procedure catalogue import -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CellProblem:
    """What is wrong with one cell of an imported list: ``row`` is the row of the file as a spreadsheet numbers it
    (0: the file as a whole), ``column`` the column's header as the file gives it (empty: the whole row)."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = "the file" if self.row == 0 else f"row {self.row}"
        return f"{where}, {self.column}: {self.message}" if self.column else f"{where}: {self.message}"


class CatalogueImportRefused(InvalidDefinition):
    """A procedure list that cannot become a catalogue revision; nothing was written."""

    def __init__(self, source: str, problems: Sequence[CellProblem]) -> None:
        self.cells = tuple(problems)
        super().__init__(source, [str(problem) for problem in self.cells])
