"""A worker's handlers while the database is away: nothing is delivered that could not be recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest

from motcua.adapters.bootstrap import Motcua
from motcua.workers.handlers import Handlers
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.engine.model import Case, OutboxItem
from motcua.workflow.engine.ports import Claim
from motcua.workflow.engine.service import CaseService
from motcua.workflow.errors import StorageUnavailable
from tests.conftest import OFFICER


class Recorder:
    def __init__(self) -> None:
        self.items: list[OutboxItem] = []

    def deliver(self, item: OutboxItem) -> None:
        self.items.append(item)


class Unreachable(CaseService):
    """The service with its database gone: every read fails as the SQL store's would."""

    def get(self, code: str) -> Case:
        raise StorageUnavailable("connection refused")


def test_an_effect_is_not_delivered_while_the_database_is_away(motcua: Motcua, clock: ManualClock) -> None:
    motcua.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), OFFICER)
    [item] = motcua.store.claim_effects(clock.now(), 10, timedelta(minutes=1))
    notifier = Recorder()
    away = Unreachable(motcua.service.engine, motcua.store)
    with pytest.raises(StorageUnavailable):  # retryable: the message comes back later
        Handlers(away, motcua.store, motcua.store, notifier, clock).handle_effect(item)
    assert notifier.items == []
    Handlers(motcua.service, motcua.store, motcua.store, notifier, clock).handle_effect(item)
    assert notifier.items == [item]


def test_an_effect_whose_claim_ran_out_is_left_to_the_newer_message(motcua: Motcua, clock: ManualClock) -> None:
    motcua.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), OFFICER)
    lease = timedelta(minutes=1)
    claim = Claim.new(clock.now(), lease)
    [item] = motcua.store.claim_effects(clock.now(), 10, lease, claim.token)
    notifier = Recorder()
    handlers = Handlers(motcua.service, motcua.store, motcua.store, notifier, clock)
    clock.advance(lease)
    assert handlers.handle_effect(item, claim) is None
    assert notifier.items == []
    newer = Claim.new(clock.now(), lease)
    [again] = motcua.store.claim_effects(clock.now(), 10, lease, newer.token)  # still pending: sent again
    handlers.handle_effect(again, newer)
    assert notifier.items == [again]


class Broken:
    """A notifier that raises something other than ``DeliveryFailed`` for one effect (a bug, a payload it cannot
    encode, a setting it cannot use): what the port does not promise, and what must not loop unrecorded."""

    def __init__(self, broken_id: int) -> None:
        self.broken_id = broken_id
        self.items: list[OutboxItem] = []

    def deliver(self, item: OutboxItem) -> None:
        if item.id == self.broken_id:
            raise UnicodeEncodeError("ascii", "Bearer mã-bí-mật", 7, 8, "ordinal not in range(128)")
        self.items.append(item)


def received_three(motcua: Motcua) -> None:
    for _ in range(3):
        motcua.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), OFFICER)


def test_a_notifier_that_raises_fails_its_effect_alone_and_the_batch_is_settled(
    motcua: Motcua, clock: ManualClock
) -> None:
    received_three(motcua)
    lease = timedelta(minutes=1)
    claim = Claim.new(clock.now(), lease)
    items = motcua.store.claim_effects(clock.now(), 10, lease, claim.token)
    assert len(items) == 3
    notifier = Broken(items[1].id)

    delivered = Handlers(motcua.service, motcua.store, motcua.store, notifier, clock).handle_effects(items, claim)

    assert delivered == 2
    assert [item.id for item in notifier.items] == [items[0].id, items[2].id]
    clock.advance(timedelta(hours=2))  # past the lease and the backoff: only the failed one is due again
    [again] = motcua.store.claim_effects(clock.now(), 10, lease)
    assert (again.id, again.attempts) == (items[1].id, 1)


def test_a_notifier_that_keeps_raising_parks_its_effect(motcua: Motcua, clock: ManualClock) -> None:
    motcua.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), OFFICER)
    lease = timedelta(minutes=1)
    handlers: Handlers | None = None
    for _ in range(8):  # RetryPolicy's max_attempts
        claim = Claim.new(clock.now(), lease)
        [item] = motcua.store.claim_effects(clock.now(), 10, lease, claim.token)
        handlers = Handlers(motcua.service, motcua.store, motcua.store, Broken(item.id), clock)
        handlers.handle_effect(item, claim)  # recorded, not raised
        clock.advance(timedelta(hours=2))

    [parked] = motcua.store.parked()
    assert parked.attempts == 8
    assert motcua.store.claim_effects(clock.now(), 10, lease) == []
