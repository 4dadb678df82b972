"""The cases as one caller may see and move them: every read and write of a scoped caller goes through here.

HTTP routes, the Python API's scoped handle and the console all hold a :class:`ScopedCases`; none checks a
scope itself. A case outside the scope is :class:`~motcua.workflow.errors.CaseNotFound` — to a read, a move,
its history — exactly like a code never issued, so a guessed code discloses nothing. A query is narrowed to
the scope before the store runs it. Creating a dossier at a unit outside the scope, or for another
applicant, is :class:`~motcua.workflow.errors.OutsideScope`, refused before a dossier number is drawn; so is
receiving citizens' feedback at a unit outside the scope, or under another applicant's identity number (a key
acting for one applicant receives feedback under its own, filled in when left out), and feedback naming a dossier
the caller cannot see is :class:`~motcua.workflow.errors.InvalidInput` (as if the dossier did not exist).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from motcua.workflow.access.scope import Scope
from motcua.workflow.dossiers.catalogue import Channel
from motcua.workflow.dossiers.desk import DOSSIER_WORKFLOW, Applicant, Desk
from motcua.workflow.dvcqg.imports import imported
from motcua.workflow.engine.audit import AuditEntry
from motcua.workflow.engine.model import Actor, Case
from motcua.workflow.engine.ports import CaseQueries
from motcua.workflow.engine.queries import CaseFilter, Page
from motcua.workflow.engine.service import CaseService
from motcua.workflow.errors import CaseNotFound, ImportedDossier, InvalidInput, NotFound
from motcua.workflow.feedback.intake import Feedback, new_feedback_code, open_feedback
from motcua.workflow.units.directory import Reception

__all__ = ["ScopedCases"]


@dataclass(frozen=True)
class ScopedCases:
    service: CaseService
    queries: CaseQueries
    desk: Desk
    scope: Scope

    def case(self, code: str, *, workflow: str | None = None) -> Case:
        """The case ``code`` if it is in scope (and of ``workflow``, when given); :class:`CaseNotFound` otherwise, as
        for an unknown code."""
        case = self.service.get(code)
        self._admit(case, workflow)
        return case

    def history(self, code: str) -> Sequence[AuditEntry]:
        self.case(code)
        return self.service.history(code)

    def fire(
        self, code: str, trigger: str, actor: Actor, data: Mapping[str, object] | None = None,
        expected_version: int | None = None, *, workflow: str | None = None,
    ) -> Case:
        """Fire ``trigger`` on a case in scope (and of ``workflow``, when given; the engine checks the actor's roles,
        as for anyone). The scope is checked on the case the engine reads for the decision, in its unit of work:
        the case moved is the one checked, and a case outside the scope is :class:`CaseNotFound` before its version
        is compared (a 404, never a 409 that would tell it exists). A dossier imported from the DVCQG portal is
        :class:`ImportedDossier`: read-only to people (:func:`~motcua.workflow.dvcqg.imports.imported`)."""
        return self.service.fire(code, trigger, actor, data, expected_version=expected_version,
                                 admit=lambda case: self._movable(case, workflow))

    def _movable(self, case: Case, workflow: str | None) -> None:
        self._admit(case, workflow)
        if imported(case):
            raise ImportedDossier(case.code)

    def _admit(self, case: Case, workflow: str | None) -> None:
        if workflow is not None and case.definition_key != workflow:
            raise CaseNotFound(case.code)
        if not self.scope.unlimited and not self.scope.admits(self.index_of(case)):
            raise CaseNotFound(case.code)

    def find(self, where: CaseFilter, *, after: str | None = None, limit: int = 50) -> Page:
        """The cases of ``where`` this scope sees. :class:`NotFound` for a ``where.unit`` no register knows (a typo:
        an empty page would read as "none"). A known unit outside the scope is a filter like any other: a unit's
        key sees the dossiers it received for another unit, and lists them by that unit."""
        if where.unit is not None and not self.desk.units.holds(where.unit):
            raise NotFound("unit", f"no unit {where.unit!r}")
        return self.queries.find(self.scope.narrow(where), after=after, limit=limit)

    def vet_reception(self, applicant: Applicant, unit: str | None, deciding_unit: str | None) -> Reception:
        """The units a new dossier would belong to, if this scope may create it there for this applicant."""
        units = self.desk.reception(unit, deciding_unit)
        self.scope.check_unit("unit", units.receiving)
        self.scope.check_applicant("applicant.id_number", applicant.id_number)
        return units

    def register(
        self, procedure: str, channel: Channel, applicant: Applicant, actor: Actor, *, receive: bool = True,
        summary: str | None = None, code: str | None = None, unit: str | None = None,
        deciding_unit: str | None = None,
    ) -> Case:
        """Register (and, with ``receive``, receive) a dossier at ``unit`` for ``deciding_unit``, in scope."""
        units = self.vet_reception(applicant, unit, deciding_unit)
        register = self.desk.receive if receive else self.desk.submit
        return register(procedure, channel, applicant, actor, summary=summary, code=code, unit=units.receiving,
                        deciding_unit=units.deciding)

    def vet_feedback(self, feedback: Feedback, unit: str | None) -> tuple[Feedback, str]:
        """``feedback`` as this scope receives it (a key acting for one applicant: under that applicant's identity
        number) and the unit receiving it (default: the home unit), if this scope may; the dossier it names, if
        any, must be a dossier this scope sees."""
        receiving = self.desk.reception(unit, None).receiving
        self.scope.check_unit("unit", receiving)
        if self.scope.applicant is not None:
            feedback = replace(feedback, applicant_id=feedback.applicant_id or self.scope.applicant)
            self.scope.check_applicant("applicant_id", feedback.applicant_id)
        if feedback.dossier is not None:
            try:
                linked = self.case(feedback.dossier)
            except CaseNotFound:
                raise InvalidInput("dossier", f"no dossier {feedback.dossier!r} in this scope") from None
            if linked.definition_key != DOSSIER_WORKFLOW:
                raise InvalidInput("dossier", f"{feedback.dossier!r} is not a dossier")
        return feedback, receiving

    def receive_feedback(
        self, feedback: Feedback, actor: Actor, *, unit: str | None = None, code: str | None = None,
    ) -> Case:
        """Receive citizens' feedback at ``unit`` in scope (:meth:`vet_feedback`), under ``code`` (one reserved
        earlier) or a new one."""
        feedback, receiving = self.vet_feedback(feedback, unit)
        return open_feedback(self.service, self.desk.store, self.desk.rules, feedback, actor, unit=receiving,
                             code=code)

    def feedback_code(self, feedback: Feedback, actor: Actor, unit: str | None = None) -> str:
        """A new code for ``feedback`` at ``unit``, drawn once it is vetted in scope and as an opening."""
        feedback, receiving = self.vet_feedback(feedback, unit)
        return new_feedback_code(self.service, self.desk.store, self.desk.rules, feedback, actor, unit=receiving)

    def report_units(self, unit: str | None) -> frozenset[str] | None:
        """The units a report covers: ``unit`` alone if this scope may see it, else every unit of the scope
        (``None``: all of them, the province). :class:`NotFound` for a unit unknown or outside the scope."""
        if unit is None:
            return self.scope.units
        if not self.desk.units.holds(unit) or (self.scope.units is not None and unit not in self.scope.units):
            raise NotFound("unit", f"no unit {unit!r} in this scope ({self.scope.label})")
        return frozenset({unit})

    def index_of(self, case: Case) -> Mapping[str, str]:
        return self.service.engine.workflows.index_of(case)
