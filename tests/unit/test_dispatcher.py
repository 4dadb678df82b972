"""The dispatcher's tick: bounded by the sink's room, nothing claimed while the broker is away, a failing
send stops the batch. On the memory store, with a sink that records what it is given."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from motcua.adapters.bootstrap import Motcua
from motcua.workers.dispatcher import DEFAULT_POLL, Dispatcher, batches, idle_wait
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.model import DueTimer, OutboxItem
from motcua.workflow.engine.ports import Claim
from motcua.workflow.errors import InvalidInput
from tests.conftest import OFFICER

LEASE = timedelta(minutes=2)
PAST_EVERY_DEADLINE = datetime(2024, 4, 30, 9, 0, tzinfo=VN_TZ)


@dataclass
class Recorder:
    """A sink holding ``held`` messages already; ``down`` makes it unreachable, ``fail_from`` fails sends."""

    held: int = 0
    down: bool = False
    fail_from: int | None = None
    timers: list[DueTimer] = field(default_factory=list)
    effects: list[tuple[OutboxItem, Claim | None]] = field(default_factory=list)

    def send_timer(self, timer: DueTimer) -> None:
        self._check()
        self.timers.append(timer)

    def send_effect(self, item: OutboxItem, claim: Claim | None = None) -> None:
        self._check()
        self.effects.append((item, claim))

    def backlog(self) -> int:
        if self.down:
            raise ConnectionError("broker unreachable")
        return self.held

    def _check(self) -> None:
        if self.fail_from is not None and len(self.timers) + len(self.effects) >= self.fail_from:
            raise ConnectionError("broker went away")


def dispatcher(motcua: Motcua, clock: ManualClock, sink: Recorder, max_in_flight: int = 40) -> Dispatcher:
    errors: list[str] = []
    return Dispatcher(motcua.store, motcua.store, sink, clock, batch=500, lease=LEASE, max_in_flight=max_in_flight,
                      on_send_error=lambda what, error: errors.append(what))


def receive(motcua: Motcua, dossiers: int) -> None:
    for _ in range(dossiers):
        motcua.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), OFFICER)  # a receipt effect each


def test_a_tick_claims_no_more_than_the_room_left_timers_at_least_half(motcua: Motcua, clock: ManualClock) -> None:
    receive(motcua, 30)  # 30 warnings due (a case's timers one at a time) and 30 receipts pending
    clock.set(PAST_EVERY_DEADLINE)
    sink = Recorder(held=10)
    report = dispatcher(motcua, clock, sink, max_in_flight=40).tick()
    assert (report.timers, report.effects, report.busy) == (15, 15, True)  # room 30: half to timers, the rest
    assert (len(sink.timers), len(sink.effects)) == (15, 15)
    assert {claim.until for _, claim in sink.effects if claim} == {clock.now() + LEASE}  # when its claim ends
    assert len({claim.token for _, claim in sink.effects if claim}) == 1  # the claim each row carries


def test_effects_take_the_room_timers_leave(motcua: Motcua, clock: ManualClock) -> None:
    receive(motcua, 30)
    sink = Recorder()  # nothing due yet: every receipt may go
    assert dispatcher(motcua, clock, sink, max_in_flight=40).tick().effects == 30


def test_nothing_is_claimed_while_the_room_is_under_a_quarter(motcua: Motcua, clock: ManualClock) -> None:
    receive(motcua, 5)
    clock.set(PAST_EVERY_DEADLINE)
    sink = Recorder(held=31)  # 9 of 40 free
    report = dispatcher(motcua, clock, sink, max_in_flight=40).tick()
    assert (report.timers, report.effects, report.busy) == (0, 0, True)
    assert motcua.store.claim_due(clock.now(), 100, LEASE) != []  # nothing was claimed


def test_nothing_is_claimed_while_the_broker_is_away(motcua: Motcua, clock: ManualClock) -> None:
    receive(motcua, 5)
    clock.set(PAST_EVERY_DEADLINE)
    sink = Recorder(down=True)
    away = dispatcher(motcua, clock, sink).tick()
    assert (away.broker_down, away.timers, away.effects, away.send_errors) == (True, 0, 0, 1)
    sink.down = False
    back = dispatcher(motcua, clock, sink).tick()  # no lease to wait out: the timers were never claimed
    assert (back.timers, back.effects) == (5, 5)


def test_a_failing_send_stops_the_batch_and_the_rest_comes_back_after_the_lease(
    motcua: Motcua, clock: ManualClock
) -> None:
    receive(motcua, 6)
    clock.set(PAST_EVERY_DEADLINE)
    sink = Recorder(fail_from=2)
    report = dispatcher(motcua, clock, sink).tick()
    assert (len(sink.timers), report.timers, report.send_errors, report.effects) == (2, 6, 4, 0)
    sink.fail_from = None
    assert dispatcher(motcua, clock, sink).tick().timers == 0  # still claimed
    clock.advance(LEASE)
    assert dispatcher(motcua, clock, sink).tick().timers == 6  # every claim ran out: all six are sent again


def test_batches_keep_a_case_together_and_stay_bounded() -> None:
    work = ["A", "B", "B", "B", "C", "D", "D", "D", "D", "D", "D", "E"]  # items by case, as a claim returns them
    assert list(batches(work, 4, lambda item: item)) == [
        ["A", "B", "B", "B"], ["C"], ["D", "D", "D", "D"], ["D", "D", "E"]]  # a case longer than a batch is cut
    assert list(batches(work, 4)) == [work[0:4], work[4:8], work[8:12]]  # without cases: plain slices
    assert list(batches([], 4)) == []


def test_a_batch_sink_gets_whole_batches_and_the_room_counts_them(motcua: Motcua, clock: ManualClock) -> None:
    receive(motcua, 30)
    clock.set(PAST_EVERY_DEADLINE)
    sink = BatchRecorder(held=1)  # one batch of 10 in the broker already
    report = Dispatcher(motcua.store, motcua.store, sink, clock, lease=LEASE, max_in_flight=40, batch_size=10).tick()
    assert (report.timers, report.effects) == (15, 10)  # room 30: 15 timers (two messages) and one more batch
    assert [len(batch) for batch in sink.timer_batches] == [10, 5]
    assert [len(batch) for batch, _ in sink.effect_batches] == [10]
    assert {lease for lease in sink.leases} == {LEASE}  # a timer batch's notices are claimed for the lease


def test_a_batch_size_out_of_bounds_is_refused(motcua: Motcua, clock: ManualClock) -> None:
    with pytest.raises(InvalidInput, match="1 to 1000"):
        Dispatcher(motcua.store, motcua.store, BatchRecorder(), clock, batch_size=0)


@dataclass
class BatchRecorder(Recorder):
    """A sink taking batches, one message each."""

    timer_batches: list[list[DueTimer]] = field(default_factory=list)
    effect_batches: list[tuple[list[OutboxItem], Claim | None]] = field(default_factory=list)
    leases: list[timedelta | None] = field(default_factory=list)

    def send_timers(self, timers: Sequence[DueTimer], lease: timedelta | None = None) -> None:
        self.timer_batches.append(list(timers))
        self.leases.append(lease)

    def send_effects(self, items: Sequence[OutboxItem], claim: Claim | None = None) -> None:
        self.effect_batches.append((list(items), claim))


NOW = datetime(2024, 3, 4, 9, 0, tzinfo=VN_TZ)


@pytest.mark.parametrize(("next_due", "wait"), [
    pytest.param(None, DEFAULT_POLL, id="nothing armed later: the poll"),
    pytest.param(NOW + timedelta(milliseconds=30), timedelta(milliseconds=30), id="due within the poll: until then"),
    pytest.param(NOW + DEFAULT_POLL, DEFAULT_POLL, id="due as the poll ends: the poll"),
    pytest.param(NOW + timedelta(days=3), DEFAULT_POLL, id="due later: the poll bounds the sleep"),
    pytest.param(NOW, DEFAULT_POLL, id="due now and unclaimed: the poll, never a spin"),
    pytest.param(NOW - timedelta(minutes=1), DEFAULT_POLL, id="overdue and unclaimed: the poll"),
])
def test_an_idle_dispatcher_sleeps_until_the_next_timer_at_most_the_poll(
    next_due: datetime | None, wait: timedelta
) -> None:
    assert idle_wait(NOW, next_due, DEFAULT_POLL) == wait


def test_the_dispatcher_sleeps_until_the_first_timer_of_its_queue(motcua: Motcua, clock: ManualClock) -> None:
    receive(motcua, 1)
    store = motcua.store
    first = min((timer for case in store.cases() for timer in store.timers(case.code)), key=lambda t: t.due_at)
    clock.set(first.due_at - timedelta(hours=1))
    assert dispatcher(motcua, clock, Recorder()).idle_wait(DEFAULT_POLL) == DEFAULT_POLL
    clock.set(first.due_at - timedelta(milliseconds=70))
    assert dispatcher(motcua, clock, Recorder()).idle_wait(DEFAULT_POLL) == timedelta(milliseconds=70)
