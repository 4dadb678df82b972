"""The contract of :class:`motcua.workflow.engine.ports.TimerQueue` and :class:`motcua.workflow.engine.ports.Outbox`,
and of
``commit`` consuming a timer, run on the memory store, SQLite and PostgreSQL.

Timers are armed and fired by the real engine: ``open`` arms ``reminder`` (+3 days, trigger
``remind``, allowed again and again), ``start`` arms ``deadline`` (+10 days, ``expire``),
``extend`` re-arms ``deadline``, ``return_result`` cancels both. A timer is fired the worker's way:
the decision of its trigger on the case as stored, ``consumes`` the claimed timer.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from motcua.workers.dispatcher import NextDue
from motcua.workflow.engine.model import DueTimer, OutboxItem, SetTimer
from motcua.workflow.engine.ports import Storage
from motcua.workflow.engine.queries import CaseFilter
from motcua.workflow.engine.retry import Park, RetryAt
from motcua.workflow.errors import ConcurrencyConflict, StaleTimer
from tests.contract.conftest import LEASE, START, Desk, snapshot

CODE = "000.00.12.H01-250303-0007"
DAY = timedelta(days=1)


def _names(timers: list[DueTimer]) -> list[tuple[str, str]]:
    return [(timer.case_code, timer.name) for timer in timers]


def _armed_by(desk: Desk, code: str, sequence: int) -> int:
    """The global position of a case's ``sequence``-th entry: the generation of what it armed."""
    position = desk.store.history(code)[sequence - 1].position
    assert position is not None
    return position


def _deadline(desk: Desk, after: timedelta, lease: timedelta | None = None) -> DueTimer:
    """Claim the case's deadline. Its earlier reminder is claimed and fired first: a case's timers are
    handed out one at a time, in due order, so an escalation can never overtake its overdue mark."""
    options = {} if lease is None else {"lease": lease}
    [reminder] = desk.claim(after, **options)
    assert reminder.name == "reminder"
    desk.store.commit(desk.consume(reminder))
    [deadline] = desk.claim(timedelta(0), **options)
    assert deadline.name == "deadline"
    return deadline


# -- consuming a timer ------------------------------------------------------------------------------


def test_a_claimed_timer_carries_what_armed_it(desk: Desk) -> None:
    desk.open("another-case")  # positions are global: the second case's first entry is not 1
    opened = desk.open(CODE)

    [reminder, other] = desk.claim(3 * DAY)  # due at the same instant: by case code

    assert reminder == DueTimer(CODE, "reminder", "remind", START + 3 * DAY, {"level": "nhắc", "round": 1},
                                generation=_armed_by(desk, CODE, 1))
    assert isinstance(opened.timers[0], SetTimer) and reminder.due_at == opened.timers[0].due_at
    assert other.generation != reminder.generation


def test_consuming_a_timer_writes_the_entry_and_removes_the_timer(desk: Desk) -> None:
    desk.open(CODE)
    started = desk.fire(CODE, "start")
    [reminder] = desk.claim(3 * DAY)

    fired = desk.consume(reminder)
    desk.store.commit(fired)

    assert desk.store.load(CODE) == fired.case
    assert [replace(entry, position=None) for entry in desk.store.history(CODE)][-1] == fired.entry
    assert fired.entry.trigger == "remind" and fired.entry.actor == "motcua"
    assert list(desk.store.timers(CODE)) == list(started.timers)  # the deadline only
    assert desk.store.armed_count(desk.clock.now()) == (1, 0)


def test_consuming_a_timer_rearmed_since_its_claim_is_stale_and_writes_nothing(desk: Desk) -> None:
    desk.open(CODE)
    desk.fire(CODE, "start")
    deadline = _deadline(desk, 10 * DAY)
    desk.fire(CODE, "extend", {"days": 2})  # re-armed while its message was on the way
    before = snapshot(desk.store, CODE)

    with pytest.raises(StaleTimer) as caught:
        desk.store.commit(desk.consume(deadline))

    assert (caught.value.code, caught.value.name, caught.value.generation) == (CODE, "deadline", deadline.generation)
    assert snapshot(desk.store, CODE) == before
    [rearmed] = [timer for timer in desk.claim(2 * DAY) if timer.name == "deadline"]
    assert rearmed.generation == _armed_by(desk, CODE, 4) != deadline.generation


