"""A caller's scope: the cases it may see and move, as a value.

A province runs one database for all its units; each caller sees only what is its own:

- a key of a unit's staff: the cases its units hold or received (:attr:`Scope.units`);
- a key of provincial staff or an inspector: every unit of the province (the same, with all its codes);
- a key acting for one applicant: the dossiers whose applicant identity number is its own
  (:attr:`Scope.applicant`);
- motcua's own processes and an operator's unscoped key: everything (:data:`EVERYTHING`).

What a case belongs to is read from its index (the ``unit``, ``received_by`` and ``applicant`` search keys
its definition declares), the same values the stores keep in indexed columns: :meth:`Scope.admits` for one
case, :meth:`Scope.narrow` for a query. Roles stay the engine's to check: a scope says *which* cases, never
*what* may be done to them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from motcua.workflow.engine.bounds import id_number_problem
from motcua.workflow.engine.queries import CaseFilter, unit_codes
from motcua.workflow.errors import InvalidInput, OutsideScope

__all__ = ["EVERYTHING", "Scope"]

_NOTHING: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Scope:
    """``units``: the unit codes whose cases are seen (``None``: every unit); ``applicant``: the one applicant
    whose dossiers are seen (``None``: any). ``label`` names the scope in messages (never personal data)."""

    units: frozenset[str] | None = None
    applicant: str | None = None
    label: str = "every unit"

    def __post_init__(self) -> None:
        """A scope that is not what it looks like is refused: a scope is what keeps one caller from another's cases."""
        if self.units is not None:
            object.__setattr__(self, "units", unit_codes(self.units, "units"))
        if self.applicant is not None:
            problem = id_number_problem(self.applicant) if isinstance(self.applicant, str) else "not a text"
            if problem is not None:
                raise InvalidInput("applicant", problem)

    @classmethod
    def of_units(cls, codes: Iterable[str], label: str | None = None) -> Scope:
        chosen = unit_codes(codes, "units")  # one text is refused: its characters would be the units
        return cls(units=chosen, label=label or ", ".join(sorted(chosen)))

    @classmethod
    def of_applicant(cls, id_number: str) -> Scope:
        """The dossiers of the applicant with ``id_number``; refused when it is not one (``None`` included: a scope
        without its applicant would see every dossier)."""
        if not isinstance(id_number, str) or id_number_problem(id_number) is not None:
            raise InvalidInput("id_number", "an applicant's scope needs their identity number (1 to 32 letters and "
                                            "digits)")
        return cls(applicant=id_number, label="one applicant's own dossiers")

    @property
    def unlimited(self) -> bool:
        return self.units is None and self.applicant is None

    def admits(self, index: Mapping[str, str]) -> bool:
        """Whether a case with these index values (:func:`~motcua.workflow.engine.queries.indexed`) is in scope."""
        if self.applicant is not None and index.get("applicant") != self.applicant:
            return False
        return self.units is None or bool({index.get("unit"), index.get("received_by")} & self.units)

    def narrow(self, where: CaseFilter) -> CaseFilter:
        """``where``, asking only for cases in scope."""
        units = where.units
        if self.units is not None:
            units = self.units if units is None else units & self.units
        applicant = where.applicant
        if self.applicant is not None:
            if applicant is not None and applicant != self.applicant:
                units = _NOTHING  # another applicant's dossiers: none of them is in scope
            applicant = self.applicant
        return replace(where, units=units, applicant=applicant)

    def check_unit(self, field: str, unit: str) -> None:
        """OutsideScope unless this scope may act at ``unit`` (receive there, report on it)."""
        if self.units is not None and unit not in self.units:
            raise OutsideScope(field, f"unit {unit!r} is outside this key's units ({self.label})")

    def check_applicant(self, field: str, id_number: str | None) -> None:
        """OutsideScope unless a dossier for this applicant identity is this scope's to create."""
        if self.applicant is not None and id_number != self.applicant:
            raise OutsideScope(field, "a key acting for an applicant registers that applicant's own dossiers only")


EVERYTHING = Scope()
