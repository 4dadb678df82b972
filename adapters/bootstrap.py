"""Composition root: the only place that reads settings and wires the core to its adapters.

``open_motcua(url)`` gives a ready :class:`Motcua`: the case service, the one-stop desk, the backend the
URL names (:func:`motcua.adapters.backends.open_backend`: the store, the DVCQG sync status, the HTTP API's
keys, the bulk writer), the compiled workflows, the procedure catalogue, the rule book, the office
calendar and the reports. When a DVCQG portal is configured (``MOTCUA_DVCQG_URL``), every decision on a dossier
puts a ``dvcqg.sync`` effect in the outbox and the worker's notifier sends it to the portal
(docs/how-to/sync-to-dvcqg.md). That setting decides what decisions publish, never what a report says: the reports'
``sync`` indicator reads which dossiers were published from the outbox itself.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Final

import httpx

from motcua.adapters.anchors import DirectoryPublisher, WebhookPublisher, log_failure, log_published
from motcua.adapters.backends import Backend, open_backend
from motcua.adapters.logging import LoggingObserver, Pseudonyms, TolerantObserver
from motcua.adapters.notifiers import (
    FanOut,
    LogNotifier,
    ReceiverPause,
    RoutingNotifier,
    SmtpNotifier,
    WebhookNotifier,
    checked_addresses,
)
from motcua.adapters.portal.status import SyncLog
from motcua.adapters.portal.sync import PORTAL_KIND, HttpxTransport, PortalNotifier, PortalTransport, UnconfiguredPortal
from motcua.definitions.catalogue import load_procedures, load_rule_sets
from motcua.definitions.catalogue_store import CatalogueStore
from motcua.definitions.offices import DEFAULT_OFFICE, load_office
from motcua.definitions.pins import definition_digests
from motcua.definitions.references import check_references
from motcua.definitions.units import load_units, unit_calendars
from motcua.definitions.workflows import load_workflows
from motcua.workers.anchors import AnchorPublisher, AnchorSchedule
from motcua.workflow.dossiers.actions import DossierServices, dossier_registry
from motcua.workflow.dossiers.catalogue import Catalogue, RuleBook
from motcua.workflow.dossiers.desk import DOSSIER_WORKFLOW, Desk
from motcua.workflow.dossiers.sla import SlaClock
from motcua.workflow.dvcqg.imports import imported
from motcua.workflow.engine.clock import Clock, SystemClock
from motcua.workflow.engine.compiled import WorkflowSet
from motcua.workflow.engine.decisions import Engine
from motcua.workflow.engine.pins import check_pins
from motcua.workflow.engine.ports import Notifier, Observer, Storage
from motcua.workflow.engine.retry import RetryPolicy
from motcua.workflow.engine.service import CaseService
from motcua.workflow.errors import InvalidDefinition, InvalidInput
from motcua.workflow.feedback.actions import FEEDBACK_WORKFLOW, FeedbackServices, feedback_registry
from motcua.workflow.plan.actions import TaskServices, task_registry
from motcua.workflow.reports.ports import Reports
from motcua.workflow.units.directory import UnitDirectory
from motcua.workflow.worktime.calendar import WorkingCalendar

__all__ = [
    "DEFAULT_AGENCY",
    "DEFAULT_ANCHOR_EVERY_MINUTES",
    "DEFAULT_DATABASE_URL",
    "DEFAULT_HTTP_MAX_BODY",
    "PORTAL_PUBLISH",
    "Motcua",
    "PortalSettings",
    "anchor_schedule_from_settings",
    "database_url",
    "home_unit",
    "http_max_body",
    "log_pseudonyms",
    "logging_observer",
    "notifier_from_settings",
    "open_motcua",
    "portal_notifier",
    "portal_settings",
    "procedure_catalogue",
    "procedures_dir",
    "publish_from_settings",
]

DEFAULT_DATABASE_URL = "sqlite:///motcua.db"
DEFAULT_AGENCY = "000.00.00.H23"  # electronic id of the receiving agency (mã định danh), configurable
PORTAL_PUBLISH: Mapping[str, tuple[str, ...]] = {"tthc-dossier": (PORTAL_KIND,)}  # what is synced to DVCQG
DEFAULT_PORTAL_TIMEOUT_S = 10.0


HOME_CODE_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""The shape of a home unit's code: a unit code's (:data:`~motcua.definitions.units.UNIT_CODE_PATTERN`), lower-case
letters and ``_`` allowed too for a standalone desk's own code, at most 64 characters — it begins every dossier's
code, which travels in URLs, file names and the DVCQG records."""


