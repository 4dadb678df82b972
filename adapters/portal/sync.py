"""Synchronising dossiers to DVCQG: the ``dvcqg.sync`` effects of the outbox, delivered to the portal.

Every committed decision of a published workflow puts ``Effect("dvcqg.sync", {"sequence": n})`` in the
outbox, in the transaction of its audit entry (:class:`motcua.workflow.engine.decisions.Engine`'s ``publish``).
:class:`PortalNotifier` delivers one: it loads the dossier and its history, builds the ``DongBoHoSoMC``
record of the dossier *as it stands now* and the ``CapNhatTienDoHoSoMC`` record of entry ``n``
(:mod:`motcua.workflow.dvcqg.portal`), and posts them, in that order, through a :class:`PortalTransport`::

    {"service": "DongBoHoSoMC", "isUpdating": false, "data": [{...}]}
    {"service": "CapNhatTienDoHoSoMC", "isUpdating": false, "data": [{...}]}

``isUpdating`` is true once one of the dossier's entries was synced. The portal's answer (an assumption,
see docs/how-to/sync-to-dvcqg.md) is JSON ``{"error_code": "0", "message": "…"}``; :func:`read_answer` reads it:

- ``error_code`` 0: done;
- a message containing ``đã tồn tại`` ("already exists"): the dossier record is sent again as an update,
  a progress record is already there; both count as done — but said to an update, it is a refusal (the update was
  not taken);
- HTTP 408, 429, 5xx, timeouts, connection errors: ``DeliveryUnavailable`` (retryable: backoff, then park);
- any other refusal (other 4xx, a non-zero ``error_code``) and malformed answers (not JSON, no
  ``error_code``): ``DeliveryFailed`` (final), parked at once for an operator
  (``motcua outbox retry``).

After each attempt the entry's status goes to the :class:`~motcua.adapters.portal.status.SyncLog`: synced,
failed (will be retried) or parked (what the worker's :class:`~motcua.workflow.engine.retry.RetryPolicy` decides).

Ordering: the dossier record always carries the current state, so an entry delivered late (after a
retry) never takes the portal's dossier back to an older status; each progress record carries its own
``ThoiDiemXuLy``, so the portal's timeline orders them whatever the order of arrival.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from http import HTTPStatus
from typing import Final, Literal, Protocol

import httpx

from motcua.adapters.errors import PortalAddressInvalid, PortalUnreachable
from motcua.adapters.logging import mask_text
from motcua.adapters.portal.status import SyncLog
from motcua.adapters.posting import post
from motcua.workflow.auditing.upcasting import upcast
from motcua.workflow.dvcqg.portal import (
    DOSSIER_SERVICE,
    PROGRESS_SERVICE,
    SYNC_KIND,
    EntrySync,
    SyncStatus,
    dossier_record,
    progress_record,
)
from motcua.workflow.engine.bounds import excerpt, json_document, line_problem
from motcua.workflow.engine.clock import Clock
from motcua.workflow.engine.compiled import WorkflowSet
from motcua.workflow.engine.model import JsonValue, OutboxItem
from motcua.workflow.engine.ports import CaseStore
from motcua.workflow.engine.retry import Park, RetryPolicy
from motcua.workflow.errors import DeliveryFailed, DeliveryUnavailable, MotcuaError

__all__ = [
    "DUPLICATE_MARK",
    "MAX_ANSWER",
    "PORTAL_KIND",
    "HttpxTransport",
    "PortalAddressInvalid",
    "PortalAnswer",
    "PortalNotifier",
    "PortalTransport",
    "PortalUnreachable",
    "UnconfiguredPortal",
    "read_answer",
]

PORTAL_KIND: Final = SYNC_KIND
DUPLICATE_MARK: Final = "đã tồn tại"
_RETRYABLE: Final = frozenset({HTTPStatus.REQUEST_TIMEOUT, HTTPStatus.TOO_MANY_REQUESTS})
_DETAIL_LIMIT: Final = 300  # characters of an answer quoted in an error
MAX_ANSWER: Final = 4 << 20  # bytes of an answer read: the portal's are a few hundred (a refusal quoting megabytes
# is still read whole, then quoted as an excerpt)


# -- transport ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PortalAnswer:
    status: int  # HTTP status
    body: bytes
    retry_after: timedelta | None = None  # the wait its Retry-After header asks for (408, 429, 5xx: honoured)


class PortalTransport(Protocol):
    def send(self, document: Mapping[str, JsonValue]) -> PortalAnswer:
        """POST one document; :class:`PortalUnreachable` when no answer came, :class:`PortalAddressInvalid` when the
        URL cannot be used."""
        ...


class HttpxTransport:
    """POSTs JSON (UTF-8) to the portal's URL with a bearer token; one connection per request. The whole exchange ends
    within the timeout, and the answer's body is read up to :data:`MAX_ANSWER` bytes (what is beyond is dropped: the
    answer is then malformed) (:func:`motcua.adapters.posting.post`), so a portal that drips its answer, or sends one
    without end, holds a worker no longer than the timeout and fills no memory."""

    def __init__(self, url: str, token: str, *, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout
        self._headers = {"Content-Type": "application/json; charset=utf-8", "Authorization": f"Bearer {token}"}

    def send(self, document: Mapping[str, JsonValue]) -> PortalAnswer:
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        try:
            answer = post(self.url, body, self._headers, timeout=self.timeout, read=MAX_ANSWER)
        except (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.InvalidURL) as error:
            raise PortalAddressInvalid(f"{error}") from error
        except httpx.TimeoutException as error:
            raise PortalUnreachable(f"timed out after {self.timeout}s") from error
        except httpx.RequestError as error:
            raise PortalUnreachable(f"{type(error).__name__}: {error}") from error
        return PortalAnswer(answer.status, answer.body, answer.retry_after)


# -- answers --------------------------------------------------------------------------------------

Verdict = Literal["done", "duplicate"]


def read_answer(service: str, answer: PortalAnswer) -> Verdict:
    """What the portal said, or :class:`DeliveryFailed` (retryable for 408, 429 and 5xx only)."""
    if answer.status >= HTTPStatus.INTERNAL_SERVER_ERROR or answer.status in _RETRYABLE:
        raise DeliveryUnavailable(PORTAL_KIND, f"{service}: HTTP {answer.status} {_shown(answer.body)}".rstrip(),
                                  retry_after=answer.retry_after)
    accepted = HTTPStatus.OK <= answer.status < HTTPStatus.MULTIPLE_CHOICES
    document, why = _document(answer)
    if document is None:
        if accepted:
            shown = _shown(answer.body) or "(empty)"
            raise DeliveryFailed(PORTAL_KIND, f"{service}: malformed answer ({why}), HTTP {answer.status}: {shown}")
        raise DeliveryFailed(PORTAL_KIND, f"{service}: refused, HTTP {answer.status}: {_shown(answer.body)}".rstrip())
    code, message = document["error_code"], document.get("message") or ""
    if _is_duplicate(str(message)):
        return "duplicate"
    if accepted and str(code).strip() == "0":
        return "done"
    raise DeliveryFailed(PORTAL_KIND, f"{service}: refused (HTTP {answer.status}, error_code {_said(code)}): "
                         f"{_said(message) if message else 'no message'}")


def _said(value: object) -> str:
    """What the portal said, as it said it when that is one line of at most :data:`_DETAIL_LIMIT` characters, else an
    excerpt (a NUL, a lone surrogate or megabytes of it would fail the sync log's column, or fill it); an identity or
    telephone number in it masked as the logs mask them (the sync log keeps it, the console and ``sync status`` show
    it: a portal's refusal may quote the applicant's)."""
    text = mask_text(str(value))
    return text if line_problem(text, _DETAIL_LIMIT) is None else excerpt(text, _DETAIL_LIMIT)


def _document(answer: PortalAnswer) -> tuple[Mapping[str, JsonValue] | None, str]:
    """The answer's JSON object with an ``error_code`` (a number or text), or ``None`` and why not."""
    try:
        document = json_document(answer.body.decode("utf-8-sig"))  # a byte-order mark first: IIS gateways add one
    except (UnicodeDecodeError, ValueError):
        return None, "not JSON"
    if not isinstance(document, dict) or "error_code" not in document:
        return None, "no error_code"
    code = document["error_code"]
    if isinstance(code, bool) or not isinstance(code, str | int):
        return None, f"error_code {code!r} is neither a number nor text"
    return document, ""


def _is_duplicate(message: str) -> bool:
    return DUPLICATE_MARK in unicodedata.normalize("NFC", message).casefold()


def _shown(body: bytes) -> str:
    """An answer's body quoted in an error, as :func:`_said` quotes what the portal said: a NUL or another control
    character (an HTML page's line breaks) would fail the sync log's column, or break the line it is shown on."""
    return _said(body.decode("utf-8", errors="replace").strip())


# -- the notifier ---------------------------------------------------------------------------------


class PortalNotifier:
    """Delivers ``dvcqg.sync`` effects to the portal and records each entry's sync status."""

    channel = "dvcqg"  # its name in a fan-out

    def __init__(
        self, store: CaseStore, workflows: WorkflowSet, sync: SyncLog, transport: PortalTransport, clock: Clock,
        *, agency: str, policy: RetryPolicy | None = None,
    ) -> None:
        self.store = store
        self.workflows = workflows
        self.sync = sync
        self.transport = transport
        self.clock = clock
        self.agency = agency
        self.policy = policy or RetryPolicy()  # the worker's: says whether a failure parks the effect

    def deliver(self, item: OutboxItem) -> None:
        sequence = _sequence(item)
        try:
            self._send(item.case_code, sequence)
        except DeliveryFailed as failure:
            self._record(item, sequence, self._failed_status(item, failure), failure.detail)
            raise
        self._record(item, sequence, "synced", None)

    def _send(self, code: str, sequence: int) -> None:
        case = self.store.load(code)
        entries = [upcast(entry) for entry in self.store.history(code)]
        definition = self.workflows.get(case.definition_key, case.definition_version).definition
        try:
            dossier = dossier_record(case, entries, definition, self.agency, at=self.clock.now())  # sent now
            progress = progress_record(entries, sequence, definition, self.agency)
        except MotcuaError as error:
            raise DeliveryFailed(PORTAL_KIND, f"no record for {code} entry {sequence}: {error}") from error
        updating = any(status.status == "synced" for status in self.sync.statuses(code))
        if self._post(DOSSIER_SERVICE, dossier, updating=updating) == "duplicate" and not updating:
            self._post(DOSSIER_SERVICE, dossier, updating=True)
        self._post(PROGRESS_SERVICE, progress, updating=False)  # a duplicate is already recorded: done

    def _post(self, service: str, record: dict[str, JsonValue], *, updating: bool) -> Verdict:
        document: dict[str, JsonValue] = {"service": service, "isUpdating": updating, "data": [record]}
        try:
            answer = self.transport.send(document)
        except PortalUnreachable as error:
            raise DeliveryUnavailable(PORTAL_KIND, f"{service}: {error.detail}") from error
        except PortalAddressInvalid as error:
            raise DeliveryFailed(PORTAL_KIND, f"{service}: {error.detail}") from error
        verdict = read_answer(service, answer)
        if verdict == "duplicate" and updating:  # an update not taken: the portal keeps an older state
            raise DeliveryFailed(PORTAL_KIND, f"{service}: update refused, HTTP {answer.status}: {_shown(answer.body)}")
        return verdict

    def _failed_status(self, item: OutboxItem, failure: DeliveryFailed) -> SyncStatus:
        settlement = self.policy.after_failure(item.attempts + 1, self.clock.now(), failure)
        return "parked" if isinstance(settlement, Park) else "failed"

    def _record(self, item: OutboxItem, sequence: int, status: SyncStatus, error: str | None) -> None:
        now = self.clock.now()
        self.sync.record(EntrySync(
            case_code=item.case_code, sequence=sequence, status=status, attempts=item.attempts + 1,
            updated_at=now, last_error=error, synced_at=now if status == "synced" else None,
        ))


def _sequence(item: OutboxItem) -> int:
    sequence = item.payload.get("sequence")
    if item.kind != PORTAL_KIND or not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
        raise DeliveryFailed(item.kind, f"not a {PORTAL_KIND} effect with an entry sequence: {dict(item.payload)}")
    return sequence


class UnconfiguredPortal:
    """Where ``dvcqg.sync`` effects go while no portal is configured: parked, never lost nor dropped."""

    def deliver(self, item: OutboxItem) -> None:
        raise DeliveryFailed(item.kind, "no DVCQG portal is configured (MOTCUA_DVCQG_URL): parked until one is")
