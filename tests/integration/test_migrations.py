"""The schema is the sum of the migrations: Alembic's ``upgrade head`` builds exactly the tables.

Run on SQLite and on PostgreSQL, from an empty database each time, and from a database left at
an earlier revision with rows in it (databases in the field are upgraded, never rebuilt).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from motcua.adapters.sql.engine import WRITE, create_engine, json_dumps
from motcua.adapters.sql.migrate import alembic_config, upgrade
from motcua.adapters.sql.store import SqlStore
from motcua.adapters.sql.tables import UtcDateTime, metadata
from motcua.workflow.engine.model import DueTimer, JsonValue, SetTimer
from motcua.workflow.engine.queries import CaseFilter
from motcua.workflow.errors import InvalidInput, StorageFailure
from tests.services import postgres_database, postgres_url, require_postgres

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()  # the revision this motcua needs


@pytest.fixture(params=[
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.integration),
])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database, schema not created."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    require_postgres()
    with postgres_database() as name:
        yield postgres_url(name)


@pytest.fixture
def connection(empty_url: str) -> Iterator[sa.Connection]:
    engine = create_engine(empty_url)
    try:
        with engine.connect() as opened:
            yield opened
    finally:
        engine.dispose()


def _differences(connection: sa.Connection) -> list[object]:
    differences: list[object] = compare_metadata(MigrationContext.configure(connection), metadata)
    connection.rollback()
    return differences


def _heads(connection: sa.Connection) -> tuple[str, ...]:
    heads = MigrationContext.configure(connection).get_current_heads()
    connection.rollback()
    return heads


def test_the_migrations_build_exactly_the_tables(empty_url: str, connection: sa.Connection) -> None:
    upgrade(empty_url)

    assert _differences(connection) == []


def test_upgrade_is_idempotent_and_ends_at_head(empty_url: str, connection: sa.Connection) -> None:
    upgrade(empty_url)
    upgrade(empty_url)

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head == HEAD
    assert _heads(connection) == (head,)


def test_processes_starting_together_migrate_once(empty_url: str, connection: sa.Connection) -> None:
    starters = 6
    start = threading.Barrier(starters)

    def start_up() -> None:
        start.wait()
        upgrade(empty_url)

    with ThreadPoolExecutor(starters) as pool:
        for started in [pool.submit(start_up) for _ in range(starters)]:
            started.result(timeout=60)

    assert _heads(connection) == (HEAD,)
    assert _differences(connection) == []


def _rows_at_0001(connection: sa.Connection, at: datetime, due: datetime) -> None:
    """A dossier with an entry, an armed timer (re-armed once: generation 2 in the old count) and a
    pending effect, written as a database at revision 0001 held them."""
    instants = {"at": at, "due": due}
    statements = [
        """INSERT INTO "case" VALUES ('H-1', 'k', 1, 'r', '{}', '{}', 2, 'h', :at, :at)""",
        """INSERT INTO audit_entry (case_code, sequence, occurred_at, actor, role, "trigger", state_before,
             state_after, data, changes, definition_key, definition_version, rule_set, prev_hash, hash, schema_version)
           VALUES ('H-1', 1, :at, 'a', 'officer', 'open', '{}', '{}', '{}', '{}', 'k', 1, 'r', 'p', 'h', 1)""",
        """INSERT INTO timer VALUES ('H-1', 'deadline', 'expire', :due, '{"kind": "hạn"}', 'armed', 2, NULL)""",
        """INSERT INTO outbox (case_code, position, kind, payload, status, attempts, next_attempt_at, created_at)
           SELECT 'H-1', max(position), 'notify', '{}', 'pending', 0, :at, :at FROM audit_entry""",
    ]
    with connection.begin():
        for statement in statements:
            typed = [sa.bindparam(name, value, type_=UtcDateTime()) for name, value in instants.items()
                     if f":{name}" in statement]
            connection.execute(sa.text(statement).bindparams(*typed))


def test_a_database_at_0001_upgrades_to_head_with_its_rows(empty_url: str, connection: sa.Connection) -> None:
    at, due, lease = datetime(2025, 1, 6, 1, 0, tzinfo=UTC), datetime(2025, 1, 9, 1, 0, tzinfo=UTC), timedelta(hours=1)
    with connection.begin():
        command.upgrade(alembic_config(connection), "0001")
    _rows_at_0001(connection, at, due)

    upgrade(empty_url)

    assert _heads(connection) == (HEAD,)
    assert _differences(connection) == []
    with SqlStore.from_url(empty_url) as store:
        assert list(store.timers("H-1")) == [SetTimer("deadline", "expire", due, {"kind": "hạn"})]
        [armed] = store.claim_due(due, 10, lease)
        assert armed == DueTimer("H-1", "deadline", "expire", due, {"kind": "hạn"}, generation=2)
        [effect] = store.claim_effects(at, 10, lease)
        assert (effect.case_code, effect.kind, effect.status, effect.attempts) == ("H-1", "notify", "pending", 0)
        assert store.claim_effects(at, 10, lease) == []  # the new lease column holds
        assert store.discard(armed) is True


# cases stored at 0007, and what the filter read from their attributes then
CASES_AT_0007: dict[str, dict[str, JsonValue]] = {
    "D-1": {"procedure": "1.001193", "assignee": "Phạm Văn Hùng", "appointment": "2025-01-10T17:00:00+07:00",
            "ended_at": "2025-01-08T09:00:00+07:00"},
    "D-2": {"procedure": "1.004873", "assignee": "", "appointment": "2025-01-20T17:00:00+07:00", "ended_at": None},
    "T-1": {"owner": "Lê Thị Thu", "due": "2025-02-01"},
}


def test_a_database_at_0007_finds_its_cases_as_before(empty_url: str, connection: sa.Connection) -> None:
    """0008 moves the filter from attribute names to the case's index columns: the rows already stored get the
    values the filter read from their attributes, so every query finds what it found before the upgrade."""
    at = sa.bindparam("at", datetime(2025, 1, 6, 1, 0, tzinfo=UTC), type_=UtcDateTime())
    with connection.begin():
        command.upgrade(alembic_config(connection), "0007")
        for code, attributes in CASES_AT_0007.items():
            connection.execute(sa.text(
                """INSERT INTO "case" VALUES (:code, 'k', 1, 'r', '{}', :attributes, 1, 'h', :at, :at)"""
            ).bindparams(at), {"code": code, "attributes": json_dumps(attributes)})

    upgrade(empty_url)

    with SqlStore.from_url(empty_url) as store:
        def found(**where: object) -> list[str]:
            return [case.code for case in store.find(CaseFilter(**where)).items]  # type: ignore[arg-type]

        assert found(officer="Phạm Văn Hùng") == ["D-1"] and found(officer="Lê Thị Thu") == ["T-1"]
        assert found(officer="") == []
        assert found(procedure="1.004873") == ["D-2"]
        assert found(due_before=datetime(2025, 1, 15, tzinfo=UTC)) == ["D-1"]
        assert found(ended=True) == ["D-1"] and found(ended=False) == ["D-2", "T-1"]


def test_0019_empties_the_reporting_projection_so_that_it_folds_again(empty_url: str,
                                                                     connection: sa.Connection) -> None:
    """A projection folded before 0019 may hold a pause left open for ever: the upgrade empties it, and the next
    catch-up folds the whole log again."""
    with connection.begin():
        command.upgrade(alembic_config(connection), "0018")
        connection.execute(sa.text("INSERT INTO report_field VALUES ('HT', 'Hộ tịch')"))
        connection.execute(sa.text("UPDATE projection_checkpoint SET position = 42 WHERE name = 'reporting'"))
        if connection.execute(sa.text("SELECT count(*) FROM projection_checkpoint")).scalar_one() == 0:
            connection.execute(sa.text("INSERT INTO projection_checkpoint VALUES ('reporting', 42)"))

    upgrade(empty_url)

    with connection.begin():
        assert connection.execute(sa.text("SELECT count(*) FROM report_field")).scalar_one() == 0
        position = connection.execute(sa.text("SELECT position FROM projection_checkpoint")).scalars().all()
        assert position == [0]


def test_downgrade_to_base_removes_every_table(empty_url: str, connection: sa.Connection) -> None:
    upgrade(empty_url)

    with connection.begin():
        command.downgrade(alembic_config(connection), "base")

    assert set(sa.inspect(connection).get_table_names()) == {"alembic_version"}


@pytest.mark.integration
def test_case_codes_sort_byte_wise_on_postgresql() -> None:
    """``COLLATE "C"``: ORDER BY code (and timer name) is Python's order whatever the database locale
    (compare_metadata does not look at collations, so this is checked here)."""
    require_postgres()
    with postgres_database() as name:
        upgrade(postgres_url(name))
        engine = create_engine(postgres_url(name))
        query = sa.text(
            "SELECT table_name, column_name, collation_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND (column_name IN ('code', 'case_code') "
            "OR (table_name, column_name) = ('timer', 'name')) ORDER BY table_name, column_name"
        )
        try:
            with engine.connect() as connection:
                collations = [tuple(row) for row in connection.execute(query)]
        finally:
            engine.dispose()

    assert collations == [("audit_entry", "case_code", "C"), ("case", "code", "C"), ("dossier_pause", "code", "C"),
                          ("dossier_report", "code", "C"), ("outbox", "case_code", "C"),
                          ("portal_sync", "case_code", "C"), ("timer", "case_code", "C"), ("timer", "name", "C")]


def _entry(connection: sa.Connection, code: str, seal: str | None) -> None:
    """One audit entry written at head (``seal``: its position seal, None for an entry of schema 0 or 1)."""
    at = sa.bindparam("at", datetime(2026, 12, 7, 1, 0, tzinfo=UTC), type_=UtcDateTime())
    connection.execute(sa.text(
        """INSERT INTO "case" (code, definition_key, definition_version, rule_set, state, attributes, version,
             head_hash, opened_at, updated_at) VALUES (:code, 'k', 1, 'r', '{}', '{}', 1, 'h', :at, :at)"""
    ).bindparams(at), {"code": code})
    connection.execute(sa.text(
        """INSERT INTO audit_entry (case_code, sequence, occurred_at, actor, role, "trigger", state_before,
             state_after, data, changes, definition_key, definition_version, rule_set, prev_hash, hash, schema_version,
             position_hash)
           VALUES (:code, 1, :at, 'a', 'officer', 'open', '{}', '{}', '{}', '{}', 'k', 1, 'r', 'p', 'h', :schema,
                   :seal)"""
    ).bindparams(at), {"code": code, "seal": seal, "schema": 1 if seal is None else 2})


def _seals(connection: sa.Connection) -> list[str | None]:
    with connection.begin():
        return list(connection.execute(sa.text("SELECT position_hash FROM audit_entry ORDER BY case_code")).scalars())


def test_a_downgrade_that_would_drop_position_seals_is_refused(empty_url: str, connection: sa.Connection) -> None:
    """Dropping ``position_hash`` (0012) would strip every sealed entry of the seal its schema requires: ``motcua
    verify`` would report them broken for ever, after any upgrade. Refused, nothing changed."""
    upgrade(empty_url)
    with connection.begin():
        _entry(connection, "H-1", None)
        _entry(connection, "H-2", "seal")

    with pytest.raises(CommandError, match="position seals"), connection.execution_options(**WRITE).begin():
        command.downgrade(alembic_config(connection), "0011")

    assert _heads(connection) == (HEAD,)
    assert _seals(connection) == [None, "seal"]


def test_a_downgrade_that_would_drop_the_audit_log_is_refused(empty_url: str, connection: sa.Connection) -> None:
    """Below 0001 there is no audit log: a log holding entries (even unsealed ones, which 0012's downgrade lets
    through) is never dropped by a downgrade."""
    upgrade(empty_url)
    with connection.begin():
        _entry(connection, "H-1", None)

    with pytest.raises(CommandError, match="audit log holds entries"), connection.execution_options(**WRITE).begin():
        command.downgrade(alembic_config(connection), "base")

    assert _heads(connection) == (HEAD,)
    assert _seals(connection) == [None]


@pytest.mark.parametrize(("revisions", "below"), [("0012:0011", "0012"), ("0001:base", "0001")])
def test_a_downgrade_that_must_look_at_the_audit_log_is_not_scripted_offline(
    tmp_path: Path, revisions: str, below: str
) -> None:
    """``alembic downgrade --sql`` writes a script without a database: the check of the audit log cannot run there, so
    the script is refused by name, not failed with an AttributeError (nor written without the check)."""
    config = alembic_config()
    config.set_main_option("sqlalchemy.url", f"sqlite:///{tmp_path / 'offline.db'}")

    with pytest.raises(CommandError, match=f"below {below}.*offline"):
        command.downgrade(config, revisions, sql=True)


def test_a_database_of_a_newer_motcua_is_refused_untouched(empty_url: str, connection: sa.Connection) -> None:
    upgrade(empty_url)
    with connection.begin():
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '0999'"))

    with pytest.raises(InvalidInput, match="newer motcua"):
        upgrade(empty_url)

    assert _heads(connection) == ("0999",)


def test_a_migration_failing_half_way_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    """0008 reads each case's attributes: a row whose JSON SQLite cannot read (PostgreSQL's JSON column refuses it in
    the first place) fails it after its columns were added. The whole upgrade is one transaction: the database stays
    at 0007, as it was, and the error names the revision found and the one needed."""
    url = f"sqlite:///{tmp_path / 'half-way.db'}"
    at = sa.bindparam("at", datetime(2025, 1, 6, 1, 0, tzinfo=UTC), type_=UtcDateTime())
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            with connection.begin():
                command.upgrade(alembic_config(connection), "0007")
                connection.execute(sa.text(
                    """INSERT INTO "case" VALUES ('X-1', 'k', 1, 'r', '{}', '{not json', 1, 'h', :at, :at)"""
                ).bindparams(at))

            with pytest.raises(StorageFailure, match=f"at revision 0007, this motcua needs {HEAD}; migrating it failed "
                                                     "and changed nothing: malformed JSON"):
                upgrade(url)

            assert _heads(connection) == ("0007",)
            assert "index_due" not in {column["name"] for column in sa.inspect(connection).get_columns("case")}
    finally:
        engine.dispose()
