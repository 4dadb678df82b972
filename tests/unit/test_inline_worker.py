"""Timers and effects in-process: the embedded default the demo and simulations run on."""

from __future__ import annotations

from datetime import datetime, timedelta

from motcua.adapters.bootstrap import Motcua
from motcua.workers.dispatcher import Dispatcher
from motcua.workers.handlers import Handlers
from motcua.workers.inline import InlineRunner, InlineSink
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.model import Case, OutboxItem
from motcua.workflow.engine.retry import RetryPolicy
from motcua.workflow.errors import delivery_failure
from tests.conftest import LEADER, OFFICER, SPECIALIST


class Recorder:
    """A notifier that keeps what it was given; fails the first ``failures`` deliveries."""

    def __init__(self, failures: int = 0, retryable: bool = True) -> None:
        self.items: list[OutboxItem] = []
        self.failures = failures
        self.retryable = retryable

    def deliver(self, item: OutboxItem) -> None:
        if self.failures:
            self.failures -= 1
            raise delivery_failure(item.kind, "receiver down", transient=self.retryable)
        self.items.append(item)


def runner(motcua: Motcua, clock: ManualClock, notifier: Recorder, policy: RetryPolicy | None = None) -> InlineRunner:
    handlers = Handlers(motcua.service, motcua.store, motcua.store, notifier, clock, policy or RetryPolicy())
    return InlineRunner(handlers, clock)


def receive(motcua: Motcua) -> Case:
    case = motcua.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), OFFICER)  # 3 working days
    return motcua.service.fire(case.code, "assign", OFFICER, {"assignee": SPECIALIST.name})


def triggers(motcua: Motcua, code: str) -> list[str]:
    return [entry.trigger for entry in motcua.store.history(code)]


def test_timers_fire_at_their_due_instant_in_order(motcua: Motcua, clock: ManualClock) -> None:
    notifier = Recorder()
    case = receive(motcua)
    fired = runner(motcua, clock, notifier).run_until(datetime(2024, 3, 31, tzinfo=VN_TZ))
    history = motcua.store.history(case.code)
    timed = [entry for entry in history if entry.actor == "motcua"]
    assert [entry.trigger for entry in timed] == ["mark_due_soon", "mark_overdue", "escalate"]
    assert fired == 3
    assert timed[0].occurred_at == datetime(2024, 3, 6, 8, 0, tzinfo=VN_TZ)
    assert timed[1].occurred_at == datetime(2024, 3, 7, 8, 0, tzinfo=VN_TZ)
    assert motcua.store.load(case.code).state["deadline"] == "overdue"
    assert motcua.store.timers(case.code) == []
    events = [item.payload.get("event") for item in notifier.items if item.kind == "notify"]
    assert events == ["due_soon", "overdue", "escalation"]
    assert clock.now() == datetime(2024, 3, 31, tzinfo=VN_TZ)


def test_returned_before_appointment_never_marks_overdue(motcua: Motcua, clock: ManualClock) -> None:
    case = receive(motcua)
    for trigger, actor, data in [
        ("submit_for_approval", SPECIALIST, {"approver": LEADER.name}),
        ("approve", LEADER, {}),
        ("mark_result_ready", SPECIALIST, {}),
        ("return_result", OFFICER, {}),
    ]:
        motcua.service.fire(case.code, trigger, actor, data)
    assert runner(motcua, clock, Recorder()).run_until(datetime(2024, 4, 30, tzinfo=VN_TZ)) == 0
    assert "mark_overdue" not in triggers(motcua, case.code)


def test_paused_clock_fires_nothing_then_resumes(motcua: Motcua, clock: ManualClock) -> None:
    case = receive(motcua)
    motcua.service.fire(case.code, "request_supplement", SPECIALIST, {"reason": "Thiếu giấy"})
    work = runner(motcua, clock, Recorder())
    assert work.run_until(datetime(2024, 3, 20, tzinfo=VN_TZ)) == 0
    motcua.service.fire(case.code, "supplement_received", OFFICER)
    work.run_until(datetime(2024, 4, 30, tzinfo=VN_TZ))
    assert triggers(motcua, case.code).count("mark_overdue") == 1


