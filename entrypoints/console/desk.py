"""The desk (trang chủ) and the lists of dossiers.

- ``GET /console/``: today's work of the signed-in user and of the units they see — the dossiers still being dealt
  with that are overdue, due soon, waiting for a supplement, waiting for a payment, awaiting a leader's approval,
  newly registered, ready to return, and those the user holds (``assignee`` = their name) —, then the same dossiers
  by officer and by field. Each count links to its filtered list. The counts are read from the open dossiers of the
  user's scope (at most :data:`DESK_SCAN_MAX`; beyond, the page says so).
- ``GET /console/dossiers?…``: a keyset-paged list (by code, :data:`PAGE_SIZE` a page, ``after`` the last code
  shown) filtered by the workflow's declared states (``state``, ``deadline``) and the index's search keys
  (``procedure``, ``officer``, ``unit``, ``applicant`` = an identity number), of the open, ended or all dossiers
  (``scope``). ``q`` finds by code (a dossier the user may see opens at once), else by identity number.

The filters and ``q`` are read as NFC, as every address of the application is (:mod:`motcua.entrypoints.http.composed`):
a name typed decomposed (a Mac, Unikey's "tổ hợp" mode) finds what the composed one finds, and a bound counts the
composed text; an address whose query is not UTF-8 text is a 400 page (:class:`~.base.ConsoleRoute`).
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations.

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated, Final
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from motcua.entrypoints.console.base import Console, ConsoleUser, PageError, router
from motcua.entrypoints.console.dossier_views import (
    DossierRow,
    ListQuery,
    row_of,
    states_of,
)
from motcua.workflow.access.cases import ScopedCases
from motcua.workflow.dossiers.desk import DOSSIER_WORKFLOW
from motcua.workflow.engine.bounds import CASE_CODE_MAX, NAME_MAX
from motcua.workflow.engine.model import Case
from motcua.workflow.engine.queries import MAX_PAGE, CaseFilter
from motcua.workflow.errors import CaseNotFound, InvalidInput, NotFound

__all__ = ["DESK_SCAN_MAX", "PAGE_SIZE", "DeskTally", "routes", "tally"]

PAGE_SIZE: Final = 50
DESK_SCAN_MAX: Final = 5000
"""Open dossiers the desk counts at most (ten pages of the store's largest)."""
_QUERY_MAX: Final = 64


@dataclass
class DeskTally:
    """The counts of the desk, over the open dossiers of one scope."""

    lifecycle: Counter[str] = field(default_factory=Counter)
    deadline: Counter[str] = field(default_factory=Counter)
    officers: Counter[str] = field(default_factory=Counter)
    officers_overdue: Counter[str] = field(default_factory=Counter)
    fields: Counter[str] = field(default_factory=Counter)
    fields_overdue: Counter[str] = field(default_factory=Counter)
    procedures: Counter[str] = field(default_factory=Counter)
    mine: int = 0
    total: int = 0
    truncated: bool = False


def _open_dossiers(cases: ScopedCases) -> Iterator[Case]:
    where = CaseFilter(definition_key=DOSSIER_WORKFLOW, ended=False)
    after: str | None = None
    while True:
        page = cases.find(where, after=after, limit=MAX_PAGE)
        yield from page.items
        if page.next_cursor is None:
            return
        after = page.next_cursor


def tally(console: Console, user: ConsoleUser) -> DeskTally:
    """The desk's counts for ``user``: the open dossiers of their scope, by state, officer and field."""
    counts, motcua = DeskTally(), console.motcua
    for case in _open_dossiers(console.cases(user)):
        if counts.total >= DESK_SCAN_MAX:
            counts.truncated = True
            break
        row = row_of(motcua, case)
        overdue = row.deadline == "overdue"
        counts.total += 1
        counts.lifecycle[row.lifecycle] += 1
        counts.deadline[row.deadline] += 1
        counts.procedures[row.procedure] += 1
        field_name = _field_name(console, row)
        counts.fields[field_name] += 1
        counts.fields_overdue[field_name] += overdue
        if row.officer:
            counts.officers[row.officer] += 1
            counts.officers_overdue[row.officer] += overdue
        counts.mine += row.officer == user.name
    return counts


def _field_name(console: Console, row: DossierRow) -> str:
    return _field_of(console, row.procedure)


def _field_of(console: Console, procedure: str) -> str:
    try:
        return console.motcua.catalogue.get(procedure).field_name
    except LookupError:
        return "(thủ tục ngoài danh mục)"


def _desk_url(field_name: str) -> str:
    """The desk with its procedures narrowed to one field (each procedure then links to its list of dossiers)."""
    return f"/console/?{urlencode({'field': field_name})}#theo-thu-tuc"


@dataclass(frozen=True, slots=True)
class Tile:
    label: str
    count: int
    url: str
    tone: str = ""


def _tiles(console: Console, user: ConsoleUser, counts: DeskTally) -> list[Tile]:
    definition = console.motcua.workflows.latest(DOSSIER_WORKFLOW).definition
    lifecycle, deadline = definition.regions["lifecycle"].states, definition.regions["deadline"].states

    def tile(label: str, count: int, query: ListQuery, tone: str = "") -> Tile:
        return Tile(label, count, query.url(), tone)

    return [
        tile(deadline["overdue"].label, counts.deadline["overdue"], ListQuery(deadline="overdue"), "bad"),
        tile(deadline["due_soon"].label, counts.deadline["due_soon"], ListQuery(deadline="due_soon"), "warn"),
        tile("Hồ sơ tôi đang xử lý", counts.mine, ListQuery(officer=user.name)),
        tile(lifecycle["submitted"].label, counts.lifecycle["submitted"], ListQuery(state="submitted")),
        tile(lifecycle["supplement_requested"].label, counts.lifecycle["supplement_requested"],
             ListQuery(state="supplement_requested"), "warn"),
        tile(lifecycle["awaiting_payment"].label, counts.lifecycle["awaiting_payment"],
             ListQuery(state="awaiting_payment"), "warn"),
        tile(lifecycle["awaiting_approval"].label, counts.lifecycle["awaiting_approval"],
             ListQuery(state="awaiting_approval")),
        tile(lifecycle["result_ready"].label, counts.lifecycle["result_ready"], ListQuery(state="result_ready"), "ok"),
    ]


def routes(console: Console) -> APIRouter:
    pages = router(console)
    SignedIn = Annotated[ConsoleUser, Depends(console.signed_in)]  # noqa: N806 - a type alias local to the routes

    @pages.get("/")
    def desk(request: Request, user: SignedIn,
             field: Annotated[str | None, Query(max_length=_QUERY_MAX)] = None) -> Response:
        counts = tally(console, user)
        chosen = field.strip() if field and field.strip() in counts.fields else None  # an unknown field: all
        procedures = [(code, _procedure_name(console, code), count) for code, count in counts.procedures.most_common()
                      if chosen is None or _field_of(console, code) == chosen]
        return console.render(
            request, user, "desk.html", tiles=_tiles(console, user, counts), counts=counts,
            officers=sorted(counts.officers.items(), key=lambda item: (-item[1], item[0])),
            fields=sorted(counts.fields.items(), key=lambda item: (-item[1], item[0])), procedures=procedures,
            chosen_field=chosen, field_url=_desk_url,
            officer_url=lambda name: ListQuery(officer=name).url(),
            procedure_url=lambda code: ListQuery(procedure=code).url(), scan_max=DESK_SCAN_MAX,
        )

    @pages.get("/dossiers")
    def dossiers(  # noqa: PLR0917 - one parameter per filter, as FastAPI reads them
        request: Request,
        user: SignedIn,
        state: Annotated[str | None, Query(max_length=_QUERY_MAX)] = None,
        deadline: Annotated[str | None, Query(max_length=_QUERY_MAX)] = None,
        procedure: Annotated[str | None, Query(max_length=_QUERY_MAX)] = None,
        officer: Annotated[str | None, Query(max_length=NAME_MAX)] = None,  # a name, as the HTTP API's filter
        unit: Annotated[str | None, Query(max_length=_QUERY_MAX)] = None,
        applicant: Annotated[str | None, Query(max_length=_QUERY_MAX)] = None,
        scope: Annotated[str, Query(max_length=8)] = "open",
        q: Annotated[str | None, Query(max_length=CASE_CODE_MAX)] = None,
        after: Annotated[str | None, Query(max_length=CASE_CODE_MAX)] = None,
    ) -> Response:
        cases = console.cases(user)
        search = (q or "").strip()
        if search:
            found = _by_code(cases, search)
            if found is not None:
                return RedirectResponse(f"/console/dossiers/{quote(found, safe='')}", status_code=303)
            applicant = applicant or search
        query = ListQuery(state=state or None, deadline=deadline or None, procedure=procedure or None,
                          officer=officer or None, unit=unit or None, applicant=applicant or None, scope=scope)
        definition = console.motcua.workflows.latest(DOSSIER_WORKFLOW).definition
        try:
            query.check(console.motcua.workflows)
        except InvalidInput:
            raise PageError(400, "Bộ lọc không hợp lệ.") from None
        try:
            page = cases.find(query.where(), after=after or None, limit=PAGE_SIZE)
        except NotFound:
            raise PageError(404, "Không có đơn vị nào mang mã này.") from None
        rows = [row_of(console.motcua, case) for case in page.items]
        return console.render(
            request, user, "desk_list.html", rows=rows, query=query, search=search,
            next_url=query.url(page.next_cursor) if page.next_cursor else None,
            first_url=query.url() if after else None,
            lifecycle_states=states_of(definition, "lifecycle"), deadline_states=states_of(definition, "deadline"),
            procedures=[(p.code, p.name) for p in console.motcua.catalogue],
            labels=_filter_labels(console, query),
        )

    return pages


def _by_code(cases: ScopedCases, code: str) -> str | None:
    try:
        case = cases.case(code)
    except (CaseNotFound, InvalidInput):
        return None
    return case.code if case.definition_key == DOSSIER_WORKFLOW else None


def _procedure_name(console: Console, code: str) -> str:
    try:
        return console.motcua.catalogue.get(code).name
    except LookupError:
        return code


def _filter_labels(console: Console, query: ListQuery) -> list[str]:
    """The filters of the list in words, for its heading."""
    definition = console.motcua.workflows.latest(DOSSIER_WORKFLOW).definition
    lifecycle, deadline = definition.regions["lifecycle"].states, definition.regions["deadline"].states
    words = []
    if query.state:
        words.append(lifecycle[query.state].label)
    if query.deadline:
        words.append(deadline[query.deadline].label)
    if query.procedure:
        words.append(f"thủ tục {_procedure_name(console, query.procedure)}")
    if query.officer:
        words.append(f"người xử lý {query.officer}")
    if query.unit:
        words.append(f"đơn vị {query.unit}")
    if query.applicant:
        words.append("số định danh đã nhập")
    words.append({"open": "đang giải quyết", "ended": "đã kết thúc", "all": "mọi hồ sơ"}[query.scope])
    return words

