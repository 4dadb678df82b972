"""The definitions' pins (DefinitionPins) on every backend: the first pin of a name wins, whoever writes it; a pin is
never changed but by a re-pin over the digest it replaces; many processes pinning a new database at once all
succeed, and all read back the one pin that stood."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from motcua.adapters.backends import Backend, open_backend
from motcua.adapters.sql.engine import create_engine
from motcua.workflow.engine.pins import Pin, check_pins
from motcua.workflow.errors import DefinitionChanged

AT = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
DOSSIER = Pin.workflow("tthc-dossier", 1)
DOSSIER_V2 = Pin.workflow("tthc-dossier", 2)
RULES = Pin.rule_set("nd118-2025")
A, B, C = "a" * 64, "b" * 64, "c" * 64
WRITERS = 6


@pytest.fixture
def backend(url: str) -> Iterator[Backend]:
    opened = open_backend(url)
    yield opened
    opened.close()


def test_a_new_database_holds_no_pin(backend: Backend) -> None:
    assert backend.pins.pinned() == {}


def test_pinning_writes_each_name_given_and_reads_it_back(backend: Backend) -> None:
    assert backend.pins.pin({DOSSIER: A, RULES: B}, AT) == {DOSSIER: A, RULES: B}
    assert backend.pins.pinned() == {DOSSIER: A, RULES: B}


def test_the_first_pin_wins(backend: Backend) -> None:
    backend.pins.pin({DOSSIER: A}, AT)
    assert backend.pins.pin({DOSSIER: B, RULES: C}, AT + timedelta(days=1)) == {DOSSIER: A, RULES: C}
    assert backend.pins.pinned() == {DOSSIER: A, RULES: C}


def test_pinning_gives_the_names_given_only(backend: Backend) -> None:
    backend.pins.pin({DOSSIER: A}, AT)
    assert backend.pins.pin({RULES: B}, AT) == {RULES: B}
    assert backend.pins.pin({}, AT) == {}


def test_a_workflows_versions_and_a_rule_set_of_its_key_are_pinned_apart(backend: Backend) -> None:
    same_key = Pin.rule_set("tthc-dossier")
    backend.pins.pin({DOSSIER: A, DOSSIER_V2: B, same_key: C}, AT)
    assert backend.pins.pinned() == {DOSSIER: A, DOSSIER_V2: B, same_key: C}


def test_a_repin_replaces_the_digest_shown_and_nothing_else(backend: Backend) -> None:
    backend.pins.pin({DOSSIER: A, RULES: A}, AT)
    assert backend.pins.repin(DOSSIER, A, B, AT + timedelta(hours=1)) is True
    assert backend.pins.pinned() == {DOSSIER: B, RULES: A}


@pytest.mark.parametrize(("name", "old"), [(DOSSIER, C), (DOSSIER_V2, A)], ids=["another-digest-since", "not-pinned"])
def test_a_repin_over_another_digest_or_no_pin_changes_nothing(backend: Backend, name: Pin, old: str) -> None:
    backend.pins.pin({DOSSIER: A}, AT)
    assert backend.pins.repin(name, old, B, AT) is False
    assert backend.pins.pinned() == {DOSSIER: A}


def test_check_pins_passes_a_database_as_pinned_and_refuses_another_digest(backend: Backend) -> None:
    check_pins(backend.pins, {DOSSIER: A, RULES: B}, AT)
    check_pins(backend.pins, {DOSSIER: A, RULES: B}, AT)
    with pytest.raises(DefinitionChanged) as refused:
        check_pins(backend.pins, {DOSSIER: C, RULES: B, DOSSIER_V2: C}, AT)
    assert [(item.key, item.version, item.pinned, item.loaded) for item in refused.value.changed] == [
        ("tthc-dossier", 1, A, C)]
    assert backend.pins.pinned() == {DOSSIER: A, RULES: B}  # a refused start writes nothing: the draft v2 neither
    check_pins(backend.pins, {DOSSIER: A, RULES: B, DOSSIER_V2: B}, AT)  # v1 restored, v2 finished: both start
    assert backend.pins.pinned() == {DOSSIER: A, RULES: B, DOSSIER_V2: B}


def test_pins_outlive_the_process(sql_url: str) -> None:
    first = open_backend(sql_url)
    try:
        first.pins.pin({DOSSIER: A}, AT)
    finally:
        first.close()
    again = open_backend(sql_url)
    try:
        assert again.pins.pinned() == {DOSSIER: A}
    finally:
        again.close()


def test_the_row_keeps_when_and_what_a_repin_replaced(sql_url: str) -> None:
    opened = open_backend(sql_url)
    try:
        opened.pins.pin({DOSSIER: A, RULES: A}, AT)
        opened.pins.repin(DOSSIER, A, B, AT + timedelta(hours=1))
    finally:
        opened.close()
    engine = create_engine(sql_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT kind, key, version, digest, replaced FROM definition_pin ORDER BY kind, key")).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [("rule_set", "nd118-2025", 0, A, None),
                                            ("workflow", "tthc-dossier", 1, B, A)]


def test_processes_pinning_a_new_database_at_once_all_succeed_and_agree(sql_url: str) -> None:
    """Each writer its own backend (its own pool, as a process has), all released together, each pinning its own
    digest of the same names: none fails, one pin stands per name, and every writer reads that one back."""
    backends = [open_backend(sql_url) for _ in range(WRITERS)]
    start = threading.Barrier(WRITERS)
    digests = [f"{n:064x}" for n in range(WRITERS)]

    def pin(index: int) -> dict[Pin, str]:
        start.wait()
        return dict(backends[index].pins.pin({DOSSIER: digests[index], RULES: digests[index]}, AT))

    try:
        with ThreadPoolExecutor(WRITERS) as pool:
            seen = list(pool.map(pin, range(WRITERS)))
        stood = backends[0].pins.pinned()
    finally:
        for opened in backends:
            opened.close()
    assert set(stood) == {DOSSIER, RULES}
    assert stood[DOSSIER] in digests and stood[RULES] in digests
    assert all(result == stood for result in seen)


def test_processes_checking_a_new_database_at_once_one_wins_and_the_others_are_refused(sql_url: str) -> None:
    """Two deployments with different files started on one new database at once: the first pin stands, the start
    that lost is refused as a later one would be, and none fails otherwise."""
    backends = [open_backend(sql_url) for _ in range(WRITERS)]
    start = threading.Barrier(WRITERS)
    digests = [A if index % 2 else B for index in range(WRITERS)]

    def check(index: int) -> str:
        start.wait()
        try:
            check_pins(backends[index].pins, {DOSSIER: digests[index]}, AT)
        except DefinitionChanged:
            return "refused"
        return "started"

    try:
        with ThreadPoolExecutor(WRITERS) as pool:
            outcomes = list(pool.map(check, range(WRITERS)))
        stood = backends[0].pins.pinned()[DOSSIER]
    finally:
        for opened in backends:
            opened.close()
    assert outcomes == ["started" if digest == stood else "refused" for digest in digests]
