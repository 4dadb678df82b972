"""A workflow's state diagram as SVG, drawn on the server: one figure per region, a heat map of live counts.

A browser cannot draw the Mermaid text of :mod:`motcua.workflow.engine.diagram` without a script, and the console
loads none from outside (nor any chart library): the figure is computed here and sent as SVG markup the page
embeds. Layout is the classic layered one, small enough to read:

1. *cycles*: a depth-first walk from the initial state marks the edges that go back (a return to an earlier step);
   they are drawn, but do not push their target down;
2. *layers*: each state sits one layer below the lowest state that leads to it (longest path);
3. *order*: within a layer, states follow the mean position of their predecessors (two sweeps of barycentres);
4. *drawing*: top to bottom, each state a box with its Vietnamese label and the number of cases in it, filled
   by that number (:func:`heat`); an edge forward is a curve from a box's foot to the next box's head, an edge
   back a curve along the right-hand side.

Only presentation attributes are used (``fill``, ``stroke``…): no ``style`` attribute and no ``<style>``, so the
console's Content-Security-Policy holds. Every label is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from markupsafe import Markup, escape

from motcua.workflow.engine.definition import WorkflowDefinition

__all__ = ["HEAT_COLOURS", "Edge", "RegionGraph", "heat", "layers", "region_graph", "region_svg"]

BOX_WIDTH: Final = 168
BOX_HEIGHT: Final = 66
GAP_X: Final = 28
GAP_Y: Final = 54
MARGIN: Final = 16
BACK_LANE: Final = 26  # room on the right for the edges that go back
LINE_CHARS: Final = 24  # characters of a label per line in a box
LABEL_LINES: Final = 2
HEAT_COLOURS: Final = ("#f2f2f2", "#fff1cc", "#fdd49e", "#fc8d59", "#d7301f", "#990000")
"""Fill by count: none, then five steps up to the busiest state (a sequential ramp, light to dark)."""
_LIGHT_TEXT_FROM: Final = 4  # the two darkest fills carry white text (contrast ≥ 4.5:1)


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    dest: str
    labels: tuple[str, ...]  # the triggers' labels that move a case along it


@dataclass(frozen=True, slots=True)
class RegionGraph:
    """A region's states (in declared order), its initial state, final states and its edges."""

    name: str
    label: str
    states: tuple[str, ...]
    state_labels: Mapping[str, str]
    initial: str
    finals: frozenset[str]
    edges: tuple[Edge, ...]


def region_graph(definition: WorkflowDefinition, region: str) -> RegionGraph:
    """The states and the transitions between different states of ``region`` (internal ones draw nothing)."""
    spec = definition.regions[region]
    labels: dict[tuple[str, str], list[str]] = {}
    for trigger in definition.triggers.values():
        for transition in trigger.transitions:
            if transition.region != region or transition.dest is None:
                continue
            for source in transition.source:
                if source != transition.dest:
                    found = labels.setdefault((source, transition.dest), [])
                    if trigger.label not in found:
                        found.append(trigger.label)
    edges = tuple(Edge(source, dest, tuple(names)) for (source, dest), names in labels.items())
    return RegionGraph(region, spec.label, tuple(spec.states), {n: s.label for n, s in spec.states.items()},
                       spec.initial, frozenset(n for n, s in spec.states.items() if s.final), edges)


def _back_edges(graph: RegionGraph) -> set[tuple[str, str]]:
    """The edges a depth-first walk from the initial state meets going back to a state on its path."""
    following: dict[str, list[str]] = {state: [] for state in graph.states}
    for edge in graph.edges:
        following[edge.source].append(edge.dest)
    back: set[tuple[str, str]] = set()
    done: set[str] = set()
    for root in (graph.initial, *graph.states):
        if root in done:
            continue
        path, stack = {root}, [(root, iter(following[root]))]
        while stack:
            state, rest = stack[-1]
            nxt = next(rest, None)
            if nxt is None:
                stack.pop()
                path.discard(state)
                done.add(state)
            elif nxt in path:
                back.add((state, nxt))
            elif nxt not in done:
                path.add(nxt)
                stack.append((nxt, iter(following[nxt])))
    return back


