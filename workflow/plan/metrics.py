"""The metrics behind the reform plan's targets, and their evaluation (docs/reference/reform-plan.md).

Dossier metrics are computed from :class:`~motcua.workflow.reports.projection.DossierFacts` folded from the audit log
(:func:`dossier_facts`), with the period semantics of Biểu 06 (one-stop-shop.md, the official reports): a dossier is
*received* in
the period when date(R) falls in it, *resolved* when date(E) does, *late* when resolved late or still
pending past its appointment at the period's end. Catalogue metrics read the procedures' online level;
task metrics read the plan's own ``plan-task`` cases; feedback metrics the citizens' feedback (``pakn`` cases,
:mod:`motcua.workflow.feedback.metrics`), whose counts the report also shows as rows of their own. A metric that
motcua cannot measure says so, with the reason: it never yields a number.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from fractions import Fraction
from typing import Literal

from motcua.workflow.dossiers.catalogue import Procedure
from motcua.workflow.engine.audit import AuditEntry
from motcua.workflow.engine.clock import to_vietnam_time
from motcua.workflow.engine.model import Case
from motcua.workflow.feedback.metrics import feedback_counts
from motcua.workflow.plan.model import Plan, PlanTarget
from motcua.workflow.reports.par766 import FeedbackCounts
from motcua.workflow.reports.projection import DossierFacts, StatusOf, bieu06, fold
from motcua.workflow.units.model import UnitRegister

__all__ = [
    "METRICS",
    "METRIC_UNITS",
    "PLAN_TASK_WORKFLOW",
    "Measurement",
    "MetricSpec",
    "PlanInputs",
    "TargetResult",
    "TaskStatus",
    "Verdict",
    "dossier_facts",
    "evaluate",
    "measure",
    "plan_inputs",
    "plan_units",
    "task_statuses",
]

PLAN_TASK_WORKFLOW = "plan-task"
Source = Literal["dossiers", "catalogue", "tasks", "feedback", "none"]
_SATISFIED = 4  # ratings 4 (hài lòng) and 5 (rất hài lòng) of the 1–5 scale
_RESULT_CODES = frozenset({9, 10})  # a result exists: ready at the desk or returned
_FINAL_TASK_STATES = frozenset({"done", "cancelled"})


@dataclass(frozen=True, slots=True)
class MetricSpec:
    key: str
    label: str
    source: Source
    formula: str
    unmeasured: str | None = None  # why motcua cannot measure it
    unit: str = "%"


def _spec(key: str, label: str, source: Source, formula: str, unmeasured: str | None = None) -> MetricSpec:
    return MetricSpec(key, label, source, formula, unmeasured)


_NOT_RECORDED = "motcua không ghi nhận "
METRICS: Mapping[str, MetricSpec] = {spec.key: spec for spec in (
    _spec("on_time_rate", "Tỷ lệ hồ sơ giải quyết trước hạn, đúng hạn", "dossiers",
          "hồ sơ giải quyết xong trong kỳ trước hạn + đúng hạn ÷ hồ sơ giải quyết xong trong kỳ"),
    _spec("apology_coverage", "Tỷ lệ hồ sơ quá hạn có thư xin lỗi đúng hạn", "dossiers",
          "hồ sơ quá hạn trong kỳ có thư xin lỗi gửi đúng hạn, hẹn lại ngày trả kết quả ÷ hồ sơ quá hạn trong kỳ"),
    _spec("satisfaction_rate", "Tỷ lệ hài lòng", "dossiers",
          "hồ sơ được đánh giá 4 hoặc 5 (trên thang 1–5) ÷ hồ sơ giải quyết xong trong kỳ có đánh giá"),
    _spec("electronic_routing_rate", "Tỷ lệ hồ sơ luân chuyển nội bộ bằng phương thức điện tử", "dossiers",
          "hồ sơ tiếp nhận trong kỳ mà mọi lần chuyển giao đều điện tử ÷ hồ sơ tiếp nhận trong kỳ có chuyển giao"),
    _spec("digitised_dossier_rate", "Tỷ lệ hồ sơ được số hóa", "dossiers",
          "hồ sơ tiếp nhận trong kỳ đã số hóa thành phần ÷ hồ sơ tiếp nhận trong kỳ"),
    _spec("electronic_result_rate", "Tỷ lệ kết quả giải quyết được số hóa (kết quả điện tử)", "dossiers",
          "hồ sơ có kết quả điện tử ÷ hồ sơ giải quyết xong trong kỳ có kết quả bản giấy"),
    _spec("online_procedure_rate", "Tỷ lệ thủ tục hành chính cung cấp trực tuyến", "catalogue",
          "thủ tục mức toàn trình hoặc một phần ÷ mọi thủ tục của danh mục còn hiệu lực"),
    _spec("full_online_procedure_rate", "Tỷ lệ thủ tục cung cấp trực tuyến toàn trình (mức độ 4)", "catalogue",
          "thủ tục mức toàn trình ÷ thủ tục cung cấp trực tuyến (toàn trình hoặc một phần)"),
    _spec("plan_task_on_time_rate", "Tỷ lệ nhiệm vụ kế hoạch hoàn thành đúng hạn", "tasks",
          "nhiệm vụ hoàn thành không muộn hơn hạn ÷ nhiệm vụ (không bị hủy) đã đến hạn hoặc đã hoàn thành"),
    _spec("periodic_report_on_time_rate", "Tỷ lệ báo cáo định kỳ gửi đúng hạn", "tasks",
          "kỳ báo cáo hoàn thành không muộn hơn hạn ÷ kỳ báo cáo (không bị hủy) đã đến hạn hoặc đã hoàn thành"),
    _spec("feedback_on_time_rate", "Tỷ lệ phản ánh, kiến nghị xử lý đúng hạn", "feedback",
          "phản ánh, kiến nghị trả lời đúng, trước hạn và đang trong hạn ÷ phản ánh, kiến nghị thuộc thẩm quyền "
          "phải xử lý trong kỳ"),
    _spec("self_inspection_coverage", "Tỷ lệ cán bộ, công chức được tự kiểm tra về cải cách hành chính", "none",
          "cán bộ, công chức được kiểm tra ÷ cán bộ, công chức của UBND xã",
          _NOT_RECORDED + "các cuộc tự kiểm tra và danh sách cán bộ, công chức"),
    _spec("procedure_publication_rate", "Tỷ lệ TTHC được công bố, công khai kịp thời", "none",
          "TTHC công bố, công khai đúng hạn ÷ TTHC thuộc thẩm quyền",
          _NOT_RECORDED + "ngày công bố, công khai thủ tục (danh mục chỉ có mức độ hiện hành)"),
    _spec("staff_job_position_rate", "Tỷ lệ cơ quan có cơ cấu cán bộ, công chức theo vị trí việc làm", "none",
          "cơ quan có cơ cấu theo vị trí việc làm ÷ cơ quan hành chính",
          _NOT_RECORDED + "tổ chức bộ máy và vị trí việc làm"),
    _spec("electronic_work_file_rate", "Tỷ lệ hồ sơ công việc xử lý trên môi trường mạng", "none",
          "hồ sơ công việc xử lý trên mạng ÷ hồ sơ công việc (trừ hồ sơ mật)",
          _NOT_RECORDED + "hồ sơ công việc ngoài hồ sơ thủ tục hành chính"),
    _spec("mobile_online_service_rate", "Tỷ lệ dịch vụ công trực tuyến dùng được trên thiết bị di động", "none",
          "dịch vụ công trực tuyến truy cập được trên nhiều phương tiện ÷ dịch vụ công trực tuyến",
          _NOT_RECORDED + "phương tiện truy cập của dịch vụ công trực tuyến"),
    _spec("electronic_document_rate", "Tỷ lệ báo cáo, văn bản hành chính gửi nhận điện tử", "none",
          "báo cáo định kỳ, văn bản gửi nhận điện tử ÷ báo cáo định kỳ, văn bản (trừ văn bản mật)",
          _NOT_RECORDED + "cách gửi, nhận văn bản và báo cáo"),
    _spec("kstthc_report_connection_rate", "Tỷ lệ báo cáo KSTTHC kết nối Hệ thống thông tin báo cáo Chính phủ",
          "none", "báo cáo định kỳ KSTTHC gửi qua Hệ thống thông tin báo cáo ÷ báo cáo định kỳ KSTTHC",
          _NOT_RECORDED + "việc gửi báo cáo qua Hệ thống thông tin báo cáo Chính phủ"),
    _spec("dvcqg_integration_rate", "Tỷ lệ dịch vụ công tích hợp trên Cổng DVCQG, cổng dịch vụ công tỉnh", "none",
          "dịch vụ công mức độ 4 tích hợp trên cổng ÷ dịch vụ công mức độ 4",
          _NOT_RECORDED + "việc tích hợp thủ tục trên Cổng Dịch vụ công quốc gia"),
)}
METRIC_UNITS: Mapping[str, str] = {key: spec.unit for key, spec in METRICS.items()}


class Verdict(StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    NO_DATA = "no_data"  # measurable, but nothing in the denominator for the period
    NOT_MEASURED = "not_measured"  # motcua cannot measure it

    @property
    def label(self) -> str:
        return _VERDICT_LABELS[self]


_VERDICT_LABELS = {
    Verdict.MET: "Đạt", Verdict.NOT_MET: "Không đạt", Verdict.NO_DATA: "Không phát sinh",
    Verdict.NOT_MEASURED: "Không đo được",
}


@dataclass(frozen=True, slots=True)
class Measurement:
    """``numerator ÷ denominator``; no denominator (or 0) means no value, and ``reason`` says why."""

    metric: str
    numerator: int | None = None
    denominator: int | None = None
    reason: str | None = None

    @property
    def ratio(self) -> Fraction | None:
        if self.numerator is None or not self.denominator:
            return None
        return Fraction(self.numerator * 100, self.denominator)

    @property
    def percent(self) -> float | None:
        ratio = self.ratio
        return None if ratio is None else round(float(ratio), 2)


@dataclass(frozen=True, slots=True)
class TaskStatus:
    """A plan task's case as the report needs it."""

    code: str
    task_id: str
    due: date
    lifecycle: str
    deadline: str
    evidence: int
    ended_at: datetime | None = None
    period: str | None = None

    @property
    def ended_on(self) -> date | None:
        return to_vietnam_time(self.ended_at).date() if self.ended_at else None

    @property
    def done_on_time(self) -> bool:
        return self.lifecycle == "done" and self.ended_on is not None and self.ended_on <= self.due

    def ended_by(self, lifecycle: str, as_of: date) -> bool:
        """Whether the task had reached ``lifecycle`` (done, cancelled) on ``as_of``: a task that ended after it was
        still open then (one without an end recorded is taken as ended)."""
        return self.lifecycle == lifecycle and (self.ended_on is None or self.ended_on <= as_of)

    def overdue(self, as_of: date) -> bool:
        """On ``as_of``: still open after its due date, or completed after it."""
        if self.ended_by("cancelled", as_of):
            return False
        if self.ended_by("done", as_of):
            return not self.done_on_time
        return self.due < as_of

    def counts_by(self, as_of: date) -> bool:
        """In the denominator of the task metrics: on ``as_of``, not cancelled, and due or already done."""
        return not self.ended_by("cancelled", as_of) and (self.due <= as_of or self.ended_by("done", as_of))


