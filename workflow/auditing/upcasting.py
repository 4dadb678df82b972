"""Reading audit entries written in an earlier schema: upcasters, one version step at a time.

An entry is stored in the layout of the schema version it was written in, and its hash is over the
canonical form of *that* version (:data:`motcua.workflow.engine.audit.CANONICAL_FORMS`): verification always runs
on the entry as stored. Readers — replay, history, the control sheet, exports — see it upcast: an
:class:`UpcasterRegistry` maps each ``from_version`` to a function on the stored mapping (field name
→ value, the fields of :class:`~motcua.workflow.engine.audit.AuditEntry`) that returns the mapping one version
later; :meth:`UpcasterRegistry.upcast` applies them in turn up to the current version.

An upcast entry keeps the stored ``hash`` (it still names the entry) but it is a reading, not a
record: its ``schema_version`` is the current one, so hashing it again proves nothing. Verify what is
stored, read what is upcast.

Schema 0 is the layout the pilot's prototype wrote (docs/explanation/audit-log.md): the attributes the actions set
travelled inside ``data`` under the reserved key ``_set`` (the ``changes`` column, added later, holds
``{}``), and the reason was a data field only. :func:`upcast_v0_to_v1` moves them where schema 1 has
them. Schema 2 changed no field (its entries carry a position seal beside their hash, see
:mod:`motcua.workflow.engine.audit`): :func:`upcast_v1_to_v2` only renumbers; so does :func:`upcast_v2_to_v3`
(schema 3 changed the encoding under the hash, not the fields).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields, replace
from typing import Any, Final

from motcua.workflow.engine.audit import ENTRY_SCHEMA_VERSION, AuditEntry
from motcua.workflow.engine.model import JsonValue
from motcua.workflow.errors import InvalidInput

__all__ = [
    "UPCASTERS",
    "V0_CHANGES_KEY",
    "StoredEntry",
    "Upcaster",
    "UpcasterRegistry",
    "stored_mapping",
    "upcast",
    "upcast_v0_to_v1",
    "upcast_v1_to_v2",
    "upcast_v2_to_v3",
]

StoredEntry = dict[str, object]
"""An entry as stored: field name of :class:`~motcua.workflow.engine.audit.AuditEntry` → value."""

Upcaster = Callable[[StoredEntry], StoredEntry]
"""Takes the stored mapping at version n, returns it at version n + 1 (``schema_version`` is set for it)."""

V0_CHANGES_KEY: Final = "_set"
_FIELDS: Final = tuple(field.name for field in fields(AuditEntry))


class UpcasterRegistry:
    """``from_version → upcaster`` steps up to ``current``; a missing step is refused when met."""

    def __init__(self, current: int = ENTRY_SCHEMA_VERSION) -> None:
        self.current = current
        self._steps: dict[int, Upcaster] = {}

    def register(self, from_version: int, upcaster: Upcaster) -> None:
        if not 0 <= from_version < self.current:
            raise InvalidInput("from_version", f"{from_version}: an upcaster starts below schema {self.current}")
        if from_version in self._steps:
            raise InvalidInput("from_version", f"an upcaster from schema {from_version} is already registered")
        self._steps[from_version] = upcaster

    def upcast_mapping(self, stored: Mapping[str, object]) -> StoredEntry:
        """The stored mapping brought to the current schema, one registered step at a time."""
        mapping = dict(stored)
        version = mapping.get("schema_version")
        if not isinstance(version, int) or version > self.current:
            raise InvalidInput("schema_version", f"{version!r}: not an audit schema up to {self.current}")
        while version < self.current:
            step = self._steps.get(version)
            if step is None:
                raise InvalidInput("schema_version", f"no upcaster from audit schema {version}")
            mapping = step(mapping)
            version += 1
            mapping["schema_version"] = version
        return mapping

    def upcast(self, entry: AuditEntry) -> AuditEntry:
        """The entry in the current layout (itself when already current)."""
        if entry.schema_version == self.current:
            return entry
        mapping = self.upcast_mapping(stored_mapping(entry))
        unknown = sorted(set(mapping) - set(_FIELDS))
        if unknown:
            raise InvalidInput("upcaster", f"produced fields an audit entry does not have: {unknown}")
        fields_now: dict[str, Any] = mapping  # values as the upcasters made them, one per entry field
        return replace(entry, **fields_now)


def stored_mapping(entry: AuditEntry) -> StoredEntry:
    """The entry's fields by name, as an upcaster receives them."""
    return {name: getattr(entry, name) for name in _FIELDS}


def _json_object(value: object) -> dict[str, JsonValue]:
    return dict(value) if isinstance(value, Mapping) else {}


def upcast_v0_to_v1(stored: StoredEntry) -> StoredEntry:
    """Schema 0 → 1: ``data["_set"]`` becomes ``changes``; ``reason`` is taken from ``data["reason"]``
    (schema 0 had neither field: what the columns hold is not read)."""
    data = _json_object(stored.get("data"))
    changes = _json_object(data.pop(V0_CHANGES_KEY, None))
    reason = data.get("reason")
    return {**stored, "data": data, "changes": changes, "reason": reason if isinstance(reason, str) else None}


def upcast_v1_to_v2(stored: StoredEntry) -> StoredEntry:
    """Schema 1 → 2: the same fields (schema 2 added the position seal, which the store writes beside the
    entry; an entry written in schema 1 has none, and reading it does not make one up)."""
    return dict(stored)


def upcast_v2_to_v3(stored: StoredEntry) -> StoredEntry:
    """Schema 2 → 3: the same fields (schema 3 encodes them otherwise under the hash; the entry keeps the hash it
    was written with, which only its own schema's form recomputes)."""
    return dict(stored)


UPCASTERS: Final = UpcasterRegistry()
UPCASTERS.register(0, upcast_v0_to_v1)
UPCASTERS.register(1, upcast_v1_to_v2)
UPCASTERS.register(2, upcast_v2_to_v3)


def upcast(entry: AuditEntry) -> AuditEntry:
    """The entry as readers see it: upcast by :data:`UPCASTERS` to the current schema."""
    return UPCASTERS.upcast(entry)