def home_unit(explicit: str | None = None) -> str:
    """The unit a desk receives for unless told otherwise: ``agency`` wins, then ``MOTCUA_AGENCY`` (blank: unset),
    then :data:`DEFAULT_AGENCY` (a standalone commune); :class:`InvalidInput` naming the one given when it is not in
    :data:`HOME_CODE_PATTERN`'s shape."""
    name, code = ("agency", explicit) if explicit else ("MOTCUA_AGENCY", os.environ.get("MOTCUA_AGENCY", "").strip())
    if not code:
        return DEFAULT_AGENCY
    if not HOME_CODE_PATTERN.fullmatch(code):
        raise InvalidInput(name, "a unit code: letters, digits, '.', '-' and '_', at most 64 characters, beginning "
                                 f"with a letter or a digit (e.g. {DEFAULT_AGENCY} or LOCAL-HP-THANH-DONG)")
    return code


def procedures_dir(explicit: Path | None = None, environ: Mapping[str, str] | None = None) -> Path | None:
    """The province's catalogue directory (:mod:`motcua.definitions.catalogue_store`): ``--dir`` wins, then
    ``MOTCUA_PROCEDURES_DIR``; ``None``: the shipped catalogue, read-only."""
    env = os.environ if environ is None else environ
    text = env.get("MOTCUA_PROCEDURES_DIR", "").strip()
    return explicit or (Path(text) if text else None)


def procedure_catalogue(environ: Mapping[str, str] | None = None) -> Catalogue:
    """The catalogue in use: the current revision of ``MOTCUA_PROCEDURES_DIR``, or the shipped one when it is unset
    or holds no revision yet. Set to what is not a directory (a typo), it is refused: serving the shipped catalogue
    in place of a province's own would go unnoticed."""
    root = procedures_dir(environ=environ)
    if root is not None and not root.is_dir():
        raise InvalidDefinition("MOTCUA_PROCEDURES_DIR", [
            f"{root} is not a directory: create it (or let 'motcua procedures import … --apply' write its first "
            "revision), or unset the variable to use the shipped catalogue"])
    current = CatalogueStore(root).current_catalogue() if root is not None else None
    return load_procedures() if current is None else current


def database_url(explicit: str | None = None) -> str:
    """``--db`` wins, then ``MOTCUA_DATABASE_URL`` (unset or empty: not set), then the embedded SQLite default. An
    empty ``--db`` (``--db "$UNSET_VARIABLE"``, ``open_motcua("")``) is refused: it would open the default database,
    where the caller meant another."""
    if explicit is not None and not explicit.strip():
        raise InvalidInput("database url", "empty: give sqlite:///FILE, postgresql://… or memory://, or leave it out")
    return explicit or os.environ.get("MOTCUA_DATABASE_URL") or DEFAULT_DATABASE_URL


@dataclass(frozen=True)
class PortalSettings:
    """Where and how to reach the DVCQG portal (or the province's LGSP in front of it)."""

    url: str
    token: str = field(repr=False)  # a secret: never in a repr, hence never in a log line or a traceback
    agency: str | None = None  # DonViXuLy; the desk's agency when not set
    timeout: float = DEFAULT_PORTAL_TIMEOUT_S


