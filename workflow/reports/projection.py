"""The reporting projection and the official report semantics (one-stop-shop.md, the official reports, the [ours]
definitions).

A dossier's :class:`DossierFacts` are folded from its audit entries in global order, so the
projection can be kept up to date incrementally and rebuilt from scratch. Biểu 06 is defined here
once, over facts, as the reference implementation; the SQL adapter computes the same numbers with
one ``GROUP BY`` and the tests hold the two to each other.

**The unit a dossier is counted under.** One unit, never two (``DossierFacts.unit``): its *deciding* unit as
the projection last folded it — the unit that ended it, or, while it is not ended, the unit that holds it
now. The opening entry sets it (the ``deciding_unit`` of its data); a ``transfer`` entry (a merger) moves it
to the successor only while the dossier's processing has not ended (``ended_at`` unset). So a dossier ended
before its unit was merged stays under the old unit (even if its result, ready, is handed back by the
successor), and one still open moves, with its whole history, to the successor. A report over a period
spanning a merger counts each dossier once, and a report of every unit (``units=None``: the province, or
the whole system) is the sum of the reports of its units. A dossier with no deciding unit recorded (opened
before units existed, or imported without one) is counted in the report of every unit only, until
``motcua units adopt`` gives it one.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from motcua.workflow.auditing.upcasting import upcast
from motcua.workflow.engine.audit import AuditEntry
from motcua.workflow.engine.bounds import day_problem
from motcua.workflow.engine.clock import to_vietnam_time
from motcua.workflow.engine.model import JsonValue
from motcua.workflow.worktime.hours import Timeliness, classify

__all__ = [
    "BIEU06_COUNTS",
    "NEVER_ACCEPTED",
    "Bieu06",
    "Bieu06Row",
    "DossierFacts",
    "EligibleOf",
    "Pause",
    "StatusOf",
    "bieu06",
    "fold",
]

StatusOf = Callable[[str, int, str], int | None]  # (definition key, version, lifecycle state) → DVCQG code
EligibleOf = Callable[[str, date], bool]  # (procedure code, Vietnam date of R) → eligible for full-online service
_CHANNEL_CODES = {"direct": 1, "online": 2, "postal": 3}
ONLINE = _CHANNEL_CODES["online"]
_END_CODES = frozenset({7, 8, 9, 10})
NEVER_ACCEPTED = frozenset({1, 3})  # TrangThaiHoSo of a dossier never accepted: left out of every report
DECIDING_UNIT = "deciding_unit"  # the attribute naming the unit a dossier is counted under


@dataclass(frozen=True, slots=True)
class Pause:
    """A stretch of time the legal clock stood still (supplement or payment), by Vietnam dates."""

    start: date
    end: date | None  # None: still paused


@dataclass(frozen=True, slots=True)
class DossierFacts:
    """What the reports need of one dossier. Instants are kept; report logic compares Vietnam dates."""

    code: str
    procedure: str
    field_code: str
    field_name: str
    channel: int | None  # KenhThucHien: 1 direct, 2 online, 3 postal
    status: int  # TrangThaiHoSo now
    received_at: datetime | None = None  # R
    ended_at: datetime | None = None  # E: first time the dossier reached 7, 8, 9 or 10
    appointment: datetime | None = None  # A: the legal appointment after pauses, never an apology's date
    pauses: tuple[Pause, ...] = ()
    paper_result: bool = True
    electronic_result: bool = False
    digitized: bool = False
    handovers: int = 0
    electronic_handovers: int = 0
    fee: int = 0
    fee_known: bool = True  # false: a council fee whose amount the catalogue does not know (left out of payment)
    paid_online: bool = False
    rating: int | None = None
    apologies: int = 0
    apologies_in_time: int = 0
    redated_in_time: bool = False  # an apology letter sent in time fixed a new date (the plan's apology coverage)
    supplement_requests: int = 0  # written requests to supplement after reception (Decision 766: a second is late)
    imported: bool = False
    full_online_eligible: bool = False  # its procedure was eligible for full-online service on the date of R
    position: int = 0  # the last audit position folded in
    unit: str | None = None  # the deciding unit it is counted under: set at opening, moved by a transfer until ended

    def counted_in(self, units: Container[str] | None) -> bool:
        """Counted in a report of ``units`` (``None``: every dossier, the province's or the whole system's)."""
        return units is None or (self.unit is not None and self.unit in units)

    @property
    def accepted(self) -> bool:
        """Accepted at the one-stop: a dossier never accepted (status 1 or 3, even with a reception date a portal
        record gives) is in no report — not in Biểu 06, the indicators, the tracking book or the plan's metrics."""
        return self.status not in NEVER_ACCEPTED

    def paused_on(self, day: date) -> bool:
        return any(p.start <= day and (p.end is None or p.end > day) for p in self.pauses)


# -- folding the log -----------------------------------------------------------------------------


def _instant(value: JsonValue) -> datetime | None:
    """An instant of the log, or None; one on a day outside those motcua takes is none: a portal's empty date
    (``00010101000000``) imported as year 1 before the importer refused it, which no report could fold (Vietnam's
    year 1 begins before UTC's)."""
    if not isinstance(value, str):
        return None
    moment = datetime.fromisoformat(value)
    return moment if day_problem(moment.date()) is None else None


