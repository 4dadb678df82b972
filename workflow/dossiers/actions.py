"""The guards and actions that ``tthc-dossier`` definitions name.

Each action reads the context and returns an :class:`~motcua.workflow.engine.registry.Outcome`: attributes to
record on the dossier (appointment history, hand-overs, apologies…), timers to arm or cancel and
effects for the outbox (forms to issue, people to notify). They never write anything themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from motcua.workflow.dossiers.catalogue import (
    RECEIVED_FORMS,
    Catalogue,
    Channel,
    FormKey,
    ProcedureVersion,
    RuleBook,
    RuleSet,
)
from motcua.workflow.dossiers.limits import checked_new_date, register_limits
from motcua.workflow.dossiers.sla import Pause, SlaClock, appointment_entry, attribute_instant, warning_marks
from motcua.workflow.dossiers.step_clock import register_steps
from motcua.workflow.engine.clock import text, to_vietnam_time
from motcua.workflow.engine.model import Effect, JsonValue
from motcua.workflow.engine.registry import Action, Context, Guard, Outcome, Refusal, Registry
from motcua.workflow.units.directory import UnitDirectory
from motcua.workflow.units.transfer import register_transfer
from motcua.workflow.worktime.hours import DurationUnit

__all__ = ["DossierServices", "dossier_registry"]

_CHANNELS: dict[str, Channel] = {"direct": "direct", "online": "online", "postal": "postal"}
CALENDAR_DAYS_PAUSED = "calendar_days_paused"  # the calendar days a calendar-day deadline's pauses added
ESCALATED = "escalated_steps"  # the steps of the escalation ladder already notified (not armed again on resuming)
COUNT_STARTED = "count_started_at"  # when a calendar-day deadline started counting, by the receiving office's hours


@dataclass(frozen=True, slots=True)
class DossierServices:
    """``clock``: the legal clock of a dossier whose deciding unit has none of its own in ``clocks`` (by agency
    code): the deadline is counted on the deciding unit's calendar and office hours."""

    clock: SlaClock
    catalogue: Catalogue
    rules: RuleBook
    clocks: Mapping[str, SlaClock] = field(default_factory=dict)
    units: UnitDirectory | None = None  # given, a dossier is received only at units in force that day

    def rule_set(self, context: Context) -> RuleSet:
        return self.rules.get(context.case.rule_set)

    def clock_for(self, context: Context) -> SlaClock:
        unit = context.attributes.get("deciding_unit")
        return self.clocks.get(unit, self.clock) if isinstance(unit, str) else self.clock


def _calendar_days_paused(context: Context, history: list[JsonValue]) -> int | None:
    """The calendar days the dossier's earlier pauses added to a calendar-day deadline (``None``: a dossier paused
    before they were kept, whose appointment moved as it stood)."""
    kept = context.attributes.get(CALENDAR_DAYS_PAUSED)
    if isinstance(kept, int) and not isinstance(kept, bool):
        return kept
    paused_before = any(isinstance(entry, Mapping) and entry.get("kind") == "paused" for entry in history)
    return None if paused_before else 0


def _str(context: Context, name: str) -> str:
    value = context.attributes.get(name)
    return value if isinstance(value, str) else ""


def _int(context: Context, name: str) -> int:
    value = context.attributes.get(name)
    return value if isinstance(value, int) else 0


def _on_time(context: Context) -> bool:
    return context.state.get("deadline") == "on_time"


def _list(context: Context, name: str) -> list[JsonValue]:
    value = context.attributes.get(name)
    return list(value) if isinstance(value, list) else []


def _escalated(context: Context) -> frozenset[int]:
    """The ladder's steps this dossier's escalations notified already (:data:`ESCALATED`)."""
    return frozenset(step for step in _list(context, ESCALATED) if isinstance(step, int))


