"""A procedure is received only on a day the catalogue has it in force (review finding 4)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from motcua.adapters.bootstrap import Motcua
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.errors import InvalidInput
from tests.conftest import OFFICER
from tests.unit.test_http_api import Api, _problem, api

__all__ = ["api"]  # the HTTP test's fixture, used below

LATER = "1.013978"  # in the catalogue from 2025-07-01 only
ALWAYS = "1.004873"


def test_a_procedure_not_yet_in_force_is_refused_and_nothing_is_written(motcua: Motcua) -> None:
    procedure = motcua.catalogue.get(LATER)
    assert procedure.valid_from is not None and not procedure.valid_on(date(2024, 3, 4))
    for attempt in (motcua.desk.receive, motcua.desk.submit, motcua.desk.vet):
        with pytest.raises(InvalidInput) as refused:
            attempt(LATER, "direct", Applicant("Trần Văn An"), OFFICER)
        assert refused.value.field == "procedure"
        assert "2024-03-04" in refused.value.message and procedure.valid_from.isoformat() in refused.value.message
    case = motcua.desk.receive(ALWAYS, "direct", Applicant("Trần Văn An"), OFFICER)
    assert case.code.endswith("-0001")  # no number was drawn for the refused receptions


def test_the_same_procedure_is_received_from_its_first_day(motcua: Motcua, clock: ManualClock) -> None:
    procedure = motcua.catalogue.get(LATER)
    assert procedure.valid_from is not None
    clock.set(datetime.combine(procedure.valid_from, datetime.min.time(), VN_TZ).replace(hour=8))
    case = motcua.desk.receive(LATER, "direct", Applicant("Trần Văn An"), OFFICER)
    assert case.attributes["procedure"] == LATER
    assert case.attributes["catalogue_version"] == procedure.version_on(procedure.valid_from).key


def test_over_http_it_is_422_naming_the_procedure_and_no_number_is_drawn(api: Api) -> None:
    answer = api.client.post("/dossiers", headers=api.headers(), json={
        "procedure": LATER, "channel": "direct", "applicant": {"name": "Trần Văn An"}})
    problem = _problem(answer, 422, "invalid-input")
    assert "procedure" in str(problem["problems"])
    assert str(api.receive()["code"]).endswith("-0001")
