"""The retry policy of effects: a backoff jittered within bounds, and a receiver's ``Retry-After`` honoured, capped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from motcua.adapters.posting import retry_after
from motcua.workflow.engine.retry import Park, RetryAt, RetryPolicy
from motcua.workflow.errors import DeliveryDeferred, DeliveryFailed, DeliveryUnavailable

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
AWAY = DeliveryUnavailable("notify", "webhook: HTTP 503 Service Unavailable")


def _asked(wait: timedelta) -> DeliveryUnavailable:
    return DeliveryUnavailable("notify", "webhook: HTTP 429 Too Many Requests", retry_after=wait)


def test_the_backoff_is_jittered_within_a_fifth_below_its_step() -> None:
    longest = RetryPolicy(random=lambda: 0.0).after_failure(3, NOW, AWAY)
    shortest = RetryPolicy(random=lambda: 0.999_999).after_failure(3, NOW, AWAY)

    assert longest == RetryAt(NOW + timedelta(seconds=40))  # 10 s × 2²: never later than the step
    assert isinstance(shortest, RetryAt)
    assert NOW + timedelta(seconds=32) <= shortest.at < NOW + timedelta(seconds=40)


def test_effects_failing_together_are_retried_apart() -> None:
    """Many notices failed by one receiver's outage are not all retried at the same instant (they were)."""
    policy = RetryPolicy()
    instants = [policy.after_failure(1, NOW, AWAY) for _ in range(50)]

    assert all(isinstance(at, RetryAt) and NOW + timedelta(seconds=8) <= at.at <= NOW + timedelta(seconds=10)
               for at in instants)
    assert len(set(instants)) > 1


def test_a_receiver_asking_for_a_longer_wait_is_not_tried_sooner() -> None:
    policy = RetryPolicy(random=lambda: 0.0)
    assert policy.after_failure(1, NOW, _asked(timedelta(minutes=5))) == RetryAt(NOW + timedelta(minutes=5))
    assert policy.after_failure(3, NOW, _asked(timedelta(seconds=1))) == RetryAt(NOW + timedelta(seconds=40))


def test_the_wait_a_receiver_asks_is_bounded_by_the_cap() -> None:
    asked = _asked(timedelta(days=30))
    assert RetryPolicy(random=lambda: 0.0).after_failure(1, NOW, asked) == RetryAt(NOW + timedelta(hours=1))


def test_a_wait_asked_keeps_neither_a_permanent_failure_nor_the_last_attempt_from_parking() -> None:
    policy = RetryPolicy(max_attempts=2)
    assert isinstance(policy.after_failure(2, NOW, _asked(timedelta(minutes=1))), Park)
    assert isinstance(policy.after_failure(1, NOW, DeliveryFailed("notify", "HTTP 400")), Park)


@pytest.mark.parametrize(
    ("header", "wait"),
    [
        ("120", timedelta(seconds=120)),
        (" 0 ", timedelta(0)),
        ("Mon, 07 Dec 2026 09:05:00 GMT", timedelta(minutes=5)),
        ("Mon, 07 Dec 2026 08:00:00 GMT", timedelta(0)),  # a date gone by: no wait asked
        # the two obsolete forms a recipient must accept too (RFC 9110 §5.6.7), the second in GMT without saying it
        ("Monday, 07-Dec-26 09:05:00 GMT", timedelta(minutes=5)),
        ("Mon Dec  7 09:05:00 2026", timedelta(minutes=5)),
        ("9999999999", timedelta(seconds=9_999_999_999)),  # long, but a timedelta: the policy caps it
    ],
)
def test_a_retry_after_header_in_seconds_or_as_an_http_date(header: str, wait: timedelta) -> None:
    assert retry_after(header, NOW) == wait


@pytest.mark.parametrize(
    "header", [None, "", "soon", "-5", "1.5", "9" * 11, "٣", "Mon, 07 Dec 2026 09:05:00", "x" * 100_000],
)
def test_a_retry_after_header_that_is_not_one_asks_for_nothing(header: str | None) -> None:
    assert retry_after(header, NOW) is None


def _deferred(left: timedelta | None) -> DeliveryDeferred:
    return DeliveryDeferred("notify", "webhook: not sent, the receiver asked for a pause", retry_after=left)


def test_an_effect_deferred_unsent_waits_for_the_pause_and_its_spread_uncounted() -> None:
    first = RetryPolicy(random=lambda: 0.0).after_failure(8, NOW, _deferred(timedelta(minutes=2)))
    last = RetryPolicy(random=lambda: 0.999_999).after_failure(8, NOW, _deferred(timedelta(minutes=2)))

    assert first == RetryAt(NOW + timedelta(minutes=2), counted=False)  # its eighth try, and never parked for it
    assert isinstance(last, RetryAt) and not last.counted
    assert NOW + timedelta(minutes=2) < last.at < NOW + timedelta(minutes=2, seconds=24)  # after, within a fifth


def test_a_deferral_is_bounded_by_the_cap_too() -> None:
    settled = RetryPolicy(random=lambda: 0.0).after_failure(1, NOW, _deferred(timedelta(days=30)))

    assert settled == RetryAt(NOW + timedelta(hours=1), counted=False)
    assert RetryPolicy(random=lambda: 0.0).after_failure(1, NOW, _deferred(None)) == RetryAt(
        NOW + timedelta(seconds=10), counted=False)  # no wait said: the first step of the backoff