def portal_settings(environ: Mapping[str, str] | None = None) -> PortalSettings | None:
    """MOTCUA_DVCQG_URL (none: no portal; else an ``http(s)://`` URL), MOTCUA_DVCQG_TOKEN (required with a URL:
    printable ASCII, as an HTTP header carries it), MOTCUA_DVCQG_AGENCY, MOTCUA_DVCQG_TIMEOUT (seconds, 10)."""
    env = os.environ if environ is None else environ
    url = env.get("MOTCUA_DVCQG_URL")
    if not url:
        return None
    token = env.get("MOTCUA_DVCQG_TOKEN")
    if not token:
        raise InvalidInput("MOTCUA_DVCQG_TOKEN", "the DVCQG portal needs an access token")
    if not (token.isascii() and token.isprintable() and token.strip() == token):
        raise InvalidInput("MOTCUA_DVCQG_TOKEN", "printable ASCII, no space at either end (as the portal issued it)")
    try:
        timeout = float(_setting(env, "MOTCUA_DVCQG_TIMEOUT", str(DEFAULT_PORTAL_TIMEOUT_S)))
    except ValueError:
        timeout = math.nan
    if not 0 < timeout < math.inf:
        raise InvalidInput("MOTCUA_DVCQG_TIMEOUT", "a positive number of seconds, e.g. 10")
    checked = _private_url("MOTCUA_DVCQG_URL", url, "the token and the dossiers", lab=_insecure_lab(env))
    return PortalSettings(checked, token, env.get("MOTCUA_DVCQG_AGENCY") or None, timeout)


def _setting(env: Mapping[str, str], name: str, default: str) -> str:
    """The variable ``name``, trimmed; ``default`` when it is unset or set to nothing (``NAME=`` in an env file), as
    every motcua setting reads a blank."""
    return env.get(name, "").strip() or default


def _http_url(setting: str, text: str) -> str:
    """``text``, an absolute ``http://`` or ``https://`` URL with a host; else :class:`InvalidInput` naming
    ``setting`` (not quoting the URL: it may carry credentials)."""
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL:
        url = None
    if url is None or url.scheme not in {"http", "https"} or not url.host:
        raise InvalidInput(setting, "an http:// or https:// URL with a host, e.g. https://one-stop.example.vn/events")
    return text


PSEUDONYM_KEY_MIN = 16  # characters of MOTCUA_LOG_PSEUDONYM_KEY: a short key would let names be tried


def log_pseudonyms(environ: Mapping[str, str] | None = None) -> Pseudonyms | None:
    """MOTCUA_LOG_PSEUDONYM_KEY (none: log lines name no actor, only the role): the per-deployment secret of the
    actors' pseudonyms in the logs (docs/explanation/personal-data.md)."""
    env = os.environ if environ is None else environ
    key = env.get("MOTCUA_LOG_PSEUDONYM_KEY")
    if not key:
        return None
    if len(key) < PSEUDONYM_KEY_MIN:
        raise InvalidInput("MOTCUA_LOG_PSEUDONYM_KEY", f"at least {PSEUDONYM_KEY_MIN} characters (a random secret)")
    return Pseudonyms(key.encode("utf-8"))


def logging_observer(workflows: WorkflowSet | None = None, environ: Mapping[str, str] | None = None) -> LoggingObserver:
    """The observer that logs each decision: the data fields ``workflows``' definitions declare not personal (default:
    the shipped definitions), the actor as :func:`log_pseudonyms` says."""
    definitions = workflows.definitions() if workflows is not None else None
    return LoggingObserver(definitions, pseudonyms=log_pseudonyms(environ))


DEFAULT_HTTP_MAX_BODY = 1_048_576  # bytes of one HTTP request body: the largest legitimate one is under 10 kB
_MAX_BODY_DIGITS = 18


def http_max_body(environ: Mapping[str, str] | None = None) -> int:
    """MOTCUA_HTTP_MAX_BODY: the largest request body the HTTP API reads, in bytes (1 MiB); a larger one is answered
    413 before it is read (:mod:`motcua.entrypoints.http.limits`)."""
    env = os.environ if environ is None else environ
    text = env.get("MOTCUA_HTTP_MAX_BODY", "").strip()
    if not text:
        return DEFAULT_HTTP_MAX_BODY
    if not (text.isascii() and text.isdigit() and len(text) <= _MAX_BODY_DIGITS and int(text) > 0):
        raise InvalidInput("MOTCUA_HTTP_MAX_BODY", "a whole number of bytes, at least 1 (1048576 is 1 MiB)")
    return int(text)


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
        portal = FanOut([LogNotifier(), ReceiverPause(portal_notifier(motcua, transport, clock or SystemClock(),
                                                                       agency=settings.agency))])
    return RoutingNotifier({PORTAL_KIND: portal}, base)


