"""Many decisions written as one, for file imports: the writer every backend hands out.

An import must write thousands of decisions, and nothing of a refused file may remain.
:meth:`motcua.adapters.backends.Backend.bulk` opens one unit of work and hands out a :class:`BulkWriter`,
a batch at a time: :meth:`~BulkWriter.cases` reads the stored cases a batch decides on (and holds them
until the end), :meth:`~BulkWriter.write` writes the batch's decisions. Leaving the block without an error
makes all of them stand; an error anywhere leaves none. The SQL writer is one transaction
(:mod:`motcua.adapters.sql.bulk`); the memory writer commits them together when the block ends, restoring the
store if one is refused (:mod:`motcua.adapters.memory.backend`).

Only plain decisions are taken: imported dossiers arm no timers, release no effects and consume no
timer, so a decision carrying any of them is refused (:func:`require_plain`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from motcua.workflow.engine.decisions import Decision
from motcua.workflow.engine.model import Case
from motcua.workflow.errors import InvalidInput

__all__ = ["BulkWriter", "require_plain"]


class BulkWriter(Protocol):
    def cases(self, codes: Sequence[str]) -> dict[str, Case]:
        """The stored cases among ``codes``, nobody else's to move until the unit of work ends."""
        ...

    def write(self, decisions: Sequence[Decision]) -> None:
        """Write plain decisions (cases and entries); raise, and so write none of the unit's, if any case was lost."""
        ...


def require_plain(decisions: Sequence[Decision]) -> None:
    """Refuse a decision that arms or cancels timers, releases effects or consumes a timer."""
    for decision in decisions:
        if decision.timers or decision.effects or decision.consumes is not None:
            raise InvalidInput("decision", f"{decision.case.code}: a bulk write carries no timers or effects")
