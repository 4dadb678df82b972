""":class:`OneStop`: what a host program holds — a one-stop shop on one database, seen through one scope.

It is a thin face over the composition root (:func:`motcua.adapters.bootstrap.open_motcua`): every call is
one unit of work of :class:`motcua.workflow.engine.service.CaseService`, or one read. Nothing here decides; the
engine does, and the store keeps what it decided.

A province shares one database among its units, so a handle sees only its :class:`~motcua.workflow.access.scope.Scope`
(``connect(unit=…)``: that unit's dossiers; :meth:`OneStop.scoped`: any other): every read, move, query and
reception goes through :class:`~motcua.workflow.access.cases.ScopedCases`, exactly as an HTTP key's requests do.
A case outside the scope is :class:`~motcua.workflow.errors.CaseNotFound`, as if its code had never been issued.
"""

from __future__ import annotations

import unicodedata
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from types import TracebackType

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.workflow.access.cases import ScopedCases
from motcua.workflow.access.scope import EVERYTHING, Scope
from motcua.workflow.dossiers.catalogue import Channel, Procedure
from motcua.workflow.dossiers.desk import DOSSIER_WORKFLOW, Applicant
from motcua.workflow.engine.audit import AuditEntry
from motcua.workflow.engine.bounds import excerpt
from motcua.workflow.engine.clock import Clock
from motcua.workflow.engine.model import Actor, Case
from motcua.workflow.engine.ports import Observer
from motcua.workflow.engine.queries import CaseFilter, Page
from motcua.workflow.errors import InvalidInput
from motcua.workflow.feedback.actions import FEEDBACK_WORKFLOW
from motcua.workflow.feedback.intake import Feedback
from motcua.workflow.reports.par766 import Scorecard
from motcua.workflow.reports.projection import Bieu06
from motcua.workflow.reports.service import ReportService

__all__ = ["DUE_SOON_MAX", "OneStop", "connect"]

DUE_SOON_MAX = timedelta(days=3_660)
"""The farthest :meth:`OneStop.due_soon` looks ahead (ten years: past any appointment; further would overflow)."""


def connect(
    url: str | None = None, *, unit: str | None = None, scope: Scope | None = None, clock: Clock | None = None,
    agency: str | None = None, observers: Sequence[Observer] | None = None,
) -> OneStop:
    """The one-stop shop on ``url`` (``sqlite:///FILE``, ``postgresql://…`` or ``memory://``; default
    ``MOTCUA_DATABASE_URL``, else ``sqlite:///motcua.db``), its schema brought up to date.

    ``unit`` is the desk's home unit (a code of ``motcua units list``): where dossiers are received and numbered
    unless a call names another, and, unless ``scope`` says otherwise, the unit whose cases the handle sees — with
    those of the units merged into it, as a key of that unit sees them. ``scope`` is what the handle sees (default:
    as just said, else everything). ``agency`` is the home unit's code for a standalone commune, outside the unit
    register (default ``MOTCUA_AGENCY``, else ``000.00.00.H23``); it does not scope the handle.
    ``clock`` is the wall clock unless given (tests and simulations pass a ``ManualClock``); ``observers`` are
    called after each decision is committed or refused (default: one structured log line each).
    """
    if unit is not None and agency is not None and unit != agency:
        raise InvalidInput("unit", f"the home unit is {unit!r} or {agency!r}, not both: give unit alone")
    try:
        parts = open_motcua(url, clock=clock, agency=unit or agency, observers=observers)
    except InvalidInput as error:
        if error.field == "agency" and unit is not None:  # the home unit's code was given as ``unit``
            raise InvalidInput("unit", error.message) from None
        raise
    if unit is not None and not parts.desk.units.knows(unit):
        parts.close()
        raise InvalidInput("unit", f"unknown unit {unit!r}: `motcua units list` shows the codes")
    chosen = scope if scope is not None else EVERYTHING if unit is None \
        else Scope.of_units(parts.desk.units.held_by([unit], parts.desk.today()), label=unit)
    try:
        _check_scope(parts, chosen)
    except InvalidInput:
        parts.close()
        raise
    return OneStop(parts, chosen)


def _check_scope(parts: Motcua, scope: Scope) -> None:
    """A scope naming a unit neither the register nor the home unit knows is refused: a typo would answer every
    question with nothing, as if the unit had no dossiers."""
    if not isinstance(scope, Scope):
        raise InvalidInput("scope", f"a Scope (Scope.of_units, Scope.of_applicant…), not {type(scope).__name__}")
    unknown = sorted(code for code in scope.units or () if not parts.desk.units.holds(code))
    if unknown:
        raise InvalidInput("scope", f"unknown unit {excerpt(unknown[0])}: `motcua units list` shows the codes")