def test_consuming_a_timer_twice_is_stale_the_second_time(desk: Desk) -> None:
    desk.open(CODE)
    [reminder] = desk.claim(3 * DAY)
    desk.store.commit(desk.consume(reminder))
    duplicate = desk.consume(reminder)  # the broker delivered the message again: decided on the new version
    before = snapshot(desk.store, CODE)

    with pytest.raises(StaleTimer):
        desk.store.commit(duplicate)

    assert snapshot(desk.store, CODE) == before
    assert [entry.trigger for entry in before.history] == ["open", "remind"]


def test_consuming_a_cancelled_timer_is_stale(desk: Desk) -> None:
    desk.open(CODE)
    desk.fire(CODE, "start")
    deadline = _deadline(desk, 10 * DAY)
    desk.fire(CODE, "return_result")  # cancels both timers
    before = snapshot(desk.store, CODE)

    with pytest.raises(StaleTimer):
        desk.store.commit(desk.consume(deadline))

    assert snapshot(desk.store, CODE) == before


def test_a_lost_race_while_consuming_leaves_the_timer_armed(desk: Desk) -> None:
    desk.open(CODE)
    [reminder] = desk.claim(3 * DAY)
    late = desk.consume(reminder)
    desk.fire(CODE, "start")  # an officer got there first

    with pytest.raises(ConcurrencyConflict):
        desk.store.commit(late)

    assert [timer.name for timer in desk.store.timers(CODE)] == ["deadline", "reminder"]
    desk.store.commit(desk.consume(reminder))  # the retry, decided again, fires it
    assert [timer.name for timer in desk.store.timers(CODE)] == ["deadline"]


# -- claims -----------------------------------------------------------------------------------------


def test_claims_are_oldest_first_and_limited(desk: Desk) -> None:
    for code in ("c-3", "c-1"):  # armed at the same instant: the tie goes by case code
        desk.open(code)
    desk.clock.advance(timedelta(hours=1))
    desk.open("c-2")
    desk.clock.advance(timedelta(hours=1))
    desk.open("c-0")
    desk.fire("c-0", "start")  # its deadline is due long after

    first = desk.claim(3 * DAY - timedelta(minutes=30), limit=2, lease=DAY)
    second = desk.store.claim_due(desk.clock.now(), 2, DAY)
    third = desk.store.claim_due(desk.clock.now(), 2, DAY)

    assert _names(first) == [("c-1", "reminder"), ("c-3", "reminder")]
    assert _names(second) == [("c-2", "reminder")]  # c-0's reminder is due an hour later
    assert third == []
    assert [timer.due_at for timer in first + second] == sorted(timer.due_at for timer in first + second)
    later = desk.claim(timedelta(hours=1))
    assert _names(later) == [("c-0", "reminder")]


def test_a_claim_holds_for_its_lease_then_lapses(desk: Desk) -> None:
    desk.open(CODE)
    [claimed] = desk.claim(3 * DAY, lease=LEASE)

    assert desk.claim(timedelta(0)) == []
    assert desk.claim(LEASE - timedelta(microseconds=1)) == []  # still held
    assert desk.claim(timedelta(microseconds=1)) == [claimed]  # the message was lost: claimed again
    assert desk.claim(timedelta(0)) == []


def test_a_timer_not_yet_due_is_not_claimed(desk: Desk) -> None:
    desk.open(CODE)

    assert desk.claim(3 * DAY - timedelta(microseconds=1)) == []
    assert _names(desk.claim(timedelta(microseconds=1))) == [(CODE, "reminder")]


