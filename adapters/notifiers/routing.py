"""Compose notifiers: pick one by effect kind, or deliver to several."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from motcua.workflow.engine.model import OutboxItem
from motcua.workflow.engine.ports import Notifier
from motcua.workflow.errors import DeliveryFailed, DeliveryUnavailable, Retryable, delivery_failure

__all__ = ["FanOut", "RoutingNotifier"]


class RoutingNotifier:
    """Hands each effect to the notifier registered for its kind, or to ``default``."""

    def __init__(self, by_kind: Mapping[str, Notifier], default: Notifier) -> None:
        self.by_kind = dict(by_kind)
        self.default = default

    def deliver(self, item: OutboxItem) -> None:
        self.by_kind.get(item.kind, self.default).deliver(item)


class FanOut:
    """Delivers each effect to every notifier, then raises their failures as one, if any: retryable when one of them
    is (a channel that failed for good does not park the effect while another may succeed later), naming each.

    One failing channel does not hold back the others, but a retry delivers to all of them again:
    put only notifiers that tolerate repeats here (a webhook's ``Idempotency-Key``, a log line). A channel that
    raises anything else (a bug) holds back none either: the first such error is raised once every channel was tried
    (the worker records it as a failed attempt, retried).
    """

    def __init__(self, notifiers: Iterable[Notifier]) -> None:
        self.notifiers = tuple(notifiers)

    def deliver(self, item: OutboxItem) -> None:
        failures: list[DeliveryFailed] = []
        unexpected: Exception | None = None
        for notifier in self.notifiers:
            try:
                notifier.deliver(item)
            except DeliveryFailed as failure:
                failures.append(failure)
            except Exception as error:  # a bug: raised below, once the other channels were tried
                unexpected = unexpected or error
        if unexpected is not None:
            raise unexpected
        if len(failures) == 1:
            raise failures[0]
        if failures:
            transient = any(isinstance(failure, Retryable) for failure in failures)
            detail = "; ".join(failure.detail for failure in failures)
            asked = [failure.retry_after for failure in failures
                     if isinstance(failure, DeliveryUnavailable) and failure.retry_after is not None]
            raise delivery_failure(item.kind, detail, transient=transient,
                                   retry_after=max(asked, default=None)) from failures[0]