def portal_notifier(
    motcua: Motcua, transport: PortalTransport, clock: Clock, *, agency: str | None = None,
    policy: RetryPolicy | None = None,
) -> PortalNotifier:
    """The notifier of ``dvcqg.sync`` effects on ``motcua``'s store, sync status and workflows."""
    return PortalNotifier(motcua.store, motcua.workflows, motcua.sync, transport, clock,
                          agency=agency or motcua.desk.agency, policy=policy)


WEBHOOK_SECRET_MIN = 16  # characters of MOTCUA_WEBHOOK_SECRET: a short key would let signatures be forged by trying


def _channels(env: Mapping[str, str]) -> Notifier:
    notifiers: list[Notifier] = [LogNotifier()]
    lab = _insecure_lab(env)
    if host := env.get("MOTCUA_SMTP_HOST"):
        notifiers.append(ReceiverPause(_smtp(host, env, lab=lab)))
    if url := env.get("MOTCUA_WEBHOOK_URL"):
        notifiers.append(ReceiverPause(_webhook(url, env.get("MOTCUA_WEBHOOK_SECRET"), lab=lab)))
    return notifiers[0] if len(notifiers) == 1 else FanOut(notifiers)


def _insecure_lab(env: Mapping[str, str]) -> bool:
    """MOTCUA_INSECURE_LAB: ``true`` accepts the weak settings :func:`_private_url`, :func:`_signing_secret` and
    :func:`_smtp` otherwise refuse
    (for a lab, never for a commune's data); ``false`` (the default) refuses them."""
    value = _setting(env, "MOTCUA_INSECURE_LAB", "false").lower()
    if value not in {"true", "false"}:
        raise InvalidInput("MOTCUA_INSECURE_LAB", "true or false")
    return value == "true"


def _webhook(url: str, secret: str | None, *, lab: bool) -> WebhookNotifier:
    """The webhook channel: an ``https://`` URL (``http://`` only to this machine, or in a lab: a notice names
    people), signed by a secret of at least :data:`WEBHOOK_SECRET_MIN` characters (any, in a lab)."""
    if not secret:
        raise InvalidInput("MOTCUA_WEBHOOK_SECRET", "a webhook needs a secret to sign its requests")
    checked = _private_url("MOTCUA_WEBHOOK_URL", url, "the notices", lab=lab)
    return WebhookNotifier(checked, _signing_secret("MOTCUA_WEBHOOK_SECRET", secret, lab=lab))


def _private_url(name: str, url: str, what: str, *, lab: bool) -> str:
    """``url`` checked (:func:`_http_url`): ``https://``, or ``http://`` to this machine only, or in a lab — ``what``
    it carries would cross the network in the clear."""
    checked = _http_url(name, url)
    if not lab and httpx.URL(checked).scheme == "http" and not _loopback(httpx.URL(checked).host):
        raise InvalidInput(name, f"an https:// URL: http:// sends {what} in the clear (allowed to this machine only, "
                                 "or with MOTCUA_INSECURE_LAB=true in a lab)")
    return checked


def _signing_secret(name: str, secret: str, *, lab: bool) -> bytes:
    """A secret that signs requests: at least :data:`WEBHOOK_SECRET_MIN` characters (any, in a lab)."""
    if not lab and len(secret) < WEBHOOK_SECRET_MIN:
        raise InvalidInput(name, f"at least {WEBHOOK_SECRET_MIN} characters (a random secret; shorter only with "
                                 "MOTCUA_INSECURE_LAB=true in a lab)")
    return secret.encode("utf-8")


