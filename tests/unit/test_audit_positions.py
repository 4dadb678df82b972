"""Each entry's global position under a hash: entries moved or swapped between chains are named, old entries
(written before positions were sealed) still verify beside new ones, and anchors pin the positions they hold.

The store seals an entry to the position it takes in the very INSERT that appends it (the position seal of
``motcua.workflow.engine.audit``); these tests tamper with an SQLite file as anyone holding it can, and ask
``verify`` (the function, and once the command) what it sees.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.workflow.auditing.anchor import Anchor, check, digest, take
from motcua.workflow.auditing.replay import replay_all
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.audit import (
    ENTRY_SCHEMA_VERSION,
    AuditEntry,
    ChainBreak,
    entry_hash,
    position_seal,
    seal_positions,
    verify_chains,
)
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.engine.model import GENESIS_HASH, Case
from tests.conftest import LEADER, OFFICER, SPECIALIST, START


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[Motcua, Path]]:
    path = tmp_path / "positions.db"
    app = open_motcua(f"sqlite:///{path}", clock=ManualClock(START), observers=[])
    yield app, path
    app.close()


def dossier(app: Motcua, name: str) -> Case:
    case = app.desk.receive("1.004873", "direct", Applicant(name), OFFICER)
    return app.service.fire(case.code, "assign", OFFICER, {"assignee": SPECIALIST.name})


def breaks(app: Motcua) -> list[ChainBreak]:
    return list(verify_chains(app.store.cases(), app.store.entries()))


def rows(path: Path, statement: str, *params: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as connection:
        return list(connection.execute(statement, params))


def tamper(path: Path, *statements: str) -> None:
    """What anyone holding the file can do (no foreign keys checked: sqlite3's default)."""
    with sqlite3.connect(path) as connection:
        for statement in statements:
            assert connection.execute(statement).rowcount == 1, statement


def position_of(path: Path, code: str, sequence: int) -> int:
    [(position,)] = rows(path, "SELECT position FROM audit_entry WHERE case_code = ? AND sequence = ?", code, sequence)
    assert isinstance(position, int)
    return position


# -- what the store writes -------------------------------------------------------------------------------


def test_every_new_entry_is_sealed_to_its_position_chained_to_the_previous_seal(
    database: tuple[Motcua, Path],
) -> None:
    app, _ = database
    first, second = dossier(app, "Trần Văn An"), dossier(app, "Lê Thị Bình")
    entries = list(app.store.entries())
    assert {entry.schema_version for entry in entries} == {ENTRY_SCHEMA_VERSION} == {3}
    for code in (first.code, second.code):
        previous = GENESIS_HASH
        for entry in (e for e in entries if e.case_code == code):
            assert entry.position is not None
            assert entry.position_hash == position_seal(previous, entry.position, entry.hash)
            previous = entry.position_hash
    assert sorted(e.position for e in entries) == list(range(1, len(entries) + 1))  # positions interleave chains
    assert breaks(app) == []


def test_the_memory_store_seals_as_the_sql_stores_do(motcua: Motcua) -> None:
    dossier(motcua, "Trần Văn An")
    [entry, after] = motcua.store.history(next(motcua.store.cases()).code)[:2]
    assert entry.position_hash == position_seal(GENESIS_HASH, entry.position or 0, entry.hash)
    assert after.position_hash == position_seal(entry.position_hash, after.position or 0, after.hash)


# -- tampering -------------------------------------------------------------------------------------------


def test_two_entries_swapped_between_chains_are_named(database: tuple[Motcua, Path]) -> None:
    app, path = database
    first, second = dossier(app, "Trần Văn An"), dossier(app, "Lê Thị Bình")
    mine, theirs = position_of(path, first.code, 2), position_of(path, second.code, 1)
    tamper(path, f"UPDATE audit_entry SET position = -1 WHERE position = {mine}",
           f"UPDATE audit_entry SET position = {mine} WHERE position = {theirs}",
           f"UPDATE audit_entry SET position = {theirs} WHERE position = -1")

    found = {(b.case_code, b.sequence): b.problem for b in breaks(app)}
    assert set(found) == {(first.code, 2), (second.code, 1)}
    assert all("position seal does not match" in problem for problem in found.values())


def test_an_entry_moved_to_another_position_with_its_hash_is_named(database: tuple[Motcua, Path]) -> None:
    app, path = database
    case = dossier(app, "Trần Văn An")
    dossier(app, "Lê Thị Bình")
    tamper(path, f"UPDATE audit_entry SET position = 1000 WHERE position = {position_of(path, case.code, 2)}")

    [found] = breaks(app)
    assert (found.case_code, found.sequence) == (case.code, 2) and "position seal" in found.problem


def test_an_entry_moved_from_one_chain_to_another_with_its_hash_and_seal_is_named(
    database: tuple[Motcua, Path],
) -> None:
    app, path = database
    first, second = dossier(app, "Trần Văn An"), dossier(app, "Lê Thị Bình")
    app.service.fire(second.code, "request_supplement", SPECIALIST, {"reason": "Thiếu giấy"})
    # the second dossier's last entry is given to the first, as its next one: hash, seal, position and all
    tamper(path, f"UPDATE audit_entry SET case_code = '{first.code}', sequence = 4 "
                 f"WHERE case_code = '{second.code}' AND sequence = 4")

    found = {b.case_code: b for b in breaks(app)}
    assert found[first.code].sequence == 4 and "prev_hash does not match" in found[first.code].problem
    assert found[second.code].sequence == 4  # its chain is now shorter than its case row says


def test_a_seal_removed_from_a_new_entry_is_named(database: tuple[Motcua, Path]) -> None:
    app, path = database
    case = dossier(app, "Trần Văn An")
    tamper(path, f"UPDATE audit_entry SET position_hash = NULL WHERE case_code = '{case.code}' AND sequence = 1")

    [found] = breaks(app)
    assert (found.sequence, found.problem) == (1, "no position seal, which its schema requires (seal removed)")


def test_verify_names_a_swap_from_the_command_line(database: tuple[Motcua, Path]) -> None:
    app, path = database
    first, second = dossier(app, "Trần Văn An"), dossier(app, "Lê Thị Bình")
    mine, theirs = position_of(path, first.code, 1), position_of(path, second.code, 2)
    tamper(path, f"UPDATE audit_entry SET position = -1 WHERE position = {mine}",
           f"UPDATE audit_entry SET position = {mine} WHERE position = {theirs}",
           f"UPDATE audit_entry SET position = {theirs} WHERE position = -1")
    ran = subprocess.run([sys.executable, "-m", "motcua.entrypoints.cli", "verify", "--db", f"sqlite:///{path}"],
                         capture_output=True, text=True, timeout=120, check=False)
    assert ran.returncode == 1
    assert f"{first.code} #1: position seal does not match" in ran.stderr, ran.stderr
    assert f"{second.code} #2: position seal does not match" in ran.stderr


# -- old entries beside new ones -------------------------------------------------------------------------


def as_schema_1(path: Path, app: Motcua, code: str) -> None:
    """Rewrite a case's chain as a motcua from before sealed positions wrote it: schema 1, no seal."""
    previous = GENESIS_HASH
    with sqlite3.connect(path) as connection:
        for entry in app.store.history(code):
            old = replace(entry, schema_version=1, prev_hash=previous, position_hash=None)
            old = replace(old, hash=entry_hash(old))
            connection.execute("UPDATE audit_entry SET schema_version = 1, prev_hash = ?, hash = ?, "
                               "position_hash = NULL WHERE position = ?", (old.prev_hash, old.hash, entry.position))
            previous = old.hash
        connection.execute('UPDATE "case" SET head_hash = ? WHERE code = ?', (previous, code))


def test_an_untouched_log_of_old_and_new_entries_verifies_and_replays(database: tuple[Motcua, Path]) -> None:
    app, path = database
    old_case, other = dossier(app, "Trần Văn An"), dossier(app, "Lê Thị Bình")
    as_schema_1(path, app, old_case.code)
    app.service.fire(old_case.code, "request_supplement", SPECIALIST, {"reason": "Thiếu giấy"})  # continued today
    app.service.fire(other.code, "request_supplement", SPECIALIST, {"reason": "Thiếu ảnh"})

    chain = list(app.store.history(old_case.code))
    assert [(e.schema_version, e.position_hash is None) for e in chain] == [(1, True), (1, True), (1, True),
                                                                            (3, False)]
    assert chain[-1].position_hash == position_seal(GENESIS_HASH, chain[-1].position or 0, chain[-1].hash)
    assert breaks(app) == []
    assert list(replay_all(app.store.cases(), app.store.entries())) == []

    # an old entry's position is not bound (it was never sealed); the new one's is
    tamper(path, f"UPDATE audit_entry SET position = 1000 WHERE position = {chain[1].position}")
    assert breaks(app) == []
    tamper(path, f"UPDATE audit_entry SET position = 1001 WHERE position = {chain[3].position}")
    [found] = breaks(app)
    assert (found.case_code, found.sequence) == (old_case.code, 4)


# -- anchors pin positions -------------------------------------------------------------------------------


def test_a_forger_who_reseals_a_swap_passes_verify_but_not_an_anchor_taken_before(motcua: Motcua) -> None:
    first, second = dossier(motcua, "Trần Văn An"), dossier(motcua, "Lê Thị Bình")
    entries = list(motcua.store.entries())
    anchor = take(entries, START)
    mine = next(e for e in entries if (e.case_code, e.sequence) == (first.code, 1))
    theirs = next(e for e in entries if (e.case_code, e.sequence) == (second.code, 1))
    swapped = {mine.position: theirs.position, theirs.position: mine.position}
    forged: list[AuditEntry] = []
    for code in (first.code, second.code):  # positions swapped, every seal after them recomputed
        chain = [e for e in entries if e.case_code == code]
        forged += seal_positions(None, chain, [swapped.get(e.position, e.position or 0) for e in chain])
    assert list(verify_chains(motcua.store.cases(), forged)) == []

    report = check(anchor, forged)
    assert not report.intact
    assert {(f.code, f.problem.split(" (")[0]) for f in report.findings} == {
        (first.code, "the anchored head entry's position seal differs from the anchor's"),
        (second.code, "the anchored head entry's position seal differs from the anchor's"),
    }


def test_an_anchor_of_format_1_is_still_read_and_checked(motcua: Motcua) -> None:
    dossier(motcua, "Trần Văn An")
    entries = list(motcua.store.entries())
    current = take(entries, START)
    heads = tuple(replace(head, seal=None) for head in current.heads)
    old = Anchor(START, heads, current.count, current.max_position, digest(heads, current.count,
                                                                        current.max_position, 1), format=1)
    document = old.as_json()
    assert document["format"] == 1 and "seal" not in document["heads"][0]  # type: ignore[index, operator]
    read = Anchor.from_json(document)
    assert read == old and check(read, entries).intact
    assert not check(read, [replace(entries[0], actor="Người khác"), *entries[1:]]).intact


def test_an_entry_appended_after_an_anchor_but_dated_before_it_is_a_warning(motcua: Motcua) -> None:
    case = dossier(motcua, "Trần Văn An")
    later = START.replace(hour=17)
    anchor = take(motcua.store.entries(), later)
    motcua.service.fire(case.code, "request_supplement", SPECIALIST, {"reason": "Thiếu giấy"})  # dated 08:00
    report = check(anchor, list(motcua.store.entries()))
    assert report.intact and report.entries_appended == 1
    [warning] = report.findings
    assert (warning.code, warning.sequence, warning.broken) == (case.code, 4, False)
    assert "dated 04/03/2024 08:00:00, before it was taken (04/03/2024 17:00:00)" in warning.problem
    assert "backdated" in warning.problem
    assert LEADER.name not in warning.problem
