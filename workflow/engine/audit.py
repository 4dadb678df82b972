"""The append-only, hash-chained audit log: entries, their canonical encoding, and chain checks.

Each entry's ``hash`` is SHA-256 over a canonical JSON encoding of every field but the hash
itself and the store-assigned global position; ``prev_hash`` links it to the case's previous
entry (:data:`~motcua.workflow.engine.model.GENESIS_HASH` for the first). The case row keeps the head hash and
version, so removing or adding an entry at the end of a chain is detected as surely as changing
one in the middle; a case row without any entry is a break too (a store writes a case row only with its first
entry). An entry whose stored JSON text repeats a key in one object is a break (``stored_flaw``, found by the store
that read it): its readers disagree on the value, and the hash covers only one.

The global position is given by the store when the entry is inserted, after the engine sealed it, so it
cannot be under ``hash``. From schema 2 the store puts it under a second hash instead, in the same
statement that inserts the entry: the *position seal* (:func:`position_seal`), SHA-256 over the previous
entry's seal, the position and the entry's hash — a chain of its own beside the hash chain. An entry moved
to another position, or two entries' positions swapped (of one chain or of two), no longer match their
seals; a schema-2 entry stripped of its seal is named too (``schema`` is under ``hash``). The seal holds no
secret: whoever can rewrite rows can recompute it, as they can recompute a chain; an anchor, which records
every head's seal, pins the positions of everything before it (docs/auditing.md).

Entries are versioned (``schema_version``). An entry is stored, and hashed, in the layout of the
version it was written in: :data:`CANONICAL_FORMS` holds the canonical form of every version ever
written, so an old entry verifies for ever. Readers see old entries upcast to the current layout
(:mod:`motcua.workflow.auditing.upcasting`); verification always runs on the entry as stored.

Schemas 0 to 2 are encoded by the standard library's ``json``; schema 3 (current) holds the same fields as
schema 2 and is encoded by orjson, ten times faster, whose output is canonical by the rules
:func:`canonical_v3_bytes` states (docs/explanation/audit-log.md#the-bytes-of-a-schema-3-entry): an auditor
recomputes a hash by hand from them, in any language.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Final

import orjson

from motcua.workflow.engine.clock import to_vietnam_time
from motcua.workflow.engine.frozen import quick_init
from motcua.workflow.engine.model import GENESIS_HASH, Case, JsonValue
from motcua.workflow.errors import InvalidInput

__all__ = [
    "CANONICAL_FORMS",
    "ENTRY_SCHEMA_VERSION",
    "POSITION_SEALED_FROM",
    "AuditEntry",
    "ChainBreak",
    "canonical_bytes",
    "canonical_v3_bytes",
    "entry_hash",
    "position_problem",
    "position_seal",
    "seal",
    "seal_positions",
    "sealed",
    "verify_chains",
]

ENTRY_SCHEMA_VERSION = 3
"""The schema new entries are written in (:func:`sealed`)."""
POSITION_SEALED_FROM = 2
"""The first schema whose entries must carry a position seal (older ones were written without)."""


@quick_init
@dataclass(frozen=True, slots=True)
class AuditEntry:
    case_code: str
    sequence: int
    occurred_at: datetime
    actor: str
    role: str
    trigger: str
    state_before: Mapping[str, str]
    state_after: Mapping[str, str]
    data: Mapping[str, JsonValue]
    changes: Mapping[str, JsonValue]  # attributes the actions set: the log alone replays a case
    reason: str | None
    definition_key: str
    definition_version: int
    rule_set: str
    prev_hash: str
    hash: str = ""
    schema_version: int = ENTRY_SCHEMA_VERSION
    position: int | None = None  # global order, assigned by the store at commit
    # the position seal, written by the store with the position (schema 2 on); derived, like the position,
    # from what the store did, so two entries equal in content compare equal whatever their seals
    position_hash: str | None = field(default=None, compare=False)
    # what the store found wrong with the entry's stored text itself when it read it — a JSON text that repeats a
    # key in one object (``'data repeats the key "assignee" in one object'``), read two ways — or None;
    # derived from the store's row like the seal, so not compared; verify names it (:func:`check_chain`)
    stored_flaw: str | None = field(default=None, compare=False)


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
# schema 3: sorted keys; dates and dataclasses refused (orjson would write them) like every value JSON has not
_ORJSON_OPTIONS: Final = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _utc_text(instant: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (what ``strftime`` would print, at a fraction of the cost)."""
    u = instant.astimezone(UTC)
    return (f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}"
            f".{u.microsecond:06d}Z")


