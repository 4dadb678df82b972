"""Errors as ``application/problem+json`` (RFC 9457), one stable ``code`` per typed error.

``type`` is ``urn:motcua:problem:<code>``; ``code`` is the same short name, the one a host switches on.
Typed errors of the core keep their data: ``problems`` (field → message) for bad data, ``state`` for a
trigger not allowed, ``allowed_roles`` for a role refused, ``current_version`` for a stale write.

A problem never quotes more of the input than a short excerpt: the messages name the field and what is wrong, and
:func:`problem_response` cuts whatever reaches it (``detail``, the first ten ``problems``), so that a request of a
megabyte cannot buy an answer of a megabyte.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import ClientDisconnect

from motcua.workflow import errors

__all__ = [
    "DETAIL_MAX",
    "PROBLEMS_MAX",
    "PROBLEM_MEDIA_TYPE",
    "ApiProblem",
    "Problem",
    "Spec",
    "from_error",
    "not_json",
    "problem_response",
    "responses",
    "unreadable_body",
    "unreadable_cause",
]

PROBLEM_MEDIA_TYPE: Final = "application/problem+json"
DETAIL_MAX: Final = 500  # characters of a problem's detail
PROBLEMS_MAX: Final = 10  # fields a problem names
FIELD_MAX: Final = 100  # characters of a field's name in ``problems``
MESSAGE_MAX: Final = 300  # characters of what is wrong with it


class Problem(BaseModel):
    """Problem details (RFC 9457) with motcua's stable error code and the data of the typed error."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="urn:motcua:problem:<code>")
    title: str
    status: int
    code: str = Field(description="Stable error code: switch on this.")
    detail: str
    problems: dict[str, str] | None = Field(default=None, description="Field → what was wrong with it.")
    state: dict[str, str] | None = Field(default=None, description="The dossier's state per region.")
    allowed_roles: list[str] | None = None
    guards: list[str] | None = None
    rule: str | None = Field(default=None, description="The legal rule a guard refused by (rule-refused).")
    source: str | None = Field(default=None, description="The legal text of that rule.")
    current_version: int | None = None


@dataclass(frozen=True, slots=True)
class Spec:
    status: int
    code: str
    title: str


NOT_FOUND = Spec(404, "case-not-found", "No such dossier")
UNKNOWN_TRIGGER = Spec(422, "unknown-trigger", "Unknown trigger")
NOT_ALLOWED = Spec(409, "transition-not-allowed", "Trigger not allowed in this state")
GUARD = Spec(409, "guard-rejected", "Rejected by a guard")
ROLE = Spec(403, "role-not-allowed", "Role may not fire this trigger")
OUTSIDE = Spec(403, "outside-scope", "Outside this key's scope")
UNIT_NOT_FOUND = Spec(404, "unit-not-found", "No such unit")
MALFORMED = Spec(422, "malformed-data", "Malformed trigger data")
STALE = Spec(412, "version-mismatch", "The dossier changed since that version")
EXISTS = Spec(409, "case-already-exists", "Dossier code already used")
IMPORTED = Spec(409, "imported-dossier", "Dossier handled in the system that received it (imported from DVCQG)")
PROCEDURE = Spec(422, "unknown-procedure", "Unknown procedure")
INPUT = Spec(422, "invalid-input", "Invalid input")
RULES = Spec(422, "no-rule-set-in-force", "No rule set in force")
UNAVAILABLE = Spec(503, "storage-unavailable", "Storage unavailable, try again")
INTERNAL = Spec(500, "internal-error", "Internal error")
UNAUTHENTICATED = Spec(401, "unauthenticated", "A valid API key is required")
IF_MATCH_REQUIRED = Spec(428, "if-match-required", "If-Match is required")
BAD_IF_MATCH = Spec(400, "invalid-if-match", "Malformed If-Match")
BAD_IF_NONE_MATCH = Spec(400, "invalid-if-none-match", "Malformed If-None-Match")
INVALID_REQUEST = Spec(422, "invalid-request", "Invalid request")
KEY_REUSED = Spec(422, "idempotency-key-reused", "Idempotency-Key reused with another request")
IN_FLIGHT = Spec(409, "idempotency-request-in-flight", "The first request with this Idempotency-Key is running")
BAD_KEY = Spec(400, "invalid-idempotency-key", "Malformed Idempotency-Key")
ROUTE_NOT_FOUND = Spec(404, "not-found", "No such resource")
METHOD = Spec(405, "method-not-allowed", "Method not allowed")
TOO_LARGE = Spec(413, "request-too-large", "Request body too large")
HEAD_TOO_LARGE = Spec(431, "request-head-too-large", "Request line and headers too large")
HEAD_TIMEOUT = Spec(408, "request-timeout", "Request line and headers not received in time")
UNREADABLE = Spec(400, "unreadable-body", "Unreadable request body")
MEDIA_TYPE = Spec(415, "unsupported-media-type", "Unsupported media type")


