"""The in-memory reference adapter of the core's ports: CaseStore, CaseQueries, TimerQueue and Outbox.

Good enough to run the product in-process and the yardstick of the contract suite: it keeps the
same guarantees as the SQL stores (atomic commit, optimistic concurrency, append-only entries,
timers consumed exactly once, claims with leases).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import count

from motcua.workflow.engine.audit import AuditEntry, seal_positions
from motcua.workflow.engine.batches import Committed, Unit, check_codes, codes_of, refusals
from motcua.workflow.engine.decisions import Decision, chain
from motcua.workflow.engine.model import (
    ArmedTimer,
    CancelTimer,
    Case,
    DueTimer,
    Effect,
    OutboxItem,
    ParkedTimer,
    SetTimer,
)
from motcua.workflow.engine.ports import Claim
from motcua.workflow.engine.queries import CaseFilter, Page, check_page, filtered_states, matches
from motcua.workflow.engine.retry import Park, Settlement
from motcua.workflow.errors import CaseAlreadyExists, CaseNotFound, ConcurrencyConflict, StaleTimer

__all__ = ["MemoryStore"]


@dataclass(slots=True)
class _Timer:
    timer: SetTimer
    generation: int
    claimed_until: datetime | None = None
    attempts: int = 0  # its trigger's failures so far (TimerQueue.timer_failed)
    error: str | None = None  # the last failure
    parked: bool = False


@dataclass(slots=True)
class _Claim:
    """A pending effect's claim: its token (None: nobody can hold it) and when its lease runs out."""

    token: str | None
    until: datetime


class MemoryStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cases: dict[str, Case] = {}
        self._index: dict[str, Mapping[str, str]] = {}  # what each case is found by (Decision.index)
        self._entries: dict[str, list[AuditEntry]] = {}
        self._timers: dict[str, dict[str, _Timer]] = {}
        self._outbox: dict[int, OutboxItem] = {}
        self._outbox_claims: dict[int, _Claim] = {}
        self._sequences: dict[str, int] = {}
        self._positions = count(1)
        self._outbox_ids = count(1)

    # -- CaseStore --------------------------------------------------------------------------------

    def load(self, code: str) -> Case:
        with self._lock:
            case = self._cases.get(code)
        if case is None:
            raise CaseNotFound(code)
        return case

    def commit(self, decision: Decision, *then: Decision) -> None:
        decisions = chain(decision, then)  # checked before the lock: a broken chain changes nothing
        with self._lock:
            self._check_version(decision.case.code, decision.expected_version)
            self._check_consumed(decision)  # only the first decision of a chain may consume a timer
            for each in decisions:
                self._write(each)

    def load_many(self, codes: Sequence[str]) -> Mapping[str, Case]:
        check_codes(codes)
        with self._lock:
            return {code: self._cases[code] for code in codes if code in self._cases}

    def commit_each(self, units: Sequence[Unit], claim: Claim | None = None) -> Committed:
        codes = codes_of(units)
        chains = [chain(unit[0], unit[1:], timers=True) for unit in units]  # a broken chain raises before the lock
        with self._lock:
            versions = {code: self._cases[code].version for code in codes if code in self._cases}
            armed = {(code, name): timer.generation for code in codes
                     for name, timer in self._timers.get(code, {}).items()}
            refused = refusals(chains, versions, armed)
            released: list[OutboxItem] = []
            for decisions, refusal in zip(chains, refused, strict=True):
                if refusal is None:
                    for each in decisions:
                        released += self._write(each, claim)
        return Committed(refused, released if claim is not None else [])

    def commit_plain(self, decisions: Sequence[Decision]) -> None:
        """Commit plain decisions (no timers, effects or consumed timer) on any cases, all or none: each is
        checked against the version the ones before it left; a refusal restores what the others wrote."""
        with self._lock:
            saved = dict(self._cases), dict(self._index), {code: list(es) for code, es in self._entries.items()}
            try:
                for decision in decisions:
                    self._check_version(decision.case.code, decision.expected_version)
                    self._write(decision)
            except BaseException:
                self._cases, self._index, self._entries = saved
                raise

    def _write(self, decision: Decision, claim: Claim | None = None) -> list[OutboxItem]:
        case = decision.case
        chain = self._entries.setdefault(case.code, [])
        [entry] = seal_positions(chain[-1].position_hash if chain else None, [decision.entry],
                                 [next(self._positions)])  # what the SQL store's INSERT does
        self._cases[case.code] = case
        self._index[case.code] = decision.index
        chain.append(entry)
        if decision.consumes is not None:
            del self._timers[case.code][decision.consumes.name]
        self._apply_timers(case.code, decision, entry.position or 0)
        return self._enqueue(case.code, decision, claim)

    def _check_version(self, code: str, expected: int) -> None:
        stored = self._cases.get(code)
        if stored is None and expected != 0:
            raise CaseNotFound(code)
        if stored is not None and expected == 0:
            raise CaseAlreadyExists(code)
        if stored is not None and stored.version != expected:
            raise ConcurrencyConflict(code, expected)

    def _check_consumed(self, decision: Decision) -> None:
        timer = decision.consumes
        if timer is None:
            return
        armed = self._timers.get(timer.case_code, {}).get(timer.name)
        if armed is None or armed.generation != timer.generation:
            raise StaleTimer(timer.case_code, timer.name, timer.generation)

    def _apply_timers(self, code: str, decision: Decision, position: int) -> None:
        armed = self._timers.setdefault(code, {})
        for change in decision.timers:
            if isinstance(change, CancelTimer):
                armed.pop(change.name, None)
            else:
                armed[change.name] = _Timer(change, position)

    def _enqueue(self, code: str, decision: Decision, claim: Claim | None = None) -> list[OutboxItem]:
        """The decision's outbox rows, pending (claimed by ``claim``, if given: its committer delivers them)."""
        items = []
        for effect in decision.effects:
            item_id = next(self._outbox_ids)
            item = self._outbox[item_id] = OutboxItem(
                id=item_id, case_code=code, kind=effect.kind, payload=effect.payload, attempts=0,
                status="pending", next_attempt_at=decision.entry.occurred_at, created_at=decision.entry.occurred_at,
            )
            if claim is not None:
                self._outbox_claims[item_id] = _Claim(claim.token, claim.until)
            items.append(item)
        return items

    def history(self, code: str) -> Sequence[AuditEntry]:
        with self._lock:
            return list(self._entries.get(code, ()))

    def cases(self) -> Iterator[Case]:
        with self._lock:
            snapshot = [self._cases[code] for code in sorted(self._cases)]
        return iter(snapshot)

    def entries(self) -> Iterator[AuditEntry]:
        with self._lock:
            snapshot = [entry for code in sorted(self._entries) for entry in self._entries[code]]
        return iter(snapshot)

    def found_by(self) -> Iterator[tuple[str, Mapping[str, str]]]:
        with self._lock:  # the index kept with each case; the state is the case's own (queries read it there)
            snapshot = [(code, {**self._index[code], **filtered_states(self._cases[code])})
                        for code in sorted(self._cases)]
        return iter(snapshot)

    def timers(self, code: str) -> Sequence[SetTimer]:
        with self._lock:
            armed = self._timers.get(code, {})
            return [armed[name].timer for name in sorted(armed) if not armed[name].parked]

    def effects(self, code: str) -> Sequence[Effect]:
        with self._lock:
            items = [item for item in self._outbox.values() if item.case_code == code]
        return [Effect(item.kind, item.payload) for item in items]

    def cases_with_effect(self, kind: str) -> frozenset[str]:
        """The dossiers with at least one outbox effect of ``kind`` (delivered effects are kept)."""
        with self._lock:
            return frozenset(item.case_code for item in self._outbox.values() if item.kind == kind)

    def find(self, where: CaseFilter, *, after: str | None = None, limit: int = 50) -> Page:
        check_page(limit, after)
        with self._lock:
            codes = sorted(code for code in self._cases if after is None or code > after)
            found = [self._cases[code] for code in codes if matches(self._cases[code], where, self._index[code])]
        items = tuple(found[:limit])
        return Page(items, items[-1].code if len(found) > limit else None)

    def next_sequence(self, scope: str) -> int:
        with self._lock:
            self._sequences[scope] = self._sequences.get(scope, 0) + 1
            return self._sequences[scope]

    # -- TimerQueue -------------------------------------------------------------------------------

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[DueTimer]:
        """Due, unclaimed timers that are their case's earliest armed one (a case's timers fire in order)."""
        with self._lock:
            due = sorted(
                ((code, armed) for code, timers in self._timers.items() for armed in _firsts(timers)
                 if armed.timer.due_at <= now and (armed.claimed_until is None or armed.claimed_until <= now)),
                key=lambda pair: (pair[1].timer.due_at, pair[0], pair[1].timer.name),
            )[:max(limit, 0)]
            for _, armed in due:
                armed.claimed_until = now + lease
            return [_due(code, armed) for code, armed in due]

    def next_due(self, after: datetime) -> datetime | None:
        """The earliest instant after ``after`` at which an armed timer falls due (None: none is armed later)."""
        with self._lock:
            later = [armed.timer.due_at for armed in self._armed() if armed.timer.due_at > after]
        return min(later, default=None)

    def discard(self, timer: DueTimer, seen: int | None = None) -> bool:
        with self._lock:
            armed = self._timers.get(timer.case_code, {})
            current = armed.get(timer.name)
            if current is None or current.generation != timer.generation:
                return False
            case = self._cases.get(timer.case_code)
            if seen is not None and (case is None or case.version != seen):
                return False
            del armed[timer.name]
            return True

    def armed_count(self, now: datetime, where: CaseFilter | None = None) -> tuple[int, int]:
        with self._lock:
            armed = [timer for code, timers in self._timers.items() if self._selects(where, code)
                     for timer in timers.values() if not timer.parked]
        return len(armed), sum(1 for timer in armed if timer.timer.due_at <= now)

    def armed_timers(self, limit: int, where: CaseFilter | None = None) -> list[ArmedTimer]:
        with self._lock:
            armed = [ArmedTimer(code, t.timer.name, t.timer.trigger, t.timer.due_at, t.claimed_until, t.attempts,
                                t.error)
                     for code, timers in self._timers.items() if self._selects(where, code)
                     for t in timers.values() if not t.parked]
        return sorted(armed, key=lambda timer: (timer.due_at, timer.case_code, timer.name))[:max(limit, 0)]

    def timer_failed(self, timer: DueTimer, error: str, settlement: Settlement, seen: int) -> bool:
        with self._lock:
            current = self._timers.get(timer.case_code, {}).get(timer.name)
            case = self._cases.get(timer.case_code)
            if (current is None or current.generation != timer.generation or current.parked
                    or current.attempts != timer.attempts or case is None or case.version != seen):
                return False  # fired, re-armed, recorded by another attempt, requeued, or its case moved
            current.attempts, current.error = timer.attempts + 1, error
            current.parked = isinstance(settlement, Park)
            current.claimed_until = None if isinstance(settlement, Park) else settlement.at
            return True

    def parked_timers(self, limit: int, where: CaseFilter | None = None) -> list[ParkedTimer]:
        with self._lock:
            parked = [ParkedTimer(code, t.timer.name, t.timer.trigger, t.timer.due_at, t.error or "", t.attempts)
                      for code, timers in self._timers.items() if self._selects(where, code)
                      for t in timers.values() if t.parked]
        return sorted(parked, key=lambda timer: (timer.due_at, timer.case_code, timer.name))[:max(limit, 0)]

    def parked_count(self, where: CaseFilter | None = None) -> int:
        with self._lock:
            return sum(1 for code, timers in self._timers.items() if self._selects(where, code)
                       for t in timers.values() if t.parked)

    def requeue_timers(self, timers: Sequence[tuple[str, str]] | None) -> int:
        with self._lock:
            chosen = [armed for code, mine in self._timers.items() for name, armed in mine.items()
                      if armed.parked and (timers is None or (code, name) in timers)]
            for armed in chosen:
                armed.parked, armed.attempts, armed.error, armed.claimed_until = False, 0, None, None
            return len(chosen)

    def _armed(self) -> Iterator[_Timer]:
        """Every armed timer (parked ones left out); under the lock."""
        return (armed for timers in self._timers.values() for armed in timers.values() if not armed.parked)

    def _selects(self, where: CaseFilter | None, code: str) -> bool:
        """Whether the case ``code`` is one ``where`` selects (any case, when None); under the lock."""
        return where is None or (code in self._cases and matches(self._cases[code], where, self._index[code]))

    # -- Outbox -----------------------------------------------------------------------------------

    def claim_effects(self, now: datetime, limit: int, lease: timedelta, token: str | None = None) -> list[OutboxItem]:
        with self._lock:
            ready = [
                item for item in self._outbox.values()
                if item.status == "pending" and item.next_attempt_at <= now and self._free(item.id, now)
            ][:max(limit, 0)]
            for item in ready:
                self._outbox_claims[item.id] = _Claim(token, now + lease)
            return ready

    def hold(self, item_id: int, token: str, until: datetime) -> bool:
        with self._lock:
            if not self._held(item_id, token):
                return False
            self._outbox_claims[item_id].until = until
            return True

    def hold_many(self, item_ids: Sequence[int], token: str, until: datetime) -> set[int]:
        with self._lock:
            held = {item_id for item_id in item_ids if self._held(item_id, token)}
            for item_id in held:
                self._outbox_claims[item_id].until = until
            return held

    def delivered_many(self, item_ids: Sequence[int], now: datetime) -> set[int]:
        with self._lock:
            marked = {item_id for item_id in item_ids  # an unknown id is no effect, as for SQL's UPDATE
                      if item_id in self._outbox and self._outbox[item_id].status != "delivered"}
            for item_id in marked:
                item = self._outbox[item_id]
                self._outbox[item_id] = replace(item, status="delivered", attempts=item.attempts + 1, last_error=None)
                self._outbox_claims.pop(item_id, None)
            return marked

    def delivered(self, item_id: int, now: datetime) -> bool:
        with self._lock:
            item = self._outbox.get(item_id)
            if item is None or item.status == "delivered":
                return False
            self._outbox[item_id] = replace(item, status="delivered", attempts=item.attempts + 1, last_error=None)
            self._outbox_claims.pop(item_id, None)
            return True

    def failed(
        self, item_id: int, error: str, settlement: Settlement, token: str | None = None,
        delivered: frozenset[str] = frozenset(),
    ) -> bool:
        with self._lock:
            item = self._outbox[item_id]
            if item.status != "pending" or (token is not None and not self._held(item_id, token)):
                return False
            retry_at = None if isinstance(settlement, Park) else settlement.at
            counted = isinstance(settlement, Park) or settlement.counted
            self._outbox[item_id] = replace(
                item, attempts=item.attempts + counted, last_error=error, status="pending" if retry_at else "parked",
                next_attempt_at=retry_at or item.next_attempt_at, delivered=frozenset(delivered),
            )
            self._outbox_claims.pop(item_id, None)
            return True

    def _free(self, item_id: int, now: datetime) -> bool:
        claim = self._outbox_claims.get(item_id)
        return claim is None or claim.until <= now

    def _held(self, item_id: int, token: str) -> bool:
        """Whether the effect is pending under the claim ``token`` (the caller holds the lock)."""
        item, claim = self._outbox.get(item_id), self._outbox_claims.get(item_id)
        return item is not None and item.status == "pending" and claim is not None and claim.token == token

    def parked(self, where: CaseFilter | None = None) -> list[OutboxItem]:
        with self._lock:
            return [item for item in self._outbox.values()
                    if item.status == "parked" and self._selects(where, item.case_code)]

    def backlog(self, where: CaseFilter | None = None) -> int:
        with self._lock:
            return sum(1 for item in self._outbox.values()
                       if item.status == "pending" and self._selects(where, item.case_code))

    def requeue(self, item_ids: Sequence[int] | None, now: datetime) -> int:
        with self._lock:
            chosen = [item for item in self._outbox.values() if item.status == "parked"
                      and (item_ids is None or item.id in item_ids)]
            for item in chosen:
                self._outbox[item.id] = replace(item, status="pending", attempts=0, next_attempt_at=now)
            return len(chosen)


def _firsts(timers: dict[str, _Timer]) -> list[_Timer]:
    """A case's earliest armed timers: a case's timers fire in due order, one that failed holding back the later ones
    until it fires or is parked; a parked one holds back none and is not handed out."""
    armed = [timer for timer in timers.values() if not timer.parked]
    earliest = min((timer.timer.due_at for timer in armed), default=None)
    return [timer for timer in armed if timer.timer.due_at == earliest]


def _due(code: str, armed: _Timer) -> DueTimer:
    timer = armed.timer
    return DueTimer(code, timer.name, timer.trigger, timer.due_at, dict(timer.data), armed.generation, armed.attempts)
