"""The bodies of the HTTP API as pydantic models: every request and response has a schema in OpenAPI.

Every text of a request has a length in the document and holds no control character (tabs and line breaks only in
free text: an address, a summary); an identity number (``applicant.id_number``, ``applicant_id``) is shaped as the
one an applicant's key is made with (:func:`~motcua.workflow.engine.bounds.id_number_problem`); a trigger's ``data``
nests at most 8 deep and its texts are the engine's to bound (2,000 characters, the same rule on every path:
:mod:`motcua.workflow.engine.compiled`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from motcua.definitions.units import UNIT_CODE_MAX_LENGTH, UNIT_CODE_PATTERN
from motcua.workflow.dossiers.desk import APPLICANT_BOUNDS
from motcua.workflow.engine.audit import AuditEntry
from motcua.workflow.engine.bounds import (
    CODE_MAX,
    ID_NUMBER_MAX,
    JSON_DEPTH_MAX,
    NAME_MAX,
    TEXT_MAX,
    free_text,
    has_surrogate,
    id_number,
    json_depth,
    json_size,
    one_line,
)
from motcua.workflow.engine.compiled import WorkflowSet
from motcua.workflow.engine.model import Case

__all__ = [
    "DATA_SIZE_MAX",
    "ApplicantBody",
    "Bieu06Counts",
    "Bieu06Report",
    "Bieu06Row",
    "Dossier",
    "DossierPage",
    "EventRequest",
    "FeedbackCase",
    "FeedbackEventRequest",
    "FeedbackPage",
    "FeedbackRequest",
    "FreeText",
    "Health",
    "HistoryEntry",
    "IndicatorScore",
    "OneLine",
    "Par766Report",
    "ProcedureOut",
    "ProcessingTimeOut",
    "ReceiveRequest",
    "dossier_of",
    "entry_of",
]


# Every text of a request is bounded (motcua.workflow.engine.bounds): a length in the document, and no control
# character — none in one line, none but tabs and line breaks in free text. A refusal is 422 naming the field.
OneLine = AfterValidator(one_line)
FreeText = AfterValidator(free_text)
IdNumber = AfterValidator(id_number)  # an identity number's shape, the one an applicant's key is made with
DATA_SIZE_MAX: Final = 200_000  # characters of a trigger's data as JSON: 50 texts of 2,000 and their names fit


def _bounded_data(data: dict[str, Any]) -> dict[str, Any]:
    """A trigger's data, at most :data:`JSON_DEPTH_MAX` deep and :data:`DATA_SIZE_MAX` characters, before anything
    reads it (its fields and their texts are the engine's to check, on every path)."""
    if json_depth(data, JSON_DEPTH_MAX) > JSON_DEPTH_MAX:
        raise ValueError(f"nested more than {JSON_DEPTH_MAX} deep")
    if json_size(data, DATA_SIZE_MAX) > DATA_SIZE_MAX:
        raise ValueError(f"larger than {DATA_SIZE_MAX:,} characters")
    if has_surrogate(data):  # before the request's fingerprint encodes it
        raise ValueError("holds a lone surrogate, which is not text")
    return data


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Request(_Body):
    """A request's body: strict JSON, every value of its field's own JSON type — ``true`` or ``false`` for a boolean
    (never ``"yes"``, ``"true"``, ``1``), a string for a text, an object for an object (and, for any later field, an
    integer for an integer: not ``"3"`` nor ``3.0``). A value of another type is 422 naming the field.

    FastAPI validates the parsed body in pydantic's *python* mode, where strict mode takes a ``date``, an enum or a
    UUID only as that object, never as the string JSON carries: a field of such a type needs ``Field(strict=False)``
    (or a ``Literal`` of strings, as the fields here do) to be readable at all."""

    model_config = ConfigDict(extra="forbid", strict=True)


_APPLICANT: Final = APPLICANT_BOUNDS  # the desk's bounds of an applicant's texts, the console's too


class ApplicantBody(_Request):
    """The applicant (Chủ hồ sơ): the name, the telephone number and the e-mail one line each, the address free text
    (tabs and line breaks allowed); the same bounds as the console's reception form."""

    name: Annotated[str, OneLine] = Field(min_length=1, max_length=_APPLICANT["applicant_name"].limit,
                                          description="Chủ hồ sơ")
    kind: Literal["citizen", "business", "agency", "other"] = "citizen"
    id_number: Annotated[str | None, OneLine, IdNumber] = Field(
        default=None, max_length=ID_NUMBER_MAX, description=(
            "Số định danh: 1 to 32 letters and digits, one dash at most inside (a citizen's: 12 digits); the identity "
            "a key acting for one applicant must be"))
    phone: Annotated[str | None, OneLine] = Field(default=None, max_length=_APPLICANT["phone"].limit)
    email: Annotated[str | None, OneLine] = Field(default=None, max_length=_APPLICANT["email"].limit)
    address: Annotated[str | None, FreeText] = Field(default=None, max_length=_APPLICANT["address"].limit)


class ReceiveRequest(_Request):
    """A dossier to register; received at once unless ``receive`` is false (an online submission waiting)."""

    procedure: Annotated[str, OneLine] = Field(min_length=1, max_length=CODE_MAX, examples=["1.004873"])
    channel: Literal["direct", "online", "postal"]
    applicant: ApplicantBody
    summary: Annotated[str | None, FreeText] = Field(default=None, max_length=TEXT_MAX)
    receive: bool = True
    unit: str | None = Field(default=None, max_length=UNIT_CODE_MAX_LENGTH, pattern=UNIT_CODE_PATTERN, description=(
        "The receiving unit's code (default: the key's one unit, else the server's home unit); within the key's "
        "scope"))
    deciding_unit: str | None = Field(
        default=None, max_length=UNIT_CODE_MAX_LENGTH, pattern=UNIT_CODE_PATTERN,
        description="The unit that decides, of the same province (default: the receiving unit)")


class EventRequest(_Request):
    trigger: Annotated[str, OneLine] = Field(min_length=1, max_length=100, examples=["assign"])
    data: Annotated[dict[str, Any], AfterValidator(_bounded_data)] = Field(
        default_factory=dict, examples=[{"assignee": "Phạm Văn Hùng"}],
        description=f"The trigger's declared fields; at most {JSON_DEPTH_MAX} deep and {DATA_SIZE_MAX:,} characters, "
                    f"texts of at most {TEXT_MAX:,} characters without control characters but tabs and line breaks")


class FeedbackEventRequest(EventRequest):
    """A trigger fired on a piece of feedback (``assign``, ``extend``, ``answer``, ``decline``, ``publish``,
    ``rate``): the same body as a dossier's event."""


class FeedbackRequest(_Request):
    """Citizens' feedback (phản ánh, kiến nghị) to receive: a ``pakn`` case, its answer due within the legal time."""

    sender_name: Annotated[str, OneLine] = Field(min_length=1, max_length=NAME_MAX,
                                                 description="Cá nhân, tổ chức phản ánh")
    content: Annotated[str, FreeText] = Field(min_length=1, max_length=TEXT_MAX,
                                              description="Nội dung phản ánh, kiến nghị")
    channel: Literal["direct", "online", "postal", "phone"] = "direct"
    contact: Annotated[str | None, OneLine] = Field(default=None, max_length=NAME_MAX)
    dossier: Annotated[str | None, OneLine] = Field(default=None, max_length=CODE_MAX, description=(
        "The code of the dossier it concerns: a dossier the key sees (else 422)"))
    private: bool = Field(default=False, description="Concerns private data: the answer is not published")
    unit: str | None = Field(default=None, max_length=UNIT_CODE_MAX_LENGTH, pattern=UNIT_CODE_PATTERN, description=(
        "The receiving unit's code (default: the key's one unit, else the server's home unit); within the key's "
        "scope"))
    applicant_id: Annotated[str | None, OneLine, IdNumber] = Field(default=None, max_length=ID_NUMBER_MAX, description=(
        "The sender's identity number, shaped as an applicant's; a key acting for one applicant: its own (filled in "
        "when left out, another is 403 outside-scope)"))


class Dossier(_Body):
    code: str = Field(examples=["000.00.00.H23-240304-0001"])
    workflow: str
    workflow_version: int
    rule_set: str
    procedure: str | None
    state: dict[str, str] = Field(description="The state of each region (lifecycle, deadline, records).")
    state_labels: dict[str, str] = Field(description="The Vietnamese label of each region's state.")
    status_code: int | None = Field(description="DVCQG TrangThaiHoSo of the lifecycle state.")
    appointment: str | None = Field(description="The appointment (ISO 8601, +07:00), once received.")
    receiving_unit: str | None = Field(description="The unit that received the dossier (agency code).")
    deciding_unit: str | None = Field(description="The unit that decides it, whose calendar counts the deadline.")
    attributes: dict[str, Any]
    version: int = Field(description="Send it back as If-Match: \"<version>\" to change the dossier.")
    opened_at: datetime
    updated_at: datetime


class DossierPage(_Body):
    items: list[Dossier]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page.")


class FeedbackCase(Dossier):
    """A piece of citizens' feedback (a ``pakn`` case), in the shape of a dossier: ``procedure``, ``appointment`` and
    the units of a dossier are null; the answer's deadline is ``attributes.answer_due_at``."""


class FeedbackPage(_Body):
    items: list[Dossier]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page.")


class HistoryEntry(_Body):
    sequence: int
    position: int | None
    occurred_at: datetime
    actor: str
    role: str
    trigger: str
    state_before: dict[str, str]
    state_after: dict[str, str]
    data: dict[str, Any]
    changes: dict[str, Any]
    reason: str | None
    definition_version: int
    rule_set: str
    prev_hash: str
    hash: str


class ProcessingTimeOut(_Body):
    amount: int
    unit: Literal["working_days", "working_hours", "calendar_days"]


class ProcedureOut(_Body):
    code: str
    name: str
    field_code: str
    field_name: str
    level: Literal["toan_trinh", "mot_phan", "truc_tiep"]
    processing_time: dict[str, ProcessingTimeOut]
    fee: int
    paper_result: bool
    workflow: str
    version: str = Field(description="The catalogue version shown (its since date, or 'origin'): the latest")
    fee_kind: Literal["per_case", "per_page", "exempt", "council"]
    fee_known: bool = Field(description="False: a fee the provincial council sets, amount not known (never free)")


class Bieu06Counts(_Body):
    total: int
    online: int
    direct_postal: int
    carried_over: int
    resolved: int
    resolved_early: int
    resolved_on_time: int
    resolved_late: int
    pending: int
    pending_within: int
    pending_overdue: int


class Bieu06Row(Bieu06Counts):
    field_code: str
    field_name: str


class Bieu06Report(_Body):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: str = Field(alias="from", serialization_alias="from")
    to: str
    rows: list[Bieu06Row]
    total: Bieu06Counts


class IndicatorScore(_Body):
    key: str
    numerator: int
    denominator: int
    value: float | None
    points: float
    max_points: float


class Par766Report(_Body):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: str = Field(alias="from", serialization_alias="from")
    to: str
    rule_set: str
    indicators: list[IndicatorScore]
    total_points: float
    notes: list[str]


class Health(_Body):
    status: Literal["ok"]
    timers_armed: int
    timers_due: int


def dossier_of(case: Case, workflows: WorkflowSet) -> Dossier:
    definition = workflows.get(case.definition_key, case.definition_version).definition
    labels = {region: definition.regions[region].states[name].label
              for region, name in case.state.items() if region in definition.regions}
    procedure, appointment = case.attributes.get("procedure"), case.attributes.get("appointment")
    receiving, deciding = case.attributes.get("receiving_unit"), case.attributes.get("deciding_unit")
    return Dossier(
        code=case.code, workflow=case.definition_key, workflow_version=case.definition_version,
        rule_set=case.rule_set, procedure=procedure if isinstance(procedure, str) else None,
        state=dict(case.state), state_labels=labels,
        status_code=workflows.status_of(case.definition_key, case.definition_version, case.state.get("lifecycle", "")),
        appointment=appointment if isinstance(appointment, str) else None,
        receiving_unit=receiving if isinstance(receiving, str) else None,
        deciding_unit=deciding if isinstance(deciding, str) else None, attributes=dict(case.attributes),
        version=case.version, opened_at=case.opened_at, updated_at=case.updated_at,
    )


def entry_of(entry: AuditEntry) -> HistoryEntry:
    return HistoryEntry(
        sequence=entry.sequence, position=entry.position, occurred_at=entry.occurred_at, actor=entry.actor,
        role=entry.role, trigger=entry.trigger, state_before=dict(entry.state_before),
        state_after=dict(entry.state_after), data=dict(entry.data), changes=dict(entry.changes), reason=entry.reason,
        definition_version=entry.definition_version, rule_set=entry.rule_set, prev_hash=entry.prev_hash,
        hash=entry.hash,
    )
