"""Composition root: the only place that reads settings and wires the core to its adapters.

``open_motcua(url)`` gives a ready :class:`Motcua`: the case service, the one-stop desk, the store,
the compiled workflows, the procedure catalogue, the rule book and the office calendar.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from adapters.logging import LoggingObserver
from adapters.memory import MemoryStore
from definitions.catalogue import load_procedures, load_rule_sets
from definitions.offices import DEFAULT_OFFICE, load_office
from definitions.workflows import load_workflows
from workflow.calendar import WorkingCalendar
from workflow.catalogue import Catalogue, RuleBook
from workflow.clock import Clock, SystemClock
from workflow.compiled import WorkflowSet
from workflow.desk import Desk
from workflow.dossier_actions import DossierServices, dossier_registry
from workflow.engine import Engine
from workflow.errors import InvalidInput
from workflow.ports import CaseStore, Observer
from workflow.service import CaseService
from workflow.sla import SlaClock
from workflow.task_actions import TaskServices, task_registry

__all__ = ["DEFAULT_AGENCY", "DEFAULT_DATABASE_URL", "Motcua", "database_url", "open_motcua", "open_store"]

DEFAULT_DATABASE_URL = "sqlite:///motcua.db"
DEFAULT_AGENCY = "000.00.00.H23"  # electronic id of the receiving agency (mã định danh), configurable


def database_url(explicit: str | None = None) -> str:
    """``--db`` wins, then ``MOTCUA_DATABASE_URL``, then the embedded SQLite default."""
    return explicit or os.environ.get("MOTCUA_DATABASE_URL") or DEFAULT_DATABASE_URL


def open_store(url: str) -> CaseStore:
    if url == "memory://":
        return MemoryStore()
    if url.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:", "postgres:")):
        from adapters.sql.store import SqlStore  # noqa: PLC0415 - SQL drivers load only when a SQL URL is used

        return SqlStore.from_url(url, migrate=True)
    raise InvalidInput("database url", f"{url!r}: use sqlite:///FILE, postgresql://… or memory://")


@dataclass(frozen=True)
class Motcua:
    service: CaseService
    desk: Desk
    store: CaseStore
    workflows: WorkflowSet
    catalogue: Catalogue
    rules: RuleBook
    calendar: WorkingCalendar

    def close(self) -> None:
        close = getattr(self.store, "close", None)
        if callable(close):
            close()


def open_motcua(
    url: str | None = None, *, clock: Clock | None = None, office: str = DEFAULT_OFFICE,
    agency: str = DEFAULT_AGENCY, observers: Sequence[Observer] | None = None,
) -> Motcua:
    catalogue, rules = load_procedures(), load_rule_sets()
    calendar = load_office(office).calendar()
    sla = SlaClock(calendar)
    workflows = load_workflows({
        "tthc-dossier": dossier_registry(DossierServices(sla, catalogue, rules)),
        "plan-task": task_registry(TaskServices(sla, rules)),
    })
    store = open_store(database_url(url))
    engine = Engine(workflows, clock or SystemClock())
    service = CaseService(engine, store, [LoggingObserver()] if observers is None else observers)
    desk = Desk(service, store, catalogue, rules, agency)
    return Motcua(service, desk, store, workflows, catalogue, rules, calendar)