@dataclass(frozen=True, slots=True)
class PlanInputs:
    """What the plan's metrics are computed from, for the dossier period [start, end] (inclusive)."""

    facts: Sequence[DossierFacts]
    procedures: Sequence[Procedure]
    tasks: Sequence[TaskStatus]
    start: date
    end: date
    as_of: date  # tasks due on or before this day count as due
    feedback: FeedbackCounts = field(default_factory=FeedbackCounts)  # the citizens' feedback of [start, end]


@dataclass(frozen=True, slots=True)
class TargetResult:
    target: PlanTarget
    spec: MetricSpec
    measurement: Measurement
    verdict: Verdict


# -- inputs ----------------------------------------------------------------------------------------


def dossier_facts(entries: Iterable[AuditEntry], status_of: StatusOf) -> list[DossierFacts]:
    """Every dossier's facts, folded from the audit log in global order (plan tasks are skipped)."""
    folded: dict[str, DossierFacts] = {}
    for entry in sorted(entries, key=lambda e: e.position or 0):
        facts = fold(folded.get(entry.case_code), entry, status_of)
        if facts is not None:
            folded[entry.case_code] = facts
    return [folded[code] for code in sorted(folded)]


def plan_inputs(
    entries: Iterable[AuditEntry], cases: Iterable[Case], status_of: StatusOf, procedures: Iterable[Procedure],
    plan: Plan, *, start: date, end: date, as_of: date, units: frozenset[str] | None = None,
) -> tuple[PlanInputs, dict[str, TaskStatus]]:
    """What ``plan``'s targets are measured on, from the audit log and the cases, for the period [start, end],
    and its task cases by code: the dossiers counted under ``units`` (the rule of Biểu 06 per unit:
    ``DossierFacts.counted_in``) and the feedback they hold (``None``: every unit's), and every task of the plan,
    whichever unit carries it on now."""
    every = list(cases)
    statuses = task_statuses(every, plan.key)
    facts = tuple(facts for facts in dossier_facts(entries, status_of) if facts.counted_in(units))
    feedback = feedback_counts(every, start, end, units=units)
    return PlanInputs(facts, tuple(procedures), tuple(statuses.values()), start, end, as_of, feedback), statuses


