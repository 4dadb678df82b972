"""Choice labels: how a person reads a declared choice (forms and pages of the console)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from motcua.definitions.workflows import WORKFLOWS_DIR, load_definition
from motcua.entrypoints.console.dossier_views import shown_of
from motcua.entrypoints.console.forms import form_fields
from motcua.workflow.engine.definition import DataField, DataType


def test_a_label_names_a_declared_choice() -> None:
    field = DataField(type=DataType.CHOICE, choices=("direct", "online"), choice_labels={"direct": "Trực tiếp"})
    assert field.choice_label("direct") == "Trực tiếp"
    assert field.choice_label("online") == "online"  # no label: its code


@pytest.mark.parametrize(("labels", "named"), [({"phone": "Điện thoại"}, "phone"), ({"direct": "  "}, "direct")])
def test_a_label_of_no_choice_or_an_empty_label_is_refused(labels: dict[str, str], named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        DataField(type=DataType.CHOICE, choices=("direct", "online"), choice_labels=labels)


def test_every_shipped_choice_reads_in_vietnamese() -> None:
    for path in sorted(WORKFLOWS_DIR.glob("*.yaml")):
        definition = load_definition(path)
        fields = [definition.opening.data, *(trigger.data for trigger in definition.triggers.values())]
        for data in fields:
            for name, spec in data.items():
                if spec.type is DataType.CHOICE:
                    assert set(spec.choice_labels) == set(spec.choices), f"{path.name}: {name}"


def test_the_console_shows_labels_not_codes() -> None:
    definition = load_definition(WORKFLOWS_DIR / "tthc-dossier.v1.yaml")
    assert shown_of(definition, {"channel": "postal"}, "channel") == "Qua dịch vụ bưu chính công ích"
    assert shown_of(definition, {"applicant_name": "Nguyễn Văn A"}, "applicant_name") == "Nguyễn Văn A"
    channel = next(field for field in form_fields(definition.opening.data) if field.name.endswith("channel"))
    assert ("direct", "Trực tiếp") in channel.choices
