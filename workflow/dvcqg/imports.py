"""DVCQG dossier records imported as motcua dossiers: decisions, like the engine's (one-stop-shop.md, the national
portal).

:meth:`DvcqgImport.read` validates a portal record (:mod:`motcua.workflow.dvcqg.records`) and checks that a rule set
was in force at its reception. :meth:`DvcqgImport.decide` turns it into the
:class:`~motcua.workflow.engine.decisions.Decision` that creates or updates the dossier: one audit entry with trigger
``import`` (actor ``dvcqg-import``, role ``system``), sealed and chained like any other, whose
``changes`` carry what :func:`motcua.workflow.reports.projection.fold` reads, so the reports see an imported dossier as
they see a native one: R = ``NgayTiepNhan``, E = ``NgayKetThucXuLy`` when ``TrangThaiHoSo`` is 7–10,
A = the last ``NgayHenTraMoi`` of ``DanhSachHoSoBoSung`` where one is given, else ``NgayHenTra``.

The dossier is ``tthc-dossier`` (latest version at the first import, then pinned), its code is
``MaHoSo`` (NFC, trimmed), its rule set the one in force on the day of R (of the import, when there is no R).
Re-importing an unchanged record decides nothing; a changed one decides one new entry. What counts
is what the dossier holds, not the clock: the deadline region (on time / overdue, judged at the
import) is recomputed only when the record changed. Imported dossiers arm no timers and release no
effects: the portal, not motcua, runs their clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, time, timedelta
from typing import Final

from motcua.workflow.dossiers.catalogue import Catalogue, RuleBook
from motcua.workflow.dvcqg.records import (
    CHANNEL_NAMES,
    NOT_RECEIVED_STATUSES,
    PAUSED_STATUSES,
    PAYMENT_CHANNELS,
    DvcqgRecord,
    parse_record,
    portal_text,
    vietnam_date,
)
from motcua.workflow.engine.audit import sealed
from motcua.workflow.engine.clock import VN_TZ, text, to_vietnam_time
from motcua.workflow.engine.compiled import WorkflowSet
from motcua.workflow.engine.decisions import Decision
from motcua.workflow.engine.definition import WorkflowDefinition
from motcua.workflow.engine.model import GENESIS_HASH, Case, JsonValue
from motcua.workflow.errors import (
    DossierNotImported,
    InvalidDefinition,
    InvalidInput,
    NoRuleSetInForce,
    Problem,
    RecordRefused,
)
from motcua.workflow.units.directory import UnitDirectory
from motcua.workflow.worktime.hours import Timeliness, classify

__all__ = [
    "DOSSIER_WORKFLOW",
    "IMPORT_ACTOR",
    "IMPORT_ROLE",
    "IMPORT_TRIGGER",
    "LIFECYCLE_OF_STATUS",
    "SOURCE",
    "DvcqgImport",
    "check_dossier_workflow",
    "imported",
]

IMPORT_TRIGGER: Final = "import"
IMPORT_ACTOR: Final = "dvcqg-import"
IMPORT_ROLE: Final = "system"
SOURCE: Final = "DVCQG"
DOSSIER_WORKFLOW: Final = "tthc-dossier"
LIFECYCLE_OF_STATUS: Final[Mapping[int, str]] = {
    1: "submitted", 2: "received", 3: "refused", 4: "processing", 5: "supplement_requested",
    6: "awaiting_payment", 7: "withdrawn", 8: "stopped", 9: "result_ready", 10: "returned",
}
_APPLICANT_KINDS: Final = {1: "citizen", 2: "business", 3: "agency", 4: "other"}  # LoaiDoiTuong
_NEEDED_STATES: Final = {"deadline": ("on_time", "overdue"), "records": ("paper", "digitized", "result_digitized")}


# -- decisions ---------------------------------------------------------------------------------


def imported(case: Case) -> bool:
    """Whether ``case`` is a dossier imported from the portal (its import's decision marks it): read-only to people
    (:class:`~motcua.workflow.errors.ImportedDossier`)."""
    return case.attributes.get("imported") is True


def check_dossier_workflow(definition: WorkflowDefinition) -> None:
    """The states an import lands in must exist in the dossier workflow, with the portal's codes."""
    regions = definition.regions
    problems = []
    lifecycle = regions.get("lifecycle")
    for status, name in LIFECYCLE_OF_STATUS.items():
        spec = lifecycle.states.get(name) if lifecycle else None
        if spec is None or spec.status_code != status:
            problems.append(f"lifecycle state {name!r} with status_code {status} is needed by the DVCQG import")
    for region, names in _NEEDED_STATES.items():
        declared = regions[region].states if region in regions else {}
        problems.extend(f"{region} state {name!r} is needed by the DVCQG import" for name in names
                        if name not in declared)
    if problems:
        raise InvalidDefinition(definition.ref, problems)


class DvcqgImport:
    """Reads portal records and decides what each one changes; writes nothing."""

    def __init__(self, workflows: WorkflowSet, rules: RuleBook, catalogue: Catalogue,
                 units: UnitDirectory | None = None) -> None:
        """``units``: the deployment's units; a record's ``DonViXuLy`` that is one of them becomes the dossier's
        receiving and deciding unit (``None``: no record gives a unit)."""
        self.workflows = workflows
        self.definition = workflows.latest(DOSSIER_WORKFLOW).definition
        check_dossier_workflow(self.definition)
        self.rules = rules
        self.catalogue = catalogue
        self.units = units

    def _units(self, record: DvcqgRecord, at: datetime) -> dict[str, JsonValue]:
        """The dossier's units, from the record's ``DonViXuLy`` when it is a unit of the deployment in force on the
        day of reception (of the import, when the record gives none), as a desk receiving it then would have; none
        otherwise (the dossier then belongs to no unit: the province's reports count it, no unit's does). Read for a
        dossier without units only: once it has them, they move by motcua's own decisions (a merger's), never back."""
        agency = record.agency
        if agency is None or self.units is None or not self.units.holds(agency):
            return {}
        try:
            unit = self.units.in_force("DonViXuLy", agency, vietnam_date(record.received_at or at))
        except InvalidInput:  # a unit that had ended (or not begun) that day
            return {}
        return {"receiving_unit": unit, "deciding_unit": unit}

    def read(self, raw: object, index: int, at: datetime) -> DvcqgRecord:
        """The validated record, or :class:`RecordRefused` naming every problem found. ``at`` is the instant of the
        import: what the record says happened (R, E, the return, a supplement asked or supplied) happened by its day."""
        record = parse_record(raw, index)
        problems = _after(record, at)
        if record.received_at is not None:
            try:
                self.rules.in_force(vietnam_date(record.received_at))
            except NoRuleSetInForce as error:
                problems.append(Problem("NgayTiepNhan", str(error)))
        if problems:
            raise RecordRefused(index, record.code, problems)
        return record

    def decide(self, record: DvcqgRecord, current: Case | None, at: datetime) -> Decision | None:
        """The decision that brings the dossier to what the record says, or ``None`` if it already is.

        ``at`` is the instant of the import (the entries' time; overdue is judged against it).
        """
        if current is None:
            return self._first(record, at)
        if current.attributes.get("source") != SOURCE or current.definition_key != DOSSIER_WORKFLOW:
            raise DossierNotImported(record.code)
        attributes = _attributes(record, self._procedure(record), at, current.attributes)
        changes = {k: attributes.get(k) for k in _OWNED if current.attributes.get(k) != attributes.get(k)}
        if "deciding_unit" not in current.attributes:
            changes |= self._units(record, at)
        state = _state(record, at)
        same_state = all(current.state.get(r) == state[r] for r in ("lifecycle", "records"))
        if not changes and same_state:
            return None
        return _decision(current, record, state, attributes={**current.attributes, **changes}, changes=changes, at=at,
                         index_of=self.workflows.index_of)

    def _first(self, record: DvcqgRecord, at: datetime) -> Decision:
        rule_set = self.rules.in_force(vietnam_date(record.received_at or at)).key
        attributes = _attributes(record, self._procedure(record), at, {}) | self._units(record, at)
        case = Case(
            code=record.code, definition_key=self.definition.key, definition_version=self.definition.version,
            rule_set=rule_set, state={}, attributes={}, version=0, head_hash=GENESIS_HASH, opened_at=at, updated_at=at,
        )
        return _decision(case, record, _state(record, at), attributes=attributes, changes=attributes, at=at,
                         index_of=self.workflows.index_of)

    def _procedure(self, record: DvcqgRecord) -> dict[str, JsonValue]:
        """What the catalogue knows of the procedure, when it lists it: its version and fee in force on the record's
        reception day (the latest when the record gives none)."""
        if record.procedure_code not in self.catalogue:
            return {}
        procedure = self.catalogue.get(record.procedure_code)
        if record.received_at is None:
            return {"name": procedure.name, "paper_result": procedure.paper_result, "fee": procedure.fee}
        day = to_vietnam_time(record.received_at).date()
        version, fee = procedure.version_on(day), procedure.fee_on(day)
        return {"name": procedure.name, "paper_result": version.paper_result, "fee": fee.base}


CLOCK_AHEAD: Final = timedelta(hours=1)
"""How far past the import's instant a date of a thing done is still read: the portal's clock may run ahead of
motcua's, across midnight too (a record stamped 00:02 read at 23:58)."""


def _after(record: DvcqgRecord, at: datetime) -> list[Problem]:
    """The dates of things done that fall after the import at ``at`` (the appointments are promises: any day): after
    the end of its Vietnam day and more than :data:`CLOCK_AHEAD` after it. A date later the same day is read."""
    day = vietnam_date(at)
    latest = max(datetime.combine(day, time.max, tzinfo=VN_TZ), to_vietnam_time(at) + CLOCK_AHEAD)
    done: list[tuple[str, datetime | None]] = [
        ("NgayTiepNhan", record.received_at), ("NgayKetThucXuLy", record.ended_at), ("NgayTra", record.returned_at)]
    for number, item in enumerate(record.supplements):
        done += [(f"DanhSachHoSoBoSung[{number}].NgayBoSung", item.requested_at),
                 (f"DanhSachHoSoBoSung[{number}].NgayTiepNhanBoSung", item.supplied_at)]
    return [Problem(name, f"{portal_text(moment)} is after the day of the import, {day.strftime('%d/%m/%Y')} (and "
                          "more than an hour after the import itself)")
            for name, moment in done if moment is not None and to_vietnam_time(moment) > latest]


# every attribute an import may set: a key the new record no longer gives is set to None
_OWNED: Final = (
    "procedure", "procedure_name", "channel", "applicant_name", "applicant_kind", "phone", "email", "summary",
    "field_code", "field_name", "paper_result", "fee", "received_at", "appointment", "appointment_history",
    "ended_at", "end_state", "paused_at", "returned_at", "paid_online", "electronic_results", "dvcqg_status",
    "imported", "source", "supplement_requests", "component_files", "electronic_result_links", "payment_channel",
    "resumed_at",
)


def _attributes(
    record: DvcqgRecord, known: Mapping[str, JsonValue], at: datetime, current: Mapping[str, JsonValue]
) -> dict[str, JsonValue]:
    due = record.due
    values: dict[str, JsonValue] = {
        "procedure": record.procedure_code, "procedure_name": record.procedure_name or known.get("name"),
        "channel": CHANNEL_NAMES.get(record.channel) if record.channel else None,
        "applicant_name": record.applicant, "phone": record.phone, "email": record.email, "summary": record.summary,
        "applicant_kind": _APPLICANT_KINDS.get(record.applicant_kind) if record.applicant_kind else None,
        "field_code": record.field_code, "field_name": record.field_name or record.field_code,
        "paper_result": known.get("paper_result", True),
        "fee": sum(fee.amount for fee in record.fees) if record.fees else known.get("fee", 0),
        "received_at": _iso(record.received_at), "appointment": _iso(due[1]) if due else None,
        "appointment_history": _history(record), "ended_at": _iso(record.end),
        "end_state": LIFECYCLE_OF_STATUS[record.status] if record.end else None,
        "paused_at": _paused_at(record, at, current), "resumed_at": _resumed_at(record, current),
        "returned_at": _iso(record.returned_at),
        "paid_online": record.online_payment in (1, 2), "electronic_results": _results(record),
        "payment_channel": PAYMENT_CHANNELS.get(record.online_payment) if record.online_payment else None,
        "component_files": _files(record), "electronic_result_links": _links(record),
        "dvcqg_status": record.status, "imported": True, "source": SOURCE,
        # the portal's count (a second one is late in Decision 766); none given when none, as before it was read
        "supplement_requests": len(record.supplements) or None,
    }
    return {key: value for key, value in values.items() if value is not None}


def _iso(instant: datetime | None) -> str | None:
    return text(instant) if instant is not None else None


def _history(record: DvcqgRecord) -> list[JsonValue] | None:
    """The appointments as the portal gives them: the initial one, then each supplement's new one."""
    history: list[JsonValue] = []
    if record.appointment is not None:
        history.append({"at": _iso(record.received_at), "appointment": text(record.appointment),
                        "kind": "initial", "reason": None})
    for item in record.supplements:
        if item.new_appointment is not None:
            history.append({"at": _iso(item.supplied_at), "appointment": text(item.new_appointment), "kind": "paused",
                            "reason": None, "previous": _iso(item.previous_appointment)})
    return history or None


def _paused_at(record: DvcqgRecord, at: datetime, current: Mapping[str, JsonValue]) -> str | None:
    """Paused (5, 6) since the supplement awaited was asked for (``NgayBoSung``) when the record says so,
    else since the import that first saw it paused: a waiting payment's start is not in the record."""
    if record.status not in PAUSED_STATUSES:
        return None
    if record.paused_since is not None:
        return text(record.paused_since)
    kept = current.get("paused_at")
    return kept if isinstance(kept, str) else text(at)


def _resumed_at(record: DvcqgRecord, current: Mapping[str, JsonValue]) -> JsonValue:
    """When the clock ran again, as the record says it (its last ``NgayTiepNhanBoSung``), read when an import sees a
    pause end and kept until the next pause: the report ends the pause on that day
    (:func:`motcua.workflow.reports.projection.fold` keeps it between the pause's start and the import's day). Never
    read otherwise, so a dossier imported before it was is not changed by an unchanged record."""
    if record.status in PAUSED_STATUSES:
        return None
    if current.get("paused_at") is not None:
        return _iso(record.supplements[-1].supplied_at) if record.supplements else None
    return current.get("resumed_at")


def _results(record: DvcqgRecord) -> list[JsonValue] | None:
    codes: list[JsonValue] = [
        item.code or item.document_id or f"{record.code}-KQ{number}"
        for number, item in enumerate(record.results, start=1)
    ]
    return codes or None


def _files(record: DvcqgRecord) -> list[JsonValue] | None:
    """``TaiLieuNop`` as the dossier keeps ``digitize``'s ``component_files``: the component, the file (its address,
    else its name), digitised, reused (``DuocTaiSuDung`` 1 or 2). A file marked deleted is no component any more."""
    files: list[JsonValue] = [
        {"component": item.component or "", "file": item.file or "", "digitized": item.digitized,
         "reused": item.reused in (1, 2)}
        for item in record.files if not item.deleted
    ]
    return files or None


def _links(record: DvcqgRecord) -> dict[str, JsonValue] | None:
    """The link of each result that has one (``DuongDanTepTinKetQua``), by the code the dossier keeps it under."""
    codes = _results(record) or []
    links: dict[str, JsonValue] = {
        str(code): item.url for code, item in zip(codes, record.results, strict=True) if item.url
    }
    return links or None


def _state(record: DvcqgRecord, at: datetime) -> dict[str, str]:
    records = "digitized" if record.digitized else "paper"
    if record.results:
        records = "result_digitized"
    return {"lifecycle": LIFECYCLE_OF_STATUS[record.status], "deadline": _deadline(record, at), "records": records}


def _deadline(record: DvcqgRecord, at: datetime) -> str:
    """Overdue when E is late against A, or, still open and running, A's date is past at the import."""
    due = record.due
    if due is None:
        return "on_time"
    end = record.end
    if end is not None:
        late = classify(end, due[1]) is Timeliness.LATE
    else:
        running = record.status not in NOT_RECEIVED_STATUSES | PAUSED_STATUSES
        late = running and vietnam_date(at) > vietnam_date(due[1])
    return "overdue" if late else "on_time"


def _data(record: DvcqgRecord) -> dict[str, JsonValue]:
    """The entry's data: the record's essentials, as the opening data of a native dossier names them."""
    values: dict[str, JsonValue] = {
        "procedure": record.procedure_code, "applicant_name": record.applicant,
        "channel": CHANNEL_NAMES.get(record.channel) if record.channel else None,
        "applicant_kind": _APPLICANT_KINDS.get(record.applicant_kind) if record.applicant_kind else None,
        "phone": record.phone, "email": record.email, "summary": record.summary,
        "status": record.status, "imported": True, "source": SOURCE,
    }
    return {key: value for key, value in values.items() if value is not None}


def _decision(
    case: Case, record: DvcqgRecord, state: dict[str, str], *, attributes: dict[str, JsonValue],
    changes: dict[str, JsonValue], at: datetime, index_of: Callable[[Case], Mapping[str, str]],
) -> Decision:
    """The decision of an import; ``index_of`` gives the values the case is found by (its definition's index)."""
    entry = sealed(
        case_code=case.code, sequence=case.version + 1, occurred_at=at, actor=IMPORT_ACTOR, role=IMPORT_ROLE,
        trigger=IMPORT_TRIGGER, state_before=dict(case.state), state_after=state, data=_data(record),
        changes=changes, reason=None, definition_key=case.definition_key,
        definition_version=case.definition_version, rule_set=case.rule_set, prev_hash=case.head_hash,
    )
    after = Case(
        code=case.code, definition_key=case.definition_key, definition_version=case.definition_version,
        rule_set=case.rule_set, state=state, attributes=attributes, version=entry.sequence,
        head_hash=entry.hash, opened_at=case.opened_at, updated_at=at,
    )
    return Decision(after, entry, index_of(after))