def test_rearming_a_claimed_timer_frees_it_for_the_next_claim(desk: Desk) -> None:
    desk.open(CODE)
    desk.fire(CODE, "start")
    deadline = _deadline(desk, 10 * DAY, lease=DAY)

    desk.fire(CODE, "extend", {"days": 0})  # due at once, under a new generation

    [rearmed] = desk.claim(timedelta(0))
    assert (rearmed.name, rearmed.generation) == ("deadline", _armed_by(desk, CODE, 4))
    assert rearmed.generation != deadline.generation


def test_discard_removes_only_the_same_generation(desk: Desk) -> None:
    desk.open(CODE)
    desk.fire(CODE, "start")
    deadline = _deadline(desk, 10 * DAY)
    desk.fire(CODE, "extend", {"days": 5})

    assert desk.store.discard(deadline) is False
    assert [timer.name for timer in desk.store.timers(CODE)] == ["deadline"]
    current = replace(deadline, generation=_armed_by(desk, CODE, 4))
    assert desk.store.discard(current) is True
    assert [timer.name for timer in desk.store.timers(CODE)] == []
    assert desk.store.discard(current) is False


def test_discard_given_the_version_seen_removes_only_while_the_case_is_still_at_it(desk: Desk) -> None:
    desk.open(CODE)
    desk.fire(CODE, "start")
    deadline = _deadline(desk, 10 * DAY)
    seen = desk.store.load(CODE).version
    desk.fire(CODE, "note", {"text": "đã gọi điện"})  # the case moved: it might allow the trigger again

    assert desk.store.discard(deadline, seen) is False  # kept, claimed: judged again on its next claim
    assert [timer.name for timer in desk.store.timers(CODE)] == ["deadline"]
    assert desk.store.discard(deadline, seen + 1) is True  # at the version that refused it: gone
    assert [timer.name for timer in desk.store.timers(CODE)] == []


def test_armed_count_counts_claimed_timers_too(desk: Desk) -> None:
    desk.open("c-1")
    desk.open("c-2")
    desk.fire("c-2", "start")
    assert desk.store.armed_count(desk.clock.now()) == (3, 0)

    desk.claim(4 * DAY)

    assert desk.store.armed_count(desk.clock.now()) == (3, 2)
    assert desk.store.armed_count(desk.clock.now() + 10 * DAY) == (3, 3)


def test_next_due_is_the_earliest_armed_timer_strictly_after_the_instant(desk: Desk) -> None:
    store = desk.store
    assert isinstance(store, NextDue)  # what the dispatcher sleeps until
    assert store.next_due(desk.clock.now()) is None
    desk.open(CODE)
    desk.fire(CODE, "start")
    reminder, deadline = sorted(timer.due_at for timer in store.timers(CODE))

    assert store.next_due(desk.clock.now()) == reminder
    desk.claim(3 * DAY)  # the reminder, claimed: due now, so no longer after now
    assert store.next_due(reminder - timedelta(microseconds=1)) == reminder
    assert store.next_due(reminder) == deadline
    assert store.next_due(deadline) is None


def test_the_timer_table_lists_armed_timers_by_due_instant_with_their_claims(desk: Desk) -> None:
    desk.open("c-2")
    desk.open("c-1")
    desk.fire("c-2", "start")
    [first, second] = desk.claim(4 * DAY, lease=DAY)  # both reminders, due at the same instant: by case code

    table = desk.store.armed_timers(10)

    assert [(t.case_code, t.name, t.trigger) for t in table] == [
        ("c-1", "reminder", "remind"), ("c-2", "reminder", "remind"), ("c-2", "deadline", "expire")]
    assert [t.due_at for t in table[:2]] == [first.due_at, second.due_at]
    claimed_until = desk.clock.now() + DAY  # claimed now, after four days, for a day
    assert [t.claimed_until for t in table] == [claimed_until, claimed_until, None]
    assert desk.store.armed_timers(1) == table[:1] and desk.store.armed_timers(0) == []