def _form(services: DossierServices, context: Context, key: FormKey) -> Effect:
    """The paper of act ``key`` under the dossier's rule set: its form's number (``None`` when the rule set has no
    form for the act) and name, and whether the desk received it from the applicant rather than issued it."""
    spec = services.rule_set(context).form(key)
    payload: dict[str, JsonValue] = {
        "form": key, "number": spec.number, "name": spec.name, "received": key in RECEIVED_FORMS,
        "dossier": context.case.code, "at": text(context.now), "by": context.actor.name,
    }
    return Effect("form", payload)


def _withdrawal_allowed(services: DossierServices) -> Guard:
    """The guard of a withdrawal: once a decision is issued (the lifecycle is ``approved``: the leader signed the
    result), a rule set whose withdrawal rule says so refuses it, naming the rule and its source. Judged on the
    state, not on an attribute, so that dossiers approved before the rule existed are judged alike."""

    def guard(context: Context) -> bool | Refusal:
        rule = services.rule_set(context).withdrawal
        if rule.after_decision or context.case.state.get("lifecycle") != "approved":
            return True
        return Refusal(
            rule="withdrawal_before_decision", source=rule.source,
            reason="hồ sơ đã có quyết định giải quyết (lãnh đạo đã ký kết quả): tổ chức, cá nhân chỉ được rút hồ sơ "
                   "khi chưa có kết quả giải quyết",
        )

    return guard


def _notify(context: Context, event: str, role: str, **extra: JsonValue) -> Effect:
    payload: dict[str, JsonValue] = {
        "event": event, "role": role, "dossier": context.case.code, "at": text(context.now), **extra,
    }
    return Effect("notify", payload)


