"""The FastAPI application: ``create_app(motcua, store)``; no globals, no settings read here.

Every route but ``/healthz``, ``/metrics`` and the OpenAPI document needs an ``X-API-Key``. A dossier's
``ETag`` is its version as a strong tag (``"3"``); ``POST /dossiers/{code}/events`` *requires*
``If-Match`` with it (428 without, 412 when stale): a host cannot overwrite a change it has not seen.

A key sees only its scope (its units, its province, or its applicant's own dossiers): every dossier route goes
through a :class:`~motcua.workflow.access.cases.ScopedCases`, where a dossier outside the scope is 404, as a code
never issued; registering one outside it is 403 ``outside-scope``, before a dossier number is drawn. A unit a
request names (``?unit=``, the body's ``unit`` and ``deciding_unit``) has a unit code's shape and length (``?unit=``:
or is the server's home code as configured), or the request is 422 before anything reads it; so is a query
parameter the route does not take, one sent twice or empty, or one that is not UTF-8 text. The query's names and values
and the path are read as NFC, as everything is stored (a filter typed decomposed finds what the composed one finds;
a bound counts the NFC text); headers, the X-API-Key above all, are taken byte for byte.

Every answer carries browser-facing headers (``Cache-Control: no-store``, a strict Content-Security-Policy, no
framing, no sniffing, no referrer; HSTS over TLS), and ``/docs`` loads nothing from outside motcua
(:mod:`~motcua.entrypoints.http.security`).
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations, which name local dependencies.

import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Final, TypeGuard

from fastapi import Depends, FastAPI, Header, Path, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import AfterValidator, TypeAdapter
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from motcua.adapters.bootstrap import DEFAULT_HTTP_MAX_BODY, Motcua
from motcua.adapters.keys import ApiKey, HttpStore, RecordSweep, VerifiedKeys
from motcua.definitions.units import UNIT_CODE_MAX_LENGTH, unit_code_pattern
from motcua.entrypoints.console.app import console_of
from motcua.entrypoints.http import limits
from motcua.entrypoints.http import problems as p
from motcua.entrypoints.http.composed import ComposedAddress, unreadable_query
from motcua.entrypoints.http.head import HeadAsGet, allowed
from motcua.entrypoints.http.idempotency import Idempotency, Reservation, fingerprint
from motcua.entrypoints.http.metrics import StoreGauges
from motcua.entrypoints.http.offload import InFlight, Offload
from motcua.entrypoints.http.quick import PlainRequest, quick_route
from motcua.entrypoints.http.schemas import (
    Bieu06Report,
    Dossier,
    DossierPage,
    EventRequest,
    FeedbackCase,
    FeedbackEventRequest,
    FeedbackPage,
    FeedbackRequest,
    Health,
    HistoryEntry,
    OneLine,
    Par766Report,
    ProcedureOut,
    ReceiveRequest,
    dossier_of,
    entry_of,
)
from motcua.entrypoints.http.security import secure
from motcua.workflow.access.cases import ScopedCases
from motcua.workflow.dossiers.catalogue import Procedure
from motcua.workflow.dossiers.desk import DOSSIER_WORKFLOW, Applicant
from motcua.workflow.engine.bounds import CASE_CODE_MAX, CODE_MAX, EXCERPT_MAX, NAME_MAX, excerpt, line_problem
from motcua.workflow.engine.clock import Clock, SystemClock
from motcua.workflow.engine.compiled import WorkflowSet
from motcua.workflow.engine.model import Actor, Case
from motcua.workflow.engine.queries import CaseFilter, Page
from motcua.workflow.errors import (
    CaseAlreadyExists,
    CaseNotFound,
    ConcurrencyConflict,
    InvalidInput,
    MotcuaError,
    NotFound,
)
from motcua.workflow.feedback.actions import FEEDBACK_WORKFLOW
from motcua.workflow.feedback.intake import Feedback
from motcua.workflow.reports.periods import Period, period_of
from motcua.workflow.reports.service import ReportService
from motcua.workflow.units.directory import Reception

__all__ = ["MAX_LIMIT", "create_app", "etag_of"]

MAX_LIMIT: Final = 200
_KEY_MAX: Final = 256  # characters of an X-API-Key worth looking up (a key is about 60)
_IF_MATCH: Final = re.compile(r'^\s*"(\d{1,18})"\s*$')
_TAG_ITEM: Final = re.compile(r'[ \t]*(?:(?P<weak>W/)?"(?P<tag>[\x21\x23-\x7e\x80-\xff]*)"[ \t]*)?(?:,|$)')
log = logging.getLogger("motcua.http")

_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="mc_<id>_<secret> from `motcua apikey create`")
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", description="Retries return the first answer.")]
IfMatch = Annotated[str | None, Header(alias="If-Match", description='The dossier\'s ETag: "<version>".')]
IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match",
                                           description='ETags already held: 304 when one is the current "<version>".')]
_ETAG_HEADER: Final = {"ETag": {"description": 'The dossier\'s version, "<version>"', "schema": {"type": "string"}}}
_READ_ANSWERS: Final[dict[int | str, dict[str, Any]]] = {200: {"headers": _ETAG_HEADER},
    304: {"description": "If-None-Match names the current version", "headers": _ETAG_HEADER},
    **p.responses(400, 401, 404, 412, 503)}
CaseCode = Annotated[str, Path(description="The dossier's code", max_length=CASE_CODE_MAX), OneLine]
_Route = Callable[..., Awaitable[Response]]
_EVENT_ARGUMENTS: Final = frozenset({"code", "body", "key", "if_match", "idempotency_key"})
_DOSSIER_JSON: Final = TypeAdapter(Dossier)  # pydantic's own encoder: the model straight to JSON bytes


def etag_of(version: int) -> str:
    return f'"{version}"'


def _expected_version(if_match: str | None) -> int:
    if if_match is None:
        raise p.ApiProblem(p.IF_MATCH_REQUIRED, 'send If-Match: "<version>" with the ETag of the dossier you saw')
    match = _IF_MATCH.match(if_match)
    if match is None:
        raise p.ApiProblem(p.BAD_IF_MATCH, f'If-Match {excerpt(if_match)} is not one strong ETag "<version>"')
    return int(match[1])


def _tags(header: str, value: str) -> tuple[tuple[bool, str], ...] | None:
    """The entity tags of an ``If-Match`` or ``If-None-Match`` (RFC 9110, 13.1): ``None`` for ``*``, else each tag as
    (weak, opaque text), empty list elements ignored; 400 naming the header for anything else."""
    if value.strip() == "*":
        return None
    tags, at = [], 0
    while at < len(value):
        match = _TAG_ITEM.match(value, at)
        if match is None or match.end() == at:
            spec = p.BAD_IF_MATCH if header == "If-Match" else p.BAD_IF_NONE_MATCH
            raise p.ApiProblem(spec, f"{header} {excerpt(value)} is not * or a list of entity tags (\"3\", W/\"3\")")
        if match["tag"] is not None:
            tags.append((match["weak"] is not None, match["tag"]))
        at = match.end()
    return tuple(tags)


def _not_modified(version: int, if_match: str | None, if_none_match: str | None) -> bool:
    """A read's preconditions against the dossier's ``version``, in RFC 9110's order: an If-Match no tag of which is
    strongly the current one is 412 (a weak tag never is); an If-None-Match one tag of which weakly is (or ``*``)
    makes the answer 304."""
    current = str(version)
    if if_match is not None:
        tags = _tags("If-Match", if_match)
        if tags is not None and (False, current) not in tags:
            raise p.ApiProblem(p.STALE, f"the dossier is at version {version}, not the one If-Match names",
                               current_version=version)
    if if_none_match is None:
        return False
    tags = _tags("If-None-Match", if_none_match)
    return tags is None or any(tag == current for _, tag in tags)


@dataclass(frozen=True)
class _Context:
    motcua: Motcua
    store: HttpStore
    clock: Clock
    idempotency: Idempotency
    keys: VerifiedKeys
    offload: Offload

    def cases(self, key: ApiKey) -> ScopedCases:
        """The dossiers as ``key`` may see and move them."""
        motcua = self.motcua
        return ScopedCases(motcua.service, motcua.store, motcua.desk, key.scope(motcua.desk.units, motcua.desk.today()))

    def dossier_response(self, dossier: Dossier, status: int = 200, location: bool = False) -> Response:
        headers = {"ETag": etag_of(dossier.version)}
        if location:
            headers["Location"] = f"/dossiers/{dossier.code}"
        return Response(_DOSSIER_JSON.dump_json(dossier), status_code=status, headers=headers,
                        media_type="application/json")

    def read_response(self, dossier: Dossier, if_match: str | None, if_none_match: str | None) -> Response:
        """A dossier read: 304 with its ETag when If-None-Match names it, 412 when If-Match does not (RFC 9110)."""
        if _not_modified(dossier.version, if_match, if_none_match):
            return Response(status_code=304, headers={"ETag": etag_of(dossier.version)})
        return self.dossier_response(dossier)


def create_app(motcua: Motcua, store: HttpStore, *, registry: CollectorRegistry | None = None,
               clock: Clock | None = None, title: str = "motcua", max_body: int = DEFAULT_HTTP_MAX_BODY,
               short_on_loop: bool = True) -> FastAPI:
    """The HTTP API over an opened engine. ``registry`` receives the store's gauges and serves /metrics (the
    caller registers a :class:`~motcua.entrypoints.http.metrics.MetricsObserver` on it and passes that observer to
    ``open_motcua``). A body over ``max_body`` bytes is answered 413 before it is read. ``short_on_loop``: a
    dossier's read or transition runs on the event loop when every request in flight is such a one (:mod:`.offload`;
    not on PostgreSQL, where the thread pool overlaps the waits of concurrent requests)."""
    chosen_clock = clock or SystemClock()
    idempotency = Idempotency(store, chosen_clock, RecordSweep(store))
    context = _Context(motcua, store, chosen_clock, idempotency, VerifiedKeys(store, chosen_clock),
                       Offload(on_loop=short_on_loop))
    app = FastAPI(title=title, version="1", description=__doc__ or "", docs_url=None, redoc_url=None,
                  swagger_ui_oauth2_redirect_url=None,  # /docs is served by secure(), from motcua's own assets
                  # a path with a slash too many is 404, not a redirect to an absolute URL built from the request's
                  # scheme: behind a TLS proxy uvicorn does not trust, http://, and a client following it sends its
                  # X-API-Key again in the clear
                  redirect_slashes=False)
    _handlers(app)
    app.add_middleware(ComposedAddress)  # innermost: the router and every route read the query and path in NFC
    limits.install(app, max_body)  # inside secure(): a 413 carries its headers too
    _dossier_routes(app, context)
    _feedback_routes(app, context)
    _catalogue_routes(app, context)
    _report_routes(app, context)
    _operations_routes(app, context, registry or CollectorRegistry())
    _document(app)
    app.add_middleware(InFlight, offload=context.offload)  # counts what short routes wait for (offload.py)
    console_of(app, motcua, chosen_clock)  # the browser console under /console (before secure(): its headers too)
    secure(app)  # its headers are added outside every other middleware (HeadAsGet only drops bodies), on every answer
    app.add_middleware(HeadAsGet)  # outermost: HEAD is GET without the body, on every route and answer (head.py)
    return app


def _authenticated(keys: VerifiedKeys) -> Callable[..., Awaitable[ApiKey]]:
    """The key of a request, whose query then holds only what its route takes (:func:`_strict_query`). Run on the
    event loop: a key verified a moment ago is answered from memory (:class:`~motcua.adapters.keys.VerifiedKeys`),
    only another is read from the store, on the thread pool."""
    async def principal(request: Request, presented: Annotated[str | None, Security(_api_key)] = None) -> ApiKey:
        key = None
        if _presentable(presented):
            key = keys.recent(presented) or await run_in_threadpool(keys.verify, presented)
        if key is None:
            raise p.ApiProblem(p.UNAUTHENTICATED, "send X-API-Key with a live key from `motcua apikey create`")
        _strict_query(request)
        return key

    return principal


def _strict_query(request: Request) -> None:
    """Refuse, 422 naming each, a query parameter the route does not take (a typo would filter nothing), one sent
    more than once (which one counts?), one sent empty (a filter matching nothing would answer an empty page) and one
    that is not UTF-8 text (:mod:`.composed`: it could only be a filter matching nothing): every route with a key,
    checked once the key is known, before the route's own parameters (which read the query in NFC)."""
    if not request.scope.get("query_string"):
        return
    route = request.scope.get("route")
    taken = {field.alias for field in route.dependant.query_params} if isinstance(route, APIRoute) else set()
    counted = Counter(name for name, _ in request.query_params.multi_items())
    empty = {name for name, value in request.query_params.multi_items() if not value}
    unreadable = set(unreadable_query(request.scope))
    errors = [{"type": "query_parameter", "loc": ("query", name),
               "msg": _query_problem(name, times, taken, empty, unreadable)}
              for name, times in counted.items()
              if name not in taken or times > 1 or name in empty or name in unreadable]
    if errors:
        raise RequestValidationError(errors)


