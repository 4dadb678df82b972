"""Timers whose trigger fails, on the memory store, SQLite and PostgreSQL: a failure no lost race explains (here:
data its definition refuses, as after a broken migration; a trigger this worker does not know, as on an old worker
during a deploy) is recorded with the timer — tried again after a growing wait, then parked for an operator —
instead of being handed out again at every lease for ever; the rest of its batch fires; a failed timer holds back
none of its case's later timers; an operator sends a parked one back.

Timers are the contract definition's (:mod:`tests.contract.conftest`): ``open`` arms ``reminder`` (+3 days,
``remind``, data ``level`` text and ``round`` integer), ``start`` arms ``deadline`` (+10 days, ``expire``),
``return_result`` ends the case and cancels both.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from motcua.workflow.engine.decisions import Decision
from motcua.workflow.engine.model import Case, DueTimer
from motcua.workflow.engine.queries import CaseFilter
from motcua.workflow.engine.retry import Park, RetryAt, TimerRetryPolicy
from motcua.workflow.engine.service import CaseService, TimerFailure, failing
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
ONCE = TimerRetryPolicy(max_attempts=1)  # parked at the first failure
POLICY = TimerRetryPolicy()


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


def _service(desk: Desk, policy: TimerRetryPolicy = POLICY) -> CaseService:
    return CaseService(desk.engine, desk.store, timer_retry=policy)


def _parked_all(desk: Desk) -> list[DueTimer]:
    claimed = _reminders(desk)
    _service(desk, ONCE).fire_timers([replace(timer, data=BROKEN) for timer in claimed], desk.store)
    assert len(desk.store.parked_timers(100)) == 3
    return claimed


def test_a_failing_timer_is_tried_again_later_and_the_rest_of_its_batch_fires(desk: Desk) -> None:
    claimed = _reminders(desk)

    fired = _service(desk).fire_timers(_broken(claimed), desk.store)

    assert (fired.fired, fired.stale) == (2, 0)
    [failure] = fired.failed
    assert (failure.timer.case_code, failure.timer.name) == (CODES[1], "reminder")
    assert failure.error.startswith("MalformedData: ") and "round" in failure.error and "một" not in failure.error
    assert failure.settlement == RetryAt(desk.clock.now() + POLICY.base) and not failure.parked
    assert [_fired(desk, code) for code in CODES] == [["remind"], [], ["remind"]]
    [armed] = [timer for timer in desk.store.armed_timers(100) if timer.name == "reminder"]
    assert (armed.attempts, armed.error, armed.claimed_until) == (1, failure.error, desk.clock.now() + POLICY.base)
    assert desk.store.parked_timers(100) == []


def test_a_failing_timer_waits_longer_each_time_then_is_parked(desk: Desk) -> None:
    [_, timer, _] = _reminders(desk)
    service, waits = _service(desk), []
    for attempt in range(1, POLICY.max_attempts + 1):
        failure = service.fire_claimed(replace(timer, data=BROKEN), desk.store)
        assert isinstance(failure, TimerFailure)
        if isinstance(failure.settlement, RetryAt):
            waits.append(failure.settlement.at - desk.clock.now())
            desk.clock.advance(waits[-1])
            [timer] = [t for t in desk.store.claim_due(desk.clock.now(), 100, LEASE) if t.case_code == CODES[1]]
            assert timer.attempts == attempt
    assert waits == [timedelta(minutes=m) for m in (1, 2, 4, 8, 16)]
    assert isinstance(failure.settlement, Park)
    [parked] = desk.store.parked_timers(100)
    assert (parked.case_code, parked.attempts) == (CODES[1], POLICY.max_attempts)
    assert parked.error.startswith("MalformedData: ")


def test_a_parked_timer_is_neither_claimed_nor_armed_nor_counted(desk: Desk) -> None:
    claimed = _reminders(desk)
    _service(desk, ONCE).fire_timers(_broken(claimed), desk.store)

    desk.clock.advance(LEASE * 2)  # its claim would have run out: it would have been handed out again
    assert desk.store.claim_due(desk.clock.now(), 100, LEASE) == []
    assert desk.store.armed_count(desk.clock.now()) == (3, 0)  # the three deadlines, none due
    assert [timer.name for timer in desk.store.armed_timers(100)] == ["deadline"] * 3
    assert [timer.name for timer in desk.store.timers(CODES[1])] == ["deadline"]
    assert desk.store.next_due(desk.clock.now()) == min(timer.due_at for timer in desk.store.armed_timers(100))
    assert desk.store.parked_count() == 1


def test_a_parked_timer_holds_back_none_of_its_cases_later_timers(desk: Desk) -> None:
    claimed = _reminders(desk)
    _service(desk, ONCE).fire_timers(_broken(claimed), desk.store)

    later = desk.claim(8 * DAY)  # the deadlines fall due; the parked reminder is earlier on its case
    assert sorted((timer.case_code, timer.name) for timer in later) == [(code, "deadline") for code in CODES]


def test_a_timer_tried_again_holds_back_its_cases_later_timers_until_it_fires(desk: Desk) -> None:
    claimed = _reminders(desk)
    service = _service(desk)
    service.fire_timers(_broken(claimed), desk.store)

    later = desk.claim(8 * DAY)  # its wait is over: handed out again, before its case's deadline, as ever
    assert sorted((timer.case_code, timer.name) for timer in later) == [
        (CODES[0], "deadline"), (CODES[1], "reminder"), (CODES[2], "deadline")]
    [again] = [timer for timer in later if timer.case_code == CODES[1]]
    assert service.fire_claimed(again, desk.store) is not None  # its stored data was sound all along
    [deadline] = desk.claim(timedelta(seconds=1))
    assert (deadline.case_code, deadline.name) == (CODES[1], "deadline")
    assert _fired(desk, CODES[1]) == ["remind"]  # then the deadline: in due order


def test_a_message_handed_out_again_records_no_failure_twice(desk: Desk) -> None:
    [_, timer, _] = _reminders(desk)
    service = _service(desk)
    first = service.fire_claimed(replace(timer, data=BROKEN), desk.store)
    assert isinstance(first, TimerFailure)
    [armed] = [t for t in desk.store.armed_timers(100) if t.case_code == CODES[1] and t.name == "reminder"]

    desk.clock.advance(timedelta(seconds=30))
    assert service.fire_claimed(replace(timer, data=BROKEN), desk.store) is None  # the same message, redelivered
    assert [t for t in desk.store.armed_timers(100) if t.case_code == CODES[1] and t.name == "reminder"] == [armed]


def test_a_message_handed_out_again_does_not_undo_an_operators_requeue(desk: Desk) -> None:
    [_, timer, _] = _reminders(desk)
    service = _service(desk, TimerRetryPolicy(max_attempts=2))
    assert service.fire_claimed(replace(timer, data=BROKEN), desk.store) is not None
    desk.clock.advance(timedelta(minutes=1))
    [second] = [t for t in desk.store.claim_due(desk.clock.now(), 100, LEASE) if t.case_code == CODES[1]]
    parked = service.fire_claimed(replace(second, data=BROKEN), desk.store)
    assert isinstance(parked, TimerFailure) and parked.parked

    assert desk.store.requeue_timers(None) == 1
    assert service.fire_claimed(replace(second, data=BROKEN), desk.store) is None  # the parking message, again
    assert desk.store.parked_count() == 0


def test_an_operator_sends_a_parked_timer_back_and_it_fires_once(desk: Desk) -> None:
    claimed = _reminders(desk)
    _service(desk, ONCE).fire_timers(_broken(claimed), desk.store)

    assert desk.store.requeue_timers([(CODES[1], "reminder")]) == 1
    assert desk.store.parked_timers(100) == []
    [again] = desk.store.claim_due(desk.clock.now(), 100, LEASE)
    assert (again.case_code, again.name, again.generation, again.attempts) == (
        CODES[1], "reminder", claimed[1].generation, 0)  # its failures forgotten
    assert _service(desk).fire_timers([again], desk.store).fired == 1  # its stored data was sound
    assert _fired(desk, CODES[1]) == ["remind"]
    assert desk.store.requeue_timers([(CODES[1], "reminder")]) == 0  # fired: nothing parked to send back


def test_requeue_names_timers_or_takes_them_all(desk: Desk) -> None:
    _parked_all(desk)

    assert desk.store.requeue_timers([("no-such-case", "reminder"), (CODES[0], "deadline")]) == 0
    assert desk.store.requeue_timers([(CODES[0], "reminder"), (CODES[0], "reminder")]) == 1  # named twice: once
    assert desk.store.requeue_timers(None) == 2
    assert desk.store.requeue_timers(None) == 0
    assert len(desk.store.claim_due(desk.clock.now(), 100, LEASE)) == 3


def test_a_failed_timer_rearmed_or_cancelled_by_its_case_is_sound_again_or_gone(desk: Desk) -> None:
    claimed = _reminders(desk)
    _service(desk).fire_timers([replace(timer, data=BROKEN) for timer in claimed], desk.store)  # all tried again

    desk.fire(CODES[0], "return_result")  # ends the case: cancels its timers, the failed one with them
    assert desk.store.timers(CODES[0]) == []
    assert [t.case_code for t in desk.store.armed_timers(100) if t.name == "reminder"] == CODES[1:]


def test_a_failure_is_recorded_only_on_the_case_as_the_trigger_failed_on_it(desk: Desk) -> None:
    [first, *_] = _reminders(desk)
    seen = desk.store.load(first.case_code).version
    desk.fire(first.case_code, "note", {"text": "ghi chú"})  # the case moves after the worker read it

    assert not desk.store.timer_failed(first, "MalformedData: x", Park("x"), seen)
    assert not desk.store.timer_failed(replace(first, generation=first.generation + 10_000), "x", Park("x"), seen + 1)
    assert not desk.store.timer_failed(replace(first, name="no-such-timer"), "x", Park("x"), seen + 1)
    assert desk.store.parked_timers(100) == []
    assert desk.store.timer_failed(first, "MalformedData: x", Park("x"), seen + 1)
    assert [timer.attempts for timer in desk.store.parked_timers(100)] == [1]


def test_a_timer_its_case_no_longer_allows_is_discarded_whatever_its_data(desk: Desk) -> None:
    code = CODES[0]
    desk.open(code)
    desk.fire(code, "start")
    [reminder] = desk.claim(3 * DAY + timedelta(hours=1))
    assert _service(desk).fire_claimed(reminder, desk.store) is not None
    [deadline] = [timer for timer in desk.claim(7 * DAY) if timer.name == "deadline"]
    assert _service(desk).fire_claimed(deadline, desk.store) is not None  # ``expire``: on_time → overdue
    desk.fire(code, "extend", {"days": 2})  # arms the deadline again; ``expire`` has no transition from overdue
    [again] = [timer for timer in desk.claim(3 * DAY) if timer.name == "deadline"]

    outcome = _service(desk, ONCE).fire_claimed(replace(again, data={"kind": 5}), desk.store)  # data refused too

    assert outcome is None  # discarded, as a timer its case no longer allows always was: not parked for ever
    assert desk.store.parked_timers(100) == [] and "deadline" not in [t.name for t in desk.store.timers(code)]


def test_the_parked_list_is_scoped_like_every_list(desk: Desk) -> None:
    _parked_all(desk)
    desk.fire(CODES[0], "return_result")  # its parked reminder is cancelled with the case

    processing = CaseFilter(lifecycle="processing")
    assert [t.case_code for t in desk.store.parked_timers(100, processing)] == CODES[1:]
    assert desk.store.parked_count(processing) == 2
    assert desk.store.parked_timers(100, CaseFilter(lifecycle="returned")) == []
    assert desk.store.parked_count(CaseFilter(units=frozenset())) == 0
    assert [t.case_code for t in desk.store.parked_timers(1)] == [CODES[1]]  # the first by due instant, then code


def test_a_lone_timer_whose_trigger_this_worker_does_not_know_is_tried_again(desk: Desk) -> None:
    [first, *_] = _reminders(desk)
    outcome = _service(desk).fire_claimed(replace(first, trigger="no_such_trigger"), desk.store)

    assert isinstance(outcome, TimerFailure) and outcome.error.startswith("UnknownTrigger: ")
    assert isinstance(outcome.settlement, RetryAt)  # a worker of an older release, say: a newer one will know it
    assert [t.trigger for t in desk.store.armed_timers(100) if t.attempts] == ["remind"]  # the row as it was armed


def test_an_action_that_raises_is_the_timers_failure_not_its_batchs(
    desk: Desk, monkeypatch: pytest.MonkeyPatch,
) -> None:
    claimed = _reminders(desk)
    fire = desk.engine.fire

    def buggy(case: Case, trigger: str, *args: object, **kwargs: object) -> object:
        if case.code == CODES[1]:
            raise KeyError("dữ liệu cá nhân")  # a bug; its message may quote anything
        return fire(case, trigger, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(desk.engine, "fire", buggy)
    fired = _service(desk).fire_timers(claimed, desk.store)

    assert fired.fired == 2
    [failure] = fired.failed
    assert failure.error == "ActionFailed: an action or a guard of 'remind' raised KeyError"  # the type only


def test_a_decision_the_store_refuses_to_write_is_the_timers_failure_not_handed_out_for_ever(
    desk: Desk, monkeypatch: pytest.MonkeyPatch,
) -> None:
    claimed = _reminders(desk)
    commit, commit_each = desk.store.commit, desk.store.commit_each

    def refusing(decision: Decision, *then: Decision) -> None:
        if decision.case.code == CODES[1]:  # a constraint of this database refuses this one case's row
            raise StorageFailure('new row for relation "case" violates check constraint "case_local"')
        commit(decision, *then)

    def refusing_all(*args: object, **kwargs: object) -> object:
        raise StorageFailure('new row for relation "case" violates check constraint "case_local"')

    monkeypatch.setattr(desk.store, "commit", refusing)
    monkeypatch.setattr(desk.store, "commit_each", refusing_all)  # the batch's transaction refused: each alone
    heard: list[tuple[str, str]] = []
    service = CaseService(desk.engine, desk.store, [Heard(heard)], timer_retry=POLICY)

    fired = service.fire_timers(claimed, desk.store)

    assert fired.fired == 2
    [failure] = fired.failed
    assert (failure.timer.case_code, failure.settlement) == (CODES[1], RetryAt(desk.clock.now() + POLICY.base))
    assert failure.error.startswith("StorageFailure: storage failure: new row")
    assert heard == [(CODES[1], "remind")]  # told once, not once by the commit and again by the failure
    monkeypatch.setattr(desk.store, "commit_each", commit_each)
    [armed] = [timer for timer in desk.store.armed_timers(100) if timer.name == "reminder"]
    assert (armed.case_code, armed.attempts) == (CODES[1], 1)  # waits, then is parked: not claimed at every lease


class Heard:
    """An observer that notes the refusals it hears of."""

    def __init__(self, heard: list[tuple[str, str]]) -> None:
        self.heard = heard

    def committed(self, decision: Decision) -> None:
        """Nothing to note."""

    def rejected(self, code: str, trigger: str, error: Exception) -> None:
        self.heard.append((code, trigger))


def test_a_timer_that_fires_is_returned_as_its_case(desk: Desk) -> None:
    [first, *_] = _reminders(desk)
    outcome = _service(desk).fire_claimed(first, desk.store)
    assert isinstance(outcome, Case) and outcome.code == first.case_code
    assert desk.store.parked_timers(100) == []


@pytest.mark.parametrize("error", [
    MalformedData("remind", {"round": "not an integer"}), UnknownTrigger("x", "ho-so-thu"), KeyError("x"),
])
def test_failures_of_the_timer_itself(error: Exception) -> None:
    assert failing(error)


@pytest.mark.parametrize("error", [
    ConcurrencyConflict("x", 1), StorageUnavailable("down"), StorageFailure("disk full"),
])
def test_a_lost_race_or_a_store_failing_is_the_messages_to_retry(error: Exception) -> None:
    assert not failing(error)
