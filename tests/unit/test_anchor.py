"""Anchors: a digest of every chain's head that proves later the log still holds what it held then,
even against someone who rewrote a whole chain and recomputed every hash."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from motcua.adapters.bootstrap import Motcua
from motcua.workflow.auditing.anchor import Anchor, ChainHead, check, digest, take
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.audit import AuditEntry, entry_hash, seal_positions, verify_chains
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.model import GENESIS_HASH, Case
from motcua.workflow.errors import InvalidInput
from tests.conftest import LEADER, OFFICER, SPECIALIST

TAKEN = datetime(2024, 3, 8, 17, 30, tzinfo=VN_TZ)


def dossiers(motcua: Motcua, clock: ManualClock, count: int = 3) -> list[Case]:
    cases = []
    for number in range(count):
        case = motcua.desk.receive("1.004873", "direct", Applicant(f"Người nộp {number}"), OFFICER)
        clock.advance(timedelta(minutes=10))
        case = motcua.service.fire(case.code, "assign", OFFICER, {"assignee": SPECIALIST.name})
        cases.append(motcua.service.fire(case.code, "submit_for_approval", SPECIALIST, {"approver": LEADER.name}))
    return cases


def log(motcua: Motcua) -> list[AuditEntry]:
    return list(motcua.store.entries())


def rechained(chain: list[AuditEntry]) -> list[AuditEntry]:
    """What a forger with write access does: recompute every prev_hash and hash of a chain, and its position seals."""
    out, previous = [], GENESIS_HASH
    for original in chain:
        entry = replace(original, prev_hash=previous)
        entry = replace(entry, hash=entry_hash(entry))
        out.append(entry)
        previous = entry.hash
    return seal_positions(None, out, [entry.position or 0 for entry in out])


@pytest.fixture
def anchored(motcua: Motcua, clock: ManualClock) -> Iterator[tuple[list[Case], list[AuditEntry], Anchor]]:
    cases = dossiers(motcua, clock)
    entries = log(motcua)
    yield cases, entries, take(entries, TAKEN)


def test_an_anchor_lists_every_head_with_count_and_last_position(
    anchored: tuple[list[Case], list[AuditEntry], Anchor],
) -> None:
    cases, entries, anchor = anchored
    seals = {(e.case_code, e.sequence): e.position_hash for e in entries}
    assert anchor.heads == tuple(ChainHead(c.code, c.version, c.head_hash, seals[c.code, c.version])
                                 for c in sorted(cases, key=lambda c: c.code))
    assert (anchor.count, anchor.max_position) == (len(entries), max(e.position or 0 for e in entries))
    assert anchor.digest == digest(anchor.heads, anchor.count, anchor.max_position)
    assert len(anchor.digest) == 64


def test_the_digest_depends_on_every_head_the_count_and_the_position(
    anchored: tuple[list[Case], list[AuditEntry], Anchor],
) -> None:
    _, _, anchor = anchored
    heads = list(anchor.heads)
    variants = {
        digest(heads, anchor.count + 1, anchor.max_position),
        digest(heads, anchor.count, anchor.max_position + 1),
        digest([replace(heads[0], sequence=heads[0].sequence + 1), *heads[1:]], anchor.count, anchor.max_position),
        digest([replace(heads[0], hash="f" * 64), *heads[1:]], anchor.count, anchor.max_position),
        digest(heads[1:], anchor.count, anchor.max_position),
    }
    assert anchor.digest not in variants and len(variants) == 5
    assert digest(list(reversed(heads)), anchor.count, anchor.max_position) == anchor.digest  # order-free


def test_the_document_round_trips_and_refuses_what_is_not_an_anchor(
    anchored: tuple[list[Case], list[AuditEntry], Anchor],
) -> None:
    _, _, anchor = anchored
    document = json.loads(json.dumps(anchor.as_json()))
    assert document["taken_at"] == "2024-03-08T17:30:00+07:00" and document["chains"] == 3
    assert Anchor.from_json(document) == anchor
    for broken in ({"kind": "other"}, {**document, "format": 3}, {**document, "count": -1},
                   {**document, "digest": "xyz"}, {**document, "taken_at": "2024-03-08T17:30"},
                   {**document, "heads": [{"code": "A", "sequence": 0, "hash": "0" * 64}]},
                   {**document, "heads": [{"code": "\ud800", "sequence": 1, "hash": "0" * 64}]},
                   {**document, "heads": [{"code": "A\x00", "sequence": 1, "hash": "0" * 64}]}):
        with pytest.raises(InvalidInput):
            Anchor.from_json(broken)


@pytest.mark.parametrize("edited", [{"format": []}, {"format": {}}, {"format": [2]},
                                    {"taken_at": "0001-01-01T00:00:00+14:00"},
                                    {"taken_at": "9999-12-31T23:59:59-14:00"}])
def test_a_format_that_is_no_number_or_an_instant_no_clock_can_show_is_refused_in_words(
    anchored: tuple[list[Case], list[AuditEntry], Anchor], edited: dict[str, object],
) -> None:
    """Once a TypeError (a list is no member of a set of numbers) and an OverflowError (an instant at the calendar's
    edge has no Vietnam time), which the console answered with a 500."""
    document = {**json.loads(json.dumps(anchored[2].as_json())), **edited}
    with pytest.raises(InvalidInput):
        Anchor.from_json(document)


def test_an_untouched_log_matches_and_growth_is_reported_not_judged(
    motcua: Motcua, clock: ManualClock, anchored: tuple[list[Case], list[AuditEntry], Anchor],
) -> None:
    cases, _, anchor = anchored
    assert check(anchor, log(motcua)).intact
    clock.set(TAKEN + timedelta(minutes=1))  # what comes after the anchor is dated after it
    motcua.service.fire(cases[0].code, "approve", LEADER)
    dossiers(motcua, clock, count=1)
    report = check(anchor, log(motcua))
    assert report.intact and report.findings == ()
    assert (report.chains_grown, report.entries_appended, report.new_chains, report.new_chain_entries) == (1, 1, 1, 4)
    assert report.changes() == "1 entries appended to 1 anchored chains, 1 new chains with 4 entries"


def broken(anchor: Anchor, entries: list[AuditEntry]) -> list[tuple[str | None, int | None, str]]:
    report = check(anchor, entries)
    assert not report.intact
    return [(f.code, f.sequence, f.problem) for f in report.findings if f.broken]


def test_a_removed_head_is_named(anchored: tuple[list[Case], list[AuditEntry], Anchor]) -> None:
    cases, entries, anchor = anchored
    code = cases[1].code
    kept = [e for e in entries if not (e.case_code == code and e.sequence == cases[1].version)]
    assert broken(anchor, kept) == [(code, cases[1].version, "the anchored head entry is gone (removed)")]


def test_a_whole_chain_rewritten_with_fresh_hashes_passes_the_chain_check_but_not_the_anchor(
    anchored: tuple[list[Case], list[AuditEntry], Anchor],
) -> None:
    cases, entries, anchor = anchored
    code = cases[0].code
    chain = [e for e in entries if e.case_code == code]
    forged = rechained([chain[0], replace(chain[1], actor="Kẻ giả mạo"), *chain[2:]])
    rewritten_case = replace(cases[0], head_hash=forged[-1].hash)
    others = [e for e in entries if e.case_code != code]
    forged_log = sorted(forged + others, key=lambda e: (e.case_code, e.sequence))
    assert list(verify_chains(sorted([rewritten_case, *cases[1:]], key=lambda c: c.code), forged_log)) == []

    [(found_code, sequence, problem)] = broken(anchor, forged_log)
    assert (found_code, sequence) == (code, cases[0].version) and "rewritten" in problem


def test_an_entry_removed_or_slipped_in_before_the_head_is_named(
    anchored: tuple[list[Case], list[AuditEntry], Anchor],
) -> None:
    cases, entries, anchor = anchored
    code = cases[2].code
    chain = [e for e in entries if e.case_code == code]
    others = [e for e in entries if e.case_code != code]
    without_second = [chain[0], *[replace(e, sequence=e.sequence - 1) for e in chain[2:]]]
    head = replace(chain[-1], sequence=chain[-1].sequence + 1)
    slipped = [chain[0], replace(chain[1], trigger="digitize"), *chain[1:-1], head]
    for tampered in (without_second, slipped):
        problems = broken(anchor, sorted(others + tampered, key=lambda e: (e.case_code, e.sequence)))
        assert problems and all(found == code for found, _, _ in problems)


def test_an_entry_altered_before_the_head_is_named(anchored: tuple[list[Case], list[AuditEntry], Anchor]) -> None:
    cases, entries, anchor = anchored
    code = cases[0].code
    altered = [replace(e, actor="Người khác") if (e.case_code, e.sequence) == (code, 2) else e for e in entries]
    assert broken(anchor, altered) == [(code, 2, "an entry before the anchored head was rewritten")]


def test_a_chain_gone_and_an_edited_anchor_are_named(anchored: tuple[list[Case], list[AuditEntry], Anchor]) -> None:
    cases, entries, anchor = anchored
    code = cases[2].code
    assert broken(anchor, [e for e in entries if e.case_code != code]) == [
        (code, 1, f"the whole chain is gone (anchored up to #{cases[2].version})")]
    edited = replace(anchor, heads=anchor.heads[:2])
    assert broken(edited, entries)[0][0] is None


def test_an_entry_below_the_anchored_position_but_outside_it_is_a_warning(
    anchored: tuple[list[Case], list[AuditEntry], Anchor],
) -> None:
    _, entries, anchor = anchored
    late = replace(entries[0], case_code="ZZZ-late", position=1)
    report = check(anchor, [*entries, late])
    assert report.intact
    [warning] = report.findings
    assert (warning.code, warning.broken) == ("ZZZ-late", False) and "position 1" in warning.problem