class ApiProblem(Exception):
    """Raised by the HTTP layer itself (authentication, preconditions, idempotency)."""

    def __init__(self, spec: Spec, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.spec = spec
        self.detail = detail
        self.extra = extra


def _spec_of(error: errors.MotcuaError) -> Spec:
    specs: tuple[tuple[type[errors.MotcuaError], Spec], ...] = (
        (errors.CaseNotFound, NOT_FOUND), (errors.UnknownTrigger, UNKNOWN_TRIGGER), (errors.GuardRejected, GUARD),
        (errors.TransitionNotAllowed, NOT_ALLOWED), (errors.RoleNotAllowed, ROLE), (errors.MalformedData, MALFORMED),
        (errors.ConcurrencyConflict, STALE), (errors.CaseAlreadyExists, EXISTS), (errors.UnknownProcedure, PROCEDURE),
        (errors.InvalidInput, INPUT), (errors.NoRuleSetInForce, RULES), (errors.StorageUnavailable, UNAVAILABLE),
        (errors.OutsideScope, OUTSIDE), (errors.ImportedDossier, IMPORTED),
    )
    return next((spec for kind, spec in specs if isinstance(error, kind)), INTERNAL)


def _extra_of(error: errors.MotcuaError) -> dict[str, Any]:
    if isinstance(error, errors.MalformedData):
        return {"problems": error.problems}
    if isinstance(error, errors.InvalidInput | errors.OutsideScope):
        return {"problems": {error.field: error.message}}
    if isinstance(error, errors.GuardRejected):
        named = {"rule": error.rule, "source": error.source} if isinstance(error, errors.RuleRefused) else {}
        return {"state": error.state, "guards": list(error.guards), **named}
    if isinstance(error, errors.TransitionNotAllowed):
        return {"state": error.state}
    if isinstance(error, errors.RoleNotAllowed):
        return {"allowed_roles": list(error.allowed)}
    return {}


def from_error(error: errors.MotcuaError) -> ApiProblem:
    spec = _spec_of(error)
    detail = "the server failed; the error is logged" if spec is INTERNAL else str(error)
    return ApiProblem(spec, detail, **_extra_of(error))


def unreadable_body(what: str) -> ApiProblem:
    """A body that is not a JSON document at all (400): ``what`` says why, in words that quote none of the body."""
    return ApiProblem(UNREADABLE, f"the request body {what}", problems={"body": what})


def unreadable_cause(cause: BaseException | None) -> str:
    """Why a body could not be read, from the error its reading raised (:func:`unreadable_body`'s ``what``); a
    JSON syntax error is FastAPI's own (``json_invalid``), told by :func:`not_json`."""
    if isinstance(cause, UnicodeDecodeError):
        return f"is not UTF-8 text (byte {cause.start + 1} is no part of a character)"
    if isinstance(cause, RecursionError):
        return "is nested deeper than a JSON document can be read"
    if isinstance(cause, ValueError):  # json.loads: an integer of more digits than Python converts
        return f"holds a number of more than {sys.get_int_max_str_digits():,} digits, more than can be read"
    if isinstance(cause, ClientDisconnect):
        return "ended before it was complete: the client disconnected while sending it"
    return "could not be read"


def not_json(message: str, position: int) -> str:
    """:func:`unreadable_body`'s ``what`` for a JSON syntax error: the parser's message (which quotes nothing of the
    document) and the character it stopped at, counted from 1."""
    return f"is not valid JSON: {message} at position {position + 1}"


def _cut(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, and encodable (a lone surrogate a caller sent is escaped)."""
    shown = text if len(text) <= limit else text[: limit - 1] + "…"
    return shown.encode("utf-8", "backslashreplace").decode("utf-8")


def _bounded(extra: Mapping[str, Any]) -> dict[str, Any]:
    """The typed error's data within the bounds of an answer: the first problems, each named and told briefly."""
    problems = extra.get("problems")
    if not isinstance(problems, Mapping):
        return dict(extra)
    kept = list(problems.items())[:PROBLEMS_MAX]
    return {**extra, "problems": {_cut(str(where), FIELD_MAX): _cut(str(message), MESSAGE_MAX)
                                  for where, message in kept}}


def problem_response(problem: ApiProblem, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The problem as an answer, never larger than a few kilobytes whatever the input was: ``detail`` is cut to
    :data:`DETAIL_MAX` characters and ``problems`` to its first :data:`PROBLEMS_MAX` entries (each cut too). The
    messages quote no input but a short excerpt; this is the net under them."""
    spec = problem.spec
    body = Problem(type=f"urn:motcua:problem:{spec.code}", title=spec.title, status=spec.status, code=spec.code,
                   detail=_cut(problem.detail, DETAIL_MAX), **_bounded(problem.extra))
    extra_headers = dict(headers or {})
    if spec is UNAVAILABLE:
        extra_headers["Retry-After"] = "1"
    if spec is UNAUTHENTICATED:
        extra_headers["WWW-Authenticate"] = 'ApiKey header="X-API-Key"'
    return JSONResponse(body.model_dump(exclude_none=True), status_code=spec.status,
                        media_type=PROBLEM_MEDIA_TYPE, headers=extra_headers)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route: a problem body for each status it may answer with."""
    schema = {"schema": {"$ref": "#/components/schemas/Problem"}}
    return {status: {"content": {PROBLEM_MEDIA_TYPE: schema}, "description": _DESCRIPTIONS.get(status, "Problem")}
            for status in statuses}


_DESCRIPTIONS: Final = {
    400: "Malformed header, or a body that is not JSON in UTF-8", 401: "Missing or unknown API key",
    403: "The key's roles or scope may not do this",
    404: "No such dossier (or none in the key's scope)",
    409: "Not allowed in this state, a dossier imported from DVCQG (handled where it was received), or the same "
         "Idempotency-Key is in flight",
    412: "If-Match names a version that is no longer current", 413: "The body is larger than the server's limit",
    415: "The body is not sent as application/json",
    422: "Invalid body, query, trigger or data",
    428: "If-Match is required", 503: "Storage unavailable, try again",
}