def _canonical_v1(entry: AuditEntry) -> bytes:
    """Schemas 1 and 2: every field, the instant in UTC; encoded by ``json`` (sorted keys, ``,`` and ``:``
    without spaces, non-ASCII as is, UTF-8). Schema 2 changed no field: its entries are stored with a position
    seal, which ``schema`` (under the hash) obliges them to keep."""
    document = {
        "schema": entry.schema_version,
        "case": entry.case_code,
        "seq": entry.sequence,
        "at": _utc_text(entry.occurred_at),
        "actor": entry.actor,
        "role": entry.role,
        "trigger": entry.trigger,
        "before": dict(entry.state_before),
        "after": dict(entry.state_after),
        "data": dict(entry.data),
        "changes": dict(entry.changes),
        "reason": entry.reason,
        "definition": f"{entry.definition_key}@{entry.definition_version}",
        "rule_set": entry.rule_set,
        "prev": entry.prev_hash,
    }
    return _CANONICAL.encode(document).encode("utf-8")


def _canonical_v0(entry: AuditEntry) -> bytes:
    """Schema 0 (the pilot's prototype layout, see docs/explanation/audit-log.md): no ``changes`` and no ``reason``
    of their own (the attributes the actions set travelled inside ``data`` under ``_set``, the reason
    was a data field), and the instant written in Vietnam time; encoded as schema 1.

    A schema-0 row keeps ``changes`` empty and ``reason`` null; should either be filled, it is hashed
    too, so that nothing a reader might take from those columns escapes the hash.
    """
    extra: dict[str, JsonValue] = {}
    if entry.changes:
        extra["changes"] = dict(entry.changes)
    if entry.reason is not None:
        extra["reason"] = entry.reason
    document = {
        **extra,
        "schema": entry.schema_version,
        "case": entry.case_code,
        "seq": entry.sequence,
        "at": to_vietnam_time(entry.occurred_at).isoformat(timespec="microseconds"),
        "actor": entry.actor,
        "role": entry.role,
        "trigger": entry.trigger,
        "before": dict(entry.state_before),
        "after": dict(entry.state_after),
        "data": dict(entry.data),
        "definition": f"{entry.definition_key}@{entry.definition_version}",
        "rule_set": entry.rule_set,
        "prev": entry.prev_hash,
    }
    return _CANONICAL.encode(document).encode("utf-8")


