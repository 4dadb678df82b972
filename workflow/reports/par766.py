"""The Decision 766/QĐ-TTg indicators computable from dossiers (one-stop-shop.md, the official reports), as counts
then scores.

:class:`IndicatorCounts` are plain counts over the dossiers of a period, each one a ``SUM(CASE …)``
that a SQL adapter computes in one aggregation over the reporting projection;
:func:`indicator_counts` is the reference over :class:`~motcua.workflow.reports.projection.DossierFacts`.
:func:`par766` turns counts into scored indicators with the points and thresholds of a rule set,
never with numbers of its own.

Populations (where motcua's own definitions are silent, the national formula sheet of Decision 766 decides):

- *to handle*: the dossiers of Biểu 06's total, with its semantics (never-accepted ones left out);
  progress, satisfaction, ratings and late dossiers count among them;
- *received*: accepted dossiers whose reception date is in the period (Biểu 06's online + direct/postal);
  the online indicator, electronic results, digitisation, online payment and electronic hand-overs count
  among them, as the formula sheet counts its dossier indicators by reception date.

The *online* indicator is the national one (docs/explanation/one-stop-shop.md, the online indicator): the received
dossiers received online ÷ the received dossiers, both of procedures eligible for full-online service (toàn trình) on
the date of their reception (``DossierFacts.full_online_eligible``, judged with the catalogue's dated eligibility);
a dossier of a procedure not eligible then counts in neither, whatever its channel. Every scored indicator carries
its numerator and denominator, so a reader can check the percentage.

The *progress* indicator is Biểu 06's (resolved early + on time + in progress within the limit, ÷ to handle) with one
difference, the portal's: a dossier asked to supplement more than :data:`SUPPLEMENT_REQUESTS_ON_TIME` time(s)
(``DossierFacts.supplement_requests``, a leader's authorised extra request included) is not on time there, whatever
its dates (``resupplemented`` counts those Biểu 06 calls early, on time or within). Only there: Biểu 06, the late
dossiers and the satisfaction indicator keep Biểu 06's semantics (docs/explanation/one-stop-shop.md, limits on
letters).

The *payment* indicator (online payment) is the received dossiers with a fee paid online ÷ the received dossiers with
a fee, the fee being the one the catalogue's fee schedule gave the dossier at reception (``DossierFacts.fee``). A
dossier whose fee the catalogue does not know (a fee the provincial council sets, its amount not given:
``fee_known`` false) counts in neither: it is not free, and it is not known to carry a fee; ``fee_unknown`` counts
them and the scorecard says how many were left out (docs/explanation/one-stop-shop.md, fees).

The ``sync`` indicator (docs/how-to/sync-to-dvcqg.md) is decided by the data, never by a process's settings: its
population is the *received* dossiers motcua handles itself (imported ones come from the portal) that
were *published* — with at least one ``dvcqg.sync`` effect in the outbox; a dossier received before
publishing was turned on has none and is left out. Its numerator is those whose every change (audit
entry) is synced, as the sync status stands when the report is computed. A period none of whose dossiers
was published is reported "not measured" (0, 0 points and a note), never estimated.

The feedback indicators (``petition_on_time``, ``petition_satisfaction``) are counted over the citizens' feedback of
the period (:class:`FeedbackCounts`, the ``pakn`` cases: :mod:`motcua.workflow.feedback.metrics`), and the
*complaint rate* of ``satisfaction`` (100 % − (late rate + complaint rate)) counts, besides the dossiers rated
unsatisfied, the dossiers that feedback received in the period concerns, each dossier once
(:func:`with_dossier_ratings`; docs/explanation/one-stop-shop.md).
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date

from motcua.workflow.dossiers.catalogue import SCORED_INDICATORS, RuleSet
from motcua.workflow.engine.model import JsonValue
from motcua.workflow.reports.projection import DossierFacts, bieu06

__all__ = [
    "FEE_UNKNOWN",
    "INDICATOR_KEYS",
    "SATISFIED_RATING",
    "SUPPLEMENT_REQUESTS_ON_TIME",
    "FeedbackCounts",
    "Indicator",
    "IndicatorCounts",
    "Scorecard",
    "indicator_counts",
    "par766",
    "scorecard",
    "with_dossier_ratings",
]

SATISFIED_RATING = 4  # ratings are 1–5; 4 "hài lòng" and 5 "rất hài lòng" count as satisfied
SUPPLEMENT_REQUESTS_ON_TIME = 1  # the portal counts a dossier asked to supplement more often not on time (progress)
SYNC_NOT_MEASURED = (
    "sync: not measured — no dossier of the period was published to DVCQG (no portal was configured when they "
    "were handled), so the value is reported as 0 with 0 points, not estimated"
)
FEE_UNKNOWN = (
    "payment: {count} received dossier(s) of a procedure whose fee the catalogue does not know (set by the provincial "
    "council, amount not given) are left out of the payment indicator, neither free nor paid"
)
NOT_APPLICABLE = "{key}: no dossier in the denominator for this period (N/A, 0 points)"
NO_FEEDBACK = "{key}: no feedback (phản ánh, kiến nghị) in the denominator for this period (N/A, 0 points)"

# Output key → the key of the indicator in the rule set's ``par766`` (points and thresholds live there), in the order
# of SCORED_INDICATORS, the indicators every rule set is checked to give when it loads.
INDICATOR_KEYS: Mapping[str, str] = dict(zip(
    ("progress", "online", "e_result", "digitized", "satisfaction", "payment", "sync", "petition_on_time",
     "petition_satisfaction"), SCORED_INDICATORS, strict=True))
_FEEDBACK_KEYS = frozenset({"petition_on_time", "petition_satisfaction"})


@dataclass(frozen=True, slots=True)
class IndicatorCounts:
    """Counts over the dossiers of one period; see the module docstring for the two populations."""

    total: int = 0  # to handle (Biểu 06 total)
    resolved_early: int = 0
    resolved_on_time: int = 0
    resolved_late: int = 0
    pending_within: int = 0
    pending_overdue: int = 0
    late: int = 0  # to handle, resolved late or still pending past the appointment
    late_apologised: int = 0  # of the late ones, with an apology sent in time
    resupplemented: int = 0  # early, on time or within, yet asked to supplement more than once: late for progress
    rated: int = 0  # to handle, rated by the applicant
    satisfied: int = 0  # of the rated ones, rating ≥ SATISFIED_RATING
    received: int = 0  # received in the period
    received_online: int = 0
    full_online_eligible: int = 0  # received, of a procedure eligible for full-online service on the date of R
    full_online: int = 0  # of those, received online (hồ sơ trực tuyến toàn trình)
    paper_result: int = 0  # received, of a procedure that returns a paper result
    electronic_result: int = 0  # of those, with an electronic result issued
    digitized: int = 0  # received, digitised, with an electronic result where the procedure returns paper
    with_fee: int = 0  # received, with a known non-zero fee
    paid_online: int = 0  # of those, paid online
    fee_unknown: int = 0  # received, whose fee the catalogue does not know (council, no amount): in neither
    electronic_handover: int = 0  # received, handed over at least once and every time electronically
    sync_total: int = 0  # received, handled in motcua (not imported) and published to DVCQG
    synced: int = 0  # of those, every change synced to DVCQG

    @property
    def sync_measured(self) -> bool:
        """At least one dossier of the period was published to DVCQG: the sync counts mean something."""
        return self.sync_total > 0

    def as_json(self) -> dict[str, JsonValue]:
        counts: dict[str, JsonValue] = {item.name: int(getattr(self, item.name)) for item in fields(self)}
        return {**counts, "sync_measured": self.sync_measured}


@dataclass(frozen=True, slots=True)
class FeedbackCounts:
    """Counts over the citizens' feedback (``pakn`` cases) of one period, Biểu 06's way: *to handle* are those
    within the unit's competence (not declined) received by the period's end and not answered before its start;
    *received* are those received in it (declined ones too)."""

    received: int = 0
    to_handle: int = 0
    answered_on_time: int = 0  # to handle, answered in the period by the (extended) deadline's Vietnam date
    answered_late: int = 0
    pending_within: int = 0  # to handle, not answered at the period's end, deadline not passed
    pending_overdue: int = 0
    unsatisfied: int = 0  # answered in the period, rated unsatisfied by the sender
    on_dossiers: int = 0  # the dossiers that feedback received in the period (not declined) concerns, each once
    on_dossiers_rated_unsatisfied: int = 0  # of those, to handle in the period and rated below SATISFIED_RATING
    concerned: frozenset[str] = field(default=frozenset(), compare=False, repr=False)  # on_dossiers' codes

    @property
    def answered(self) -> int:
        return self.answered_on_time + self.answered_late

    def as_json(self) -> dict[str, JsonValue]:
        counts: dict[str, JsonValue] = {item.name: int(getattr(self, item.name)) for item in fields(self)
                                        if item.name != "concerned"}
        return {**counts, "answered": self.answered}


def with_dossier_ratings(
    feedback: FeedbackCounts, facts: Mapping[str, DossierFacts], start: date, end: date, *,
    units: frozenset[str] | None = None,
) -> FeedbackCounts:
    """``feedback`` with ``on_dossiers_rated_unsatisfied`` counted: of the dossiers it concerns, those that the
    complaint rate already counts as rated unsatisfied — to handle in [start, end], counted under ``units``, rated
    below :data:`SATISFIED_RATING` — so that a dossier both rated so and complained of is one complaint. ``facts``:
    the folded facts of (at least) those dossiers, read together (``Reports.facts_by_code``)."""
    both = 0
    for code in feedback.concerned:
        item = facts.get(code)
        if item is None or not item.counted_in(units):
            continue
        counts = _dossier_counts(item, start, end, frozenset(), frozenset())
        both += int(counts.get("rated", 0) == 1 and counts.get("satisfied", 0) == 0)
    return replace(feedback, on_dossiers_rated_unsatisfied=both)


def indicator_counts(
    facts: Iterable[DossierFacts], start: date, end: date, *, published: Container[str] = frozenset(),
    synced: Container[str] = frozenset(), units: frozenset[str] | None = None,
) -> IndicatorCounts:
    """The reference counts for [start, end]: Biểu 06's semantics dossier by dossier, then the rest.

    ``published``: the codes of the dossiers with at least one ``dvcqg.sync`` effect; ``synced``: those whose
    every change reached DVCQG; ``units``: only the dossiers counted under one of them (``None``: every
    dossier), by the rule of :mod:`motcua.workflow.reports.projection`."""
    totals = dict.fromkeys((item.name for item in fields(IndicatorCounts)), 0)
    for item in facts:
        if not item.counted_in(units):
            continue
        for name, value in _dossier_counts(item, start, end, published, synced).items():
            totals[name] += value
    return IndicatorCounts(**totals)


def _dossier_counts(
    item: DossierFacts, start: date, end: date, published: Container[str], synced: Container[str]
) -> dict[str, int]:
    row = bieu06([item], start, end).total  # one dossier's Biểu 06 row: its semantics, written once
    if not row.total:
        return {}
    late = row.resolved_late + row.pending_overdue
    counts = {
        "total": 1, "resolved_early": row.resolved_early, "resolved_on_time": row.resolved_on_time,
        "resolved_late": row.resolved_late, "pending_within": row.pending_within,
        "pending_overdue": row.pending_overdue, "late": late,
        "late_apologised": int(late > 0 and item.apologies_in_time > 0),
        "resupplemented": int(late == 0 and item.supplement_requests > SUPPLEMENT_REQUESTS_ON_TIME),
        "rated": int(item.rating is not None),
        "satisfied": int(item.rating is not None and item.rating >= SATISFIED_RATING),
    }
    if row.online + row.direct_postal:
        counts.update(_received_counts(item, online=row.online > 0))
        if not item.imported and item.code in published:
            counts.update(sync_total=1, synced=int(item.code in synced))
    return counts


def _received_counts(item: DossierFacts, *, online: bool) -> dict[str, int]:
    return {
        "received": 1, "received_online": int(online),
        "full_online_eligible": int(item.full_online_eligible),
        "full_online": int(item.full_online_eligible and online),
        "paper_result": int(item.paper_result),
        "electronic_result": int(item.paper_result and item.electronic_result),
        "digitized": int(item.digitized and (item.electronic_result or not item.paper_result)),
        "with_fee": int(item.fee_known and item.fee != 0),
        "paid_online": int(item.fee_known and item.fee != 0 and item.paid_online),
        "fee_unknown": int(not item.fee_known),
        "electronic_handover": int(0 < item.handovers == item.electronic_handovers),
    }


# -- scores ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Indicator:
    """One scored indicator: ``value`` = ``numerator`` ÷ ``denominator`` in percent (``None`` when the denominator
    is 0), points earned."""

    key: str
    value: float | None
    points: float
    max_points: float
    numerator: int
    denominator: int

    def as_json(self) -> dict[str, JsonValue]:
        return {"key": self.key, "numerator": self.numerator, "denominator": self.denominator, "value": self.value,
                "points": self.points, "max_points": self.max_points}


@dataclass(frozen=True, slots=True)
class Scorecard:
    start: date
    end: date
    rule_set: str
    indicators: tuple[Indicator, ...]
    notes: tuple[str, ...] = ()

    @property
    def total_points(self) -> float:
        return round(sum(indicator.points for indicator in self.indicators), 2)

    @property
    def max_points(self) -> float:
        return round(sum(indicator.max_points for indicator in self.indicators), 2)

    def as_json(self) -> dict[str, JsonValue]:
        return {
            "from": self.start.isoformat(), "to": self.end.isoformat(), "rule_set": self.rule_set,
            "indicators": [indicator.as_json() for indicator in self.indicators],
            "total_points": self.total_points, "notes": list(self.notes),
        }


Ratio = Callable[[IndicatorCounts, FeedbackCounts], tuple[int, int] | None]


def _progress(c: IndicatorCounts, f: FeedbackCounts) -> tuple[int, int]:
    """Biểu 06's early, on time and within, less the dossiers asked to supplement more than once."""
    return c.resolved_early + c.resolved_on_time + c.pending_within - c.resupplemented, c.total