def test_the_counts_and_the_table_of_the_cases_a_filter_selects(desk: Desk) -> None:
    for code in ("c-1", "c-2", "c-3"):
        desk.open(code)  # each arms its reminder and enqueues its notice
    desk.fire("c-2", "start")  # c-2 alone is processing: its deadline armed, its portal_sync enqueued
    desk.claim(4 * DAY, lease=DAY)  # the three reminders are due, and claimed
    now, processing = desk.clock.now(), CaseFilter(lifecycle="processing")

    table = desk.store.armed_timers(10)
    scoped = desk.store.armed_timers(10, processing)

    assert scoped == [timer for timer in table if timer.case_code == "c-2"]
    assert [timer.name for timer in scoped] == ["reminder", "deadline"]
    assert desk.store.armed_timers(1, processing) == scoped[:1]
    assert (desk.store.armed_count(now), desk.store.armed_count(now, processing)) == ((4, 3), (2, 1))
    assert (desk.store.backlog(), desk.store.backlog(processing)) == (4, 2)
    nothing = CaseFilter(lifecycle="returned")
    assert (desk.store.armed_timers(10, nothing), desk.store.armed_count(now, nothing),
            desk.store.backlog(nothing)) == ([], (0, 0), 0)


# -- the outbox -------------------------------------------------------------------------------------


def _opened_with_effects(desk: Desk) -> list[OutboxItem]:
    """Three pending effects: notify (open), portal_sync (start), noted (note); all due now."""
    desk.open(CODE)
    desk.fire(CODE, "start")
    desk.fire(CODE, "note")
    return desk.store.claim_effects(desk.clock.now(), 10, LEASE)


def test_claim_effects_hands_out_pending_effects_in_order_for_a_lease(desk: Desk) -> None:
    desk.open(CODE)
    desk.fire(CODE, "start")
    now = desk.clock.now()

    first = desk.store.claim_effects(now, 1, LEASE)
    rest = desk.store.claim_effects(now, 10, LEASE)

    [notify] = first
    assert (notify.case_code, notify.kind, notify.payload["text"]) == (CODE, "notify", "Hồ sơ đã được tiếp nhận")
    assert (notify.attempts, notify.status, notify.next_attempt_at, notify.last_error) == (0, "pending", START, None)
    assert [item.kind for item in rest] == ["portal_sync"]
    assert notify.id < rest[0].id
    assert desk.store.claim_effects(now + LEASE - timedelta(microseconds=1), 10, LEASE) == []
    assert desk.store.claim_effects(now + LEASE, 10, LEASE) == first + rest  # the relay died: claimed again


def test_an_effect_is_not_claimed_before_its_decision(desk: Desk) -> None:
    desk.open(CODE)

    assert desk.store.claim_effects(START - timedelta(microseconds=1), 10, LEASE) == []
    assert len(desk.store.claim_effects(START, 10, LEASE)) == 1


def test_a_delivered_effect_is_kept_but_never_claimed_again(desk: Desk) -> None:
    items = _opened_with_effects(desk)

    desk.store.delivered(items[0].id, desk.clock.now())

    later = desk.clock.now() + LEASE
    assert [item.id for item in desk.store.claim_effects(later, 10, LEASE)] == [item.id for item in items[1:]]
    assert [effect.kind for effect in desk.store.effects(CODE)] == ["notify", "portal_sync", "noted"]
    assert desk.store.parked() == []


def test_a_claimed_effect_carries_the_instant_it_was_written(desk: Desk) -> None:
    """What makes an e-mail's Message-ID differ from another database's effect of the same id (stable: read again)."""
    written = desk.clock.now()
    [notify, *_] = _opened_with_effects(desk)

    assert notify.created_at == written
    desk.store.failed(notify.id, "máy chủ không trả lời", RetryAt(written))
    [again] = [item for item in desk.store.claim_effects(written + LEASE, 10, LEASE) if item.id == notify.id]
    assert again.created_at == written


