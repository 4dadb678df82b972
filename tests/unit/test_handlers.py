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
