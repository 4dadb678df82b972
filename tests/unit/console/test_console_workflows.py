"""The workflow pages: each declared workflow drawn as its state diagram, with the live count of the cases the user
sees in each state; and the layered layout that draws it."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

import pytest

from motcua.definitions.workflows import WORKFLOWS_DIR, load_definition
from motcua.entrypoints.console.diagram import HEAT_COLOURS, Edge, RegionGraph, heat, layers, region_graph, region_svg
from motcua.entrypoints.console.workflows import latest_definitions
from tests.unit.console.pages_b import AN_THUONG, CAM_THUONG, Office, office


@pytest.fixture(scope="module")
def shop() -> Iterator[Office]:
    built = office()
    yield built
    built.motcua.close()


def listed_total(html: str, key: str) -> int:
    found = re.search(rf'workflows/{key}">.*?</tr>', html, re.S)
    assert found is not None, key
    return int(re.findall(r'<td class="num">(\d+)</td>', found[0])[-1])


def state_counts(html: str, region_label: str) -> dict[str, int]:
    """The (state → count) table under a region's figure."""
    section = re.search(rf"<h2 id=\"region-[a-z_]+\">{region_label}</h2>(.*?)</section>", html, re.S)
    assert section is not None, region_label
    rows = re.findall(r'<tr><th scope="row">.*?</th><td>([a-z_]+)</td><td class="num">(\d+)</td></tr>', section[1])
    return {state: int(count) for state, count in rows}


def test_the_list_counts_the_users_cases_only(shop: Office) -> None:
    an = shop.browser("an", ["officer"], units=[AN_THUONG]).get("/console/workflows")
    cam = shop.browser("cam", ["officer"], units=[CAM_THUONG]).get("/console/workflows")
    everyone = shop.browser("province", ["inspector"], province="hai-duong").get("/console/workflows")
    assert [listed_total(page.text, "tthc-dossier") for page in (an, cam, everyone)] == [3, 1, 4]
    assert load_definition(WORKFLOWS_DIR / "tthc-dossier.v1.yaml").title in an.text
    assert {"pakn", "plan-task"} <= set(re.findall(r'workflows/([a-z-]+)"', everyone.text))


def test_the_diagram_counts_each_state_in_scope(shop: Office) -> None:
    page = shop.browser("an-2", ["officer"], units=[AN_THUONG]).get("/console/workflows/tthc-dossier")
    assert page.status_code == 200
    lifecycle = load_definition(WORKFLOWS_DIR / "tthc-dossier.v1.yaml").regions["lifecycle"]
    counts = state_counts(page.text, lifecycle.label)
    mine = Counter(shop.motcua.service.get(shop.codes[name]).state["lifecycle"]
                   for name in ("an_done", "an_open", "an_online"))
    assert counts == {state: mine.get(state, 0) for state in lifecycle.states}
    assert page.text.count("<svg") == 3  # one figure per region: lifecycle, deadline, records
    assert "style=" not in page.text and "<script>" not in page.text  # the CSP forbids both


def test_a_state_leads_to_the_list_of_its_dossiers(shop: Office) -> None:
    browser = shop.browser("an-3", ["officer"], units=[AN_THUONG])
    page = browser.get("/console/workflows/tthc-dossier").text
    states = {name: shop.motcua.service.get(code).state["lifecycle"] for name, code in shop.codes.items()}
    state = states["an_done"]
    link = f"/console/dossiers?state={state}&amp;scope=all"
    assert f'<a href="{link}">' in page  # in the figure and in the table under it
    listed = browser.get(link.replace("&amp;", "&")).text
    assert shop.codes["an_done"] in listed
    assert not any(shop.codes[name] in listed for name, found in states.items() if found != state)
    assert "/console/dossiers?" not in page.split('id="region-records"')[1]  # the list does not filter by records


def test_another_units_dossiers_are_not_counted(shop: Office) -> None:
    page = shop.browser("cam-2", ["officer"], units=[CAM_THUONG]).get("/console/workflows/tthc-dossier")
    lifecycle = load_definition(WORKFLOWS_DIR / "tthc-dossier.v1.yaml").regions["lifecycle"]
    assert sum(state_counts(page.text, lifecycle.label).values()) == 1


def test_an_unknown_workflow_is_a_404_page(shop: Office) -> None:
    browser = shop.browser("curious", ["officer"], units=[AN_THUONG])
    assert browser.get("/console/workflows/no-such-flow").status_code == 404
    assert browser.get("/console/workflows/Bad%20Key").status_code in {400, 404}


def graph(states: tuple[str, ...], edges: tuple[tuple[str, str], ...], label: str = "Vùng") -> RegionGraph:
    return RegionGraph("r", label, states, {state: state.upper() for state in states}, states[0],
                       frozenset({states[-1]}), tuple(Edge(s, d, (f"{s}→{d}",)) for s, d in edges))


def test_layers_follow_the_longest_path_and_ignore_edges_back() -> None:
    chain = graph(("a", "b", "c", "d"), (("a", "b"), ("b", "c"), ("c", "b"), ("a", "d"), ("c", "d")))
    assert layers(chain) == (("a",), ("b",), ("c",), ("d",))


def test_every_state_of_every_region_is_drawn_once() -> None:
    for path in sorted(WORKFLOWS_DIR.glob("*.yaml")):
        definition = load_definition(path)
        for region in definition.regions:
            drawn = [state for layer in layers(region_graph(definition, region)) for state in layer]
            assert sorted(drawn) == sorted(definition.regions[region].states), (path.name, region)
            assert drawn[0] == definition.regions[region].initial


def test_heat_grows_with_the_count() -> None:
    assert heat(0, 10) == 0 and heat(5, 0) == 0
    assert heat(1, 10_000) == 1 and heat(10, 10) == len(HEAT_COLOURS) - 1
    assert heat(8, 5846) >= 2  # a few open dossiers beside a year of returned ones still show
    assert [heat(count, 10) for count in range(11)] == sorted(heat(count, 10) for count in range(11))


def test_labels_are_escaped_and_fills_follow_the_counts() -> None:
    svg = str(region_svg(graph(("a", "b"), (("a", "b"),), label="<b>x</b>"), {"a": 7}, figure_id="t"))
    assert "<b>x</b>" not in svg and "&lt;b&gt;x&lt;/b&gt;" in svg
    assert f'fill="{HEAT_COLOURS[-1]}"' in svg and f'fill="{HEAT_COLOURS[0]}"' in svg
    assert "style=" not in svg and 'marker-end="url(#t-arrow)"' in svg


def test_only_the_latest_version_of_a_workflow_is_listed() -> None:
    first = load_definition(WORKFLOWS_DIR / "pakn.v1.yaml")
    second = first.model_copy(update={"version": 2})
    assert latest_definitions([second, first]) == [second]
