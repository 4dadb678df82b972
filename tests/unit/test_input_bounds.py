"""The bounds of every input (issue 14), where they live: the engine's data of a trigger on every path, the plan
loader and the procedure catalogue (the definitions' loader), and the rules themselves.

A NUL byte, a control character, a lone surrogate, a text longer than its bound, a value nested deeper than any
definition or form needs, a file of megabytes: each is refused with a typed error naming the record and the field
and quoting no more than a short excerpt, before anything is written.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Final

import pytest
from typer.testing import CliRunner

from motcua.adapters.bootstrap import Motcua
from motcua.definitions.catalogue import load_procedures
from motcua.definitions.plans import PLANS_DIR, load_plan
from motcua.definitions.yamlsafe import load_yaml
from motcua.entrypoints.cli.main import app as motcua_cli
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.bounds import excerpt, has_surrogate, json_depth, json_size, line_problem, text_problem
from motcua.workflow.engine.compiled import QuickData, data_model, validate_data
from motcua.workflow.engine.definition import DataField, DataType
from motcua.workflow.engine.model import Actor, JsonValue
from motcua.workflow.errors import InvalidDefinition, MalformedData
from tests.conftest import OFFICER

EVERYONE: Final = Actor.of("Nguyễn Thị Lan", "officer", "specialist", "leader")

# -- the rules ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["a\x00b", "\x1b[31m", "a\nb", "a\rb", "\x7f", "\u0085", "\ud800", "a\tb"])
def test_a_line_holds_no_control_character_and_no_lone_surrogate(text: str) -> None:
    assert line_problem(text, 64) is not None
    assert line_problem("Nguyễn Thị Lan — 0912 345 678", 64) is None


def test_free_text_holds_tabs_and_line_breaks_only() -> None:
    assert text_problem("Dòng một\r\nDòng hai\tcột") is None
    for text in ("a\x00b", "\x1b]0;x\x07", "\x0b", "\x0c", "\u0085", "\udfff"):
        assert text_problem(text) is not None, repr(text)


@pytest.mark.parametrize("character", ["\u202e", "\u202a", "\u2066", "\u2069", "\u200e", "\u200f", "\u061c",
                                       "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"])
def test_no_text_holds_an_invisible_formatting_character(character: str) -> None:
    """A right-to-left override shows ``Lan\u202egnp.exe`` as ``Lanexe.png``; a zero-width space makes two names that
    look the same differ: neither a line nor free text takes them."""
    text = f"Nguyễn Thị{character} Lan"
    expected = f"contains an invisible formatting character (U+{ord(character):04X}) at position 11"
    assert line_problem(text, 64) == expected
    assert text_problem(text) == expected


def test_a_line_holds_no_line_separator_but_free_text_may() -> None:
    assert line_problem("Dòng một\u2028Dòng hai", 64) == "contains a line separator (U+2028) at position 9"
    assert line_problem("a\u2029b", 64) == "contains a line separator (U+2029) at position 2"
    assert text_problem("Dòng một\u2028Dòng hai") is None


def test_vietnamese_in_nfc_and_in_nfd_is_plain_text() -> None:
    text = "Trần Thị Ngọc Ánh, phường Thành Đông"
    assert line_problem(unicodedata.normalize("NFC", text), 64) is None
    assert line_problem(unicodedata.normalize("NFD", text), 64) is None  # combining marks are not formatting


def test_a_problem_names_the_character_and_its_place_never_the_text() -> None:
    assert line_problem("bí mật\x00", 64) == "contains a control character (U+0000) at position 7"
    assert text_problem("x" * 2_001) == "longer than 2000 characters (2001)"
    assert line_problem("\ud800", 64) == "contains a lone surrogate (U+D800) at position 1"


def test_an_excerpt_is_short_printable_and_never_walks_a_container() -> None:
    assert excerpt("a\x00b") == "'a\\x00b'"
    assert excerpt("x" * 100_000) == f"{'x' * 40!r}… (100000 characters)"
    assert excerpt(json.loads("[" * 900 + "]" * 900)) == "a list of length 1"
    assert excerpt(10**5_000) == "an integer of 16610 bits"  # repr() of it would raise
    assert excerpt(None) == "None" and excerpt(1.5) == "1.5"


def test_depth_and_size_are_measured_without_recursion_and_stop_past_their_bound() -> None:
    deep = json.loads("[" * 900 + "]" * 900)
    for _ in range(100):  # deeper than Python's recursion limit
        deep = [deep]
    assert json_depth(deep, 8) == 9
    assert json_depth({"a": [1, {"b": "c"}]}) == 3 and json_depth("text") == 0
    assert json_size(["x" * 5_000] * 1_000, 10_000) < 20_000  # stopped: the 5 MB are never counted
    assert has_surrogate({"a": ["ok", {"\udfff": 1}]}) and not has_surrogate({"a": ["Đ", 1]})


# -- the data of a trigger, on every path --------------------------------------------------------------------------

FIELDS: Final = {"text": DataField(type=DataType.TEXT), "number": DataField(type=DataType.NUMBER),
                 "integer": DataField(type=DataType.INTEGER), "names": DataField(type=DataType.TEXT_LIST)}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        pytest.param({"text": "a\x00b"}, "text", id="nul"),
        pytest.param({"text": "\x1b[2J"}, "text", id="escape"),
        pytest.param({"text": "\ud800"}, "text", id="lone-surrogate"),
        pytest.param({"text": "x" * 2_001}, "text", id="2001-characters"),
        pytest.param({"names": ["ok", "b\x00"]}, "names.1", id="nul-in-a-list"),
        pytest.param({"number": math.nan}, "number", id="nan"),
        pytest.param({"number": math.inf}, "number", id="infinity"),
        pytest.param({"integer": 2**53}, "integer", id="integer-past-a-json-double"),
        pytest.param({"integer": -(10**400)}, "integer", id="huge-integer"),
    ],
)
def test_the_engine_refuses_data_out_of_bounds_naming_the_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(MalformedData) as refused:
        validate_data("note", data_model("note", FIELDS), data)
    assert field in refused.value.problems, refused.value.problems
    assert len(str(refused.value)) < 300


def test_a_text_too_long_is_said_in_characters_as_every_bound_says_it() -> None:
    with pytest.raises(MalformedData) as refused:
        validate_data("note", data_model("note", FIELDS), {"text": "x" * 5_000, "names": ["ok", "y" * 2_001]})
    assert refused.value.problems == {"text": "longer than 2000 characters (5000)",
                                      "names.1": "longer than 2000 characters (2001)"}


def test_the_engine_keeps_free_text_and_the_longest_values_in_bounds() -> None:
    data = {"text": "Dòng một\r\nDòng hai\tcột" + "x" * 1_970, "integer": 2**53 - 1, "number": 1e308,
            "names": ["Đ" * 2_000] * 50}
    assert validate_data("note", data_model("note", FIELDS), data)["integer"] == 2**53 - 1


def test_a_refusal_names_the_first_fields_only_and_unknown_names_cut_short() -> None:
    data: dict[str, object] = {f"{number}{'k' * 5_000}": 1 for number in range(1_000)}
    with pytest.raises(MalformedData) as refused:
        validate_data("note", data_model("note", FIELDS), data)
    assert len(refused.value.problems) == 10
    assert all(len(field) < 100 for field in refused.value.problems)


def test_the_python_api_refuses_a_nul_in_an_applicants_name_and_draws_no_number(motcua: Motcua) -> None:
    with pytest.raises(MalformedData) as refused:
        motcua.desk.receive("1.004873", "direct", Applicant("Trần\x00Văn An"), OFFICER)
    assert list(refused.value.problems) == ["applicant_name"]
    assert sum(1 for _ in motcua.store.cases()) == 0
    assert motcua.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), OFFICER).code.endswith("-0001")


def test_the_desk_keeps_an_applicants_name_phone_and_email_to_one_line_on_every_path(motcua: Motcua) -> None:
    """The name, the telephone number and the e-mail go out as they are to DVCQG records and sheets: one line each,
    the telephone number 100 characters at most, as the HTTP API has them — not the engine's free text of 2,000."""
    hostile = Applicant("Trần Văn An\nNguyễn Thị Giả mạo", phone="09" * 700, email="a@b\tc", address="x" * 1001)
    with pytest.raises(MalformedData) as refused:
        motcua.desk.receive("1.004873", "direct", hostile, OFFICER)
    assert refused.value.problems == {
        "applicant_name": "contains a control character (U+000A) at position 12",
        "phone": "longer than 100 characters (1400)", "email": "contains a control character (U+0009) at position 4",
        "address": "longer than 1000 characters (1001)"}
    assert sum(1 for _ in motcua.store.cases()) == 0  # refused before a number is drawn
    kept = Applicant("Trần Văn An", phone="0912 345 678 (máy lẻ 12)", email="an@example.vn",
                     address="Số 12, ngõ 3\nPhố Huế")  # an address may run over lines
    assert motcua.desk.receive("1.004873", "direct", kept, OFFICER).code.endswith("-0001")