def _query_problem(name: str, times: int, taken: set[str], empty: set[str], unreadable: set[str]) -> str:
    if name in unreadable:
        return "not UTF-8 text: send the text's UTF-8 bytes, percent-encoded"
    if name not in taken:
        return f"unknown parameter: this route takes {', '.join(sorted(taken))}" if taken else \
            "unknown parameter: this route takes no query parameter"
    if times > 1:
        return f"given {times} times: give it once"
    return "empty: give a value or leave the parameter out"


def _presentable(presented: str | None) -> TypeGuard[str]:
    """Whether an X-API-Key is worth looking up: a key with a control character or of kilobytes is no key (a NUL
    fails PostgreSQL)."""
    return bool(presented) and line_problem(presented or "", _KEY_MAX) is None


def _plain_event(keys: VerifiedKeys, model: type[EventRequest]) -> PlainRequest:
    """An event route's quick path (:mod:`.quick`): the route function's arguments (:data:`_EVENT_ARGUMENTS`) when
    FastAPI would pass them as they are — no query, the path's code one line within its bound, a JSON body the route's
    model accepts, sent as ``application/json``, a key verified a moment ago — else ``None``, and FastAPI answers. The
    key is looked up once the body is read, as FastAPI does: a key revoked while a body trickles in is refused."""
    async def plain(request: Request) -> dict[str, Any] | None:
        headers, code = request.headers, request.path_params.get("code")
        if request.scope.get("query_string"):  # the route takes no query parameter: FastAPI's 422 (_strict_query)
            return None
        if not isinstance(code, str) or line_problem(code, CASE_CODE_MAX) is not None:
            return None
        if headers.get("content-type") != "application/json":
            return None
        try:
            body = model.model_validate(await request.json())  # what FastAPI does: json.loads, the model
        except HTTPException:  # the body over its limit: answered as FastAPI answers it, re-raised
            raise
        except Exception:  # anything FastAPI would refuse (or fail to read) is FastAPI's to answer
            return None
        presented = headers.get("x-api-key")
        key = keys.recent(presented) if _presentable(presented) else None
        if key is None:
            return None
        return {"code": code, "body": body, "key": key, "if_match": headers.get("if-match"),
                "idempotency_key": headers.get("idempotency-key")}

    return plain