@dataclass(frozen=True)
class OneStop:
    """Dossiers in, decisions out, reports at the end of the period, within ``scope``. Close it (or use ``with``)
    when done."""

    parts: Motcua
    scope: Scope = EVERYTHING

    def scoped(self, scope: Scope) -> OneStop:
        """The same shop seen through ``scope`` (one database: closing either handle closes both); a scope naming a
        unit the register does not know is ``InvalidInput``."""
        _check_scope(self.parts, scope)
        return replace(self, scope=scope)

    def _cases(self) -> ScopedCases:
        return ScopedCases(self.parts.service, self.parts.store, self.parts.desk, self.scope)

    # -- dossiers ---------------------------------------------------------------------------------

    def receive(
        self, procedure: str, applicant: Applicant, actor: Actor, *, channel: Channel = "direct",
        summary: str | None = None, unit: str | None = None, deciding_unit: str | None = None,
    ) -> Case:
        """Register and receive a dossier at ``unit`` (default: the home unit) for ``deciding_unit`` (default: the
        receiving unit): its receipt and legal appointment are issued. A unit outside the scope is
        :class:`~motcua.workflow.errors.OutsideScope`, refused before a dossier number is drawn."""
        return self._cases().register(procedure, channel, applicant, actor, summary=summary, unit=unit,
                                      deciding_unit=deciding_unit)

    def submit(
        self, procedure: str, applicant: Applicant, actor: Actor, *, summary: str | None = None,
        unit: str | None = None, deciding_unit: str | None = None,
    ) -> Case:
        """Register a dossier submitted online at ``unit`` for ``deciding_unit``: it waits (status 1) until an
        officer receives it."""
        return self._cases().register(procedure, "online", applicant, actor, receive=False, summary=summary,
                                      unit=unit, deciding_unit=deciding_unit)

    # -- citizens' feedback ------------------------------------------------------------------------

    def receive_feedback(self, feedback: Feedback, actor: Actor, *, unit: str | None = None) -> Case:
        """Receive citizens' feedback (phản ánh, kiến nghị) at ``unit`` (default: the home unit): a ``pakn`` case
        whose answer is due within the legal time, its timers armed. A unit outside the scope, or another
        applicant's ``feedback.applicant_id`` for a handle acting for one applicant (whose own is filled in when left
        out), is :class:`~motcua.workflow.errors.OutsideScope`; a ``feedback.dossier`` the scope does not see is
        :class:`~motcua.workflow.errors.InvalidInput`. Move it with :meth:`fire` (``assign``, ``extend``,
        ``answer``, ``decline``, ``publish``, ``rate``)."""
        return self._cases().receive_feedback(feedback, actor, unit=unit)

    def feedback(self, where: CaseFilter | None = None, *, after: str | None = None, limit: int = 50) -> Page:
        """Feedback cases in scope matching ``where`` (its ``definition_key`` is set to ``pakn``)."""
        chosen = replace(where or CaseFilter(), definition_key=FEEDBACK_WORKFLOW)
        return self.find(chosen, after=after, limit=limit)

    def fire(
        self, code: str, trigger: str, actor: Actor, data: Mapping[str, object] | None = None, *,
        expected_version: int | None = None,
    ) -> Case:
        """Fire ``trigger`` on the dossier (or plan task, or feedback) ``code``; with ``expected_version``, only if
        nobody changed it since (else :class:`~motcua.workflow.errors.ConcurrencyConflict`)."""
        return self._cases().fire(code, trigger, actor, data, expected_version=expected_version)

    def case(self, code: str) -> Case:
        """The case — a dossier, a plan task or a piece of feedback — as it stands
        (:class:`~motcua.workflow.errors.CaseNotFound` for an unknown code, or one outside the scope)."""
        return self._cases().case(code)

    def dossier(self, code: str) -> Case:
        """Deprecated alias of :meth:`case` (the name said "dossier" but returned plan tasks too); removed in 0.2."""
        warnings.warn("OneStop.dossier() is now OneStop.case()", DeprecationWarning, stacklevel=2)
        return self.case(code)

    def history(self, code: str) -> Sequence[AuditEntry]:
        """Every decision on the case, oldest first, as the audit log keeps it."""
        return self._cases().history(code)

    def status_code(self, case: Case) -> int | None:
        """The DVCQG ``TrangThaiHoSo`` (1–10) of a dossier's lifecycle state; ``None`` for plan tasks."""
        return self.parts.workflows.status_of(case.definition_key, case.definition_version, case.state["lifecycle"])

    # -- queries ----------------------------------------------------------------------------------

    def find(self, where: CaseFilter | None = None, *, after: str | None = None, limit: int = 50) -> Page:
        """Cases in scope matching ``where`` (every one without it), by code, ``limit`` at a time after ``after``."""
        return self._cases().find(where or CaseFilter(), after=after, limit=limit)

    def overdue(self, *, after: str | None = None, limit: int = 50) -> Page:
        """Dossiers past their legal appointment and still being dealt with."""
        return self.find(CaseFilter(DOSSIER_WORKFLOW, deadline="overdue", ended=False), after=after, limit=limit)

    def due_soon(self, within: timedelta, *, after: str | None = None, limit: int = 50) -> Page:
        """Dossiers still being dealt with whose appointment falls within ``within`` from now (or has passed);
        ``within`` is a timedelta from zero to :data:`DUE_SOON_MAX` (``InvalidInput`` otherwise)."""
        if not isinstance(within, timedelta) or not timedelta(0) <= within <= DUE_SOON_MAX:
            raise InvalidInput("within", f"a timedelta from 0 to {DUE_SOON_MAX.days} days, not {excerpt(within)}")
        bound = self.parts.service.engine.clock.now() + within
        where = CaseFilter(DOSSIER_WORKFLOW, due_before=bound, ended=False)
        return self.find(where, after=after, limit=limit)

    def in_state(self, lifecycle: str, *, after: str | None = None, limit: int = 50) -> Page:
        """Dossiers whose lifecycle is in ``lifecycle`` (``"processing"``, ``"supplement_requested"``…); a state the
        dossier workflow does not declare is ``InvalidInput`` naming those it does (a typo would answer nothing,
        ``None`` every dossier)."""
        states = self.parts.workflows.states(DOSSIER_WORKFLOW, "lifecycle")
        if lifecycle not in states:
            raise InvalidInput("lifecycle", f"one of {', '.join(states)}")
        return self.find(CaseFilter(DOSSIER_WORKFLOW, lifecycle=lifecycle), after=after, limit=limit)

    def assigned_to(self, officer: str, *, after: str | None = None, limit: int = 50) -> Page:
        """Dossiers an officer holds now (the last hand-over's assignee) that are still being dealt with; the name is
        read as NFC, as it is stored (``None`` or an empty name is ``InvalidInput``: it would answer every dossier)."""
        if not isinstance(officer, str) or not officer.strip():
            raise InvalidInput("officer", "an officer's name")
        where = CaseFilter(DOSSIER_WORKFLOW, officer=unicodedata.normalize("NFC", officer), ended=False)
        return self.find(where, after=after, limit=limit)

    def procedures(self) -> Sequence[Procedure]:
        """The procedure catalogue, by code."""
        return tuple(sorted(self.parts.catalogue, key=lambda procedure: procedure.code))

    # -- reports ----------------------------------------------------------------------------------

    def bieu06(self, start: date, end: date, *, unit: str | None = None) -> Bieu06:
        """Biểu số 06/VPCP/KSTT for [start, end], over the whole log up to now: of ``unit``, else of the scope's
        units (the sum of them; the province for a handle not scoped to units). ``NotFound`` for a unit unknown
        or outside the scope; ``InvalidInput`` for a period that is not one (``end`` before ``start``, a day outside
        1990–2199)."""
        units = self._cases().report_units(unit)
        return self._reports().caught_up().bieu06(start, end, units=units)

    def par766(self, start: date, end: date, *, unit: str | None = None) -> Scorecard:
        """The Decision 766 indicators and points for [start, end], under the rules in force at ``end``: of
        ``unit``, else of the scope's units, as for :meth:`bieu06`."""
        units = self._cases().report_units(unit)
        return self._reports().caught_up().scorecard(start, end, units=units)

    def _reports(self) -> ReportService:
        return ReportService(self.parts.reports, self.parts.rules, self.parts.store)

    # -- lifetime ---------------------------------------------------------------------------------

    def close(self) -> None:
        self.parts.close()

    def __enter__(self) -> OneStop:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
