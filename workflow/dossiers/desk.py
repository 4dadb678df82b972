"""The one-stop desk: receiving dossiers for catalogue procedures.

It picks the rule set in force on the day of reception (kept by the dossier for life), records the
receiving and the deciding unit (:class:`~motcua.workflow.units.directory.UnitDirectory` says which may),
numbers the dossier ``<receiving unit's agency code>-<yyMMdd>-<sequence>`` and opens it; a counter or postal dossier is
received at once (opened and received in one unit of work of the service), an online one waits in
``submitted`` until an officer receives it. Who may do either is the definition's to say, and the
engine's to check before anything is written.

The applicant's texts are bounded here, for every path (HTTP, console, Python): the name, the telephone number and
the e-mail one line each (:data:`APPLICANT_BOUNDS`), the address free text. The identity number's *shape* is the
edges' to check (HTTP, console, API keys), not the desk's: numbers kept from elsewhere vary.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final

from motcua.workflow.dossiers.catalogue import Catalogue, Channel, RuleBook
from motcua.workflow.engine.bounds import ADDRESS_MAX, NAME_MAX, PHONE_MAX, line_problem, text_problem
from motcua.workflow.engine.clock import to_vietnam_time
from motcua.workflow.engine.decisions import OPEN_TRIGGER
from motcua.workflow.engine.model import Actor, Case, JsonValue
from motcua.workflow.engine.ports import CaseStore
from motcua.workflow.engine.service import CaseService
from motcua.workflow.errors import InvalidInput, MalformedData
from motcua.workflow.units.directory import Reception, UnitDirectory
from motcua.workflow.units.model import UnitRegister

__all__ = ["APPLICANT_BOUNDS", "DOSSIER_WORKFLOW", "RECEIVE", "Applicant", "Desk", "TextBound", "applicant_problems"]

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


@dataclass(frozen=True, slots=True)
class TextBound:
    """How long a text may be, and whether it is one line (else free text: tabs and line breaks allowed)."""

    limit: int
    one_line: bool = True

    def problem(self, text: str) -> str | None:
        """What is wrong with ``text`` (:mod:`~motcua.workflow.engine.bounds`), or ``None``; nothing of it quoted."""
        check: Callable[[str, int], str | None] = line_problem if self.one_line else text_problem
        return check(text, self.limit)


APPLICANT_BOUNDS: Final[Mapping[str, TextBound]] = {
    "applicant_name": TextBound(NAME_MAX), "phone": TextBound(PHONE_MAX), "email": TextBound(NAME_MAX),
    "address": TextBound(ADDRESS_MAX, one_line=False),
}
"""The bounds of an applicant's texts, by the opening data's field: what the HTTP schema, the console's form and the
desk apply. They travel to the DVCQG records (``ChuHoSo``, ``SoDienThoai``, ``Email``) and sheets as they are."""


def applicant_problems(applicant: Applicant) -> dict[str, str]:
    """The opening data's field → what is wrong with the ``applicant``'s text there (:data:`APPLICANT_BOUNDS`)."""
    data = applicant.as_data()
    problems: dict[str, str] = {}
    for field, bound in APPLICANT_BOUNDS.items():
        value = data.get(field)
        problem = bound.problem(value) if isinstance(value, str) else None
        if problem is not None:
            problems[field] = problem
    return problems


class Desk:
    """``agency``: the home unit's agency code, where dossiers are received unless a call names another unit;
    ``units``: the register of the province's units (none: a standalone desk, home unit only)."""

    def __init__(
        self, service: CaseService, store: CaseStore, catalogue: Catalogue, rules: RuleBook, agency: str, *,
        units: UnitDirectory | None = None,
    ) -> None:
        self.service = service
        self.store = store
        self.catalogue = catalogue
        self.rules = rules
        self.agency = agency
        self.units = units or UnitDirectory(UnitRegister(()), agency)

    def submit(
        self, procedure: str, channel: Channel, applicant: Applicant, actor: Actor, *,
        summary: str | None = None, code: str | None = None, unit: str | None = None,
        deciding_unit: str | None = None,
    ) -> Case:
        """Register a dossier without receiving it yet (status 1, submitted online)."""
        return self._register(procedure, channel, applicant, actor, summary=summary, code=code, then=(),
                              units=self.reception(unit, deciding_unit))

    def receive(
        self, procedure: str, channel: Channel, applicant: Applicant, actor: Actor, *,
        summary: str | None = None, code: str | None = None, unit: str | None = None,
        deciding_unit: str | None = None,
    ) -> Case:
        """Register and receive a dossier at ``unit`` (the home unit by default) for ``deciding_unit`` (the
        receiving unit by default): the receipt with its appointment is issued.

        One unit of work: opened and received in one transaction, or, refused (a role that may not receive,
        bad data, a unit not in force), nothing written — not even a dossier number drawn."""
        return self._register(procedure, channel, applicant, actor, summary=summary, code=code, then=(RECEIVE,),
                              units=self.reception(unit, deciding_unit))

    def vet(
        self, procedure: str, channel: Channel, applicant: Applicant, actor: Actor, *,
        summary: str | None = None, receive: bool = True, unit: str | None = None,
        deciding_unit: str | None = None,
    ) -> Reception:
        """Raise what :meth:`receive` (or :meth:`submit`) would refuse, before a dossier number is drawn for it:
        for a caller that draws the number itself (:meth:`new_code`) and keeps it before registering. Returns
        the units the dossier would belong to."""
        units = self.reception(unit, deciding_unit)
        key, data, rule_set = self._opening(procedure, channel, applicant, summary, units)
        self.service.vet_opening(key, actor, data, rule_set=rule_set, then=(RECEIVE,) if receive else ())
        return units

    def reception(self, unit: str | None, deciding_unit: str | None) -> Reception:
        """The receiving and deciding units of a dossier received now (InvalidInput for a unit that may not)."""
        return self.units.reception(unit, deciding_unit, self.today())

    def _register(
        self, procedure: str, channel: Channel, applicant: Applicant, actor: Actor, *, summary: str | None,
        code: str | None, then: tuple[str, ...], units: Reception,
    ) -> Case:
        key, data, rule_set = self._opening(procedure, channel, applicant, summary, units)
        if code is None:
            self.service.vet_opening(key, actor, data, rule_set=rule_set, then=then)
            code = self.new_code(units.receiving)
        return self.service.open(key, code, actor, data, rule_set=rule_set, then=then)

    def _opening(
        self, procedure: str, channel: Channel, applicant: Applicant, summary: str | None, units: Reception,
    ) -> tuple[str, dict[str, JsonValue], str]:
        """The workflow, the opening data and the rule set in force today of a dossier for ``procedure``
        (InvalidInput for a procedure the catalogue does not have in force today)."""
        problems = applicant_problems(applicant)
        if problems:
            raise MalformedData(OPEN_TRIGGER, problems)
        today = self.today()
        entry = self.catalogue.get(procedure)
        if not entry.valid_on(today):
            raise InvalidInput("procedure", f"procedure {procedure} is not in force on {today.isoformat()}"
                                            f" (in force {_validity(entry.valid_from, entry.valid_to)})")
        key = entry.workflow
        data: dict[str, JsonValue] = {
            "procedure": procedure, "channel": channel, **applicant.as_data(),
            "receiving_unit": units.receiving, "deciding_unit": units.deciding,
        }
        if summary:
            data["summary"] = summary
        return key, data, self.rules.in_force(today).key

    def today(self) -> date:
        """Today in Vietnam, by the engine's clock: the day scopes, receptions and numbers are decided for."""
        return to_vietnam_time(self.service.engine.clock.now()).date()

    def new_code(self, unit: str | None = None) -> str:
        """The next dossier number of the receiving ``unit`` (the home unit by default) today."""
        agency = unit or self.agency
        day = to_vietnam_time(self.service.engine.clock.now()).strftime("%y%m%d")
        sequence = self.store.next_sequence(f"{agency}-{day}")
        return f"{agency}-{day}-{sequence:04d}"


def _validity(since: date | None, until: date | None) -> str:
    """A procedure's validity as words: ``from 2025-07-01``, ``until 2025-06-30``, ``2023-01-01 to 2025-06-30``."""
    if since and until:
        return f"{since.isoformat()} to {until.isoformat()}"
    return f"from {since.isoformat()}" if since else f"until {until.isoformat()}" if until else "always"
