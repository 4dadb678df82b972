"""The hash chain: honest logs verify; every kind of tampering is named by case and sequence."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from itertools import pairwise

from motcua.adapters.bootstrap import Motcua
from motcua.adapters.memory.store import MemoryStore
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.audit import (
    AuditEntry,
    canonical_bytes,
    check_chain,
    entry_hash,
    seal_positions,
    verify_chains,
)
from motcua.workflow.engine.model import GENESIS_HASH, Case
from tests.conftest import OFFICER, SPECIALIST


def story(motcua: Motcua) -> tuple[Case, list[AuditEntry]]:
    case = motcua.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), OFFICER)
    case = motcua.service.fire(case.code, "assign", OFFICER, {"assignee": SPECIALIST.name})
    case = motcua.service.fire(case.code, "request_supplement", SPECIALIST, {"reason": "Thiếu giấy"})
    return case, list(motcua.store.history(case.code))


def test_honest_chain_verifies(motcua: Motcua) -> None:
    case, entries = story(motcua)
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(later.prev_hash == earlier.hash for earlier, later in pairwise(entries))
    assert check_chain(case, entries) is None
    assert list(verify_chains(motcua.store.cases(), motcua.store.entries())) == []


def test_canonical_encoding_is_stable_and_utf8(motcua: Motcua) -> None:
    _, entries = story(motcua)
    encoded = canonical_bytes(entries[3])
    assert "Thiếu giấy".encode() in encoded
    assert b'"reason":"Thi' in encoded and b'"seq":4' in encoded
    assert entry_hash(entries[3]) == entries[3].hash
    assert entries[3].occurred_at.utcoffset() is not None


def test_altered_entry_is_named(motcua: Motcua) -> None:
    case, entries = story(motcua)
    entries[1] = replace(entries[1], actor="Người khác")
    found = check_chain(case, entries)
    assert found is not None and (found.case_code, found.sequence) == (case.code, 2)
    assert "altered" in found.problem


def test_deleted_entry_is_named(motcua: Motcua) -> None:
    case, entries = story(motcua)
    del entries[1]
    found = check_chain(case, entries)
    assert found is not None and found.sequence == 2


def test_deleted_last_entry_is_caught_by_the_case_row(motcua: Motcua) -> None:
    case, entries = story(motcua)
    found = check_chain(case, entries[:-1])
    assert found is not None and found.sequence == len(entries)


def test_inserted_entry_is_named(motcua: Motcua) -> None:
    case, entries = story(motcua)
    forged = replace(entries[1], sequence=2, trigger="approve")
    [forged] = seal_positions(entries[0].position_hash, [replace(forged, hash=entry_hash(forged))], [99])
    tampered = [entries[0], forged, *[replace(e, sequence=e.sequence + 1) for e in entries[1:]]]
    found = check_chain(case, tampered)
    assert found is not None and found.sequence == 3


def test_appended_entry_is_caught_by_the_case_row(motcua: Motcua) -> None:
    case, entries = story(motcua)
    last = entries[-1]
    extra = replace(last, sequence=len(entries) + 1, prev_hash=last.hash, trigger="stop",
                    state_before=last.state_after)
    [extra] = seal_positions(last.position_hash, [replace(extra, hash=entry_hash(extra))], [99])
    found = check_chain(case, [*entries, extra])
    assert found is not None and "version" in found.problem


def test_entries_without_case_row_are_reported() -> None:
    store = MemoryStore()
    orphan = AuditEntry(
        case_code="ghost", sequence=1, occurred_at=datetime.now(UTC), actor="x", role="officer", trigger="open",
        state_before={}, state_after={"lifecycle": "submitted"}, data={}, changes={}, reason=None, definition_key="k",
        definition_version=1, rule_set="nd61-2018", prev_hash=GENESIS_HASH,
    )
    breaks = list(verify_chains(store.cases(), [orphan]))
    assert [(b.case_code, b.sequence) for b in breaks] == [("ghost", 1)]


def test_a_case_row_whose_entries_were_all_removed_is_named_even_put_back_to_version_0(motcua: Motcua) -> None:
    """Every case row is written with its first entry (a version-0 case is only ever the engine's start, never
    stored): a row with no entry at all is a break, whatever its version and head say."""
    case, _ = story(motcua)
    emptied = replace(case, version=0, head_hash=GENESIS_HASH)  # the row rewritten to look never decided on
    for row in (emptied, replace(emptied, state={}), case):
        found = check_chain(row, [])
        assert found is not None and (found.case_code, found.sequence) == (case.code, 1)
        assert "no entries" in found.problem
    assert [(b.case_code, b.sequence) for b in verify_chains([emptied], [])] == [(case.code, 1)]
