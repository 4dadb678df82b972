"""The form map (issue 15, point 4): every act of the dossier workflow that issues or receives a paper, and the form
it uses under each rule set — Circular 01/2018/TT-VPCP's numbers under ``nd61-2018``, Circular 03/2025/TT-VPCP's
under ``nd118-2025`` — or, explicitly, no form at all (number ``None``, with a note saying why)."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest
from pydantic import ValidationError

from motcua.definitions.catalogue import RULES_DIR, load_rule_sets
from motcua.workflow.dossiers.catalogue import RECEIVED_FORMS, REQUIRED_FORMS, FormKey, FormSpec
from motcua.workflow.errors import InvalidDefinition

WITHDRAWAL_REQUEST = "Văn bản đề nghị rút hồ sơ của tổ chức, cá nhân"
AGENCY_STOP = "Văn bản của cơ quan có thẩm quyền về việc dừng giải quyết hồ sơ"
CONTROL_SHEET = "Phiếu kiểm soát quá trình giải quyết hồ sơ"

MAP: dict[str, dict[FormKey, tuple[str | None, str]]] = {
    "nd61-2018": {
        "receipt": ("01", "Giấy tiếp nhận hồ sơ và hẹn trả kết quả"),
        "supplement_request": ("02", "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ"),
        "refusal": ("03", "Phiếu từ chối tiếp nhận giải quyết hồ sơ"),
        "apology": ("04", "Phiếu xin lỗi và hẹn lại ngày trả kết quả"),
        "withdrawal_request": (None, WITHDRAWAL_REQUEST),
        "withdrawal_notice": (None, "Thông báo dừng giải quyết hồ sơ theo đề nghị của tổ chức, cá nhân"),
        "stop_notice": (None, AGENCY_STOP),
        "control_sheet": ("05", CONTROL_SHEET),
        "tracking_book": ("06", "Sổ theo dõi hồ sơ"),
    },
    "nd118-2025": {
        "receipt": ("01", "Giấy tiếp nhận hồ sơ và hẹn trả kết quả"),
        "supplement_request": ("02", "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ"),
        "refusal": ("03", "Phiếu từ chối tiếp nhận giải quyết hồ sơ"),
        "apology": ("04", "Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết"),
        "withdrawal_request": (None, WITHDRAWAL_REQUEST),
        "withdrawal_notice": ("05", "Thông báo dừng giải quyết hồ sơ"),
        "stop_notice": (None, AGENCY_STOP),
        "control_sheet": ("06", CONTROL_SHEET),
        "tracking_book": ("07", "Sổ theo dõi hồ sơ"),
    },
}
CASES = [(key, act, *form) for key, acts in MAP.items() for act, form in acts.items()]


def copy_rules(directory: Path, key: str, old: str, new: str) -> None:
    """The shipped rule files in ``directory``, ``old`` replaced by ``new`` in rule set ``key``'s."""
    for path in RULES_DIR.glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        if path.stem == key:
            assert old in text, old
            text = text.replace(old, new)
        (directory / path.name).write_text(text, encoding="utf-8")


def load_error(directory: Path) -> InvalidDefinition:
    with pytest.raises(InvalidDefinition) as caught:
        load_rule_sets(directory)
    return caught.value


def test_the_table_names_every_act_of_every_shipped_rule_set() -> None:
    assert set(REQUIRED_FORMS) == set(get_args(FormKey))
    assert {rules.key for rules in load_rule_sets()} == set(MAP)
    for acts in MAP.values():
        assert set(acts) == set(REQUIRED_FORMS)


@pytest.mark.parametrize(("key", "act", "number", "name"), CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_each_act_has_its_form_or_explicitly_none(key: str, act: FormKey, number: str | None, name: str) -> None:
    form = load_rule_sets().get(key).form(act)
    assert (form.number, form.name) == (number, name)
    if number is None:
        assert form.note  # a paper without a form says why


def test_only_the_withdrawal_request_is_received_from_the_applicant() -> None:
    assert frozenset({"withdrawal_request"}) == RECEIVED_FORMS


def test_the_two_stops_are_different_papers_in_both_rule_sets() -> None:
    for rules in load_rule_sets():
        withdrawal, stop = rules.form("withdrawal_notice"), rules.form("stop_notice")
        assert (withdrawal.number, withdrawal.name) != (stop.number, stop.name)


@pytest.mark.parametrize("key", list(MAP))
@pytest.mark.parametrize("act", ["withdrawal_notice", "stop_notice", "control_sheet"])
def test_a_rule_set_missing_an_act_is_refused_at_load_naming_both(tmp_path: Path, key: str, act: str) -> None:
    lines = (RULES_DIR / f"{key}.yaml").read_text(encoding="utf-8").splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith(f"  {act}:"))
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith("    "))
    copy_rules(tmp_path, key, "".join(lines[start:end]), "")

    error = load_error(tmp_path)

    assert error.source.endswith(f"{key}.yaml")
    [problem] = error.problems
    assert f"rule set {key}" in problem
    assert f"forms: missing {act!r}" in problem


def test_one_number_with_two_names_is_refused(tmp_path: Path) -> None:
    copy_rules(tmp_path, "nd118-2025", "  stop_notice:\n    number: null\n", '  stop_notice:\n    number: "05"\n')
    problem = load_error(tmp_path).problems[0]
    assert "rule set nd118-2025" in problem
    assert "number 05 is given two names" in problem


def test_one_form_may_serve_two_acts_under_the_same_name(tmp_path: Path) -> None:
    """The other reading of Circular 03/2025 (form 05 for both stops) is one line of data."""
    spec = "    name: Văn bản của cơ quan có thẩm quyền về việc dừng giải quyết hồ sơ\n"
    copy_rules(tmp_path, "nd118-2025", "  stop_notice:\n    number: null\n" + spec,
               '  stop_notice:\n    number: "05"\n    name: Thông báo dừng giải quyết hồ sơ\n')
    forms = load_rule_sets(tmp_path).get("nd118-2025").forms
    assert {(forms[act].number, forms[act].name) for act in ("stop_notice", "withdrawal_notice")} == {
        ("05", "Thông báo dừng giải quyết hồ sơ")}


def test_a_null_number_needs_a_note() -> None:
    with pytest.raises(ValidationError, match="needs a note"):
        FormSpec(number=None, name=AGENCY_STOP)
    with pytest.raises(ValidationError):
        FormSpec(number="5", name=AGENCY_STOP)


def test_the_number_must_be_written_even_when_null(tmp_path: Path) -> None:
    copy_rules(tmp_path, "nd61-2018", "  stop_notice:\n    number: null\n", "  stop_notice:\n")
    problem = load_error(tmp_path).problems[0]
    assert "rule set nd61-2018: forms.stop_notice.number: Field required" in problem
