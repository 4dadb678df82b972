"""The ports the core needs from the outside world. Adapters implement them.

:class:`CaseStore` is the unit of work: ``commit`` writes the case row (version + 1), its audit
entry, its timer changes and its outbox effects atomically, or raises and writes nothing (for one
decision, or a chain of decisions on one case); ``commit_each`` writes a batch of such units on several
cases in one transaction, each only if its lone commit would succeed (a worker's batch of timers).
:class:`TimerQueue` and :class:`Outbox` are what the worker needs from the same database;
:class:`Notifier` delivers one effect (log, e-mail, webhook). :class:`Reports` is the reporting
projection folded from the audit log by global position, and the official reports computed over it.
:class:`DefinitionPins` keeps the digest of every definition the database was first opened with
(:mod:`motcua.workflow.engine.pins`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from motcua.workflow.engine.audit import AuditEntry
from motcua.workflow.engine.batches import Committed, Unit
from motcua.workflow.engine.decisions import Decision
from motcua.workflow.engine.model import ArmedTimer, Case, DueTimer, Effect, OutboxItem, ParkedTimer, SetTimer
from motcua.workflow.engine.pins import Pin
from motcua.workflow.engine.queries import CaseFilter, Page
from motcua.workflow.engine.retry import Settlement

__all__ = [
    "CaseQueries",
    "CaseStore",
    "Claim",
    "DefinitionPins",
    "Notifier",
    "Observer",
    "Outbox",
    "Storage",
    "TimerQueue",
]


class CaseStore(Protocol):
    def load(self, code: str) -> Case:
        """The case at its latest version; :class:`~motcua.workflow.errors.CaseNotFound` if absent."""
        ...

    def commit(self, decision: Decision, *then: Decision) -> None:
        """Persist a decision atomically, if the stored case is still at ``decision.expected_version``.

        Raises :class:`~motcua.workflow.errors.ConcurrencyConflict` (another writer won) or
        :class:`~motcua.workflow.errors.CaseAlreadyExists` (opening a code already used); nothing is written
        then.
        When the decision ``consumes`` a timer, that timer row (same name and generation) is removed in
        the same transaction, or :class:`~motcua.workflow.errors.StaleTimer` is raised and nothing is written.
        Armed timers get the decision entry's global position as their generation.

        ``then`` are decisions taken on the case ``decision`` leaves, in order (a
        :func:`~motcua.workflow.engine.decisions.chain`): all are one transaction. Only ``decision``'s expected
        version is checked against the store; each entry is appended, each decision's timers and effects applied,
        in order, and the case row is saved as the last decision leaves it. Any failure writes none of them.
        """
        ...

    def load_many(self, codes: Sequence[str]) -> Mapping[str, Case]:
        """The cases of ``codes`` at their latest versions, by code; an unknown code is left out. At most
        :data:`~motcua.workflow.engine.batches.MAX_UNITS` codes."""
        ...

    def commit_each(self, units: Sequence[Unit], claim: Claim | None = None) -> Committed:
        """Commit several units (each a chain of decisions on one case, as :meth:`commit` takes it; no two on one
        case) in one transaction, each unit only if its lone commit would succeed: gives, per unit, ``None``
        (written) or the error its lone commit would raise (:class:`~motcua.workflow.errors.ConcurrencyConflict`,
        :class:`~motcua.workflow.errors.CaseNotFound`, :class:`~motcua.workflow.errors.StaleTimer`…), having
        written nothing of that unit. A refused unit never stops the others (:mod:`motcua.workflow.engine.batches`
        has the rule). Any other failure raises and writes nothing at all.

        Given a ``claim``, the effects the written units release are written claimed by it (its token, until its
        end) and returned: the caller delivers them at once, and should it not, they are pending again when the
        claim runs out.
        """
        ...

    def history(self, code: str) -> Sequence[AuditEntry]:
        """A case's entries in sequence order (empty if the case is unknown)."""
        ...

    def cases(self) -> Iterator[Case]:
        """Every case, ordered by code. Lazy: a SQL store reads at the first ``next()`` and holds a
        connection until the iterator is exhausted or closed."""
        ...

    def entries(self) -> Iterator[AuditEntry]:
        """Every audit entry, ordered by case code then sequence. Lazy, like :meth:`cases`."""
        ...

    def found_by(self) -> Iterator[tuple[str, Mapping[str, str]]]:
        """Every case's code with what queries find it by, as stored beside it
        (:func:`~motcua.workflow.engine.queries.found_by`'s keys: the index, ``state.<region>``), ordered by code.
        Lazy, like :meth:`cases`. What ``replay`` holds to the case it replays."""
        ...

    def timers(self, code: str) -> Sequence[SetTimer]:
        """The timers currently armed on a case, ordered by name."""
        ...

    def effects(self, code: str) -> Sequence[Effect]:
        """The effects a case's decisions put in the outbox, in commit order (delivered ones included:
        outbox rows are marked, never deleted)."""
        ...

    def next_sequence(self, scope: str) -> int:
        """1, 2, 3… per scope, never twice (dossier numbers per agency and day)."""
        ...