def _receive(context: _Context, body: ReceiveRequest, key: ApiKey, reservation: Reservation) -> Response:
    motcua, actor, applicant = context.motcua, key.principal, _applicant(body)
    # a unit outside the scope or not in force, another applicant's dossier: refused first, every time
    units = context.cases(key).vet_reception(applicant, body.unit or _only_unit(key), body.deciding_unit)
    if reservation.earlier is None:  # refused (unknown procedure, role, data) before a dossier number is drawn
        motcua.desk.vet(body.procedure, body.channel, applicant, actor, summary=body.summary,
                        receive=body.receive, unit=units.receiving, deciding_unit=units.deciding)
    code = reservation.earlier or motcua.desk.new_code(units.receiving)
    reservation.keep(code)
    case = _register(motcua, body, actor, code, units, resumed=reservation.earlier is not None)
    return context.dossier_response(dossier_of(case, motcua.workflows), 201, location=True)


def _only_unit(key: ApiKey) -> str | None:
    """A key of one unit receives there unless the body names another; any other key at the server's home unit."""
    return key.units[0] if key.units is not None and len(key.units) == 1 else None


def _register(
    motcua: Motcua, body: ReceiveRequest, actor: Actor, code: str, units: Reception, *, resumed: bool
) -> Case:
    """Open the dossier under ``code`` and (unless ``receive`` is false) receive it, one unit of work of the desk,
    whose service refuses a role that may not before anything is written; a resumed request answers with what
    its first run committed."""
    register = motcua.desk.receive if body.receive else motcua.desk.submit
    try:
        return register(body.procedure, body.channel, _applicant(body), actor, summary=body.summary, code=code,
                        unit=units.receiving, deciding_unit=units.deciding)
    except CaseAlreadyExists:
        if not resumed:
            raise
    return motcua.service.get(code)  # the first run committed it (opened and received at once), then died


