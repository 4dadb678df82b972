"""Property-based test of the HTTP API against its own OpenAPI document (schemathesis, in-process ASGI).

Every operation gets generated requests with a valid API key: no answer may be a 5xx, and every answer
must conform to the document (status declared, body schema, content type, headers), and data the
document forbids must be refused with a 4xx. Schema-valid data may still be refused with 422 (an unknown
procedure code, a trigger the workflow does not declare): the document cannot list the catalogue, so the
"positive data accepted" check is left out.

Then the same operations as an attacker would call them, on the memory store, SQLite and PostgreSQL (where a NUL
byte used to fail the statement): schemathesis generates each request and hooks of the schema put hostile values in
it — NUL and other control characters, bidirectional overrides, huge strings, deep nesting, numbers no JSON double
holds, thousands of keys — in a path parameter, a query parameter, any field of the body, or the body as a whole.
No answer may be a 5xx, every refusal is a small problem document, and nothing reaches the server's log at error
level or with a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest
import schemathesis
import structlog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from motcua.adapters.bootstrap import open_motcua
from motcua.adapters.keys import MemoryHttpStore, new_key
from motcua.entrypoints.http.app import create_app
from motcua.entrypoints.http.metrics import MetricsObserver
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.engine.model import Actor
from tests import services
from tests.conftest import START

KEY: dict[str, str] = {}


@pytest.fixture(scope="module")
def api_schema() -> Iterator[schemathesis.BaseSchema]:
    clock = ManualClock(START)
    registry = CollectorRegistry()
    motcua = open_motcua("memory://", clock=clock, observers=[MetricsObserver(registry)])
    officer = Actor.of("Nguyễn Thị Lan", "officer")
    for _ in range(2):  # something to find, read and fire on
        motcua.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), officer)
    store = MemoryHttpStore()
    created = new_key("Nguyễn Thị Lan", ["officer", "specialist", "leader"], clock.now())
    store.add_key(created.stored)
    KEY["value"] = created.secret_text
    app = create_app(motcua, store, registry=registry, clock=clock)
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    motcua.close()


def _operations() -> dict[str, dict[str, Any]]:
    """The operations of the document by label (GET /dossiers, POST /dossiers/{code}/events…)."""
    app = create_app(open_motcua("memory://", observers=[]), MemoryHttpStore())
    return {f"{method.upper()} {path}": operation for path, methods in app.openapi()["paths"].items()
            for method, operation in methods.items()}


def _cases() -> list[tuple[GenerationMode, str]]:
    """Every operation with valid data; with invalid data, those that take a body or a query."""
    cases = [(GenerationMode.POSITIVE, label) for label in _operations()]
    return cases + [(GenerationMode.NEGATIVE, label) for label, operation in _operations().items()
                    if "requestBody" in operation or any(p["in"] == "query" for p in operation.get("parameters", []))]


@pytest.mark.parametrize(("mode", "label"), _cases(), ids=lambda value: getattr(value, "value", value))
def test_no_server_error_and_every_answer_conforms(
    api_schema: schemathesis.BaseSchema, label: str, mode: GenerationMode
) -> None:
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None, label

    @given(case=operation.as_strategy(mode, headers={"X-API-Key": KEY["value"]}))
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def answers_well(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
        case.call_and_validate(headers={"X-API-Key": KEY["value"]}, excluded_checks=[positive_data_acceptance])

    answers_well()


# -- hostile inputs on every route and method ----------------------------------------------------------------------

HOSTILE_KEY: dict[str, str] = {}
ERROR_ANSWER_MAX: Final = 2048  # bytes of a problem document, whatever the request held
HOSTILE_LINES: Final = st.one_of(
    st.sampled_from([
        "\x00", "a\x00b", "000.00.00.H23-240304-0001\x00", "\x1b[31mđỏ", "\r\nSet-Cookie: a=b", "\x7f", "\u0085",
        "\u202egnp.exe", "\ufeff", "\u2028", "x" * 100_000, "Đ" * 5_000, "'; DROP TABLE cases; --", "../../etc/passwd",
        "%00", "%", "\\", "null", "",
    ]),
    st.text(st.characters(codec="utf-8", categories=["Cc", "Cf", "Zl", "Zp", "Co"]), min_size=1, max_size=40),
    st.text(max_size=30).map(lambda text: f"{text}\x00{text}"),
)


def _nested(depth: int) -> object:
    value: object = "đáy"
    for level in range(depth):
        value = [value] if level % 2 else {"a": value}
    return value


HOSTILE_VALUES: Final = st.one_of(
    HOSTILE_LINES,
    st.integers(9, 400).map(_nested),  # deeper than any bound, shallower than the client's own JSON encoder
    st.sampled_from([2**63, -(2**64), 10**300, 1e308, -0.0, True, [], {}, ["\x00"] * 60]),
    st.integers(1_000, 20_000).map(lambda count: {f"k{number}": "\x00" for number in range(count)}),
)


def _hostile_parameters(parameters: dict[str, Any], names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """``parameters`` with one of ``names`` (or none) set to a hostile line."""
    if not names:
        return st.just(parameters)
    chosen = st.sampled_from(names).flatmap(lambda name: HOSTILE_LINES.map(lambda value: {**parameters, name: value}))
    return st.one_of(st.just(parameters), chosen)


def _places(body: object, where: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every key of every object in ``body`` (a place to put a value), and a new key in each object."""
    if not isinstance(body, dict):
        return []
    places = [(*where, "ключ\x00")]
    for key, value in body.items():
        places.append((*where, key))
        places.extend(_places(value, (*where, key)))
    return places


