"""The ``personal`` flag of a definition's data fields: personal by default, checked at load, read by the log.

Logs by allowlist: a field reaches a log line only when its definition says ``personal: false``. The checks keep the
flag honest where they can: one field name is declared alike everywhere in a definition, and the fields the index
reads a person from (an applicant's identity number, an officer's name) can never be declared not personal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from structlog.testing import capture_logs

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.adapters.logging import WITHHELD, LoggingObserver
from motcua.definitions.workflows import WORKFLOWS_DIR, load_definition
from motcua.definitions.yamlsafe import load_yaml
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.engine.compiled import WorkflowSet
from motcua.workflow.engine.definition import DataField, DataType, WorkflowDefinition
from motcua.workflow.errors import InvalidDefinition
from tests.conftest import LEADER, OFFICER, SPECIALIST

DOSSIER = WORKFLOWS_DIR / "tthc-dossier.v1.yaml"
# What the shipped definitions let reach the logs, field by field: a change here is a decision about people's data.
NOT_PERSONAL = {
    "tthc-dossier": {
        "open": {"procedure", "channel", "applicant_kind", "receiving_unit", "deciding_unit"},
        "assign": {"electronic"}, "payment_received": {"online", "payment_channel"},  # a choice of two channels
        "submit_for_approval": {"electronic"},
        "send_back": {"from_units"}, "mark_result_ready": {"electronic"}, "digitize": {"components"},
        "apologize": {"new_date"}, "escalate": {"step"}, "warn_step": {"step"},  # a step key (reception, …)
        "transfer": {"from_units", "to_unit", "resolution", "effective"}, "adopt_unit": {"unit", "from_units"},
    },
    "plan-task": {
        "open": {"plan", "task", "due", "period", "unit"}, "cancel": {"from_units"}, "escalate": {"step"},
        "transfer": {"from_units", "to_unit", "resolution", "effective"}, "adopt_unit": {"unit", "from_units"},
    },
    "pakn": {  # the sender's name, contact and content, the answer, the assignee and reasons stay out of the logs
        "open": {"channel", "unit", "dossier", "private"}, "assign": {"category"}, "extend": {"working_days"},
        "answer": {"private"}, "decline": {"transferred_to"}, "publish": {"where"}, "rate": {"satisfied"},
        "escalate": {"step"},
        "transfer": {"from_units", "to_unit", "resolution", "effective"}, "adopt_unit": {"unit", "from_units"},
    },
}


def _not_personal(definition: WorkflowDefinition) -> dict[str, set[str]]:
    data = {"open": definition.opening.data, **{name: spec.data for name, spec in definition.triggers.items()}}
    found = {trigger: {name for name, spec in fields.items() if not spec.personal} for trigger, fields in data.items()}
    return {trigger: names for trigger, names in found.items() if names}


def test_a_field_is_personal_unless_declared_otherwise() -> None:
    assert DataField(type=DataType.TEXT).personal is True
    assert DataField.model_validate({"type": "integer", "personal": False}).personal is False


@pytest.mark.parametrize("key", sorted(NOT_PERSONAL))
def test_the_shipped_definitions_let_codes_counts_flags_and_dates_through_only(key: str) -> None:
    definition = load_definition(WORKFLOWS_DIR / f"{key}.v1.yaml")
    assert _not_personal(definition) == NOT_PERSONAL[key]
    people = {"applicant_name", "applicant_id", "phone", "email", "address", "summary", "reason", "note", "comment",
              "assignee", "approver", "receiver", "owner", "title", "document"}
    assert all(spec.personal for _, name, spec in _every_field(definition) if name in people)


def _every_field(definition: WorkflowDefinition) -> list[tuple[str, str, DataField]]:
    data = {"open": definition.opening.data, **{name: spec.data for name, spec in definition.triggers.items()}}
    return [(trigger, name, spec) for trigger, fields in data.items() for name, spec in fields.items()]


# -- the checks ----------------------------------------------------------------------------------------------------


def _problems(motcua: Motcua, tmp_path: Path, change: Any) -> list[str]:
    document = load_yaml(DOSSIER)
    assert isinstance(document, dict)
    change(document)
    path = tmp_path / "tthc-dossier.v1.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InvalidDefinition) as raised:
        WorkflowSet().add(load_definition(path), motcua.workflows.latest("tthc-dossier").registry, str(path))
    return list(raised.value.problems)


def test_one_field_name_is_personal_everywhere_or_nowhere(motcua: Motcua, tmp_path: Path) -> None:
    def note_shown_at_reception(document: dict[str, Any]) -> None:
        document["triggers"]["receive"]["data"]["note"]["personal"] = False

    [problem] = _problems(motcua, tmp_path, note_shown_at_reception)
    assert problem.startswith("field 'note' is personal in [")
    assert problem.endswith("but 'personal: false' in [\"trigger 'receive'\"]: declare it alike")


def test_a_field_the_index_reads_a_person_from_cannot_be_declared_not_personal(
    motcua: Motcua, tmp_path: Path
) -> None:
    def identity_shown(document: dict[str, Any]) -> None:
        document["opening"]["data"]["applicant_id"]["personal"] = False

    def officer_shown(document: dict[str, Any]) -> None:
        document["triggers"]["assign"]["data"]["assignee"]["personal"] = False

    assert _problems(motcua, tmp_path, identity_shown) == [
        "field 'applicant_id' is read by the index key 'applicant', a person: it cannot be 'personal: false' "
        "(['the opening'])"]
    assert _problems(motcua, tmp_path, officer_shown) == [
        "field 'assignee' is read by the index key 'officer', a person: it cannot be 'personal: false' "
        "([\"trigger 'assign'\"])"]


def test_the_flag_is_a_boolean(tmp_path: Path) -> None:
    document = load_yaml(DOSSIER)
    assert isinstance(document, dict)
    document["opening"]["data"]["summary"]["personal"] = "perhaps"
    path = tmp_path / "tthc-dossier.v1.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InvalidDefinition) as raised:
        load_definition(path)
    assert any(problem.startswith("opening.data.summary.personal:") for problem in raised.value.problems)


# -- the log reads it ----------------------------------------------------------------------------------------------


def test_a_declared_value_not_shaped_like_a_code_is_still_withheld(clock: ManualClock) -> None:
    """``personal: false`` is the author's word; a value that breaks it (a name typed where a code belongs) does not
    reach the log either."""
    motcua = open_motcua("memory://", clock=clock, observers=[LoggingObserver()])
    case = motcua.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), OFFICER)
    motcua.service.fire(case.code, "assign", OFFICER, {"assignee": SPECIALIST.name})
    motcua.service.fire(case.code, "submit_for_approval", SPECIALIST, {"approver": LEADER.name})
    with capture_logs() as logs:
        motcua.service.fire(case.code, "send_back", LEADER, {"reason": "Thiếu chữ ký của ông Trần Văn An",
                                                             "from_units": ["HD-CU-01", "xã của Trần Văn An"]})
    [event] = logs
    assert event["data"] == {"from_units": ["HD-CU-01", WITHHELD]} and event["withheld"] == ["reason"]


def test_a_definition_the_observer_does_not_know_shows_no_data(clock: ManualClock) -> None:
    motcua = open_motcua("memory://", clock=clock, observers=[LoggingObserver(definitions=[])])
    with capture_logs() as logs:
        motcua.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), OFFICER)
    opened = logs[0]
    assert opened["trigger"] == "open" and opened["data"] == {}
    assert "procedure" in opened["withheld"] and "applicant_name" in opened["withheld"]