class _DossierActions:
    def __init__(self, services: DossierServices) -> None:
        self.s = services

    def describe_procedure(self, context: Context) -> Outcome:
        """The procedure as the catalogue version in force on the day the dossier is registered (the Vietnam date,
        as for its rule set) says: the dossier keeps that version (``catalogue_version``) and the fee entry then in
        force (``fee_schedule``; ``fee`` its per-case or first-page amount, ``fee_known`` false for a council fee
        whose amount the catalogue does not know)."""
        procedure = self.s.catalogue.get(_str(context, "procedure"))
        day = to_vietnam_time(context.now).date()
        version, fee = procedure.version_on(day), procedure.fee_on(day)
        fee_schedule: dict[str, JsonValue] = dict(fee.as_attribute())
        return Outcome(attributes={
            "procedure_name": procedure.name, "field_code": procedure.field_code,
            "field_name": procedure.field_name, "level": version.level, "catalogue_version": version.key,
            "paper_result": version.paper_result, "fee": fee.base, "fee_known": fee.known,
            "fee_schedule": fee_schedule,
            "supplement_requests": 0, "handovers": 0, "electronic_handovers": 0,
        })

    def start_clock(self, context: Context) -> Outcome:
        """The appointment, counted by the catalogue version the dossier keeps (``catalogue_version``; a dossier
        without one, or whose version the catalogue no longer lists, by the version in force today)."""
        self._units_in_force(context)
        version, channel = self._counted_by(context, context.now)
        clock = self.s.clock_for(context)
        appointment = clock.appointment(version, channel, context.now)
        rules = self.s.rule_set(context)
        provisional = clock.provisional_days(context.now, appointment)
        attributes: dict[str, JsonValue] = {
            "received_at": text(context.now), "appointment": text(appointment),
            "apology_due": text(clock.apology_deadline(rules, appointment)),
            "appointment_history": [appointment_entry(context.now, appointment, "initial", None, provisional)],
        }
        if DurationUnit(version.time_for(channel).unit) is DurationUnit.CALENDAR_DAYS:  # counted again on resuming
            attributes[COUNT_STARTED] = text(clock.count_start(version, context.now))
        return Outcome(attributes=attributes, timers=clock.timers(rules, appointment, context.now))

    def _units_in_force(self, context: Context) -> None:
        """A dossier submitted online at a unit that has ended since (a merger) is not received there, on its calendar:
        :class:`InvalidInput` naming the unit and its successor, until ``motcua units apply`` carries it over."""
        if self.s.units is None:
            return
        day = to_vietnam_time(context.now).date()
        for name in ("receiving_unit", "deciding_unit"):
            code = context.attributes.get(name)
            if isinstance(code, str) and code:
                self.s.units.in_force(name, code, day)

    def _counted_by(self, context: Context, received: datetime) -> tuple[ProcedureVersion, Channel]:
        """The catalogue version and channel the dossier's deadline is counted by: the version it keeps, else (one
        the catalogue no longer lists) the version in force on the day it was ``received``."""
        procedure = self.s.catalogue.get(_str(context, "procedure"))
        kept = _str(context, "catalogue_version")
        known = {version.key for version in procedure.versions}
        version = procedure.version(kept) if kept in known else procedure.version_on(to_vietnam_time(received).date())
        return version, _CHANNELS.get(_str(context, "channel"), "direct")

    def pause_clock(self, context: Context) -> Outcome:
        attributes: dict[str, JsonValue] = {"paused_at": text(context.now)}
        if context.state.get("lifecycle") == "supplement_requested":
            attributes["supplement_requests"] = _int(context, "supplement_requests") + 1
        return Outcome(attributes=attributes, timers=self.s.clock_for(context).cancel_all(self.s.rule_set(context)))

    def resume_clock(self, context: Context) -> Outcome:
        paused_at = attribute_instant(context.attributes, "paused_at")
        appointment = attribute_instant(context.attributes, "appointment")
        if paused_at is None or appointment is None:
            return Outcome()
        received = attribute_instant(context.attributes, "received_at")
        history = _list(context, "appointment_history")
        pause = Pause(paused_at, context.now, None if received is None else _calendar_days_paused(context, history))
        version, channel = self._counted_by(context, received or paused_at)
        started = attribute_instant(context.attributes, COUNT_STARTED) or self.s.clock_for(context).count_start(
            version, received or paused_at)  # a dossier received before the start was kept: counted again here
        resumed = self.s.clock_for(context).resumed(version, channel, started, appointment, pause)
        moved, rules = resumed.appointment, self.s.rule_set(context)
        provisional = self.s.clock_for(context).provisional_days(received or paused_at, moved)  # from reception
        owed = _on_time(context) and self.s.clock_for(context).warning_promised(rules, history)
        history.append(appointment_entry(context.now, moved, "paused", context.trigger, provisional))
        attributes: dict[str, JsonValue] = {
            "paused_at": None, "appointment": text(moved), "appointment_history": history,
            "apology_due": text(self.s.clock_for(context).apology_deadline(rules, moved)),
        }
        if resumed.calendar_days_paused is not None:
            attributes[CALENDAR_DAYS_PAUSED] = resumed.calendar_days_paused
        return Outcome(attributes=attributes,
                       timers=self.s.clock_for(context).timers(rules, moved, context.now, warning_owed=owed,
                                                               escalated=_escalated(context)))

    def stop_clock(self, context: Context) -> Outcome:
        attributes: dict[str, JsonValue] = {}
        if context.attributes.get("ended_at") is None:
            attributes = {"ended_at": text(context.now), "end_state": context.state.get("lifecycle")}
        return Outcome(attributes=attributes, timers=self.s.clock_for(context).cancel_all(self.s.rule_set(context)))

    def record_handover(self, context: Context) -> Outcome:
        electronic = context.data.get("electronic") is True
        receiver = context.data.get("assignee") or context.data.get("approver")
        attributes: dict[str, JsonValue] = {
            "handovers": _int(context, "handovers") + 1,
            "electronic_handovers": _int(context, "electronic_handovers") + int(electronic),
        }
        if "assignee" in context.data:
            attributes["assignee"] = receiver
        return Outcome(attributes=attributes)

    def record_apology(self, context: Context) -> Outcome:
        """The letter, and the new date it fixes (if any: one letter may, guard ``redating_allowed``) beside the
        legal appointment in ``appointment_history``: the appointment itself never moves."""
        due = attribute_instant(context.attributes, "apology_due")
        new_date = checked_new_date(context)
        shown = None if new_date is None else new_date.isoformat()
        apology: dict[str, JsonValue] = {
            "at": text(context.now), "by": context.actor.name, "reason": context.data.get("reason"),
            "new_date": shown, "in_time": due is None or context.now <= due,
        }
        attributes: dict[str, JsonValue] = {"apologies": [*_list(context, "apologies"), apology]}
        if shown is not None:
            history = _list(context, "appointment_history")
            history.append(appointment_entry(context.now, shown, "apology", str(context.data.get("reason"))))
            attributes["appointment_history"] = history
        return Outcome(attributes=attributes, effects=(_form(self.s, context, "apology"),))

    def notify_due_soon(self, context: Context) -> Outcome:
        marks = warning_marks(attribute_instant(context.attributes, "appointment"), context.now)
        return Outcome(effects=(_notify(context, "due_soon", _rung_role(self.s.rule_set(context), -1), **marks),))

    def notify_overdue(self, context: Context) -> Outcome:
        return Outcome(effects=(_notify(context, "overdue", _rung_role(self.s.rule_set(context), 0)),))

    def notify_escalation(self, context: Context) -> Outcome:
        step = context.data.get("step")
        rungs = self.s.rule_set(context).escalation
        index = step - 1 if isinstance(step, int) and 0 < step <= len(rungs) else len(rungs) - 1
        attributes: dict[str, JsonValue] = {}
        if isinstance(step, int):  # a resumed dossier's ladder does not notify this step again
            attributes[ESCALATED] = list[JsonValue](sorted(_escalated(context) | {step}))
        return Outcome(attributes=attributes,
                       effects=(_notify(context, "escalation", rungs[index].notify_role, step=step),))


