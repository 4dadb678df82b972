"""The catalogue of administrative procedures and the versioned rule sets, as frozen typed models.

A :class:`Procedure` is one thủ tục hành chính with its national code (mã TTHC), its field
(lĩnh vực), its online level, its legal processing time per reception channel and its fee. A
:class:`RuleSet` holds the legal parameters of one legal frame (forms, deadline rules, escalation,
the Decision 766 points); a :class:`RuleBook` answers which rule set is in force on a day.

This module only describes and checks; reading files is the job of ``motcua.definitions.catalogue``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, time, timedelta
from itertools import pairwise
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from motcua.workflow.dossiers.internal_process import ProcessStep, steps_problems
from motcua.workflow.errors import InvalidDefinition, NoRuleSetInForce, NotFound, UnknownProcedure, UnknownRuleSet

__all__ = [
    "CHANNELS",
    "RECEIVED_FORMS",
    "REQUIRED_FORMS",
    "Catalogue",
    "Channel",
    "EscalationStep",
    "FormKey",
    "FormSpec",
    "FullOnlineChange",
    "Level",
    "Par766",
    "Par766Group",
    "Par766Indicator",
    "Procedure",
    "ProcessingTime",
    "RedatingRule",
    "RuleBook",
    "RuleSet",
    "SupplementRule",
    "TimeUnit",
    "WithdrawalRule",
    "check_continuity",
    "check_field_names",
]

Channel = Literal["direct", "online", "postal"]
Level = Literal["toan_trinh", "mot_phan", "truc_tiep"]
TimeUnit = Literal["working_days", "working_hours", "calendar_days"]
FormKey = Literal[
    "receipt",  # the desk receives the dossier (receive)
    "supplement_request",  # guidance before reception (request_completion), a supplement asked (request_supplement)
    "refusal",  # the desk refuses to receive it (refuse)
    "apology",  # the leader apologises for a late result (apologize)
    "withdrawal_request",  # the applicant asks to withdraw (request_withdrawal): a paper the desk receives
    "withdrawal_notice",  # the desk confirms the withdrawal, processing stopped on request (confirm_withdrawal)
    "stop_notice",  # the agency stops processing of its own decision (stop)
    "control_sheet",  # the process control sheet the system keeps (motcua control-sheet)
    "tracking_book",  # the register of dossiers received (motcua report book)
]
"""Every act of the dossier workflow that issues or receives a paper: each rule set maps each of them to its form
(a :class:`FormSpec`, whose number is ``None`` when the rule set's circular prescribes no form for that act)."""
Role = Literal["officer", "leader", "chairman"]

CHANNELS: tuple[Channel, ...] = ("direct", "online", "postal")
REQUIRED_FORMS: tuple[FormKey, ...] = get_args(FormKey)
"""Every act: a rule set must say, for each, which form it uses or that it has none."""
RECEIVED_FORMS: frozenset[FormKey] = frozenset({"withdrawal_request"})
"""The acts whose paper the desk receives from the applicant; every other act's paper is issued by the agency."""
_CODE_PATTERN = r"^\d\.\d{6}$"
_HHMM = re.compile(r"^(\d{2}):(\d{2})$")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProcessingTime(_Frozen):
    """A legal processing time: ``amount`` units; 0 working days means "within the day"."""

    amount: int = Field(ge=0)
    unit: TimeUnit


class FullOnlineChange(_Frozen):
    """From ``since`` on (a Vietnam date), the procedure is, or is no longer, eligible for full-online service
    (đủ điều kiện cung cấp dịch vụ công trực tuyến toàn trình), as ``source`` says."""

    since: date
    eligible: bool
    source: str = Field(min_length=1)


class Procedure(_Frozen):
    """One administrative procedure as published in the national database (CSDLQG về TTHC).

    ``level`` is the online level published now. ``full_online`` is the dated history of its eligibility for
    full-online service, the population of the Decision 766 online indicator; without one, the procedure is
    eligible exactly when its level is ``toan_trinh``, from ``valid_from`` (every day when unset). With one, it is
    eligible on a day when the latest change on or before that day says so (not before the first change), and the
    latest change must agree with ``level``.

    ``steps`` is the province's internal process (:mod:`motcua.workflow.dossiers.internal_process`), checked against
    the direct channel's legal time; without steps a dossier is judged by its appointment alone.
    """

    code: str = Field(pattern=_CODE_PATTERN)
    name: str = Field(min_length=1)
    field_code: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    field_name: str = Field(min_length=1)
    level: Level
    processing_time: dict[Channel, ProcessingTime]
    cutoff: time | None = None
    fee: int = Field(default=0, ge=0)
    paper_result: bool = True
    workflow: str = Field(default="tthc-dossier", min_length=1)
    source: str = Field(min_length=1)
    valid_from: date | None = None
    valid_to: date | None = None
    full_online: tuple[FullOnlineChange, ...] = ()
    supplement_request_within_working_days: int | None = Field(default=None, ge=0)  # sector law, else the rule set's
    steps: tuple[ProcessStep, ...] = ()  # the province's internal process; none: no per-step judgement
    steps_source: str | None = Field(default=None, min_length=1)  # the decision that approved the steps

    @field_validator("processing_time")
    @classmethod
    def _fill_channels(cls, value: dict[Channel, ProcessingTime]) -> dict[Channel, ProcessingTime]:
        if "direct" not in value:
            raise ValueError("the 'direct' channel is required")
        return {channel: value.get(channel, value["direct"]) for channel in CHANNELS}

    @field_validator("cutoff", mode="before")
    @classmethod
    def _parse_cutoff(cls, value: object) -> object:
        if value is None or isinstance(value, time):
            return value
        if not isinstance(value, str):
            raise ValueError(f"cutoff must be a quoted 'HH:MM' string, got {value!r}")
        return _parse_hhmm(value)

    @model_validator(mode="after")
    def _check_validity(self) -> Procedure:
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError(f"valid_to {self.valid_to} is before valid_from {self.valid_from}")
        problems = _full_online_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _check_steps(self) -> Procedure:
        legal = self.processing_time["direct"]
        problems = steps_problems(self.steps, self.steps_source, legal.amount, legal.unit)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def time_for(self, channel: Channel) -> ProcessingTime:
        return self.processing_time[channel]

    def valid_on(self, day: date) -> bool:
        after_start = self.valid_from is None or self.valid_from <= day
        return after_start and (self.valid_to is None or day <= self.valid_to)

    def full_online_on(self, day: date) -> bool:
        """Eligible for full-online service on ``day`` (a dossier is judged on the Vietnam date of its reception)."""
        if not self.full_online:
            return self.level == "toan_trinh" and (self.valid_from is None or self.valid_from <= day)
        in_force = [change for change in self.full_online if change.since <= day]
        return in_force[-1].eligible if in_force else False


def _full_online_problems(procedure: Procedure) -> list[str]:
    """The history of eligibility: dated in strictly increasing order, each change a change, the latest one
    agreeing with the level published now, none before the procedure's validity starts."""
    history = procedure.full_online
    if not history:
        return []
    days = [change.since for change in history]
    problems = []
    if days != sorted(set(days)):
        problems.append(f"full_online: the dates must strictly increase, got {[d.isoformat() for d in days]}")
    problems.extend(
        f"full_online: the change of {later.since} repeats eligible: {str(later.eligible).lower()}"
        for earlier, later in pairwise(history) if earlier.eligible == later.eligible
    )
    latest, full = history[-1], procedure.level == "toan_trinh"
    if latest.eligible != full:
        problems.append(
            f"full_online: the latest change ({latest.since}) says eligible: {str(latest.eligible).lower()} "
            f"but level is {procedure.level!r} (eligible exactly when level is 'toan_trinh')"
        )
    if procedure.valid_from is not None and days[0] < procedure.valid_from:
        problems.append(f"full_online: the change of {days[0]} is before valid_from {procedure.valid_from}")
    return problems


def _parse_hhmm(text: str) -> time:
    match = _HHMM.match(text)
    if match is None:
        raise ValueError(f"cutoff must be 'HH:MM', got {text!r}")
    try:
        return time(int(match[1]), int(match[2]))
    except ValueError:
        raise ValueError(f"cutoff {text!r} is not a time of day") from None


class Catalogue:
    """The procedures an office handles, by national code."""

    def __init__(self, procedures: Iterable[Procedure]) -> None:
        self._by_code: dict[str, Procedure] = {}
        problems = []
        for procedure in procedures:
            if procedure.code in self._by_code:
                problems.append(f"procedure {procedure.code}: duplicate code")
            self._by_code[procedure.code] = procedure
        problems.extend(check_field_names(self._by_code.values()))
        if problems:
            raise InvalidDefinition("catalogue", problems)

    def get(self, code: str) -> Procedure:
        try:
            return self._by_code[code]
        except KeyError:
            raise UnknownProcedure(code) from None

    def full_online_eligible(self, code: str, day: date) -> bool:
        """Whether procedure ``code`` was eligible for full-online service on ``day``; ``False`` for a code the
        catalogue does not list (an imported dossier of another office's procedure)."""
        procedure = self._by_code.get(code)
        return procedure is not None and procedure.full_online_on(day)

    def by_field(self, field_code: str) -> tuple[Procedure, ...]:
        return tuple(p for p in self if p.field_code == field_code)

    def fields(self) -> dict[str, str]:
        """Field code → field name, ordered by code (the row order of Biểu 06)."""
        names = {p.field_code: p.field_name for p in self}
        return {code: names[code] for code in sorted(names)}

    def __iter__(self) -> Iterator[Procedure]:
        return iter(sorted(self._by_code.values(), key=lambda p: (p.field_code, p.code)))

    def __len__(self) -> int:
        return len(self._by_code)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code


def check_field_names(procedures: Iterable[Procedure]) -> list[str]:
    """One field code must carry one field name everywhere."""
    seen: dict[str, Procedure] = {}
    problems = []
    for procedure in procedures:
        first = seen.setdefault(procedure.field_code, procedure)
        if first.field_name != procedure.field_name:
            problems.append(
                f"procedure {procedure.code}: field_code {procedure.field_code!r} is named "
                f"{procedure.field_name!r} but {first.field_name!r} in procedure {first.code}"
            )
    return problems


class FormSpec(_Frozen):
    """The paper of one act under one rule set: the circular's form ``number`` and ``name``, or ``number: null``
    when the circular prescribes no form for the act; ``name`` then names the paper and ``note`` says why."""

    number: str | None = Field(pattern=r"^\d{2}$")  # required, even when null: no act falls back to another form
    name: str = Field(min_length=1)
    note: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _explain_no_form(self) -> FormSpec:
        if self.number is None and self.note is None:
            raise ValueError("a paper without a form number needs a note saying why")
        return self


class WithdrawalRule(_Frozen):
    """When the applicant may withdraw a dossier: ``after_decision`` false, only while no decision (the result the
    leader signed) is issued; ``source``, the text the refusal names."""

    after_decision: bool
    source: str = Field(min_length=1)


class RedatingRule(_Frozen):
    """How many apology letters of a dossier may fix a new date for its result (hẹn lại ngày trả kết quả):
    ``allowed``, counted over the letters that carry one; ``source``, the text a refusal names. A letter without a
    new date is never limited."""

    allowed: int = Field(ge=0)
    source: str = Field(min_length=1)


class SupplementRule(_Frozen):
    """How many written requests to supplement a received dossier are allowed (``allowed``; a leader's
    authorisation lets one more through), and within how many working days of reception the first one is due
    (``within_working_days``, unless the procedure's sector law says otherwise:
    :attr:`Procedure.supplement_request_within_working_days`); ``source``, the text a refusal names."""

    allowed: int = Field(ge=1)
    within_working_days: int = Field(ge=0)
    source: str = Field(min_length=1)


class EscalationStep(_Frozen):
    """Notify ``notify_role`` when the appointment is ``after_working_days`` away (negative: before)."""

    after_working_days: int
    notify_role: Role
    label: str = Field(min_length=1)


class Par766Group(_Frozen):
    label: str = Field(min_length=1)
    max_points: float = Field(gt=0)


class Par766Indicator(_Frozen):
    """One scored indicator; full points at ``full_at_percent``, proportional below it."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    group: str
    label: str = Field(min_length=1)
    max_points: float = Field(ge=0)
    full_at_percent: float = Field(default=100, gt=0, le=100)
    from_dossiers: bool = False
    formula: str = Field(min_length=1)


class Par766(_Frozen):
    """Points and thresholds of the Decision 766/QĐ-TTg service-quality index."""

    decision: str = Field(min_length=1)
    total_points: float = Field(gt=0)
    groups: dict[str, Par766Group]
    indicators: tuple[Par766Indicator, ...]

    @model_validator(mode="after")
    def _check_points(self) -> Par766:
        problems = _par766_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def indicator(self, key: str) -> Par766Indicator:
        for indicator in self.indicators:
            if indicator.key == key:
                return indicator
        raise NotFound("indicator", f"no Decision 766 indicator {key!r} in this rule set")


def _par766_problems(par: Par766) -> list[str]:
    problems = [
        f"indicator {i.key!r} names unknown group {i.group!r}" for i in par.indicators if i.group not in par.groups
    ]
    keys = [i.key for i in par.indicators]
    problems.extend(f"indicator {key!r} is listed twice" for key in sorted({k for k in keys if keys.count(k) > 1}))
    for name, group in par.groups.items():
        points = sum(i.max_points for i in par.indicators if i.group == name)
        if not math.isclose(points, group.max_points):
            problems.append(f"group {name!r}: indicators add up to {points:g}, not {group.max_points:g}")
    total = sum(g.max_points for g in par.groups.values())
    if not math.isclose(total, par.total_points):
        problems.append(f"groups add up to {total:g}, not total_points {par.total_points:g}")
    return problems


class RuleSet(_Frozen):
    """The legal parameters of one legal frame, in force from ``effective_from`` to ``effective_to``
    (both inclusive; ``None`` = open-ended)."""

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str = Field(min_length=1)
    legal_basis: tuple[str, ...] = Field(min_length=1)
    effective_from: date
    effective_to: date | None = None
    forms: dict[FormKey, FormSpec]
    withdrawal: WithdrawalRule
    apology_lead_working_days: int = Field(ge=0)
    due_soon_working_days: int = Field(ge=0)
    step_warning_working_hours: float = Field(ge=0, allow_inf_nan=False)  # warn a step's holder this early
    escalation: tuple[EscalationStep, ...] = Field(min_length=1)
    redating: RedatingRule
    supplement_requests: SupplementRule
    par766: Par766

    @model_validator(mode="after")
    def _check(self) -> RuleSet:
        problems = _rule_set_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def form(self, key: FormKey) -> FormSpec:
        return self.forms[key]

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


def _rule_set_problems(rules: RuleSet) -> list[str]:
    problems = [
        f"forms: missing {key!r} (every act names its form, or number: null with a note)"
        for key in REQUIRED_FORMS if key not in rules.forms
    ]
    names: dict[str, set[str]] = {}
    for spec in rules.forms.values():
        if spec.number is not None:
            names.setdefault(spec.number, set()).add(spec.name)
    problems.extend(
        f"forms: number {number} is given two names: {' / '.join(sorted(named))}"
        for number, named in sorted(names.items()) if len(named) > 1
    )
    offsets = [step.after_working_days for step in rules.escalation]
    if offsets != sorted(set(offsets)):
        problems.append(f"escalation: after_working_days must strictly increase, got {offsets}")
    if rules.effective_to is not None and rules.effective_to < rules.effective_from:
        problems.append(f"effective_to {rules.effective_to} is before effective_from {rules.effective_from}")
    return problems


def check_continuity(rule_sets: Iterable[RuleSet]) -> list[str]:
    """Rule sets must not share keys, overlap, or leave a gap between consecutive ranges."""
    ordered = sorted(rule_sets, key=lambda r: r.effective_from)
    keys = [r.key for r in ordered]
    problems = [f"rule set {key!r} is defined twice" for key in sorted({k for k in keys if keys.count(k) > 1})]
    for earlier, later in pairwise(ordered):
        if earlier.effective_to is None or earlier.effective_to >= later.effective_from:
            problems.append(
                f"rule sets {earlier.key!r} and {later.key!r} overlap: {earlier.key!r} runs to "
                f"{earlier.effective_to or 'open end'}, {later.key!r} starts {later.effective_from}"
            )
        elif earlier.effective_to + timedelta(days=1) < later.effective_from:
            problems.append(
                f"rule sets {earlier.key!r} and {later.key!r} leave a gap: {earlier.key!r} ends "
                f"{earlier.effective_to}, {later.key!r} starts {later.effective_from}"
            )
    return problems


class RuleBook:
    """All rule sets, contiguous in time; a dossier keeps the one in force at its reception."""

    def __init__(self, rule_sets: Iterable[RuleSet]) -> None:
        ordered = tuple(sorted(rule_sets, key=lambda r: r.effective_from))
        problems = check_continuity(ordered)
        if problems:
            raise InvalidDefinition("rule book", problems)
        self._ordered = ordered
        self._by_key: Mapping[str, RuleSet] = {r.key: r for r in ordered}

    def get(self, key: str) -> RuleSet:
        try:
            return self._by_key[key]
        except KeyError:
            raise UnknownRuleSet(key) from None

    def in_force(self, at: date) -> RuleSet:
        for rules in self._ordered:
            if rules.covers(at):
                return rules
        raise NoRuleSetInForce(at)

    def __iter__(self) -> Iterator[RuleSet]:
        return iter(self._ordered)

    def __len__(self) -> int:
        return len(self._ordered)
