"""The procedure catalogue: the shipped YAML, the model's rules, and what the loader refuses."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from datetime import date, time
from pathlib import Path

import pytest

from motcua.definitions.catalogue import PROCEDURES_DIR, RULES_DIR, load_procedures
from motcua.definitions.yamlsafe import load_yaml
from motcua.workflow.dossiers.catalogue import Catalogue, Procedure, ProcessingTime
from motcua.workflow.errors import InvalidDefinition, UnknownProcedure

ENTRY = """\
  - code: "{code}"
    name: Thủ tục thử
    level: mot_phan
    processing_time:
      direct: {{amount: 3, unit: working_days}}
    fee: 0
    source: Luật thử Điều 1
"""


def write(directory: Path, name: str, body: str, field: str = "{code: HT, name: Hộ tịch}") -> Path:
    path = directory / name
    path.write_text(f"field: {field}\nprocedures:\n{body}", encoding="utf-8")
    return path


def problems_of(directory: Path) -> str:
    with pytest.raises(InvalidDefinition) as caught:
        load_procedures(directory)
    return "\n".join(caught.value.problems)


# --- the shipped catalogue --------------------------------------------------------------------


def test_shipped_catalogue_has_enough_procedures_and_fields() -> None:
    catalogue = load_procedures()
    assert len(catalogue) >= 25
    assert len(catalogue.fields()) >= 5


def test_shipped_birth_registration_is_same_day_with_cutoff() -> None:
    birth = load_procedures().get("1.001193")
    assert birth.name == "Thủ tục đăng ký khai sinh"
    assert birth.time_for("direct") == ProcessingTime(amount=0, unit="working_days")
    assert birth.cutoff == time(15, 0)
    assert birth.field_code == "HT"
    assert birth.workflow == "tthc-dossier"


@pytest.mark.parametrize(
    ("code", "amount", "unit"),
    [
        ("1.000894", 0, "working_days"),  # kết hôn: trong ngày
        ("1.000656", 0, "working_days"),  # khai tử: trong ngày
        ("1.004873", 3, "working_days"),  # xác nhận tình trạng hôn nhân
        ("2.000815", 0, "working_days"),  # chứng thực bản sao
        ("1.012812", 30, "calendar_days"),  # hòa giải tranh chấp đất đai
    ],
)
def test_shipped_legal_times(code: str, amount: int, unit: str) -> None:
    assert load_procedures().get(code).time_for("online") == ProcessingTime.model_validate(
        {"amount": amount, "unit": unit}
    )


def test_every_shipped_procedure_cites_a_source() -> None:
    assert all(len(procedure.source) > 20 for procedure in load_procedures())


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@pytest.mark.parametrize("path", sorted([*PROCEDURES_DIR.glob("*.yaml"), *RULES_DIR.glob("*.yaml")]), ids=str)
def test_shipped_yaml_is_nfc(path: Path) -> None:
    raw = path.read_text(encoding="utf-8")
    assert raw == unicodedata.normalize("NFC", raw)
    for text in _strings(load_yaml(path)):
        assert text == unicodedata.normalize("NFC", text), text


# --- the Catalogue API ------------------------------------------------------------------------


def test_get_unknown_code_raises_typed_error() -> None:
    with pytest.raises(UnknownProcedure) as caught:
        load_procedures().get("9.999999")
    assert caught.value.code == "9.999999"


def test_by_field_iteration_and_fields(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", ENTRY.format(code="1.000002") + ENTRY.format(code="1.000001"))
    write(tmp_path, "b.yaml", ENTRY.format(code="2.000001"), field="{code: CT, name: Chứng thực}")
    catalogue = load_procedures(tmp_path)
    assert [p.code for p in catalogue] == ["2.000001", "1.000001", "1.000002"]
    assert [p.code for p in catalogue.by_field("HT")] == ["1.000001", "1.000002"]
    assert catalogue.by_field("XX") == ()
    assert catalogue.fields() == {"CT": "Chứng thực", "HT": "Hộ tịch"}
    assert "2.000001" in catalogue
    assert "9.000000" not in catalogue


def test_missing_channels_default_to_direct(tmp_path: Path) -> None:
    body = ENTRY.format(code="1.000001").replace(
        "      direct: {amount: 3, unit: working_days}\n",
        "      direct: {amount: 3, unit: working_days}\n      online: {amount: 8, unit: working_hours}\n",
    )
    write(tmp_path, "a.yaml", body)
    procedure = load_procedures(tmp_path).get("1.000001")
    assert procedure.time_for("postal") == procedure.time_for("direct")
    assert procedure.time_for("online") == ProcessingTime(amount=8, unit="working_hours")


def test_catalogue_rejects_duplicates_built_in_code() -> None:
    procedure = load_procedures().get("1.001193")
    with pytest.raises(InvalidDefinition, match=r"1\.001193"):
        Catalogue([procedure, procedure])


def test_valid_on_respects_dates() -> None:
    procedure = Procedure.model_validate(
        {
            "code": "1.000001",
            "name": "Thủ tục thử",
            "field_code": "HT",
            "field_name": "Hộ tịch",
            "level": "truc_tiep",
            "processing_time": {"direct": {"amount": 1, "unit": "working_days"}},
            "source": "thử",
            "valid_from": "2025-07-01",
        }
    )
    assert not procedure.valid_on(date(2025, 6, 30))
    assert procedure.valid_on(date(2025, 7, 1))


# --- what the loader refuses ------------------------------------------------------------------


def test_rejects_unknown_key(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", ENTRY.format(code="1.000001") + "    colour: red\n")
    problems = problems_of(tmp_path)
    assert "procedure 1.000001" in problems
    assert "colour" in problems


def test_rejects_unknown_top_level_key(tmp_path: Path) -> None:
    path = write(tmp_path, "a.yaml", ENTRY.format(code="1.000001"))
    path.write_text(path.read_text(encoding="utf-8") + "extra: 1\n", encoding="utf-8")
    assert "extra" in problems_of(tmp_path)


def test_rejects_negative_days(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", ENTRY.format(code="1.000001").replace("amount: 3", "amount: -1"))
    problems = problems_of(tmp_path)
    assert "procedure 1.000001: processing_time.direct.amount" in problems


def test_rejects_unknown_unit(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", ENTRY.format(code="1.000001").replace("unit: working_days", "unit: fortnights"))
    assert "procedure 1.000001: processing_time.direct.unit" in problems_of(tmp_path)


def test_rejects_unknown_channel(tmp_path: Path) -> None:
    body = ENTRY.format(code="1.000001").replace("direct: {", "direct: {amount: 1, unit: working_days}\n      fax: {")
    write(tmp_path, "a.yaml", body)
    problems = problems_of(tmp_path)
    assert "procedure 1.000001: processing_time.fax" in problems


def test_rejects_missing_direct_channel(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", ENTRY.format(code="1.000001").replace("direct:", "online:"))
    assert "'direct' channel is required" in problems_of(tmp_path)


@pytest.mark.parametrize("cutoff", ['"25:00"', '"3pm"', '"15:0"', "900", '"15:00:00"'])
def test_rejects_malformed_cutoff(tmp_path: Path, cutoff: str) -> None:
    write(tmp_path, "a.yaml", ENTRY.format(code="1.000001") + f"    cutoff: {cutoff}\n")
    assert "procedure 1.000001: cutoff" in problems_of(tmp_path)


def test_accepts_unquoted_cutoff(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", ENTRY.format(code="1.000001") + "    cutoff: 15:00\n")
    assert load_procedures(tmp_path).get("1.000001").cutoff == time(15, 0)


def test_rejects_duplicate_code_across_files(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", ENTRY.format(code="1.000001"))
    second = write(tmp_path, "b.yaml", ENTRY.format(code="1.000001"), field="{code: CT, name: Chứng thực}")
    with pytest.raises(InvalidDefinition) as caught:
        load_procedures(tmp_path)
    assert caught.value.source == str(second)
    assert "procedure 1.000001" in caught.value.problems[0]
    assert "a.yaml" in caught.value.problems[0]


def test_rejects_malformed_code(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", ENTRY.format(code="1001193"))
    assert "procedure 1001193: code" in problems_of(tmp_path)


def test_rejects_negative_fee(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", ENTRY.format(code="1.000001").replace("fee: 0", "fee: -5"))
    assert "procedure 1.000001: fee" in problems_of(tmp_path)


@pytest.mark.parametrize(("edit", "problem"), [
    (("direct: {amount: 3,", "direct: {amount: 999999999990,"),
     "procedure 1.000001: processing_time.direct.amount: Input should be less than or equal to 366"),
    (("fee: 0", "fee: 100000000000000000000"),
     "procedure 1.000001: fee: Input should be less than or equal to 9007199254740991"),
])
def test_rejects_a_time_or_a_fee_no_calendar_or_ledger_holds(tmp_path: Path, edit: tuple[str, str],
                                                              problem: str) -> None:
    """A processing time of a trillion working days loaded, and every reception of the procedure then ran past the
    calendar's years; a fee beyond 2⁵³ đồng is no longer exact in the JSON a dossier's attributes are kept in."""
    write(tmp_path, "a.yaml", ENTRY.format(code="1.000001").replace(*edit))
    assert problem in problems_of(tmp_path)


def test_rejects_field_keys_in_entries(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", ENTRY.format(code="1.000001") + "    field_code: CT\n")
    assert "field_code" in problems_of(tmp_path)


def test_rejects_one_field_code_with_two_names(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", ENTRY.format(code="1.000001"))
    write(tmp_path, "b.yaml", ENTRY.format(code="1.000002"), field="{code: HT, name: Hộ tịch khác}")
    assert "field_code 'HT'" in problems_of(tmp_path)


def test_rejects_yaml_syntax_error(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("field: {code: HT\n", encoding="utf-8")
    with pytest.raises(InvalidDefinition):
        load_procedures(tmp_path)


def test_reports_every_problem_of_a_file(tmp_path: Path) -> None:
    body = ENTRY.format(code="1.000001").replace("amount: 3", "amount: -1") + ENTRY.format(code="1.000002").replace(
        "unit: working_days", "unit: weeks"
    )
    write(tmp_path, "a.yaml", body)
    problems = problems_of(tmp_path)
    assert "procedure 1.000001" in problems
    assert "procedure 1.000002" in problems
