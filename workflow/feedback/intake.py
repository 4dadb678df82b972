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

__all__ = ["CODE_PREFIX", "Feedback", "FeedbackChannel", "open_feedback"]

CODE_PREFIX = "PAKN"
FeedbackChannel = Literal["direct", "online", "postal", "phone"]


@dataclass(frozen=True, slots=True)
class Feedback:
    """One piece of feedback as received: ``sender_name``, ``contact`` and ``content`` are personal data;
    ``dossier``: the code of the dossier it concerns, if any; ``private``: not to be published."""

    sender_name: str
    content: str
    channel: FeedbackChannel = "direct"
    contact: str | None = None
    dossier: str | None = None
    private: bool = False

    def as_data(self, unit: str) -> dict[str, JsonValue]:
        data: dict[str, JsonValue] = {
            "sender_name": self.sender_name, "content": self.content, "channel": self.channel, "unit": unit,
            "private": self.private,
        }
        if self.contact:
            data["contact"] = self.contact
        if self.dossier:
            data["dossier"] = self.dossier
        return data


def open_feedback(
    service: CaseService, store: CaseStore, rules: RuleBook, feedback: Feedback, actor: Actor, *, unit: str,
) -> Case:
    """Open the ``pakn`` case of ``feedback`` received at ``unit`` now, under the rule set in force today; its code
    is ``PAKN-<unit>-<yyMMdd>-<sequence>``."""
    now = to_vietnam_time(service.engine.clock.now())
    data, rule_set = feedback.as_data(unit), rules.in_force(now.date()).key
    service.vet_opening(FEEDBACK_WORKFLOW, actor, data, rule_set=rule_set)
    scope = f"{CODE_PREFIX}-{unit}-{now.strftime('%y%m%d')}"
    code = f"{scope}-{store.next_sequence(scope):04d}"
    return service.open(FEEDBACK_WORKFLOW, code, actor, data, rule_set=rule_set)
