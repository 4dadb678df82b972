"""The legal clock of a dossier: appointment, pauses, warnings and escalations as values.

Everything here is computed from the working-time calendar and the dossier's rule set; nothing
is stored here. Instants travel in case attributes as ISO 8601 text with the Vietnam offset.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from motcua.workflow.dossiers.catalogue import Channel, Procedure, ProcedureVersion, RuleSet
from motcua.workflow.engine.clock import instant, text, to_vietnam_time
from motcua.workflow.engine.model import CancelTimer, JsonValue, SetTimer, TimerChange
from motcua.workflow.worktime.calendar import WorkingCalendar
from motcua.workflow.worktime.hours import Duration, DurationUnit

__all__ = [
    "DUE_SOON_TIMER",
    "OVERDUE_TIMER",
    "Pause",
    "Resumed",
    "SlaClock",
    "appointment_entry",
    "warning_marks",
]

DUE_SOON_TIMER = "due_soon"
_CLOCK_STARTS = frozenset({"initial", "paused"})  # appointment_history kinds that armed the timers
OVERDUE_TIMER = "overdue"


def warning_marks(deadline: datetime | None, now: datetime) -> dict[str, JsonValue]:
    """What a warning's notice carries beyond its event: ``{"outrun": True}`` when it fires at ``now``, at or after
    the ``deadline`` it warns of — the worker was down, or behind, over it. The notice is still released and recorded,
    one per timer as every timer's; its letter tells its own recipients the deadline has passed, not that it is near
    (:mod:`motcua.adapters.notifiers.smtp`), and a webhook receives the mark. No deadline known marks nothing."""
    return {"outrun": True} if deadline is not None and now >= deadline else {}


def appointment_entry(
    at: datetime, appointment: datetime | str, kind: str, reason: str | None, provisional: Sequence[date] = (),
) -> JsonValue:
    """One line of ``appointment_history``. ``provisional``: the provisional days (a weekday off or a Saturday
    worked that no announcement confirms yet, :meth:`SlaClock.provisional_days`) the appointment was counted
    over; listed as ``provisional_days`` only when there are some: the date may still move."""
    shown = appointment if isinstance(appointment, str) else text(appointment)
    entry: dict[str, JsonValue] = {"at": text(at), "appointment": shown, "kind": kind, "reason": reason}
    if provisional:
        entry["provisional_days"] = [day.isoformat() for day in provisional]
    return entry


@dataclass(frozen=True, slots=True)
class SlaClock:
    """Deadline arithmetic for one office's calendar."""

    calendar: WorkingCalendar

    @property
    def working_day(self) -> timedelta:
        return self.calendar.hours.day_length

    def appointment(self, procedure: Procedure | ProcedureVersion, channel: Channel, received: datetime) -> datetime:
        """The legal appointment of a dossier received at ``received`` by ``channel``: counted by the version a
        dossier keeps (a :class:`Procedure` counts by its latest version)."""
        allowed = procedure.time_for(channel)
        duration = Duration(allowed.amount, DurationUnit(allowed.unit))
        return self.calendar.due(received, duration, procedure.cutoff)

    def count_start(self, procedure: Procedure | ProcedureVersion, received: datetime) -> datetime:
        """The instant a deadline starts counting for a dossier received at ``received``: the next working instant,
        after the procedure's cut-off the next working day's opening (the legal clock)."""
        return self.calendar.effective_start(received, procedure.cutoff)

    def due_in_working_days(self, received: datetime, days: int) -> datetime:
        """The deadline ``days`` working days counted from ``received`` (the legal clock's rules, no cutoff)."""
        return self.calendar.due(received, Duration(days, DurationUnit.WORKING_DAYS))

    def working_days_from(self, appointment: datetime, days: int) -> datetime:
        """The instant ``days`` working days after (negative: before) the appointment."""
        span = self.working_day * abs(days)
        if days < 0:
            return self.calendar.subtract_working(appointment, span)
        return self.calendar.add_working(appointment, span)

    def apology_deadline(self, rules: RuleSet, appointment: datetime) -> datetime:
        """The latest the apology letter is in time: ``apology_lead_working_days`` working days before the
        appointment, the day before by dates when the appointment is at a closing time (17:00 on the 8th: 17:00 on
        the 7th, not 07:00 on the 8th)."""
        return self.calendar.deadline_before(appointment, self.working_day * rules.apology_lead_working_days)

    def timers(
        self, rules: RuleSet, appointment: datetime, now: datetime, *, warning_owed: bool = False,
        escalated: Collection[int] = (),
    ) -> tuple[TimerChange, ...]:
        """Warning at the due-soon threshold, overdue at the appointment, then the ladder, but for its steps already
        notified (``escalated``: a resumed dossier escalated before its pause is not escalated twice for one step).

        A threshold already past is not warned of (a procedure shorter than the warning's lead starts inside
        it), unless ``warning_owed``: a resumed dossier still on time was promised its warning before the pause,
        and gets it now when the moved threshold is past but the appointment is not."""
        changes: list[TimerChange] = [
            SetTimer(OVERDUE_TIMER, "mark_overdue", appointment),
        ]
        changes.append(self._warning(rules, appointment, now, warning_owed))
        for step, rung in enumerate(rules.escalation, start=1):
            if rung.after_working_days > 0 and step not in escalated:
                at = self.working_days_from(appointment, rung.after_working_days)
                changes.append(SetTimer(_escalation_name(step), "escalate", at, {"step": step}))
        return tuple(changes)

    def _warning(self, rules: RuleSet, appointment: datetime, now: datetime, owed: bool) -> TimerChange:
        due_soon = self.working_days_from(appointment, -rules.due_soon_working_days)
        if due_soon > now:
            return SetTimer(DUE_SOON_TIMER, "mark_due_soon", due_soon)
        if owed and appointment > now:
            return SetTimer(DUE_SOON_TIMER, "mark_due_soon", now)
        return CancelTimer(DUE_SOON_TIMER)

    def warning_promised(self, rules: RuleSet, history: Sequence[JsonValue]) -> bool:
        """Whether the due-soon warning was armed at a start of the clock (the reception, a resume): its threshold was
        then still ahead. A dossier received inside its warning window (a procedure shorter than the warning's lead)
        never was, and is not warned on resuming either. A history without a start (none recorded): taken as armed."""
        starts = [entry for entry in history if isinstance(entry, Mapping) and entry.get("kind") in _CLOCK_STARTS]
        if not starts:
            return True
        return any(self._armed_at(rules, entry) for entry in starts)

    def _armed_at(self, rules: RuleSet, start: Mapping[str, JsonValue]) -> bool:
        at, appointment = attribute_instant(start, "at"), attribute_instant(start, "appointment")
        if at is None or appointment is None:
            return True
        return self.working_days_from(appointment, -rules.due_soon_working_days) > at

    def cancel_all(self, rules: RuleSet) -> tuple[TimerChange, ...]:
        names = [DUE_SOON_TIMER, OVERDUE_TIMER]
        names += [_escalation_name(step) for step, _ in enumerate(rules.escalation, start=1)]
        return tuple(CancelTimer(name) for name in names)

    def provisional_days(self, start: datetime, appointment: datetime) -> tuple[date, ...]:
        """The provisional days from ``start``'s date to the appointment's (both included) that the count went
        over: the appointment may still move when the government announces them."""
        first, last = to_vietnam_time(start).date(), to_vietnam_time(appointment).date()
        return self.calendar.provisional_days(first, last)

    def resumed(
        self, counted: ProcedureVersion, channel: Channel, started: datetime, appointment: datetime, pause: Pause,
    ) -> Resumed:
        """The appointment once the clock runs again after ``pause``, counted as the deadline is (``counted``: the
        version the dossier keeps): a deadline in working days or hours moves by the working time of the pause; one
        in calendar days is counted again from ``started`` (:meth:`count_start`, as the reception's office counted
        it) with the calendar days paused added (Vietnam dates: a pause ended the day it began adds none), so only
        its last day moves off a day off, as the Civil Code moves a period's end (art. 148) — never a day added on
        top of an earlier move. A dossier whose earlier pauses were not counted so (``pause.days_before`` ``None``)
        moves its appointment as it stands."""
        allowed = counted.time_for(channel)
        if DurationUnit(allowed.unit) is not DurationUnit.CALENDAR_DAYS:
            paused = self.calendar.elapsed_working(pause.start, pause.end)
            return Resumed(self.calendar.add_working(appointment, paused) if paused else appointment, None)
        days = max((to_vietnam_time(pause.end).date() - to_vietnam_time(pause.start).date()).days, 0)
        if pause.days_before is None:
            return Resumed(self.calendar.calendar_days_after(appointment, days) if days else appointment, None)
        total = pause.days_before + days
        return Resumed(self.calendar.calendar_days_after(started, allowed.amount + total), total)


@dataclass(frozen=True, slots=True)
class Pause:
    """A stretch the legal clock stood still, from ``start`` to ``end``; ``days_before``: the calendar days the
    dossier's earlier pauses added (``None``: not counted, for a dossier paused before they were kept)."""

    start: datetime
    end: datetime
    days_before: int | None


@dataclass(frozen=True, slots=True)
class Resumed:
    """The appointment after a pause; ``calendar_days_paused``: the calendar days all its pauses added, kept for a
    deadline counted in calendar days (``None`` otherwise)."""

    appointment: datetime
    calendar_days_paused: int | None


def _escalation_name(step: int) -> str:
    return f"escalation_{step}"


def attribute_instant(attributes: Mapping[str, JsonValue], name: str) -> datetime | None:
    value = attributes.get(name)
    return instant(value) if value is not None else None
