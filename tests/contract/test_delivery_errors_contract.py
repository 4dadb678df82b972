"""What a notifier says of a failed delivery is recorded on every store, whatever it quotes: an SMTP server's reply
may hold a NUL, several lines, or more than a line should. PostgreSQL's text refused a NUL (and every store a lone
surrogate): the failure went unrecorded, the effect came back after every lease, and its batch-mates, delivered,
were never marked and were delivered again."""

from __future__ import annotations

from datetime import timedelta

import pytest

from motcua.workers.handlers import Handlers
from motcua.workflow.engine.model import OutboxItem
from motcua.workflow.engine.ports import Claim
from motcua.workflow.engine.service import CaseService
from motcua.workflow.errors import DeliveryFailed, DeliveryUnavailable
from tests.contract.conftest import LEASE, Desk

DETAILS = ["e-mail: SMTPDataError 554 5.6.0 bad\x00reply", "e-mail: SMTPDataError 451 4.3.0 one\nline two",
           "webhook: " + "x" * 100_000, "e-mail: lone \ud800 surrogate"]


class Failing:
    """Delivers every effect but the one it fails, with ``detail``."""

    def __init__(self, failing: int, detail: str) -> None:
        self.failing, self.detail = failing, detail
        self.delivered: list[int] = []

    def deliver(self, item: OutboxItem) -> None:
        if item.id == self.failing:
            raise DeliveryUnavailable(item.kind, self.detail)
        self.delivered.append(item.id)


@pytest.mark.parametrize("detail", DETAILS, ids=["nul", "lines", "100-kB", "surrogate"])
def test_any_failure_is_recorded_in_bounds_and_its_batch_settled(desk: Desk, detail: str) -> None:
    for code in ("HS-1", "HS-2"):
        desk.open(code)
    claim = Claim.new(desk.clock.now(), LEASE)
    items = desk.store.claim_effects(desk.clock.now(), 10, LEASE, claim.token)
    notifier = Failing(items[0].id, detail)
    handlers = Handlers(CaseService(desk.engine, desk.store), desk.store, desk.store, notifier, desk.clock)

    assert handlers.handle_effects(items, claim) == len(items) - 1

    desk.clock.advance(timedelta(hours=2))
    [again] = desk.store.claim_effects(desk.clock.now(), 10, LEASE)  # the others were marked delivered
    assert (again.id, again.attempts) == (items[0].id, 1)
    error = again.last_error or ""
    assert detail[:12] in error and len(error) < 1100
    assert error.isprintable() and error.encode("utf-8")


def test_a_final_failure_is_parked_in_bounds(desk: Desk) -> None:
    desk.open("HS-1")
    [item] = desk.store.claim_effects(desk.clock.now(), 10, LEASE)

    class Refusing:
        def deliver(self, item: OutboxItem) -> None:
            raise DeliveryFailed(item.kind, DETAILS[0])

    Handlers(CaseService(desk.engine, desk.store), desk.store, desk.store, Refusing(), desk.clock).handle_effect(item)

    [parked] = desk.store.parked()
    assert parked.id == item.id and "\x00" not in (parked.last_error or "")