def canonical_v3_bytes(
    *, case_code: str, sequence: int, occurred_at: datetime, actor: str, role: str, trigger: str,
    state_before: Mapping[str, str], state_after: Mapping[str, str], data: Mapping[str, JsonValue],
    changes: Mapping[str, JsonValue], reason: str | None, definition_key: str, definition_version: int,
    rule_set: str, prev_hash: str,
) -> bytes:
    """Schema 3 (current): the fields of schema 2, the instant in UTC as RFC 3339 (:func:`_v3_instant`), as
    orjson writes them (docs/explanation/audit-log.md).

    One JSON object, no whitespace, UTF-8; the keys of every object sorted by code point; strings as they
    are, but ``"`` and ``\\`` escaped with a backslash and the control characters U+0000–U+001F as ``\\b \\t \\n
    \\f \\r`` or ``\\u00xx`` (lowercase hex); integers in decimal (64 bits at most); a float by its shortest
    round-trip digits, in decimal notation (with at least one digit after the point) when 1e-5 ≤ |x| < 1e16 or x
    is zero, else as ``d[.ddd]e±n``; ``true``, ``false``, ``null``. Any value but ``dict`` with text keys,
    ``list``, ``tuple``, ``str``, ``int``, ``float``, ``bool`` and ``None`` is refused
    (:class:`~motcua.workflow.errors.InvalidInput`).
    """
    document = {
        "schema": 3, "case": case_code, "seq": sequence, "at": _v3_instant(occurred_at), "actor": actor, "role": role,
        "trigger": trigger, "before": state_before, "after": state_after, "data": data, "changes": changes,
        "reason": reason, "definition": f"{definition_key}@{definition_version}", "rule_set": rule_set,
        "prev": prev_hash,
    }
    try:
        encoded = orjson.dumps(document, option=_ORJSON_OPTIONS)
    except TypeError:  # a mapping that is not a dict (orjson takes no other), or a value JSON has not
        for name in ("before", "after", "data", "changes"):
            document[name] = dict(document[name])  # type: ignore[call-overload]  # one of the mappings above
        try:
            encoded = orjson.dumps(document, option=_ORJSON_OPTIONS)
        except TypeError as error:  # orjson.JSONEncodeError: a value JSON has no canonical text for
            raise InvalidInput("audit entry", f"{case_code} #{sequence} holds a value with no canonical JSON: "
                               f"{error}") from None
    # orjson writes NaN and ±Infinity as null: one more null than the reason's means a value may be one of them
    # (or a null, or a text holding "null": then the walk finds nothing). Written, NaN would hash as null would.
    if encoded.count(b"null") > (reason is None) and _has_non_finite((data, changes)):
        raise InvalidInput("audit entry", f"{case_code} #{sequence} holds a value with no canonical JSON: "
                           "a number that is not finite (NaN or Infinity)")
    return encoded


def _has_non_finite(value: object) -> bool:
    """Whether a float NaN or ±Infinity is somewhere in ``value`` (mappings, lists and tuples walked)."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, Mapping):
        return any(_has_non_finite(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_has_non_finite(item) for item in value)
    return False


def _v3_instant(instant: datetime) -> orjson.Fragment:
    """The instant in UTC, RFC 3339, as orjson writes it: ``YYYY-MM-DDTHH:MM:SS``, then ``.ffffff`` when the
    microseconds are not zero, then ``Z``; quoted (a ready-made JSON string)."""
    return orjson.Fragment(orjson.dumps(instant.astimezone(UTC), option=orjson.OPT_UTC_Z))


def _canonical_v3(entry: AuditEntry) -> bytes:
    return canonical_v3_bytes(
        case_code=entry.case_code, sequence=entry.sequence, occurred_at=entry.occurred_at, actor=entry.actor,
        role=entry.role, trigger=entry.trigger, state_before=entry.state_before, state_after=entry.state_after,
        data=entry.data, changes=entry.changes, reason=entry.reason, definition_key=entry.definition_key,
        definition_version=entry.definition_version, rule_set=entry.rule_set, prev_hash=entry.prev_hash,
    )


CANONICAL_FORMS: Mapping[int, Callable[[AuditEntry], bytes]] = {
    0: _canonical_v0,
    1: _canonical_v1,
    2: _canonical_v1,
    3: _canonical_v3,
}
"""The canonical form of each schema version: the exact bytes hashed, from the entry as stored in that version's
layout. Never change the form of a version once entries were written in it."""


def canonical_bytes(entry: AuditEntry) -> bytes:
    """The exact bytes that are hashed: the canonical form of the entry's own schema version."""
    form = CANONICAL_FORMS.get(entry.schema_version)
    if form is None:
        raise InvalidInput("schema_version", f"no canonical form for audit schema {entry.schema_version}")
    return form(entry)


