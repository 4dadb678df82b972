"""Parked timers, on the memory store, SQLite and PostgreSQL: a timer whose trigger fails for a reason no retry
cures (here: data its definition refuses, as after a broken migration or deploy) is set aside with the reason,
instead of being handed out again at every lease for ever; the rest of its batch fires; an operator sends it back.

Timers are the contract definition's (:mod:`tests.contract.conftest`): ``open`` arms ``reminder`` (+3 days,
``remind``, data ``level`` text and ``round`` integer), ``start`` arms ``deadline`` (+10 days, ``expire``),
``return_result`` ends the case and cancels both.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from motcua.workflow.engine.model import Case, DueTimer, ParkedTimer
from motcua.workflow.engine.queries import CaseFilter
from motcua.workflow.engine.service import CaseService, incurable
from motcua.workflow.errors import (
    ConcurrencyConflict,
    MalformedData,
    StorageFailure,
    StorageUnavailable,
    UnknownTrigger,
)
from tests.contract.conftest import LEASE, Desk

DAY = timedelta(days=1)
CODES = [f"000.00.12.H01-250303-{n:04d}" for n in range(3)]
BROKEN = {"level": "nhắc", "round": "một"}  # ``round`` is an integer in the definition


def _reminders(desk: Desk) -> list[DueTimer]:
    """Every case opened and started; their reminders claimed, all due at once."""
    for code in CODES:
        desk.open(code)
        desk.fire(code, "start")
    claimed = desk.claim(3 * DAY + timedelta(hours=1))
    assert [timer.case_code for timer in claimed] == CODES
    return claimed


def _broken(timers: list[DueTimer], n: int = 1) -> list[DueTimer]:
    return [replace(timer, data=BROKEN) if i == n else timer for i, timer in enumerate(timers)]


def _fired(desk: Desk, code: str) -> list[str]:
    return [entry.trigger for entry in desk.store.history(code) if entry.actor == "motcua"]


def test_a_timer_failing_for_good_is_parked_with_its_reason_and_the_rest_of_its_batch_fires(desk: Desk) -> None:
    claimed = _reminders(desk)

    fired = CaseService(desk.engine, desk.store).fire_timers(_broken(claimed), desk.store)

    assert (fired.fired, fired.stale) == (2, 0)
    [parked] = fired.parked
    assert (parked.case_code, parked.name, parked.trigger) == (CODES[1], "reminder", "remind")
    assert parked.error.startswith("MalformedData: ") and "round" in parked.error
    assert desk.store.parked_timers() == [parked]
    assert [_fired(desk, code) for code in CODES] == [["remind"], [], ["remind"]]


def test_a_parked_timer_is_neither_claimed_nor_armed_nor_counted(desk: Desk) -> None:
    claimed = _reminders(desk)
    CaseService(desk.engine, desk.store).fire_timers(_broken(claimed), desk.store)

    desk.clock.advance(LEASE * 2)  # its claim would have run out: it would have been handed out again
    assert desk.store.claim_due(desk.clock.now(), 100, LEASE) == []
    assert desk.store.armed_count(desk.clock.now()) == (3, 0)  # the three deadlines, none due
    assert [timer.name for timer in desk.store.armed_timers(100)] == ["deadline"] * 3
    assert [timer.name for timer in desk.store.timers(CODES[1])] == ["deadline"]
    assert desk.store.next_due(desk.clock.now()) == min(timer.due_at for timer in desk.store.armed_timers(100))


def test_a_parked_timer_holds_back_none_of_its_cases_later_timers(desk: Desk) -> None:
    claimed = _reminders(desk)
    CaseService(desk.engine, desk.store).fire_timers(_broken(claimed), desk.store)

    later = desk.claim(8 * DAY)  # the deadlines fall due; the parked reminder is earlier on its case
    assert sorted((timer.case_code, timer.name) for timer in later) == [(code, "deadline") for code in CODES]


def test_an_operator_sends_a_parked_timer_back_and_it_fires_once(desk: Desk) -> None:
    claimed = _reminders(desk)
    service = CaseService(desk.engine, desk.store)
    service.fire_timers(_broken(claimed), desk.store)

    assert desk.store.requeue_timers([(CODES[1], "reminder")]) == 1
    assert desk.store.parked_timers() == []
    [again] = desk.store.claim_due(desk.clock.now(), 100, LEASE)
    assert (again.case_code, again.name, again.generation) == (CODES[1], "reminder", claimed[1].generation)
    assert service.fire_timers([again], desk.store).fired == 1  # its stored data was sound: the fault was fixed
    assert _fired(desk, CODES[1]) == ["remind"]
    assert desk.store.requeue_timers([(CODES[1], "reminder")]) == 0  # fired: nothing parked to send back


def test_requeue_names_timers_or_takes_them_all(desk: Desk) -> None:
    claimed = _reminders(desk)
    CaseService(desk.engine, desk.store).fire_timers([replace(timer, data=BROKEN) for timer in claimed], desk.store)
    assert len(desk.store.parked_timers()) == 3

    assert desk.store.requeue_timers([("no-such-case", "reminder"), (CODES[0], "deadline")]) == 0
    assert desk.store.requeue_timers([(CODES[0], "reminder"), (CODES[0], "reminder")]) == 1  # named twice: once
    assert desk.store.requeue_timers(None) == 2
    assert desk.store.requeue_timers(None) == 0
    assert len(desk.store.claim_due(desk.clock.now(), 100, LEASE)) == 3


def test_a_parked_timer_cancelled_or_rearmed_by_its_case_leaves_the_parked_list(desk: Desk) -> None:
    claimed = _reminders(desk)
    CaseService(desk.engine, desk.store).fire_timers([replace(timer, data=BROKEN) for timer in claimed], desk.store)

    desk.fire(CODES[0], "return_result")  # ends the case: cancels its timers, the parked one with them
    assert [timer.case_code for timer in desk.store.parked_timers()] == CODES[1:]
    assert desk.store.timers(CODES[0]) == []


def test_only_the_generation_claimed_is_parked(desk: Desk) -> None:
    [first, *_] = _reminders(desk)
    assert not desk.store.park(replace(first, generation=first.generation + 10_000), "MalformedData: x")
    assert not desk.store.park(replace(first, name="no-such-timer"), "MalformedData: x")
    assert desk.store.parked_timers() == []
    assert desk.store.park(first, "MalformedData: x")


def test_the_parked_list_is_scoped_like_every_list(desk: Desk) -> None:
    claimed = _reminders(desk)
    CaseService(desk.engine, desk.store).fire_timers([replace(timer, data=BROKEN) for timer in claimed], desk.store)
    desk.fire(CODES[2], "extend", {"days": 5})  # moves the case, not its parked reminder

    ended = desk.fire(CODES[0], "return_result")  # its parked reminder is cancelled with the case
    assert ended.case.code == CODES[0]
    assert [t.case_code for t in desk.store.parked_timers(CaseFilter(lifecycle="processing"))] == CODES[1:]
    assert desk.store.parked_timers(CaseFilter(lifecycle="returned")) == []
    assert desk.store.parked_timers(CaseFilter(units=frozenset())) == []


def test_a_lone_timer_failing_for_good_is_parked_too(desk: Desk) -> None:
    [first, *_] = _reminders(desk)
    outcome = CaseService(desk.engine, desk.store).fire_or_park(replace(first, trigger="no_such_trigger"), desk.store)

    assert isinstance(outcome, ParkedTimer) and outcome.error.startswith("UnknownTrigger: ")
    assert [timer.trigger for timer in desk.store.parked_timers()] == ["remind"]  # the row is as it was armed


def test_a_timer_that_fires_is_returned_as_its_case(desk: Desk) -> None:
    [first, *_] = _reminders(desk)
    outcome = CaseService(desk.engine, desk.store).fire_or_park(first, desk.store)
    assert isinstance(outcome, Case) and outcome.code == first.case_code
    assert desk.store.parked_timers() == []


@pytest.mark.parametrize("error", [
    MalformedData("remind", {"round": "not an integer"}), UnknownTrigger("x", "ho-so-thu"),
])
def test_incurable_errors_are_the_timers_own(error: MalformedData | UnknownTrigger) -> None:
    assert incurable(error)


@pytest.mark.parametrize("error", [
    ConcurrencyConflict("x", 1), StorageUnavailable("down"), StorageFailure("disk full"),
])
def test_a_lost_race_or_a_store_failing_is_retried_not_parked(
    error: ConcurrencyConflict | StorageUnavailable | StorageFailure,
) -> None:
    assert not incurable(error)