def layers(graph: RegionGraph) -> tuple[tuple[str, ...], ...]:
    """The states layer by layer (longest path over the forward edges), each layer ordered by barycentre."""
    back = _back_edges(graph)
    forward = [(e.source, e.dest) for e in graph.edges if (e.source, e.dest) not in back]
    depth = {state: 0 for state in graph.states}
    for _ in graph.states:  # relax |V| times: enough for the longest path in a DAG
        for source, dest in forward:
            depth[dest] = max(depth[dest], depth[source] + 1)
    rows: list[list[str]] = [[] for _ in range(max(depth.values()) + 1)]
    for state in graph.states:
        rows[depth[state]].append(state)
    for _ in range(2):
        for index in range(1, len(rows)):
            rows[index] = _by_barycentre(rows[index], rows[index - 1], forward)
    return tuple(tuple(row) for row in rows if row)


def _by_barycentre(row: list[str], above: Sequence[str], forward: Sequence[tuple[str, str]]) -> list[str]:
    place = {state: index for index, state in enumerate(above)}

    def centre(state: str) -> float:
        sources = [place[s] for s, d in forward if d == state and s in place]
        return sum(sources) / len(sources) if sources else float(row.index(state))

    return sorted(row, key=lambda state: (centre(state), row.index(state)))


def heat(count: int, busiest: int) -> int:
    """The heat step of a state holding ``count`` cases when the busiest holds ``busiest``: 0 for none, then 1–5 on
    a logarithmic scale (a year's returned dossiers would otherwise leave every open state the palest)."""
    if count <= 0 or busiest <= 0:
        return 0
    steps = len(HEAT_COLOURS) - 1
    return max(1, min(steps, math.ceil(steps * math.log1p(count) / math.log1p(busiest))))


def _wrapped(label: str) -> list[str]:
    """The label in at most two lines of about :data:`LINE_CHARS` characters (the rest ends in …)."""
    lines: list[str] = []
    current = ""
    for word in label.split():
        if current and len(current) + 1 + len(word) > LINE_CHARS:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    lines.append(current)
    if len(lines) > LABEL_LINES:
        lines = [*lines[: LABEL_LINES - 1], lines[LABEL_LINES - 1][: LINE_CHARS - 1] + "…"]
    return [line if len(line) <= LINE_CHARS + 4 else line[: LINE_CHARS + 3] + "…" for line in lines]


@dataclass(frozen=True, slots=True)
class _Box:
    x: float
    y: float

    @property
    def centre(self) -> float:
        return self.x + BOX_WIDTH / 2


def _positions(rows: tuple[tuple[str, ...], ...]) -> tuple[dict[str, _Box], float, float]:
    widest = max(len(row) for row in rows)
    width = 2 * MARGIN + widest * BOX_WIDTH + (widest - 1) * GAP_X + BACK_LANE
    boxes: dict[str, _Box] = {}
    for depth, row in enumerate(rows):
        used = len(row) * BOX_WIDTH + (len(row) - 1) * GAP_X
        left = MARGIN + (width - BACK_LANE - 2 * MARGIN - used) / 2
        for index, state in enumerate(row):
            boxes[state] = _Box(left + index * (BOX_WIDTH + GAP_X), MARGIN + 18 + depth * (BOX_HEIGHT + GAP_Y))
    height = MARGIN + 18 + len(rows) * (BOX_HEIGHT + GAP_Y) - GAP_Y + MARGIN
    return boxes, width, height


PORT_SPREAD: Final = 12  # the distance between two edges leaving (or reaching) a box side by side


def _ports(graph: RegionGraph, boxes: Mapping[str, _Box]) -> dict[tuple[str, str], tuple[float, float]]:
    """For each edge, the x offsets of its ends from its boxes' centres, so that edges leave and arrive apart."""
    outgoing: dict[str, list[Edge]] = {}
    incoming: dict[str, list[Edge]] = {}
    for edge in graph.edges:
        outgoing.setdefault(edge.source, []).append(edge)
        incoming.setdefault(edge.dest, []).append(edge)
    offsets: dict[tuple[str, str], list[float]] = {(e.source, e.dest): [0.0, 0.0] for e in graph.edges}
    for end, groups, other in ((0, outgoing, "dest"), (1, incoming, "source")):
        for edges in groups.values():
            ordered = sorted(edges, key=lambda e: boxes[getattr(e, other)].centre)
            for index, edge in enumerate(ordered):
                offsets[(edge.source, edge.dest)][end] = (index - (len(ordered) - 1) / 2) * PORT_SPREAD
    return {pair: (values[0], values[1]) for pair, values in offsets.items()}


