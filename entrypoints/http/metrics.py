"""Prometheus metrics of the HTTP API, on a registry of its own (never the process-global one).

Counters come from an :class:`~motcua.workflow.engine.ports.Observer` the service calls after each commit or refusal:
transitions per workflow and trigger, refusals per error, timers fired (decisions that consumed a timer:
counted where the timer fires, i.e. in this process when it runs the dispatcher inline). Gauges are
read from the store at each scrape: timers armed and lagging (due, not fired yet), effects waiting in
the outbox and parked, and portal sync failures (parked effects of kind ``dvcqg.sync``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from motcua.workflow.engine.clock import Clock
from motcua.workflow.engine.decisions import Decision
from motcua.workflow.engine.ports import Storage
from motcua.workflow.errors import CaseNotFound, UnknownTrigger

__all__ = ["SYNC_KIND", "UNNAMED_TRIGGER", "MetricsObserver", "StoreGauges"]

SYNC_KIND: Final = "dvcqg.sync"
UNNAMED_TRIGGER: Final = "(unnamed)"
"""The ``trigger`` label of a rejection whose trigger was not found declared on an existing case."""


class MetricsObserver:
    """Counts what the case service commits and refuses."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.transitions = Counter("motcua_transitions", "Transitions committed.", ["workflow", "trigger"],
                                   registry=registry)
        self.rejections = Counter("motcua_rejections", "Triggers refused, by error.", ["trigger", "error"],
                                  registry=registry)
        self.timers_fired = Counter("motcua_timers_fired", "Timers fired in this process.", ["trigger"],
                                    registry=registry)

    def committed(self, decision: Decision) -> None:
        self.transitions.labels(decision.case.definition_key, decision.entry.trigger).inc()
        if decision.consumes is not None:
            self.timers_fired.labels(decision.entry.trigger).inc()

    def rejected(self, code: str, trigger: str, error: Exception) -> None:
        # a trigger refused as undeclared, or on a case unknown (or outside the caller's scope), is whatever text the
        # caller sent: one label value for them all, so no caller can grow the series without bound
        named = UNNAMED_TRIGGER if isinstance(error, UnknownTrigger | CaseNotFound) else trigger
        self.rejections.labels(named, type(error).__name__).inc()


class StoreGauges(Collector):
    """Gauges read from the store at scrape time."""

    def __init__(self, store: Storage, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        armed, due = self._store.armed_count(self._clock.now())
        yield GaugeMetricFamily("motcua_timers_armed", "Timers armed.", value=armed)
        yield GaugeMetricFamily("motcua_timers_lagging", "Timers due and not fired yet.", value=due)
        yield GaugeMetricFamily("motcua_timers_parked", "Timers parked after their trigger failed again and again.",
                                value=self._store.parked_count())
        parked = self._store.parked()
        yield GaugeMetricFamily("motcua_outbox_parked", "Effects parked after failing.", value=len(parked))
        failures = sum(1 for item in parked if item.kind == SYNC_KIND)
        yield GaugeMetricFamily("motcua_sync_failures", "Portal (DVCQG) syncs parked after failing.", value=failures)
        yield GaugeMetricFamily("motcua_outbox_backlog", "Effects waiting for delivery.", value=self._store.backlog())