def _satisfaction(c: IndicatorCounts, f: FeedbackCounts) -> tuple[int, int]:
    """100 % − (late rate + complaint rate), as a share of the dossiers to handle: less the late ones and the
    complaints — the dossiers rated unsatisfied (a rating below 4) or concerned by feedback received in the period,
    each dossier once."""
    complaints = (c.rated - c.satisfied) + f.on_dossiers - f.on_dossiers_rated_unsatisfied
    return c.total - c.late - complaints, c.total


def _petition_on_time(c: IndicatorCounts, f: FeedbackCounts) -> tuple[int, int]:
    """Feedback answered on time (or early) or still within its deadline ÷ feedback to handle."""
    return f.answered_on_time + f.pending_within, f.to_handle


def _petition_satisfaction(c: IndicatorCounts, f: FeedbackCounts) -> tuple[int, int]:
    """Answered feedback whose sender did not say "unsatisfied" ÷ feedback answered in the period."""
    return f.answered - f.unsatisfied, f.answered


_RATIOS: Mapping[str, Ratio] = {
    "progress": _progress,
    "online": lambda c, f: (c.full_online, c.full_online_eligible),
    "e_result": lambda c, f: (c.electronic_result, c.paper_result),
    "digitized": lambda c, f: (c.digitized, c.received),
    "satisfaction": _satisfaction,
    "payment": lambda c, f: (c.paid_online, c.with_fee),
    "sync": lambda c, f: (c.synced, c.sync_total) if c.sync_measured else None,  # else SYNC_NOT_MEASURED
    "petition_on_time": _petition_on_time,
    "petition_satisfaction": _petition_satisfaction,
}


