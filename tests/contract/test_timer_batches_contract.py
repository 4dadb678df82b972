"""The contract of a batch of timers fired together, run on the memory store, SQLite and PostgreSQL.

:meth:`~motcua.workflow.engine.ports.CaseStore.commit_each` writes the units whose lone commit would succeed and
refuses the others, untouched, with the error that commit would raise; :meth:`CaseService.fire_timers` fires a
claimed batch that way and fires a refused case again alone: a conflict on one case, a timer cancelled meanwhile,
a case ended meanwhile never lose or double the others. :meth:`~motcua.workflow.engine.ports.Outbox.hold_many` and
:meth:`~motcua.workflow.engine.ports.Outbox.delivered_many` hold and settle a batch of effects in one transaction.

Timers are the contract definition's (:mod:`tests.contract.conftest`): ``open`` arms ``reminder`` (+3 days,
``remind``), ``start`` arms ``deadline``, ``return_result`` ends the case and cancels both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta

import pytest

from motcua.workflow.engine.batches import MAX_UNITS
from motcua.workflow.engine.decisions import Decision
from motcua.workflow.engine.model import SYSTEM_ACTOR, Case, DueTimer
from motcua.workflow.engine.ports import Claim
from motcua.workflow.engine.service import CaseService
from motcua.workflow.errors import CaseNotFound, ConcurrencyConflict, InvalidInput, StaleTimer
from tests.contract.conftest import LEASE, Desk, snapshot

DAY = timedelta(days=1)
CODES = [f"000.00.12.H01-250303-{n:04d}" for n in range(4)]


def _opened(desk: Desk) -> list[DueTimer]:
    """Open every case and claim their reminders, all due at the same instant."""
    for code in CODES:
        desk.open(code)
        desk.fire(code, "start")
    claimed = desk.claim(3 * DAY + timedelta(hours=1))
    assert sorted(timer.case_code for timer in claimed) == CODES
    return claimed


def _fired_by_system(desk: Desk, code: str) -> list[str]:
    return [entry.trigger for entry in desk.store.history(code) if entry.actor == "motcua"]


def _service(desk: Desk) -> CaseService:
    return CaseService(desk.engine, desk.store)


def test_a_batch_commits_every_unit_whose_lone_commit_would(desk: Desk) -> None:
    claimed = _opened(desk)
    units = [[desk.consume(timer)] for timer in claimed]

    assert desk.store.commit_each(units).refused == [None] * len(CODES)

    for [decision] in units:
        code = decision.case.code
        assert desk.store.load(code) == decision.case
        assert [replace(entry, position=None) for entry in desk.store.history(code)][-1] == decision.entry
        assert [timer.name for timer in desk.store.timers(code)] == ["deadline"]
    assert desk.store.claim_due(desk.clock.now(), 100, LEASE) == []


def _two_timers(desk: Desk, code: str) -> tuple[Decision, Decision]:
    """The case's reminder and deadline fired in a chain, each decision consuming its own timer."""
    [reminder] = [timer for timer in desk.claim(3 * DAY + timedelta(hours=1)) if timer.case_code == code]
    [armed] = [timer for timer in desk.store.timers(code) if timer.name == "deadline"]
    started = desk.store.history(code)[1].position
    assert started is not None
    deadline = DueTimer(code, armed.name, armed.trigger, armed.due_at, dict(armed.data), generation=started)
    first = desk.consume(reminder)
    second = desk.engine.fire(first.case, deadline.trigger, SYSTEM_ACTOR, deadline.data)
    return first, replace(second, consumes=deadline)


def test_a_unit_fires_several_timers_of_one_case_each_consuming_its_own(desk: Desk) -> None:
    code = CODES[0]
    desk.open(code)
    desk.fire(code, "start")
    first, second = _two_timers(desk, code)

    assert desk.store.commit_each([[first, second]]).refused == [None]

    assert desk.store.load(code) == second.case
    assert _fired_by_system(desk, code) == ["remind", "expire"]
    assert list(desk.store.timers(code)) == []
    with pytest.raises(ValueError, match="only the first"):  # a lone commit still consumes one timer only
        desk.store.commit(first, second)


def test_a_unit_with_one_stale_timer_writes_none_of_its_decisions(desk: Desk) -> None:
    code = CODES[0]
    desk.open(code)
    desk.fire(code, "start")
    first, second = _two_timers(desk, code)
    assert second.consumes is not None
    desk.store.discard(second.consumes)  # the deadline is gone: the whole unit is refused, the reminder stays
    before = snapshot(desk.store, code)

    [refusal] = desk.store.commit_each([[first, second]]).refused

    assert isinstance(refusal, StaleTimer) and refusal.name == "deadline"
    assert snapshot(desk.store, code) == before


