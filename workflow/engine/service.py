"""The application service: load, decide, commit, notify. One unit of work per call."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from motcua.workflow.engine.audit import AuditEntry
from motcua.workflow.engine.batches import Committed
from motcua.workflow.engine.decisions import OPEN_TRIGGER, Decision, Engine
from motcua.workflow.engine.model import SYSTEM_ACTOR, Actor, Case, DueTimer, OutboxItem, ParkedTimer
from motcua.workflow.engine.ports import CaseStore, Claim, Observer, TimerQueue
from motcua.workflow.errors import (
    CaseNotFound,
    ConcurrencyConflict,
    MotcuaError,
    Retryable,
    StaleTimer,
    StorageFailure,
    TransitionNotAllowed,
)

__all__ = ["ALONE_RETRIES", "ERROR_MAX", "UNNUMBERED", "CaseService", "FiredTimers", "incurable"]

UNNUMBERED = "unnumbered"  # the code a refusal is reported under when no number was drawn for the case yet
ALONE_RETRIES = 3  # a timer fired alone after its batch was refused: lost races retried this many times
ERROR_MAX = 500  # characters of a parked timer's error kept with it


_Decided = tuple[list[Decision], list[DueTimer], list[DueTimer]]  # a case's chain, timers left alone, to discard
_Batch = tuple[list[list[Decision]], list[DueTimer]]  # a batch's units, and the timers left to fire alone


@dataclass(frozen=True, slots=True)
class FiredTimers:
    """What a batch of timers came to: how many fired, how many did not (fired, cancelled or re-armed already; refused
    by their case and discarded — or kept, claimed, when the case moved meanwhile), how many of them all had to be
    fired alone after the batch, and the ones set aside (parked) because their trigger failed for good."""

    fired: int
    stale: int
    alone: int
    released: tuple[OutboxItem, ...] = ()  # the effects released by the batch's transaction, claimed (if asked)
    parked: tuple[ParkedTimer, ...] = ()


def incurable(error: MotcuaError) -> bool:
    """Whether a timer's trigger that failed with ``error`` would fail the same way on every retry, so the timer is
    parked rather than handed out again at each lease: the case's data no longer fits its definition, a trigger, a
    role, a definition or a rule set the system lacks… Not a lost race or the database away (:class:`Retryable`),
    nor a store that failed (:class:`StorageFailure`: the next attempt may find it well)."""
    return not isinstance(error, Retryable | StorageFailure)


class CaseService:
    def __init__(self, engine: Engine, store: CaseStore, observers: Sequence[Observer] = ()) -> None:
        self.engine = engine
        self.store = store
        self.observers = tuple(observers)

    def open(
        self, key: str, code: str, actor: Actor, data: Mapping[str, object], *, rule_set: str,
        version: int | None = None, then: Sequence[str] = (),
    ) -> Case:
        """Open case ``code``. ``then`` are triggers the same actor fires next, without data (a dossier received
        at the desk: ``then=("receive",)``): every one is decided on the case the previous one left, before
        anything is written, and all are committed in one transaction. A refusal of any of them (role, data,
        guard, state) writes nothing."""

        def decide(decided: list[Decision]) -> None:
            self._decide_opening(decided, key, code, actor, data, rule_set=rule_set, version=version, then=then)

        return self._run(code, (OPEN_TRIGGER, *then), decide)

    def vet_opening(
        self, key: str, actor: Actor, data: Mapping[str, object], *, rule_set: str, then: Sequence[str] = (),
    ) -> None:
        """Decide an opening (and ``then``) for a case not numbered yet, and throw the decisions away: raises what
        :meth:`open` would (role, data, guard), so that a caller draws a number only for a case that will open.
        Writes nothing; observers hear of a refusal under :data:`UNNUMBERED`."""
        decided: list[Decision] = []
        try:
            self._decide_opening(decided, key, UNNUMBERED, actor, data, rule_set=rule_set, version=None, then=then)
        except MotcuaError as error:
            self._rejected(UNNUMBERED, (OPEN_TRIGGER, *then), len(decided), error)
            raise

    def _decide_opening(
        self, decided: list[Decision], key: str, code: str, actor: Actor, data: Mapping[str, object], *,
        rule_set: str, version: int | None, then: Sequence[str],
    ) -> None:
        decided.append(self.engine.open(key, code, actor, data, rule_set=rule_set, version=version))
        for trigger in then:
            decided.append(self.engine.fire(decided[-1].case, trigger, actor, {}))

    def fire(
        self, code: str, trigger: str, actor: Actor, data: Mapping[str, object] | None = None,
        expected_version: int | None = None, *, admit: Callable[[Case], None] | None = None,
    ) -> Case:
        """Fire ``trigger`` on the case ``code``. ``admit``, given, vets the case as read for this decision (before
        its version is compared): a caller's scope is checked on the very case moved, without a read of its own."""

        def decide(decided: list[Decision]) -> None:
            case = self.store.load(code)
            if admit is not None:
                admit(case)
            if expected_version is not None and case.version != expected_version:
                raise ConcurrencyConflict(code, expected_version)
            decided.append(self.engine.fire(case, trigger, actor, data or {}))

        return self._run(code, (trigger,), decide)

    def fire_timer(self, timer: DueTimer, queue: TimerQueue) -> Case | None:
        """Fire a claimed timer through the normal path, exactly once.

        The decision consumes the timer row in its own transaction, so a duplicate message, a re-armed
        or a cancelled timer finds nothing to consume and changes nothing (``None``). A timer whose
        trigger the case no longer allows is discarded — only while the case is still as read: moved meanwhile, the
        timer stays claimed and is judged again when its lease runs out. A lost race raises ``ConcurrencyConflict``
        (retryable): the timer stays armed and fires on the next try.
        """
        try:
            case = self.store.load(timer.case_code)
        except CaseNotFound:
            queue.discard(timer)
            return None
        try:
            decision = self.engine.fire(case, timer.trigger, SYSTEM_ACTOR, timer.data)
        except TransitionNotAllowed:
            queue.discard(timer, case.version)  # kept if the case moved since it was read: judged again later
            return None
        try:
            return self._run(timer.case_code, (timer.trigger,),
                             lambda decided: decided.append(replace(decision, consumes=timer)))
        except StaleTimer:
            return None

    def fire_timers(self, timers: Sequence[DueTimer], queue: TimerQueue, claim: Claim | None = None) -> FiredTimers:
        """Fire a batch of claimed timers, each exactly once, in as few transactions as correctness allows.

        The timers are grouped by case (in the order given); each case is loaded once, with the others
        (:meth:`~motcua.workflow.engine.ports.CaseStore.load_many`), and its timers decided one after the other, each
        on the case the previous one left and consuming its own timer. All the cases' decisions are committed in one
        transaction (:meth:`~motcua.workflow.engine.ports.CaseStore.commit_each`), each case's only if its lone
        commit would succeed. A case whose commit is refused — another writer came first, a timer was cancelled or
        re-armed meanwhile — is fired again alone, timer by timer, through :meth:`fire_timer` (a lost race retried
        up to :data:`ALONE_RETRIES` times): never lost, never doubled, and never a reason to undo the others.

        A timer whose trigger its stored case no longer allows, or whose case is gone, is discarded, as
        :meth:`fire_timer` does. One a case allows only because of a timer decided before it in the batch, or whose
        row an earlier timer of the batch changed, is fired alone too, after the batch committed.

        Given a ``claim``, the effects the batch's transaction releases are written claimed by it and returned
        (``released``), for the caller to deliver at once; those of timers fired alone wait for a dispatcher.
        """
        units, alone = self._decide_batch(timers, queue)
        committed = self.store.commit_each(units, claim) if units else Committed([])
        fired = 0
        for unit, refusal in zip(units, committed.refused, strict=True):
            if refusal is not None:
                alone += [decision.consumes for decision in unit if decision.consumes is not None]
                continue
            fired += len(unit)
            for decision in unit:
                for observer in self.observers:
                    observer.committed(decision)
        order = {id(timer): n for n, timer in enumerate(timers)}  # a case's timers fire in the order given
        fired_alone, parked = self._fire_alone(sorted(alone, key=lambda timer: order[id(timer)]), queue)
        return FiredTimers(fired=fired + fired_alone, alone=len(alone),
                           stale=len(timers) - fired - fired_alone - len(parked), released=tuple(committed.released),
                           parked=tuple(parked))

    def _decide_batch(self, timers: Sequence[DueTimer], queue: TimerQueue) -> _Batch:
        """The batch's units (one per case, its cases loaded at once) and the timers left to fire alone; the timers
        of a case that is gone, or whose trigger the stored case does not allow, are discarded."""
        by_case: dict[str, list[DueTimer]] = {}
        for timer in timers:
            by_case.setdefault(timer.case_code, []).append(timer)
        cases = self.store.load_many(list(by_case))
        units: list[list[Decision]] = []
        alone: list[DueTimer] = []
        for code, mine in by_case.items():
            case = cases.get(code)
            decided, rest, stale = self._decide_timers(case, mine) if case is not None else ([], [], mine)
            units += [decided] if decided else []
            alone += rest
            for timer in stale:
                queue.discard(timer, None if case is None else case.version)
        return units, alone

    def _decide_timers(self, case: Case, timers: Sequence[DueTimer]) -> _Decided:
        """One case's timers decided in a chain: (the decisions, the timers left to fire alone, the timers to
        discard: their trigger the stored case does not allow)."""
        decided: list[Decision] = []
        discard: list[DueTimer] = []
        changed: set[str] = set()  # the timers an earlier decision of the chain cancelled or re-armed
        for n, timer in enumerate(timers):
            if timer.name in changed:
                return decided, list(timers[n:]), discard
            try:
                decision = self.engine.fire(decided[-1].case if decided else case, timer.trigger, SYSTEM_ACTOR,
                                            timer.data)
            except TransitionNotAllowed:
                if decided:  # refused on a state the batch has not committed yet: decided again alone
                    return decided, list(timers[n:]), discard
                discard.append(timer)
                continue
            except MotcuaError:  # raised again, for this timer only, when fired alone
                return decided, list(timers[n:]), discard
            decided.append(replace(decision, consumes=timer))
            changed.update(change.name for change in decision.timers)
        return decided, [], discard

    def _fire_alone(self, timers: Sequence[DueTimer], queue: TimerQueue) -> tuple[int, list[ParkedTimer]]:
        """:meth:`fire_or_park` each timer; returns how many fired and the timers parked. Every timer is tried; the
        first error that remains is raised at the end."""
        fired, parked, failure = 0, [], None
        for timer in timers:
            try:
                outcome = self.fire_or_park(timer, queue)
            except MotcuaError as error:
                failure = failure or error
                continue
            fired += isinstance(outcome, Case)
            parked += [outcome] if isinstance(outcome, ParkedTimer) else []
        if failure is not None:
            raise failure
        return fired, parked

    def fire_or_park(self, timer: DueTimer, queue: TimerQueue) -> Case | ParkedTimer | None:
        """:meth:`fire_timer`, a lost race retried; a timer whose trigger fails for good (:func:`incurable`) is
        parked and returned as such. ``None``: the timer was stale (fired, re-armed, cancelled or discarded)."""
        try:
            return self._retried(timer, queue)
        except MotcuaError as error:
            if not incurable(error):
                raise
            return self._park(timer, error, queue)

    def _park(self, timer: DueTimer, error: MotcuaError, queue: TimerQueue) -> ParkedTimer | None:
        """Set ``timer`` aside with the reason ``error`` gives (observers hear of the refusal); ``None`` when it was
        re-armed, cancelled or fired meanwhile and so not parked."""
        for observer in self.observers:
            observer.rejected(timer.case_code, timer.trigger, error)
        reason = f"{type(error).__name__}: {error}"[:ERROR_MAX]
        if not queue.park(timer, reason):
            return None
        return ParkedTimer(timer.case_code, timer.name, timer.trigger, timer.due_at, reason)

    def _retried(self, timer: DueTimer, queue: TimerQueue) -> Case | None:
        for attempt in range(ALONE_RETRIES):
            try:
                return self.fire_timer(timer, queue)
            except ConcurrencyConflict:
                if attempt == ALONE_RETRIES - 1:
                    raise
        return None

    def get(self, code: str) -> Case:
        return self.store.load(code)

    def history(self, code: str) -> Sequence[AuditEntry]:
        return self.store.history(code)

    def _run(self, code: str, triggers: Sequence[str], decide: Callable[[list[Decision]], None]) -> Case:
        """One unit of work: ``decide`` appends a decision per trigger, all are committed together, then told."""
        decided: list[Decision] = []
        try:
            decide(decided)
            self.store.commit(decided[0], *decided[1:])
        except MotcuaError as error:
            self._rejected(code, triggers, len(decided), error)
            raise
        for decision in decided:
            for observer in self.observers:
                observer.committed(decision)
        return decided[-1].case

    def _rejected(self, code: str, triggers: Sequence[str], decided: int, error: MotcuaError) -> None:
        """Tell the observers: refused while deciding, under the trigger being decided; by the store, the first."""
        refused = triggers[decided] if decided < len(triggers) else triggers[0]
        for observer in self.observers:
            observer.rejected(code, refused, error)