def _applicant(body: ReceiveRequest) -> Applicant:
    person = body.applicant
    return Applicant(person.name, person.kind, person.id_number, person.phone, person.email, person.address)


def _fired_already(cases: ScopedCases, code: str, body: EventRequest, actor: Actor, reserved: str | None) -> bool:
    """Whether an abandoned first run of this request fired its trigger: its entry is at the reserved version."""
    if reserved is None:
        return False
    entries = cases.history(code)
    sequence = int(reserved)
    return len(entries) >= sequence and (entries[sequence - 1].trigger, entries[sequence - 1].actor) == (
        body.trigger, actor.name)


def fire_event(
    context: _Context, key: ApiKey, code: str, body: EventRequest, *, if_match: str | None,
    idempotency_key: str | None, path: str, workflow: str | None = None,
) -> Response:
    """Fire ``body.trigger`` on the case ``code`` in ``key``'s scope (of ``workflow`` only, when given: another
    case is 404), If-Match and Idempotency-Key as for every event route."""
    expected = _expected_version(if_match)  # before the idempotency claim: a 428 is not an answer to keep

    def action(reservation: Reservation) -> Response:
        motcua, cases = context.motcua, context.cases(key)
        if reservation.earlier is not None:  # a retry of a first run abandoned after its reservation
            seen = cases.case(code, workflow=workflow)  # 404 outside the key's scope
            if _fired_already(cases, code, body, key.principal, reservation.earlier):
                return context.dossier_response(dossier_of(seen, motcua.workflows))
        reservation.keep(str(expected + 1))
        try:  # the scope is checked on the case the engine reads to decide: 404 outside it, before the version
            case = cases.fire(code, body.trigger, key.principal, body.data, expected_version=expected,
                              workflow=workflow)
        except ConcurrencyConflict as conflict:  # tell the client which version to read
            current = cases.case(code).version
            raise p.ApiProblem(p.STALE, str(conflict), current_version=current) from conflict
        return context.dossier_response(dossier_of(case, motcua.workflows))

    def printed() -> str:
        return fingerprint("POST", path, body.model_dump(mode="json"), if_match)

    return context.idempotency.run(key.key_id, idempotency_key, printed, action)


def _quick_post(app: FastAPI, path: str, plain: PlainRequest, **declared: Any) -> Callable[[_Route], _Route]:
    """``@app.post(path, **declared)`` for a route with a quick path (:mod:`.quick`): declared, documented and
    validated as any other."""
    def register(endpoint: _Route) -> _Route:
        app.router.add_api_route(path, endpoint, methods=["POST"],
                                 route_class_override=quick_route(plain, _EVENT_ARGUMENTS), **declared)
        return endpoint

    return register


