"""Anchors: a small digest of the audit log at an instant, kept elsewhere and checked later.

The hash chain proves that a log is consistent with itself, not that it is the log that was
written: whoever can write the database can rewrite a whole chain and recompute every hash. An
anchor closes that gap. It lists every chain's head at the instant it is taken — case code,
sequence, entry hash — with the number of entries and the highest global position, and a SHA-256
digest over exactly those. Printed and signed, sent to the district or kept on another machine, it
lets anyone prove later (:func:`check`) that:

- every anchored head is still there, at the same sequence, with the same entry hash;
- the chain leading to it still links up to it entry by entry, each entry matching its own hash —
  so no entry before it was removed, rewritten or slipped in (a head hash commits to its whole prefix);
- the anchor document itself was not edited (its digest still matches its heads).

What happened since is reported, not judged: chains that grew, new chains, and — as a warning —
entries outside the anchored prefixes at a position the anchor had already passed (on PostgreSQL a
transaction still open when the anchor was taken commits such an entry honestly; otherwise one was
inserted with a forged position).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Final, Protocol

from motcua.workflow.engine.audit import CANONICAL_FORMS, AuditEntry, entry_hash
from motcua.workflow.engine.clock import to_vietnam_time
from motcua.workflow.engine.model import GENESIS_HASH, JsonValue
from motcua.workflow.errors import InvalidInput

__all__ = [
    "ANCHOR_FORMAT",
    "ANCHOR_KIND",
    "Anchor",
    "AnchorFinding",
    "AnchorReport",
    "ChainHead",
    "EntryRef",
    "check",
    "digest",
    "take",
]

ANCHOR_KIND: Final = "motcua-audit-anchor"
ANCHOR_FORMAT: Final = 1
_HASH = re.compile(r"[0-9a-f]{64}")
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class EntryRef(Protocol):
    """What an anchor needs of an entry (an :class:`~motcua.workflow.engine.audit.AuditEntry` is one)."""

    @property
    def case_code(self) -> str: ...

    @property
    def sequence(self) -> int: ...

    @property
    def hash(self) -> str: ...

    @property
    def position(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class ChainHead:
    code: str
    sequence: int
    hash: str


def digest(heads: Sequence[ChainHead], count: int, max_position: int) -> str:
    """SHA-256 (hex) over the canonical JSON of the heads (ordered by code), the count and the max position."""
    document: dict[str, JsonValue] = {
        "anchor": f"{ANCHOR_KIND}/{ANCHOR_FORMAT}",
        "count": count,
        "heads": [[head.code, head.sequence, head.hash] for head in sorted(heads, key=lambda h: h.code)],
        "max_position": max_position,
    }
    return hashlib.sha256(_CANONICAL.encode(document).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Anchor:
    taken_at: datetime
    heads: tuple[ChainHead, ...]
    count: int
    max_position: int
    digest: str

    def as_json(self) -> dict[str, JsonValue]:
        """The anchor document: small, stable, readable (Vietnam time), ready to print, sign or send."""
        return {
            "kind": ANCHOR_KIND, "format": ANCHOR_FORMAT,
            "taken_at": to_vietnam_time(self.taken_at).isoformat(),
            "chains": len(self.heads), "count": self.count, "max_position": self.max_position,
            "digest": self.digest,
            "heads": [{"code": h.code, "sequence": h.sequence, "hash": h.hash} for h in self.heads],
        }

    @classmethod
    def from_json(cls, document: object) -> Anchor:
        """Read an anchor document back; :class:`~motcua.workflow.errors.InvalidInput` names what is wrong."""
        if not isinstance(document, Mapping) or document.get("kind") != ANCHOR_KIND:
            raise InvalidInput("anchor", f"not a {ANCHOR_KIND} document")
        if document.get("format") != ANCHOR_FORMAT:
            raise InvalidInput("anchor", f"format {document.get('format')!r} is not {ANCHOR_FORMAT}")
        raw_heads = document.get("heads")
        if not isinstance(raw_heads, list):
            raise InvalidInput("anchor", "heads must be a list")
        return cls(
            taken_at=_instant(document.get("taken_at")),
            heads=tuple(_head(item, index) for index, item in enumerate(raw_heads)),
            count=_natural(document.get("count"), "count"),
            max_position=_natural(document.get("max_position"), "max_position"),
            digest=_hex(document.get("digest"), "digest"),
        )


def _instant(value: object) -> datetime:
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise InvalidInput("anchor", f"taken_at {value!r} is not an ISO 8601 instant with its offset")
    return parsed


def _natural(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput("anchor", f"{name} must be a whole number ≥ 0, got {value!r}")
    return value


def _hex(value: object, name: str) -> str:
    if not isinstance(value, str) or not _HASH.fullmatch(value):
        raise InvalidInput("anchor", f"{name} must be 64 lowercase hex digits, got {value!r}")
    return value


def _head(item: object, index: int) -> ChainHead:
    if not isinstance(item, Mapping) or not isinstance(item.get("code"), str):
        raise InvalidInput("anchor", f"heads[{index}] must be an object with a code")
    sequence = _natural(item.get("sequence"), f"heads[{index}].sequence")
    if sequence < 1:
        raise InvalidInput("anchor", f"heads[{index}].sequence must be ≥ 1")
    return ChainHead(str(item["code"]), sequence, _hex(item.get("hash"), f"heads[{index}].hash"))


def take(entries: Iterable[EntryRef], taken_at: datetime) -> Anchor:
    """The anchor of a log given as its entries (any order)."""
    heads: dict[str, ChainHead] = {}
    count = max_position = 0
    for entry in entries:
        count += 1
        max_position = max(max_position, entry.position or 0)
        last = heads.get(entry.case_code)
        if last is None or entry.sequence > last.sequence:
            heads[entry.case_code] = ChainHead(entry.case_code, entry.sequence, entry.hash)
    ordered = tuple(heads[code] for code in sorted(heads))
    return Anchor(taken_at, ordered, count, max_position, digest(ordered, count, max_position))


# -- checking ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnchorFinding:
    """Something the log no longer agrees with (``broken``), or a warning worth a look."""

    code: str | None
    sequence: int | None
    problem: str
    broken: bool = True

    def __str__(self) -> str:
        where = "anchor" if self.code is None else self.code
        if self.sequence is not None:
            where += f" #{self.sequence}"
        return f"{where}: {self.problem}"


@dataclass(frozen=True, slots=True)
class AnchorReport:
    findings: tuple[AnchorFinding, ...]
    chains_checked: int
    chains_grown: int
    entries_appended: int
    new_chains: int
    new_chain_entries: int

    @property
    def intact(self) -> bool:
        """Every anchored head and everything before it is as it was when the anchor was taken."""
        return not any(finding.broken for finding in self.findings)

    def changes(self) -> str:
        """What happened since the anchor, in one line."""
        return (f"{self.entries_appended} entries appended to {self.chains_grown} anchored chains, "
                f"{self.new_chains} new chains with {self.new_chain_entries} entries")


@dataclass(slots=True)
class _Tally:
    grown: int = 0
    appended: int = 0
    new_chains: int = 0
    new_entries: int = 0


def check(anchor: Anchor, entries: Iterable[AuditEntry]) -> AnchorReport:
    """Check a log (entries ordered by case code, then sequence) against an earlier anchor."""
    findings: list[AnchorFinding] = []
    if digest(anchor.heads, anchor.count, anchor.max_position) != anchor.digest:
        edited = "the digest does not match the heads it lists: the anchor was edited"
        findings.append(AnchorFinding(None, None, edited))
    heads = {head.code: head for head in anchor.heads}
    seen: set[str] = set()
    tally = _Tally()
    for code, group in groupby(entries, key=lambda entry: entry.case_code):
        chain = list(group)
        head = heads.get(code)
        if head is None:
            tally.new_chains += 1
            tally.new_entries += len(chain)
            findings += _uncovered(chain, anchor.max_position)
            continue
        seen.add(code)
        if (problem := _prefix_problem(head, chain)) is not None:
            findings.append(problem)
        later = [entry for entry in chain if entry.sequence > head.sequence]
        tally.grown += bool(later)
        tally.appended += len(later)
        findings += _uncovered(later, anchor.max_position)
    findings += [AnchorFinding(h.code, 1, f"the whole chain is gone (anchored up to #{h.sequence})")
                 for h in anchor.heads if h.code not in seen]
    return AnchorReport(tuple(findings), len(anchor.heads), tally.grown, tally.appended, tally.new_chains,
                        tally.new_entries)


def _prefix_problem(head: ChainHead, chain: list[AuditEntry]) -> AnchorFinding | None:
    """Whether the chain still leads, entry by entry, to the anchored head."""
    prefix = [entry for entry in chain if entry.sequence <= head.sequence]
    at_head = next((entry for entry in prefix if entry.sequence == head.sequence), None)
    if at_head is None:
        return AnchorFinding(head.code, head.sequence, "the anchored head entry is gone (removed)")
    if at_head.hash != head.hash:
        return AnchorFinding(head.code, head.sequence, f"the anchored head entry was rewritten (hash "
                                                       f"{at_head.hash[:12]}… where the anchor has {head.hash[:12]}…)")
    previous = GENESIS_HASH
    for expected, entry in enumerate(prefix, start=1):
        if entry.sequence != expected:
            return AnchorFinding(head.code, expected, "an entry before the anchored head is missing or slipped in")
        if entry.prev_hash != previous or not _matches_own_hash(entry):
            return AnchorFinding(head.code, expected, "an entry before the anchored head was rewritten")
        previous = entry.hash
    return None


def _matches_own_hash(entry: AuditEntry) -> bool:
    return entry.schema_version in CANONICAL_FORMS and entry_hash(entry) == entry.hash


def _uncovered(entries: list[AuditEntry], max_position: int) -> list[AnchorFinding]:
    return [
        AnchorFinding(entry.case_code, entry.sequence, f"not in the anchor, yet at position {entry.position} ≤ "
                      f"{max_position}: committed late by a transaction open at the anchor, or inserted with "
                      "a forged position", broken=False)
        for entry in entries if entry.position is not None and entry.position <= max_position
    ]
