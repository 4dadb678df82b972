"""API keys and idempotency records: the same contract in memory and on SQLite; the ``motcua apikey`` commands."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from motcua.adapters.backends import MEMORY_URL, open_backend
from motcua.adapters.keys import (
    IN_FLIGHT_LEASE,
    RECORDS_KEPT,
    HttpStore,
    RecordSweep,
    StoredResponse,
    authenticate,
    key_roles,
    new_key,
)
from motcua.definitions.units import load_units
from motcua.definitions.workflows import WORKFLOWS_DIR, load_definition
from motcua.entrypoints.cli.main import app
from motcua.entrypoints.cli.usage import USAGE_ERROR
from motcua.workflow.access.scope import EVERYTHING
from motcua.workflow.errors import InvalidInput
from motcua.workflow.units.directory import UnitDirectory
from tests import services

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HttpStore]:
    """The keys of the backend the factory opens (in memory, on a SQLite file beside the dossiers, or on a fresh
    PostgreSQL database)."""
    with ExitStack() as stack:
        if request.param == "postgres":
            services.require_postgres()
            url = services.postgres_url(stack.enter_context(services.postgres_database()))
        else:
            url = MEMORY_URL if request.param == "memory" else f"sqlite:///{tmp_path / 'keys.db'}"
        backend = open_backend(url)
        stack.callback(backend.close)
        yield backend.keys


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


@pytest.mark.parametrize("roles", [("system",), ("officer", "system"), ("officer", " system "), ("System",)])
def test_no_key_may_hold_the_system_role(roles: tuple[str, ...]) -> None:
    with pytest.raises(InvalidInput) as refused:
        new_key("Bộ hẹn giờ", roles, NOW)
    assert refused.value.field == "--role"
    assert "belongs to motcua's own processes (timers, imports, successions)" in refused.value.message


def test_a_key_stored_with_the_system_role_fires_without_it_and_keeps_its_scope(store: HttpStore) -> None:
    """Keys made before new_key refused the role: what they fire as never carries it (fail closed)."""
    made = new_key("Phần mềm cũ", ["officer"], NOW)
    store.add_key(replace(made.stored, roles=("officer", "system")))
    legacy = authenticate(store, made.secret_text)
    alone = replace(made.stored, roles=("system",))

    assert legacy is not None and legacy.roles == ("officer", "system")  # stored as it was
    assert legacy.principal.roles == {"officer"} and legacy.principal.name == "Phần mềm cũ"
    assert legacy.scope(_directory(), date(2026, 1, 1)) is EVERYTHING  # a staff key of before scopes, as documented
    assert alone.principal.roles == frozenset()
    assert alone.scope(_directory(), date(2026, 1, 1)).units == frozenset()  # no role left: it sees nothing either


def test_a_key_for_applicants_without_an_applicant_sees_nothing() -> None:
    """Made before --applicant-id existed (new_key still makes one for a host's own use): fail closed."""
    legacy = new_key("Cổng cũ", ["applicant"], NOW).stored
    scope = legacy.scope(_directory(), date(2026, 1, 1))

    assert (scope.units, scope.applicant, scope.unlimited) == (frozenset(), None, False)
    assert not scope.admits({"unit": "LOCAL-HP-LE-CHAN", "received_by": "LOCAL-HP-LE-CHAN", "applicant": ""})
    assert "--applicant-id" in scope.label and legacy.scope_text == "nothing (no --applicant-id: re-issue it)"
    staff = new_key("Vận hành", ["officer", "applicant"], NOW).stored
    assert staff.scope(_directory(), date(2026, 1, 1)) is EVERYTHING and staff.scope_text == "every unit"


@pytest.mark.parametrize("applicant", [
    " 001203004567", "001203004567 ", "001203004567\n", "0012-0300-4567", "00120300456７", "", "x" * 33, "Ａ1",
    "-0101234567", "0101234567-", "0101234567-" + "0" * 22,
], ids=["space-before", "space-after", "newline", "dashes", "fullwidth-digit", "empty", "too-long", "fullwidth-A",
        "dash-first", "dash-last", "branch-too-long"])
def test_an_applicant_id_is_letters_and_digits_alone(applicant: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        new_key("Cổng", ["applicant"], NOW, applicant=applicant)
    assert refused.value.field == "--applicant-id" and "1 to 32 letters and digits" in refused.value.message
    assert applicant.strip() not in refused.value.message or not applicant.strip()


@pytest.mark.parametrize("applicant", ["001203004567", "B1234567", "0101234567", "0101234567-001", "x" * 32, "7"])
def test_an_applicant_id_of_letters_and_digits_is_taken_as_it_is(applicant: str) -> None:
    assert new_key("Cổng", ["applicant"], NOW, applicant=applicant).stored.applicant == applicant


@pytest.mark.parametrize(("scope", "field"), [
    ({"units": ["A" * 65]}, "--unit"),
    ({"units": ["LOCAL-HP-LE-CHAN", "LOCAL-HP\x00"]}, "--unit"),
    ({"units": ["-LOCAL"]}, "--unit"),
    ({"units": [" LOCAL-HP-LE-CHAN"]}, "--unit"),
    ({"units": ["LOCAL-HP-LE-CHAN\n"]}, "--unit"),
    ({"units": ["local-hp-le-chan"]}, "--unit"),
    ({"units": ["000.00.00.h23"]}, "--unit"),
    ({"province": "h" * 65}, "--province"),
    ({"province": "Hai-Phong"}, "--province"),
    ({"province": "hai phong"}, "--province"),
    ({"province": ""}, "--province"),
], ids=["unit-too-long", "unit-nul", "unit-dash-first", "unit-space", "unit-newline", "unit-lowercase",
        "unit-lowercase-agency", "province-too-long",
        "province-capitals", "province-space", "province-empty"])
def test_unit_and_province_codes_are_bounded_and_shaped(scope: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        new_key("Lan", ["officer"], NOW, **scope)  # type: ignore[arg-type]
    assert refused.value.field == field and "1 to 64" in refused.value.message


def test_a_unit_code_of_64_characters_is_a_code() -> None:
    code = "L" * 64
    assert new_key("Lan", ["officer"], NOW, units=[code, "000.00.00.H23"]).stored.units == (code, "000.00.00.H23")


def _directory() -> UnitDirectory:
    return UnitDirectory(load_units(), "LOCAL-HP-THANH-DONG")


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


def test_records_older_than_the_purge_instant_are_deleted_and_their_key_acts_anew(store: HttpStore) -> None:
    assert store.claim("k1", "old", "print", NOW).fresh
    store.complete("k1", "old", NOW, StoredResponse(201, {}, '{"code": "FIRST"}'))
    assert store.claim("k1", "abandoned", "print", NOW).fresh  # in flight, its server died
    later = NOW + timedelta(hours=30)
    assert store.claim("k1", "new", "print", later).fresh
    assert store.purge(NOW + timedelta(hours=1)) == 2
    assert store.purge(NOW + timedelta(hours=1)) == 0
    assert store.claim("k1", "old", "print", later).fresh  # forgotten: a new request
    assert not store.claim("k1", "new", "print", later).fresh  # kept


def test_the_sweep_deletes_what_is_older_than_a_day_at_most_once_an_hour(store: HttpStore) -> None:
    def answered(key: str, at: datetime) -> None:
        assert store.claim("k1", key, "print", at).fresh
        store.complete("k1", key, at, StoredResponse(201, {}, "{}"))

    sweep = RecordSweep(store)
    answered("a", NOW)
    sweep.after_claim(NOW)  # the first claim of the process sweeps: nothing is a day old
    answered("b", NOW + RECORDS_KEPT)
    sweep.after_claim(NOW + RECORDS_KEPT)  # "a" is a day old, not older: kept
    assert not store.claim("k1", "a", "print", NOW + RECORDS_KEPT).fresh
    day_and_a_half = NOW + RECORDS_KEPT + timedelta(hours=12)
    sweep.after_claim(day_and_a_half)  # an hour after the last sweep: "a" goes, "b" stays
    assert store.claim("k1", "a", "print", day_and_a_half).fresh
    assert not store.claim("k1", "b", "print", day_and_a_half).fresh


def test_the_sweep_waits_an_hour_between_two_deletes() -> None:
    deleted: list[datetime] = []

    class Records:
        def purge(self, before: datetime) -> int:
            deleted.append(before)
            return 0

    sweep = RecordSweep(Records())  # type: ignore[arg-type]  # only purge is called
    for minutes in (0, 1, 59, 60, 61, 125):
        sweep.after_claim(NOW + timedelta(minutes=minutes))
    assert deleted == [NOW + timedelta(minutes=m) - RECORDS_KEPT for m in (0, 60, 125)]



def test_a_sweep_that_fails_fails_no_request_and_leaves_no_claim_held() -> None:
    """The sweep is housekeeping: its DELETE failing (a lock timeout, SQLite busy) is logged, and the request whose
    claim ran it goes on — it failed with the claim held in flight, answered 503 although nothing was done, and
    its retries were refused as still running for a minute."""
    from fastapi import Response  # noqa: PLC0415 - the HTTP layer, for this test only

    from motcua.entrypoints.http.idempotency import Idempotency  # noqa: PLC0415 - same
    from motcua.workflow.engine.clock import ManualClock  # noqa: PLC0415 - same
    from motcua.workflow.errors import StorageUnavailable  # noqa: PLC0415 - same

    backend = open_backend(MEMORY_URL)
    keys = backend.keys

    class Failing:
        def purge(self, before: datetime) -> int:
            raise StorageUnavailable("the database is busy")

    sweep = RecordSweep(Failing())  # type: ignore[arg-type]  # only purge is called
    sweep.after_claim(NOW)  # logged, not raised
    idempotency = Idempotency(keys, ManualClock(NOW), RecordSweep(Failing()))  # type: ignore[arg-type]
    answer = idempotency.run("k1", "once", lambda: "print", lambda _reservation: Response(status_code=201))
    assert answer.status_code == 201
    again = keys.claim("k1", "once", "print", NOW)
    assert not again.fresh and again.response is not None and again.response.status_code == 201  # kept
    backend.close()



@pytest.mark.integration
def test_a_record_deleted_between_a_refused_insert_and_its_read_is_claimed_afresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On PostgreSQL a claim's statements each see what was committed before them: the record that refused the insert
    may be gone when it is read — swept (a key used again after a day) or released by the request that held it (it
    failed) — and the claim failed on an assertion (a 500) instead of claiming the key anew."""
    from motcua.adapters.sql import driver  # noqa: PLC0415 - the statement hooked, for this test only

    services.require_postgres()
    with ExitStack() as stack:
        url = services.postgres_url(stack.enter_context(services.postgres_database()))
        backend, sweeper = open_backend(url), open_backend(url)
        stack.callback(backend.close)
        stack.callback(sweeper.close)
        keys = backend.keys
        assert keys.claim("k1", "again", "print", NOW).fresh
        keys.complete("k1", "again", NOW, StoredResponse(201, {}, "{}"))
        take_over = keys._sql.take_over  # type: ignore[attr-defined]  # the statement after the refused insert
        first = driver.Unit.first

        def swept_meanwhile(unit: driver.Unit, statement: object, params: object) -> object:
            row = first(unit, statement, params)  # type: ignore[arg-type]
            if statement == take_over:
                assert sweeper.keys.purge(NOW + timedelta(days=3)) == 1  # another process's sweep, committed
            return row

        monkeypatch.setattr(driver.Unit, "first", swept_meanwhile)
        later = NOW + timedelta(days=2)
        assert keys.claim("k1", "again", "print", later).fresh
        monkeypatch.undo()
        assert not keys.claim("k1", "again", "print", later).fresh  # the new claim holds the key


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


@pytest.mark.parametrize("options", [
    ["--role", "system", "--all-units"],
    ["--role", "officer", "--role", "system", "--unit", "LOCAL-HP-LE-CHAN"],
], ids=["system-alone", "system-beside-officer"])
def test_apikey_create_refuses_the_system_role(tmp_path: Path, options: list[str]) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()

    answer = runner.invoke(app, ["apikey", "create", "--actor", "Bộ hẹn giờ", *options, "--db", db])

    assert answer.exit_code == USAGE_ERROR and answer.stdout == ""
    assert answer.stderr.splitlines() == ["error: --role: no key may hold the role system: it belongs to motcua's own "
                                          "processes (timers, imports, successions)"]
    assert "API keys (0)" in runner.invoke(app, ["apikey", "list", "--db", db]).stdout


@pytest.mark.parametrize(("options", "said"), [
    (["--role", "officer", "--unit", "LOCAL-HP-" + "X" * 5000], "--unit: a unit code is 1 to 64"),
    (["--role", "officer", "--unit", "LOCAL-HP-LE-CHAN", "--unit", "LOCAL HP"], "--unit: a unit code is 1 to 64"),
    (["--role", "leader", "--province", "hai-phong" * 600], "--province: a province code is 1 to 64"),
    (["--role", "applicant", "--applicant-id", " 001203004567"], "--applicant-id: an identity number is 1 to 32"),
    (["--role", "applicant", "--applicant-id", "001203004567 "], "--applicant-id: an identity number is 1 to 32"),
    (["--role", "applicant", "--applicant-id", "001-203-004-567"], "--applicant-id: an identity number is 1 to 32"),
    (["--role", "applicant", "--applicant-id", "0" * 33], "--applicant-id: an identity number is 1 to 32"),
    (["--role", "applicant", "--applicant-id", ""], "--applicant-id: an identity number is 1 to 32"),
], ids=["unit-too-long", "unit-with-space", "province-too-long", "id-space-before", "id-space-after", "id-dashes",
        "id-too-long", "id-empty"])
def test_apikey_create_refuses_malformed_codes_and_ids_without_echoing_them(
    tmp_path: Path, options: list[str], said: str
) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()

    answer = runner.invoke(app, ["apikey", "create", "--actor", "Lan", *options, "--db", db])

    assert answer.exit_code == USAGE_ERROR and answer.stdout == ""
    [line] = answer.stderr.splitlines()
    assert line.startswith(f"error: {said}") and len(line) < 250
    assert options[-1].strip() not in line or not options[-1].strip()  # the value is not echoed back
    assert "API keys (0)" in runner.invoke(app, ["apikey", "list", "--db", db]).stdout


# -- roles: only those a workflow declares, never system ------------------------------------------------------

KNOWN_ROLES = "applicant, inspector, leader, officer, owner, specialist"


def test_the_roles_a_key_may_hold_are_those_the_workflows_declare_but_system() -> None:
    declared = {role for path in WORKFLOWS_DIR.glob("*.yaml") for role in load_definition(path).roles}

    assert key_roles() == declared - {"system"} == set(KNOWN_ROLES.split(", "))
    for path in WORKFLOWS_DIR.glob("*.yaml"):  # the inspector is declared and no trigger allows it: it reads only
        definition = load_definition(path)
        assert definition.roles["inspector"] == "Thanh tra, kiểm tra"
        allowed = {role for spec in definition.triggers.values() for role in spec.roles} | set(definition.opening.roles)
        assert "inspector" not in allowed


@pytest.mark.parametrize("roles", [
    ("superadmin",), ("officer", "superadmin"), ("Officer",), (" officer",), ("officer\x00",), ("x" * 5000,),
], ids=["superadmin", "beside-officer", "capitalised", "space-before", "nul", "huge"])
def test_a_key_may_hold_no_role_that_no_workflow_declares(roles: tuple[str, ...]) -> None:
    with pytest.raises(InvalidInput) as refused:
        new_key("Quản trị", roles, NOW)

    assert refused.value.field == "--role"
    assert refused.value.message.endswith(f"a key's roles are those the workflows declare ({KNOWN_ROLES})")
    assert len(refused.value.message) < 200  # a huge role is not echoed in full


def test_an_inspectors_key_is_made_with_a_declared_role() -> None:
    made = new_key("Thanh tra tỉnh", ["inspector"], NOW, province="hai-phong").stored
    assert made.roles == ("inspector",) and made.principal.roles == {"inspector"}


def test_apikey_create_refuses_an_undeclared_role_naming_the_known_ones(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()

    answer = runner.invoke(app, ["apikey", "create", "--actor", "Quản trị", "--role", "superadmin", "--all-units",
                                 "--db", db])
    inspector = runner.invoke(app, ["apikey", "create", "--actor", "Thanh tra", "--role", "inspector", "--province",
                                    "hai-phong", "--db", db])

    assert answer.exit_code == USAGE_ERROR and answer.stdout == ""
    assert answer.stderr.splitlines() == [f"error: --role: unknown role 'superadmin': a key's roles are those the "
                                          f"workflows declare ({KNOWN_ROLES})"]
    assert inspector.exit_code == 0, inspector.output
    listed = runner.invoke(app, ["apikey", "list", "--db", db]).stdout
    assert "API keys (1)" in listed and "superadmin" not in listed and "inspector" in listed


def test_a_standalone_desks_home_is_granted_as_it_is_configured(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The capitals rule is the register's: a desk without a register configured as ``000.00.00.h23`` holds its
    dossiers under that code, so a key or a console user scoped to it is granted as before (the home is exempt from
    the register check too); any other code not in capitals is still refused, and so is the home's other spelling."""
    monkeypatch.setenv("MOTCUA_AGENCY", "000.00.00.h23")
    db = f"sqlite:///{tmp_path / 'keys.db'}"
    runner = CliRunner()
    key = runner.invoke(app, ["apikey", "create", "--actor", "Lan", "--role", "officer", "--unit", "000.00.00.h23",
                              "--db", db])
    assert key.exit_code == 0, key.output
    user = runner.invoke(app, ["user", "create", "--name", "lan", "--role", "officer", "--unit", "000.00.00.h23",
                               "--db", db], input="mot-mat-khau-dai\n")
    assert user.exit_code == 0, user.output
    for code in ("local-hp-le-chan", "000.00.00.H23"):
        refused = runner.invoke(app, ["apikey", "create", "--actor", "Lan", "--role", "officer", "--unit", code,
                                      "--db", db])
        assert refused.exit_code == USAGE_ERROR, refused.output
    with pytest.raises(InvalidInput, match="capital letters"):
        new_key("Lan", ["officer"], NOW, units=["000.00.00.h23"])  # no home named: the register's shape only
