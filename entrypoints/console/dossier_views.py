"""Dossiers as the console's pages show them: plain values with their Vietnamese labels, read from the definitions
and the catalogue (never a label written here), and the list filters a page may ask for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from urllib.parse import urlencode

from motcua.adapters.bootstrap import Motcua
from motcua.definitions.units import UNIT_CODE_MAX_LENGTH
from motcua.workflow.dossiers.desk import DOSSIER_WORKFLOW
from motcua.workflow.engine.bounds import CODE_MAX, NAME_MAX
from motcua.workflow.engine.compiled import WorkflowSet
from motcua.workflow.engine.definition import WorkflowDefinition
from motcua.workflow.engine.labels import state_label
from motcua.workflow.engine.model import Case, JsonValue
from motcua.workflow.engine.queries import CaseFilter
from motcua.workflow.errors import InvalidInput

__all__ = ["DEADLINE_TONES", "DossierRow", "ListQuery", "definition_of", "row_of", "states_of", "text_of", "when_of"]

DEADLINE_TONES: Final = {"on_time": "ok", "due_soon": "warn", "overdue": "bad"}
"""The badge of each deadline state (its label comes from the definition)."""


def definition_of(motcua: Motcua, case: Case) -> WorkflowDefinition:
    return motcua.workflows.get(case.definition_key, case.definition_version).definition


def text_of(attributes: Mapping[str, JsonValue], name: str) -> str:
    value = attributes.get(name)
    return value if isinstance(value, str) else ""


def shown_of(definition: WorkflowDefinition, attributes: Mapping[str, JsonValue], name: str) -> str:
    """The attribute ``name`` as a person reads it: a choice the opening declares by its label, any other text as is."""
    value = text_of(attributes, name)
    spec = definition.opening.data.get(name)
    return spec.choice_label(value) if spec is not None and value else value


def when_of(value: str) -> datetime | None:
    """An instant an attribute holds as ISO 8601 text (an appointment), or None."""
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class DossierRow:
    """One line of a list of dossiers."""

    code: str
    procedure: str
    procedure_name: str
    applicant: str
    lifecycle: str
    lifecycle_label: str
    deadline: str
    deadline_label: str
    deadline_tone: str
    appointment: datetime | None
    officer: str
    unit: str


def row_of(motcua: Motcua, case: Case) -> DossierRow:
    definition = definition_of(motcua, case)
    attributes = case.attributes
    procedure = text_of(attributes, "procedure")
    try:
        procedure_name = motcua.catalogue.get(procedure).name if procedure else ""
    except LookupError:
        procedure_name = ""  # an imported dossier of a procedure this office's catalogue does not list
    lifecycle, deadline = case.state.get("lifecycle", ""), case.state.get("deadline", "")
    return DossierRow(
        code=case.code, procedure=procedure, procedure_name=procedure_name,
        applicant=text_of(attributes, "applicant_name"), lifecycle=lifecycle,
        lifecycle_label=state_label(definition, "lifecycle", lifecycle), deadline=deadline,
        deadline_label=state_label(definition, "deadline", deadline), deadline_tone=DEADLINE_TONES.get(deadline, ""),
        appointment=when_of(text_of(attributes, "appointment")), officer=text_of(attributes, "assignee"),
        unit=text_of(attributes, "deciding_unit"),
    )


SCOPES: Final = {"open": False, "ended": True, "all": None}
"""``?scope=``: the dossiers still being dealt with (the default), those whose processing ended, or both."""


@dataclass(frozen=True, slots=True)
class ListQuery:
    """What a list of dossiers is filtered by (``/console/dossiers?…``), each value checked against the dossier
    workflow's declared states and the index's search keys before any query runs."""

    state: str | None = None
    deadline: str | None = None
    procedure: str | None = None
    officer: str | None = None
    unit: str | None = None
    applicant: str | None = None
    scope: str = "open"

    def check(self, workflows: WorkflowSet) -> None:
        """InvalidInput for a state no loaded version of the dossier workflow declares (the rule of every listing:
        :meth:`~motcua.workflow.engine.compiled.WorkflowSet.states`), or a value too long to be one."""
        for region, value in (("lifecycle", self.state), ("deadline", self.deadline)):
            if value is not None and value not in workflows.states(DOSSIER_WORKFLOW, region):
                raise InvalidInput(region, "not a state of the dossier workflow")
        bounds = ((self.procedure, CODE_MAX), (self.officer, NAME_MAX), (self.unit, UNIT_CODE_MAX_LENGTH),
                  (self.applicant, 32))
        if any(value is not None and len(value) > bound for value, bound in bounds):
            raise InvalidInput("filter", "too long")
        if self.scope not in SCOPES:
            raise InvalidInput("scope", "open, ended or all")

    def where(self) -> CaseFilter:
        return CaseFilter(definition_key=DOSSIER_WORKFLOW, lifecycle=self.state, deadline=self.deadline,
                          procedure=self.procedure, officer=self.officer, unit=self.unit, applicant=self.applicant,
                          ended=SCOPES[self.scope])

    def params(self) -> dict[str, str]:
        chosen = {"state": self.state, "deadline": self.deadline, "procedure": self.procedure,
                  "officer": self.officer, "unit": self.unit, "applicant": self.applicant}
        kept = {name: value for name, value in chosen.items() if value}
        if self.scope != "open":
            kept["scope"] = self.scope
        return kept

    def url(self, after: str | None = None) -> str:
        params = self.params()
        if after is not None:
            params["after"] = after
        return "/console/dossiers" + (f"?{urlencode(params)}" if params else "")


def states_of(definition: WorkflowDefinition, region: str) -> Sequence[tuple[str, str]]:
    """(state, label) of ``region``, in the definition's order: the choices of a filter."""
    return [(name, spec.label) for name, spec in definition.regions[region].states.items()]