def _state_filter(workflows: WorkflowSet, workflow: str, region: str, description: str) -> tuple[Any, AfterValidator]:
    """A listing's ``?state=`` or ``?deadline=``: the query parameter, whose document lists the states of ``region``
    some loaded version of ``workflow`` declares (:meth:`~motcua.workflow.engine.compiled.WorkflowSet.states`), and
    the check that refuses any other value — it could only answer an empty page — 422 naming the parameter and the
    values it takes."""
    states = workflows.states(workflow, region)
    taken = ", ".join(states)

    def declared(value: str | None) -> str | None:
        if value is not None and value not in states:
            raise ValueError(f"not a {region} state of {workflow}: one of {taken}")
        return value

    query = Query(description=f"{description}: {taken}", min_length=1, max_length=CODE_MAX,
                  json_schema_extra={"enum": list(states)})
    return query, AfterValidator(declared)


def _dossier_routes(app: FastAPI, context: _Context) -> None:
    principal = _authenticated(context.keys)
    Principal = Annotated[ApiKey, Depends(principal)]  # noqa: N806 - a type alias local to the routes

    @app.post("/dossiers", status_code=201, response_model=Dossier, tags=["dossiers"],
              responses={201: {"headers": _ETAG_HEADER}, **p.responses(400, 401, 403, 409, 413, 415, 422, 503)})
    # not short (offload.py): two writes — the dossier's number, then the dossier — so always on the pool
    def receive(body: ReceiveRequest, key: Principal, idempotency_key: IdempotencyKey = None) -> Response:
        """Register a dossier at ``unit`` for ``deciding_unit`` and (unless ``receive`` is false) receive it: the
        appointment is set. A unit outside the key's scope, or another applicant's dossier for a key acting for
        one applicant, is 403 ``outside-scope``."""
        return context.idempotency.run(key.key_id, idempotency_key,
                                       lambda: fingerprint("POST", "/dossiers", body.model_dump(mode="json"), None),
                                       lambda reservation: _receive(context, body, key, reservation))

    @app.get("/dossiers/{code}", response_model=Dossier, tags=["dossiers"], responses=_READ_ANSWERS)
    @context.offload.short
    def get_dossier(code: CaseCode, key: Principal, if_match: IfMatch = None,
                    if_none_match: IfNoneMatch = None) -> Response:
        """A dossier at its latest version; the ETag is what If-Match must carry to change it. 404 outside the key's
        scope; 304 when If-None-Match names the current version, 412 when an If-Match does not."""
        return context.read_response(dossier_of(context.cases(key).case(code), context.motcua.workflows), if_match,
                                     if_none_match)

    @_quick_post(app, "/dossiers/{code}/events", _plain_event(context.keys, EventRequest),
                 response_model=Dossier, tags=["dossiers"],
                 responses={200: {"headers": _ETAG_HEADER},
                            **p.responses(400, 401, 403, 404, 409, 412, 413, 415, 422, 428, 503)})
    @context.offload.short
    def fire(code: CaseCode, body: EventRequest, key: Principal, if_match: IfMatch = None,
             idempotency_key: IdempotencyKey = None) -> Response:
        """Fire a trigger on a dossier; ``If-Match`` (the ETag you read) is required."""
        return fire_event(context, key, code, body, if_match=if_match, idempotency_key=idempotency_key,
                          path=f"/dossiers/{code}/events")

    @app.get("/dossiers/{code}/history", response_model=list[HistoryEntry], tags=["dossiers"],
             responses=p.responses(401, 404, 503))
    def history(code: CaseCode, key: Principal) -> list[HistoryEntry]:
        """Every audit entry of the dossier, in order (the process control sheet's data). 404 outside the key's
        scope."""
        return [entry_of(entry) for entry in context.cases(key).history(code)]

    state_query, known_state = _state_filter(context.motcua.workflows, DOSSIER_WORKFLOW, "lifecycle",
                                             "Lifecycle state")
    deadline_query, known_deadline = _state_filter(context.motcua.workflows, DOSSIER_WORKFLOW, "deadline",
                                                   "Deadline state")

    @app.get("/dossiers", response_model=DossierPage, tags=["dossiers"], responses=p.responses(401, 404, 422, 503))
    def find(
        *,
        key: Principal,
        state: Annotated[str | None, state_query, OneLine, known_state] = None,
        deadline: Annotated[str | None, deadline_query, OneLine, known_deadline] = None,
        procedure: Annotated[str | None, Query(description="Procedure code, 1.004873", min_length=1,
                                               max_length=CODE_MAX), OneLine] = None,
        officer: Annotated[str | None, Query(description="Who holds the dossier (assignee)", min_length=1,
                                             max_length=NAME_MAX), OneLine] = None,
        unit: Annotated[str | None, _unit_query(context, "The unit that holds the dossier (its deciding unit)")] = None,
        cursor: Annotated[str | None, Query(description="next_cursor of the previous page",
                                            min_length=1, max_length=CASE_CODE_MAX), OneLine] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    ) -> DossierPage:
        """Dossiers by code, a page at a time, within the key's scope: a unit's key lists what its units hold or
        received, a key acting for one applicant that applicant's own dossiers. A key acting for applicants with
        no applicant identity (made before keys had scopes) sees none."""
        where = CaseFilter(definition_key=DOSSIER_WORKFLOW, lifecycle=state, deadline=deadline,
                           procedure=procedure, officer=officer, unit=unit)
        page = _listed(context, key, where, cursor, limit)
        workflows = context.motcua.workflows
        return DossierPage(items=[dossier_of(case, workflows) for case in page.items], next_cursor=page.next_cursor)


