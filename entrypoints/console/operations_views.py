"""What the operations and audit pages show, limited to the user's scope, built without HTTP.

The rows come from the same places as the operator's commands: the timer table (``TimerQueue.armed_timers``), the
outbox's parked effects (``motcua outbox failed``; retried as ``motcua outbox retry`` does), the DVCQG sync status
(``motcua sync status``), the audit chains (``motcua verify``) and anchors (``motcua anchor``). An operator or an
auditor of some units sees the rows of their units' cases only: the store is asked for the cases the scope's lists
select (:meth:`~motcua.workflow.access.scope.Scope.narrow`), the chains are checked as :class:`ScopedCases` admits a
case; one of every unit sees everything, including what belongs to no case any more (entries without a case row).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from motcua.adapters.bootstrap import Motcua
from motcua.workflow.access.cases import ScopedCases
from motcua.workflow.dossiers.desk import DOSSIER_WORKFLOW
from motcua.workflow.dvcqg.portal import DossierSync, sent_to_portal, summarize
from motcua.workflow.engine.audit import AuditEntry, ChainBreak, verify_chains
from motcua.workflow.engine.model import ArmedTimer, Case, OutboxItem, ParkedTimer
from motcua.workflow.engine.queries import CaseFilter

__all__ = [
    "PARKED_MAX",
    "TIMERS_SHOWN",
    "ChainCheck",
    "ParkedEffect",
    "TimerBoard",
    "TimerLine",
    "chain_check",
    "parked_effects",
    "requeue",
    "requeue_timers",
    "sync_page",
    "timer_board",
]

TIMERS_SHOWN: Final = 200
"""Timers a page lists (the earliest due); the counts above the table cover them all."""
PARKED_MAX: Final = 100_000
"""Parked timers one request arms again (parked timers are rare: each is a fault an operator looked at)."""
SYNC_PAGE: Final = 50


def _selected(cases: ScopedCases) -> CaseFilter | None:
    """What the store is asked for the scope's cases: every case for a scope of every unit (entries and rows of
    cases gone too), else the cases :meth:`~motcua.workflow.access.scope.Scope.narrow` selects."""
    return None if cases.scope.unlimited else cases.scope.narrow(CaseFilter())


@dataclass(frozen=True, slots=True)
class TimerLine:
    timer: ArmedTimer
    due: bool  # due now: the dispatcher should have claimed it
    claimed: bool  # a dispatcher's lease holds it now


@dataclass(frozen=True, slots=True)
class TimerBoard:
    """The timers page: the counts and the earliest timers of the scope's cases."""

    armed: int
    due: int  # of which due now
    backlog: int  # effects waiting for delivery
    lines: tuple[TimerLine, ...]
    everywhere: bool  # a scope of every unit: the figures are the whole system's
    parked: tuple[ParkedTimer, ...] = ()  # the first of those set aside after their trigger failed again and again
    parked_count: int = 0


def timer_board(motcua: Motcua, cases: ScopedCases, now: datetime) -> TimerBoard:
    """The armed timers, those due at ``now`` and the effects waiting, of the scope's cases (the store selects them,
    as it selects the scope's dossiers: :meth:`~motcua.workflow.access.scope.Scope.narrow`), and the earliest
    :data:`TIMERS_SHOWN` of those timers, each due or not, claimed or not."""
    where, store = _selected(cases), motcua.store
    armed, due = store.armed_count(now, where)
    lines = tuple(TimerLine(timer, timer.due_at <= now, timer.claimed_until is not None and timer.claimed_until > now)
                  for timer in store.armed_timers(TIMERS_SHOWN, where))
    return TimerBoard(armed, due, store.backlog(where), lines, everywhere=where is None,
                      parked=tuple(store.parked_timers(TIMERS_SHOWN, where)), parked_count=store.parked_count(where))


def requeue_timers(motcua: Motcua, cases: ScopedCases, codes: Sequence[str] | None) -> int:
    """Arm again the parked timers of the scope's cases (of the dossiers ``codes``, or every one the scope sees when
    None), as ``motcua timers retry`` does."""
    where = _selected(cases)
    if where is None and codes is None:
        return motcua.store.requeue_timers(None)
    chosen = [(timer.case_code, timer.name) for timer in motcua.store.parked_timers(PARKED_MAX, where)
              if codes is None or timer.case_code in codes]
    return motcua.store.requeue_timers(chosen) if chosen else 0


@dataclass(frozen=True, slots=True)
class ParkedEffect:
    item: OutboxItem
    event: str  # what the effect was about (the event or the form), never its payload's personal data


def parked_effects(motcua: Motcua, cases: ScopedCases) -> tuple[ParkedEffect, ...]:
    """The outbox's parked effects of the scope's cases, as ``motcua outbox failed`` lists them."""
    return tuple(ParkedEffect(item, str(item.payload.get("event") or item.payload.get("form") or ""))
                 for item in motcua.store.parked(_selected(cases)))


def requeue(motcua: Motcua, cases: ScopedCases, ids: Sequence[int] | None, now: datetime) -> int:
    """Make parked effects of the scope pending again (``ids``, or every one the scope sees when None)."""
    allowed = {effect.item.id for effect in parked_effects(motcua, cases)}
    chosen = sorted(allowed if ids is None else allowed & set(ids))
    if not chosen:
        return 0
    return motcua.store.requeue(chosen, now)


def sync_page(motcua: Motcua, cases: ScopedCases, after: str | None) -> tuple[tuple[DossierSync, ...], str | None]:
    """A page of the scope's dossiers (what is published to DVCQG) with their sync summary, and the next cursor. An
    imported dossier is left out (:func:`~motcua.workflow.dvcqg.portal.sent_to_portal`): a page may hold fewer."""
    found = cases.find(CaseFilter(definition_key=DOSSIER_WORKFLOW), after=after, limit=SYNC_PAGE)
    pairs = [(case, motcua.sync.statuses(case.code)) for case in found.items]
    return tuple(summarize(case, statuses) for case, statuses in pairs if sent_to_portal(case, statuses)), \
        found.next_cursor


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """Every chain of the scope checked: how many, and the first break of each broken one."""

    chains: int
    entries: int
    breaks: tuple[ChainBreak, ...]


class _Counted:
    """Counts what passes through an iterator (the cases and entries a check reads once)."""

    def __init__(self) -> None:
        self.count = 0

    def cases(self, items: Iterable[Case]) -> Iterator[Case]:
        for item in items:
            self.count += 1
            yield item

    def entries(self, items: Iterable[AuditEntry]) -> Iterator[AuditEntry]:
        for item in items:
            self.count += 1
            yield item


def chain_check(motcua: Motcua, cases: ScopedCases) -> ChainCheck:
    """:func:`~motcua.workflow.engine.audit.verify_chains` over the scope's cases (all of them, and entries left
    without a case row, for a scope of every unit)."""
    store, chains, entries = motcua.store, _Counted(), _Counted()
    if cases.scope.unlimited:
        breaks = tuple(verify_chains(chains.cases(store.cases()), entries.entries(store.entries())))
        return ChainCheck(chains.count, entries.count, breaks)
    mine = [case for case in store.cases() if cases.scope.admits(cases.index_of(case))]
    codes = {case.code for case in mine}
    scoped = (entry for entry in store.entries() if entry.case_code in codes)
    breaks = tuple(verify_chains(chains.cases(mine), entries.entries(scoped)))
    return ChainCheck(chains.count, entries.count, breaks)
