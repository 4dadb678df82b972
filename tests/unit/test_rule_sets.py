"""The versioned rule sets: which one is in force, and what a rule book refuses."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pytest

from motcua.definitions.catalogue import RULES_DIR, load_rule_sets
from motcua.workflow.dossiers.catalogue import RuleBook, RuleSet
from motcua.workflow.errors import InvalidDefinition, NoRuleSetInForce, NotFound, UnknownRuleSet


def copy_rules(directory: Path, **replacements: str) -> None:
    """Copy the shipped rule files, replacing text in each (old=new pairs encoded as 'old=>new')."""
    for path in RULES_DIR.glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        for change in replacements.get(path.stem.replace("-", "_"), "").split("||"):
            if change:
                old, new = change.split("=>")
                assert old in text, old
                text = text.replace(old, new)
        (directory / path.name).write_text(text, encoding="utf-8")


def load_error(directory: Path) -> InvalidDefinition:
    with pytest.raises(InvalidDefinition) as caught:
        load_rule_sets(directory)
    return caught.value


# --- the shipped rule book --------------------------------------------------------------------


def test_in_force_switches_on_1_july_2025() -> None:
    book = load_rule_sets()
    assert book.in_force(date(2025, 6, 30)).key == "nd61-2018"
    assert book.in_force(date(2025, 7, 1)).key == "nd118-2025"
    assert book.in_force(date(2030, 1, 1)).key == "nd118-2025"


def test_no_rule_set_before_decree_61() -> None:
    with pytest.raises(NoRuleSetInForce) as caught:
        load_rule_sets().in_force(date(2018, 6, 20))
    assert caught.value.at == date(2018, 6, 20)


def test_get_by_key_and_unknown_key() -> None:
    book = load_rule_sets()
    assert book.get("nd61-2018").effective_to == date(2025, 6, 30)
    assert [rules.key for rules in book] == ["nd61-2018", "nd118-2025"]
    with pytest.raises(UnknownRuleSet) as caught:
        book.get("nd00-1999")
    assert caught.value.key == "nd00-1999"


def test_forms_of_each_frame() -> None:
    book = load_rule_sets()
    old, new = book.get("nd61-2018"), book.get("nd118-2025")
    assert old.form("receipt").name == "Giấy tiếp nhận hồ sơ và hẹn trả kết quả"
    assert old.form("apology").name == "Phiếu xin lỗi và hẹn lại ngày trả kết quả"
    assert old.form("withdrawal_notice").number is None  # explicit: Circular 01/2018 has no stop form
    assert new.form("apology").name == "Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết"
    assert new.form("withdrawal_notice").number == "05"  # the whole map: tests/unit/test_forms_map.py
    assert (new.form("control_sheet").number, new.form("tracking_book").number) == ("06", "07")


def test_deadline_parameters() -> None:
    for rules in load_rule_sets():
        assert rules.apology_lead_working_days == 1
        assert rules.due_soon_working_days == 1
        assert (rules.supplement_requests.allowed, rules.supplement_requests.within_working_days) == (1, 3)
        assert rules.redating.allowed == 1
        steps = [(s.after_working_days, s.notify_role) for s in rules.escalation]
        assert steps == [(-1, "officer"), (0, "leader"), (2, "chairman")]


def test_par766_points_are_data() -> None:
    par = load_rule_sets().get("nd118-2025").par766
    assert par.total_points == 100
    assert {name: group.max_points for name, group in par.groups.items()} == {
        "transparency": 18,
        "progress": 20,
        "online": 12,
        "digitisation": 22,
        "satisfaction": 18,
        "payment": 10,
    }
    assert (par.indicator("online_share").max_points, par.indicator("online_share").full_at_percent) == (12, 50)
    assert par.indicator("digitised_dossiers").full_at_percent == 80
    assert par.indicator("reused_data").full_at_percent == 80
    assert (
        par.indicator("handling_satisfaction").max_points,
        par.indicator("handling_satisfaction").full_at_percent,
    ) == (6, 90)
    assert par.indicator("dossier_sync").max_points == 6
    assert par.indicator("online_payment").max_points == 10
    assert par.indicator("e_result").max_points == 6
    assert math.isclose(sum(i.max_points for i in par.indicators), 100)
    with pytest.raises(NotFound):
        par.indicator("nonexistent")


# --- what the loader and the rule book refuse -------------------------------------------------


def test_a_rule_set_without_an_indicator_the_reports_score_is_refused_at_load(tmp_path: Path) -> None:
    """The Decision 766 scorecard reads every scored indicator's points from the rule set: one renamed (its points
    still adding up) loaded, then every scorecard of its period failed with NotFound."""
    copy_rules(tmp_path, nd118_2025="key: online_payment\n=>key: online_payments\n")
    problem, = load_error(tmp_path).problems
    assert problem.startswith("rule set nd118-2025: par766:")
    assert "the reports score indicators this rule set lacks: online_payment" in problem


def test_a_rule_sets_working_days_are_bounded_like_a_processing_time(tmp_path: Path) -> None:
    """A count of working days a timer is armed by (due soon, escalation) of a few digits too many loaded, and every
    dossier then armed its timer past the calendar's years."""
    copy_rules(tmp_path, nd118_2025="due_soon_working_days: 1\n=>due_soon_working_days: 20000\n")
    problem, = load_error(tmp_path).problems
    assert problem == "rule set nd118-2025: due_soon_working_days: Input should be less than or equal to 366"


