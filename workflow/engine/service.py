"""The application service: load, decide, commit, notify. One unit of work per call."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from motcua.workflow.engine.audit import AuditEntry
from motcua.workflow.engine.batches import Committed
from motcua.workflow.engine.decisions import OPEN_TRIGGER, Decision, Engine
from motcua.workflow.engine.model import SYSTEM_ACTOR, Actor, Case, DueTimer, OutboxItem
from motcua.workflow.engine.ports import CaseStore, Claim, Observer, TimerQueue
from motcua.workflow.engine.retry import Park, Settlement, TimerRetryPolicy
from motcua.workflow.errors import (
    ActionFailed,
    CaseNotFound,
    ConcurrencyConflict,
    InvalidInput,
    MotcuaError,
    Retryable,
    StaleTimer,
    StorageFailure,
    TransitionNotAllowed,
)

__all__ = ["ALONE_RETRIES", "ERROR_MAX", "UNNUMBERED", "CaseService", "FiredTimers", "TimerFailure", "failing"]

UNNUMBERED = "unnumbered"  # the code a refusal is reported under when no number was drawn for the case yet
ALONE_RETRIES = 3  # a timer fired alone after its batch was refused: lost races retried this many times
ERROR_MAX = 500  # characters of a failed timer's error kept with it


_Decided = tuple[list[Decision], list[DueTimer], list[DueTimer]]  # a case's chain, timers left alone, to discard
_Batch = tuple[list[list[Decision]], list[DueTimer]]  # a batch's units, and the timers left to fire alone


@dataclass(frozen=True, slots=True)
class TimerFailure:
    """A timer whose trigger failed, and what was done about it (:class:`~motcua.workflow.engine.retry.RetryAt`: tried
    again then; :class:`~motcua.workflow.engine.retry.Park`: set aside for an operator). ``error``: the failure's type
    and message — motcua's own errors name fields, never their values; any other is :class:`ActionFailed`, by type."""

    timer: DueTimer
    error: str
    settlement: Settlement

    @property
    def parked(self) -> bool:
        return isinstance(self.settlement, Park)


@dataclass(frozen=True, slots=True)
class FiredTimers:
    """What a batch of timers came to: how many fired, how many did not (fired, cancelled or re-armed already; refused
    by their case and discarded — or kept, claimed, when the case moved meanwhile), how many of them all had to be
    fired alone after the batch, and the ones whose trigger failed (tried again later, or parked)."""

    fired: int
    stale: int
    alone: int
    released: tuple[OutboxItem, ...] = ()  # the effects released by the batch's transaction, claimed (if asked)
    failed: tuple[TimerFailure, ...] = ()


@dataclass(frozen=True, slots=True)
class _Refused:
    """A timer's trigger that failed on ``case`` (the case as read for the decision); ``told``: the observers have heard
    of it already (a commit the store refused)."""

    error: Exception
    case: Case
    told: bool = False


def failing(error: Exception) -> bool:
    """Whether a timer's trigger that raised ``error`` counts as a failure of the timer — tried again after a growing
    wait, then parked (:class:`~motcua.workflow.engine.retry.TimerRetryPolicy`) — rather than an outage the message's
    own retry covers: anything but a lost race or the database away (:class:`Retryable`) and a store that failed
    (:class:`StorageFailure`). So data that no longer fits the definition, a trigger, a role, a definition or a rule
    set this worker lacks, an action that raised (a bug). (A decision the store then refuses to write — a
    :class:`StorageFailure` committing that one case alone — is the timer's failure too: :meth:`CaseService.
    fire_claimed`.)"""
    return not isinstance(error, Retryable | StorageFailure)


def _reported(error: Exception, trigger: str) -> MotcuaError:
    """A timer's failure as motcua reports it: its own errors as they are (they name fields, never values), any other
    as :class:`ActionFailed`, by its type only (its message may quote anything), the error itself its cause."""
    if isinstance(error, MotcuaError):
        return error
    reported = ActionFailed(trigger, type(error).__name__)
    reported.__cause__ = error
    return reported


