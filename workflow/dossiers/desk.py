"""The one-stop desk: receiving dossiers for catalogue procedures.

It picks the rule set in force on the day of reception (kept by the dossier for life), numbers
the dossier ``<agency>-<yyMMdd>-<sequence>`` and opens it; a counter or postal dossier is
received at once (opened and received in one unit of work of the service), an online one waits in
``submitted`` until an officer receives it. Who may do either is the definition's to say, and the
engine's to check before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass

from motcua.workflow.dossiers.catalogue import Catalogue, Channel, RuleBook
from motcua.workflow.engine.clock import to_vietnam_time
from motcua.workflow.engine.model import Actor, Case, JsonValue
from motcua.workflow.engine.ports import CaseStore
from motcua.workflow.engine.service import CaseService

__all__ = ["DOSSIER_WORKFLOW", "RECEIVE", "Applicant", "Desk"]

DOSSIER_WORKFLOW = "tthc-dossier"
RECEIVE = "receive"  # the trigger of a dossier's reception


@dataclass(frozen=True, slots=True)
class Applicant:
    name: str
    kind: str = "citizen"
    id_number: str | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None

    def as_data(self) -> dict[str, JsonValue]:
        data: dict[str, JsonValue] = {
            "applicant_name": self.name, "applicant_kind": self.kind, "applicant_id": self.id_number,
            "phone": self.phone, "email": self.email, "address": self.address,
        }
        return {key: value for key, value in data.items() if value is not None}


class Desk:
    def __init__(
        self, service: CaseService, store: CaseStore, catalogue: Catalogue, rules: RuleBook, agency: str
    ) -> None:
        self.service = service
        self.store = store
        self.catalogue = catalogue
        self.rules = rules
        self.agency = agency

    def submit(
        self, procedure: str, channel: Channel, applicant: Applicant, actor: Actor, *,
        summary: str | None = None, code: str | None = None,
    ) -> Case:
        """Register a dossier without receiving it yet (status 1, submitted online)."""
        return self._register(procedure, channel, applicant, actor, summary=summary, code=code, then=())

    def receive(
        self, procedure: str, channel: Channel, applicant: Applicant, actor: Actor, *,
        summary: str | None = None, code: str | None = None,
    ) -> Case:
        """Register and receive a dossier: the receipt with its appointment is issued.

        One unit of work: opened and received in one transaction, or, refused (a role that may not receive,
        bad data), nothing written — not even a dossier number drawn."""
        return self._register(procedure, channel, applicant, actor, summary=summary, code=code, then=(RECEIVE,))

    def vet(
        self, procedure: str, channel: Channel, applicant: Applicant, actor: Actor, *,
        summary: str | None = None, receive: bool = True,
    ) -> None:
        """Raise what :meth:`receive` (or :meth:`submit`) would refuse, before a dossier number is drawn for it:
        for a caller that draws the number itself (:meth:`new_code`) and keeps it before registering."""
        key, data, rule_set = self._opening(procedure, channel, applicant, summary)
        self.service.vet_opening(key, actor, data, rule_set=rule_set, then=(RECEIVE,) if receive else ())

    def _register(
        self, procedure: str, channel: Channel, applicant: Applicant, actor: Actor, *, summary: str | None,
        code: str | None, then: tuple[str, ...],
    ) -> Case:
        key, data, rule_set = self._opening(procedure, channel, applicant, summary)
        if code is None:
            self.service.vet_opening(key, actor, data, rule_set=rule_set, then=then)
            code = self.new_code()
        return self.service.open(key, code, actor, data, rule_set=rule_set, then=then)

    def _opening(
        self, procedure: str, channel: Channel, applicant: Applicant, summary: str | None,
    ) -> tuple[str, dict[str, JsonValue], str]:
        """The workflow, the opening data and the rule set in force today of a dossier for ``procedure``."""
        key = self.catalogue.get(procedure).workflow
        today = to_vietnam_time(self.service.engine.clock.now()).date()
        data: dict[str, JsonValue] = {"procedure": procedure, "channel": channel, **applicant.as_data()}
        if summary:
            data["summary"] = summary
        return key, data, self.rules.in_force(today).key

    def new_code(self) -> str:
        today = to_vietnam_time(self.service.engine.clock.now())
        day = today.strftime("%y%m%d")
        sequence = self.store.next_sequence(f"{self.agency}-{day}")
        return f"{self.agency}-{day}-{sequence:04d}"
