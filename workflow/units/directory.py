"""The units a deployment serves: which may receive a dossier, which may decide it, and who belongs where.

A province runs one system for all its units (Decree 61/2018 as amended, kept by Decree 118/2025). A desk
receives at its *home* unit unless told otherwise; the deciding unit is the receiving one unless named
(Decree 118 has a unit accept a dossier whatever the applicant's commune, and pass it to the unit that
decides). Both must be in force on the day of reception and in the same province.

A deployment whose home is not in the register (one commune's database, before units) is *standalone*:
it receives and decides at its home code only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from motcua.workflow.errors import InvalidInput
from motcua.workflow.units.model import Unit, UnitRegister

__all__ = ["Reception", "UnitDirectory"]


@dataclass(frozen=True, slots=True)
class Reception:
    """Where a dossier is received and where it is decided (agency codes)."""

    receiving: str
    deciding: str


@dataclass(frozen=True)
class UnitDirectory:
    register: UnitRegister
    home: str

    def knows(self, code: str) -> bool:
        return self.register.knows(code)

    def holds(self, code: str) -> bool:
        """Whether a case may belong to unit ``code`` at some time: a unit of the register (ended ones included:
        their cases stay theirs), or the desk's home."""
        return code == self.home or self.knows(code)

    def reception(self, receiving: str | None, deciding: str | None, day: date) -> Reception:
        """The units of a dossier received on `day`; InvalidInput naming the field for a unit that cannot."""
        chosen = Reception(receiving or self.home, deciding or receiving or self.home)
        if not self.knows(chosen.receiving) and chosen.receiving == self.home:
            if chosen.deciding != self.home:
                raise InvalidInput("deciding_unit", f"this desk ({self.home}) is not in the unit register: it "
                                                    "decides its own dossiers only")
            return chosen
        received_by = self._in_force("receiving_unit", chosen.receiving, day)
        decided_by = self._in_force("deciding_unit", chosen.deciding, day)
        if received_by.province != decided_by.province:
            raise InvalidInput("deciding_unit", f"{decided_by.label} ({decided_by.code}) is in {decided_by.province}, "
                                                f"not in {received_by.province}: a unit receives for units of its own "
                                                "province")
        return chosen

    def in_force(self, field: str, code: str, day: date) -> str:
        """``code``, if a case opened on ``day`` may belong to it: a unit in force that day, or the home of a
        standalone desk; :class:`InvalidInput` naming ``field`` otherwise (a unit that ended names its successor)."""
        if code == self.home and not self.knows(code):
            return code
        return self._in_force(field, code, day).code

    def province_codes(self, province: str, on: date) -> frozenset[str]:
        """Every unit code whose cases the province holds on ``on``: every unit it has had (ended units included:
        their cases stay theirs), and, once their merger has taken effect, those of the provinces merged into it and
        the units merged into any of them (:meth:`UnitRegister.province_held_by`)."""
        return self.register.province_held_by(province, on)

    def held_by(self, codes: Iterable[str], on: date) -> frozenset[str]:
        """``codes`` and every unit merged into one of them by ``on`` (:meth:`UnitRegister.held_by`): the cases a
        unit's people see are their unit's and those of the communes merged into it, whose records it keeps."""
        return frozenset().union(*(self.register.held_by(code, on) for code in codes))

    def label(self, code: str) -> str:
        """"phường Thành Đông (LOCAL-HP-THANH-DONG)", by its latest version; the code alone for a unit not in the
        register."""
        if not self.knows(code):
            return code
        return f"{self.register.versions(code)[-1].label} ({code})"

    def _in_force(self, field: str, code: str, day: date) -> Unit:
        if not self.knows(code):
            raise InvalidInput(field, f"unknown unit {code!r}: `motcua units list` shows the codes")
        unit = self.register.unit_at(code, day)
        if unit is None:
            successor = self._successor_text(code, day)
            raise InvalidInput(field, f"{code} is not in force on {day.isoformat()}{successor}")
        return unit

    def _successor_text(self, code: str, day: date) -> str:
        try:
            return f": its successor is {self.register.successor_at(code, day).label}"
        except (InvalidInput, LookupError):
            return ""
