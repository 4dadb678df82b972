"""The application service: load, decide, commit, notify. One unit of work per call."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from motcua.workflow.engine.audit import AuditEntry
from motcua.workflow.engine.decisions import OPEN_TRIGGER, Decision, Engine
from motcua.workflow.engine.model import SYSTEM_ACTOR, Actor, Case, DueTimer
from motcua.workflow.engine.ports import CaseStore, Observer, TimerQueue
from motcua.workflow.errors import (
    CaseNotFound,
    ConcurrencyConflict,
    MotcuaError,
    StaleTimer,
    TransitionNotAllowed,
)

__all__ = ["UNNUMBERED", "CaseService"]

UNNUMBERED = "unnumbered"  # the code a refusal is reported under when no number was drawn for the case yet


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
        expected_version: int | None = None,
    ) -> Case:
        def decide(decided: list[Decision]) -> None:
            case = self.store.load(code)
            if expected_version is not None and case.version != expected_version:
                raise ConcurrencyConflict(code, expected_version)
            decided.append(self.engine.fire(case, trigger, actor, data or {}))

        return self._run(code, (trigger,), decide)

    def fire_timer(self, timer: DueTimer, queue: TimerQueue) -> Case | None:
        """Fire a claimed timer through the normal path, exactly once.

        The decision consumes the timer row in its own transaction, so a duplicate message, a re-armed
        or a cancelled timer finds nothing to consume and changes nothing (``None``). A timer whose
        trigger the case no longer allows is discarded. A lost race raises ``ConcurrencyConflict``
        (retryable): the timer stays armed and fires on the next try.
        """
        try:
            case = self.store.load(timer.case_code)
            decision = self.engine.fire(case, timer.trigger, SYSTEM_ACTOR, timer.data)
        except (TransitionNotAllowed, CaseNotFound):
            queue.discard(timer)
            return None
        try:
            return self._run(timer.case_code, (timer.trigger,),
                             lambda decided: decided.append(replace(decision, consumes=timer)))
        except StaleTimer:
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
