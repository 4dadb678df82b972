"""Composition root: the only place that reads settings and wires the core to its adapters.

``open_motcua(url)`` gives a ready :class:`Motcua`: the case service, the one-stop desk, the store,
the compiled workflows, the procedure catalogue, the rule book, the office calendar, the reports and the
DVCQG sync status. When a DVCQG portal is configured (``MOTCUA_DVCQG_URL``), every decision on a dossier
puts a ``dvcqg.sync`` effect in the outbox and the worker's notifier sends it to the portal
(docs/dvcqg-sync.md). That setting decides what decisions publish, never what a report says: the reports'
``sync`` indicator reads which dossiers were published from the outbox itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from motcua.adapters.logging import LoggingObserver
from motcua.adapters.memory.reports import MemoryReports
from motcua.adapters.memory.store import MemoryStore
from motcua.adapters.notifiers import FanOut, LogNotifier, RoutingNotifier, SmtpNotifier, WebhookNotifier
from motcua.adapters.portal.status import MemorySyncLog, SyncLog
from motcua.adapters.portal.sync import PORTAL_KIND, HttpxTransport, PortalNotifier, PortalTransport, UnconfiguredPortal
from motcua.definitions.catalogue import load_procedures, load_rule_sets
from motcua.definitions.offices import DEFAULT_OFFICE, load_office
from motcua.definitions.workflows import load_workflows
from motcua.workflow.dossiers.actions import DossierServices, dossier_registry
from motcua.workflow.dossiers.catalogue import Catalogue, RuleBook
from motcua.workflow.dossiers.desk import Desk
from motcua.workflow.dossiers.sla import SlaClock
from motcua.workflow.engine.clock import Clock, SystemClock
from motcua.workflow.engine.compiled import WorkflowSet
from motcua.workflow.engine.decisions import Engine
from motcua.workflow.engine.errors import InvalidInput
from motcua.workflow.engine.ports import Notifier, Observer, Storage
from motcua.workflow.engine.retry import RetryPolicy
from motcua.workflow.engine.service import CaseService
from motcua.workflow.plan.actions import TaskServices, task_registry
from motcua.workflow.reports.ports import Reports
from motcua.workflow.worktime.calendar import WorkingCalendar

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine as SqlEngine

__all__ = [
    "DEFAULT_AGENCY",
    "DEFAULT_DATABASE_URL",
    "PORTAL_PUBLISH",
    "Motcua",
    "PortalSettings",
    "database_url",
    "notifier_from_settings",
    "open_motcua",
    "open_reports",
    "open_store",
    "open_sync_log",
    "portal_notifier",
    "portal_settings",
    "publish_from_settings",
    "sql_engine",
]

DEFAULT_DATABASE_URL = "sqlite:///motcua.db"
DEFAULT_AGENCY = "000.00.00.H23"  # electronic id of the receiving agency (mã định danh), configurable
PORTAL_PUBLISH: Mapping[str, tuple[str, ...]] = {"tthc-dossier": (PORTAL_KIND,)}  # what is synced to DVCQG
DEFAULT_PORTAL_TIMEOUT_S = 10.0


def database_url(explicit: str | None = None) -> str:
    """``--db`` wins, then ``MOTCUA_DATABASE_URL``, then the embedded SQLite default."""
    return explicit or os.environ.get("MOTCUA_DATABASE_URL") or DEFAULT_DATABASE_URL


def open_store(url: str) -> Storage:
    if url == "memory://":
        return MemoryStore()
    if url.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:", "postgres:")):
        from motcua.adapters.sql.store import SqlStore  # noqa: PLC0415 - SQL drivers load only when a SQL URL is used

        return SqlStore.from_url(url, migrate=True)
    raise InvalidInput("database url", f"{url!r}: use sqlite:///FILE, postgresql://… or memory://")


def open_reports(store: Storage, workflows: WorkflowSet, sync: SyncLog) -> Reports:
    """The reporting projection on the store's database: in memory beside a memory store, else in SQL.

    ``sync``: the DVCQG sync status on the same database. Whether the ``sync`` indicator is measured is read
    from the data (dossiers with ``dvcqg.sync`` effects), never from this process's settings."""
    if isinstance(store, MemoryStore):
        return MemoryReports(store, workflows.status_of, sync)
    from motcua.adapters.sql.reports import SqlReports  # noqa: PLC0415 - SQL loads only when a SQL URL is used

    return SqlReports(sql_engine(store, "reporting projection"), workflows.status_of)


def sql_engine(store: Storage, what: str) -> SqlEngine:
    """The database engine of a SQL store, for the tables that live beside its cases (``what``: for the error)."""
    from motcua.adapters.sql.store import SqlStore  # noqa: PLC0415 - SQL loads only when a SQL URL is used

    if isinstance(store, SqlStore):
        return store.engine
    raise InvalidInput("database url", f"no {what} for a {type(store).__name__}")


def open_sync_log(store: Storage) -> SyncLog:
    """The DVCQG sync status on the store's database."""
    if isinstance(store, MemoryStore):
        return MemorySyncLog()
    from motcua.adapters.sql.portal_status import SqlSyncLog  # noqa: PLC0415 - SQL loads only when a SQL URL is used

    return SqlSyncLog(sql_engine(store, "sync status table"))


