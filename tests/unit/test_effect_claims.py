"""A worker's handler delivers an effect under the claim it was sent with (memory store, the real desk).

Right before sending, the handler takes the claim over for a full lease, which re-reads the effect: one
delivered meanwhile, or claimed again by another dispatcher (a clock ahead of this one), is not sent. While a
slow delivery runs, a heartbeat keeps the claim; a failed attempt is recorded only under the claim.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker

from motcua.adapters.bootstrap import Motcua
from motcua.adapters.memory.store import MemoryStore
from motcua.adapters.notifiers import FanOut
from motcua.workers.actors import QUEUE, declare_actors, effect_message
from motcua.workers.handlers import Handlers
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import ManualClock, SystemClock
from motcua.workflow.engine.model import OutboxItem
from motcua.workflow.engine.ports import Claim
from motcua.workflow.engine.retry import RetryAt, Settlement
from motcua.workflow.errors import DeliveryUnavailable, StorageUnavailable
from tests.conftest import OFFICER

LEASE = timedelta(minutes=1)


@dataclass
class Receiver:
    """Records each delivery; ``during`` runs inside it (what happens elsewhere while it is sent)."""

    during: Callable[[OutboxItem], None] = lambda item: None
    fail: bool = False
    items: list[OutboxItem] = field(default_factory=list)

    def deliver(self, item: OutboxItem) -> None:
        self.during(item)
        self.items.append(item)
        if self.fail:
            raise DeliveryUnavailable(item.kind, "webhook: HTTP 503 Service Unavailable")


def _receipt(motcua: Motcua, now: datetime, lease: timedelta = LEASE) -> tuple[OutboxItem, Claim]:
    """A dossier's receipt, claimed at ``now`` as a dispatcher does."""
    motcua.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), OFFICER)
    claim = Claim.new(now, lease)
    [item] = motcua.store.claim_effects(now, 10, lease, claim.token)
    return item, claim


def _handlers(motcua: Motcua, receiver: Receiver, clock: ManualClock | SystemClock) -> Handlers:
    return Handlers(motcua.service, motcua.store, motcua.store, receiver, clock)


def _taken_over(motcua: Motcua, clock: ManualClock) -> Callable[[OutboxItem], Claim]:
    """Another dispatcher, whose clock runs a lease ahead of this one, claims the effect again."""

    def take(item: OutboxItem) -> Claim:
        ahead = clock.now() + LEASE
        claim = Claim.new(ahead, LEASE)
        assert [other.id for other in motcua.store.claim_effects(ahead, 10, LEASE, claim.token)] == [item.id]
        return claim

    return take


def test_a_message_sent_twice_delivers_once(motcua: Motcua, clock: ManualClock) -> None:
    item, claim = _receipt(motcua, clock.now())
    receiver = Receiver()
    handlers = _handlers(motcua, receiver, clock)

    handlers.handle_effect(item, claim)
    handlers.handle_effect(item, claim)  # the broker delivered the message again (a worker died before its ack)

    assert receiver.items == [item]


def test_an_effect_claimed_again_by_another_dispatcher_is_left_to_it(motcua: Motcua, clock: ManualClock) -> None:
    item, claim = _receipt(motcua, clock.now())
    newer = _taken_over(motcua, clock)(item)
    receiver = Receiver()
    handlers = _handlers(motcua, receiver, clock)

    assert handlers.handle_effect(item, claim) is None  # its own claim has not run out on this clock
    assert receiver.items == []

    clock.set(newer.until - LEASE)
    handlers.handle_effect(item, newer)
    assert receiver.items == [item]


def test_nothing_is_sent_while_the_claim_cannot_be_taken(motcua: Motcua, clock: ManualClock) -> None:
    item, claim = _receipt(motcua, clock.now())

    class Away(MemoryStore):
        def hold(self, item_id: int, token: str, until: datetime) -> bool:
            raise StorageUnavailable("connection refused")

    receiver = Receiver()
    away = Handlers(motcua.service, motcua.store, Away(), receiver, clock)
    with pytest.raises(StorageUnavailable):  # retryable: the message comes back later
        away.handle_effect(item, claim)
    assert receiver.items == []


def test_a_delivery_that_lost_its_claim_is_still_recorded_so_the_newer_claim_sends_nothing(
    motcua: Motcua, clock: ManualClock
) -> None:
    item, claim = _receipt(motcua, clock.now())
    newer: list[Claim] = []
    receiver = Receiver(during=lambda sent: newer.append(_taken_over(motcua, clock)(sent)))
    handlers = _handlers(motcua, receiver, clock)

    handlers.handle_effect(item, claim)  # the other dispatcher claimed it while it was being sent
    receiver.during = lambda sent: None
    clock.set(newer[0].until - LEASE)
    handlers.handle_effect(item, newer[0])

    assert receiver.items == [item]
    assert motcua.store.backlog() == 0


