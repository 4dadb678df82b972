"""What a worker does with one message: fire a timer or a batch of them, deliver an effect or a batch of them.
Thin: the service decides.

An effect is delivered under the claim the dispatcher made (:class:`~motcua.workflow.engine.ports.Claim`): right
before sending, the handler takes the claim over for a full lease, which also re-reads the row (skipped when the
effect was delivered meanwhile or another claim took it over); while the delivery runs (a slow SMTP server, a
slow webhook) a heartbeat extends the lease every third of it, so no dispatcher hands the effect out again; a
failed attempt is recorded only under that claim. A delivery slower than the lease is therefore sent once. A
batch of effects is held, extended and marked delivered together, one transaction each
(:meth:`Handlers.handle_effects`). A notifier that raises anything but ``DeliveryFailed`` (a bug, a payload or a
setting it cannot use, its own database read failing) failed that attempt all the same (:meth:`Handlers._attempt`):
recorded, retried with backoff, then parked — never left to come back unrecorded after every lease, nor to leave
the rest of its batch unsent or unmarked.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

import structlog

from motcua.workflow.engine.bounds import excerpt, line_problem
from motcua.workflow.engine.clock import Clock
from motcua.workflow.engine.model import Case, DueTimer, OutboxItem
from motcua.workflow.engine.ports import Claim, Notifier, Outbox, TimerQueue
from motcua.workflow.engine.retry import RetryAt, RetryPolicy, Settlement
from motcua.workflow.engine.service import CaseService, FiredTimers, TimerFailure
from motcua.workflow.errors import DeliveryFailed, DeliveryUnavailable, Retryable

__all__ = ["HEARTBEATS_PER_LEASE", "MAX_HOLD", "Handlers"]

log = structlog.get_logger("motcua.worker")

SETTLE_FIRST_WAIT: Final = timedelta(milliseconds=200)  # a batch's marks, the database away: first wait
SETTLE_LONGEST_WAIT: Final = timedelta(seconds=5)
SERIAL_BUDGET: Final = timedelta(milliseconds=250)  # a batch's effects delivered one by one this long, then:
SIDE_BY_SIDE: Final = 8  # the deliveries of a slow batch under way at once (per worker process)
HEARTBEATS_PER_LEASE: Final = 3  # a delivery's claim is extended every third of its lease: two beats may fail
MAX_HOLD: Final = timedelta(minutes=10)  # dramatiq's time limit of a message: a delivery is not held longer
_ERROR_EXCERPT: Final = 300  # characters of an unexpected error's text kept with its effect
_DETAIL_MAX: Final = 1000  # characters of a failure's detail kept with its effect as it came (else an excerpt)


@dataclass(frozen=True)
class Handlers:
    service: CaseService
    timers: TimerQueue
    outbox: Outbox
    notifier: Notifier
    clock: Clock
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    max_hold: timedelta = MAX_HOLD
    stopping: threading.Event = field(default_factory=threading.Event)  # set: start no delivery of a batch
    _side_by_side: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(SIDE_BY_SIDE, thread_name_prefix="motcua-deliver"),
        init=False, repr=False, compare=False)

    def handle_timer(self, timer: DueTimer) -> Case | TimerFailure | None:
        """Fire the timer exactly once, or record its trigger's failure (tried again later, or parked); ``None`` when
        it was stale. Retryable errors propagate."""
        with structlog.contextvars.bound_contextvars(case=timer.case_code, trigger=timer.trigger, role="system"):
            outcome = self.service.fire_claimed(timer, self.timers)
        if isinstance(outcome, TimerFailure):
            _failed([outcome])
        return outcome

    def handle_timers(self, timers: Sequence[DueTimer], lease: timedelta | None = None) -> FiredTimers:
        """Fire a batch of timers, each exactly once, in one transaction where correctness allows
        (:meth:`~motcua.workflow.engine.service.CaseService.fire_timers`), and deliver at once the notices that
        transaction released: written claimed for ``lease`` (when given) by the same transaction, they are held by
        this worker from the start, delivered one by one and marked delivered together (:meth:`_deliver_held`).
        Should this worker die first, the claim runs out and a dispatcher sends them. Retryable errors propagate:
        the batch is sent again, and what it had committed is stale by then."""
        claim = None if lease is None else Claim.new(self.clock.now(), lease)
        with structlog.contextvars.bound_contextvars(timers=len(timers), role="system"):
            fired = self.service.fire_timers(timers, self.timers, claim)
        _failed(fired.failed)
        if claim is not None and fired.released:
            released = list(fired.released)
            if claim.until - self.clock.now() < claim.lease * 2 / 3:  # firing took long: the heartbeat's first beat
                self.handle_effects(released, claim)  # (a third of a lease in) could come too late — hold afresh
            else:
                self._deliver_held(released, claim)
        return fired

    def handle_effect(self, item: OutboxItem, claim: Claim | None = None) -> Settlement | None:
        """Deliver one effect under ``claim``; on failure record the policy's settlement (retry later, or park).

        An effect whose claim ran out is not delivered: the dispatcher may have sent it again already, and it
        is still pending, so the newer message delivers it. Nor is one whose claim was taken over, or that was
        delivered meanwhile. Without a claim (the inline runner, which delivers what it just claimed) the
        effect is delivered as it is."""
        with structlog.contextvars.bound_contextvars(case=item.case_code, effect=item.id):
            if claim is None:
                self.service.get(item.case_code)  # the database is asked first (see _take)
                return self._deliver(item, None)
            if self.clock.now() >= claim.until:
                log.info("effect.claim_expired", claimed_until=claim.until.isoformat())
                return None
            if not self._take(item, claim):
                log.info("effect.claim_lost")
                return None
            with self._holding(lambda until: self.outbox.hold(item.id, claim.token, until), claim, item.id):
                return self._deliver(item, claim)

    def handle_effects(self, items: Sequence[OutboxItem], claim: Claim | None = None) -> int:
        """Deliver a batch of effects claimed together under ``claim``, and record them together; returns how many
        were delivered.

        As :meth:`handle_effect` does for one: the batch is dropped if its claim ran out; right before sending,
        the claim is taken over for a full lease, for every effect at once (:meth:`~Outbox.hold_many`: one
        transaction), and an effect it no longer holds is not sent; while the batch is delivered a heartbeat
        extends the claim on all of them. The effects delivered are then marked in one transaction
        (:meth:`~Outbox.delivered_many`), tried again while the database is away (:meth:`_settle`), so an outage
        does not make the batch be delivered again. A failed delivery is recorded on its own, under the claim."""
        if claim is None:  # the inline runner: each effect delivered as it is
            return sum(self.handle_effect(item, None) is None for item in items)
        if self.clock.now() >= claim.until:
            log.info("effect.claim_expired", claimed_until=claim.until.isoformat(), effects=len(items))
            return 0
        held_ids = self.outbox.hold_many([item.id for item in items], claim.token, self.clock.now() + claim.lease)
        if len(held_ids) < len(items):
            log.info("effect.claim_lost", effects=len(items) - len(held_ids))
        return self._deliver_held([item for item in items if item.id in held_ids], claim)

    def _deliver_held(self, held: Sequence[OutboxItem], claim: Claim) -> int:
        """Deliver effects this worker holds under ``claim`` (a heartbeat extends it meanwhile), then mark the
        delivered ones in one transaction; returns how many were delivered. Nothing is sent once the claim ran out
        (a dispatcher may have sent the effects again)."""
        if not held:
            return 0
        if self.clock.now() >= claim.until:
            log.info("effect.claim_expired", claimed_until=claim.until.isoformat(), effects=len(held))
            return 0
        ids = [item.id for item in held]
        with self._holding(lambda until: bool(self.outbox.hold_many(ids, claim.token, until)), claim, ids[0]):
            delivered = self._deliver_all(held, claim)
            self._settle(delivered)
        return len(delivered)

    def _deliver_all(self, held: Sequence[OutboxItem], claim: Claim) -> list[int]:
        """Deliver a batch one effect after the other; once that has taken SERIAL_BUDGET (a slow receiver), the
        rest side by side, SIDE_BY_SIDE at a time. No delivery starts once the worker is ``stopping``: the rest
        stay pending under the claim, which runs out, and a dispatcher sends them again. Returns the ids delivered."""
        delivered: list[int] = []
        started = time.monotonic()
        for n, item in enumerate(held):
            if self.stopping.is_set():
                log.info("effect.batch_left", effects=len(held) - n)
                return delivered
            if time.monotonic() - started > SERIAL_BUDGET.total_seconds():
                return delivered + self._deliver_side_by_side(held[n:], claim)
            if self._deliver_one(item, claim):
                delivered.append(item.id)
        return delivered

    def _deliver_side_by_side(self, items: Sequence[OutboxItem], claim: Claim) -> list[int]:
        def deliver(item: OutboxItem) -> bool:
            return not self.stopping.is_set() and self._deliver_one(item, claim)

        futures = [self._side_by_side.submit(contextvars.copy_context().run, deliver, item) for item in items]
        return [item.id for item, future in zip(items, futures, strict=True) if future.result()]

    def _deliver_one(self, item: OutboxItem, claim: Claim) -> bool:
        """Deliver one effect of a batch; a failure is recorded under the claim (or, the database away, left to
        the claim's lease: the effect is still pending, so it is tried again, never delivered twice by this)."""
        with structlog.contextvars.bound_contextvars(case=item.case_code, effect=item.id):
            failure = self._attempt(item)
            if failure is not None:
                settlement = self.policy.after_failure(item.attempts + 1, self.clock.now(), failure)
                delivered = item.delivered | failure.delivered
                try:
                    if not self.outbox.failed(item.id, _recorded(failure.detail), settlement, claim.token, delivered):
                        log.info("effect.claim_lost", outcome="failed")
                except Retryable as error:
                    log.warning("effect.failure_unrecorded", error=type(error).__name__)
                return False
            return True

    def _settle(self, delivered: Sequence[int]) -> None:
        """Mark the batch's delivered effects in one transaction; while the database is away, try again (waits from
        SETTLE_FIRST_WAIT doubling to SETTLE_LONGEST_WAIT) for up to ``max_hold``: a batch whose marks were lost
        would be delivered again, whole, after its lease."""
        if not delivered:
            return
        wait, give_up = SETTLE_FIRST_WAIT, time.monotonic() + self.max_hold.total_seconds()
        while True:
            try:
                marked = self.outbox.delivered_many(delivered, self.clock.now())
                break
            except Retryable as error:
                if time.monotonic() + wait.total_seconds() >= give_up:
                    log.warning("effect.settle_given_up", effects=len(delivered), error=type(error).__name__)
                    raise
                log.warning("effect.settle_failed", effects=len(delivered), error=type(error).__name__,
                            retry_in_s=wait.total_seconds())
                time.sleep(wait.total_seconds())
                wait = min(wait * 2, SETTLE_LONGEST_WAIT)
        if len(marked) < len(delivered):  # other attempts delivered them too: receivers drop them by their key
            log.warning("effect.delivered_again", effects=len(delivered) - len(marked))

    def _take(self, item: OutboxItem, claim: Claim) -> bool:
        """Hold the claim for a full lease from now, if the effect is still pending under it.

        This asks the database before anything is sent: while it is away this raises ``StorageUnavailable`` and
        the message is retried without delivering. Otherwise every retry during an outage would deliver again
        an effect whose delivery it cannot record."""
        return self.outbox.hold(item.id, claim.token, self.clock.now() + claim.lease)

    def _attempt(self, item: OutboxItem) -> DeliveryFailed | None:
        """Deliver ``item`` once; the failure, if it failed. Whatever else the notifier raises is a failure too, worth
        retrying (as a timer whose trigger raised is): the log line names its type only (its text may quote a
        payload), the outbox keeps an excerpt of it (``motcua outbox failed``)."""
        try:
            self.notifier.deliver(item)
        except DeliveryFailed as failure:
            return failure
        except Exception as error:
            log.warning("effect.delivery_error", error=type(error).__name__)
            return DeliveryUnavailable(item.kind, f"{type(error).__name__}: {excerpt(str(error), _ERROR_EXCERPT)}")
        return None

    def _deliver(self, item: OutboxItem, claim: Claim | None) -> Settlement | None:
        failure = self._attempt(item)
        if failure is not None:
            settlement = self.policy.after_failure(item.attempts + 1, self.clock.now(), failure)
            token = None if claim is None else claim.token
            delivered = item.delivered | failure.delivered
            if not self.outbox.failed(item.id, _recorded(failure.detail), settlement, token, delivered):
                log.info("effect.claim_lost", outcome="failed")  # another attempt records its own outcome
                return None
            return settlement
        if not self.outbox.delivered(item.id, self.clock.now()):
            log.warning("effect.delivered_again")  # another attempt delivered it too: a receiver drops it by its key
        return None

    @contextmanager
    def _holding(self, extend: Callable[[datetime], bool], claim: Claim, name: int) -> Iterator[None]:
        """Extend the claim (``extend(until)``: whether it is still held) every third of its lease until the block
        ends (at most ``max_hold``)."""
        done = threading.Event()
        context = contextvars.copy_context()  # the heartbeat logs under the effect's case and id
        beat = threading.Thread(target=context.run, args=(self._heartbeat, extend, claim, done),
                                name=f"motcua-hold-{name}", daemon=True)
        beat.start()
        try:
            yield
        finally:
            done.set()
            beat.join()

    def _heartbeat(self, extend: Callable[[datetime], bool], claim: Claim, done: threading.Event) -> None:
        interval = claim.lease.total_seconds() / HEARTBEATS_PER_LEASE
        give_up = time.monotonic() + self.max_hold.total_seconds()
        while not done.wait(interval):
            if time.monotonic() >= give_up:
                log.warning("effect.hold_given_up", held_s=self.max_hold.total_seconds())
                return
            try:
                held = extend(self.clock.now() + claim.lease)
            except Exception as error:  # the database away for a beat: the next beat tries again
                log.warning("effect.hold_failed", error=type(error).__name__)
                continue
            if not held:
                log.warning("effect.claim_lost", outcome="delivering")
                return


def _recorded(detail: str) -> str:
    """A failure's detail as the outbox keeps it: as it came when it is one line of at most :data:`_DETAIL_MAX`
    characters, else an excerpt (control characters and lone surrogates escaped, cut). What a notifier quotes — an
    SMTP server's reply with a NUL or several lines, megabytes of an answer — would fail a store's text column, and
    the failure would go unrecorded."""
    return detail if line_problem(detail, _DETAIL_MAX) is None else excerpt(detail, _DETAIL_MAX)


def _failed(failures: Sequence[TimerFailure]) -> None:
    """Tell the operator of each timer whose trigger failed: its case, name and trigger, the kind of error, and when
    it is tried again (``timer.failed``) or that it was set aside (``timer.parked``). The error's text stays in the
    database (``motcua timers parked``)."""
    for failure in failures:
        timer, kind = failure.timer, failure.error.partition(":")[0]
        fields = {"case": timer.case_code, "timer": timer.name, "trigger": timer.trigger, "error": kind,
                  "attempt": timer.attempts + 1}
        if isinstance(failure.settlement, RetryAt):
            log.warning("timer.failed", **fields, retry_at=failure.settlement.at.isoformat())
        else:
            log.warning("timer.parked", **fields)