def _feedback_routes(app: FastAPI, context: _Context) -> None:
    """Citizens' feedback (``pakn`` cases): received, read, moved and listed within the key's scope, like dossiers
    (the same Dossier body, ETag and If-Match; a code of another workflow is 404 here)."""
    principal = _authenticated(context.keys)
    Principal = Annotated[ApiKey, Depends(principal)]  # noqa: N806 - a type alias local to the routes

    def feedback_case(key: ApiKey, code: str) -> Case:
        case = context.cases(key).case(code)
        if case.definition_key != FEEDBACK_WORKFLOW:
            raise CaseNotFound(code)
        return case

    @app.post("/feedback", status_code=201, response_model=Dossier, tags=["feedback"],
              responses={201: {"headers": _ETAG_HEADER}, **p.responses(400, 401, 403, 409, 413, 415, 422, 503)})
    def receive_feedback(body: FeedbackRequest, key: Principal, idempotency_key: IdempotencyKey = None) -> Response:
        """Receive citizens' feedback at ``unit``: its answer is due within the legal time, its timers armed. A unit
        outside the key's scope, or another applicant's identity for a key acting for one applicant, is 403
        ``outside-scope``; a ``dossier`` the key does not see is 422. With Idempotency-Key, the code is reserved
        before the case is opened, as for ``POST /dossiers``: a retry opens it at most once."""
        def action(reservation: Reservation) -> Response:
            cases, unit = context.cases(key), body.unit or _only_unit(key)
            feedback = Feedback(body.sender_name, body.content, body.channel, body.contact, body.dossier,
                                body.private, body.applicant_id)
            cases.vet_feedback(feedback, unit)  # refused first, every time, as a dossier's reception
            code = reservation.earlier or cases.feedback_code(feedback, key.principal, unit)
            reservation.keep(code)
            try:
                case = cases.receive_feedback(feedback, key.principal, unit=unit, code=code)
            except CaseAlreadyExists:
                if reservation.earlier is None:
                    raise
                case = cases.case(code)  # the first run opened it, then died before its answer was stored
            response = context.dossier_response(dossier_of(case, context.motcua.workflows), 201)
            response.headers["Location"] = f"/feedback/{case.code}"
            return response

        return context.idempotency.run(key.key_id, idempotency_key,
                                       lambda: fingerprint("POST", "/feedback", body.model_dump(mode="json"), None),
                                       action)

    @app.get("/feedback/{code}", response_model=FeedbackCase, tags=["feedback"], responses=_READ_ANSWERS)
    @context.offload.short
    def get_feedback(code: CaseCode, key: Principal, if_match: IfMatch = None,
                     if_none_match: IfNoneMatch = None) -> Response:
        """A piece of feedback at its latest version. 404 outside the key's scope; If-None-Match and If-Match as for
        a dossier."""
        return context.read_response(dossier_of(feedback_case(key, code), context.motcua.workflows), if_match,
                                     if_none_match)

    @_quick_post(app, "/feedback/{code}/events", _plain_event(context.keys, FeedbackEventRequest),
                 response_model=Dossier, tags=["feedback"],
                 responses={200: {"headers": _ETAG_HEADER},
                            **p.responses(400, 401, 403, 404, 409, 412, 413, 415, 422, 428, 503)})
    @context.offload.short
    def fire_feedback(code: CaseCode, body: FeedbackEventRequest, key: Principal, if_match: IfMatch = None,
                      idempotency_key: IdempotencyKey = None) -> Response:
        """Fire a trigger on a piece of feedback (``assign``, ``extend``, ``answer``, ``decline``, ``publish``,
        ``rate``); ``If-Match`` is required."""
        return fire_event(context, key, code, body, if_match=if_match, idempotency_key=idempotency_key,
                          path=f"/feedback/{code}/events", workflow=FEEDBACK_WORKFLOW)

    state_query, known_state = _state_filter(context.motcua.workflows, FEEDBACK_WORKFLOW, "lifecycle",
                                             "Lifecycle state")
    deadline_query, known_deadline = _state_filter(context.motcua.workflows, FEEDBACK_WORKFLOW, "deadline",
                                                   "Deadline state")

    @app.get("/feedback", response_model=FeedbackPage, tags=["feedback"], responses=p.responses(401, 404, 422, 503))
    def find_feedback(
        *,
        key: Principal,
        state: Annotated[str | None, state_query, OneLine, known_state] = None,
        deadline: Annotated[str | None, deadline_query, OneLine, known_deadline] = None,
        unit: Annotated[str | None, _unit_query(context, "The unit that holds the feedback")] = None,
        cursor: Annotated[str | None, Query(description="next_cursor of the previous page",
                                            min_length=1, max_length=CASE_CODE_MAX), OneLine] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    ) -> FeedbackPage:
        """Feedback by code, a page at a time, within the key's scope."""
        where = CaseFilter(definition_key=FEEDBACK_WORKFLOW, lifecycle=state, deadline=deadline, unit=unit)
        page = _listed(context, key, where, cursor, limit)
        workflows = context.motcua.workflows
        return FeedbackPage(items=[dossier_of(case, workflows) for case in page.items], next_cursor=page.next_cursor)