def _put(body: dict[str, Any], place: tuple[str, ...], value: object) -> dict[str, Any]:
    head, *rest = place
    if not rest:
        return {**body, head: value}
    inner = body.get(head)
    return {**body, head: _put(inner if isinstance(inner, dict) else {}, tuple(rest), value)}


def _hostile_body(body: object) -> st.SearchStrategy[object]:
    """The body, with a hostile value in one of its places; or a hostile value as the whole body."""
    places = _places(body)
    whole = HOSTILE_VALUES
    if not places or not isinstance(body, dict):
        return st.one_of(st.just(body), whole)
    inside = st.sampled_from(places).flatmap(lambda place: HOSTILE_VALUES.map(lambda value: _put(body, place, value)))
    return st.one_of(inside, inside, whole)


def _hostile_hooks(schema: schemathesis.BaseSchema, parameters: dict[str, dict[str, list[str]]]) -> None:
    """Register, on this schema alone, the hooks that turn each generated request hostile."""

    def names(context: Any, location: str) -> list[str]:
        operation = context.operation
        return parameters.get(f"{operation.method.upper()} {operation.path}", {}).get(location, [])

    @schema.hook
    def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
        return _hostile_parameters(path_parameters, names(context, "path"))

    @schema.hook
    def flatmap_query(context: Any, query: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
        return _hostile_parameters(query or {}, names(context, "query"))

    @schema.hook
    def flatmap_body(context: Any, body: object) -> st.SearchStrategy[object]:
        return _hostile_body(body)


def _parameters() -> dict[str, dict[str, list[str]]]:
    """The path and query parameters of each operation, by label."""
    return {label: {location: [p["name"] for p in operation.get("parameters", []) if p["in"] == location]
                    for location in ("path", "query")}
            for label, operation in _operations().items()}


@pytest.fixture(scope="module", params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def hostile_schema(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        schemathesis.BaseSchema]:
    with _database(request.param, tmp_path_factory.mktemp("hostile")) as url:
        clock = ManualClock(START)
        motcua = open_motcua(url, clock=clock, observers=[])
        officer = Actor.of("Nguyễn Thị Lan", "officer")
        for _ in range(2):
            motcua.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), officer)
        store = MemoryHttpStore()
        created = new_key("Nguyễn Thị Lan", ["officer", "specialist", "leader"], clock.now())
        store.add_key(created.stored)
        HOSTILE_KEY["value"] = created.secret_text
        schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(motcua, store, clock=clock))
        _hostile_hooks(schema, _parameters())
        yield schema
        motcua.close()


class _database:  # noqa: N801 - used as a function
    """``memory://``, a SQLite file in ``folder``, or a fresh PostgreSQL database (dropped on exit)."""

    def __init__(self, backend: str, folder: Path) -> None:
        self.backend, self.folder = backend, folder
        self._postgres: Any = None

    def __enter__(self) -> str:
        if self.backend == "memory":
            return "memory://"
        if self.backend == "sqlite":
            return f"sqlite:///{self.folder / 'hostile.db'}"
        services.require_postgres()
        self._postgres = services.postgres_database()
        return services.postgres_url(self._postgres.__enter__())

    def __exit__(self, *exc_info: object) -> None:
        if self._postgres is not None:
            self._postgres.__exit__(*exc_info)


@pytest.mark.parametrize("label", list(_operations()))
def test_hostile_input_on_every_route_answers_no_5xx_and_logs_no_error(
    hostile_schema: schemathesis.BaseSchema, label: str, caplog: pytest.LogCaptureFixture
) -> None:
    operation = hostile_schema.find_operation_by_label(label)
    assert operation is not None, label
    caplog.set_level(logging.DEBUG)
    answers: dict[int, int] = {}

    @given(case=operation.as_strategy(GenerationMode.POSITIVE, headers={"X-API-Key": HOSTILE_KEY["value"]}))
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def answers_without_failing(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
        headers = {"X-API-Key": HOSTILE_KEY["value"], "If-Match": '"2"'}
        response = case.call(headers=headers)
        answers[response.status_code] = answers.get(response.status_code, 0) + 1
        assert response.status_code < 500, (case.path_parameters, case.query, response.content[:300])
        if response.status_code >= 400:
            assert len(response.content) < ERROR_ANSWER_MAX, (response.status_code, response.content[:300])
            assert response.headers["content-type"] == ["application/problem+json"], response.headers

    with structlog.testing.capture_logs() as logged:
        answers_without_failing()

    assert answers and max(answers) < 500, answers
    failures = [record for record in caplog.records if record.exc_info or record.levelno >= logging.ERROR]
    assert failures == [], [record.getMessage() for record in failures]
    assert [event for event in logged if event.get("log_level") in ("error", "critical") or "exc_info" in event] == []