def par766(counts: IndicatorCounts, rules: RuleSet, feedback: FeedbackCounts | None = None) -> list[Indicator]:
    """The dossier and feedback indicators of Decision 766 scored with ``rules``' points and thresholds
    (``feedback``: the period's feedback counts; none given, no feedback).

    Points are ``max_points`` from ``full_at_percent`` up, proportional below it; a value is a percentage
    rounded to two decimals, like the national dashboard shows it.
    """
    chosen = feedback if feedback is not None else FeedbackCounts()
    return [_score(key, counts, chosen, rules) for key in INDICATOR_KEYS]


def scorecard(
    counts: IndicatorCounts, rules: RuleSet, start: date, end: date, feedback: FeedbackCounts | None = None,
) -> Scorecard:
    indicators = tuple(par766(counts, rules, feedback))
    notes = [(NO_FEEDBACK if i.key in _FEEDBACK_KEYS else NOT_APPLICABLE).format(key=i.key)
             for i in indicators if i.value is None]
    if not counts.sync_measured:
        notes.append(SYNC_NOT_MEASURED)
    if counts.fee_unknown:
        notes.append(FEE_UNKNOWN.format(count=counts.fee_unknown))
    return Scorecard(start, end, rules.key, indicators, tuple(notes))


def _score(key: str, counts: IndicatorCounts, feedback: FeedbackCounts, rules: RuleSet) -> Indicator:
    spec = rules.par766.indicator(INDICATOR_KEYS[key])
    ratio = _RATIOS[key](counts, feedback)
    if ratio is None:
        return Indicator(key, 0.0, 0.0, spec.max_points, 0, 0)
    numerator, denominator = max(ratio[0], 0), ratio[1]  # satisfaction's difference is never below 0
    if denominator == 0:
        return Indicator(key, None, 0.0, spec.max_points, numerator, denominator)
    percent = 100 * numerator / denominator
    points = spec.max_points * min(1.0, percent / spec.full_at_percent)
    return Indicator(key, round(percent, 2), round(points, 2), spec.max_points, numerator, denominator)
