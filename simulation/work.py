"""The specialists' day: each takes the dossiers of their queue earliest appointment first, within the
minutes they have, and the leader signs. A dossier that needs a supplement, a fee or a verification
leaves the queue for a while; one that cannot be done in time may get its apology letter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial

from motcua.simulation.cast import Staff
from motcua.simulation.flow import Dossier, Office, local_day
from motcua.workflow.engine.clock import VN_TZ

__all__ = ["Work"]

_FIRST_LOOK_MINUTES = 10  # reading a dossier to see what is missing
_SIGN_DELAY = timedelta(minutes=25)
_LOOK_AHEAD = timedelta(minutes=90)  # the leader reviews the apology list this long before it is due
_HORIZON_DAYS = 30  # how far the leader looks when counting a handler's working days


@dataclass
class _Day:
    remaining: int
    cursor: datetime


class Work:
    def __init__(self, office: Office) -> None:
        self.office = office
        self.days: dict[str, _Day] = {}
        self.in_hand: set[str] = set()

    # -- the daily round ----------------------------------------------------------------------------

    def start_day(self, day: date) -> None:
        opening = datetime.combine(day, self.office.calendar.hours.opening, tzinfo=VN_TZ)
        for person in self.office.cast.specialists:
            minutes = person.daily_minutes if person.present(day) else 0
            self.days[person.actor.name] = _Day(minutes, opening)

    def round(self) -> None:
        for person in self.office.cast.specialists:
            if person.present(self.office.today()):
                self._plan(person)

    def _plan(self, person: Staff) -> None:
        office, day = self.office, self.days[person.actor.name]
        now = office.now()
        day.cursor = max(day.cursor, now)
        for dossier in sorted(self._workable(person, now), key=_deadline):
            minutes = _FIRST_LOOK_MINUTES if self._obstacle(dossier) else dossier.arrival.fate.effort_minutes
            end = office.calendar.add_working(day.cursor, timedelta(minutes=minutes))
            if local_day(end) != office.today():
                break  # the rest waits for the next day
            if day.remaining <= 0 and not _at_the_counter(dossier):
                continue  # out of time for dossiers that can wait; the counter's same-day ones still go
            day.remaining -= minutes
            day.cursor = end
            self.in_hand.add(dossier.code)
            office.agenda.at(end, partial(self._handle, dossier, person))

    def _workable(self, person: Staff, now: datetime) -> list[Dossier]:
        return [d for d in self.office.queues[person.actor.name]
                if d.lifecycle == "processing" and d.code not in self.in_hand
                and (d.ready_from is None or d.ready_from <= now)]

    def _obstacle(self, dossier: Dossier) -> bool:
        return not dossier.worked and (dossier.arrival.fate.supplement_days is not None
                                       or dossier.arrival.fate.fee > 0 or dossier.arrival.fate.complication_days > 0)

    def _handle(self, dossier: Dossier, person: Staff) -> None:
        self.in_hand.discard(dossier.code)
        if dossier.lifecycle != "processing":
            return  # withdrawn meanwhile
        if self._obstacle(dossier):
            self._first_look(dossier, person)
        else:
            self._decide(dossier, person)

    # -- obstacles ----------------------------------------------------------------------------------

    def _first_look(self, dossier: Dossier, person: Staff) -> None:
        office, fate = self.office, dossier.arrival.fate
        dossier.worked = True
        if fate.supplement_days is not None:
            office.fire(dossier, "request_supplement", person.actor, reason="Bổ sung bản sao giấy tờ tùy thân")
            office.tally.supplements += 1
            back = office.working_days_after(office.now(), fate.supplement_days)
            office.agenda.at(back, lambda: self._supplement_back(dossier, fee=fate.fee))
        elif fate.fee > 0:
            self._request_fee(dossier, person)
        if fate.complication_days:
            dossier.ready_from = office.working_days_after(office.now(), fate.complication_days)

    def _supplement_back(self, dossier: Dossier, fee: int) -> None:
        if dossier.lifecycle != "supplement_requested":
            return
        self.office.fire(dossier, "supplement_received", self.office.clerk_actor())
        if fee > 0 and dossier.handler is not None:
            self._request_fee(dossier, dossier.handler)

    def _request_fee(self, dossier: Dossier, person: Staff) -> None:
        office, fate = self.office, dossier.arrival.fate
        office.fire(dossier, "request_payment", person.actor, amount=fate.fee, reason="Lệ phí giải quyết thủ tục")
        office.tally.payments += 1
        paid = office.later(120) if fate.pay_online else office.working_days_after(office.now(), 1)
        office.agenda.at(paid, lambda: self._paid(dossier))

    def _paid(self, dossier: Dossier) -> None:
        if dossier.lifecycle == "awaiting_payment":
            self.office.fire(dossier, "payment_received", self.office.clerk_actor(),
                             online=dossier.arrival.fate.pay_online)

    # -- decision, signature, result ----------------------------------------------------------------

    def _decide(self, dossier: Dossier, person: Staff) -> None:
        office = self.office
        if dossier.arrival.fate.apology == "late" and _late(dossier, office.now()):
            office.apologise(dossier)
        signer = office.cast.signer(office.today()) or office.cast.leaders[0]
        electronic = dossier.arrival.channel == "online" or dossier.arrival.fate.digitize
        office.fire(dossier, "submit_for_approval", person.actor, approver=signer.actor.name, electronic=electronic)
        office.leave_queue(dossier)
        office.agenda.at(self._signing_time(), lambda: self._approve(dossier, person))

    def _signing_time(self) -> datetime:
        office = self.office
        moment = office.now() + _SIGN_DELAY
        day = local_day(moment)
        closing = datetime.combine(day, office.calendar.hours.closing, tzinfo=VN_TZ)
        if office.cast.signer(day) is not None and moment < closing:
            return moment
        for _ in range(15):  # the next morning a leader is in
            day = office.calendar.next_working_day(day + timedelta(days=1))
            if office.cast.signer(day) is not None:
                break
        return datetime.combine(day, time(8, 0), tzinfo=VN_TZ)

    def _approve(self, dossier: Dossier, person: Staff) -> None:
        office = self.office
        if dossier.arrival.fate.apology != "none" and _late(dossier, office.now()):
            office.apologise(dossier)  # found late only now: the letter goes, too late
        signer = office.cast.signer(office.today()) or office.cast.leaders[0]
        office.fire(dossier, "approve", signer.actor)
        office.move_to(office.now() + timedelta(minutes=5))
        electronic = dossier.arrival.channel == "online" or dossier.arrival.fate.digitize
        office.fire(dossier, "mark_result_ready", person.actor, electronic=electronic)
        office.tally.results += 1
        if dossier.arrival.fate.electronic_result:
            office.fire(dossier, "issue_electronic_result", person.actor)
        office.agenda.at(self._pickup_time(dossier), lambda: self._return(dossier))

    def _pickup_time(self, dossier: Dossier) -> datetime:
        office, arrival = self.office, dossier.arrival
        if arrival.channel == "online" and arrival.fate.electronic_result:
            return office.now() + timedelta(minutes=10)
        if arrival.channel == "postal":
            return office.working_days_after(office.now(), 1)
        if arrival.procedure.time_for(arrival.channel).amount == 0:
            return office.later(15)  # waiting at the counter, or back the next morning
        appointment = dossier.appointment or office.now()
        if appointment > office.now():
            return max(office.now(), office.calendar.subtract_working(appointment, timedelta(hours=2)))
        return office.later(240)

    def _return(self, dossier: Dossier) -> None:
        office = self.office
        office.fire(dossier, "return_result", office.clerk_actor(), receiver=dossier.arrival.applicant)
        office.tally.dossiers_done += 1
        rating = dossier.arrival.fate.rating
        if rating is not None:
            office.move_to(office.now() + timedelta(minutes=3))
            office.fire(dossier, "rate", office.cast.applicant, rating=rating)

    # -- apologies ahead of time ----------------------------------------------------------------------

    def review(self) -> None:
        """The leader's look at the dossiers whose apology falls due soon: a letter for those that will
        not make it (waiting for a verification, or their handler away until the appointment)."""
        office = self.office
        horizon = office.now() + _LOOK_AHEAD
        while office.watch and office.watch[0][0] <= horizon:
            _, _, dossier = office.pop_watch()
            if dossier.arrival.fate.apology == "in_time" and self._will_be_late(dossier):
                office.apologise(dossier)

    def _will_be_late(self, dossier: Dossier) -> bool:
        if dossier.lifecycle not in {"received", "processing"} or dossier.appointment is None:
            return False
        due_day = local_day(dossier.appointment)
        if dossier.ready_from is not None and local_day(dossier.ready_from) >= due_day:
            return True
        handler = dossier.handler
        if handler is None:
            return False
        days_left = sum(handler.present(day) for day in self._days_until(due_day))
        ahead = sum(d.arrival.fate.effort_minutes for d in self.office.queues[handler.actor.name]
                    if d.appointment is not None and d.appointment <= dossier.appointment)
        return days_left == 0 or ahead > days_left * handler.daily_minutes

    def _days_until(self, due_day: date) -> list[date]:
        day, days = self.office.today(), list[date]()
        while day <= due_day and len(days) < _HORIZON_DAYS:
            if self.office.calendar.is_working_day(day):
                days.append(day)
            day += timedelta(days=1)
        return days


def _at_the_counter(dossier: Dossier) -> bool:
    """A same-day procedure (chứng thực): done while the applicant waits, whatever else is queued."""
    return dossier.arrival.procedure.time_for(dossier.arrival.channel).amount == 0


def _deadline(dossier: Dossier) -> datetime:
    return dossier.appointment or datetime.max.replace(tzinfo=VN_TZ)


def _late(dossier: Dossier, now: datetime) -> bool:
    return dossier.appointment is not None and local_day(now) > local_day(dossier.appointment)
