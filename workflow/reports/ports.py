"""The port of the reports family: the reporting projection a store keeps beside the audit log."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date
from typing import Protocol

from motcua.workflow.reports.par766 import IndicatorCounts
from motcua.workflow.reports.projection import Bieu06, DossierFacts

__all__ = ["Reports"]


class Reports(Protocol):
    """The reporting projection: one :class:`~motcua.workflow.reports.projection.DossierFacts` per dossier, folded from
    the audit log in global order, and the reports of a period computed over it.

    Reports read the projection as it stands: call :meth:`catch_up` first to include the latest entries.
    Each report takes ``units``: only the dossiers counted under one of them (``DossierFacts.unit``, the deciding
    unit that holds the dossier now), or, ``None``, every dossier.
    """

    def catch_up(self) -> int:
        """Fold the audit entries written since the last catch-up; returns how many were read."""
        ...

    def rebuild(self) -> int:
        """Forget the projection and fold the whole log again; returns how many entries were read."""
        ...

    def bieu06(self, start: date, end: date, *, units: frozenset[str] | None = None) -> Bieu06:
        """Biểu số 06/VPCP/KSTT for [start, end], exactly as :func:`motcua.workflow.reports.projection.bieu06`
        computes it."""
        ...

    def indicator_counts(self, start: date, end: date, *, units: frozenset[str] | None = None) -> IndicatorCounts:
        """The Decision 766 counts for [start, end], exactly as
        :func:`motcua.workflow.reports.par766.indicator_counts`."""
        ...

    def facts(self, code: str) -> DossierFacts | None:
        """A dossier's folded facts (``None`` for unknown codes and cases that are not dossiers)."""
        ...

    def facts_by_code(self, codes: Collection[str]) -> Mapping[str, DossierFacts]:
        """The folded facts of the dossiers ``codes`` names, in one read (unknown codes and cases that are not
        dossiers left out)."""
        ...