def entry_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(canonical_bytes(entry)).hexdigest()


def seal(entry: AuditEntry) -> AuditEntry:
    """Return the entry with its hash filled in."""
    return replace(entry, hash=entry_hash(entry))


def sealed(
    *, case_code: str, sequence: int, occurred_at: datetime, actor: str, role: str, trigger: str,
    state_before: Mapping[str, str], state_after: Mapping[str, str], data: Mapping[str, JsonValue],
    changes: Mapping[str, JsonValue], reason: str | None, definition_key: str, definition_version: int,
    rule_set: str, prev_hash: str,
) -> AuditEntry:
    """A new entry of the current schema, 3, with its hash (the engine's path: hashed from the values, built once).
    A schema 4 would be written here, by a form of its own."""
    digest = hashlib.sha256(canonical_v3_bytes(
        case_code=case_code, sequence=sequence, occurred_at=occurred_at, actor=actor, role=role, trigger=trigger,
        state_before=state_before, state_after=state_after, data=data, changes=changes, reason=reason,
        definition_key=definition_key, definition_version=definition_version, rule_set=rule_set, prev_hash=prev_hash,
    )).hexdigest()
    return AuditEntry(case_code, sequence, occurred_at, actor, role, trigger, state_before, state_after, data, changes,
                      reason, definition_key, definition_version, rule_set, prev_hash, digest, 3)


def position_seal(previous: str, position: int, entry_hash: str) -> str:
    """The position seal of the entry hashed ``entry_hash`` at ``position``: SHA-256 (hex) of the UTF-8 text
    ``previous:position:entry_hash``, where ``previous`` is the seal of the case's previous entry, or
    :data:`~motcua.workflow.engine.model.GENESIS_HASH` when that entry has none (the first entry, or one written
    before schema 2). Simple enough to compute in SQL: on PostgreSQL the store's INSERT does
    (:func:`motcua.adapters.sql.queries.entry_insert`)."""
    return hashlib.sha256(f"{previous}:{position}:{entry_hash}".encode()).hexdigest()


def seal_positions(previous: str | None, entries: Iterable[AuditEntry], positions: Iterable[int]) -> list[AuditEntry]:
    """One case's next entries at their positions, each with its position seal; ``previous`` is the seal of
    the entry before them (``None``: it has none, or there is none). What a store does when it appends."""
    sealed_entries = []
    for entry, position in zip(entries, positions, strict=True):
        seal_ = position_seal(previous or GENESIS_HASH, position, entry.hash)
        sealed_entries.append(replace(entry, position=position, position_hash=seal_))
        previous = seal_
    return sealed_entries


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first place where a case's chain stops matching what the engine wrote."""

    case_code: str
    sequence: int
    problem: str

    def __str__(self) -> str:
        return f"{self.case_code} #{self.sequence}: {self.problem}"


def verify_chains(cases: Iterable[Case], entries: Iterable[AuditEntry]) -> Iterator[ChainBreak]:
    """Merge-join cases (ordered by code) with entries (ordered by code, sequence).

    Yields the first break of every broken chain, including entries whose case row is gone.
    """
    pending = _group_by_case(entries)
    current = next(pending, None)
    for case in cases:
        while current is not None and current[0] < case.code:
            yield ChainBreak(current[0], current[1][0].sequence, "entries without a case row")
            current = next(pending, None)
        chain: list[AuditEntry] = []
        if current is not None and current[0] == case.code:
            chain = current[1]
            current = next(pending, None)
        found = check_chain(case, chain)
        if found is not None:
            yield found
    while current is not None:
        yield ChainBreak(current[0], current[1][0].sequence, "entries without a case row")
        current = next(pending, None)