def test_a_conflict_on_one_case_refuses_that_case_alone(desk: Desk) -> None:
    claimed = _opened(desk)
    units = [[desk.consume(timer)] for timer in claimed]
    rival = CODES[1]
    desk.fire(rival, "note", {"text": "người khác ghi trước"})  # another writer, after the batch was decided
    before = snapshot(desk.store, rival)

    outcome = desk.store.commit_each(units).refused

    assert [type(error) for error in outcome] == [type(None), ConcurrencyConflict, type(None), type(None)]
    assert snapshot(desk.store, rival) == replace(before, cases=snapshot(desk.store, rival).cases)
    assert [_fired_by_system(desk, code) for code in CODES] == [["remind"], [], ["remind"], ["remind"]]


def test_fire_timers_retries_the_refused_case_alone_and_fires_each_timer_once(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    claimed = _opened(desk)
    rival = CODES[2]
    load_many = desk.store.load_many

    def load_then_write(codes: Sequence[str]) -> Mapping[str, Case]:
        """Another writer lands on one case between the batch's load and its commit."""
        loaded = load_many(codes)
        desk.fire(rival, "note", {"text": "ghi chú chen ngang"})
        return loaded

    monkeypatch.setattr(desk.store, "load_many", load_then_write)
    fired = _service(desk).fire_timers(claimed, desk.store)

    assert (fired.fired, fired.stale, fired.alone) == (len(CODES), 0, 1)
    assert [_fired_by_system(desk, code) for code in CODES] == [["remind"]] * len(CODES)
    assert desk.store.history(rival)[-1].trigger == "remind"  # fired alone, after the rival's note
    assert desk.store.claim_due(desk.clock.now(), 100, LEASE) == []


def test_a_timer_cancelled_after_its_claim_is_refused_as_stale_and_fires_nowhere(desk: Desk) -> None:
    claimed = _opened(desk)
    ended = CODES[0]
    units = [[desk.consume(timer)] for timer in claimed]
    desk.fire(ended, "return_result")  # ends the case and cancels its timers
    before = snapshot(desk.store, ended)

    outcome = desk.store.commit_each(units).refused

    assert isinstance(outcome[0], ConcurrencyConflict | StaleTimer)
    assert outcome[1:] == [None] * (len(CODES) - 1)
    assert snapshot(desk.store, ended) == replace(before, cases=snapshot(desk.store, ended).cases)


def test_a_timer_cancelled_meanwhile_is_stale_even_when_the_case_is_as_decided(desk: Desk) -> None:
    claimed = _opened(desk)
    [first, *others] = claimed
    desk.store.discard(first)  # gone without a decision: the case's version is the one decided on
    units = [[desk.consume(timer)] for timer in claimed]

    outcome = desk.store.commit_each(units).refused

    assert isinstance(outcome[0], StaleTimer) and outcome[1:] == [None] * len(others)
    assert _fired_by_system(desk, first.case_code) == []


def test_fire_timers_leaves_a_case_ended_meanwhile_alone_and_fires_the_others(desk: Desk) -> None:
    claimed = _opened(desk)
    ended = CODES[3]
    desk.fire(ended, "return_result")  # ended after the claim: its reminder was cancelled with it
    before = snapshot(desk.store, ended)

    fired = _service(desk).fire_timers(claimed, desk.store)

    assert (fired.fired, fired.stale) == (len(CODES) - 1, 1)
    assert snapshot(desk.store, ended) == replace(before, cases=snapshot(desk.store, ended).cases)
    assert [_fired_by_system(desk, code) for code in CODES[:3]] == [["remind"]] * 3
    again = _service(desk).fire_timers(claimed, desk.store)  # the batch delivered twice: nothing more
    assert (again.fired, again.stale) == (0, len(CODES))
    assert [_fired_by_system(desk, code) for code in CODES[:3]] == [["remind"]] * 3


def test_a_unit_on_an_unknown_case_is_refused_and_the_others_written(desk: Desk) -> None:
    claimed = _opened(desk)
    units = [[desk.consume(timer)] for timer in claimed]
    ghost = desk.consume(claimed[0])
    ghost = replace(ghost, case=replace(ghost.case, code="không-có"), consumes=None)

    outcome = desk.store.commit_each([*units[1:], [ghost]]).refused

    assert outcome[:-1] == [None] * (len(CODES) - 1) and isinstance(outcome[-1], CaseNotFound)


def test_a_batch_arms_timers_and_releases_effects_as_lone_commits_do(desk: Desk) -> None:
    for code in CODES[:2]:
        desk.open(code)
    started = [desk.decide(code, "start") for code in CODES[:2]]  # arms the deadline, releases a portal sync

    assert desk.store.commit_each([[decision] for decision in started]).refused == [None, None]

    for decision in started:
        code = decision.case.code
        assert desk.store.load(code) == decision.case
        assert [timer.name for timer in desk.store.timers(code)] == ["deadline", "reminder"]
        assert list(desk.store.effects(code))[-1] == decision.effects[-1]
    for reminder in desk.claim(3 * DAY + timedelta(hours=1)):  # a case's reminder is handed out first
        desk.store.discard(reminder)
    deadlines = desk.claim(10 * DAY)
    assert [timer.name for timer in deadlines] == ["deadline", "deadline"]
    for timer in deadlines:  # armed by the batch's entry: its generation is that entry's position
        assert timer.generation == desk.store.history(timer.case_code)[-1].position


def test_a_batch_committed_under_a_claim_releases_its_effects_claimed(desk: Desk) -> None:
    for code in CODES[:2]:
        desk.open(code)
    for item in desk.store.claim_effects(desk.clock.now(), 100, LEASE):  # the receipts: delivered already
        desk.store.delivered(item.id, desk.clock.now())
    started = [desk.decide(code, "start") for code in CODES[:2]]
    claim = Claim.new(desk.clock.now(), LEASE)

    committed = desk.store.commit_each([[decision] for decision in started], claim)

    assert committed.refused == [None, None]
    assert [(item.case_code, item.kind, item.status) for item in committed.released] == [
        (code, "portal_sync", "pending") for code in CODES[:2]]
    ids = [item.id for item in committed.released]
    assert desk.store.claim_effects(desk.clock.now(), 100, LEASE) == []  # held by the claim: nobody else sends
    assert desk.store.hold_many(ids, claim.token, claim.until + LEASE) == set(ids)
    desk.clock.advance(3 * LEASE)  # the committer never delivered them: they come back to a dispatcher
    assert sorted(item.id for item in desk.store.claim_effects(desk.clock.now(), 100, LEASE)) == sorted(ids)


def test_a_batch_is_bounded_and_holds_one_unit_per_case(desk: Desk) -> None:
    claimed = _opened(desk)
    decision = desk.consume(claimed[0])
    with pytest.raises(InvalidInput, match="same case"):
        desk.store.commit_each([[decision], [decision]])
    with pytest.raises(InvalidInput, match="at most"):
        desk.store.commit_each([[decision]] * (MAX_UNITS + 1))
    with pytest.raises(InvalidInput, match="at most"):
        desk.store.load_many([CODES[0]] * (MAX_UNITS + 1))
    assert _fired_by_system(desk, claimed[0].case_code) == []
    assert set(desk.store.load_many([*CODES, "không-có"])) == set(CODES)


def test_effects_are_held_and_settled_together(desk: Desk) -> None:
    for code in CODES:
        desk.open(code)  # a receipt notice each
    claim = Claim.new(desk.clock.now(), LEASE)
    items = desk.store.claim_effects(desk.clock.now(), 100, LEASE, claim.token)
    ids = [item.id for item in items]
    assert len(ids) == len(CODES)

    assert desk.store.hold_many(ids, claim.token, claim.until + LEASE) == set(ids)
    assert desk.store.hold_many(ids, "another claim", claim.until + LEASE) == set()
    assert desk.store.delivered_many(ids[:2], desk.clock.now()) == set(ids[:2])
    assert desk.store.delivered_many(ids, desk.clock.now()) == set(ids[2:])  # the first two were marked already
    assert desk.store.hold_many(ids, claim.token, claim.until + LEASE) == set()  # delivered: no claim to hold
    assert desk.store.backlog() == 0
    assert desk.store.delivered_many([], desk.clock.now()) == set()
    unknown = max(ids) + 1_000  # no such effect: ignored by every store, as SQL's UPDATE matches no row
    assert desk.store.delivered_many([unknown], desk.clock.now()) == set()
    assert desk.store.delivered(unknown, desk.clock.now()) is False
    assert desk.store.hold_many([unknown], claim.token, claim.until + LEASE) == set()


class _RecordingQueue:
    """The store as the service's timer queue, the discards it is asked for written down."""

    def __init__(self, desk: Desk) -> None:
        self.desk, self.discards = desk, list[tuple[str, int | None]]()

    def discard(self, timer: DueTimer, seen: int | None = None) -> bool:
        self.discards.append((timer.case_code, seen))
        return self.desk.store.discard(timer, seen)


def test_a_refused_timer_is_discarded_only_at_the_version_that_refused_it_alone_and_in_a_batch(desk: Desk) -> None:
    claimed = _opened(desk)
    ended = CODES[3]
    desk.fire(ended, "return_result")  # its reminder no longer allowed (and cancelled with it)
    version = desk.store.load(ended).version
    alone, batch = _RecordingQueue(desk), _RecordingQueue(desk)
    [refused] = [timer for timer in claimed if timer.case_code == ended]

    assert _service(desk).fire_timer(refused, alone) is None  # type: ignore[arg-type]
    _service(desk).fire_timers(claimed, batch)  # type: ignore[arg-type]

    assert alone.discards == [(ended, version)]
    assert batch.discards == [(ended, version)]