RANGED: Final = {"amount": DataField(type=DataType.INTEGER, min=0), "share": DataField(type=DataType.NUMBER, min=-1.5,
                                                                                       max=2)}


@pytest.mark.parametrize(("data", "problem"), [
    ({"amount": -1}, {"amount": "Input should be greater than or equal to 0"}),
    ({"amount": 2**53}, {"amount": "Input should be less than or equal to 9007199254740991"}),
    ({"share": 2.5}, {"share": "Input should be less than or equal to 2"}),
    ({"share": -2}, {"share": "Input should be greater than or equal to -1.5"}),
])
def test_a_fields_min_and_max_bound_its_values_on_both_paths(data: dict[str, object], problem: dict[str, str]) -> None:
    model, quick = data_model("ranged", RANGED), QuickData.of(RANGED)
    for path in (quick, None):  # the quick path stands aside, and the model refuses naming the field and the bound
        with pytest.raises(MalformedData) as refused:
            validate_data("ranged", model, data, path)
        assert refused.value.problems == problem
    assert validate_data("ranged", model, {"amount": 0, "share": -1.5}, quick) == {"amount": 0, "share": -1.5}
    assert validate_data("ranged", model, {"amount": 2**53 - 1, "share": 2}, quick) == {"amount": 2**53 - 1, "share": 2}