def _loopback(host: str) -> bool:
    """Whether ``host`` is this machine (``localhost``, ``127.0.0.0/8``, also written ``::ffff:127.…``, ``::1``): what
    is sent there crosses no network."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return (mapped or address).is_loopback


_MAX_PORT = 65_535


def _smtp(host: str, env: Mapping[str, str], *, lab: bool = False) -> SmtpNotifier:
    """The e-mail channel; every setting checked now (:class:`InvalidInput` naming it), not at the first notice.
    STARTTLS is on by default and required to another machine: without it the notices (which name officials and
    carry dossier codes, and forms naming applicants) and any password cross the network in the clear — as a
    webhook needs ``https://`` (:func:`_private_url`). Off only to this machine (its default there) or in a lab."""
    port = _setting(env, "MOTCUA_SMTP_PORT", "25")
    if not (port.isascii() and port.isdigit() and 0 < int(port) <= _MAX_PORT):
        raise InvalidInput("MOTCUA_SMTP_PORT", f"a TCP port, 1 to {_MAX_PORT} (25, 587…)")
    local = _loopback(host)
    starttls = _setting(env, "MOTCUA_SMTP_STARTTLS", "false" if local else "true").lower()
    if starttls not in {"true", "false"}:
        raise InvalidInput("MOTCUA_SMTP_STARTTLS", "true or false")
    username, password = _smtp_login(env)
    if starttls != "true" and not (lab or local):
        raise InvalidInput("MOTCUA_SMTP_STARTTLS", "true (the default) to another machine: without STARTTLS the "
                                                   "notices, and any password, cross the network in the clear "
                                                   "(allowed to this machine only, or with MOTCUA_INSECURE_LAB=true "
                                                   "in a lab)")
    [sender] = checked_addresses("MOTCUA_SMTP_FROM", [_setting(env, "MOTCUA_SMTP_FROM", "motcua@localhost")])
    recipients = {role: checked_addresses(name, _addresses(env.get(name, "")))
                  for role, name in ((role, f"MOTCUA_NOTIFY_{role.upper()}") for role in _ROLES)}
    return SmtpNotifier(host, int(port), sender, recipients, starttls=starttls == "true", username=username,
                        password=password)