def plan_units(
    cases: Iterable[Case], plan_key: str, register: UnitRegister, home: str, *, start: date, end: date,
) -> frozenset[str] | None:
    """The units a plan is measured over when none is named: the unit whose plan it is — where its tasks were
    loaded (before any merger carried them on; a unit carrying another of them on is that one's successor, not a unit
    of its own), else ``home``, where ``motcua plan load`` loads them — and the units
    that held that unit's place during [start, end] (:meth:`UnitRegister.lineage`: the successor it was merged into,
    the units merged into it). ``None`` (every dossier) for the plan of a standalone desk, whose unit the register
    does not know: its database is its own, dossiers from before units included."""
    loaded = {unit for case in cases if case.definition_key == PLAN_TASK_WORKFLOW
              and case.attributes.get("plan") == plan_key and (unit := _loaded_at(case)) is not None}
    own = _carrying_none_on(register, loaded) or {home}
    if not all(register.knows(unit) for unit in own):
        return None
    return frozenset().union(*(register.lineage(unit, start, end) for unit in own))


def _carrying_none_on(register: UnitRegister, loaded: set[str]) -> set[str]:
    """The units of ``loaded`` that carry no other one on: a task added after a merger and loaded, as the refusal at
    the ended unit says, at its successor makes the successor a unit of the plan as that successor only — its own
    lineage (the other communes merged into it) is not the plan's."""
    successors = {code for unit in loaded for code in register.carried_on_by(unit)}
    return (loaded - successors) or loaded


