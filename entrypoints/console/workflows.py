"""The workflow pages: every declared workflow, and each drawn as its state diagram with the live count of cases in
each state (a heat map, as Camunda Operate's).

- ``GET /console/workflows``: the workflows (latest version of each), with how many of their cases the user sees;
- ``GET /console/workflows/{key}``: one figure per region (:mod:`motcua.entrypoints.console.diagram`), each state
  filled by its number of cases, and the same numbers as a table.

The counts are the cases the user's scope sees (:meth:`~motcua.workflow.access.cases.ScopedCases.find`, page by
page), never another unit's.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations.

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from markupsafe import Markup

from motcua.entrypoints.console.base import PREFIX, Console, ConsoleUser, PageError, router
from motcua.entrypoints.console.diagram import RegionGraph, region_graph, region_svg
from motcua.workflow.access.cases import ScopedCases
from motcua.workflow.dossiers.desk import DOSSIER_WORKFLOW
from motcua.workflow.engine.definition import WorkflowDefinition
from motcua.workflow.engine.queries import MAX_PAGE, CaseFilter

__all__ = ["Figure", "StateCounts", "figures", "latest_definitions", "list_link", "routes", "state_counts"]

_KEY_MAX: Final = 64
StateCounts = Mapping[str, Counter[str]]
"""Per region, the number of cases in each state."""


def latest_definitions(definitions: list[WorkflowDefinition]) -> list[WorkflowDefinition]:
    """The latest version of each workflow, by key."""
    latest: dict[str, WorkflowDefinition] = {}
    for definition in definitions:
        if definition.key not in latest or latest[definition.key].version < definition.version:
            latest[definition.key] = definition
    return [latest[key] for key in sorted(latest)]


def state_counts(cases: ScopedCases, key: str) -> tuple[int, dict[str, Counter[str]]]:
    """How many cases of workflow ``key`` the scope sees, and per region how many are in each state."""
    counts: dict[str, Counter[str]] = {}
    total = 0
    cursor: str | None = None
    while True:
        page = cases.find(CaseFilter(definition_key=key), after=cursor, limit=MAX_PAGE)
        for case in page.items:
            total += 1
            for region, state in case.state.items():
                counts.setdefault(region, Counter())[state] += 1
        if page.next_cursor is None:
            return total, counts
        cursor = page.next_cursor


@dataclass(frozen=True)
class Figure:
    """One region of a workflow: its diagram, and its states with their counts (for the table under it)."""

    graph: RegionGraph
    svg: Markup
    rows: tuple[tuple[str, str, int, str | None], ...]  # (state, label, count, where its cases are listed)
    elsewhere: int  # cases in a state this version does not declare (an older version's)


_LISTED: Final = {"lifecycle": "state", "deadline": "deadline"}
"""The regions of a dossier the dossier list filters by (its query parameter)."""


def list_link(definition: WorkflowDefinition, region: str) -> Callable[[str], str] | None:
    """Where a state's cases are listed: the dossier list filtered by it, for the regions it filters by."""
    parameter = _LISTED.get(region)
    if definition.key != DOSSIER_WORKFLOW or parameter is None:
        return None
    return lambda state: f"{PREFIX}/dossiers?{urlencode({parameter: state, 'scope': 'all'})}"


def figures(definition: WorkflowDefinition, counts: StateCounts) -> tuple[Figure, ...]:
    shown: list[Figure] = []
    for region in definition.regions:
        graph = region_graph(definition, region)
        counted = counts.get(region, Counter())
        link = list_link(definition, region)
        rows = tuple((state, graph.state_labels[state], counted.get(state, 0), link(state) if link else None)
                     for state in graph.states)
        elsewhere = sum(count for state, count in counted.items() if state not in graph.state_labels)
        svg = region_svg(graph, counted, figure_id=f"wf-{definition.key}-{region}", link=link)
        shown.append(Figure(graph, svg, rows, elsewhere))
    return tuple(shown)


WorkflowKey = Annotated[str, Path(max_length=_KEY_MAX, pattern=r"^[a-z][a-z0-9-]*$")]


def routes(console: Console) -> APIRouter:
    pages = router(console)
    User = Annotated[ConsoleUser, Depends(console.signed_in)]  # noqa: N806 - a type alias local to the routes

    @pages.get("/workflows")
    def workflows(request: Request, user: User) -> Response:
        cases = console.cases(user)
        listed = [(definition, state_counts(cases, definition.key)[0])
                  for definition in latest_definitions(console.motcua.workflows.definitions())]
        return console.render(request, user, "workflows.html", workflows=listed)

    @pages.get("/workflows/{key}")
    def workflow(request: Request, user: User, key: WorkflowKey) -> Response:
        known = {d.key: d for d in latest_definitions(console.motcua.workflows.definitions())}
        definition = known.get(key)
        if definition is None:
            raise PageError(404, "Không có quy trình này.")
        total, counts = state_counts(console.cases(user), key)
        return console.render(request, user, "workflow.html", definition=definition, total=total,
                              figures=figures(definition, counts))

    return pages
