"""Anchors: a small digest of the audit log at an instant, kept elsewhere and checked later.

The hash chain proves that a log is consistent with itself, not that it is the log that was
written: whoever can write the database can rewrite a whole chain and recompute every hash. An
anchor closes that gap. It lists every chain's head at the instant it is taken — case code,
sequence, entry hash and (format 2) the head's position seal — with the number of entries and the
highest global position, and a SHA-256 digest over exactly those. Printed and signed, sent to the
district, kept on another machine or published by the worker on a schedule
(:mod:`motcua.workers.anchors`), it lets anyone prove later (:func:`check`) that:

- every anchored head is still there, at the same sequence, with the same entry hash (and seal);
- the chain leading to it still links up to it entry by entry, each entry matching its own hash and its
  position seal — so no entry before it was removed, rewritten, slipped in or moved to another position
  (a head hash commits to its whole prefix, a head seal to every position of it: :mod:`motcua.workflow.engine.audit`);
- the anchor document itself was not edited (its digest still matches its heads).

An anchor also pins time: an entry that is not under an anchored head was appended after the anchor was
taken, whatever instant it claims — the one thing that limits an insider who appends a well-formed entry
with the application's own rights (docs/auditing.md). Anchors of format 1 (no seals) are still read and
checked as they were written.

What happened since is reported, not judged: chains that grew, new chains, and — as a warning —
entries outside the anchored prefixes at a position the anchor had already passed, or dated before the
anchor was taken (on PostgreSQL a transaction still open when the anchor was taken commits such an entry
honestly; otherwise one was inserted with a forged position, or appended later and backdated).
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

from motcua.workflow.engine.audit import CANONICAL_FORMS, AuditEntry, entry_hash, position_problem
from motcua.workflow.engine.bounds import CASE_CODE_MAX, line_problem
from motcua.workflow.engine.clock import to_vietnam_time
from motcua.workflow.engine.model import GENESIS_HASH, JsonValue
from motcua.workflow.errors import InvalidInput

__all__ = [
    "ANCHOR_FORMAT",
    "ANCHOR_KIND",
    "ANCHOR_MAX_BYTES",
    "READABLE_FORMATS",
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
ANCHOR_FORMAT: Final = 2
ANCHOR_MAX_BYTES: Final = 32 * 1024 * 1024
"""The largest anchor file a check reads (one head of about 200 bytes per chain: a province's years)."""
READABLE_FORMATS: Final = frozenset({1, ANCHOR_FORMAT})  # 1: heads without their position seals
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

    @property
    def position_hash(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class ChainHead:
    code: str
    sequence: int
    hash: str
    seal: str | None = None  # the head's position seal (format 2; None: the head entry has none)

    def listed(self, format_: int) -> list[JsonValue]:
        """The head as the digest of an anchor of ``format_`` lists it."""
        return [self.code, self.sequence, self.hash] if format_ == 1 else [self.code, self.sequence, self.hash,
                                                                           self.seal]


def digest(heads: Sequence[ChainHead], count: int, max_position: int, format_: int = ANCHOR_FORMAT) -> str:
    """SHA-256 (hex) over the canonical JSON of the heads (ordered by code; format 2 lists each head's seal),
    the count and the max position."""
    document: dict[str, JsonValue] = {
        "anchor": f"{ANCHOR_KIND}/{format_}",
        "count": count,
        "heads": [head.listed(format_) for head in sorted(heads, key=lambda h: h.code)],
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
    format: int = ANCHOR_FORMAT

    def as_json(self) -> dict[str, JsonValue]:
        """The anchor document: small, stable, readable (Vietnam time), ready to print, sign or send."""
        return {
            "kind": ANCHOR_KIND, "format": self.format,
            "taken_at": to_vietnam_time(self.taken_at).isoformat(),
            "chains": len(self.heads), "count": self.count, "max_position": self.max_position,
            "digest": self.digest,
            "heads": [_head_json(head, self.format) for head in self.heads],
        }

    @classmethod
    def from_json(cls, document: object) -> Anchor:
        """Read an anchor document back; :class:`~motcua.workflow.errors.InvalidInput` names what is wrong."""
        if not isinstance(document, Mapping) or document.get("kind") != ANCHOR_KIND:
            raise InvalidInput("anchor", f"not a {ANCHOR_KIND} document")
        format_ = document.get("format")
        if not isinstance(format_, int) or isinstance(format_, bool) or format_ not in READABLE_FORMATS:
            raise InvalidInput("anchor", f"format {format_!r} is not one of {sorted(READABLE_FORMATS)}")
        raw_heads = document.get("heads")
        if not isinstance(raw_heads, list):
            raise InvalidInput("anchor", "heads must be a list")
        return cls(
            taken_at=_instant(document.get("taken_at")),
            heads=tuple(_head(item, index, format_) for index, item in enumerate(raw_heads)),
            count=_natural(document.get("count"), "count"),
            max_position=_natural(document.get("max_position"), "max_position"),
            digest=_hex(document.get("digest"), "digest"),
            format=format_,
        )


def _head_json(head: ChainHead, format_: int) -> dict[str, JsonValue]:
    listed: dict[str, JsonValue] = {"code": head.code, "sequence": head.sequence, "hash": head.hash}
    return listed if format_ == 1 else {**listed, "seal": head.seal}


def _instant(value: object) -> datetime:
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise InvalidInput("anchor", f"taken_at {value!r} is not an ISO 8601 instant with its offset")
    try:
        to_vietnam_time(parsed)  # the report says when the anchor was taken, in Vietnam time
    except OverflowError:
        raise InvalidInput("anchor", f"taken_at {value!r} is at the calendar's edge: no anchor was taken") from None
    return parsed


def _natural(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput("anchor", f"{name} must be a whole number ≥ 0, got {value!r}")
    return value


def _hex(value: object, name: str) -> str:
    if not isinstance(value, str) or not _HASH.fullmatch(value):
        raise InvalidInput("anchor", f"{name} must be 64 lowercase hex digits, got {value!r}")
    return value


def _head(item: object, index: int, format_: int) -> ChainHead:
    if not isinstance(item, Mapping) or not isinstance(item.get("code"), str):
        raise InvalidInput("anchor", f"heads[{index}] must be an object with a code")
    problem = line_problem(item["code"], CASE_CODE_MAX)  # a NUL or a lone surrogate fails the digest, later
    if problem is not None:
        raise InvalidInput("anchor", f"heads[{index}].code: {problem}")
    sequence = _natural(item.get("sequence"), f"heads[{index}].sequence")
    if sequence < 1:
        raise InvalidInput("anchor", f"heads[{index}].sequence must be ≥ 1")
    seal = item.get("seal")
    if format_ > 1 and seal is not None:
        seal = _hex(seal, f"heads[{index}].seal")
    return ChainHead(str(item["code"]), sequence, _hex(item.get("hash"), f"heads[{index}].hash"),
                     seal if isinstance(seal, str) else None)


def take(entries: Iterable[EntryRef], taken_at: datetime) -> Anchor:
    """The anchor of a log given as its entries (any order)."""
    heads: dict[str, ChainHead] = {}
    count = max_position = 0
    for entry in entries:
        count += 1
        max_position = max(max_position, entry.position or 0)
        last = heads.get(entry.case_code)
        if last is None or entry.sequence > last.sequence:
            heads[entry.case_code] = ChainHead(entry.case_code, entry.sequence, entry.hash, entry.position_hash)
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
    if digest(anchor.heads, anchor.count, anchor.max_position, anchor.format) != anchor.digest:
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
            findings += _uncovered(chain, anchor)
            continue
        seen.add(code)
        if (problem := _prefix_problem(head, chain, sealed=anchor.format > 1)) is not None:
            findings.append(problem)
        later = [entry for entry in chain if entry.sequence > head.sequence]
        tally.grown += bool(later)
        tally.appended += len(later)
        findings += _uncovered(later, anchor)
    findings += [AnchorFinding(h.code, 1, f"the whole chain is gone (anchored up to #{h.sequence})")
                 for h in anchor.heads if h.code not in seen]
    return AnchorReport(tuple(findings), len(anchor.heads), tally.grown, tally.appended, tally.new_chains,
                        tally.new_entries)


def _prefix_problem(head: ChainHead, chain: list[AuditEntry], *, sealed: bool) -> AnchorFinding | None:
    """Whether the chain still leads, entry by entry, to the anchored head (and, ``sealed``, to its seal)."""
    prefix = [entry for entry in chain if entry.sequence <= head.sequence]
    at_head = next((entry for entry in prefix if entry.sequence == head.sequence), None)
    if at_head is None:
        return AnchorFinding(head.code, head.sequence, "the anchored head entry is gone (removed)")
    if at_head.hash != head.hash:
        return AnchorFinding(head.code, head.sequence, f"the anchored head entry was rewritten (hash "
                                                       f"{at_head.hash[:12]}… where the anchor has {head.hash[:12]}…)")
    if sealed and at_head.position_hash != head.seal:
        return AnchorFinding(head.code, head.sequence, "the anchored head entry's position seal differs from the "
                                                       "anchor's (moved, or positions before it rewritten)")
    return _link_problem(head.code, prefix)


def _link_problem(code: str, prefix: list[AuditEntry]) -> AnchorFinding | None:
    """The first entry of an anchored prefix that no longer links up: missing, rewritten or moved."""
    previous, previous_seal = GENESIS_HASH, GENESIS_HASH
    for expected, entry in enumerate(prefix, start=1):
        if entry.sequence != expected:
            return AnchorFinding(code, expected, "an entry before the anchored head is missing or slipped in")
        if entry.prev_hash != previous or not _matches_own_hash(entry):
            return AnchorFinding(code, expected, "an entry before the anchored head was rewritten")
        if position_problem(entry, previous_seal) is not None:
            return AnchorFinding(code, expected, "an entry before the anchored head was moved (its position seal "
                                                 "no longer matches)")
        previous, previous_seal = entry.hash, entry.position_hash or GENESIS_HASH
    return None


def _matches_own_hash(entry: AuditEntry) -> bool:
    if entry.schema_version not in CANONICAL_FORMS:
        return False
    try:
        return entry_hash(entry) == entry.hash
    except InvalidInput:  # a value with no canonical form (a NaN put in by hand): rewritten
        return False


def _uncovered(entries: list[AuditEntry], anchor: Anchor) -> list[AnchorFinding]:
    """Warnings about entries the anchor does not hold yet that claim to come before it: by their position, or
    by their instant (an insider backdating what they append past a published anchor is named here)."""
    found = []
    for entry in entries:
        if entry.position is not None and entry.position <= anchor.max_position:
            problem = (f"not in the anchor, yet at position {entry.position} ≤ {anchor.max_position}: committed "
                       "late by a transaction open at the anchor, or inserted with a forged position")
        elif entry.occurred_at < anchor.taken_at:
            problem = (f"not in the anchor, yet dated {_vietnam_text(entry.occurred_at)}, before it was taken "
                       f"({_vietnam_text(anchor.taken_at)}): committed late by a transaction open at the anchor, "
                       "or appended later and backdated")
        else:
            continue
        found.append(AnchorFinding(entry.case_code, entry.sequence, problem, broken=False))
    return found


def _vietnam_text(instant: datetime) -> str:
    """``dd/mm/yyyy HH:MM:SS`` in Vietnam time."""
    return to_vietnam_time(instant).strftime("%d/%m/%Y %H:%M:%S")
