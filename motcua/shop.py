""":class:`OneStop`: what a host program holds — one commune's one-stop shop on one database.

It is a thin face over the composition root (:func:`motcua.adapters.bootstrap.open_motcua`): every call is
one unit of work of :class:`motcua.workflow.engine.service.CaseService`, or one read. Nothing here decides; the
engine does, and the store keeps what it decided.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from types import TracebackType

from motcua.adapters.bootstrap import DEFAULT_AGENCY, Motcua, open_motcua
from motcua.workflow.dossiers.catalogue import Channel, Procedure
from motcua.workflow.dossiers.desk import DOSSIER_WORKFLOW, Applicant
from motcua.workflow.engine.audit import AuditEntry
from motcua.workflow.engine.clock import Clock
from motcua.workflow.engine.model import Actor, Case
from motcua.workflow.engine.ports import Observer
from motcua.workflow.engine.queries import CaseFilter, Page
from motcua.workflow.reports.par766 import Scorecard
from motcua.workflow.reports.projection import Bieu06
from motcua.workflow.reports.service import ReportService

__all__ = ["OneStop", "connect"]


def connect(
    url: str | None = None, *, clock: Clock | None = None, agency: str | None = None,
    observers: Sequence[Observer] | None = None,
) -> OneStop:
    """The one-stop shop on ``url`` (``sqlite:///FILE``, ``postgresql://…`` or ``memory://``; default
    ``MOTCUA_DATABASE_URL``, else ``sqlite:///motcua.db``), its schema brought up to date.

    ``clock`` is the wall clock unless given (tests and simulations pass a ``ManualClock``);
    ``agency`` is the receiving agency's electronic id that prefixes dossier codes; ``observers`` are
    called after each decision is committed or refused (default: one structured log line each).
    """
    return OneStop(open_motcua(url, clock=clock, agency=agency or DEFAULT_AGENCY, observers=observers))


@dataclass(frozen=True)
class OneStop:
    """Dossiers in, decisions out, reports at the end of the period. Close it (or use ``with``) when done."""

    parts: Motcua

    # -- dossiers ---------------------------------------------------------------------------------

    def receive(
        self, procedure: str, applicant: Applicant, actor: Actor, *, channel: Channel = "direct",
        summary: str | None = None,
    ) -> Case:
        """Register and receive a dossier at the desk: its receipt and legal appointment are issued."""
        return self.parts.desk.receive(procedure, channel, applicant, actor, summary=summary)

    def submit(self, procedure: str, applicant: Applicant, actor: Actor, *, summary: str | None = None) -> Case:
        """Register a dossier submitted online: it waits (status 1) until an officer receives it."""
        return self.parts.desk.submit(procedure, "online", applicant, actor, summary=summary)

    def fire(
        self, code: str, trigger: str, actor: Actor, data: Mapping[str, object] | None = None, *,
        expected_version: int | None = None,
    ) -> Case:
        """Fire ``trigger`` on the dossier (or plan task) ``code``; with ``expected_version``, only if
        nobody changed it since (else :class:`~motcua.workflow.errors.ConcurrencyConflict`)."""
        return self.parts.service.fire(code, trigger, actor, data, expected_version=expected_version)

    def case(self, code: str) -> Case:
        """The case — a dossier or a plan task — as it stands (:class:`~motcua.workflow.errors.CaseNotFound`
        for an unknown code)."""
        return self.parts.service.get(code)

    def dossier(self, code: str) -> Case:
        """Deprecated alias of :meth:`case` (the name said "dossier" but returned plan tasks too); removed in 0.2."""
        warnings.warn("OneStop.dossier() is now OneStop.case()", DeprecationWarning, stacklevel=2)
        return self.case(code)

    def history(self, code: str) -> Sequence[AuditEntry]:
        """Every decision on the case, oldest first, as the audit log keeps it."""
        return self.parts.service.history(code)

    def status_code(self, case: Case) -> int | None:
        """The DVCQG ``TrangThaiHoSo`` (1–10) of a dossier's lifecycle state; ``None`` for plan tasks."""
        return self.parts.workflows.status_of(case.definition_key, case.definition_version, case.state["lifecycle"])

    # -- queries ----------------------------------------------------------------------------------

    def find(self, where: CaseFilter | None = None, *, after: str | None = None, limit: int = 50) -> Page:
        """Cases matching ``where`` (every case without one), by code, ``limit`` at a time after ``after``."""
        return self.parts.store.find(where or CaseFilter(), after=after, limit=limit)

    def overdue(self, *, after: str | None = None, limit: int = 50) -> Page:
        """Dossiers past their legal appointment and still being dealt with."""
        return self.find(CaseFilter(DOSSIER_WORKFLOW, deadline="overdue", ended=False), after=after, limit=limit)

    def due_soon(self, within: timedelta, *, after: str | None = None, limit: int = 50) -> Page:
        """Dossiers still being dealt with whose appointment falls within ``within`` from now (or has passed)."""
        bound = self.parts.service.engine.clock.now() + within
        where = CaseFilter(DOSSIER_WORKFLOW, due_before=bound, ended=False)
        return self.find(where, after=after, limit=limit)

    def in_state(self, lifecycle: str, *, after: str | None = None, limit: int = 50) -> Page:
        """Dossiers whose lifecycle is in ``lifecycle`` (``"processing"``, ``"supplement_requested"``…)."""
        return self.find(CaseFilter(DOSSIER_WORKFLOW, lifecycle=lifecycle), after=after, limit=limit)

    def assigned_to(self, officer: str, *, after: str | None = None, limit: int = 50) -> Page:
        """Dossiers an officer holds now (the last hand-over's assignee) that are still being dealt with."""
        return self.find(CaseFilter(DOSSIER_WORKFLOW, officer=officer, ended=False), after=after, limit=limit)

    def procedures(self) -> Sequence[Procedure]:
        """The procedure catalogue, by code."""
        return tuple(sorted(self.parts.catalogue, key=lambda procedure: procedure.code))

    # -- reports ----------------------------------------------------------------------------------

    def bieu06(self, start: date, end: date) -> Bieu06:
        """Biểu số 06/VPCP/KSTT for [start, end], over the whole log up to now."""
        return self._reports().caught_up().bieu06(start, end)

    def par766(self, start: date, end: date) -> Scorecard:
        """The Decision 766 indicators and points for [start, end], under the rules in force at ``end``."""
        return self._reports().caught_up().scorecard(start, end)

    def _reports(self) -> ReportService:
        return ReportService(self.parts.reports, self.parts.rules)

    # -- lifetime ---------------------------------------------------------------------------------

    def close(self) -> None:
        self.parts.close()

    def __enter__(self) -> OneStop:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