def _loaded_at(case: Case) -> str | None:
    """The unit a plan task was opened at: its ``unit``, taken back through the transfers (mergers) that moved it
    (an adoption is not taken back: it names the unit of record of a task that had none of the register)."""
    unit = case.attributes.get("unit")
    history = case.attributes.get("unit_history")
    for item in reversed(history if isinstance(history, list) else []):
        moved = isinstance(item, dict) and "reason" not in item and item.get("to") == unit
        before = item.get("from") if isinstance(item, dict) else None
        if moved and isinstance(before, list) and before and isinstance(before[0], str):
            unit = before[0]
    return unit if isinstance(unit, str) else None


def task_statuses(cases: Iterable[Case], plan_key: str) -> dict[str, TaskStatus]:
    """The plan's task cases by code."""
    statuses: dict[str, TaskStatus] = {}
    for case in cases:
        attributes = case.attributes
        if case.definition_key != PLAN_TASK_WORKFLOW or attributes.get("plan") != plan_key:
            continue
        evidence = attributes.get("evidence")
        ended = attributes.get("ended_at")
        period = attributes.get("period")
        statuses[case.code] = TaskStatus(
            code=case.code, task_id=str(attributes.get("task")), due=date.fromisoformat(str(attributes["due"])),
            lifecycle=case.state.get("lifecycle", ""), deadline=case.state.get("deadline", ""),
            evidence=len(evidence) if isinstance(evidence, list) else 0,
            ended_at=datetime.fromisoformat(ended) if isinstance(ended, str) else None,
            period=period if isinstance(period, str) else None,
        )
    return statuses