def test_a_failure_after_the_claim_was_lost_is_left_to_the_newer_claim(motcua: Motcua, clock: ManualClock) -> None:
    item, claim = _receipt(motcua, clock.now())
    take_over = _taken_over(motcua, clock)

    def taken_over_meanwhile(sent: OutboxItem) -> None:
        take_over(sent)

    handlers = _handlers(motcua, Receiver(during=taken_over_meanwhile, fail=True), clock)

    assert handlers.handle_effect(item, claim) is None  # not recorded: the newer claim's attempt will be

    assert motcua.store.claim_effects(clock.now() + LEASE, 10, LEASE) == []  # still held by the newer claim
    [again] = motcua.store.claim_effects(clock.now() + 2 * LEASE, 10, LEASE, "c3" * 16)
    assert again.attempts == 0  # the lost attempt was not counted


def test_a_failure_under_its_claim_is_recorded(motcua: Motcua, clock: ManualClock) -> None:
    item, claim = _receipt(motcua, clock.now())
    handlers = _handlers(motcua, Receiver(fail=True), clock)

    settlement = handlers.handle_effect(item, claim)

    assert isinstance(settlement, RetryAt)
    [again] = motcua.store.claim_effects(settlement.at, 10, LEASE)
    assert (again.attempts, again.last_error) == (1, "webhook: HTTP 503 Service Unavailable")


def test_a_delivery_slower_than_the_lease_keeps_its_claim(motcua: Motcua) -> None:
    clock, lease = SystemClock(), timedelta(milliseconds=300)
    item, claim = _receipt(motcua, clock.now(), lease)
    claimed_meanwhile: list[list[OutboxItem]] = []

    def slowly(sent: OutboxItem) -> None:
        for _ in range(4):  # four leases long; another dispatcher tries each lease
            time.sleep(lease.total_seconds())
            claimed_meanwhile.append(motcua.store.claim_effects(clock.now(), 10, lease, "d4" * 16))

    receiver = Receiver(during=slowly)
    _handlers(motcua, receiver, clock).handle_effect(item, claim)

    assert claimed_meanwhile == [[], [], [], []]
    assert receiver.items == [item]
    assert motcua.store.backlog() == 0


def test_a_claim_is_held_no_longer_than_the_bound(motcua: Motcua) -> None:
    clock, lease = SystemClock(), timedelta(milliseconds=150)
    item, claim = _receipt(motcua, clock.now(), lease)
    claimed: list[OutboxItem] = []

    def stuck(sent: OutboxItem) -> None:  # a delivery that hangs past the bound: the claim is let go
        time.sleep(0.8)
        claimed.extend(motcua.store.claim_effects(clock.now(), 10, lease, "e5" * 16))

    receiver = Receiver(during=stuck)
    handlers = Handlers(motcua.service, motcua.store, motcua.store, receiver, clock, max_hold=timedelta(seconds=0.3))
    handlers.handle_effect(item, claim)

    assert [each.id for each in claimed] == [item.id]


@dataclass
class Channel:
    """One channel of a fan-out, named; fails its first ``failures`` deliveries."""

    channel: str
    failures: int = 0
    items: list[int] = field(default_factory=list)

    def deliver(self, item: OutboxItem) -> None:
        if self.failures:
            self.failures -= 1
            raise DeliveryUnavailable(item.kind, f"{self.channel}: away")
        self.items.append(item.id)


def test_a_retry_delivers_only_to_the_channels_not_yet_delivered(motcua: Motcua, clock: ManualClock) -> None:
    """E-mail and a webhook whose receiver is away twice: the officials get one e-mail, not three."""
    email, webhook = Channel("email"), Channel("webhook", failures=2)
    handlers = Handlers(motcua.service, motcua.store, motcua.store, FanOut([email, webhook]), clock)
    item, claim = _receipt(motcua, clock.now())

    settlement = handlers.handle_effect(item, claim)  # one effect of a message
    assert isinstance(settlement, RetryAt)
    for _ in range(2):  # then a batch's, twice
        clock.set(max(clock.now(), settlement.at) + timedelta(hours=1))
        batch = Claim.new(clock.now(), LEASE)
        claimed = motcua.store.claim_effects(clock.now(), 10, LEASE, batch.token)
        assert [each.delivered for each in claimed] == [frozenset({"email"})]
        handlers.handle_effects(claimed, batch)

    assert (email.items, webhook.items) == ([item.id], [item.id])
    assert motcua.store.backlog() == 0


def test_an_effect_message_carries_its_claim_to_the_handler(motcua: Motcua, clock: ManualClock) -> None:
    item, claim = _receipt(motcua, clock.now())
    item = replace(item, delivered=frozenset({"email", "log"}))  # what an attempt delivered is carried too
    seen: list[tuple[OutboxItem, Claim | None]] = []

    class Recording(Handlers):
        def handle_effect(self, item: OutboxItem, claim: Claim | None = None) -> Settlement | None:
            seen.append((item, claim))
            return None

    broker = StubBroker()
    broker.emit_after("process_boot")
    sink = declare_actors(broker, lambda: Recording(motcua.service, motcua.store, motcua.store, Receiver(), clock))
    sink.send_effect(item, claim)
    older = {key: value for key, value in effect_message(item, claim).items() if key not in ("claim", "lease_s")}
    sink.deliver_effect.send(older)  # sent by a dispatcher from before claim tokens: delivered as before
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        broker.join(QUEUE, fail_fast=True)
        worker.join()
    finally:
        worker.stop()
        broker.close()

    assert seen == [(item, claim), (item, None)]
