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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, time, timedelta
from itertools import pairwise
from typing import Annotated, Final, Literal, Protocol, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from motcua.workflow.dossiers.internal_process import ProcessStep, steps_problems
from motcua.workflow.engine.definition import SAFE_INTEGER
from motcua.workflow.errors import InvalidDefinition, NoRuleSetInForce, NotFound, UnknownProcedure, UnknownRuleSet

__all__ = [
    "CHANNELS",
    "ORIGIN_VERSION",
    "RECEIVED_FORMS",
    "REQUIRED_FORMS",
    "SCORED_INDICATORS",
    "Authority",
    "Catalogue",
    "Channel",
    "EscalationStep",
    "FeeEntry",
    "FeeKind",
    "FeedbackRule",
    "FormKey",
    "FormSpec",
    "FullOnlineChange",
    "Government",
    "LegalBasis",
    "Level",
    "Par766",
    "Par766Group",
    "Par766Indicator",
    "Procedure",
    "ProcedureVersion",
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
Government = Literal["central", "province", "district", "commune"]
"""A level of government: the one that decides a procedure, the one whose desk receives it."""
FeeKind = Literal["per_case", "per_page", "exempt", "council"]
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
_FLAT_VERSION_KEYS = ("level", "processing_time", "cutoff", "paper_result")
ORIGIN_VERSION = "origin"
"""The key of a procedure's first version when it is undated (``since: null``: since always in this catalogue)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


PROCESSING_TIME_MAX: Final = 366
"""The longest processing time, in any unit: a year of days (the longest shipped is 60 working days). A typo of a few
digits more ran every reception past the years the calendar holds."""
MONEY_MAX: Final = SAFE_INTEGER  # đồng: exact in the JSON a dossier's attributes are kept in
Days = Annotated[int, Field(ge=0, le=PROCESSING_TIME_MAX)]
"""A count of working days of the law (a limit, a lead time): bounded as a processing time is."""


class ProcessingTime(_Frozen):
    """A legal processing time: ``amount`` units; 0 working days means "within the day"."""

    amount: int = Field(ge=0, le=PROCESSING_TIME_MAX)
    unit: TimeUnit


class FullOnlineChange(_Frozen):
    """From ``since`` on (a Vietnam date), the procedure is, or is no longer, eligible for full-online service
    (đủ điều kiện cung cấp dịch vụ công trực tuyến toàn trình), as ``source`` says."""

    since: date
    eligible: bool
    source: str = Field(min_length=1)


class LegalBasis(_Frozen):
    """A text the procedure rests on (its number in ``text``), signed on ``signed``, and the texts that amended it
    since (``amended_by``, each with its number and date): kept current, so that a reader sees the text in force."""

    text: str = Field(min_length=1)
    signed: date | None = None
    amended_by: tuple[str, ...] = ()


class Authority(_Frozen):
    """The level of government that decides the procedure and the one whose desk receives it, from ``since`` to
    ``until`` (both inclusive; ``None``: open). Many moved from the district to the commune on 1/7/2025."""

    since: date | None = None
    until: date | None = None
    decides: Government
    receives: Government


class ProcedureVersion(_Frozen):
    """The procedure as one text set it, in force from ``since`` (``None``: since always, as far as this catalogue
    knows) until the next version's ``since``: its processing time per channel, the extension the law allows
    (``extension`` in words, or ``extension_working_days``), the cut-off hour, the online level and the eligibility
    for full-online service (``full_online``; unset: eligible exactly when the level is ``toan_trinh``).

    A dossier keeps the version in force at its reception (:attr:`key`, recorded as ``catalogue_version``)."""

    since: date | None = None
    processing_time: dict[Channel, ProcessingTime]
    extension: str | None = Field(default=None, min_length=1)
    extension_working_days: int | None = Field(default=None, ge=1, le=PROCESSING_TIME_MAX)
    cutoff: time | None = None
    level: Level
    full_online: bool | None = None
    paper_result: bool = True
    source: str | None = Field(default=None, min_length=1)

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

    @property
    def key(self) -> str:
        """The version's stable id: the ISO date of ``since``, or :data:`ORIGIN_VERSION` for the first, undated."""
        return self.since.isoformat() if self.since is not None else ORIGIN_VERSION

    @property
    def eligible(self) -> bool:
        """Eligible for full-online service (the population of the Decision 766 online indicator)."""
        return self.full_online if self.full_online is not None else self.level == "toan_trinh"

    def time_for(self, channel: Channel) -> ProcessingTime:
        return self.processing_time[channel]


class FeeEntry(_Frozen):
    """What the applicant pays from ``since`` to ``until`` (both inclusive; ``None``: open), by ``kind``:

    - ``per_case``: ``amount`` đồng per case (per ``per``, e.g. "bản" for a copy);
    - ``per_page``: ``amount`` đồng a page for the first ``first_pages`` pages, ``then`` đồng each page after,
      at most ``cap`` đồng per ``per`` (chứng thực bản sao: 2,000, from page 3 1,000, at most 200,000 a copy);
    - ``exempt``: free by law, ``basis`` naming the article;
    - ``council``: set by the provincial People's Council under ``basis``; ``resolution`` names its resolution when
      known, ``amount`` its amount when known — unknown otherwise, never a silent 0.
    """

    since: date | None = None
    until: date | None = None
    kind: FeeKind
    amount: int | None = Field(default=None, ge=0, le=MONEY_MAX)
    first_pages: int | None = Field(default=None, ge=1)
    then: int | None = Field(default=None, ge=0, le=MONEY_MAX)
    cap: int | None = Field(default=None, ge=1, le=MONEY_MAX)
    per: str | None = Field(default=None, min_length=1)
    basis: str | None = Field(default=None, min_length=1)
    resolution: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _check(self) -> FeeEntry:
        problems = _fee_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def known(self) -> bool:
        """Whether the amount is known: every kind but a council fee whose amount is not given."""
        return self.kind != "council" or self.amount is not None

    @property
    def base(self) -> int:
        """The amount a dossier's ``fee`` carries: per case, or the first page's; 0 when exempt or unknown."""
        return self.amount or 0

    def as_attribute(self) -> dict[str, str | int | None]:
        """The entry as a dossier records it (``fee_schedule``): every key, ``None`` where unset; dates as ISO."""
        data = self.model_dump(mode="json")
        return {key: value for key, value in data.items() if value is None or isinstance(value, str | int)}

    def fee_for(self, pages: int = 1, copies: int = 1) -> int | None:
        """What ``copies`` copies (cases) of ``pages`` pages each cost; ``None`` when the amount is unknown."""
        if pages < 1 or copies < 1:
            raise ValueError("pages and copies count from 1")
        if self.kind == "exempt":
            return 0
        if self.amount is None:
            return None
        if self.kind != "per_page":
            return self.amount * copies
        first = min(pages, self.first_pages or pages)
        one = first * self.amount + (pages - first) * (self.then if self.then is not None else self.amount)
        return (one if self.cap is None else min(one, self.cap)) * copies


def _fee_problems(entry: FeeEntry) -> list[str]:
    """Each kind says what it needs and carries nothing it does not use."""
    optional = ("amount", "first_pages", "then", "cap", "resolution")
    given = {name for name in optional if getattr(entry, name) is not None}
    allowed = {"per_case": {"amount"}, "per_page": {"amount", "first_pages", "then", "cap"},
               "exempt": set(), "council": {"amount", "resolution"}}[entry.kind]
    problems = [f"{name} does not apply to a {entry.kind} fee" for name in sorted(given - allowed)]
    if entry.kind in {"per_case", "per_page"} and entry.amount is None:
        problems.append(f"a {entry.kind} fee needs its amount")
    if entry.kind == "per_page" and (entry.first_pages is None) != (entry.then is None):
        problems.append("a per_page fee gives first_pages and then together (or neither)")
    if entry.kind == "exempt" and entry.basis is None:
        problems.append("an exempt fee needs the article that exempts it (basis)")
    if entry.kind == "council" and entry.basis is None:
        problems.append("a council fee needs the text that lets the council set it (basis)")
    if entry.since is not None and entry.until is not None and entry.until < entry.since:
        problems.append(f"until {entry.until} is before since {entry.since}")
    return problems


class _Dated(Protocol):
    """An entry of a dated schedule (fees, authority)."""

    @property
    def since(self) -> date | None: ...
    @property
    def until(self) -> date | None: ...


def _schedule_problems(name: str, entries: Sequence[_Dated], start: date | None, end: date | None) -> list[str]:
    """Exactly one entry in force on every day from ``start`` to ``end`` (``None``: always, open)."""
    problems = []
    first, last = entries[0], entries[-1]
    if first.since is not None and (start is None or first.since > start):
        problems.append(f"{name}: no entry before {first.since} (the procedure starts {start or 'always'})")
    for index, (earlier, later) in enumerate(pairwise(entries), start=1):
        if later.since is None:
            problems.append(f"{name}.{index}: only the first entry may have since: null")
        elif earlier.until is None or earlier.until >= later.since:
            problems.append(f"{name}.{index}: overlaps the entry before (it runs to {earlier.until or 'open end'})")
        elif earlier.until + timedelta(days=1) < later.since:
            problems.append(f"{name}.{index}: no entry from {earlier.until + timedelta(days=1)} to "
                            f"{later.since - timedelta(days=1)}")
    problems.extend(f"{name}.{index}: until {entry.until} is before since {entry.since}"
                    for index, entry in enumerate(entries)
                    if entry.since is not None and entry.until is not None and entry.until < entry.since)
    if last.until is not None and (end is None or last.until < end):
        problems.append(f"{name}: no entry after {last.until} (the procedure runs to {end or 'open end'})")
    return problems


_T = TypeVar("_T", bound=_Dated)


def _on(entries: Sequence[_T], day: date) -> _T:
    """The entry in force on ``day``; before the first, the first (the catalogue knows none older); after the last,
    the last. The schedule checks guarantee one entry a day in between."""
    for entry in entries:
        if (entry.since is None or entry.since <= day) and (entry.until is None or day <= entry.until):
            return entry
    first = entries[0]
    return first if first.since is not None and day < first.since else entries[-1]


def _from_flat(data: object) -> object:
    """The old flat shape (``level``, ``processing_time``, ``cutoff``, ``paper_result``, ``valid_from``, ``fee``)
    as one version and one fee entry: older files and tests keep working. A flat ``fee`` becomes a per-case fee
    without basis (the loader refuses a silent 0 in shipped files). The two shapes do not mix."""
    if not isinstance(data, dict):
        return data
    flat = [key for key in (*_FLAT_VERSION_KEYS, "valid_from") if key in data]
    out = dict(data)
    if "versions" in data:
        if flat:
            raise ValueError(f"{', '.join(flat)}: give these in 'versions' (the flat shape and versions do not mix)")
    else:
        version = {key: out.pop(key) for key in _FLAT_VERSION_KEYS if key in out}
        version["since"] = out.pop("valid_from", None)
        out["versions"] = [version]
    if "fee" in out:
        if "fees" in out:
            raise ValueError("fee: give the amount in 'fees' (a flat fee and a schedule do not mix)")
        out["fees"] = [{"kind": "per_case", "amount": out.pop("fee")}]
    elif "fees" not in out:
        out["fees"] = [{"kind": "per_case", "amount": 0}]
    return out


class Procedure(_Frozen):
    """One administrative procedure as published in the national database (CSDLQG về TTHC), dated.

    ``versions`` (ordered by ``since``) hold what changes with the texts: the processing time, the online level,
    full-online eligibility; ``fees`` is the fee schedule (exactly one :class:`FeeEntry` on any day of the
    procedure's life); ``authority`` who decides and who receives, dated; ``legal_bases`` the texts, kept current.
    ``level``, ``processing_time``, ``cutoff``, ``paper_result`` and ``fee`` read the latest version and fee entry
    (as published now); a dossier reads the version in force at its reception (:meth:`version_on`).

    ``full_online`` (the old flat shape's dated history of eligibility) overrides the versions' eligibility: the
    procedure is eligible on a day when the latest change on or before that day says so (not before the first
    change), and the latest change must agree with ``level``.

    ``steps`` is the province's internal process (:mod:`motcua.workflow.dossiers.internal_process`), checked against
    the latest version's direct legal time; without steps a dossier is judged by its appointment alone.
    """

    code: str = Field(pattern=_CODE_PATTERN)
    name: str = Field(min_length=1)
    field_code: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    field_name: str = Field(min_length=1)
    confirmed: bool = False
    workflow: str = Field(default="tthc-dossier", min_length=1)
    source: str = Field(min_length=1)
    legal_bases: tuple[LegalBasis, ...] = ()
    authority: tuple[Authority, ...] = ()
    versions: tuple[ProcedureVersion, ...]
    fees: tuple[FeeEntry, ...]
    valid_to: date | None = None
    full_online: tuple[FullOnlineChange, ...] = ()
    supplement_request_within_working_days: Days | None = None  # sector law, else the rule set's
    steps: tuple[ProcessStep, ...] = ()  # the province's internal process; none: no per-step judgement
    steps_source: str | None = Field(default=None, min_length=1)  # the decision that approved the steps

    @model_validator(mode="before")
    @classmethod
    def _flat_shape(cls, data: object) -> object:
        return _from_flat(data)

    @field_validator("versions", "fees")
    @classmethod
    def _not_empty(cls, value: tuple[object, ...]) -> tuple[object, ...]:
        if not value:
            raise ValueError("at least one entry is required")
        return value

    @model_validator(mode="after")
    def _check_validity(self) -> Procedure:
        problems = _version_problems(self)
        problems.extend(_schedule_problems("fees", self.fees, self.valid_from, self.valid_to))
        if self.authority:
            problems.extend(_schedule_problems("authority", self.authority, self.valid_from, self.valid_to))
        problems.extend(_full_online_problems(self))
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

    @property
    def current(self) -> ProcedureVersion:
        """The latest version (as published now)."""
        return self.versions[-1]

    @property
    def level(self) -> Level:
        return self.current.level

    @property
    def processing_time(self) -> dict[Channel, ProcessingTime]:
        return self.current.processing_time

    @property
    def cutoff(self) -> time | None:
        return self.current.cutoff

    @property
    def paper_result(self) -> bool:
        return self.current.paper_result

    @property
    def fee(self) -> int:
        """The latest fee entry's base amount (:attr:`FeeEntry.base`)."""
        return self.fees[-1].base

    @property
    def valid_from(self) -> date | None:
        return self.versions[0].since

    def time_for(self, channel: Channel) -> ProcessingTime:
        return self.current.time_for(channel)

    def valid_on(self, day: date) -> bool:
        after_start = self.valid_from is None or self.valid_from <= day
        return after_start and (self.valid_to is None or day <= self.valid_to)

    def version_on(self, day: date) -> ProcedureVersion:
        """The version in force on ``day`` (a dossier's: the Vietnam date of its reception). Before the first
        version, the first: the catalogue knows none older (:meth:`valid_on` says whether the procedure existed)."""
        in_force = [version for version in self.versions if version.since is None or version.since <= day]
        return in_force[-1] if in_force else self.versions[0]

    def version(self, key: str) -> ProcedureVersion:
        """The version whose :attr:`ProcedureVersion.key` is ``key`` (as a dossier recorded it)."""
        for version in self.versions:
            if version.key == key:
                return version
        raise NotFound("catalogue version", f"procedure {self.code} has no version {key!r}")

    def fee_on(self, day: date) -> FeeEntry:
        """The fee entry in force on ``day`` (outside the procedure's life, the nearest)."""
        return _on(self.fees, day)

    def authority_on(self, day: date) -> Authority | None:
        """Who decides and receives on ``day``; ``None`` when the catalogue does not say."""
        return _on(self.authority, day) if self.authority else None

    def full_online_on(self, day: date) -> bool:
        """Eligible for full-online service on ``day`` (a dossier is judged on the Vietnam date of its reception)."""
        if not self.full_online:
            return (self.valid_from is None or self.valid_from <= day) and self.version_on(day).eligible
        in_force = [change for change in self.full_online if change.since <= day]
        return in_force[-1].eligible if in_force else False


def _version_problems(procedure: Procedure) -> list[str]:
    problems = []
    days = [version.since for version in procedure.versions]
    if any(day is None for day in days[1:]):
        problems.append("versions: only the first version may have since: null")
    dated = [day for day in days if day is not None]
    if dated != sorted(set(dated)):
        problems.append(f"versions: since must strictly increase, got {[d.isoformat() for d in dated]}")
    start, end = procedure.valid_from, procedure.valid_to
    if end is not None and dated and dated[-1] > end:
        problems.append(f"versions: the version of {dated[-1]} starts after valid_to {end}")
    elif start is not None and end is not None and end < start:
        problems.append(f"valid_to {end} is before valid_from {start}")
    return problems


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

    def version_on(self, code: str, day: date) -> ProcedureVersion:
        """The version of procedure ``code`` in force on ``day`` (:meth:`Procedure.version_on`)."""
        return self.get(code).version_on(day)

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
    within_working_days: Days
    source: str = Field(min_length=1)


class FeedbackRule(_Frozen):
    """The time limits of citizens' feedback (phản ánh, kiến nghị, the ``pakn`` workflow): classified and assigned
    (or transferred) within ``classify_within_working_days`` of reception, answered within
    ``answer_within_working_days`` of reception, extended at most ``extensions`` time(s) by at most
    ``extension_max_working_days``; ``source``, the text a refusal names (docs/explanation/one-stop-shop.md)."""

    classify_within_working_days: Days
    answer_within_working_days: Annotated[Days, Field(ge=1)]
    extension_max_working_days: Days
    extensions: int = Field(ge=0)
    source: str = Field(min_length=1)


class EscalationStep(_Frozen):
    """Notify ``notify_role`` when the appointment is ``after_working_days`` away (negative: before)."""

    after_working_days: int = Field(ge=-PROCESSING_TIME_MAX, le=PROCESSING_TIME_MAX)
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


SCORED_INDICATORS: Final = ("progress", "online_share", "e_result", "digitised_dossiers", "handling_satisfaction",
                             "online_payment", "dossier_sync", "petition_on_time", "petition_satisfaction")
"""The indicators the Decision 766 scorecard scores (:mod:`motcua.workflow.reports.par766`): every rule set gives
their points and thresholds."""


def _par766_problems(par: Par766) -> list[str]:
    problems = [
        f"indicator {i.key!r} names unknown group {i.group!r}" for i in par.indicators if i.group not in par.groups
    ]
    if lacking := [key for key in SCORED_INDICATORS if key not in {i.key for i in par.indicators}]:
        problems.append(f"the reports score indicators this rule set lacks: {', '.join(lacking)}")
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
    apology_lead_working_days: Days
    due_soon_working_days: Days
    # warn a step's holder this early
    step_warning_working_hours: float = Field(ge=0, le=PROCESSING_TIME_MAX, allow_inf_nan=False)
    escalation: tuple[EscalationStep, ...] = Field(min_length=1)
    redating: RedatingRule
    supplement_requests: SupplementRule
    feedback: FeedbackRule
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
