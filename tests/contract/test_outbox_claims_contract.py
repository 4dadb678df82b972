"""The contract of an outbox claim's token, run on the memory store, SQLite and PostgreSQL.

A claim writes its token on the effects it hands out. The worker delivering one holds the claim under that token
(:meth:`~motcua.workflow.engine.ports.Outbox.hold`): the lease is extended, so no other claim hands the effect out
while it is delivered; a holder whose claim was taken over, or whose effect was delivered meanwhile, is told so
and changes nothing. A failed attempt is recorded only under its claim and only on a pending effect; a delivery
is recorded once, whoever holds the claim.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from motcua.workflow.engine.model import OutboxItem
from motcua.workflow.engine.retry import Park, RetryAt
from tests.contract.conftest import LEASE, Desk

CODE = "000.00.12.H01-250303-0011"
TOKEN, OTHER = "a1" * 16, "b2" * 16
TICK = timedelta(microseconds=1)


def _claimed(desk: Desk, token: str | None = TOKEN) -> OutboxItem:
    """The case's receipt notice, claimed now under ``token``."""
    desk.open(CODE)
    [item] = desk.store.claim_effects(desk.clock.now(), 10, LEASE, token)
    return item


def test_holding_a_claim_extends_its_lease(desk: Desk) -> None:
    item = _claimed(desk)
    now = desk.clock.now()

    assert desk.store.hold(item.id, TOKEN, now + 3 * LEASE) is True

    assert desk.store.claim_effects(now + LEASE, 10, LEASE, OTHER) == []  # the first lease ran out: still held
    assert desk.store.claim_effects(now + 3 * LEASE - TICK, 10, LEASE, OTHER) == []
    assert desk.store.claim_effects(now + 3 * LEASE, 10, LEASE, OTHER) == [item]  # the holder died: claimed again


def test_a_claim_taken_over_cannot_be_held_any_more(desk: Desk) -> None:
    item = _claimed(desk)
    later = desk.clock.now() + LEASE

    assert desk.store.claim_effects(later, 10, LEASE, OTHER) == [item]  # the lease ran out: another claim

    assert desk.store.hold(item.id, TOKEN, later + LEASE) is False
    assert desk.store.hold(item.id, OTHER, later + LEASE) is True


def test_a_lapsed_claim_nobody_took_over_is_still_its_holders(desk: Desk) -> None:
    item = _claimed(desk)
    later = desk.clock.now() + 2 * LEASE

    assert desk.store.hold(item.id, TOKEN, later + LEASE) is True
    assert desk.store.claim_effects(later, 10, LEASE, OTHER) == []


def test_a_delivered_or_parked_effect_cannot_be_held(desk: Desk) -> None:
    item = _claimed(desk)
    now = desk.clock.now()
    assert desk.store.delivered(item.id, now) is True

    assert desk.store.hold(item.id, TOKEN, now + LEASE) is False

    desk.open("another")
    [parked] = desk.store.claim_effects(now, 10, LEASE, TOKEN)
    assert desk.store.failed(parked.id, "địa chỉ không tồn tại", Park("permanent"), TOKEN) is True
    assert desk.store.hold(parked.id, TOKEN, now + LEASE) is False


def test_an_effect_claimed_without_a_token_cannot_be_held(desk: Desk) -> None:
    item = _claimed(desk, token=None)

    assert desk.store.hold(item.id, TOKEN, desk.clock.now() + LEASE) is False


def test_a_failure_is_recorded_only_under_its_claim(desk: Desk) -> None:
    item = _claimed(desk)
    later = desk.clock.now() + LEASE
    desk.store.claim_effects(later, 10, LEASE, OTHER)  # taken over while the first holder was failing

    assert desk.store.failed(item.id, "hết thời gian chờ", RetryAt(later), TOKEN) is False
    assert desk.store.failed(item.id, "hết thời gian chờ", Park("failed 8 times"), TOKEN) is False
    assert desk.store.parked() == []
    assert desk.store.claim_effects(later, 10, LEASE, "c3" * 16) == []  # the newer claim still holds it

    assert desk.store.failed(item.id, "hết thời gian chờ", RetryAt(later), OTHER) is True
    [again] = desk.store.claim_effects(later, 10, LEASE, TOKEN)  # freed by the failure, due again
    assert again == replace(item, attempts=1, next_attempt_at=later, last_error="hết thời gian chờ")


def test_a_late_failure_does_not_bring_a_delivered_effect_back(desk: Desk) -> None:
    item = _claimed(desk)
    now = desk.clock.now()
    assert desk.store.delivered(item.id, now) is True  # by another attempt

    assert desk.store.failed(item.id, "máy chủ trả lời 503", RetryAt(now), None) is False
    assert desk.store.failed(item.id, "máy chủ trả lời 503", Park("permanent"), TOKEN) is False

    assert desk.store.claim_effects(now + LEASE, 10, LEASE, OTHER) == []
    assert desk.store.parked() == []
    assert desk.store.backlog() == 0


def test_a_delivery_is_recorded_once_whoever_holds_the_claim(desk: Desk) -> None:
    item = _claimed(desk)
    later = desk.clock.now() + LEASE
    desk.store.claim_effects(later, 10, LEASE, OTHER)  # taken over while the first holder was delivering

    assert desk.store.delivered(item.id, later) is True  # it was delivered: the newer holder must not send it
    assert desk.store.hold(item.id, OTHER, later + LEASE) is False
    assert desk.store.delivered(item.id, later) is False  # a second delivery is not counted as an attempt

    assert desk.store.failed(item.id, "x", RetryAt(later), OTHER) is False
    assert desk.store.claim_effects(later + 2 * LEASE, 10, LEASE, TOKEN) == []
    assert desk.store.backlog() == 0


def test_the_channels_an_attempt_delivered_to_are_kept_with_its_failure(desk: Desk) -> None:
    """So that a retry goes only to the others: officials got the e-mail again at every retry while a webhook's
    receiver was away."""
    item = _claimed(desk)
    now = desk.clock.now()
    assert item.delivered == frozenset()
    sent = frozenset({"email", "log"})

    assert desk.store.failed(item.id, "webhook: HTTP 503", RetryAt(now), TOKEN, delivered=sent) is True
    [again] = desk.store.claim_effects(now, 10, LEASE, OTHER)
    assert again == replace(item, attempts=1, last_error="webhook: HTTP 503", delivered=sent)

    assert desk.store.failed(item.id, "x", RetryAt(now), TOKEN, delivered=frozenset({"webhook"})) is False  # lost
    assert desk.store.failed(item.id, "webhook: HTTP 404", Park("permanent"), OTHER, delivered=sent) is True
    assert [parked.delivered for parked in desk.store.parked()] == [sent]
    assert desk.store.requeue(None, now) == 1
    [requeued] = desk.store.claim_effects(now, 10, LEASE, TOKEN)
    assert requeued.delivered == sent  # requeued: still not sent again to those


def test_a_parked_effect_requeued_is_claimed_under_a_new_token(desk: Desk) -> None:
    item = _claimed(desk)
    now = desk.clock.now()
    desk.store.failed(item.id, "địa chỉ không tồn tại", Park("permanent"), TOKEN)
    assert desk.store.requeue(None, now) == 1

    [again] = desk.store.claim_effects(now, 10, LEASE, OTHER)

    assert again.id == item.id
    assert desk.store.hold(item.id, TOKEN, now + LEASE) is False
    assert desk.store.hold(item.id, OTHER, now + LEASE) is True