class CaseService:
    def __init__(self, engine: Engine, store: CaseStore, observers: Sequence[Observer] = (),
                 timer_retry: TimerRetryPolicy | None = None) -> None:
        self.engine = engine
        self.store = store
        self.observers = tuple(observers)
        self.timer_retry = timer_retry or TimerRetryPolicy()

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
        if expected_version is not None and (isinstance(expected_version, bool) or not isinstance(expected_version, int)
                                             or expected_version < 1):
            # "2" read from a form would never equal the version: a retried ConcurrencyConflict for ever
            raise InvalidInput("expected_version", "a case's version is a whole number from 1")

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
        (retryable): the timer stays armed and fires on the next try. Any other refusal is raised, the timer left
        as claimed (:meth:`fire_claimed` records it as the timer's failure).
        """
        outcome = self._fire_one(timer, queue)
        if isinstance(outcome, _Refused):
            raise outcome.error
        return outcome

    def fire_claimed(self, timer: DueTimer, queue: TimerQueue) -> Case | TimerFailure | None:
        """:meth:`fire_timer`, a lost race retried; a trigger that fails (:func:`failing`), or whose decision the store
        refuses to write (:class:`StorageFailure`), is recorded as the timer's failure — tried again after the policy's
        wait, or parked — unless the case's state no longer has the trigger
        at all (its data aside), when the timer is discarded. ``None``: stale, discarded, or not recorded because the
        case moved meanwhile (judged afresh when its lease runs out)."""
        for attempt in range(ALONE_RETRIES):
            try:
                outcome = self._fire_one(timer, queue)
            except ConcurrencyConflict:
                if attempt == ALONE_RETRIES - 1:
                    raise
                continue
            return self._settle(timer, outcome, queue) if isinstance(outcome, _Refused) else outcome
        return None

    def _fire_one(self, timer: DueTimer, queue: TimerQueue) -> Case | _Refused | None:
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
        except Exception as error:  # an action's bug too: the timer's failure, not the batch's
            if not failing(error):
                raise
            return _Refused(error, case)
        try:
            return self._run(timer.case_code, (timer.trigger,),
                             lambda decided: decided.append(replace(decision, consumes=timer)))
        except StaleTimer:
            return None
        except StorageFailure as error:  # this case's write refused (a constraint, a value the schema refuses):
            return _Refused(error, case, told=True)  # the timer's failure, or it would be handed out at every lease

    def _settle(self, timer: DueTimer, refused: _Refused, queue: TimerQueue) -> TimerFailure | None:
        """Record a failed trigger as the timer's failure, while its case is as the trigger failed on; or discard the
        timer when that case's state no longer has the trigger at all (bad data on a dossier returned since)."""
        case, error = refused.case, _reported(refused.error, timer.trigger)
        if self.engine.allows(case, timer.trigger) is False:
            queue.discard(timer, case.version)
            return None
        failure = TimerFailure(timer, f"{type(error).__name__}: {error}"[:ERROR_MAX],
                               self.timer_retry.after_failure(timer.attempts + 1, self.engine.clock.now()))
        if not queue.timer_failed(timer, failure.error, failure.settlement, case.version):
            return None  # recorded by another attempt, or the case moved: judged afresh when the lease runs out
        for observer in () if refused.told else self.observers:
            observer.rejected(timer.case_code, timer.trigger, error)
        return failure

    def fire_timers(self, timers: Sequence[DueTimer], queue: TimerQueue, claim: Claim | None = None) -> FiredTimers:
        """Fire a batch of claimed timers, each exactly once, in as few transactions as correctness allows.

        The timers are grouped by case (in the order given); each case is loaded once, with the others
        (:meth:`~motcua.workflow.engine.ports.CaseStore.load_many`), and its timers decided one after the other, each
        on the case the previous one left and consuming its own timer. All the cases' decisions are committed in one
        transaction (:meth:`~motcua.workflow.engine.ports.CaseStore.commit_each`), each case's only if its lone
        commit would succeed. A case whose commit is refused — another writer came first, a timer was cancelled or
        re-armed meanwhile — is fired again alone, timer by timer, through :meth:`fire_claimed` (a lost race retried
        up to :data:`ALONE_RETRIES` times): never lost, never doubled, and never a reason to undo the others. So is a
        case whose trigger failed otherwise (:func:`failing`): its failure is recorded with its timer (``failed``).

        A timer whose trigger its stored case no longer allows, or whose case is gone, is discarded, as
        :meth:`fire_timer` does. One a case allows only because of a timer decided before it in the batch, or whose
        row an earlier timer of the batch changed, is fired alone too, after the batch committed.

        Given a ``claim``, the effects the batch's transaction releases are written claimed by it and returned
        (``released``), for the caller to deliver at once; those of timers fired alone wait for a dispatcher.
        """
        units, alone = self._decide_batch(timers, queue)
        committed = self._commit_each(units, claim)
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
        fired_alone, failed = self._fire_alone(sorted(alone, key=lambda timer: order[id(timer)]), queue)
        return FiredTimers(fired=fired + fired_alone, alone=len(alone),
                           stale=len(timers) - fired - fired_alone - len(failed), released=tuple(committed.released),
                           failed=tuple(failed))

    def _commit_each(self, units: list[list[Decision]], claim: Claim | None) -> Committed:
        """:meth:`~motcua.workflow.engine.ports.CaseStore.commit_each`; when the store refuses the batch's
        transaction (:class:`StorageFailure`: one case's write refused by the database — a privilege, a constraint),
        nothing was written, and every unit is refused, so each case is fired alone: the failure stays with the case
        it belongs to instead of holding back every case batched with it, claim after claim."""
        if not units:
            return Committed([])
        try:
            return self.store.commit_each(units, claim)
        except StorageFailure as error:
            return Committed([error] * len(units))

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
            except Exception:  # raised again, or recorded as this timer's failure, when fired alone
                return decided, list(timers[n:]), discard
            decided.append(replace(decision, consumes=timer))
            changed.update(change.name for change in decision.timers)
        return decided, [], discard

    def _fire_alone(self, timers: Sequence[DueTimer], queue: TimerQueue) -> tuple[int, list[TimerFailure]]:
        """:meth:`fire_claimed` each timer; returns how many fired and the failures recorded. Every timer is tried;
        the first error that remains is raised at the end."""
        fired, failed, failure = 0, [], None
        for timer in timers:
            try:
                outcome = self.fire_claimed(timer, queue)
            except MotcuaError as error:
                failure = failure or error
                continue
            fired += isinstance(outcome, Case)
            failed += [outcome] if isinstance(outcome, TimerFailure) else []
        if failure is not None:
            raise failure
        return fired, failed

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