@pytest.mark.parametrize(("trigger", "data", "field"), [
    ("request_payment", {"amount": -5_000_000}, "amount"), ("digitize", {"components": -7}, "components")])
def test_a_dossiers_amount_and_components_are_never_negative(
    motcua: Motcua, trigger: str, data: dict[str, JsonValue], field: str
) -> None:
    """The portal would drop a negative fee line silently; a negative count of components means nothing."""
    code = motcua.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), OFFICER).code
    motcua.service.fire(code, "assign", OFFICER, {"assignee": "Phạm Văn Hùng"})
    with pytest.raises(MalformedData) as refused:
        motcua.service.fire(code, trigger, EVERYONE, data)
    assert refused.value.problems == {field: "Input should be greater than or equal to 0"}
    assert motcua.service.get(code).version == 3


def test_the_python_api_refuses_a_control_character_in_a_triggers_data(motcua: Motcua) -> None:
    code = motcua.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), OFFICER).code
    with pytest.raises(MalformedData) as refused:
        motcua.service.fire(code, "assign", OFFICER, {"assignee": "Phạm\x1b[8mVăn Hùng"})
    assert list(refused.value.problems) == ["assignee"]
    assert motcua.service.get(code).version == 2


# -- the plan loader ----------------------------------------------------------------------------------------------

PLAN: Final = (PLANS_DIR / "an-thuong-2023.yaml").read_text(encoding="utf-8")
TITLE: Final = "title: Kế hoạch cải cách hành chính nhà nước xã An Thượng năm 2023"
TASK_TEXT: Final = next(line for line in PLAN.splitlines() if line.startswith("    text: Tăng cường chỉ đạo, đôn đốc"))


def _plan(tmp_path: Path, edit: Callable[[str], str]) -> Path:
    path = tmp_path / "an-thuong-2023.yaml"
    path.write_text(edit(PLAN), encoding="utf-8")
    return path


HOSTILE_PLANS: Final = [
    pytest.param(lambda text: text.replace(TITLE, 'title: "Kế hoạch\\0năm 2023"'),
                 "title: contains a control character (U+0000)", id="nul-in-the-title"),
    pytest.param(lambda text: text.replace(TITLE, f"title: {'Đ' * 501}"), "title: longer than 500 characters (501)",
                 id="501-character-title"),
    pytest.param(lambda text: text.replace("  - id: cd-01", f"  - id: {'c' * 65}"),
                 "task #1: id: longer than 64 characters (65)", id="65-character-task-id"),
    pytest.param(lambda text: text.replace(TASK_TEXT, f"    text: {'x' * 2_001}"),
                 "task cd-01: text: longer than 2000 characters (2001)", id="2001-character-task-text"),
    pytest.param(lambda text: text.replace(TASK_TEXT, TASK_TEXT.replace("text: ", 'text: "\\e[2J') + '"'),
                 "task cd-01: text: contains a control character (U+001B)", id="escape-in-a-task"),
    pytest.param(lambda text: text.replace("notes:", "notes: " + "[" * 50_000 + "]" * 50_000 + "\nold_notes:"),
                 "nested more than 16 deep", id="nested-50000-deep"),
    pytest.param(lambda text: text + "# " + "x" * 1_100_000 + "\n", "larger than 1,048,576 bytes", id="1-MB-file"),
    pytest.param(lambda text: text.replace("legal_basis:", "legal_basis: &basis").replace("notes:", "notes: *basis\n#"),
                 "anchors and aliases are not read", id="alias"),
    pytest.param(lambda text: text.replace("  van_phong:", '  "van\\x01phong":'),
                 "owners.'van\\x01phong': key contains a control character (U+0001)", id="control-in-a-key"),
]