@dataclass(frozen=True)
class PortalSettings:
    """Where and how to reach the DVCQG portal (or the province's LGSP in front of it)."""

    url: str
    token: str
    agency: str | None = None  # DonViXuLy; the desk's agency when not set
    timeout: float = DEFAULT_PORTAL_TIMEOUT_S


def portal_settings(environ: Mapping[str, str] | None = None) -> PortalSettings | None:
    """MOTCUA_DVCQG_URL (none: no portal), MOTCUA_DVCQG_TOKEN (required with a URL), MOTCUA_DVCQG_AGENCY,
    MOTCUA_DVCQG_TIMEOUT (seconds, 10)."""
    env = os.environ if environ is None else environ
    url = env.get("MOTCUA_DVCQG_URL")
    if not url:
        return None
    token = env.get("MOTCUA_DVCQG_TOKEN")
    if not token:
        raise InvalidInput("MOTCUA_DVCQG_TOKEN", "the DVCQG portal needs an access token")
    try:
        timeout = float(env.get("MOTCUA_DVCQG_TIMEOUT", str(DEFAULT_PORTAL_TIMEOUT_S)))
    except ValueError:
        raise InvalidInput("MOTCUA_DVCQG_TIMEOUT", "seconds, e.g. 10") from None
    return PortalSettings(url, token, env.get("MOTCUA_DVCQG_AGENCY") or None, timeout)


def publish_from_settings(environ: Mapping[str, str] | None = None) -> Mapping[str, tuple[str, ...]]:
    """What every decision publishes: the dossiers to DVCQG when a portal is configured, else nothing."""
    return PORTAL_PUBLISH if portal_settings(environ) is not None else {}


_ROLES = ("officer", "specialist", "leader", "chairman", "owner")


def notifier_from_settings(
    environ: Mapping[str, str] | None = None, *, motcua: Motcua | None = None, clock: Clock | None = None
) -> Notifier:
    """Structured log always; e-mail when MOTCUA_SMTP_HOST is set; a webhook when MOTCUA_WEBHOOK_URL is.

    Recipients per role come from MOTCUA_NOTIFY_OFFICER, _LEADER, _CHAIRMAN… (comma-separated). Given
    ``motcua`` (whose store the portal reads), ``dvcqg.sync`` effects go to the DVCQG portal of
    :func:`portal_settings` (and the log), or are parked while none is configured.
    """
    env = os.environ if environ is None else environ
    base = _channels(env)
    settings = portal_settings(env)  # bad portal settings stop the command at once
    if motcua is None:
        return base
    portal: Notifier = UnconfiguredPortal()
    if settings is not None:
        transport = HttpxTransport(settings.url, settings.token, timeout=settings.timeout)
        portal = FanOut([LogNotifier(), portal_notifier(motcua, transport, clock or SystemClock(),
                                                         agency=settings.agency)])
    return RoutingNotifier({PORTAL_KIND: portal}, base)


def portal_notifier(
    motcua: Motcua, transport: PortalTransport, clock: Clock, *, agency: str | None = None,
    policy: RetryPolicy | None = None,
) -> PortalNotifier:
    """The notifier of ``dvcqg.sync`` effects on ``motcua``'s store, sync status and workflows."""
    return PortalNotifier(motcua.store, motcua.workflows, motcua.sync, transport, clock,
                          agency=agency or motcua.desk.agency, policy=policy)


def _channels(env: Mapping[str, str]) -> Notifier:
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
    sync: SyncLog = field(default_factory=MemorySyncLog)
    publish: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def close(self) -> None:
        close = getattr(self.store, "close", None)
        if callable(close):
            close()


def open_motcua(
    url: str | None = None, *, clock: Clock | None = None, office: str = DEFAULT_OFFICE,
    agency: str = DEFAULT_AGENCY, observers: Sequence[Observer] | None = None,
    publish: Mapping[str, tuple[str, ...]] | None = None,
) -> Motcua:
    """``publish``: the effect kinds every decision of a workflow releases (:data:`PORTAL_PUBLISH` syncs the
    dossiers to DVCQG); by default :func:`publish_from_settings`. It changes only what decisions emit: the
    reports measure the ``sync`` indicator from the data, whatever this process publishes."""
    catalogue, rules = load_procedures(), load_rule_sets()
    calendar = load_office(office).calendar()
    sla = SlaClock(calendar)
    workflows = load_workflows({
        "tthc-dossier": dossier_registry(DossierServices(sla, catalogue, rules)),
        "plan-task": task_registry(TaskServices(sla, rules)),
    })
    published = publish_from_settings() if publish is None else publish
    store = open_store(database_url(url))
    engine = Engine(workflows, clock or SystemClock(), published)
    service = CaseService(engine, store, [LoggingObserver()] if observers is None else observers)
    desk = Desk(service, store, catalogue, rules, agency)
    sync = open_sync_log(store)
    reports = open_reports(store, workflows, sync)
    return Motcua(service, desk, store, workflows, catalogue, rules, calendar, reports, sync, published)
