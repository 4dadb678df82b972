"""The engine decides; it never writes. ``open`` and ``fire`` return a :class:`Decision`.

A decision holds the case as it will be (version + 1), the sealed audit entry, the values the case
is found by (its index, :func:`~motcua.workflow.engine.queries.indexed`), the timer changes and the
effects; the service persists them in one unit of work and releases effects after commit. Given the
same case, input and clock, the engine decides the same thing.

Several decisions may make one unit of work: a *chain* (:func:`chain`), each decided on the case the
previous one left (a dossier opened and received at once), committed together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

from motcua.workflow.engine.audit import AuditEntry, sealed
from motcua.workflow.engine.bounds import STORED_CODE_MAX, line_problem
from motcua.workflow.engine.clock import Clock, checked
from motcua.workflow.engine.compiled import CompiledTrigger, CompiledWorkflow, RegionRun, WorkflowSet, validate_data
from motcua.workflow.engine.definition import TransitionSpec
from motcua.workflow.engine.frozen import quick_init
from motcua.workflow.engine.model import GENESIS_HASH, Actor, Case, DueTimer, Effect, JsonValue, TimerChange
from motcua.workflow.engine.queries import indexed_by
from motcua.workflow.engine.registry import Context
from motcua.workflow.errors import (
    GuardRejected,
    InvalidInput,
    RoleNotAllowed,
    RuleRefused,
    TransitionNotAllowed,
    UnknownDefinition,
    UnknownTrigger,
)

__all__ = ["OPEN_TRIGGER", "Decision", "Engine", "chain"]

OPEN_TRIGGER = "open"


@quick_init
@dataclass(frozen=True, slots=True)
class Decision:
    case: Case
    entry: AuditEntry
    index: Mapping[str, str]  # the values a query finds the case by, as its definition's index reads them
    timers: tuple[TimerChange, ...] = ()
    effects: tuple[Effect, ...] = ()
    consumes: DueTimer | None = None  # the timer this decision fires: removed in the same transaction

    @property
    def expected_version(self) -> int:
        """The version the stored case must still have for this decision to commit."""
        return self.case.version - 1


@dataclass(slots=True)
class _Plan:
    """What the actions of one trigger add up to: the new state and attributes (the engine's own dicts, shown to the
    guards and actions through the decision's one context), the attributes the actions set, the timers, the effects."""

    state: dict[str, str]
    attributes: dict[str, JsonValue]
    changes: dict[str, JsonValue]
    timers: list[TimerChange]
    effects: list[Effect]


class Engine:
    """Decides. ``publish`` maps a definition key to effect kinds released by *every* decision of its cases
    (``Effect(kind, {"sequence": n})``, after the actions' own effects): how a composition root has each
    change of a dossier synchronised elsewhere, in the transaction that commits it — but of a case ``unpublished``
    says is held elsewhere (a dossier imported from the national portal: publishing it would post the portal's own
    record back to it). The core gives the kinds no meaning."""

    def __init__(
        self, workflows: WorkflowSet, clock: Clock, publish: Mapping[str, tuple[str, ...]] | None = None,
        unpublished: Callable[[Case], bool] | None = None,
    ) -> None:
        self.workflows = workflows
        self.clock = checked(clock)  # a host's clock giving naive instants is refused at its first reading
        self.publish: Mapping[str, tuple[str, ...]] = {key: kinds for key, kinds in (publish or {}).items() if kinds}
        self.unpublished = unpublished

    def open(
        self, key: str, code: str, actor: Actor, data: Mapping[str, object], *, rule_set: str,
        version: int | None = None,
    ) -> Decision:
        compiled = self.workflows.latest(key) if version is None else self.workflows.get(key, version)
        if not isinstance(code, str) or not code.strip():
            raise InvalidInput("code", "a case needs a non-empty code (a text)")
        if (problem := line_problem(code, STORED_CODE_MAX)) is not None:  # a NUL fails PostgreSQL, a line break a sheet
            raise InvalidInput("code", problem)
        opening = compiled.definition.opening
        role = _role(actor, frozenset(opening.roles), OPEN_TRIGGER)
        values = validate_data(OPEN_TRIGGER, compiled.opening_data, data, compiled.opening_quick)
        now = self.clock.now()
        case = Case(
            code=code, definition_key=compiled.definition.key, definition_version=compiled.definition.version,
            rule_set=rule_set, state={}, attributes=values, version=0, head_hash=GENESIS_HASH,
            opened_at=now, updated_at=now,
        )
        moved: dict[str, str] = {}
        attributes = dict(values)
        context = Context(case, OPEN_TRIGGER, actor, role, values, now, moved, attributes)
        plan = _Plan(moved, attributes, {}, [], [])
        return self._decide(compiled, context, plan, compiled.definition.initial_state(), opening.actions)

    def fire(self, case: Case, trigger: str, actor: Actor, data: Mapping[str, object]) -> Decision:
        compiled = self.workflows.get(case.definition_key, case.definition_version)
        spec = compiled.trigger(trigger)
        role = _role(actor, spec.roles, trigger)
        values = validate_data(trigger, spec.data, data, spec.quick)
        # one context for the whole decision: the guards see copies of the state and attributes before the trigger,
        # then the same context, its state and attributes brought forward in place (the plan's), is the actions'
        plan = _Plan(dict(case.state), dict(case.attributes), {}, [], [])
        context = Context(case, trigger, actor, role, values, self.clock.now(), plan.state, plan.attributes)
        state, taken = _move(compiled, spec, context)
        actions = taken[0].actions if len(taken) == 1 else tuple(a for transition in taken for a in transition.actions)
        return self._decide(compiled, context, plan, state, actions)

    def allows(self, case: Case, trigger: str) -> bool | None:
        """Whether ``trigger`` could move ``case`` in its state at all — a transition from it whose ``when`` holds;
        roles, data and guards aside; ``None`` when this engine knows the case's definition or the trigger not (it
        cannot tell)."""
        try:
            return self.workflows.get(case.definition_key, case.definition_version).could_move(trigger, case.state)
        except (UnknownDefinition, UnknownTrigger):
            return None

    def _decide(
        self, compiled: CompiledWorkflow, context: Context, plan: _Plan, state: dict[str, str],
        actions: tuple[str, ...],
    ) -> Decision:
        """``context`` shows the ``plan``'s state and attributes (copies of the case's, the engine's own): the state is
        brought to ``state``, the actions run, and the new case keeps both."""
        case = context.case
        _run_actions(compiled, context, plan, state, actions)
        state = plan.state
        entry = sealed(
            case_code=case.code, sequence=case.version + 1, occurred_at=context.now, actor=context.actor.name,
            role=context.role, trigger=context.trigger, state_before=case.state, state_after=state,
            data=context.data, changes=plan.changes, reason=_reason(context.data),
            definition_key=case.definition_key, definition_version=case.definition_version,
            rule_set=case.rule_set, prev_hash=case.head_hash,
        )
        after = Case(case.code, case.definition_key, case.definition_version, case.rule_set, state, plan.attributes,
                     entry.sequence, entry.hash, case.opened_at, context.now)
        if self.publish and case.definition_key in self.publish and not (self.unpublished and self.unpublished(case)):
            plan.effects.extend(_published(self.publish[case.definition_key], entry.sequence))
        index = indexed_by(compiled.index_order, plan.attributes)
        return Decision(after, entry, index, tuple(plan.timers) if plan.timers else (),
                        tuple(plan.effects) if plan.effects else ())


def chain(first: Decision, then: Sequence[Decision], *, timers: bool = False) -> tuple[Decision, ...]:
    """``first`` and ``then`` as one unit of work, checked: every decision is on the case the previous one left
    (same code, the next version, the entry chained to the previous entry's hash), and only ``first`` may
    consume a timer — unless ``timers``: a chain of timers fired together, each decision consuming its own (a
    batch's unit, :mod:`motcua.workflow.engine.batches`). A broken chain is a programming error
    (:class:`ValueError`), never the store's to judge."""
    decisions = (first, *then)
    for previous, decision in pairwise(decisions):
        if (decision.case.code != previous.case.code or decision.expected_version != previous.case.version
                or decision.entry.prev_hash != previous.entry.hash):
            raise ValueError(f"decision {decision.entry.sequence} on {decision.case.code!r} does not follow "
                             f"decision {previous.entry.sequence} on {previous.case.code!r}")
        if decision.consumes is not None and not timers:
            raise ValueError(f"only the first decision of a chain may consume a timer ({decision.consumes.name!r})")
    return decisions


def _published(kinds: tuple[str, ...], sequence: int) -> list[Effect]:
    return [Effect(kind, {"sequence": sequence}) for kind in kinds]


def _role(actor: Actor, allowed: frozenset[str], trigger: str) -> str:
    """The first, by name, of the actor's roles the trigger allows."""
    usable = actor.roles & allowed
    if not usable:
        raise RoleNotAllowed(actor.name, sorted(actor.roles), trigger, sorted(allowed))
    return min(usable)


def _move(
    compiled: CompiledWorkflow, spec: CompiledTrigger, context: Context
) -> tuple[dict[str, str], list[TransitionSpec]]:
    """The regions the trigger moves, each to its new state (the others left out), and the transitions taken."""
    state: dict[str, str] = {}
    scratch = RegionRun(context, [], [], [])
    candidates = False
    for region in spec.regions:
        current = context.case.state[region]
        if compiled.has_transition(region, spec.name, current):
            candidates = True
            state[region] = compiled.run_region(region, spec.name, current, scratch)
    if not candidates:
        raise TransitionNotAllowed(spec.name, context.case.state)
    if not scratch.taken and scratch.refusals:
        refusal = scratch.refusals[0]
        raise RuleRefused(spec.name, context.case.state, scratch.rejected, rule=refusal.rule,
                          source=refusal.source, reason=refusal.reason)
    if not scratch.taken:
        raise GuardRejected(spec.name, context.case.state, scratch.rejected)
    return state, scratch.taken


def _run_actions(
    compiled: CompiledWorkflow, context: Context, plan: _Plan, state: dict[str, str], actions: tuple[str, ...]
) -> None:
    """The actions run on ``context``, which shows the plan's state and attributes: the state updated by ``state``
    (the regions moved) first, the attributes updated by each action in turn, so an action sees the new state and
    the attributes as earlier actions left them."""
    plan.state.update(state)
    for name in actions:
        outcome = compiled.action(name)(context)
        plan.attributes.update(outcome.attributes)
        plan.changes.update(outcome.attributes)
        plan.timers.extend(outcome.timers)
        plan.effects.extend(outcome.effects)


def _reason(data: Mapping[str, JsonValue]) -> str | None:
    reason = data.get("reason")
    return reason if isinstance(reason, str) else None
