"""Property-based test of the HTTP API against its own OpenAPI document (schemathesis, in-process ASGI).

Every operation gets generated requests with a valid API key: no answer may be a 5xx, and every answer
must conform to the document (status declared, body schema, content type, headers), and data the
document forbids must be refused with a 4xx. Schema-valid data may still be refused with 422 (an unknown
procedure code, a trigger the workflow does not declare): the document cannot list the catalogue, so the
"positive data accepted" check is left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
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
