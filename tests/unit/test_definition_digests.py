"""The digest a database pins of each definition (motcua.workflow.engine.pins): of its meaning, never of its text.

The same file re-formatted, its keys re-ordered, its comments changed, a default written out, a label or a citation
corrected: the same digest. A state, a transition, a guard, an action, a role, a field, a number a rule reads: another.
The canonical form is frozen (a change would refuse every database at start), and so are the shipped definitions'
digests (a change to a shipped version in place would refuse every database that ran it).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from motcua.adapters.memory.pins import MemoryPins
from motcua.definitions.catalogue import RULES_DIR, load_rule_sets
from motcua.definitions.pins import definition_digests, loaded_digests
from motcua.definitions.workflows import WORKFLOWS_DIR, load_definition
from motcua.workflow.dossiers.catalogue import RuleSet
from motcua.workflow.dossiers.rule_digest import RULE_SET_TREATMENTS, rule_set_digest
from motcua.workflow.engine.definition import WorkflowDefinition
from motcua.workflow.engine.pins import WORKFLOW_TREATMENTS, Pin, Treatments, check_pins, meaning, workflow_digest
from motcua.workflow.errors import DefinitionChanged, InvalidDefinition

Document = dict[str, Any]
AT = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
DOSSIER = "tthc-dossier.v1.yaml"
RULES = "nd118-2025.yaml"


def document(folder: Path, name: str) -> Document:
    loaded: Document = yaml.safe_load((folder / name).read_text(encoding="utf-8"))
    return loaded


def written(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def dossier_digest(tmp_path: Path, text: str) -> str:
    return workflow_digest(load_definition(written(tmp_path, DOSSIER, text)))


def rules_digest(data: Document) -> str:
    return rule_set_digest(RuleSet.model_validate(data))


TINY: Document = {
    "key": "tiny", "version": 1, "title": "Thử", "rule_sets": ["nd118-2025"], "roles": {"officer": "Cán bộ"},
    "opening": {"label": "Mở", "roles": ["officer"], "data": {"n": {"type": "number", "min": 0.5}}},
    "regions": {"lifecycle": {"label": "Vòng đời", "states": {"open": {"label": "Mở", "initial": True},
                                                              "done": {"label": "Xong", "final": True}}}},
    "triggers": {"close": {"label": "Đóng", "roles": ["officer"],
                           "transitions": [{"region": "lifecycle", "source": "open", "dest": "done",
                                            "actions": ["b", "a"]}]}},
}


SHIPPED_DOSSIER = workflow_digest(load_definition(WORKFLOWS_DIR / DOSSIER))
SHIPPED_RULES = rules_digest(document(RULES_DIR, RULES))


def _transitions(data: Document, trigger: str) -> list[Document]:
    transitions: list[Document] = data["triggers"][trigger]["transitions"]
    return transitions


def reversed_keys(value: Any) -> Any:
    """``value`` with every mapping's keys in the reverse order."""
    if isinstance(value, dict):
        return {key: reversed_keys(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [reversed_keys(item) for item in value]
    return value


# -- the same meaning: the same digest -----------------------------------------------------------------------------


def test_the_file_reformatted_without_its_comments_has_the_same_digest(tmp_path: Path) -> None:
    data = document(WORKFLOWS_DIR, DOSSIER)
    text = "# re-formatted, the comments gone\n" + yaml.safe_dump(data, allow_unicode=False, default_flow_style=True,
                                                                     width=70, indent=4)
    assert dossier_digest(tmp_path, text) == SHIPPED_DOSSIER


def test_every_mapping_reordered_has_the_same_digest(tmp_path: Path) -> None:
    text = yaml.safe_dump(reversed_keys(document(WORKFLOWS_DIR, DOSSIER)), allow_unicode=True, sort_keys=False)
    assert dossier_digest(tmp_path, text) == SHIPPED_DOSSIER


def test_a_comment_changed_in_the_shipped_text_keeps_the_digest(tmp_path: Path) -> None:
    text = (WORKFLOWS_DIR / DOSSIER).read_text(encoding="utf-8")
    edited = text.replace("# Three orthogonal regions", "# Ba vùng trạng thái độc lập —").replace("\n\n", "\n")
    assert edited != text
    assert dossier_digest(tmp_path, edited + "\n# an afterword\n") == SHIPPED_DOSSIER


def _defaults_written(data: Document) -> None:
    data["regions"]["deadline"]["states"]["due_soon"].update(initial=False, final=False, status_code=None)
    receive = data["triggers"]["receive"]
    receive["timer"] = False
    receive["transitions"][0].update(guards=[], when={})
    data["triggers"]["refuse"]["transitions"][0]["source"] = ["submitted"]  # one state, as a list


def _labels_changed(data: Document) -> None:
    data["title"] = "Hồ sơ TTHC (tên mới)"
    data["roles"]["officer"] = "Công chức một cửa (sửa lỗi chính tả)"
    data["opening"]["label"] = "Đăng ký"
    data["opening"]["data"]["channel"]["label"] = "Kênh"
    data["opening"]["data"]["channel"]["choice_labels"] = {"direct": "Nộp trực tiếp"}
    data["regions"]["lifecycle"]["label"] = "Vòng đời"
    data["regions"]["lifecycle"]["states"]["received"]["label"] = "Đã tiếp nhận"
    data["triggers"]["receive"]["label"] = "Nhận hồ sơ"


def _regions_reordered(data: Document) -> None:
    """No trigger of the dossier runs actions in two regions: the order of its regions means nothing."""
    data["regions"] = dict(reversed(list(data["regions"].items())))
    _transitions(data, "receive").reverse()  # a lifecycle and a records transition: each region's stays in order


def _sets_reordered(data: Document) -> None:
    data["rule_sets"].reverse()
    data["opening"]["roles"].reverse()
    data["opening"]["data"]["channel"]["choices"].reverse()
    data["triggers"]["assign"]["roles"].reverse()
    data["triggers"]["authorise_extra_supplement"]["transitions"][0]["source"].reverse()


@pytest.mark.parametrize("edit", [_defaults_written, _labels_changed, _regions_reordered, _sets_reordered],
                         ids=["defaults-written", "labels", "regions-reordered", "sets-reordered"])
def test_what_decides_nothing_keeps_the_digest(tmp_path: Path, edit: Callable[[Document], None]) -> None:
    data = document(WORKFLOWS_DIR, DOSSIER)
    edit(data)
    assert dossier_digest(tmp_path, yaml.safe_dump(data, allow_unicode=True)) == SHIPPED_DOSSIER


def test_a_number_written_as_a_float_or_an_integer_is_one_number() -> None:
    def with_min(bound: float) -> str:
        data = copy.deepcopy(TINY)
        data["opening"]["data"]["n"]["min"] = bound
        return workflow_digest(WorkflowDefinition.model_validate(data))

    assert with_min(2) == with_min(2.0) != with_min(2.5)
    assert with_min(0) == with_min(-0.0)


# -- another meaning: another digest -------------------------------------------------------------------------------


SEMANTIC_EDITS: dict[str, Callable[[Document], None]] = {
    "a state added": lambda d: d["regions"]["deadline"]["states"].update(late={"label": "Trễ"}),
    "a destination": lambda d: _transitions(d, "refuse")[0].update(dest="stopped"),
    "a guard added": lambda d: _transitions(d, "refuse")[0].update(guards=["submitted_online"]),
    "an action dropped": lambda d: _transitions(d, "receive")[0]["actions"].remove("issue_receipt"),
    "actions reordered": lambda d: _transitions(d, "receive")[0]["actions"].reverse(),
    "transitions reordered": lambda d: _transitions(d, "assign").reverse(),
    "a when": lambda d: _transitions(d, "receive")[1]["when"].update(deadline=["on_time"]),
    "a role allowed": lambda d: d["triggers"]["refuse"]["roles"].append("leader"),
    "a role declared": lambda d: d["roles"].update(clerk="Văn thư"),
    "a field required": lambda d: d["triggers"]["receive"]["data"]["note"].update(required=True),
    "a field's type": lambda d: d["triggers"]["receive"]["data"]["note"].update(type="integer"),
    "a field personal": lambda d: d["opening"]["data"]["procedure"].update(personal=True),
    "a choice added": lambda d: d["opening"]["data"]["channel"]["choices"].append("kiosk"),
    "a bound": lambda d: d["triggers"]["request_payment"]["data"]["amount"].update(min=1),
    "a status code": lambda d: d["regions"]["lifecycle"]["states"]["received"].update(status_code=3),
    "a clock": lambda d: d["regions"]["lifecycle"]["states"]["received"].update(clock="paused"),
    "the index": lambda d: d["index"].update(officer=["approver", "assignee"]),
    "a rule set dropped": lambda d: d["rule_sets"].remove("nd61-2018"),
}


@pytest.mark.parametrize("edit", SEMANTIC_EDITS.values(), ids=SEMANTIC_EDITS.keys())
def test_a_change_of_rules_changes_the_digest(tmp_path: Path, edit: Callable[[Document], None]) -> None:
    data = document(WORKFLOWS_DIR, DOSSIER)
    edit(data)
    assert dossier_digest(tmp_path, yaml.safe_dump(data, allow_unicode=True)) != SHIPPED_DOSSIER


def test_the_order_of_regions_counts_where_a_trigger_runs_actions_in_several(tmp_path: Path) -> None:
    """The feedback's ``assign`` runs the lifecycle's actions, then the classification's: reversed, they would run in
    the other order."""
    shipped = workflow_digest(load_definition(WORKFLOWS_DIR / "pakn.v1.yaml"))
    data = document(WORKFLOWS_DIR, "pakn.v1.yaml")
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=60)
    assert workflow_digest(load_definition(written(tmp_path, "pakn.v1.yaml", text))) == shipped
    data["regions"] = dict(reversed(list(data["regions"].items())))
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    assert workflow_digest(load_definition(written(tmp_path, "pakn.v1.yaml", text))) != shipped


def test_the_same_definition_under_another_version_is_another_definition() -> None:
    data = document(WORKFLOWS_DIR, DOSSIER)
    assert workflow_digest(WorkflowDefinition.model_validate({**data, "version": 2})) != SHIPPED_DOSSIER


# -- rule sets -----------------------------------------------------------------------------------------------------


def _citations_changed(data: Document) -> None:
    data["title"] = "Một cửa theo Nghị định 118/2025 (đã đối chiếu)"
    data["legal_basis"] = [*data["legal_basis"], "Thông tư mới"]
    data["redating"]["source"] = "Nghị định 118/2025/NĐ-CP, Điều 19 (đã đối chiếu nguyên văn)"
    data["forms"]["receipt"]["name"] = "Giấy tiếp nhận hồ sơ"
    data["escalation"][0]["label"] = "Sắp đến hạn"
    data["par766"]["indicators"][0]["formula"] = "đúng hạn ÷ tổng"
    data["par766"]["indicators"].reverse()


def _window_closed(data: Document) -> None:
    data["effective_to"] = "2030-12-31"  # the next legal frame published: this one closed


@pytest.mark.parametrize("edit", [_citations_changed, _window_closed, lambda d: d.update(reversed_keys(d))],
                         ids=["citations", "window", "keys-reordered"])
def test_a_rule_sets_texts_and_window_are_not_its_rules(edit: Callable[[Document], None]) -> None:
    data = copy.deepcopy(document(RULES_DIR, RULES))
    edit(data)
    assert rules_digest(data) == SHIPPED_RULES


def test_a_rule_sets_start_is_its_rules() -> None:
    """The frame's start is read after reception (a later sync's frame, a past period's scorecard): moving it in
    place is a change of rules, closing the frame's end is not."""
    data = copy.deepcopy(document(RULES_DIR, RULES))
    data["effective_from"] = "2025-04-01"
    assert rules_digest(data) != SHIPPED_RULES


RULE_EDITS: dict[str, Callable[[Document], None]] = {
    "re-datings allowed": lambda d: d["redating"].update(allowed=d["redating"]["allowed"] + 1),
    "an escalation's day": lambda d: d["escalation"][-1].update(after_working_days=d["escalation"][-1]
                                                                ["after_working_days"] + 1),
    "an escalation's role": lambda d: d["escalation"][0].update(notify_role="chairman"),
    "a form number": lambda d: d["forms"]["receipt"].update(number="09"),
    "withdrawal": lambda d: d["withdrawal"].update(after_decision=not d["withdrawal"]["after_decision"]),
    "feedback's time": lambda d: d["feedback"].update(answer_within_working_days=30),
    "a warning": lambda d: d.update(step_warning_working_hours=d["step_warning_working_hours"] + 1),
}


@pytest.mark.parametrize("edit", RULE_EDITS.values(), ids=RULE_EDITS.keys())
def test_a_change_of_a_rule_sets_rules_changes_its_digest(edit: Callable[[Document], None]) -> None:
    data = copy.deepcopy(document(RULES_DIR, RULES))
    edit(data)
    assert rules_digest(data) != SHIPPED_RULES


# -- the tables name what their models have -----------------------------------------------------------------------


@pytest.mark.parametrize("treatments", [WORKFLOW_TREATMENTS, RULE_SET_TREATMENTS], ids=["workflow", "rule-set"])
def test_every_field_a_table_treats_is_a_field_of_its_model(treatments: Treatments) -> None:
    unknown = {model.__name__: sorted(set(fields) - set(model.model_fields)) for model, fields in treatments.items()}
    assert {model: names for model, names in unknown.items() if names} == {}


def test_a_field_no_table_names_counts() -> None:
    class Extension(BaseModel):
        label: str
        days: int

    assert meaning(Extension(label="a", days=2), {}) == {"label": "a", "days": 2}


# -- frozen: the canonical form, and the shipped definitions ------------------------------------------------------

def test_the_canonical_form_is_frozen() -> None:
    """Changing how a digest is computed changes every pinned digest: every database would refuse to start. Add a
    new form beside this one (and a migration of the pins) instead."""
    assert workflow_digest(WorkflowDefinition.model_validate(TINY)) == (
        "859ca6ce433e8a31f6ff8201a3f41ac0c6f9192d6e580f5fc033e9e8f2061bcc")


SHIPPED = {
    "nd118-2025": "5495b885d92eeb92718614208f79d725d49ef9c2ef276ab5750974b057b0ad44",
    "nd61-2018": "75f0e4de3f5ca8b65607aeda24ddd9fce0b48df67e7c494a5c9b253c2b6ac4eb",
    "pakn.v1": "17bbe22836660a2e59639f1982c35fdf1e7327a4918329f986d88f17b1bc9d7f",
    "plan-task.v1": "0729f9ae91ad3722965fb972d2da4b9536420250dff10836a3bf890a5d7f4117",
    "tthc-dossier.v1": "316efc2a418c5ee367988d6cbad00a25550bbd9b8b07345032a5d3729b53ee0c",
}


def test_no_shipped_definition_changes_in_place() -> None:
    """Every database that ran a shipped version pinned it: a release changing it in place would be refused at start
    by all of them. A change of rules is a new version file (a new rule set for a new legal frame), added here; a
    label or a citation changes no digest."""
    assert {name.file_name: value for name, value in loaded_digests().items()} == SHIPPED


# -- the check at start --------------------------------------------------------------------------------------------

DOSSIER_PIN = Pin.workflow("tthc-dossier", 1)
RULES_PIN = Pin.rule_set("nd118-2025")


def test_a_first_open_pins_what_it_loads_and_a_second_one_passes() -> None:
    pins, digests = MemoryPins(), loaded_digests()
    check_pins(pins, digests, AT)
    assert pins.pinned() == digests
    check_pins(pins, digests, AT)
    assert pins.pinned() == digests


def test_a_definition_changed_in_place_is_refused_naming_it_and_what_to_do() -> None:
    pins, digests = MemoryPins(), loaded_digests()
    check_pins(pins, digests, AT)
    edited = {**digests, DOSSIER_PIN: "0" * 64}
    with pytest.raises(DefinitionChanged) as refused:
        check_pins(pins, edited, AT)
    assert isinstance(refused.value, InvalidDefinition)
    [changed] = refused.value.changed
    assert (changed.kind, changed.key, changed.version) == ("workflow", "tthc-dossier", 1)
    assert (changed.pinned, changed.loaded) == (digests[DOSSIER_PIN], "0" * 64)
    message = str(refused.value)
    assert "workflow tthc-dossier v1 changed in place" in message
    assert "tthc-dossier.v<next>.yaml" in message
    assert "motcua definitions repin tthc-dossier.v1" in message
    assert pins.pinned() == digests  # the pin stays: refusing writes nothing


def test_every_definition_changed_is_named_at_once() -> None:
    pins, digests = MemoryPins(), loaded_digests()
    check_pins(pins, digests, AT)
    with pytest.raises(DefinitionChanged) as refused:
        check_pins(pins, {**digests, DOSSIER_PIN: "1" * 64, RULES_PIN: "2" * 64}, AT)
    assert [(item.kind, item.key) for item in refused.value.changed] == [("rule_set", "nd118-2025"),
                                                                         ("workflow", "tthc-dossier")]
    assert "publish a change of the law as a new rule set" in str(refused.value)
    assert "motcua definitions repin nd118-2025" in str(refused.value)


def test_a_version_added_later_is_pinned_beside_the_others() -> None:
    pins, digests = MemoryPins(), loaded_digests()
    check_pins(pins, digests, AT)
    v2 = Pin.workflow("tthc-dossier", 2)
    check_pins(pins, {**digests, v2: "3" * 64}, AT)
    assert pins.pinned() == {**digests, v2: "3" * 64}


def test_a_pin_of_a_definition_no_longer_loaded_is_kept_and_judges_nothing() -> None:
    pins, digests = MemoryPins(), loaded_digests()
    gone = Pin.workflow("old-flow", 1)
    pins.pin({gone: "4" * 64}, AT)
    check_pins(pins, digests, AT)
    assert pins.pinned() == {**digests, gone: "4" * 64}


def test_the_digests_of_what_a_process_loads_are_those_of_each_file() -> None:
    workflows = [load_definition(path) for path in sorted(WORKFLOWS_DIR.glob("*.yaml"))]
    assert definition_digests(workflows, load_rule_sets()) == loaded_digests()


@pytest.mark.parametrize(("name", "shown", "file_name"), [
    (Pin.workflow("tthc-dossier", 1), "workflow tthc-dossier v1", "tthc-dossier.v1"),
    (Pin.rule_set("nd118-2025"), "rule set nd118-2025", "nd118-2025"),
])
def test_a_pin_is_named_as_its_file(name: Pin, shown: str, file_name: str) -> None:
    assert (str(name), name.file_name) == (shown, file_name)


def test_a_pin_names_a_workflow_or_a_rule_set() -> None:
    with pytest.raises(ValueError, match="workflow or a rule set"):
        Pin("procedure", "1.001193")
