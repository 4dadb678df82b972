"""API keys and idempotency records: the same contract in memory and on SQLite; the ``motcua apikey`` commands."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from motcua.adapters.backends import MEMORY_URL, open_backend
from motcua.adapters.keys import IN_FLIGHT_LEASE, HttpStore, StoredResponse, authenticate, new_key
from motcua.entrypoints.cli.main import app
from motcua.workflow.errors import InvalidInput

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HttpStore]:
    """The keys of the backend the factory opens (in memory, or on a SQLite file beside the dossiers)."""
    backend = open_backend(MEMORY_URL if request.param == "memory" else f"sqlite:///{tmp_path / 'keys.db'}")
    try:
        yield backend.keys
    finally:
        backend.close()


def test_a_key_is_stored_hashed_and_authenticates_until_revoked(store: HttpStore) -> None:
    created = new_key("Nguyễn Thị Lan", ["officer", "leader", "officer"], NOW)
    store.add_key(created.stored)
    secret = created.secret_text.split("_", 2)[2]
    assert created.secret_text.startswith(f"mc_{created.stored.key_id}_") and len(secret) >= 43
    stored = store.key(created.stored.key_id)
    assert stored is not None and secret not in (stored.key_hash, stored.salt)
    assert stored.key_hash == hashlib.sha256(bytes.fromhex(stored.salt) + secret.encode()).hexdigest()
    assert stored.roles == ("officer", "leader") and stored.principal.roles == {"officer", "leader"}
    assert authenticate(store, created.secret_text) == stored
    key_id = created.stored.key_id
    for wrong in (created.secret_text + "x", f"mc_{key_id}", "nope", f"xx_{key_id}_{secret}"):
        assert authenticate(store, wrong) is None
    assert store.revoke(created.stored.key_id, NOW) and not store.revoke(created.stored.key_id, NOW)
    assert authenticate(store, created.secret_text) is None
    assert [key.revoked_at for key in store.api_keys()] == [NOW]


def test_keys_need_an_actor_and_roles() -> None:
    with pytest.raises(InvalidInput, match="--actor"):
        new_key(" ", ["officer"], NOW)
    with pytest.raises(InvalidInput, match="--role"):
        new_key("Lan", [], NOW)


def test_a_claim_is_fresh_once_then_shows_the_record(store: HttpStore) -> None:
    assert store.claim("k1", "a", "print", NOW).fresh
    in_flight = store.claim("k1", "a", "print", NOW)
    assert not in_flight.fresh and in_flight.fingerprint == "print" and in_flight.response is None
    assert store.claim("k2", "a", "other", NOW).fresh  # another API key, another scope
    store.complete("k1", "a", NOW, StoredResponse(201, {"etag": '"2"'}, '{"code": "X"}'))
    done = store.claim("k1", "a", "print", NOW + IN_FLIGHT_LEASE * 2)
    assert done.response == StoredResponse(201, {"etag": '"2"'}, '{"code": "X"}')


def test_an_abandoned_or_released_claim_runs_again(store: HttpStore) -> None:
    assert store.claim("k1", "a", "print", NOW).fresh
    assert not store.claim("k1", "a", "print", NOW + IN_FLIGHT_LEASE - timedelta(seconds=1)).fresh
    later = NOW + IN_FLIGHT_LEASE
    assert store.claim("k1", "a", "print", later).fresh
    store.release("k1", "a", later)
    assert store.claim("k1", "a", "print", NOW).fresh


def test_only_the_same_request_takes_an_abandoned_claim_over(store: HttpStore) -> None:
    assert store.claim("k1", "a", "print", NOW).fresh
    other = store.claim("k1", "a", "another request", NOW + IN_FLIGHT_LEASE)
    assert not other.fresh and other.fingerprint == "print"  # the caller answers 422: key reused
    assert store.claim("k1", "a", "print", NOW + IN_FLIGHT_LEASE).fresh


def test_a_claim_taken_over_fences_off_the_slow_first_run(store: HttpStore) -> None:
    assert store.claim("k1", "a", "print", NOW).fresh
    later = NOW + IN_FLIGHT_LEASE
    assert store.claim("k1", "a", "print", later).fresh  # the first run is slower than the lease
    store.complete("k1", "a", NOW, StoredResponse(201, {}, '{"code": "FIRST"}'))  # its answer is not kept
    store.release("k1", "a", NOW)  # nor may it release the new claim
    assert store.claim("k1", "a", "print", later).response is None
    store.complete("k1", "a", later, StoredResponse(201, {}, '{"code": "SECOND"}'))
    assert store.claim("k1", "a", "print", later).response == StoredResponse(201, {}, '{"code": "SECOND"}')


def test_a_released_claim_that_reserved_something_is_taken_over_at_once(store: HttpStore) -> None:
    assert store.claim("k1", "a", "print", NOW).fresh
    store.reserve("k1", "a", NOW, "000.00.00.H23-240304-0007")
    store.release("k1", "a", NOW)  # a 5xx after the dossier was opened
    again = store.claim("k1", "a", "print", NOW + timedelta(seconds=1))
    assert again.fresh and again.reserved == "000.00.00.H23-240304-0007"


def test_the_apikey_commands_create_list_and_revoke(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    created = runner.invoke(app, ["apikey", "create", "--actor", "Lan", "--role", "officer", "--db", db])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[0]
    key_id = key.split("_")[1]
    listed = runner.invoke(app, ["apikey", "list", "--db", db])
    assert key_id in listed.stdout and key.split("_", 2)[2] not in listed.stdout
    assert runner.invoke(app, ["apikey", "revoke", key_id, "--db", db]).exit_code == 0
    again = runner.invoke(app, ["apikey", "revoke", key_id, "--db", db])
    assert again.exit_code != 0 and "no live API key" in str(again.exception)
    memory = runner.invoke(app, ["apikey", "create", "--actor", "Lan", "--role", "officer", "--db", "memory://"])
    assert memory.exit_code != 0 and "memory://" in str(memory.exception)