def _catalogue_routes(app: FastAPI, context: _Context) -> None:
    principal = _authenticated(context.keys)

    @app.get("/procedures", response_model=list[ProcedureOut], tags=["catalogue"], responses=p.responses(401))
    def procedures(key: Annotated[ApiKey, Depends(principal)]) -> list[ProcedureOut]:
        """The procedure catalogue: what ``POST /dossiers`` accepts as ``procedure``."""
        return [_procedure_out(procedure) for procedure in context.motcua.catalogue]


def _procedure_out(procedure: Procedure) -> ProcedureOut:
    """A procedure as its latest catalogue version and fee entry describe it (``motcua procedures show`` gives
    every version)."""
    version, fee = procedure.current, procedure.fees[-1]
    return ProcedureOut.model_validate({
        "code": procedure.code, "name": procedure.name, "field_code": procedure.field_code,
        "field_name": procedure.field_name, "level": version.level,
        "processing_time": {channel: time.model_dump() for channel, time in version.processing_time.items()},
        "fee": fee.base, "paper_result": version.paper_result, "workflow": procedure.workflow,
        "version": version.key, "fee_kind": fee.kind, "fee_known": fee.known,
    })


FromDay = Annotated[str | None, Query(alias="from", description="First day, YYYY-MM-DD", min_length=1,
                                      max_length=CODE_MAX), OneLine]
ToDay = Annotated[str | None, Query(description="Last day, YYYY-MM-DD, included", min_length=1, max_length=CODE_MAX),
                  OneLine]
PeriodText = Annotated[str | None, Query(description="2024-03, 2024-Q1 or 2024 (instead of from/to)",
                                         min_length=1, max_length=CODE_MAX), OneLine]
CutoffDay = Annotated[int | None, Query(ge=1, le=28, description="Data cut-off day (15: the 15th to the 14th)")]


def _period(start: str | None, end: str | None, period: str | None, cutoff: int | None) -> Period:
    try:
        return period_of(start, end, period, cutoff)
    except InvalidInput as error:
        raise InvalidInput(error.field.lstrip("-").replace("-", "_"), error.message) from None




def _unit_query(context: _Context, description: str) -> Any:
    """A unit a request names (``?unit=``): a unit code's shape, or the server's home code as it is written (a
    standalone desk's, in no register: :func:`~motcua.definitions.units.unit_code_pattern`)."""
    return Query(description=description, min_length=1, max_length=UNIT_CODE_MAX_LENGTH,
                 pattern=unit_code_pattern(context.motcua.desk.units.home))


def _listed(context: _Context, key: ApiKey, where: CaseFilter, cursor: str | None, limit: int) -> Page:
    """A page of a listing in ``key``'s scope; 404 ``unit-not-found`` for a unit no register knows."""
    try:
        return context.cases(key).find(where, after=cursor, limit=limit)
    except NotFound as error:
        raise p.ApiProblem(p.UNIT_NOT_FOUND, error.message) from None


def _report_units(context: _Context, key: ApiKey, unit: str | None) -> frozenset[str] | None:
    """The units a report of ``key`` covers; 404 ``unit-not-found`` for a unit unknown or outside its scope."""
    try:
        return context.cases(key).report_units(unit)
    except NotFound as error:
        raise p.ApiProblem(p.UNIT_NOT_FOUND, error.message) from None


def _report_routes(app: FastAPI, context: _Context) -> None:
    principal = _authenticated(context.keys)
    reports = ReportService(context.motcua.reports, context.motcua.rules, context.motcua.store)
    UnitCode = Annotated[str | None, _unit_query(context, "One unit (default: every unit of the key's scope)")]  # noqa: N806

    @app.get("/reports/bieu06", response_model=Bieu06Report, tags=["reports"],
             responses=p.responses(401, 404, 422, 503))
    def bieu06(*, key: Annotated[ApiKey, Depends(principal)], start: FromDay = None, to: ToDay = None,
               period: PeriodText = None, cutoff_day: CutoffDay = None, unit: UnitCode = None) -> JSONResponse:
        """Biểu số 06/VPCP/KSTT for the period: of ``unit``, else of the key's units (a unit's key: the sum of its
        units; a province's or an unscoped key: the province)."""
        chosen = _period(start, to, period, cutoff_day)
        units = _report_units(context, key, unit)
        return JSONResponse(reports.caught_up().bieu06(chosen.start, chosen.end, units=units).as_json())

    @app.get("/reports/par766", response_model=Par766Report, tags=["reports"],
             responses=p.responses(401, 404, 422, 503))
    def par766(*, key: Annotated[ApiKey, Depends(principal)], start: FromDay = None, to: ToDay = None,
               period: PeriodText = None, cutoff_day: CutoffDay = None, unit: UnitCode = None) -> JSONResponse:
        """The Decision 766 indicators, scored with the rule set in force on the period's last day: of ``unit``,
        else of the key's units, as for Biểu 06."""
        chosen = _period(start, to, period, cutoff_day)
        units = _report_units(context, key, unit)
        return JSONResponse(reports.caught_up().scorecard(chosen.start, chosen.end, units=units).as_json())