def test_duplicate_and_stale_timer_messages_change_nothing(motcua: Motcua, clock: ManualClock) -> None:
    case = receive(motcua)
    clock.set(datetime(2024, 3, 7, 9, 0, tzinfo=VN_TZ))
    handlers = Handlers(motcua.service, motcua.store, motcua.store, Recorder(), clock)
    sink = InlineSink(handlers)
    for _ in range(2):  # the warning, then the overdue mark: a case's timers are handed out in order
        claimed = motcua.store.claim_due(clock.now(), 10, timedelta(minutes=1))
        for timer in [*claimed, *claimed]:  # the broker delivered every message twice
            sink.send_timer(timer)
    assert (sink.fired, sink.stale) == (2, 2)
    assert triggers(motcua, case.code).count("mark_overdue") == 1


def test_a_claim_is_not_handed_out_twice_until_its_lease_ends(motcua: Motcua, clock: ManualClock) -> None:
    receive(motcua)
    clock.set(datetime(2024, 3, 7, 9, 0, tzinfo=VN_TZ))
    first = motcua.store.claim_due(clock.now(), 10, timedelta(minutes=1))
    assert [t.name for t in first] == ["due_soon"]  # the overdue mark waits for the warning
    assert motcua.store.claim_due(clock.now(), 10, timedelta(minutes=1)) == []
    clock.advance(timedelta(minutes=2))  # the message was lost: the lease runs out
    assert [t.name for t in motcua.store.claim_due(clock.now(), 10, timedelta(minutes=1))] == ["due_soon"]


def test_failing_effects_are_retried_with_backoff_then_parked(motcua: Motcua, clock: ManualClock) -> None:
    notifier = Recorder(failures=100)
    work = runner(motcua, clock, notifier, RetryPolicy(max_attempts=3, base=timedelta(seconds=10)))
    case = receive(motcua)
    work.deliver_effects()
    assert motcua.store.parked() == []
    clock.advance(timedelta(seconds=10))
    work.deliver_effects()
    clock.advance(timedelta(seconds=20))
    work.deliver_effects()
    parked = motcua.store.parked()
    assert [(item.case_code, item.attempts) for item in parked] == [(case.code, 3)]
    assert parked[0].last_error == "receiver down"
    notifier.failures = 0
    assert motcua.store.requeue(None, clock.now()) == 1
    work.deliver_effects()
    assert motcua.store.parked() == [] and len(notifier.items) == 1


def test_a_requeued_effect_is_retried_with_backoff_again(motcua: Motcua, clock: ManualClock) -> None:
    notifier = Recorder(failures=100)
    work = runner(motcua, clock, notifier, RetryPolicy(max_attempts=2, base=timedelta(seconds=10)))
    receive(motcua)
    work.deliver_effects()
    clock.advance(timedelta(seconds=10))
    work.deliver_effects()
    assert [item.attempts for item in motcua.store.parked()] == [2]
    assert motcua.store.requeue(None, clock.now()) == 1  # requeued while the receiver is still away

    work.deliver_effects()

    assert motcua.store.parked() == []  # failed once more: tried again after the backoff, not parked at once
    clock.advance(timedelta(seconds=10))
    work.deliver_effects()
    assert [item.attempts for item in motcua.store.parked()] == [2]


def test_permanent_failures_park_at_once(motcua: Motcua, clock: ManualClock) -> None:
    work = runner(motcua, clock, Recorder(failures=1, retryable=False))
    receive(motcua)
    work.deliver_effects()
    assert [item.attempts for item in motcua.store.parked()] == [1]


def test_dispatcher_tick_sends_due_work(motcua: Motcua, clock: ManualClock) -> None:
    case = receive(motcua)
    clock.set(datetime(2024, 3, 7, 9, 0, tzinfo=VN_TZ))
    notifier = Recorder()
    handlers = Handlers(motcua.service, motcua.store, motcua.store, notifier, clock)
    dispatcher = Dispatcher(motcua.store, motcua.store, InlineSink(handlers), clock)
    first, second, third = dispatcher.tick(), dispatcher.tick(), dispatcher.tick()
    assert [(r.timers, r.send_errors) for r in (first, second, third)] == [(1, 0), (1, 0), (0, 0)]
    assert first.effects >= 1 and second.effects == 0  # a timer's notice is delivered with its batch
    assert triggers(motcua, case.code)[-2:] == ["mark_due_soon", "mark_overdue"]
    events = [item.payload.get("event") for item in notifier.items if item.kind == "notify"]
    assert events[-2:] == ["due_soon", "overdue"]
    assert motcua.store.backlog() == 0


