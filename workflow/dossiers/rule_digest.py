"""The digest of a rule set's meaning: a database pins it like a workflow version (:mod:`motcua.workflow.engine.pins`).

A case keeps the key of the rule set in force at its reception (``Case.rule_set``) and its actions read that rule set
by key for as long as it runs: its escalations, its warnings, how often it may be re-dated or asked for a supplement,
its feedback's time limits, whether it may still be withdrawn. A rule set edited in place would change them under
every case received under it, as a workflow version edited in place would; so it is pinned too.

What counts is every value a decision or a report computes with: the numbers, the flags, the roles notified, the form
*numbers*, the Decision 766 points and thresholds. What is left out:

- the texts a person reads and nothing computes with: the title, the legal bases, a form's name and note, the
  ``source`` a refusal cites, an escalation's label, the Decision 766 decision, group and indicator labels and
  formula descriptions (the shipped files mark citations still to be checked against the texts: correcting one is
  not a change of rules);
- the end of the validity window (``effective_to``): publishing the next legal frame is done by closing this one's
  window (the rule book refuses a gap or an overlap between frames), which must not need a re-pin.

Its start (``effective_from``) counts: the window is read again after reception — a later sync of an imported
dossier looks up the frame in force on its reception day, a period's Decision 766 scorecard the frame in force at its
end — so moving a frame's start in place would refuse an imported dossier's next sync or score a past period by
other points.
"""

from __future__ import annotations

from typing import Final

from motcua.workflow.dossiers.catalogue import (
    EscalationStep,
    FeedbackRule,
    FormSpec,
    Par766,
    Par766Group,
    Par766Indicator,
    RedatingRule,
    RuleSet,
    SupplementRule,
    WithdrawalRule,
)
from motcua.workflow.engine.pins import Treatment, Treatments, digest

__all__ = ["RULE_SET_TREATMENTS", "rule_set_digest"]

_CITED: Final = {"source": Treatment.OMIT}

RULE_SET_TREATMENTS: Final[Treatments] = {
    RuleSet: {"title": Treatment.OMIT, "legal_basis": Treatment.OMIT, "effective_to": Treatment.OMIT},
    FormSpec: {"name": Treatment.OMIT, "note": Treatment.OMIT},
    WithdrawalRule: _CITED,
    RedatingRule: _CITED,
    SupplementRule: _CITED,
    FeedbackRule: _CITED,
    EscalationStep: {"label": Treatment.OMIT},
    Par766: {"decision": Treatment.OMIT, "indicators": Treatment.SET},  # each scored by its key: their order is display
    Par766Group: {"label": Treatment.OMIT},
    Par766Indicator: {"label": Treatment.OMIT, "formula": Treatment.OMIT},
}
"""What of a rule set is display only, or decides nothing a running case reads (module doc)."""


def rule_set_digest(rules: RuleSet) -> str:
    """The digest of a rule set's meaning (:data:`RULE_SET_TREATMENTS`)."""
    return digest(rules, RULE_SET_TREATMENTS)