def _rung_role(rules: RuleSet, offset: int) -> str:
    """The role the ladder names for a warning before (-1) or at (0) the appointment."""
    for rung in rules.escalation:
        if (rung.after_working_days < 0) == (offset < 0) and rung.after_working_days <= 0:
            return rung.notify_role
    return "officer" if offset < 0 else "leader"


class _RecordActions:
    """Actions that only record what happened and issue the matching form."""

    def __init__(self, services: DossierServices) -> None:
        self.s = services

    def issue_receipt(self, context: Context) -> Outcome:
        return Outcome(effects=(_form(self.s, context, "receipt"),))

    def issue_refusal(self, context: Context) -> Outcome:
        return Outcome(
            attributes={"ended_at": text(context.now), "end_state": "refused"},
            effects=(_form(self.s, context, "refusal"),),
        )

    def issue_supplement_request(self, context: Context) -> Outcome:
        return Outcome(effects=(_form(self.s, context, "supplement_request"),))

    def record_decision(self, context: Context) -> Outcome:
        """The leader signed the result: a decision is issued (a withdrawal may no longer be allowed)."""
        return Outcome(attributes={"decided_at": text(context.now)})

    def record_withdrawal_request(self, context: Context) -> Outcome:
        """The applicant's request to withdraw (or the desk's record of it, made on their behalf)."""
        return Outcome(effects=(_form(self.s, context, "withdrawal_request"),))

    def issue_withdrawal_notice(self, context: Context) -> Outcome:
        """The desk confirms the withdrawal: processing stopped on the applicant's request."""
        return Outcome(effects=(_form(self.s, context, "withdrawal_notice"),))

    def issue_stop_notice(self, context: Context) -> Outcome:
        """The agency stops processing of its own decision (the leader, with a reason)."""
        return Outcome(effects=(_form(self.s, context, "stop_notice"),))

    def record_completion_request(self, context: Context) -> Outcome:
        return Outcome(attributes={"completion_requested": True},
                       effects=(_form(self.s, context, "supplement_request"),))

    def record_payment(self, context: Context) -> Outcome:
        """Paid online when the desk says so or names the online channel (``payment_channel_online`` refuses both
        "not online" and a channel)."""
        channel = context.data.get("payment_channel")
        online = context.data.get("online") is True or channel is not None
        return Outcome(attributes={"paid_online": online, **({"payment_channel": channel} if channel else {})})

    def record_return(self, context: Context) -> Outcome:
        return Outcome(attributes={"returned_at": text(context.now)})

    def record_digitization(self, context: Context) -> Outcome:
        files = context.data.get("component_files")
        kept: list[JsonValue] = [  # both flags always written: a flag not given is "no"
            {"component": item.get("component"), "file": item.get("file"), "digitized": item.get("digitized") is True,
             "reused": item.get("reused") is True}
            for item in (files if isinstance(files, list) else []) if isinstance(item, dict)
        ]
        return Outcome(attributes={"digitized_components": context.data.get("components"),
                                   **({"component_files": kept} if kept else {})})

    def record_electronic_result(self, context: Context) -> Outcome:
        number = len(_list(context, "electronic_results")) + 1
        code = context.data.get("result_code") or f"{context.case.code}-KQ{number}"
        url = context.data.get("result_url")
        links = context.attributes.get("electronic_result_links")
        known = links if isinstance(links, dict) else {}
        linked = {"electronic_result_links": {**known, str(code): url}} if url else {}
        return Outcome(attributes={"electronic_results": [*_list(context, "electronic_results"), code], **linked})

    def record_rating(self, context: Context) -> Outcome:
        rating = context.data.get("rating")
        return Outcome(attributes={"rating": rating, "rating_comment": context.data.get("comment")})