def test_overlapping_rule_sets_are_rejected(tmp_path: Path) -> None:
    copy_rules(tmp_path, nd61_2018="effective_to: 2025-06-30=>effective_to: 2025-07-15")
    error = load_error(tmp_path)
    assert "'nd61-2018'" in error.problems[0]
    assert "'nd118-2025'" in error.problems[0]
    assert "overlap" in error.problems[0]


def test_open_ended_older_rule_set_overlaps(tmp_path: Path) -> None:
    copy_rules(tmp_path, nd61_2018="effective_to: 2025-06-30=>effective_to: null")
    assert "overlap" in load_error(tmp_path).problems[0]


def test_gap_between_rule_sets_is_rejected(tmp_path: Path) -> None:
    copy_rules(tmp_path, nd61_2018="effective_to: 2025-06-30=>effective_to: 2025-06-27")
    problem = load_error(tmp_path).problems[0]
    assert "gap" in problem
    assert "'nd61-2018'" in problem
    assert "'nd118-2025'" in problem


def test_rule_book_checks_ranges_when_built_directly() -> None:
    shipped = list(load_rule_sets())
    late = shipped[0].model_copy(update={"effective_to": date(2025, 8, 1)})
    with pytest.raises(InvalidDefinition, match=r"nd61-2018.*nd118-2025"):
        RuleBook([late, shipped[1]])


def test_key_must_match_file_name(tmp_path: Path) -> None:
    copy_rules(tmp_path, nd118_2025="key: nd118-2025=>key: nd118-2026")
    assert "file name" in load_error(tmp_path).problems[0]


def test_unknown_key_is_rejected(tmp_path: Path) -> None:
    copy_rules(tmp_path, nd118_2025="due_soon_working_days: 1=>due_soon_working_days: 1\ncolour: red")
    error = load_error(tmp_path)
    assert error.source.endswith("nd118-2025.yaml")
    assert "rule set nd118-2025: colour" in error.problems[0]


def test_missing_form_is_rejected(tmp_path: Path) -> None:
    copy_rules(tmp_path, nd118_2025='  refusal: {number: "03", name: Phiếu từ chối tiếp nhận giải quyết hồ sơ}\n=>')
    assert "missing 'refusal'" in load_error(tmp_path).problems[0]


def test_unknown_form_is_rejected(tmp_path: Path) -> None:
    copy_rules(tmp_path, nd118_2025="  stop_notice:=>  fax_cover:")
    assert "forms.fax_cover" in load_error(tmp_path).problems[0]


def test_escalation_must_be_ordered(tmp_path: Path) -> None:
    copy_rules(tmp_path, nd118_2025="after_working_days: 2,=>after_working_days: -3,")
    assert "strictly increase" in load_error(tmp_path).problems[0]


def test_par766_points_must_add_up(tmp_path: Path) -> None:
    copy_rules(tmp_path, nd118_2025="      max_points: 20\n=>      max_points: 19\n")
    problem = load_error(tmp_path).problems[0]
    assert "group 'progress'" in problem


def test_par766_indicator_must_name_a_group(tmp_path: Path) -> None:
    copy_rules(tmp_path, nd118_2025="      group: payment\n=>      group: paymnet\n")
    assert "unknown group 'paymnet'" in load_error(tmp_path).problems[0]


def test_covers_is_inclusive() -> None:
    rules: RuleSet = load_rule_sets().get("nd61-2018")
    assert rules.covers(date(2018, 6, 21))
    assert rules.covers(date(2025, 6, 30))
    assert not rules.covers(date(2025, 7, 1))
