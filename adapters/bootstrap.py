"""Composition root: the only place that reads settings and wires the core to its adapters.

``open_motcua(url)`` gives a ready :class:`Motcua`: the case service, the one-stop desk, the store,
the compiled workflows, the procedure catalogue, the rule book, the office calendar and the reports.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from adapters.logging import LoggingObserver
from adapters.memory import MemoryStore
from adapters.memory_reports import MemoryReports
from adapters.notifiers import FanOut, LogNotifier, SmtpNotifier, WebhookNotifier
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
from workflow.ports import Notifier, Observer, Reports, Storage
from workflow.service import CaseService
from workflow.sla import SlaClock
from workflow.task_actions import TaskServices, task_registry

__all__ = [
    "DEFAULT_AGENCY",
    "DEFAULT_DATABASE_URL",
    "Motcua",
    "database_url",
    "notifier_from_settings",
    "open_motcua",
    "open_reports",
    "open_store",
]

DEFAULT_DATABASE_URL = "sqlite:///motcua.db"
DEFAULT_AGENCY = "000.00.00.H23"  # electronic id of the receiving agency (mã định danh), configurable


def database_url(explicit: str | None = None) -> str:
    """``--db`` wins, then ``MOTCUA_DATABASE_URL``, then the embedded SQLite default."""
    return explicit or os.environ.get("MOTCUA_DATABASE_URL") or DEFAULT_DATABASE_URL


def open_store(url: str) -> Storage:
    if url == "memory://":
        return MemoryStore()
    if url.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:", "postgres:")):
        from adapters.sql.store import SqlStore  # noqa: PLC0415 - SQL drivers load only when a SQL URL is used

        return SqlStore.from_url(url, migrate=True)
    raise InvalidInput("database url", f"{url!r}: use sqlite:///FILE, postgresql://… or memory://")


def open_reports(store: Storage, workflows: WorkflowSet) -> Reports:
    """The reporting projection on the store's database: in memory beside a memory store, else in SQL."""
    if isinstance(store, MemoryStore):
        return MemoryReports(store, workflows.status_of)
    from adapters.sql.reports import SqlReports  # noqa: PLC0415 - SQL loads only when a SQL URL is used
    from adapters.sql.store import SqlStore  # noqa: PLC0415 - same

    if isinstance(store, SqlStore):
        return SqlReports(store.engine, workflows.status_of)
    raise InvalidInput("database url", f"no reporting projection for a {type(store).__name__}")


_ROLES = ("officer", "specialist", "leader", "chairman", "owner")


def notifier_from_settings(environ: Mapping[str, str] | None = None) -> Notifier:
    """Structured log always; e-mail when MOTCUA_SMTP_HOST is set; a webhook when MOTCUA_WEBHOOK_URL is.

    Recipients per role come from MOTCUA_NOTIFY_OFFICER, _LEADER, _CHAIRMAN… (comma-separated).
    """
    env = os.environ if environ is None else environ
    notifiers: list[Notifier] = [LogNotifier()]
    if host := env.get("MOTCUA_SMTP_HOST"):
        recipients = {role: _addresses(env.get(f"MOTCUA_NOTIFY_{role.upper()}", "")) for role in _ROLES}
        notifiers.append(SmtpNotifier(
            host, int(env.get("MOTCUA_SMTP_PORT", "25")), env.get("MOTCUA_SMTP_FROM", "motcua@localhost"),
            recipients, starttls=env.get("MOTCUA_SMTP_STARTTLS", "false") == "true",
            username=env.get("MOTCUA_SMTP_USER"), password=env.get("MOTCUA_SMTP_PASSWORD"),
        ))
    if url := env.get("MOTCUA_WEBHOOK_URL"):
        secret = env.get("MOTCUA_WEBHOOK_SECRET")
        if not secret:
            raise InvalidInput("MOTCUA_WEBHOOK_SECRET", "a webhook needs a secret to sign its requests")
        notifiers.append(WebhookNotifier(url, secret.encode("utf-8")))
    return notifiers[0] if len(notifiers) == 1 else FanOut(notifiers)


def _addresses(text: str) -> list[str]:
    return [address.strip() for address in text.split(",") if address.strip()]


@dataclass(frozen=True)
class Motcua:
    service: CaseService
    desk: Desk
    store: Storage
    workflows: WorkflowSet
    catalogue: Catalogue
    rules: RuleBook
    calendar: WorkingCalendar
    reports: Reports

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
    return Motcua(service, desk, store, workflows, catalogue, rules, calendar, open_reports(store, workflows))