class Observer(Protocol):
    """Hooks around a decision (logging, metrics, effect relay), called by the service: ``committed`` once per
    decision after its transaction committed (in order, for each decision of a chain), ``rejected`` once for a
    unit of work refused or failed, naming the trigger that was refused."""

    def committed(self, decision: Decision) -> None: ...

    def rejected(self, code: str, trigger: str, error: Exception) -> None: ...


class TimerQueue(Protocol):
    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[DueTimer]:
        """Claim up to ``limit`` armed timers due at ``now``, oldest first, for ``lease``.

        A claimed timer is not handed out again until its lease runs out (its message was lost, its
        worker died), so several dispatchers can claim side by side without handing one timer twice.
        """
        ...

    def discard(self, timer: DueTimer, seen: int | None = None) -> bool:
        """Remove a timer that can no longer take effect (its trigger is not allowed any more).

        Only the same generation is removed, and, given ``seen`` (the version of the case whose state refused the
        trigger), only while the case is still at that version: a case moved since may allow the trigger again, so
        the timer stays claimed and is judged afresh when its lease runs out. ``None``: the case is gone. Returns
        whether it was removed."""
        ...

    def timer_failed(self, timer: DueTimer, error: str, settlement: Settlement, seen: int) -> bool:
        """Record that a claimed timer's trigger failed (``error``) as its ``timer.attempts + 1``-th failure: claimed
        until the settlement's instant, then handed out again (holding back its case's later timers meanwhile), or
        parked (:class:`~motcua.workflow.engine.retry.Park`): not claimed again, not counted as armed, holding back
        nothing, until an operator requeues it. Only on the timer as it was claimed — same generation, armed, with
        ``timer.attempts`` failures (a message handed out again records nothing twice) — and only while its case is
        still at version ``seen`` (the version the trigger failed on: a case moved since is judged afresh when the
        lease runs out, as :meth:`discard` leaves it); returns whether it was recorded. Re-arming the timer (a later
        decision) makes it armed and sound again."""
        ...

    def parked_timers(self, limit: int, where: CaseFilter | None = None) -> list[ParkedTimer]:
        """The first ``limit`` parked timers by due instant (then case code and name); of the cases ``where`` selects
        (every case when None)."""
        ...

    def parked_count(self, where: CaseFilter | None = None) -> int:
        """How many timers are parked; of the cases ``where`` selects (every case when None)."""
        ...

    def requeue_timers(self, timers: Sequence[tuple[str, str]] | None) -> int:
        """Make parked timers armed again, unclaimed, their failures forgotten (all of them when ``timers`` is None,
        else those named by ``(case code, timer name)``); returns how many."""
        ...

    def armed_count(self, now: datetime, where: CaseFilter | None = None) -> tuple[int, int]:
        """(armed timers, of which due at ``now``): the backlog a dashboard shows; of the cases ``where`` selects
        (an operator's scope, :meth:`~motcua.workflow.access.scope.Scope.narrow`), of every case when None."""
        ...

    def armed_timers(self, limit: int, where: CaseFilter | None = None) -> list[ArmedTimer]:
        """The first ``limit`` armed timers by due instant (then case code and name), with their claims: the
        operator's table of timers due and claimed; of the cases ``where`` selects (every case when None)."""
        ...


@dataclass(frozen=True, slots=True)
class Claim:
    """One claim of outbox rows: its ``token`` (written on every row it claimed), when its lease runs out, and
    the lease a holder extends it by while a delivery runs. A row carries the token of its latest claim only,
    so a holder whose claim was taken over (its lease ran out, another dispatcher claimed the row) can tell."""

    token: str
    until: datetime
    lease: timedelta

    @classmethod
    def new(cls, now: datetime, lease: timedelta) -> Claim:
        """A claim made at ``now`` for ``lease``, under a fresh random token."""
        return cls(uuid.uuid4().hex, now + lease, lease)


