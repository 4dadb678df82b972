"""The limits the one-stop rules put on a dossier's letters: one new date for a late result, one supplement request.

Each limit is a setting of the dossier's rule set, enforced by one guard that refuses by the rule (a
:class:`~motcua.workflow.engine.registry.Refusal`: the engine raises
:class:`~motcua.workflow.errors.RuleRefused`, naming the rule and its source, and nothing is written); the actions
here record what the guards count (docs/explanation/one-stop-shop.md, limits on letters).

- **One re-dating** (``redating``). An apology letter (``apologize``) may fix a new date for the result
  (``new_date``, optional); ``redating.allowed`` letters of a dossier may, counted over its ``apologies`` that carry
  one (guard ``redating_allowed``). A letter without a new date is never limited. The new date itself must be
  neither before today nor before the legal appointment (:func:`checked_new_date`, a
  :class:`~motcua.workflow.errors.MalformedData`). The legal appointment is never moved by a letter: the promise is
  recorded beside it, as an ``apology`` entry of ``appointment_history``.
- **One supplement request** (``supplement_requests``). A received dossier may be asked in writing to supplement
  ``supplement_requests.allowed`` times (guard ``supplement_request_allowed``, counting the attribute
  ``supplement_requests``); one more only when a leader authorised it with a reason
  (``authorise_extra_supplement``, which records ``supplement_authorisation``: who, when, why), and that request
  consumes the authorisation. Every request is recorded in ``supplement_history`` with whether it came within
  ``supplement_requests.within_working_days`` working days of reception — or the procedure's own limit (sector law,
  :attr:`~motcua.workflow.dossiers.catalogue.Procedure.supplement_request_within_working_days`) — counted on the
  deciding unit's calendar like the appointment.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from functools import partial
from typing import TYPE_CHECKING, Final

from motcua.workflow.dossiers.catalogue import RuleSet
from motcua.workflow.dossiers.sla import attribute_instant
from motcua.workflow.engine.bounds import day_problem
from motcua.workflow.engine.clock import instant, text, to_vietnam_time
from motcua.workflow.engine.model import JsonValue
from motcua.workflow.engine.registry import Context, Outcome, Refusal, Registry
from motcua.workflow.errors import MalformedData

if TYPE_CHECKING:
    from motcua.workflow.dossiers.actions import DossierServices

__all__ = [
    "AUTHORISATION",
    "REDATING_RULE",
    "SUPPLEMENT_RULE",
    "checked_new_date",
    "extra_supplement_needed",
    "redating_allowed",
    "register_limits",
    "supplement_request_allowed",
]

REDATING_RULE: Final = "redating_limit"
"""The rule a second re-dating is refused by (the rule set's ``redating``)."""
SUPPLEMENT_RULE: Final = "supplement_request_limit"
"""The rule a supplement request past the limit is refused by (the rule set's ``supplement_requests``)."""
AUTHORISATION: Final = "supplement_authorisation"
"""The attribute holding a leader's authorisation of one more supplement request until a request consumes it."""
HISTORY: Final = "supplement_history"


def _records(attributes: Mapping[str, JsonValue], name: str) -> list[dict[str, JsonValue]]:
    value = attributes.get(name)
    return [dict(item) for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _count(attributes: Mapping[str, JsonValue], name: str) -> int:
    value = attributes.get(name)
    return value if isinstance(value, int) else 0


def _shown(value: JsonValue) -> str:
    """A recorded instant or date as a Vietnamese reader writes a day (dd/mm/yyyy)."""
    if not isinstance(value, str):
        return "?"
    day = to_vietnam_time(instant(value)).date() if "T" in value else date.fromisoformat(value)
    return day.strftime("%d/%m/%Y")


# -- one re-dating --------------------------------------------------------------------------------


def redating_allowed(rules: RuleSet, context: Context) -> bool | Refusal:
    """An apology letter with a new date, while fewer than ``redating.allowed`` letters of the dossier fixed one."""
    if context.data.get("new_date") is None:
        return True
    dated = [letter for letter in _records(context.attributes, "apologies") if letter.get("new_date") is not None]
    allowed = rules.redating.allowed
    if len(dated) < allowed:
        return True
    if not dated:
        reason = "theo bộ quy tắc của hồ sơ, thư xin lỗi không được hẹn lại ngày trả kết quả"
    else:
        first = dated[0]
        reason = (f"thư xin lỗi ngày {_shown(first.get('at'))} đã hẹn lại ngày trả kết quả là "
                  f"{_shown(first.get('new_date'))}; chỉ được hẹn lại {allowed} lần — gửi thư xin lỗi không kèm "
                  "ngày hẹn mới")
    return Refusal(rule=REDATING_RULE, source=rules.redating.source, reason=reason)


def checked_new_date(context: Context) -> date | None:
    """The apology's new date, if it has one, checked against the dossier: a date before today, or before the legal
    appointment (the appointment after pauses), or after the last day a person may name
    (:data:`~motcua.workflow.engine.bounds.LAST_DAY`), is refused as malformed data — before the one re-dating a
    letter may make is used up by a typo."""
    value = context.data.get("new_date")
    if value is None:
        return None
    day = date.fromisoformat(str(value))
    today = to_vietnam_time(context.now).date()
    appointment = attribute_instant(context.attributes, "appointment")
    if (outside := day_problem(day)) is not None:
        problem = f"the new date {outside}"
    elif day < today:
        problem = f"the new date {day.isoformat()} is before today ({today.isoformat()})"
    elif appointment is not None and day < (legal := to_vietnam_time(appointment).date()):
        problem = f"the new date {day.isoformat()} is before the appointment ({legal.isoformat()})"
    else:
        return day
    raise MalformedData(context.trigger, {"new_date": problem})


# -- one supplement request -----------------------------------------------------------------------


def supplement_request_allowed(rules: RuleSet, context: Context) -> bool | Refusal:
    """A supplement request while fewer than ``supplement_requests.allowed`` were made, or with a leader's
    authorisation not yet consumed."""
    made, allowed = _count(context.attributes, "supplement_requests"), rules.supplement_requests.allowed
    if made < allowed or isinstance(context.attributes.get(AUTHORISATION), dict):
        return True
    history = _records(context.attributes, HISTORY)
    first = f"lần đầu ngày {_shown(history[0].get('at'))}" if history else "ngày yêu cầu không được ghi lại"
    reason = (f"hồ sơ đã được yêu cầu bổ sung {made} lần ({first}); chỉ được yêu cầu {allowed} lần — yêu cầu thêm "
              "cần lãnh đạo cho phép, có nêu lý do (authorise_extra_supplement)")
    return Refusal(rule=SUPPLEMENT_RULE, source=rules.supplement_requests.source, reason=reason)


def extra_supplement_needed(rules: RuleSet, context: Context) -> bool:
    """A leader may authorise one more request only when the next one would be refused: the allowed requests are
    made and no authorisation waits to be consumed."""
    made = _count(context.attributes, "supplement_requests")
    return made >= rules.supplement_requests.allowed and not isinstance(context.attributes.get(AUTHORISATION), dict)


def _supplement_limit(services: DossierServices, context: Context) -> tuple[int, datetime | None]:
    """The working days the request is due within, and the last instant within them (``None``: never received)."""
    rules = services.rule_set(context)
    code = str(context.attributes.get("procedure", ""))
    own = services.catalogue.get(code).supplement_request_within_working_days if code in services.catalogue else None
    days = rules.supplement_requests.within_working_days if own is None else own
    received = attribute_instant(context.attributes, "received_at")
    return days, None if received is None else services.clock_for(context).working_days_from(received, days)


def _record_supplement_request(services: DossierServices, context: Context) -> Outcome:
    """One entry of ``supplement_history`` per request; a pending authorisation is consumed and named in it."""
    days, limit = _supplement_limit(services, context)
    entry: dict[str, JsonValue] = {
        "at": text(context.now), "by": context.actor.name, "within_working_days": days,
        "within_limit": limit is not None and context.now <= limit,
    }
    attributes: dict[str, JsonValue] = {}
    authorisation = context.attributes.get(AUTHORISATION)
    if isinstance(authorisation, dict):
        entry.update(authorised_by=authorisation.get("by"), authorisation=authorisation)
        attributes[AUTHORISATION] = None
    attributes[HISTORY] = [*_records(context.attributes, HISTORY), entry]
    return Outcome(attributes=attributes)


def _record_authorisation(context: Context) -> Outcome:
    authorisation: dict[str, JsonValue] = {
        "at": text(context.now), "by": context.actor.name, "reason": context.data.get("reason"),
    }
    return Outcome(attributes={AUTHORISATION: authorisation})


def register_limits(registry: Registry, services: DossierServices) -> None:
    """The guards and actions of both limits, on the dossier's rule set."""
    registry.add_guard("redating_allowed", lambda c: redating_allowed(services.rule_set(c), c))
    registry.add_guard("supplement_request_allowed", lambda c: supplement_request_allowed(services.rule_set(c), c))
    registry.add_guard("extra_supplement_needed", lambda c: extra_supplement_needed(services.rule_set(c), c))
    registry.add_action("record_supplement_request", partial(_record_supplement_request, services))
    registry.add_action("record_supplement_authorisation", _record_authorisation)
