"""Compose notifiers: pick one by effect kind, or deliver to several."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

import structlog

from motcua.workflow.engine.bounds import excerpt
from motcua.workflow.engine.model import OutboxItem
from motcua.workflow.engine.ports import Notifier
from motcua.workflow.errors import (
    DeliveryDeferred,
    DeliveryFailed,
    DeliveryUnavailable,
    InvalidInput,
    Retryable,
    delivery_failure,
)

__all__ = ["FanOut", "RoutingNotifier"]

log = structlog.get_logger("motcua.worker")
_ERROR_EXCERPT: Final = 300  # characters of a channel's unexpected error kept with its effect, as the worker keeps


class RoutingNotifier:
    """Hands each effect to the notifier registered for its kind, or to ``default``."""

    def __init__(self, by_kind: Mapping[str, Notifier], default: Notifier) -> None:
        self.by_kind = dict(by_kind)
        self.default = default

    def deliver(self, item: OutboxItem) -> None:
        self.by_kind.get(item.kind, self.default).deliver(item)


class FanOut:
    """Delivers each effect to every channel it was not delivered to yet, then raises their failures as one, if any:
    retryable when one of them is (a channel that failed for good does not park the effect while another may
    succeed later), naming each, and carrying the channels that did deliver (:attr:`DeliveryFailed.delivered`).

    The worker records those with the failed attempt (``outbox.delivered_channels``), and the effect comes back
    with them (:attr:`OutboxItem.delivered`): a retry goes only to the channels not yet delivered — the officials
    get one e-mail however long a webhook's receiver is away. A channel is named by its notifier's ``channel``
    (``log``, ``email``, ``webhook``, ``dvcqg``; else its class's name; a second of one name is ``<name>#2``). A
    crash between a channel's delivery and the attempt's record sends to it again (at least once, as before: every
    channel carries the effect's key). A channel that raises anything else (a bug) holds back none either: once
    every channel was tried, the attempt fails retryably, naming the error's type (logged as
    ``effect.delivery_error``).
    """

    def __init__(self, notifiers: Iterable[Notifier]) -> None:
        self.channels = _named(notifiers)

    @property
    def notifiers(self) -> tuple[Notifier, ...]:
        return tuple(notifier for _, notifier in self.channels)

    def deliver(self, item: OutboxItem) -> None:
        failures: list[DeliveryFailed] = []
        delivered: set[str] = set()
        for name, notifier in self.channels:
            if name in item.delivered:
                continue
            try:
                notifier.deliver(item)
            except DeliveryFailed as failure:
                failures.append(failure)
            except Exception as error:  # a bug: a failure like any other, once the other channels were tried
                log.warning("effect.delivery_error", channel=name, error=type(error).__name__)
                detail = f"{name}: {type(error).__name__}: {excerpt(str(error), _ERROR_EXCERPT)}"
                failures.append(DeliveryUnavailable(item.kind, detail))
            else:
                delivered.add(name)
        if failures:
            raise _joined(item.kind, failures, frozenset(delivered)) from failures[0]


def _joined(kind: str, failures: list[DeliveryFailed], delivered: frozenset[str]) -> DeliveryFailed:
    """The failures of one attempt's channels as one: deferred (not an attempt) when every channel that failed was
    only held back by its receiver's pause (:class:`~motcua.adapters.notifiers.pause.ReceiverPause`)."""
    transient = any(isinstance(failure, Retryable) for failure in failures)
    detail = "; ".join(failure.detail for failure in failures)
    asked = [failure.retry_after for failure in failures
             if isinstance(failure, DeliveryUnavailable) and failure.retry_after is not None]
    if all(isinstance(failure, DeliveryDeferred) for failure in failures):
        return DeliveryDeferred(kind, detail, retry_after=max(asked, default=None), delivered=delivered)
    return delivery_failure(kind, detail, transient=transient, retry_after=max(asked, default=None),
                            delivered=delivered)


def _named(notifiers: Iterable[Notifier]) -> tuple[tuple[str, Notifier], ...]:
    """Each notifier with its channel's name, unique in the fan-out and without a comma (the outbox joins them)."""
    named: list[tuple[str, Notifier]] = []
    for notifier in notifiers:
        base = str(getattr(notifier, "channel", type(notifier).__name__))
        if not base or "," in base:
            raise InvalidInput("channel", f"a channel's name is a word without a comma, not {base!r}")
        taken = {name for name, _ in named}
        name = base if base not in taken else next(f"{base}#{n}" for n in range(2, len(named) + 3)
                                                     if f"{base}#{n}" not in taken)
        named.append((name, notifier))
    return tuple(named)
