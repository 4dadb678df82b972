"""The in-memory :class:`~motcua.workflow.engine.ports.DefinitionPins`: the pins of a ``memory://`` database, gone with
the process like its cases, kept by the same rules as the SQL table's (the first pin of a name wins; a re-pin only over
the digest it replaces), so that a test on memory sees what a database would do."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime

from motcua.workflow.engine.pins import Pin

__all__ = ["MemoryPins"]


class MemoryPins:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pins: dict[Pin, str] = {}

    def pinned(self) -> dict[Pin, str]:
        with self._lock:
            return dict(self._pins)

    def pin(self, digests: Mapping[Pin, str], at: datetime) -> dict[Pin, str]:
        with self._lock:
            return {name: self._pins.setdefault(name, digest) for name, digest in digests.items()}

    def repin(self, name: Pin, old: str, new: str, at: datetime) -> bool:
        with self._lock:
            if self._pins.get(name) != old:
                return False
            self._pins[name] = new
            return True
