"""The contract of :meth:`motcua.workflow.engine.ports.CaseStore.commit` given a chain of decisions on one case.

A chain (an opening and the triggers decided on the case it leaves) is one transaction on every store:
each entry appended in order, each decision's timers and effects applied, the case saved as the last
decision leaves it; a conflict on the first decision, or any failure after the first writes, leaves
nothing of any of them.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import pytest

from motcua.workflow.engine.audit import verify_chains
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.engine.compiled import WorkflowSet
from motcua.workflow.engine.decisions import Decision, Engine
from motcua.workflow.engine.model import SYSTEM_ACTOR, Effect
from motcua.workflow.errors import CaseAlreadyExists, ConcurrencyConflict, StaleTimer
from tests.contract.conftest import KEY, OFFICER, OPENING, RULE_SET, START, Desk, Snapshot, snapshot

CODE = "000.00.12.H01-250303-0042"


def opened_and_started(engine: Engine, applicant: str = "Trần Văn Đức") -> tuple[Decision, ...]:
    """An opening, ``start`` and a ``note``, each decided on the case the previous one left: nothing stored."""
    opening = engine.open(KEY, CODE, OFFICER, {**OPENING, "applicant": applicant}, rule_set=RULE_SET)
    start = engine.fire(opening.case, "start", OFFICER, {})
    return opening, start, engine.fire(start.case, "note", OFFICER, {"text": "đủ giấy tờ"})


def test_a_chain_is_stored_as_its_decisions_in_order(desk: Desk) -> None:
    chain = opened_and_started(desk.engine)

    desk.store.commit(*chain)

    history = desk.store.history(CODE)
    assert [replace(entry, position=None) for entry in history] == [decision.entry for decision in chain]
    positions = [entry.position or 0 for entry in history]
    assert positions == list(range(positions[0], positions[0] + 3))
    assert desk.store.load(CODE) == chain[-1].case
    assert desk.store.load(CODE).version == 3
    assert [timer.name for timer in desk.store.timers(CODE)] == ["deadline", "reminder"]
    assert [effect.kind for effect in desk.store.effects(CODE)] == ["notify", "portal_sync", "noted"]
    assert desk.store.effects(CODE)[2] == Effect("noted", {"by": OFFICER.name, "n": 1})
    assert list(verify_chains(desk.store.cases(), desk.store.entries())) == []


def test_each_timer_of_a_chain_is_armed_by_its_own_entry(desk: Desk) -> None:
    desk.store.commit(*opened_and_started(desk.engine))
    opening_at, start_at, _ = (entry.position for entry in desk.store.history(CODE))

    [reminder] = desk.claim(timedelta(days=3, minutes=1))
    desk.store.commit(desk.consume(reminder))
    [deadline] = desk.claim(timedelta(days=7))

    assert (reminder.name, reminder.generation) == ("reminder", opening_at)
    assert (deadline.name, deadline.generation) == ("deadline", start_at)


def test_a_chain_on_a_stored_case_continues_it(desk: Desk) -> None:
    desk.open(CODE)
    start = desk.decide(CODE, "start")
    note = desk.engine.fire(start.case, "note", OFFICER, {})

    desk.store.commit(start, note)

    assert desk.store.load(CODE) == note.case
    assert [entry.trigger for entry in desk.store.history(CODE)] == ["open", "start", "note"]


def test_a_chain_whose_first_decision_is_stale_conflicts_and_writes_nothing(desk: Desk) -> None:
    desk.open(CODE)
    start = desk.decide(CODE, "start")  # decided at version 1 …
    stale = (start, desk.engine.fire(start.case, "note", OFFICER, {}))
    desk.fire(CODE, "start")  # … but another writer got there first
    before = snapshot(desk.store, CODE)

    with pytest.raises(ConcurrencyConflict) as caught:
        desk.store.commit(*stale)

    assert (caught.value.code, caught.value.expected_version) == (CODE, 1)
    assert snapshot(desk.store, CODE) == before


def test_an_opening_chain_on_a_code_in_use_writes_nothing(desk: Desk) -> None:
    desk.open(CODE)
    before = snapshot(desk.store, CODE)

    with pytest.raises(CaseAlreadyExists):
        desk.store.commit(*opened_and_started(desk.engine, "Lê Thị Hồng"))

    assert snapshot(desk.store, CODE) == before


def test_a_chain_failing_after_its_first_writes_writes_nothing(desk: Desk) -> None:
    """The first decision is current (its case row and entry go in) but consumes a timer fired already: the
    store finds out only then, and rolls the whole chain back."""
    desk.open(CODE)
    [reminder] = desk.claim(timedelta(days=3, minutes=1))
    desk.store.commit(desk.consume(reminder))  # fired once
    again = desk.consume(reminder)  # decided on the current case, consuming the same timer
    before = snapshot(desk.store, CODE)

    with pytest.raises(StaleTimer):
        desk.store.commit(again, desk.engine.fire(again.case, "start", OFFICER, {}))

    assert snapshot(desk.store, CODE) == before


def test_a_broken_chain_is_refused_before_anything_is_written(desk: Desk) -> None:
    desk.open(CODE)
    start, again = desk.decide(CODE, "start"), desk.decide(CODE, "start")  # both decided on version 1
    before = snapshot(desk.store, CODE)

    with pytest.raises(ValueError, match="does not follow"):
        desk.store.commit(start, again)
    [reminder] = desk.claim(timedelta(days=3, minutes=1))
    start = desk.decide(CODE, "start")
    consuming = replace(desk.engine.fire(start.case, "remind", SYSTEM_ACTOR, {}), consumes=reminder)
    with pytest.raises(ValueError, match="only the first decision"):
        desk.store.commit(start, consuming)

    assert snapshot(desk.store, CODE) == before


def test_concurrent_opening_chains_of_one_code_leave_one_whole_chain(desk: Desk, workflows: WorkflowSet) -> None:
    applicants = ["Trần Văn Đức", "Lê Thị Hồng", "Phạm Văn Hùng", "Ngô Thị Mai"]
    barrier, outcomes = threading.Barrier(len(applicants)), dict[str, str]()

    def open_as(applicant: str) -> None:
        chain = opened_and_started(Engine(workflows, ManualClock(START)), applicant)
        barrier.wait(timeout=30)
        try:
            desk.store.commit(*chain)
        except CaseAlreadyExists:
            outcomes[applicant] = "lost"
            return
        outcomes[applicant] = "won"

    threads = [threading.Thread(target=open_as, args=(applicant,)) for applicant in applicants]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    [winner] = [applicant for applicant, outcome in outcomes.items() if outcome == "won"]
    assert sorted(outcomes.values()) == ["lost"] * (len(applicants) - 1) + ["won"]
    expected = opened_and_started(Engine(workflows, ManualClock(START)), winner)
    assert [replace(entry, position=None) for entry in desk.store.history(CODE)] == [d.entry for d in expected]
    assert desk.store.load(CODE) == expected[-1].case
    assert len(desk.store.effects(CODE)) == 3 and len(desk.store.timers(CODE)) == 2


def test_nothing_of_a_refused_chain_is_left_on_an_empty_store(desk: Desk) -> None:
    chain = opened_and_started(desk.engine)
    broken = (chain[0], chain[2])  # the note was decided on the started case, not the opened one

    with pytest.raises(ValueError, match="does not follow"):
        desk.store.commit(*broken)

    assert snapshot(desk.store, CODE) == Snapshot(None, [], [], [], [])
