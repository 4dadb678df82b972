"""Definitions as data: the shipped ones load; each named check rejects a broken one by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from motcua.adapters.bootstrap import Motcua
from motcua.definitions.workflows import WORKFLOWS_DIR, load_definition, load_workflows
from motcua.definitions.yamlsafe import load_yaml
from motcua.workflow.engine.compiled import WorkflowSet
from motcua.workflow.engine.queries import indexed
from motcua.workflow.engine.registry import Registry
from motcua.workflow.errors import InvalidDefinition

DOSSIER = WORKFLOWS_DIR / "tthc-dossier.v1.yaml"
DVCQG_STATES = {
    "submitted": 1, "received": 2, "refused": 3, "processing": 4, "supplement_requested": 5,
    "awaiting_payment": 6, "withdrawal_requested": 7, "stopped": 8, "result_ready": 9, "returned": 10,
}


def test_shipped_definitions_compile(motcua: Motcua) -> None:
    keys = {(d.key, d.version) for d in motcua.workflows.definitions()}
    assert keys == {("tthc-dossier", 1), ("plan-task", 1), ("pakn", 1)}


def test_dossier_lifecycle_carries_dvcqg_codes(motcua: Motcua) -> None:
    definition = motcua.workflows.latest("tthc-dossier").definition
    states = definition.regions["lifecycle"].states
    for name, code in DVCQG_STATES.items():
        assert states[name].status_code == code
    assert all(spec.status_code is not None for spec in states.values())
    assert set(definition.regions) == {"lifecycle", "deadline", "records"}
    assert {"received", "processing", "returned"} <= set(states)
    assert "overdue" in definition.regions["deadline"].states
    assert "digitized" in definition.regions["records"].states


def test_plan_task_regions(motcua: Motcua) -> None:
    definition = motcua.workflows.latest("plan-task").definition
    assert set(definition.regions["lifecycle"].states) == {"planned", "in_progress", "done", "cancelled"}
    assert set(definition.regions) == {"lifecycle", "deadline", "evidence"}


def _document() -> dict[str, Any]:
    loaded = load_yaml(DOSSIER)
    assert isinstance(loaded, dict)
    return loaded


def _write(tmp_path: Path, document: dict[str, Any]) -> Path:
    path = tmp_path / "tthc-dossier.v1.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def _compile(motcua: Motcua, path: Path) -> None:
    registry = motcua.workflows.latest("tthc-dossier").registry
    WorkflowSet().add(load_definition(path), registry, str(path))


def _problems(motcua: Motcua, tmp_path: Path, document: dict[str, Any]) -> InvalidDefinition:
    path = _write(tmp_path, document)
    with pytest.raises(InvalidDefinition) as raised:
        _compile(motcua, path)
    assert raised.value.source == str(path)
    return raised.value


def test_two_initial_states(motcua: Motcua, tmp_path: Path) -> None:
    document = _document()
    document["regions"]["deadline"]["states"]["overdue"]["initial"] = True
    error = _problems(motcua, tmp_path, document)
    assert any("'deadline'" in p and "exactly one initial" in p and "overdue" in p for p in error.problems)


def test_unknown_state_in_transition(motcua: Motcua, tmp_path: Path) -> None:
    document = _document()
    document["triggers"]["approve"]["transitions"][0]["dest"] = "signed"
    error = _problems(motcua, tmp_path, document)
    assert any("'approve'" in p and "'lifecycle'" in p and "signed" in p for p in error.problems)


def test_unknown_region_and_when(motcua: Motcua, tmp_path: Path) -> None:
    document = _document()
    document["triggers"]["digitize"]["transitions"][0]["region"] = "archive"
    document["triggers"]["mark_overdue"]["transitions"][0]["when"] = {"lifecycle": ["sleeping"]}
    error = _problems(motcua, tmp_path, document)
    assert any("unknown region 'archive'" in p for p in error.problems)
    assert any("'mark_overdue'" in p and "sleeping" in p for p in error.problems)


def test_transition_leaving_a_final_state(motcua: Motcua, tmp_path: Path) -> None:
    document = _document()
    document["triggers"]["receive"]["transitions"][0]["source"] = ["submitted", "refused"]
    error = _problems(motcua, tmp_path, document)
    assert any("leaves final states ['refused']" in p for p in error.problems)


def test_unreachable_state(motcua: Motcua, tmp_path: Path) -> None:
    document = _document()
    document["regions"]["records"]["states"]["archived"] = {"label": "Lưu trữ"}
    error = _problems(motcua, tmp_path, document)
    assert any("'records'" in p and "['archived']" in p and "cannot be reached" in p for p in error.problems)


def test_unregistered_guard_and_action(motcua: Motcua, tmp_path: Path) -> None:
    document = _document()
    document["triggers"]["approve"]["transitions"][0]["guards"] = ["has_signature"]
    document["triggers"]["approve"]["transitions"][0]["actions"] = ["send_fax"]
    error = _problems(motcua, tmp_path, document)
    assert any("guards ['has_signature']" in p for p in error.problems)
    assert any("actions ['send_fax']" in p for p in error.problems)


def test_action_firing_an_undeclared_trigger(motcua: Motcua, tmp_path: Path) -> None:
    document = _document()
    del document["triggers"]["escalate"]
    error = _problems(motcua, tmp_path, document)
    assert any("fires triggers ['escalate']" in p for p in error.problems)


def test_a_trigger_timers_fire_is_a_timer_the_system_may_fire(motcua: Motcua, tmp_path: Path) -> None:
    """The worker fires a timer as the system: a trigger an action's timers fire that does not allow the role
    ``system`` (or is not declared ``timer: true``) failed every time it fell due, long after the definition loaded."""
    document = _document()
    document["triggers"]["mark_overdue"]["roles"] = ["officer"]
    document["triggers"]["escalate"]["timer"] = False
    document["triggers"]["mark_due_soon"]["roles"] = ["officer", "system"]
    error = _problems(motcua, tmp_path, document)
    fired = "is fired by the timers of ['resume_clock', 'start_clock']"
    assert [p for p in error.problems if "timer" in p] == [
        f"trigger 'escalate' {fired} but is not declared 'timer: true'",
        f"trigger 'mark_overdue' {fired} but does not allow the role 'system'",
    ]


def test_a_timer_trigger_the_system_may_not_fire_is_refused(motcua: Motcua, tmp_path: Path) -> None:
    document = _document()
    document["triggers"]["rate"]["timer"] = True
    error = _problems(motcua, tmp_path, document)
    assert error.problems == ("trigger 'rate' is declared 'timer: true' but does not allow the role 'system'",)


def test_a_transition_an_earlier_unconditional_one_always_takes_first_is_refused(motcua: Motcua,
                                                                                 tmp_path: Path) -> None:
    """Of a trigger's transitions from one state of a region, the first whose guards and ``when`` hold is taken: one
    after an unconditional transition from the same state was never taken, silently."""
    document = _document()
    transitions = document["triggers"]["approve"]["transitions"]
    transitions.append({**transitions[0], "dest": "processing", "actions": []})
    error = _problems(motcua, tmp_path, document)
    assert error.problems == ("trigger 'approve': transition 2 of region 'lifecycle' is never taken from "
                              "['awaiting_approval']: transition 1 has no guard and no 'when'",)


def test_undeclared_role(motcua: Motcua, tmp_path: Path) -> None:
    document = _document()
    document["triggers"]["approve"]["roles"] = ["chairman"]
    error = _problems(motcua, tmp_path, document)
    assert any("'approve'" in p and "chairman" in p for p in error.problems)


def test_the_index_declares_known_search_keys_read_from_named_attributes(motcua: Motcua, tmp_path: Path) -> None:
    document = _document()
    document["index"] = {"officer": ["assignee", "owner", "assignee"], "colour": "paint", "due": []}
    error = _problems(motcua, tmp_path, document)
    assert any("unknown search keys ['colour']" in p for p in error.problems)
    assert any("'officer'" in p and "['assignee'] more than once" in p for p in error.problems)
    assert any("'due' names no attribute" in p for p in error.problems)


def test_the_shipped_index_reads_the_first_filled_attribute(motcua: Motcua) -> None:
    dossier = motcua.workflows.latest("tthc-dossier").definition
    assert dossier.index == {"procedure": ("procedure",), "officer": ("assignee",), "due": ("appointment",),
                             "ended": ("ended_at",), "unit": ("deciding_unit",), "received_by": ("receiving_unit",),
                             "applicant": ("applicant_id",)}
    assert motcua.workflows.latest("plan-task").definition.index == {"officer": ("owner",), "ended": ("ended_at",),
                                                                     "unit": ("unit",)}
    assert indexed({"officer": ("assignee", "owner")}, {"assignee": "", "owner": "Lê Thị Thu", "ended_at": None}) == {
        "officer": "Lê Thị Thu"}
    assert indexed({"ended": ("ended_at",), "due": ("appointment",)}, {"ended_at": None, "appointment": 3}) == {}


def test_schema_errors_name_the_path(tmp_path: Path) -> None:
    document = _document()
    document["triggers"]["approve"]["colour"] = "red"
    document["regions"]["lifecycle"]["states"]["received"]["status_code"] = 11
    path = _write(tmp_path, document)
    with pytest.raises(InvalidDefinition) as raised:
        load_definition(path)
    text = str(raised.value)
    assert "triggers.approve.colour" in text
    assert "regions.lifecycle.states.received.status_code" in text


@pytest.mark.parametrize(("field", "problem"), [
    ({"type": "text", "min": 1}, "`min` and `max` are given for an integer or a number only, not a text"),
    ({"type": "integer", "min": 0.5}, "`min` and `max` of an integer are integers"),
    ({"type": "integer", "min": 5, "max": 1}, "`min` (5) is greater than `max` (1)"),
    ({"type": "integer", "max": 2**60}, "`min` and `max` are within ±9007199254740991"),
    ({"type": "number", "min": "0"}, "request_payment.data.amount.min"),
    ({"type": "integer", "min": True}, "request_payment.data.amount.min"),
    ({"type": "number", "max": float("inf")}, "request_payment.data.amount.max"),
])
def test_a_fields_min_and_max_are_checked_when_the_definition_loads(
    tmp_path: Path, field: dict[str, Any], problem: str
) -> None:
    document = _document()
    document["triggers"]["request_payment"]["data"]["amount"] = {"required": True, **field}
    with pytest.raises(InvalidDefinition) as raised:
        load_definition(_write(tmp_path, document))
    assert problem in str(raised.value)


@pytest.mark.parametrize(("field", "problem"), [
    ({"type": "choice"}, "a choice lists at least one choice"),
    ({"type": "choice", "choices": []}, "a choice lists at least one choice"),
    ({"type": "integer", "choices": ["1", "2"]},
     "`choices` are given for a choice only, not for a field of type integer"),
])
def test_a_fields_choices_are_a_choices_only_and_one_at_least(tmp_path: Path, field: dict[str, Any],
                                                              problem: str) -> None:
    """A choice without choices stopped the process with an AssertionError of pydantic's naming neither file nor
    field; choices given to another type were dropped, the field taking any value."""
    document = _document()
    document["triggers"]["request_payment"]["data"]["amount"] = {"required": True, **field}
    path = _write(tmp_path, document)
    with pytest.raises(InvalidDefinition) as raised:
        load_definition(path)
    assert raised.value.source == str(path)
    assert raised.value.problems == (f"triggers.request_payment.data.amount: Value error, {problem}",)


def test_a_when_names_other_regions_only(motcua: Motcua, tmp_path: Path) -> None:
    """``when`` holds the states *other* regions must be in: naming the transition's own region made a second,
    silent source that, disjoint from the first, left the transition dead."""
    document = _document()
    document["triggers"]["approve"]["transitions"][0]["when"] = {"lifecycle": ["returned"]}
    error = _problems(motcua, tmp_path, document)
    assert error.problems == ("trigger 'approve': 'when' names the transition's own region 'lifecycle'",)


def test_a_region_gives_every_state_a_status_code_or_none(motcua: Motcua, tmp_path: Path) -> None:
    """A dossier in a lifecycle state without its DVCQG code was refused only when synchronised, long after loading."""
    document = _document()
    del document["regions"]["lifecycle"]["states"]["processing"]["status_code"]
    error = _problems(motcua, tmp_path, document)
    assert error.problems == ("region 'lifecycle': states ['processing'] have no status_code, the others have one",)


def test_the_shipped_amounts_and_counts_are_never_negative(motcua: Motcua) -> None:
    triggers = motcua.workflows.latest("tthc-dossier").definition.triggers
    assert triggers["request_payment"].data["amount"].min == 0
    assert triggers["digitize"].data["components"].min == 0


def test_file_name_must_match_key_and_version(tmp_path: Path) -> None:
    path = tmp_path / "tthc-dossier.v7.yaml"
    path.write_text(DOSSIER.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(InvalidDefinition, match=r"name it tthc-dossier\.v1\.yaml"):
        load_definition(path)


def test_yaml_on_off_yes_no_stay_strings(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("a: on\nb: no\nc: yes\nd: off\ne: true\nf: '13:30'\ng: 13:30\n", encoding="utf-8")
    assert load_yaml(path) == {"a": "on", "b": "no", "c": "yes", "d": "off", "e": True, "f": "13:30", "g": "13:30"}


def test_broken_yaml_is_an_invalid_definition(tmp_path: Path) -> None:
    path = tmp_path / "bad.v1.yaml"
    path.write_text("key: [unclosed\n", encoding="utf-8")
    with pytest.raises(InvalidDefinition) as raised:
        load_definition(path)
    assert raised.value.source == str(path)


def test_workflow_without_registry_is_refused(tmp_path: Path) -> None:
    (tmp_path / "tthc-dossier.v1.yaml").write_text(DOSSIER.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(InvalidDefinition, match="no guards and actions are registered"):
        load_workflows({"plan-task": Registry()}, tmp_path)


def test_machines_are_shared_and_hold_no_models(motcua: Motcua) -> None:
    compiled = motcua.workflows.latest("tthc-dossier")
    machines = compiled._machines  # inspected on purpose: the sharing is the property under test
    assert set(machines) == {"lifecycle", "deadline", "records"}
    assert all(machine.models == [] for machine in machines.values())