def _smtp_login(env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """MOTCUA_SMTP_USER and MOTCUA_SMTP_PASSWORD: a password needs its user, and both are ASCII (smtplib encodes its
    AUTH command so: every login with another character would fail)."""
    username, password = env.get("MOTCUA_SMTP_USER"), env.get("MOTCUA_SMTP_PASSWORD")
    if password and not username:
        raise InvalidInput("MOTCUA_SMTP_USER", "MOTCUA_SMTP_PASSWORD is set: the user it logs in as is needed too")
    for name, value in (("MOTCUA_SMTP_USER", username), ("MOTCUA_SMTP_PASSWORD", password)):
        if value is not None and not value.isascii():
            raise InvalidInput(name, "ASCII characters only (Python's smtplib logs in with nothing else)")
    return username, password


def _addresses(text: str) -> list[str]:
    return [address.strip() for address in text.split(",") if address.strip()]


DEFAULT_ANCHOR_EVERY_MINUTES = 60.0


def anchor_schedule_from_settings(
    motcua: Motcua, clock: Clock, environ: Mapping[str, str] | None = None
) -> AnchorSchedule | None:
    """The worker's published anchors (docs/auditing.md), or None when MOTCUA_ANCHOR_TO is unset: a directory, or
    an ``http(s)://`` URL whose requests MOTCUA_ANCHOR_SECRET (else MOTCUA_WEBHOOK_SECRET) signs; one anchor at
    start, then every MOTCUA_ANCHOR_EVERY_MINUTES (a positive number, 60). Bad settings stop the command now."""
    env = os.environ if environ is None else environ
    target = env.get("MOTCUA_ANCHOR_TO", "").strip()
    if not target:
        return None
    text = env.get("MOTCUA_ANCHOR_EVERY_MINUTES", str(DEFAULT_ANCHOR_EVERY_MINUTES))
    try:
        minutes = float(text)
    except ValueError:
        minutes = -1.0
    if not 0 < minutes < float("inf"):
        raise InvalidInput("MOTCUA_ANCHOR_EVERY_MINUTES", "a positive number of minutes, e.g. 60")
    publisher: AnchorPublisher = DirectoryPublisher(Path(target))
    if target.startswith(("http://", "https://")):
        name = "MOTCUA_ANCHOR_SECRET" if env.get("MOTCUA_ANCHOR_SECRET") else "MOTCUA_WEBHOOK_SECRET"
        secret = env.get(name)
        if not secret:
            raise InvalidInput("MOTCUA_ANCHOR_SECRET", "anchors sent to a webhook need a secret to sign them")
        publisher = WebhookPublisher(target, _signing_secret(name, secret, lab=_insecure_lab(env)))
    return AnchorSchedule(motcua.store.entries, publisher, clock, timedelta(minutes=minutes),
                          on_published=log_published, on_error=log_failure)


@dataclass(frozen=True)
class Motcua:
    service: CaseService
    desk: Desk
    backend: Backend
    workflows: WorkflowSet
    catalogue: Catalogue
    rules: RuleBook
    calendar: WorkingCalendar
    reports: Reports
    publish: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def store(self) -> Storage:
        return self.backend.store

    @property
    def sync(self) -> SyncLog:
        """The DVCQG sync status on the store's database."""
        return self.backend.sync

    def close(self) -> None:
        self.backend.close()


def open_motcua(
    url: str | None = None, *, clock: Clock | None = None, office: str = DEFAULT_OFFICE,
    agency: str | None = None, observers: Sequence[Observer] | None = None,
    publish: Mapping[str, tuple[str, ...]] | None = None,
) -> Motcua:
    """``publish``: the effect kinds every decision of a workflow releases (:data:`PORTAL_PUBLISH` syncs the
    dossiers to DVCQG); by default :func:`publish_from_settings`. It changes only what decisions emit: the
    reports measure the ``sync`` indicator from the data (dossiers with ``dvcqg.sync`` effects), whatever
    this process publishes.

    Every workflow version and rule set loaded is pinned in the database the first time it is opened with it; one
    whose digest differs from its pin (edited in place since) is refused with
    :class:`~motcua.workflow.errors.DefinitionChanged` (:mod:`motcua.workflow.engine.pins`)."""
    catalogue, rules, register = procedure_catalogue(), load_rule_sets(), load_units()
    calendar = load_office(office).calendar()
    sla = SlaClock(calendar)
    clocks = {code: SlaClock(unit_calendar) for code, unit_calendar in unit_calendars(register).items()}
    home = home_unit(agency)  # a bad MOTCUA_AGENCY stops the call before anything is connected
    units = UnitDirectory(register, home)
    workflows = load_workflows({
        DOSSIER_WORKFLOW: dossier_registry(DossierServices(sla, catalogue, rules, clocks, units)),
        "plan-task": task_registry(TaskServices(sla, rules, clocks)),
        FEEDBACK_WORKFLOW: feedback_registry(FeedbackServices(sla, rules, clocks)),
    })
    check_references(catalogue, rules, workflows, {DOSSIER_WORKFLOW})
    published = publish_from_settings() if publish is None else publish
    engine = Engine(workflows, clock or SystemClock(), published, unpublished=imported)  # the portal's own records
    # the observers first: a bad logging setting stops the call before anything is connected
    given: Sequence[Observer] = [logging_observer(workflows)] if observers is None else observers
    told = [TolerantObserver(observer) for observer in given]  # an observer's failure is never the caller's
    backend = open_backend(database_url(url))
    try:
        # a workflow version or a rule set edited in place since the database pinned it stops the process here,
        # before any case is read or moved under rules it did not run under
        check_pins(backend.pins, definition_digests(workflows.definitions(), rules), engine.clock.now())
        reports = backend.reports(workflows.status_of, catalogue.full_online_eligible)
    except BaseException:
        backend.close()  # opened, then refused: nothing of it may stay open
        raise
    service = CaseService(engine, backend.store, told)
    desk = Desk(service, backend.store, catalogue, rules, home, units=units)
    return Motcua(service, desk, backend, workflows, catalogue, rules, calendar, reports, published)