def _vn_date(instant: datetime) -> date:
    return to_vietnam_time(instant).date()


def _opened(entry: AuditEntry, status: int) -> DossierFacts:
    data, changes = entry.data, entry.changes
    channel = _CHANNEL_CODES.get(str(data.get("channel")))
    return DossierFacts(
        code=entry.case_code, procedure=str(data.get("procedure", "")),
        field_code=str(changes.get("field_code", "")), field_name=str(changes.get("field_name", "")),
        channel=channel, status=status, paper_result=changes.get("paper_result") is not False,
        fee=fee if isinstance(fee := changes.get("fee"), int) else 0, fee_known=changes.get("fee_known") is not False,
        imported=entry.trigger == "import", position=entry.position or 0,
        unit=unit if isinstance(unit := changes.get(DECIDING_UNIT, data.get(DECIDING_UNIT)), str) else None,
    )


def fold(
    facts: DossierFacts | None, entry: AuditEntry, status_of: StatusOf, eligible_of: EligibleOf | None = None
) -> DossierFacts | None:
    """The facts after one more entry; ``None`` for entries of cases that are not dossiers.

    ``eligible_of`` judges, whenever R is set, whether the dossier's procedure was eligible for full-online service
    on the date of R (the catalogue's :meth:`~motcua.workflow.dossiers.catalogue.Catalogue.full_online_eligible`), so
    a rebuild judges old dossiers too; without it (a reader that never reports on the online indicator, such as the
    tracking book) ``full_online_eligible`` stays ``False``. ``entry`` is read upcast (:func:`upcast`), whatever its
    schema: every reader of the facts — the reports, the tracking book, the plan — sees an old entry's changes where
    the current schema keeps them."""
    entry = upcast(entry)
    status = status_of(entry.definition_key, entry.definition_version, entry.state_after.get("lifecycle", ""))
    if status is None:
        return facts
    current = _opened(entry, status) if facts is None else facts
    return _apply(current, entry, status, eligible_of)


def _apply(facts: DossierFacts, entry: AuditEntry, status: int, eligible_of: EligibleOf | None) -> DossierFacts:
    changes: dict[str, object] = {"status": status, "position": entry.position or facts.position}
    changes.update(_clock_changes(facts, entry.changes, entry.occurred_at, imported=entry.trigger == "import"))
    if "received_at" in changes and eligible_of is not None:
        received = changes["received_at"]
        changes["full_online_eligible"] = isinstance(received, datetime) and eligible_of(
            facts.procedure, _vn_date(received))
    changes.update(_record_changes(facts, entry))
    if (facts.ended_at is None or facts.unit is None) and isinstance(unit := entry.changes.get(DECIDING_UNIT), str):
        changes["unit"] = unit  # a transfer (an ended dossier stays put), or an adoption (any dossier)
    if facts.ended_at is None and status in _END_CODES:
        changes["ended_at"] = _instant(entry.changes.get("ended_at")) or entry.occurred_at
    return replace(facts, **changes)  # type: ignore[arg-type]  # the keys are DossierFacts fields


def _clock_changes(
    facts: DossierFacts, changed: Mapping[str, JsonValue], at: datetime, *, imported: bool,
) -> dict[str, object]:
    """R, A, the pauses and E as ``changed`` moves them. E is the first end of the engine's own dossier; of an imported
    one, what its latest record says (section 5: ``NgayKetThucXuLy`` when ``TrangThaiHoSo`` is 7–10, none otherwise),
    so a corrected end date in a later sync replaces the first."""
    out: dict[str, object] = {}
    if "received_at" in changed:
        out["received_at"] = _instant(changed["received_at"])
    if "appointment" in changed:
        out["appointment"] = _instant(changed["appointment"])
    if "paused_at" in changed:
        paused = _instant(changed["paused_at"])
        if paused is not None:
            out["pauses"] = _paused(facts.pauses, _vn_date(paused))
        elif facts.pauses and facts.pauses[-1].end is None:
            start = facts.pauses[-1].start
            out["pauses"] = (*facts.pauses[:-1], Pause(start, _resumed(changed.get("resumed_at"), start, at)))
    if "ended_at" in changed and (facts.ended_at is None or imported):
        out["ended_at"] = _instant(changed["ended_at"])
    return out


def _resumed(said: JsonValue, start: date, at: datetime) -> date:
    """The day a pause ends: the entry's, or, for a dossier imported from DVCQG, the day the record says the clock ran
    again (``resumed_at``, its last ``NgayTiepNhanBoSung``) when that day is between the pause's start and the
    import's — a supplied date before the start is another pause's, one after the import a date the portal cannot
    know yet."""
    resumed = _instant(said)
    day = _vn_date(at)
    return _vn_date(resumed) if resumed is not None and start <= _vn_date(resumed) <= day else day