def _operations_routes(app: FastAPI, context: _Context, registry: CollectorRegistry) -> None:
    store = context.motcua.store
    registry.register(StoreGauges(store, context.clock))

    @app.get("/healthz", response_model=Health, tags=["operations"], responses=p.responses(503))
    def healthz() -> Health:
        """Alive, and the database answers."""
        armed, due = store.armed_count(context.clock.now())
        return Health(status="ok", timers_armed=armed, timers_due=due)

    @app.get("/metrics", response_class=PlainTextResponse, tags=["operations"],
             responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
    def metrics() -> Response:
        """Prometheus metrics (text exposition format)."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def _validation_problems(error: RequestValidationError) -> dict[str, str]:
    """Field → what is wrong, for the first errors only; pydantic's errors carry the input, the answer never does."""
    problems: dict[str, str] = {}
    for item in error.errors()[: p.PROBLEMS_MAX]:
        where = ".".join(str(part) if len(str(part)) <= EXCERPT_MAX else f"{str(part)[:EXCERPT_MAX]}…"
                         for part in item.get("loc", ()))
        problems.setdefault(where or "request", str(item.get("msg", "invalid")).removeprefix("Value error, "))
    return problems


_FASTAPI_UNREADABLE: Final = "There was an error parsing the body"  # FastAPI's 400 for a body it failed to read


def _json_syntax_error(error: RequestValidationError) -> p.ApiProblem | None:
    """The 400 for a body that is not JSON (FastAPI reports it as a validation error, ``json_invalid``, at the
    character the parser stopped at), else ``None``: JSON that parses and fails the model is a 422 as ever."""
    for item in error.errors():
        location = item.get("loc", ())
        if item.get("type") == "json_invalid" and len(location) == 2 and isinstance(location[1], int):  # noqa: PLR2004
            message = str(item.get("ctx", {}).get("error", "malformed"))
            return p.unreadable_body(p.not_json(message, location[1]))
    return None


def _not_json(error: RequestValidationError) -> p.ApiProblem | None:
    """The 415 for a body sent under another media type than JSON (``text/plain``, a form, none at all): FastAPI reads
    JSON only under ``application/json`` or ``application/*+json`` and hands the model the body's bytes, which it
    refuses as a whole — else ``None``."""
    if any(item.get("loc") == ("body",) and isinstance(item.get("input"), bytes) for item in error.errors()):
        return p.ApiProblem(p.MEDIA_TYPE, "send the body as JSON, with Content-Type: application/json")
    return None


def _handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, error: Exception) -> Response:
        assert isinstance(error, p.ApiProblem)
        return p.problem_response(error)

    async def on_motcua(request: Request, error: Exception) -> Response:
        assert isinstance(error, MotcuaError)
        problem = p.from_error(error)
        if problem.spec is p.INTERNAL:
            log.error("http.error", exc_info=error)
        return p.problem_response(problem)

    async def on_invalid(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        unreadable = _json_syntax_error(error) or _not_json(error)
        if unreadable is not None:
            return p.problem_response(unreadable)
        problems = _validation_problems(error)
        detail = "; ".join(f"{where}: {message}" for where, message in problems.items())
        return p.problem_response(p.ApiProblem(p.INVALID_REQUEST, detail, problems=problems))

    async def on_http(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        if error.status_code == 400 and error.detail == _FASTAPI_UNREADABLE:  # noqa: PLR2004
            return p.problem_response(p.unreadable_body(p.unreadable_cause(error.__cause__)))
        spec = {404: p.ROUTE_NOT_FOUND, 405: p.METHOD}.get(error.status_code, p.Spec(error.status_code, "http-error",
                                                                                      "HTTP error"))
        headers = allowed(error.headers) if error.status_code == 405 else error.headers  # noqa: PLR2004
        detail = str(error.detail)
        if error.status_code == 404 and request.url.path.endswith("/") and request.url.path != "/":  # noqa: PLR2004
            detail = f"{detail}: no route ends with '/'; send the path without its trailing slash"
        return p.problem_response(p.ApiProblem(spec, detail), headers=headers)

    app.add_exception_handler(p.ApiProblem, on_problem)
    app.add_exception_handler(MotcuaError, on_motcua)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(HTTPException, on_http)


def _document(app: FastAPI) -> None:
    """The OpenAPI document, with the Problem schema every error response refers to."""
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["Problem"] = p.Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            _drop_default_validation_errors(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise the document


def _drop_default_validation_errors(schema: dict[str, Any]) -> None:
    """FastAPI documents its own 422 body; ours is a Problem, declared on each route."""
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            answer = operation.get("responses", {}).get("422")
            if answer and "application/json" in answer.get("content", {}):
                answer["content"] = {p.PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
                answer["description"] = "Invalid body, query, trigger or data"
    for name in ("HTTPValidationError", "ValidationError"):
        schema.get("components", {}).get("schemas", {}).pop(name, None)


