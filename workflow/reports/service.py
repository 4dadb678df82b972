"""The reports of a period, as every caller computes them: Biểu 06 and the Decision 766 scorecard.

One use case for the public API, the HTTP routes, the ``motcua report`` commands and the demo. The
reporting projection (:class:`~motcua.workflow.reports.ports.Reports`) is read as it stands: a caller
that wants the latest decisions included catches it up first, once, with :meth:`ReportService.caught_up`
(a request or a command before its one report; the demo once before its five Biểu 06 and its scorecard).

Every report checks its period first (:class:`~motcua.workflow.reports.periods.Period`: both days from 1990 to 2199,
the first not after the last), whoever the caller — the Python API's dates reach here unparsed, and a day past the
calendar's edge is the SQL projection's "still open" one.

Every report takes ``units``: the reports of those units alone, or, ``None``, of every dossier (the province). A
dossier is counted under one unit, the deciding unit that holds it now (the rule is written in
:mod:`motcua.workflow.reports.projection`), so the province's report is the sum of its units' reports. Which units a
caller may ask for (its scope, the register) is the caller's to check.

Given the store's case queries (``cases``), the scorecard's feedback indicators are counted over the citizens'
feedback (``pakn`` cases) of the same units and period (:mod:`motcua.workflow.feedback.metrics`); without them,
as with no feedback at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from motcua.workflow.dossiers.catalogue import RuleBook
from motcua.workflow.engine.ports import CaseQueries
from motcua.workflow.engine.queries import unit_codes
from motcua.workflow.feedback.metrics import feedback_cases, feedback_counts
from motcua.workflow.reports.par766 import Scorecard, scorecard, with_dossier_ratings
from motcua.workflow.reports.periods import Period
from motcua.workflow.reports.ports import Reports
from motcua.workflow.reports.projection import Bieu06

__all__ = ["ReportService"]


@dataclass(frozen=True, slots=True)
class ReportService:
    """The reports over ``projection``, the Decision 766 indicators scored with the rule set of ``rules``
    in force on the period's last day."""

    projection: Reports
    rules: RuleBook
    cases: CaseQueries | None = None

    def caught_up(self) -> ReportService:
        """Fold the audit entries written since the last catch-up: the reports that follow include every
        decision committed before this call."""
        self.projection.catch_up()
        return self

    def bieu06(self, start: date, end: date, *, units: frozenset[str] | None = None) -> Bieu06:
        """Biểu số 06/VPCP/KSTT for [start, end], of the dossiers of ``units`` (``None``: every dossier).
        :class:`~motcua.workflow.errors.InvalidInput` for a period that is not one (:class:`Period`)."""
        period = Period(start, end)
        chosen = None if units is None else unit_codes(units, "units")  # a text is refused, not read as characters
        return self.projection.bieu06(period.start, period.end, units=chosen)

    def scorecard(self, start: date, end: date, *, units: frozenset[str] | None = None) -> Scorecard:
        """The Decision 766 indicators and points for [start, end], under the rules in force at ``end``, of the
        dossiers of ``units`` (``None``: every dossier); a period that is not one refused as by :meth:`bieu06`."""
        Period(start, end)
        units = None if units is None else unit_codes(units, "units")
        counts = self.projection.indicator_counts(start, end, units=units)
        feedback = None
        if self.cases is not None:
            counted = feedback_counts(feedback_cases(self.cases, units), start, end, units=units)
            concerned = self.projection.facts_by_code(counted.concerned)  # one read, however many dossiers
            feedback = with_dossier_ratings(counted, concerned, start, end, units=units)
        return scorecard(counts, self.rules.in_force(end), start, end, feedback)

