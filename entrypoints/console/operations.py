"""The operations and audit pages, for operators and auditors only.

Operations (role ``operator``):

- ``GET /console/operations``: the timers armed and due and the effects waiting (counts), the earliest timers with
  their claims (and failures), and the timers parked after their trigger failed six times, each dossier's with a
  button to arm them again, and one for them all — of the operator's units (of the whole system for an operator of
  every unit);
  ``POST /console/operations/timers/retry`` (the session's CSRF token; ``case`` codes, or ``all``) arms them again,
  as ``motcua timers retry`` does;
- ``GET /console/operations/outbox``: the parked effects, each with a retry button, and one to retry them all;
  ``POST /console/operations/outbox/retry`` (the session's CSRF token; ``effect`` ids, or ``all``) makes them
  pending again, as ``motcua outbox retry`` does (docs/how-to/retry-parked-effects.md);
- ``GET /console/operations/sync``: the DVCQG sync status of each published dossier, a page at a time.

Audit (role ``operator`` or ``auditor``):

- ``GET /console/audit``: what can be checked; ``GET /console/audit/verify``: every chain of the user's scope
  verified, the first break of each broken chain named (``motcua verify``);
- ``GET /console/audit/anchors``: the anchor of the log as it stands (``motcua anchor``), to download as JSON
  (``/console/audit/anchor.json``), and a form to check the log against an anchor kept earlier
  (``POST /console/audit/anchors/check``, as ``motcua verify --anchor FILE``). An anchor covers the whole log: these
  pages are for users of every unit.

What a user of some units sees is limited to their units' cases (:mod:`motcua.entrypoints.console.operations_views`).
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations.

from typing import Annotated, Final

import structlog
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from motcua.entrypoints.console.base import HEADERS, PREFIX, Console, ConsoleUser, PageError, router
from motcua.entrypoints.console.operations_views import (
    chain_check,
    parked_effects,
    requeue,
    requeue_timers,
    sync_page,
    timer_board,
)
from motcua.entrypoints.console.refusals import NOT_AN_ANCHOR
from motcua.workflow.auditing.anchor import ANCHOR_MAX_BYTES, Anchor, check, take
from motcua.workflow.engine.bounds import CASE_CODE_MAX, json_document
from motcua.workflow.engine.clock import to_vietnam_time
from motcua.workflow.errors import InvalidInput

_log = structlog.get_logger("motcua.console")  # an operator's acts, on the record (counts, never a name)

__all__ = ["ANCHOR_MAX_BYTES", "AUDITOR", "OPERATOR", "routes"]

OPERATOR: Final = "operator"
AUDITOR: Final = "auditor"
_RETRY_MAX: Final = 500  # effect ids one retry form may name
_EVERY_UNIT_ONLY: Final = "Dấu neo bao trùm toàn bộ nhật ký: trang này dành cho tài khoản được xem mọi đơn vị."


def _every_unit(user: ConsoleUser) -> None:
    if not user.scope.unlimited:
        raise PageError(403, _EVERY_UNIT_ONLY)


def routes(console: Console) -> APIRouter:
    pages = router(console)
    _operations_routes(pages, console)
    _audit_routes(pages, console)
    return pages


def _operations_routes(pages: APIRouter, console: Console) -> None:
    Operator = Annotated[ConsoleUser, Depends(console.requires(OPERATOR))]  # noqa: N806 - a local type alias
    motcua = console.motcua

    @pages.get("/operations")
    def operations(request: Request, user: Operator,
                   rearmed: Annotated[int | None, Query(ge=0, le=1_000_000)] = None) -> Response:
        board = timer_board(motcua, console.cases(user), console.clock.now())
        return console.render(request, user, "operations.html", board=board, rearmed=rearmed)

    @pages.post("/operations/timers/retry")
    def retry_timers(user: Annotated[ConsoleUser, Depends(console.posted)],
                     case: Annotated[list[str] | None, Form(max_length=_RETRY_MAX)] = None,
                     every: Annotated[str | None, Form(alias="all", max_length=8)] = None) -> Response:
        if not user.holds(OPERATOR):
            raise PageError(403, "Chỉ người vận hành được kích hoạt lại hẹn giờ.")
        if every is None and not case:
            raise InvalidInput("case", "name the dossiers whose timers to arm again, or all")
        count = requeue_timers(motcua, console.cases(user), None if every is not None else case)
        _log.info("timers.requeued", count=count, every=every is not None, by="console")
        answer = RedirectResponse(f"{PREFIX}/operations?rearmed={count}", status_code=303)
        answer.headers.update(HEADERS)
        return answer

    @pages.get("/operations/outbox")
    def outbox(request: Request, user: Operator,
               retried: Annotated[int | None, Query(ge=0, le=1_000_000)] = None) -> Response:
        return console.render(request, user, "operations_outbox.html", retried=retried,
                              effects=parked_effects(motcua, console.cases(user)))

    @pages.post("/operations/outbox/retry")
    def retry(user: Annotated[ConsoleUser, Depends(console.posted)],
              effect: Annotated[list[int] | None, Form(max_length=_RETRY_MAX)] = None,
              every: Annotated[str | None, Form(alias="all", max_length=8)] = None) -> Response:
        if not user.holds(OPERATOR):
            raise PageError(403, "Chỉ người vận hành được đưa lại hiệu ứng vào hàng đợi.")
        if every is None and not effect:
            raise InvalidInput("effect", "name the effects to retry, or all")
        count = requeue(motcua, console.cases(user), None if every is not None else effect, console.clock.now())
        _log.info("outbox.requeued", count=count, every=every is not None, by="console")
        answer = RedirectResponse(f"{PREFIX}/operations/outbox?retried={count}", status_code=303)
        answer.headers.update(HEADERS)
        return answer

    @pages.get("/operations/sync")
    def sync(request: Request, user: Operator,
             cursor: Annotated[str | None, Query(max_length=CASE_CODE_MAX)] = None) -> Response:
        rows, next_cursor = sync_page(motcua, console.cases(user), cursor or None)
        return console.render(request, user, "operations_sync.html", rows=rows, next_cursor=next_cursor,
                              first=cursor is not None)


def _audit_routes(pages: APIRouter, console: Console) -> None:
    Auditor = Annotated[ConsoleUser, Depends(console.requires(OPERATOR, AUDITOR))]  # noqa: N806 - a local alias
    motcua = console.motcua

    @pages.get("/audit")
    def audit(request: Request, user: Auditor) -> Response:
        return console.render(request, user, "audit.html")

    @pages.get("/audit/verify")
    def verify(request: Request, user: Auditor) -> Response:
        return console.render(request, user, "audit_verify.html", result=chain_check(motcua, console.cases(user)))

    @pages.get("/audit/anchors")
    def anchors(request: Request, user: Auditor) -> Response:
        _every_unit(user)
        return console.render(request, user, "audit_anchors.html",
                              anchor=take(motcua.store.entries(), console.clock.now()))

    @pages.get("/audit/anchor.json")
    def anchor_document(user: Auditor) -> Response:
        _every_unit(user)
        taken = take(motcua.store.entries(), console.clock.now())
        name = f"anchor-{to_vietnam_time(taken.taken_at):%Y%m%dT%H%M}.json"
        return JSONResponse(taken.as_json(), headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @pages.post("/audit/anchors/check")
    async def anchor_check(request: Request, user: Annotated[ConsoleUser, Depends(console.posted)],
                           anchor_file: Annotated[UploadFile, File(alias="anchor")]) -> Response:
        if not user.holds(OPERATOR, AUDITOR):
            raise PageError(403, "Tài khoản của bạn không có quyền xem trang này.")
        _every_unit(user)
        content = await anchor_file.read(ANCHOR_MAX_BYTES + 1)
        return await run_in_threadpool(_anchor_checked, console, request, user, content)  # the whole log is read


def _anchor_checked(console: Console, request: Request, user: ConsoleUser, content: bytes) -> Response:
    """The log checked against the anchor file ``content`` (``motcua verify --anchor``), or why it is no anchor."""
    motcua = console.motcua
    try:
        if len(content) > ANCHOR_MAX_BYTES:
            raise InvalidInput("anchor", "the file is larger than any anchor")
        anchored = Anchor.from_json(json_document(content.decode("utf-8")))
    except (InvalidInput, ValueError):
        return console.render(request, user, "audit_anchors.html", status_code=400, error=NOT_AN_ANCHOR,
                              anchor=take(motcua.store.entries(), console.clock.now()))
    report = check(anchored, motcua.store.entries())
    return console.render(request, user, "audit_anchors.html", anchored=anchored, report=report,
                          anchor=take(motcua.store.entries(), console.clock.now()))
