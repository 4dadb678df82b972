"""Receiving citizens' feedback (phản ánh, kiến nghị): a ``pakn`` case, numbered per receiving unit and day.

The opening is decided first and thrown away (:meth:`CaseService.vet_opening`), so a refused submission draws no
number and writes nothing; then the case is opened with the number drawn. Which unit may receive, and whether a
dossier it names exists for the caller, are checked by the caller's scope (:class:`~motcua.workflow.access.cases.
ScopedCases`), never here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from motcua.workflow.dossiers.catalogue import RuleBook
from motcua.workflow.engine.clock import to_vietnam_time
from motcua.workflow.engine.model import Actor, Case, JsonValue
from motcua.workflow.engine.ports import CaseStore
from motcua.workflow.engine.service import CaseService
from motcua.workflow.feedback.actions import FEEDBACK_WORKFLOW

__all__ = ["CODE_PREFIX", "Feedback", "FeedbackChannel", "new_feedback_code", "open_feedback"]

CODE_PREFIX = "PAKN"
FeedbackChannel = Literal["direct", "online", "postal", "phone"]


@dataclass(frozen=True, slots=True)
class Feedback:
    """One piece of feedback as received: ``sender_name``, ``contact``, ``content`` and ``applicant_id`` (the
    sender's identity number, if known) are personal data; ``dossier``: the code of the dossier it concerns, if any;
    ``private``: not to be published."""

    sender_name: str
    content: str
    channel: FeedbackChannel = "direct"
    contact: str | None = None
    dossier: str | None = None
    private: bool = False
    applicant_id: str | None = None

    def as_data(self, unit: str) -> dict[str, JsonValue]:
        data: dict[str, JsonValue] = {
            "sender_name": self.sender_name, "content": self.content, "channel": self.channel, "unit": unit,
            "private": self.private,
        }
        if self.contact:
            data["contact"] = self.contact
        if self.dossier:
            data["dossier"] = self.dossier
        if self.applicant_id:
            data["applicant_id"] = self.applicant_id
        return data


def _opening(service: CaseService, rules: RuleBook, feedback: Feedback, unit: str) -> tuple[dict[str, JsonValue], str]:
    """The opening data of ``feedback`` at ``unit`` and the rule set in force today."""
    return feedback.as_data(unit), rules.in_force(to_vietnam_time(service.engine.clock.now()).date()).key


def new_feedback_code(
    service: CaseService, store: CaseStore, rules: RuleBook, feedback: Feedback, actor: Actor, *, unit: str,
) -> str:
    """The next code ``PAKN-<unit>-<yyMMdd>-<sequence>`` for ``feedback`` at ``unit``, drawn only once its opening
    is vetted: a refused submission draws no number."""
    data, rule_set = _opening(service, rules, feedback, unit)
    service.vet_opening(FEEDBACK_WORKFLOW, actor, data, rule_set=rule_set)
    scope = f"{CODE_PREFIX}-{unit}-{to_vietnam_time(service.engine.clock.now()).strftime('%y%m%d')}"
    return f"{scope}-{store.next_sequence(scope):04d}"


def open_feedback(
    service: CaseService, store: CaseStore, rules: RuleBook, feedback: Feedback, actor: Actor, *, unit: str,
    code: str | None = None,
) -> Case:
    """Open the ``pakn`` case of ``feedback`` received at ``unit`` now, under the rule set in force today, under
    ``code`` (one reserved earlier by :func:`new_feedback_code`) or a new one."""
    chosen = code or new_feedback_code(service, store, rules, feedback, actor, unit=unit)
    data, rule_set = _opening(service, rules, feedback, unit)
    return service.open(FEEDBACK_WORKFLOW, chosen, actor, data, rule_set=rule_set)