@pytest.mark.parametrize(("edit", "problem"), HOSTILE_PLANS)
def test_a_hostile_plan_is_refused_naming_the_task_or_field(
    tmp_path: Path, edit: Callable[[str], str], problem: str
) -> None:
    with pytest.raises(InvalidDefinition) as refused:
        load_plan(_plan(tmp_path, edit))
    assert any(problem in line for line in refused.value.problems), refused.value.problems
    assert len(str(refused.value)) < 1_000


def test_a_plan_that_never_ends_is_read_up_to_the_bound_only() -> None:
    with pytest.raises(InvalidDefinition) as refused:
        load_plan(Path("/dev/zero"))
    assert refused.value.problems == ("the file is larger than 1,048,576 bytes",)


@pytest.mark.parametrize(("edit", "problem"), HOSTILE_PLANS[:1] + HOSTILE_PLANS[5:6])
def test_plan_load_writes_nothing_from_a_hostile_plan(tmp_path: Path, edit: Callable[[str], str], problem: str) -> None:
    database = tmp_path / "never.db"
    result = CliRunner().invoke(motcua_cli, ["plan", "load", str(_plan(tmp_path, edit)), "--db", f"sqlite:///{database}"])
    assert result.exit_code != 0
    assert not database.exists()


# -- the procedure catalogue --------------------------------------------------------------------------------------

PROCEDURE: Final = """\
field: {field}
procedures:
  - code: "{code}"
    name: {name}
    level: mot_phan
    processing_time:
      direct: {{amount: 3, unit: working_days}}
    source: {source}
"""


def _catalogue(tmp_path: Path, *, code: str = "1.000001", name: str = "Thủ tục thử", source: str = "Luật thử",
               field: str = "{code: HT, name: Hộ tịch}") -> Path:
    (tmp_path / "thu.yaml").write_text(PROCEDURE.format(field=field, code=code, name=name, source=source),
                                       encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        pytest.param({"name": '"Thủ tục\\0thử"'}, "procedure 1.000001: name: contains a control character (U+0000)",
                     id="nul-in-a-name"),
        pytest.param({"name": "Đ" * 501}, "procedure 1.000001: name: longer than 500 characters (501)",
                     id="501-character-name"),
        pytest.param({"code": "1." + "0" * 100}, "procedure #1: code: longer than 64 characters (102)",
                     id="102-character-code"),
        pytest.param({"field": "{code: HT, name: " + "Đ" * 501 + "}"}, "field: name: longer than 500 characters",
                     id="501-character-field-name"),
        pytest.param({"source": "x" * 2_001}, "procedure 1.000001: source: longer than 2000 characters (2001)",
                     id="2001-character-source"),
        pytest.param({"source": "[" * 50_000 + "]" * 50_000}, "nested more than 16 deep", id="nested-50000-deep"),
        pytest.param({"source": "Luật\n# " + "x" * 1_100_000}, "larger than 1,048,576 bytes", id="1-MB-file"),
    ],
)
def test_a_hostile_catalogue_is_refused_naming_the_procedure_and_field(
    tmp_path: Path, fields: dict[str, str], problem: str
) -> None:
    with pytest.raises(InvalidDefinition) as refused:
        load_procedures(_catalogue(tmp_path, **fields))
    assert any(problem in line for line in refused.value.problems), refused.value.problems
    assert len(str(refused.value)) < 1_000


def test_the_longest_catalogue_values_in_bounds_load(tmp_path: Path) -> None:
    catalogue = load_procedures(_catalogue(tmp_path, name="Đ" * 500, source="x" * 2_000))
    assert catalogue.get("1.000001").name == "Đ" * 500


def test_every_definition_file_is_read_within_the_same_bounds(tmp_path: Path) -> None:
    path = tmp_path / "office.yaml"
    path.write_text('name: "Ủy ban\\x07"\n', encoding="utf-8")
    with pytest.raises(InvalidDefinition) as refused:
        load_yaml(path)
    assert refused.value.problems == ("name: contains a control character (U+0007) at position 7",)