def _group_by_case(entries: Iterable[AuditEntry]) -> Iterator[tuple[str, list[AuditEntry]]]:
    code: str | None = None
    chain: list[AuditEntry] = []
    for entry in entries:
        if entry.case_code != code and chain:
            yield chain[0].case_code, chain
            chain = []
        code = entry.case_code
        chain.append(entry)
    if chain:
        yield chain[0].case_code, chain


def check_chain(case: Case, chain: list[AuditEntry]) -> ChainBreak | None:
    """Check one case's entries against each other and against the case row."""
    previous_hash = previous_seal = GENESIS_HASH
    previous_state: Mapping[str, str] | None = None
    for expected_sequence, entry in enumerate(chain, start=1):
        problem = (_entry_problem(entry, expected_sequence, previous_hash, previous_state)
                   or position_problem(entry, previous_seal))
        if problem is not None:
            return ChainBreak(case.code, expected_sequence, problem)
        previous_hash, previous_state = entry.hash, entry.state_after
        previous_seal = entry.position_hash or GENESIS_HASH
    return _head_problem(case, len(chain), previous_hash, previous_state)


def position_problem(entry: AuditEntry, previous_seal: str) -> str | None:
    """Whether the entry still stands where it was appended: its seal matches the previous entry's seal, its
    position and its hash. An entry written before schema 2 has no seal to match (its position is unbound)."""
    if entry.position_hash is None:
        if entry.schema_version >= POSITION_SEALED_FROM:
            return "no position seal, which its schema requires (seal removed)"
        return None
    if entry.position is None or entry.position_hash != position_seal(previous_seal, entry.position, entry.hash):
        return (f"position seal does not match position {entry.position} (entry moved, positions swapped, "
                "or the previous entry's seal rewritten)")
    return None


def _entry_problem(
    entry: AuditEntry, sequence: int, previous_hash: str, previous_state: Mapping[str, str] | None
) -> str | None:
    if entry.sequence != sequence:
        return f"sequence {entry.sequence} found where {sequence} was expected (entry missing or inserted)"
    if entry.schema_version not in CANONICAL_FORMS:
        return f"written in unknown audit schema {entry.schema_version} (entry altered)"
    if entry.prev_hash != previous_hash:
        return "prev_hash does not match the previous entry (entry removed, inserted or rewritten)"
    if (problem := _hash_problem(entry) or _stored_text_problem(entry)) is not None:
        return problem
    if previous_state is not None and dict(entry.state_before) != dict(previous_state):
        return "state_before differs from the previous entry's state_after"
    return None


def _hash_problem(entry: AuditEntry) -> str | None:
    try:
        digest = entry_hash(entry)
    except InvalidInput as error:  # a value written in no canonical form (NaN put in by hand): not the engine's
        return f"hash cannot be recomputed: {error.message} (entry altered)"
    return None if entry.hash == digest else "hash does not match the entry's content (entry altered)"


def _stored_text_problem(entry: AuditEntry) -> str | None:
    """Whether the store found the entry's text readable two ways (a key repeated in one object): the value the hash
    covers is then not the one every reader of the database sees."""
    if entry.stored_flaw is None:
        return None
    return (f"stored JSON text of {entry.stored_flaw} (entry altered: a query of the database may read the "
            "first, the hash covers the last)")


def _head_problem(
    case: Case, length: int, last_hash: str, last_state: Mapping[str, str] | None
) -> ChainBreak | None:
    if length == 0:  # a store writes a case row only with its first entry: a version-0 case is never stored
        return ChainBreak(case.code, 1, f"case row at version {case.version} has no entries (a case row is only "
                          "ever written with its first entry: entries removed)")
    if case.version != length:
        return ChainBreak(case.code, min(case.version, length) + 1,
                          f"case is at version {case.version} but its chain has {length} entries")
    if case.head_hash != last_hash:
        return ChainBreak(case.code, length, "case head hash differs from its last entry")
    if last_state is not None and dict(case.state) != dict(last_state):
        return ChainBreak(case.code, length, "case state differs from its last entry's state_after")
    return None
