"""A receiver's pause, as one worker process holds it (:class:`ReceiverPause`): every effect to that receiver held back
until the wait asked is over, at most an hour; only a real answer's ``Retry-After`` starts or lengthens it; a deferral
sends nothing; a fan-out whose only failures are deferrals is deferred, not failed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from structlog.testing import capture_logs

from motcua.adapters.notifiers import FanOut, LogNotifier, ReceiverPause
from motcua.workflow.engine.model import OutboxItem
from motcua.workflow.errors import DeliveryDeferred, DeliveryFailed, DeliveryUnavailable

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


class Receiver:
    """A channel whose answers are scripted: an exception to raise, or None (delivered)."""

    channel = "webhook"

    def __init__(self, *answers: DeliveryFailed | None) -> None:
        self.answers = list(answers)
        self.sent: list[int] = []

    def deliver(self, item: OutboxItem) -> None:
        self.sent.append(item.id)
        answer = self.answers.pop(0) if self.answers else None
        if answer is not None:
            raise answer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def effect(n: int) -> OutboxItem:
    return OutboxItem(id=n, case_code=f"HS-{n}", kind="notify", payload={"event": "due_soon"}, attempts=0,
                      status="pending", next_attempt_at=NOW)


def busy(seconds: int | None) -> DeliveryUnavailable:
    wait = None if seconds is None else timedelta(seconds=seconds)
    return DeliveryUnavailable("notify", "webhook: HTTP 429 Too Many Requests", retry_after=wait)


def test_a_wait_asked_holds_back_the_next_effects_unsent_until_it_is_over() -> None:
    receiver, clock = Receiver(busy(120)), Clock()
    paused = ReceiverPause(receiver, monotonic=clock)

    with pytest.raises(DeliveryUnavailable) as answered:
        paused.deliver(effect(1))
    clock.now += 30
    with pytest.raises(DeliveryDeferred) as held:
        paused.deliver(effect(2))

    assert not isinstance(answered.value, DeliveryDeferred)  # the answered effect's attempt counts
    assert held.value.retry_after == timedelta(seconds=90) and receiver.sent == [1]
    clock.now += 90
    paused.deliver(effect(2))  # the pause is over
    assert receiver.sent == [1, 2] and paused.paused_for() is None


def test_a_pause_is_at_most_an_hour_and_a_shorter_one_does_not_shorten_it() -> None:
    receiver, clock = Receiver(busy(10 ** 9), busy(5)), Clock()
    paused = ReceiverPause(receiver, monotonic=clock)

    with pytest.raises(DeliveryUnavailable):
        paused.deliver(effect(1))
    assert paused.paused_for() == timedelta(hours=1)
    clock.now += 3600
    with pytest.raises(DeliveryUnavailable):
        paused.deliver(effect(2))  # probed again after the hour: asked for 5 s more
    assert paused.paused_for() == timedelta(seconds=5)


@pytest.mark.parametrize("answer", [busy(None), busy(0), DeliveryFailed("notify", "webhook: HTTP 400 Bad Request")])
def test_a_failure_asking_no_wait_pauses_nothing(answer: DeliveryFailed) -> None:
    receiver = Receiver(answer)
    paused = ReceiverPause(receiver, monotonic=Clock())

    with pytest.raises(DeliveryFailed):
        paused.deliver(effect(1))
    paused.deliver(effect(2))

    assert receiver.sent == [1, 2]


def test_a_pause_is_logged_once_by_its_channel_never_by_what_it_held() -> None:
    paused = ReceiverPause(Receiver(busy(60)), monotonic=Clock())

    with capture_logs() as logs, pytest.raises(DeliveryFailed):
        paused.deliver(effect(1))
    with capture_logs() as later:
        for n in (2, 3):
            with pytest.raises(DeliveryDeferred):
                paused.deliver(effect(n))

    assert logs == [{"event": "effect.receiver_paused", "channel": "webhook", "pause_s": 60.0,
                     "log_level": "warning"}]
    assert later == []


def test_a_fan_out_held_back_only_by_a_pause_is_deferred_with_what_it_delivered() -> None:
    paused = ReceiverPause(Receiver(busy(60)), monotonic=Clock())
    fan = FanOut([LogNotifier(), paused])
    with pytest.raises(DeliveryFailed):
        fan.deliver(effect(1))

    with pytest.raises(DeliveryDeferred) as held:
        fan.deliver(effect(2))

    assert held.value.delivered == {"log"} and held.value.retry_after is not None
    assert fan.channels[1][0] == "webhook"  # the pause keeps its channel's name


def test_a_fan_out_with_a_real_failure_beside_a_pause_counts_the_attempt() -> None:
    paused = ReceiverPause(Receiver(busy(60)), monotonic=Clock())
    with pytest.raises(DeliveryFailed):
        paused.deliver(effect(1))
    broken = Receiver(busy(None))
    broken.channel = "email"

    with pytest.raises(DeliveryUnavailable) as failed:
        FanOut([paused, broken]).deliver(effect(2))

    assert not isinstance(failed.value, DeliveryDeferred)
    assert failed.value.retry_after == timedelta(seconds=60)  # not sooner than the receiver's pause