# -- dossier populations ---------------------------------------------------------------------------


def _day(instant: datetime) -> date:
    return to_vietnam_time(instant).date()


def _accepted(facts: Sequence[DossierFacts]) -> list[DossierFacts]:
    return [f for f in facts if f.accepted and f.received_at is not None]


def _received(inputs: PlanInputs) -> list[DossierFacts]:
    return [f for f in _accepted(inputs.facts) if f.received_at and inputs.start <= _day(f.received_at) <= inputs.end]


def _resolved(inputs: PlanInputs) -> list[DossierFacts]:
    return [f for f in _accepted(inputs.facts) if f.ended_at and inputs.start <= _day(f.ended_at) <= inputs.end]


def _late(item: DossierFacts, start: date, end: date) -> bool:
    """Resolved late in the period, or still pending at its end past the appointment: Biểu 06's own columns for the
    one dossier, never a copy of their rule."""
    row = bieu06([item], start, end).total
    return row.resolved_late + row.pending_overdue > 0


def _ratio(metric: str, population: Sequence[DossierFacts], good: Callable[[DossierFacts], bool],
           empty: str) -> Measurement:
    hits = sum(1 for item in population if good(item))
    return Measurement(metric, hits, len(population), None if population else empty)


# -- the measures ----------------------------------------------------------------------------------

Measure = Callable[[Plan, PlanInputs], Measurement]


def _on_time(plan: Plan, inputs: PlanInputs) -> Measurement:
    total = bieu06(_accepted(inputs.facts), inputs.start, inputs.end).total
    early_or_on_time = total.resolved_early + total.resolved_on_time
    return Measurement("on_time_rate", early_or_on_time, total.resolved,
                       None if total.resolved else "không có hồ sơ giải quyết xong trong kỳ")


def _apology(plan: Plan, inputs: PlanInputs) -> Measurement:
    """A late dossier is covered by the letter the rules ask for: sent in time, fixing a new date for the result
    (``redated_in_time``); a letter without a new date, or one sent too late, does not cover it. A dossier may be
    re-dated once (the rule set's ``redating``), so it counts once however many letters it has."""
    late = [f for f in _accepted(inputs.facts) if _late(f, inputs.start, inputs.end)]
    return _ratio("apology_coverage", late, lambda f: f.redated_in_time, "không có hồ sơ quá hạn trong kỳ")


def _satisfaction(plan: Plan, inputs: PlanInputs) -> Measurement:
    rated = [f for f in _resolved(inputs) if f.rating is not None]
    return _ratio("satisfaction_rate", rated, lambda f: (f.rating or 0) >= _SATISFIED,
                  "không có hồ sơ giải quyết xong trong kỳ được đánh giá")


def _routing(plan: Plan, inputs: PlanInputs) -> Measurement:
    routed = [f for f in _received(inputs) if f.handovers > 0]
    return _ratio("electronic_routing_rate", routed, lambda f: f.electronic_handovers == f.handovers,
                  "không có hồ sơ tiếp nhận trong kỳ được chuyển xử lý")


def _digitised(plan: Plan, inputs: PlanInputs) -> Measurement:
    return _ratio("digitised_dossier_rate", _received(inputs), lambda f: f.digitized,
                  "không có hồ sơ tiếp nhận trong kỳ")


def _electronic_results(plan: Plan, inputs: PlanInputs) -> Measurement:
    with_result = [f for f in _resolved(inputs) if f.status in _RESULT_CODES and f.paper_result]
    return _ratio("electronic_result_rate", with_result, lambda f: f.electronic_result,
                  "không có hồ sơ có kết quả bản giấy giải quyết xong trong kỳ")


def _procedures(inputs: PlanInputs) -> list[Procedure]:
    return [p for p in inputs.procedures if p.valid_on(inputs.end)]