def notices(notifier: Recorder) -> list[tuple[object, object]]:
    """Each notice delivered: its event, and whether it says its warning was outrun by the deadline."""
    return [(item.payload.get("event"), item.payload.get("outrun")) for item in notifier.items if item.kind == "notify"]


def test_a_warning_fired_after_the_appointment_is_marked_outrun(motcua: Motcua, clock: ManualClock) -> None:
    notifier = Recorder()
    case = receive(motcua)  # Mon 4 March 08:00: the warning falls due Wed 6 08:00, the appointment Thu 7 08:00
    clock.set(datetime(2024, 3, 7, 10, 0, tzinfo=VN_TZ))  # the worker is back two hours after the appointment
    runner(motcua, clock, notifier).run_until(clock.now())
    timed = [entry.trigger for entry in motcua.store.history(case.code) if entry.actor == "motcua"]
    assert timed == ["mark_due_soon", "mark_overdue"]  # both fired, in their order, each with its notice
    assert notices(notifier) == [("due_soon", True), ("overdue", None)]
    assert motcua.store.load(case.code).state["deadline"] == "overdue"


def test_a_warning_fired_at_the_appointment_itself_is_outrun(motcua: Motcua, clock: ManualClock) -> None:
    notifier = Recorder()
    receive(motcua)
    clock.set(datetime(2024, 3, 7, 8, 0, tzinfo=VN_TZ))  # the instant of the appointment: the overdue mark is due too
    runner(motcua, clock, notifier).run_until(clock.now())
    assert notices(notifier) == [("due_soon", True), ("overdue", None)]


def test_a_worker_back_before_the_appointment_warns_as_ever(motcua: Motcua, clock: ManualClock) -> None:
    notifier = Recorder()
    receive(motcua)
    clock.set(datetime(2024, 3, 7, 7, 59, tzinfo=VN_TZ))  # a minute before the appointment: still due soon
    runner(motcua, clock, notifier).run_until(clock.now())
    assert notices(notifier) == [("due_soon", None)]


def test_a_plan_tasks_warning_fired_after_its_due_date_is_marked_outrun(motcua: Motcua, clock: ManualClock) -> None:
    notifier = Recorder()
    data = {"plan": "KH-2024", "task": "1", "title": "Rà soát thủ tục", "owner": "Văn phòng", "due": "2024-03-29"}
    case = motcua.service.open("plan-task", "KH-2024/1", LEADER, data, rule_set="nd61-2018")
    clock.set(datetime.fromisoformat(str(case.attributes["due_at"])) + timedelta(days=1))
    runner(motcua, clock, notifier).run_until(clock.now())
    assert notices(notifier)[:2] == [("due_soon", True), ("overdue", None)]


def test_a_warning_cancelled_by_a_pause_is_delivered_after_it(motcua: Motcua, clock: ManualClock) -> None:
    case = receive(motcua)  # Mon 4 March 08:00; the warning falls due Wed 6 08:00
    clock.set(datetime(2024, 3, 6, 8, 30, tzinfo=VN_TZ))
    claimed = motcua.store.claim_due(clock.now(), 10, timedelta(minutes=1))
    assert [t.name for t in claimed] == ["due_soon"]  # claimed; its message is still in flight
    motcua.service.fire(case.code, "request_supplement", SPECIALIST, {"reason": "Thiếu giấy"})
    clock.set(datetime(2024, 3, 6, 9, 0, tzinfo=VN_TZ))
    motcua.service.fire(case.code, "supplement_received", OFFICER)
    notifier = Recorder()
    handlers = Handlers(motcua.service, motcua.store, motcua.store, notifier, clock)
    sink = InlineSink(handlers)
    for timer in claimed:
        sink.send_timer(timer)  # the message from before the pause arrives: stale
    runner(motcua, clock, notifier).run_until(datetime(2024, 3, 31, tzinfo=VN_TZ))
    events = [item.payload.get("event") for item in notifier.items if item.kind == "notify"]
    assert events == ["due_soon", "overdue", "escalation"]