def _edge_path(source: _Box, dest: _Box, ports: tuple[float, float], *, back: bool, width: float) -> str:
    if back or dest.y <= source.y:  # back up (or along a layer): out on the right, in on the right
        lane = width - BACK_LANE / 2
        sy, dy = source.y + BOX_HEIGHT / 2 + ports[0] / 2, dest.y + BOX_HEIGHT / 2 + ports[1] / 2
        sx, dx = source.x + BOX_WIDTH, dest.x + BOX_WIDTH
        return f"M{sx:.0f},{sy:.0f} C{lane:.0f},{sy:.0f} {lane:.0f},{dy:.0f} {dx:.0f},{dy:.0f}"
    sx, sy = source.centre + ports[0], source.y + BOX_HEIGHT
    dx, dy = dest.centre + ports[1], dest.y
    middle = (sy + dy) / 2
    return f"M{sx:.0f},{sy:.0f} C{sx:.0f},{middle:.0f} {dx:.0f},{middle:.0f} {dx:.0f},{dy:.0f}"


def _box_svg(graph: RegionGraph, state: str, box: _Box, count: int, *, busiest: int, link: str | None) -> str:
    step = heat(count, busiest)
    ink = "#ffffff" if step >= _LIGHT_TEXT_FROM else "#1a1a1a"
    label = graph.state_labels[state]
    border = 3 if state in graph.finals else 1.5
    title = f"{label} ({state}): {count} hồ sơ"
    lines = _wrapped(label)
    text = "".join(f'<tspan x="{box.centre:.0f}" dy="{0 if i == 0 else 15}">{escape(line)}</tspan>'
                   for i, line in enumerate(lines))
    top = box.y + (18 if len(lines) > 1 else 24)
    drawn = (
        f'<g class="state heat-{step}"><title>{escape(title)}</title>'
        f'<rect x="{box.x:.0f}" y="{box.y:.0f}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" rx="8" '
        f'fill="{HEAT_COLOURS[step]}" stroke="#333333" stroke-width="{border}"/>'
        f'<text x="{box.centre:.0f}" y="{top:.0f}" text-anchor="middle" font-size="12" fill="{ink}">{text}</text>'
        f'<text x="{box.centre:.0f}" y="{box.y + BOX_HEIGHT - 7:.0f}" text-anchor="middle" font-size="13" '
        f'font-weight="bold" fill="{ink}">{count}</text></g>'
    )
    return drawn if link is None else f'<a href="{escape(link)}">{drawn}</a>'



def region_svg(graph: RegionGraph, counts: Mapping[str, int], *, figure_id: str,
               link: Callable[[str], str | None] | None = None) -> Markup:
    """The region's diagram as an ``<svg>`` element; ``counts``: cases per state (absent: none);
    ``figure_id`` makes the arrowhead's id unique in the page; ``link``: where a state's box leads (its cases)."""
    rows = layers(graph)
    boxes, width, height = _positions(rows)
    back = _back_edges(graph)
    busiest = max((counts.get(state, 0) for state in graph.states), default=0)
    marker = f"{figure_id}-arrow"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="diagram" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="{"img" if link is None else "group"}" '  # links stay links
        f'aria-labelledby="{figure_id}-title">',
        f'<title id="{figure_id}-title">{escape(graph.label)}</title>',
        f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#444444"/></marker></defs>',
    ]
    start = boxes[graph.initial]
    parts.append(f'<circle cx="{start.centre:.0f}" cy="{MARGIN + 4}" r="5" fill="#1a1a1a"/>'
                 f'<line x1="{start.centre:.0f}" y1="{MARGIN + 9}" x2="{start.centre:.0f}" y2="{start.y:.0f}" '
                 f'stroke="#444444" stroke-width="1.5" marker-end="url(#{marker})"/>')
    ports = _ports(graph, boxes)
    for edge in graph.edges:
        pair = (edge.source, edge.dest)
        path = _edge_path(boxes[edge.source], boxes[edge.dest], ports[pair], back=pair in back, width=width)
        dash = ' stroke-dasharray="5 4"' if (edge.source, edge.dest) in back else ""
        parts.append(f'<path d="{path}" fill="none" stroke="#444444" stroke-width="1.3"{dash} '
                     f'marker-end="url(#{marker})"><title>{escape("; ".join(edge.labels))}</title></path>')
    parts.extend(_box_svg(graph, state, boxes[state], counts.get(state, 0), busiest=busiest,
                          link=link(state) if link else None) for state in graph.states)
    parts.append("</svg>")
    return Markup("".join(parts))  # every text above is escaped, every number formatted here