def _paused(pauses: tuple[Pause, ...], start: date) -> tuple[Pause, ...]:
    """``pauses`` with a pause from ``start``. One still open ends where this one starts: a sync of the portal
    (DVCQG import) may see a supplement supplied and a second one asked at once — the engine's own dossiers never
    pause twice — and left open, the first would pause the clock on every later day. Seen again (the same start),
    the open pause stays as it is."""
    if pauses and pauses[-1].end is None:
        if pauses[-1].start == start:
            return pauses
        pauses = (*pauses[:-1], Pause(pauses[-1].start, start))
    return (*pauses, Pause(start, None))


def _record_changes(facts: DossierFacts, entry: AuditEntry) -> dict[str, object]:
    changed: Mapping[str, JsonValue] = entry.changes
    out: dict[str, object] = {}
    if entry.state_after.get("records") in ("digitized", "result_digitized"):
        out["digitized"] = True
    if "electronic_results" in changed or entry.state_after.get("records") == "result_digitized":
        out["electronic_result"] = True
    for name in ("handovers", "electronic_handovers", "rating", "supplement_requests"):
        if isinstance(changed.get(name), int):
            out[name] = changed[name]
    if "paid_online" in changed:
        out["paid_online"] = changed["paid_online"] is True
    if isinstance(apologies := changed.get("apologies"), list):
        out["apologies"] = len(apologies)
        in_time = [a for a in apologies if isinstance(a, dict) and a.get("in_time") is True]
        out["apologies_in_time"] = len(in_time)
        out["redated_in_time"] = any(a.get("new_date") is not None for a in in_time)
    return out


# -- Biểu 06 -------------------------------------------------------------------------------------

BIEU06_COUNTS = (
    "total", "online", "direct_postal", "carried_over", "resolved", "resolved_early", "resolved_on_time",
    "resolved_late", "pending", "pending_within", "pending_overdue",
)


@dataclass(slots=True)
class Bieu06Row:
    field_code: str
    field_name: str
    total: int = 0
    online: int = 0
    direct_postal: int = 0
    carried_over: int = 0
    resolved: int = 0
    resolved_early: int = 0
    resolved_on_time: int = 0
    resolved_late: int = 0
    pending: int = 0
    pending_within: int = 0
    pending_overdue: int = 0

    def counts(self) -> dict[str, int]:
        return {name: int(getattr(self, name)) for name in BIEU06_COUNTS}

    def add(self, other: Bieu06Row) -> None:
        for name in BIEU06_COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True, slots=True)
class Bieu06:
    start: date
    end: date
    rows: tuple[Bieu06Row, ...]
    total: Bieu06Row = field(default_factory=lambda: Bieu06Row("", "Tổng số"))

    def as_json(self) -> dict[str, JsonValue]:
        return {
            "from": self.start.isoformat(), "to": self.end.isoformat(),
            "rows": [{"field_code": r.field_code, "field_name": r.field_name, **r.counts()} for r in self.rows],
            "total": dict(self.total.counts()),
        }


def _count(row: Bieu06Row, facts: DossierFacts, start: date, end: date) -> None:
    received = _vn_date(facts.received_at) if facts.received_at else None
    ended = _vn_date(facts.ended_at) if facts.ended_at else None
    if received is None or received > end or (ended is not None and ended < start):
        return
    row.total += 1
    if received >= start:
        if facts.channel == ONLINE:
            row.online += 1
        else:
            row.direct_postal += 1
    else:
        row.carried_over += 1
    if ended is not None and ended <= end:
        row.resolved += 1
        kind = classify(facts.ended_at, facts.appointment)  # type: ignore[arg-type]  # ended implies ended_at
        row.resolved_early += kind is Timeliness.EARLY
        row.resolved_on_time += kind is Timeliness.ON_TIME
        row.resolved_late += kind is Timeliness.LATE
        return
    row.pending += 1
    overdue = facts.appointment is not None and _vn_date(facts.appointment) < end and not facts.paused_on(end)
    row.pending_overdue += overdue
    row.pending_within += not overdue


def bieu06(
    facts: Iterable[DossierFacts], start: date, end: date, *, units: frozenset[str] | None = None
) -> Bieu06:
    """Biểu số 06/VPCP/KSTT for [start, end], one row per field ordered by code, and the total; of the dossiers
    counted under one of ``units`` (``None``: every dossier; see the module docstring for the rule)."""
    rows: dict[str, Bieu06Row] = {}
    names: dict[str, tuple[int, str]] = {}  # field code → the name of its dossier folded last, of every dossier
    for item in facts:
        if item.position >= names.get(item.field_code, (-1, ""))[0]:
            names[item.field_code] = (item.position, item.field_name)
        if not item.accepted or not item.counted_in(units):
            continue
        row = rows.setdefault(item.field_code, Bieu06Row(item.field_code, item.field_name))
        _count(row, item, start, end)
    for code, row in rows.items():  # a field's name as the portal last gave it (the SQL projection keeps the same)
        row.field_name = names[code][1]
    ordered = tuple(rows[code] for code in sorted(rows) if rows[code].total)
    report = Bieu06(start, end, ordered)
    for row in ordered:
        report.total.add(row)
    return report
