"""The quick path of a trigger's data (:class:`~motcua.workflow.engine.compiled.QuickData`) agrees with the pydantic
model it shortcuts: on any input it either returns exactly what the model returns (same values, same types, same
order) or stands aside, so every refusal, and its message, is still the model's."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping
from typing import Final

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from motcua.adapters.bootstrap import Motcua
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.compiled import QuickData, data_model, validate_data
from motcua.workflow.engine.definition import DataField, DataType
from motcua.workflow.engine.queries import CaseFilter
from motcua.workflow.errors import MalformedData
from tests.conftest import OFFICER

FIELDS: Final = {
    "note": DataField(type=DataType.TEXT, required=True),
    "summary": DataField(type=DataType.TEXT),
    "count": DataField(type=DataType.INTEGER),
    "amount": DataField(type=DataType.NUMBER),
    "electronic": DataField(type=DataType.BOOLEAN),
    "stars": DataField(type=DataType.RATING),
    "outcome": DataField(type=DataType.CHOICE, choices=("approved", "refused", "Đạt")),
    "assignee": DataField(type=DataType.TEXT),  # searched: one line of at most NAME_MAX characters
}
SEARCHED: Final = frozenset({"assignee"})
MODEL: Final = data_model("probe", FIELDS, SEARCHED)
QUICK: Final = QuickData.of(FIELDS, SEARCHED)

_texts = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["Phạm Văn Hùng", " lề ", "a\x00b", "x\u0085", "\u00a0y", unicodedata.normalize("NFD", "Đạt ổn"),
                     "", "Dòng một\r\nDòng hai\tcột", "\x1c", "a" * 2_000, "a" * 2_001, "approved", "Đạt", "1",
                     "a" * 500, "a" * 501, "Phạm\tHùng", "Phạm\u2028Hùng"]),
)
_values = st.one_of(
    st.none(), st.booleans(), _texts,
    st.integers(min_value=-(2**60), max_value=2**60), st.sampled_from([2**53 - 1, 2**53, -(2**53) + 1, 0, 5, 6]),
    st.floats(allow_nan=True, allow_infinity=True), st.lists(st.integers(), max_size=2),
)
_names = st.sampled_from([*FIELDS, "undeclared"])


def _by_model(data: dict[str, object]) -> dict[str, object] | MalformedData:
    try:
        return dict(validate_data("probe", MODEL, data))
    except MalformedData as refused:
        return refused


def _typed(values: Mapping[str, object]) -> list[tuple[str, type, object]]:
    return [(name, type(value), value) for name, value in values.items()]


@settings(max_examples=400, deadline=None)
@given(st.one_of(
    st.dictionaries(_names, _values, max_size=len(FIELDS) + 1),
    st.fixed_dictionaries({"note": _texts}, optional={name: _values for name in FIELDS if name != "note"}),
))
def test_the_quick_path_returns_what_the_model_returns_or_stands_aside(data: dict[str, object]) -> None:
    assert QUICK is not None
    quick = QUICK(data)
    model = _by_model(data)
    if quick is not None:
        assert not isinstance(model, MalformedData), (data, model)
        assert _typed(quick) == _typed(model)  # same values, types and order (the fields' declared order)
    if not isinstance(model, MalformedData):
        assert _typed(validate_data("probe", MODEL, data, QUICK)) == _typed(model)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"note": "đã nhận", "count": 3, "amount": 1.5, "electronic": True, "stars": 5, "outcome": "Đạt"},
                     id="every-type"),
        pytest.param({"note": "x", "summary": None, "stars": None}, id="optional-none-left-out"),
    ],
)
def test_plain_data_takes_the_quick_path(data: dict[str, object]) -> None:
    assert QUICK is not None
    quick = QUICK(data)
    assert quick is not None
    assert _typed(quick) == _typed(validate_data("probe", MODEL, data))


@pytest.mark.parametrize(
    ("data", "field"),
    [
        pytest.param({"note": " cần trim "}, None, id="text-to-trim"),
        pytest.param({"note": unicodedata.normalize("NFD", "Đạt")}, None, id="text-to-normalise"),
        pytest.param({"note": "x", "amount": 2}, None, id="integer-for-a-number"),
        pytest.param({"note": "a\x00b"}, "note", id="nul"),
        pytest.param({"note": "x", "count": 2**53}, "count", id="integer-past-a-json-double"),
        pytest.param({"note": "x", "amount": math.inf}, "amount", id="infinity"),
        pytest.param({"note": "x", "stars": 6}, "stars", id="rating-out-of-range"),
        pytest.param({"note": "x", "outcome": "maybe"}, "outcome", id="unknown-choice"),
        pytest.param({}, "note", id="missing"),
        pytest.param({"note": "x", "undeclared": 1}, "undeclared", id="undeclared"),
        pytest.param({"note": "x", "assignee": "Phạm Văn\nHùng"}, "assignee", id="searched-text-of-two-lines"),
        pytest.param({"note": "x", "assignee": "a" * 501}, "assignee", id="searched-text-too-long"),
    ],
)
def test_anything_else_is_the_models_to_take_or_refuse(data: dict[str, object], field: str | None) -> None:
    assert QUICK is not None
    assert QUICK(data) is None
    if field is None:
        assert validate_data("probe", MODEL, data, QUICK) == validate_data("probe", MODEL, data)
        return
    with pytest.raises(MalformedData) as quick_refused:
        validate_data("probe", MODEL, data, QUICK)
    with pytest.raises(MalformedData) as model_refused:
        validate_data("probe", MODEL, data)
    assert field in quick_refused.value.problems
    assert quick_refused.value.problems == model_refused.value.problems


def test_data_with_a_date_or_a_list_has_no_quick_path() -> None:
    assert QuickData.of({"on": DataField(type=DataType.DATE)}) is None
    assert QuickData.of({"names": DataField(type=DataType.TEXT_LIST)}) is None
    assert QuickData.of({"pick": DataField(type=DataType.CHOICE, choices=(" padded ",))}) is None


def test_a_dossier_is_assigned_through_the_quick_path(motcua: Motcua) -> None:
    received = motcua.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), OFFICER)
    case = motcua.service.get(received.code)
    assign = motcua.service.engine.workflows.get(case.definition_key, case.definition_version).trigger("assign")
    assert assign.quick is not None
    assert assign.quick({"assignee": "Phạm Văn Hùng"}) == {"assignee": "Phạm Văn Hùng"}
    with pytest.raises(MalformedData) as refused:
        motcua.service.fire(received.code, "assign", OFFICER, {"assignee": "Phạm\x00Hùng"})
    assert "assignee" in refused.value.problems
    assigned = motcua.service.fire(received.code, "assign", OFFICER, {"assignee": " Phạm Văn Hùng "})
    assert assigned.attributes["assignee"] == "Phạm Văn Hùng"  # trimmed by the model, as before


def test_a_text_a_search_key_reads_is_one_line_a_filter_can_name(motcua: Motcua) -> None:
    """The officer a dossier is assigned to is what the desk lists and filters it by: a name of several lines, or
    longer than a filter takes, could never be found again (before: up to 2,000 characters of free text)."""
    received = motcua.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), OFFICER)
    for name in ("Phạm Văn\nHùng", "a" * 501):
        with pytest.raises(MalformedData) as refused:
            motcua.service.fire(received.code, "assign", OFFICER, {"assignee": name})
        assert "one line of at most 500 characters" in refused.value.problems["assignee"]
    assert motcua.service.get(received.code).version == received.version  # nothing written
    assigned = motcua.service.fire(received.code, "assign", OFFICER, {"assignee": "a" * 500})
    assert [case.code for case in motcua.store.find(CaseFilter(officer="a" * 500)).items] == [assigned.code]
