"""The dispatcher's tick: bounded by the sink's room, nothing claimed while the broker is away, a failing
send stops the batch. On the memory store, with a sink that records what it is given."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from motcua.adapters.bootstrap import Motcua
from motcua.workers.dispatcher import Dispatcher
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.model import DueTimer, OutboxItem
from motcua.workflow.engine.ports import Claim
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
