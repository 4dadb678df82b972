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
from motcua.entrypoints.cli.usage import USAGE_ERROR
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


def test_a_keys_scope_is_stored_and_read_back(store: HttpStore) -> None:
    scoped = [
        new_key("Lan", ["officer"], NOW, units=["LOCAL-HP-LE-CHAN", "LOCAL-HP-THANH-DONG", "LOCAL-HP-LE-CHAN"]),
        new_key("Thanh tra tỉnh", ["inspector"], NOW + timedelta(seconds=1), province="hai-phong"),
        new_key("Cổng dịch vụ công", ["applicant"], NOW + timedelta(seconds=2), applicant="001203004567"),
        new_key("Vận hành", ["officer"], NOW + timedelta(seconds=3)),
    ]
    for created in scoped:
        store.add_key(created.stored)

    read = [(key.units, key.province, key.applicant) for key in store.api_keys()]

    assert read == [(("LOCAL-HP-LE-CHAN", "LOCAL-HP-THANH-DONG"), None, None), (None, "hai-phong", None),
                    (None, None, "001203004567"), (None, None, None)]
    assert [key.scope_text for key in store.api_keys()] == [
        "units LOCAL-HP-LE-CHAN, LOCAL-HP-THANH-DONG", "province hai-phong", "applicant ***567", "every unit"]
    assert authenticate(store, scoped[2].secret_text) == scoped[2].stored


def test_a_key_has_one_scope_and_an_applicants_key_no_other_role() -> None:
    with pytest.raises(InvalidInput, match="one scope"):
        new_key("Lan", ["officer"], NOW, units=["LOCAL-HP-LE-CHAN"], province="hai-phong")
    with pytest.raises(InvalidInput, match="one scope"):
        new_key("An", ["applicant"], NOW, province="hai-phong", applicant="001203004567")
    with pytest.raises(InvalidInput, match="--unit"):
        new_key("Lan", ["officer"], NOW, units=[])
    with pytest.raises(InvalidInput, match="--applicant-id"):
        new_key("An", ["applicant", "officer"], NOW, applicant="001203004567")
    with pytest.raises(InvalidInput, match="--applicant-id"):
        new_key("An", ["applicant"], NOW, applicant=" ")


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
    created = runner.invoke(app, ["apikey", "create", "--actor", "Lan", "--role", "officer", "--all-units",
                                  "--db", db])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[0]
    key_id = key.split("_")[1]
    listed = runner.invoke(app, ["apikey", "list", "--db", db])
    assert key_id in listed.stdout and key.split("_", 2)[2] not in listed.stdout
    assert runner.invoke(app, ["apikey", "revoke", key_id, "--db", db]).exit_code == 0
    again = runner.invoke(app, ["apikey", "revoke", key_id, "--db", db])
    assert again.exit_code != 0 and "no live API key" in str(again.exception)
    memory = runner.invoke(app, ["apikey", "create", "--actor", "Lan", "--role", "officer", "--all-units",
                                 "--db", "memory://"])
    assert memory.exit_code == USAGE_ERROR and "memory://" in memory.stderr


def test_apikey_create_takes_exactly_one_scope_and_lists_it_without_the_applicants_id(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    created = [
        ["--actor", "Lan", "--role", "officer", "--unit", "LOCAL-HP-LE-CHAN", "--unit", "LOCAL-HP-HONG-BANG"],
        ["--actor", "Thanh tra", "--role", "leader", "--province", "hai-phong"],
        ["--actor", "Cổng", "--role", "applicant", "--applicant-id", "001203004567"],
        ["--actor", "Vận hành", "--role", "officer", "--all-units"],
    ]
    for options in created:
        answer = runner.invoke(app, ["apikey", "create", *options, "--db", db])
        assert answer.exit_code == 0, answer.output
        assert "001203004567" not in answer.stderr

    listed = runner.invoke(app, ["apikey", "list", "--db", db]).stdout

    for shown in ("units LOCAL-HP-LE-CHAN, LOCAL-HP-HONG-BANG", "province hai-phong", "applicant ***567",
                  "every unit"):
        assert shown in listed
    assert "001203004567" not in listed


@pytest.mark.parametrize(("options", "said"), [
    (["--role", "officer"], "give exactly one of --unit"),
    (["--role", "officer", "--unit", "LOCAL-HP-LE-CHAN", "--province", "hai-phong"], "give exactly one of --unit"),
    (["--role", "officer", "--province", "hai-phong", "--all-units"], "give exactly one of --unit"),
    (["--role", "officer", "--unit", "LOCAL-HP-LE-CHAN", "--unit", "NO-SUCH-UNIT"], "unknown unit 'NO-SUCH-UNIT'"),
    (["--role", "leader", "--province", "atlantis"], "unknown province 'atlantis'"),
    (["--role", "applicant"], "--applicant-id: a key with role applicant"),
    (["--role", "applicant", "--unit", "LOCAL-HP-LE-CHAN"], "--applicant-id: a key with role applicant"),
    (["--role", "applicant", "--applicant-id", "001203004567", "--unit", "LOCAL-HP-LE-CHAN"], "give exactly one"),
    (["--role", "officer", "--applicant-id", "001203004567"], "--applicant-id: a key acting for one applicant"),
    (["--role", "applicant", "--role", "officer", "--applicant-id", "001203004567"], "--applicant-id"),
], ids=["no-scope", "unit-and-province", "province-and-all", "unknown-unit", "unknown-province",
        "applicant-without-id", "applicant-with-unit", "id-and-unit", "id-for-staff", "id-with-another-role"])
def test_apikey_create_refuses_a_missing_mixed_or_unknown_scope(tmp_path: Path, options: list[str], said: str) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()

    answer = runner.invoke(app, ["apikey", "create", "--actor", "Lan", *options, "--db", db])

    assert answer.exit_code == USAGE_ERROR and said in answer.stderr
    assert answer.stdout == ""  # no key printed
    assert "001203004567" not in answer.stderr
    assert "API keys (0)" in runner.invoke(app, ["apikey", "list", "--db", db]).stdout