def test_a_failed_effect_is_retried_at_the_settled_instant(desk: Desk) -> None:
    [notify, *_] = _opened_with_effects(desk)
    retry_at = desk.clock.now() + timedelta(seconds=10)  # sooner than the lease: failing frees the claim

    desk.store.failed(notify.id, "máy chủ không trả lời", RetryAt(retry_at))

    assert desk.store.claim_effects(retry_at - timedelta(microseconds=1), 10, LEASE) == []
    [again] = desk.store.claim_effects(retry_at, 10, LEASE)
    assert again == replace(notify, attempts=1, next_attempt_at=retry_at, last_error="máy chủ không trả lời")
    desk.store.delivered(again.id, retry_at)
    others = desk.store.claim_effects(retry_at + LEASE, 10, LEASE)  # the first claim of the others lapsed
    assert [item.kind for item in others] == ["portal_sync", "noted"]


def test_a_parked_effect_is_listed_until_requeued(desk: Desk) -> None:
    notify, portal_sync, noted = _opened_with_effects(desk)
    desk.store.failed(notify.id, "địa chỉ không tồn tại", Park("the failure is permanent"))
    retried_at = desk.clock.now()
    desk.store.failed(portal_sync.id, "hết lần thử", RetryAt(retried_at))
    desk.store.failed(portal_sync.id, "hết lần thử", Park("failed 2 times"))
    later = retried_at + LEASE

    parked = desk.store.parked()

    assert desk.store.backlog() == 1  # noted: the parked ones wait for an operator, not for delivery
    assert parked == [
        replace(notify, attempts=1, status="parked", last_error="địa chỉ không tồn tại"),
        replace(portal_sync, attempts=2, status="parked", next_attempt_at=retried_at, last_error="hết lần thử"),
    ]
    assert [item.id for item in desk.store.claim_effects(later, 10, LEASE)] == [noted.id]

    assert desk.store.requeue([portal_sync.id, noted.id], later) == 1  # noted is not parked
    [requeued] = desk.store.claim_effects(later, 10, LEASE)
    assert requeued == replace(portal_sync, attempts=0, status="pending", next_attempt_at=later,
                               last_error="hết lần thử")  # its failures forgotten, the last kept
    assert [item.id for item in desk.store.parked()] == [notify.id]
    assert desk.store.backlog() == 2  # portal_sync requeued, noted
    assert desk.store.requeue(None, later) == 1
    assert desk.store.requeue(None, later) == 0
    assert desk.store.parked() == []


def test_the_parked_effects_of_the_cases_a_filter_selects(desk: Desk) -> None:
    desk.open("c-1")
    desk.open("c-2")
    desk.fire("c-2", "start")  # c-2 alone is processing
    far = desk.clock.now() + 365 * DAY
    for item in desk.store.claim_effects(far, 10, LEASE):  # the two notices and c-2's portal_sync, parked
        desk.store.failed(item.id, "hết lần thử", Park("failed for good"))

    every, processing = desk.store.parked(), desk.store.parked(CaseFilter(lifecycle="processing"))

    assert [item.case_code for item in every] == ["c-1", "c-2", "c-2"]
    assert processing == [item for item in every if item.case_code == "c-2"]
    assert desk.store.parked(CaseFilter(lifecycle="returned")) == []


def test_effects_of_an_empty_store(store: Storage) -> None:
    now = START + DAY
    assert store.claim_effects(now, 10, LEASE) == []
    assert store.claim_due(now, 10, LEASE) == []
    assert store.armed_count(now) == (0, 0)
    assert store.parked() == []
    assert store.requeue(None, now) == 0


def test_a_case_timers_are_handed_out_one_at_a_time_in_due_order(desk: Desk) -> None:
    desk.open(CODE)
    desk.fire(CODE, "start")
    desk.open("c-other")

    first = desk.claim(11 * DAY, lease=DAY)  # both of CODE's timers are due; only its reminder goes
    assert set(_names(first)) == {("c-other", "reminder"), (CODE, "reminder")}
    assert desk.store.claim_due(desk.clock.now(), 10, DAY) == []

    reminder = next(timer for timer in first if timer.case_code == CODE)
    desk.store.commit(desk.consume(reminder))
    assert _names(desk.store.claim_due(desk.clock.now(), 10, DAY)) == [(CODE, "deadline")]