class Outbox(Protocol):
    """Effects waiting for delivery. A dispatcher claims them for a lease under a token (:class:`Claim`); the
    worker delivering one holds the claim while it delivers (:meth:`hold`), so that no other claim hands it out
    meanwhile, and records how the attempt went only while no other attempt recorded it first."""

    def claim_effects(self, now: datetime, limit: int, lease: timedelta, token: str | None = None) -> list[OutboxItem]:
        """Claim up to ``limit`` pending effects whose next attempt is due and that no claim holds, for ``lease``,
        writing ``token`` on them (none: a claim that nobody can hold, for a caller delivering at once)."""
        ...

    def hold(self, item_id: int, token: str, until: datetime) -> bool:
        """Extend the claim ``token`` on a pending effect to ``until``; False (and nothing changes) when the
        effect is no longer pending (delivered, parked) or another claim took it over since."""
        ...

    def hold_many(self, item_ids: Sequence[int], token: str, until: datetime) -> set[int]:
        """:meth:`hold` for several effects in one transaction; returns the ids whose claim was extended."""
        ...

    def delivered_many(self, item_ids: Sequence[int], now: datetime) -> set[int]:
        """:meth:`delivered` for several effects in one transaction; returns the ids marked now (the others were
        marked delivered already)."""
        ...

    def delivered(self, item_id: int, now: datetime) -> bool:
        """Mark the effect delivered and free its claim, whoever holds it (it was delivered); False when it was
        marked delivered already (another attempt delivered it too)."""
        ...

    def failed(
        self, item_id: int, error: str, settlement: Settlement, token: str | None = None,
        delivered: frozenset[str] = frozenset(),
    ) -> bool:
        """Record a failed attempt: retry at the settlement's instant, or park the effect, with the channels it was
        ``delivered`` to so far (a retry, a requeue included, goes only to the others). The attempt is counted
        unless the settlement says not (:attr:`~motcua.workflow.engine.retry.RetryAt.counted`: an effect deferred
        unsent while its receiver asked for a wait). Only on a pending effect, and, given a ``token``, only while
        that claim holds it; False (and nothing changes) otherwise: another attempt delivered it, or holds it now and
        will record its own outcome."""
        ...

    def parked(self, where: CaseFilter | None = None) -> list[OutboxItem]:
        """The effects parked after their last attempt, by id; of the cases ``where`` selects (every case when
        None)."""
        ...

    def backlog(self, where: CaseFilter | None = None) -> int:
        """How many effects wait for delivery (pending, claimed or not; parked ones are not counted); of the cases
        ``where`` selects (every case when None)."""
        ...

    def requeue(self, item_ids: Sequence[int] | None, now: datetime) -> int:
        """Make parked effects pending again (all of them when ``item_ids`` is None), due ``now``, their count of
        failed attempts back to 0 (so the retry policy's backoff applies afresh; the last error is kept); returns how
        many."""
        ...


class Notifier(Protocol):
    def deliver(self, item: OutboxItem) -> None:
        """Deliver one effect; raise :class:`~motcua.workflow.errors.DeliveryFailed` when it could not be."""
        ...


class CaseQueries(Protocol):
    def find(self, where: CaseFilter, *, after: str | None = None, limit: int = 50) -> Page:
        """The cases :func:`motcua.workflow.engine.queries.matches` selects, ordered by code, the first ``limit`` of
        those whose code sorts after ``after``; :class:`~motcua.workflow.errors.InvalidInput` for a ``limit``
        outside 1…:data:`~motcua.workflow.engine.queries.MAX_PAGE`."""
        ...


class Storage(CaseStore, CaseQueries, TimerQueue, Outbox, Protocol):
    """One database behind all four ports: what every shipped adapter implements."""


class DefinitionPins(Protocol):
    """The digest of each definition (a workflow version, a rule set: a :class:`~motcua.workflow.engine.pins.Pin`) as
    the database was first opened with it; :func:`~motcua.workflow.engine.pins.check_pins` holds a start to them."""

    def pinned(self) -> Mapping[Pin, str]:
        """Every pin the database holds, and its digest."""
        ...

    def pin(self, digests: Mapping[Pin, str], at: datetime) -> Mapping[Pin, str]:
        """Pin each of ``digests`` the database holds no pin of (at ``at``), in one transaction, and give the digest
        pinned now of each: the first pin of a name wins, whichever process (or call) writes it; a pin there already
        is never changed (insert if absent)."""
        ...

    def repin(self, name: Pin, old: str, new: str, at: datetime) -> bool:
        """Replace the digest of ``name`` by ``new`` (at ``at``, keeping ``old`` as the digest replaced), only while it
        is still ``old``; whether it was (False: no such pin, or another digest since)."""
        ...