def _online(plan: Plan, inputs: PlanInputs) -> Measurement:
    procedures = _procedures(inputs)
    online = sum(1 for p in procedures if p.level != "truc_tiep")
    return Measurement("online_procedure_rate", online, len(procedures),
                       None if procedures else "danh mục không có thủ tục còn hiệu lực")


def _full_online(plan: Plan, inputs: PlanInputs) -> Measurement:
    online = [p for p in _procedures(inputs) if p.level != "truc_tiep"]
    full = sum(1 for p in online if p.level == "toan_trinh")
    return Measurement("full_online_procedure_rate", full, len(online),
                       None if online else "danh mục không có thủ tục cung cấp trực tuyến")


def _task_ratio(metric: str, plan: Plan, inputs: PlanInputs, reports_only: bool) -> Measurement:
    if not inputs.tasks:
        return Measurement(metric, reason="nhiệm vụ của kế hoạch chưa được nạp (motcua plan load)")
    wanted = {task.id for task in plan.tasks if task.report or not reports_only}
    due = [t for t in inputs.tasks if t.task_id in wanted and t.counts_by(inputs.as_of)]
    hits = sum(1 for t in due if t.done_on_time)
    empty = "chưa có kỳ báo cáo đến hạn" if reports_only else "chưa có nhiệm vụ đến hạn"
    return Measurement(metric, hits, len(due), None if due else empty)


def _tasks_on_time(plan: Plan, inputs: PlanInputs) -> Measurement:
    return _task_ratio("plan_task_on_time_rate", plan, inputs, reports_only=False)


def _reports_on_time(plan: Plan, inputs: PlanInputs) -> Measurement:
    return _task_ratio("periodic_report_on_time_rate", plan, inputs, reports_only=True)


def _feedback_on_time(plan: Plan, inputs: PlanInputs) -> Measurement:
    """Decision 766's feedback indicator, over the plan's period: answered on time or still within ÷ to handle."""
    counts = inputs.feedback
    return Measurement("feedback_on_time_rate", counts.answered_on_time + counts.pending_within, counts.to_handle,
                       None if counts.to_handle else "không có phản ánh, kiến nghị phải xử lý trong kỳ")


_MEASURES: Mapping[str, Measure] = {
    "on_time_rate": _on_time,
    "apology_coverage": _apology,
    "satisfaction_rate": _satisfaction,
    "electronic_routing_rate": _routing,
    "digitised_dossier_rate": _digitised,
    "electronic_result_rate": _electronic_results,
    "online_procedure_rate": _online,
    "full_online_procedure_rate": _full_online,
    "plan_task_on_time_rate": _tasks_on_time,
    "periodic_report_on_time_rate": _reports_on_time,
    "feedback_on_time_rate": _feedback_on_time,
}


def measure(metric: str, plan: Plan, inputs: PlanInputs) -> Measurement:
    """One metric; an unmeasurable one comes back without a value, with its reason."""
    spec = METRICS[metric]
    compute = _MEASURES.get(metric)
    if spec.unmeasured is not None or compute is None:
        return Measurement(metric, reason=spec.unmeasured or "chưa có cách tính")
    return compute(plan, inputs)


def _verdict(target: PlanTarget, measurement: Measurement) -> Verdict:
    if measurement.denominator is None:
        return Verdict.NOT_MEASURED
    actual = measurement.ratio
    if actual is None:
        return Verdict.NO_DATA
    return Verdict.MET if _holds(target, actual) else Verdict.NOT_MET


def _holds(target: PlanTarget, actual: Fraction) -> bool:
    value = Fraction(str(target.value))  # exact: 100 % means every one, not 99.999 %
    if target.comparison == "between":
        return value <= actual <= Fraction(str(target.upper))
    if target.comparison == ">=":
        return actual >= value
    if target.comparison == "<=":
        return actual <= value
    return actual == value


def evaluate(plan: Plan, inputs: PlanInputs) -> tuple[TargetResult, ...]:
    """Every target of the plan with its measurement and verdict, in plan order."""
    results = []
    for target in plan.targets:
        measurement = measure(target.metric, plan, inputs)
        results.append(TargetResult(target, METRICS[target.metric], measurement, _verdict(target, measurement)))
    return tuple(results)