def dossier_registry(services: DossierServices) -> Registry:
    registry = Registry()
    registry.add_guard("not_guided_before", lambda c: not c.case.attributes.get("completion_requested"))
    registry.add_guard("submitted_online", lambda c: c.case.attributes.get("channel") == "online")
    registry.add_guard("payment_channel_online",
                       lambda c: not (c.data.get("online") is False and c.data.get("payment_channel")))
    registry.add_guard("withdrawal_allowed", _withdrawal_allowed(services))
    timed, recorded = _DossierActions(services), _RecordActions(services)
    arming = frozenset({"mark_due_soon", "mark_overdue", "escalate"})
    registry.add_action("start_clock", timed.start_clock, arming)
    registry.add_action("resume_clock", timed.resume_clock, arming)
    actions: dict[str, Action] = {
        "describe_procedure": timed.describe_procedure,
        "pause_clock": timed.pause_clock,
        "stop_clock": timed.stop_clock,
        "record_handover": timed.record_handover,
        "record_apology": timed.record_apology,
        "notify_due_soon": timed.notify_due_soon,
        "notify_overdue": timed.notify_overdue,
        "notify_escalation": timed.notify_escalation,
        "issue_receipt": recorded.issue_receipt,
        "issue_refusal": recorded.issue_refusal,
        "issue_supplement_request": recorded.issue_supplement_request,
        "record_decision": recorded.record_decision,
        "record_withdrawal_request": recorded.record_withdrawal_request,
        "issue_withdrawal_notice": recorded.issue_withdrawal_notice,
        "issue_stop_notice": recorded.issue_stop_notice,
        "record_completion_request": recorded.record_completion_request,
        "record_payment": recorded.record_payment,
        "record_return": recorded.record_return,
        "record_digitization": recorded.record_digitization,
        "record_electronic_result": recorded.record_electronic_result,
        "record_rating": recorded.record_rating,
    }
    for name, action in actions.items():
        registry.add_action(name, action)
    register_transfer(registry, ("receiving_unit", "deciding_unit"))
    register_steps(registry, services)
    register_limits(registry, services)
    return registry
