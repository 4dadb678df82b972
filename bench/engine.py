"""What the engine costs over the work it cannot avoid, measured in one process, warmed up.

``python -m bench.engine [--json] [--quick] [--profile]`` reports the median of several repetitions of:

- ``inmemory_ratio``: one engine decision (``Engine.fire`` on an in-memory case, no store) over one bare
  ``transitions`` trigger on a shared machine (model registered, one condition, one ``after`` callable);
- ``sqlite_ratio``: persisted, audited transitions per second through ``CaseService.fire`` on a SQLite file
  over the same work hand-written with ``sqlite3`` (same tables, same PRAGMAs, one transaction each);
- ``postgres_ratio_1`` / ``postgres_ratio_8``: the same against hand-written psycopg 3, 1 and 8 clients;
- ``statemachine_ratio``: one persisted SQLite transition over one in-memory python-statemachine transition;
- ``memory_per_case_bytes``: Python heap growth (tracemalloc) per additional dossier opened on SQLite.

The floors are the natural hand-written code, never slowed down; a missed target is reported as missed.
Every dossier is received, assigned, then re-assigned: ``assign`` from ``processing`` is an internal
transition, so the loops run at steady state forever.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import json
import os
import pstats
import sqlite3
import sys
import tempfile
import tracemalloc
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import psycopg
import transitions
from psycopg import sql
from psycopg.types.json import Json
from sqlalchemy.engine import make_url
from statemachine import State, StateMachine
from transitions import EventData, Machine

from bench._util import Batch, describe_machine, median, round_robin, threaded_ops_per_s
from motcua import workflow
from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.adapters.sql.engine import json_dumps
from motcua.adapters.sql.store import SqlStore
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.audit import verify_chains
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.compiled import WorkflowSet
from motcua.workflow.engine.model import Actor, Case, JsonValue

__all__ = ["DEFAULT", "QUICK", "TARGETS", "Sizes", "main", "render_table", "run"]

START = datetime(2024, 3, 4, 8, 0, tzinfo=VN_TZ)  # a Monday, office open
PROCEDURE = "1.004873"  # xác nhận tình trạng hôn nhân
OFFICER = Actor.of("Nguyễn Thị Lan", "officer")
APPLICANT = Applicant("Trần Văn An")
ASSIGN: dict[str, JsonValue] = {"assignee": "Phạm Văn Hùng"}
DEFAULT_POSTGRES = "postgresql://root@127.0.0.1:5432/test"
SQLITE_PRAGMAS = ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
CLIENTS = (1, 8)
SETTLE = 200  # dossiers traced before the first heap snapshot
MEANINGFUL_WINDOW = 500  # dossiers between the snapshots below which the growth is mostly noise
TARGETS: dict[str, tuple[str, float]] = {
    "inmemory_ratio": ("<=", 4.0),
    "sqlite_ratio": (">=", 0.5),
    "postgres_ratio_1": (">=", 0.7),
    "postgres_ratio_8": (">=", 0.7),
    "statemachine_ratio": ("<", 1.0),  # stretch target
    "memory_per_case_bytes": ("<", 64.0),  # below one retained small object (a code string) per dossier
}


@dataclass(frozen=True, slots=True)
class Sizes:
    decisions: int  # engine decisions, bare triggers and python-statemachine transitions per timed run
    sqlite_ops: int  # persisted transitions per timed run
    postgres_ops: int  # persisted transitions per client per timed run
    repeats: int  # timed runs of the in-memory loops
    db_repeats: int  # timed runs of the database loops
    memory_cases: tuple[int, int]  # dossiers stored before and after the traced window


DEFAULT = Sizes(4000, 100, 60, repeats=9, db_repeats=5, memory_cases=(1000, 2000))
QUICK = Sizes(50, 4, 4, repeats=3, db_repeats=2, memory_cases=(10, 25))


# -- the engine path ---------------------------------------------------------------------------


def _open(url: str) -> Motcua:
    return open_motcua(url, clock=ManualClock(START), observers=[])


def _processing(app: Motcua) -> Case:
    received = app.desk.receive(PROCEDURE, "direct", APPLICANT, OFFICER)
    return app.service.fire(received.code, "assign", OFFICER, ASSIGN)


def _decisions(app: Motcua) -> Batch:
    """Engine decisions only: each one's case is the next one's input, nothing is stored."""
    engine, current = app.service.engine, [_processing(app)]

    def batch(ops: int) -> None:
        case = current[0]
        for _ in range(ops):
            case = engine.fire(case, "assign", OFFICER, ASSIGN).case
        current[0] = case

    return batch


def _service_fires(app: Motcua, code: str) -> Batch:
    def batch(ops: int) -> None:
        for _ in range(ops):
            app.service.fire(code, "assign", OFFICER, ASSIGN)

    return batch


# -- in-memory floors --------------------------------------------------------------------------


class _Model:
    """The model registered on the bare machine."""

    state = "processing"


def _bare_triggers() -> Batch:
    """A bare shared ``transitions`` machine: one transition, one condition, one ``after`` callable."""
    taken: list[object] = []

    def allowed(event: EventData) -> bool:
        return event.kwargs["run"] is taken

    def record(event: EventData) -> None:
        taken.append(event.transition)

    model = _Model()
    transition = {"trigger": "assign", "source": "processing", "dest": None, "conditions": [allowed], "after": [record]}
    machine = Machine(
        model=model, states=["processing"], initial="processing", transitions=[transition],
        auto_transitions=False, send_event=True,
    )
    event = machine.events["assign"]

    def batch(ops: int) -> None:
        for _ in range(ops):
            event.trigger(model, run=taken)
        taken.clear()

    return batch


class _Toggle(StateMachine):
    off = State(initial=True)
    on = State()
    flip = off.to(on) | on.to(off)


def _toggles() -> Batch:
    machine = _Toggle()

    def batch(ops: int) -> None:
        for _ in range(ops):
            machine.send("flip")

    return batch


# -- hand-written persisted floors -------------------------------------------------------------

_COLUMNS = "code, definition_key, definition_version, rule_set, state, attributes, version, head_hash"
_SELECT = f'SELECT {_COLUMNS}, opened_at, updated_at FROM "case" WHERE code = ?'
_UPDATE = (
    'UPDATE "case" SET state = ?, attributes = ?, version = ?, head_hash = ?, updated_at = ?'
    " WHERE code = ? AND version = ?"
)
_INSERT = (
    'INSERT INTO audit_entry (case_code, sequence, occurred_at, actor, role, "trigger", state_before, state_after,'
    " data, changes, reason, definition_key, definition_version, rule_set, prev_hash, hash, schema_version)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True, slots=True)
class _Step:
    """One re-assignment worked out by hand: new attributes, version and chained hash."""

    attributes: dict[str, Any]
    changes: dict[str, Any]
    version: int
    hash: str


def _hand_step(row: Sequence[Any], state: dict[str, str], attributes: dict[str, Any], now: datetime) -> _Step:
    code, key, definition_version, rule_set, _, _, version, head_hash = row[:8]
    changes = {
        "handovers": int(attributes.get("handovers", 0)) + 1,
        "electronic_handovers": int(attributes.get("electronic_handovers", 0)),
        "assignee": ASSIGN["assignee"],
    }
    document = {
        "schema": 1, "case": code, "seq": version + 1, "at": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor": OFFICER.name, "role": "officer", "trigger": "assign", "before": state, "after": state,
        "data": ASSIGN, "changes": changes, "reason": None, "definition": f"{key}@{definition_version}",
        "rule_set": rule_set, "prev": head_hash,
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return _Step({**attributes, **changes}, changes, version + 1, digest)


def _entry_values(row: Sequence[Any], step: _Step, at: object, state: object, changes: object) -> tuple[Any, ...]:
    return (row[0], step.version, at, OFFICER.name, "officer", "assign", state, state, ASSIGN_JSON, changes,
            None, row[1], row[2], row[3], row[7], step.hash, 1)


ASSIGN_JSON = json_dumps(ASSIGN)


def _sqlite_floor(connection: sqlite3.Connection, code: str) -> Batch:
    """SELECT, decode, hash, UPDATE … WHERE version = ?, INSERT: one ``BEGIN IMMEDIATE`` each."""

    def step() -> None:
        connection.execute("BEGIN IMMEDIATE")
        try:
            row = connection.execute(_SELECT, (code,)).fetchone()
            state, attributes = json.loads(row[4]), json.loads(row[5])
            now = datetime.now(UTC)
            done = _hand_step(row, state, attributes, now)
            stamp, state_text = now.strftime("%Y-%m-%d %H:%M:%S.%f"), json_dumps(state)
            update = (state_text, json_dumps(done.attributes), done.version, done.hash, stamp, code, row[6])
            if connection.execute(_UPDATE, update).rowcount != 1:
                raise RuntimeError(f"{code}: lost update")
            connection.execute(_INSERT, _entry_values(row, done, stamp, state_text, json_dumps(done.changes)))
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    def batch(ops: int) -> None:
        for _ in range(ops):
            step()

    return batch


def _postgres_floor(connection: psycopg.Connection[Any], code: str) -> Batch:
    """The same with psycopg 3, autocommit off: the SELECT opens the transaction, ``commit`` ends it."""
    select, update, insert = (text.replace("?", "%s") for text in (_SELECT, _UPDATE, _INSERT))
    cursor = connection.cursor()

    def step() -> None:
        try:
            row = cursor.execute(select, (code,)).fetchone()
            if row is None:
                raise RuntimeError(f"{code}: no such case")
            now = datetime.now(UTC)
            done = _hand_step(row, row[4], row[5], now)
            state = Json(row[4], dumps=json_dumps)
            cursor.execute(update, (state, Json(done.attributes, dumps=json_dumps), done.version, done.hash, now,
                                    code, row[6]))
            if cursor.rowcount != 1:
                raise RuntimeError(f"{code}: lost update")
            cursor.execute(insert, _entry_values(row, done, now, state, Json(done.changes, dumps=json_dumps)))
            connection.commit()
        except BaseException:
            connection.rollback()
            raise

    def batch(ops: int) -> None:
        for _ in range(ops):
            step()

    return batch


# -- measurements ------------------------------------------------------------------------------


def measure_inmemory(sizes: Sizes) -> dict[str, float]:
    app = _open("memory://")
    try:
        batches = {"engine": _decisions(app), "transitions": _bare_triggers(), "statemachine": _toggles()}
        samples = round_robin(batches, sizes.decisions, repeats=sizes.repeats)
    finally:
        app.close()
    engine, bare, toggle = (median(samples[name]) for name in ("engine", "transitions", "statemachine"))
    return {"inmemory_engine_us": engine / 1e3, "inmemory_transitions_us": bare / 1e3,
            "inmemory_ratio": engine / bare, "statemachine_us": toggle / 1e3}


def _chains_intact(app: Motcua) -> bool:
    """Every chain in the database verifies: the floors wrote the same audited, hash-chained entries."""
    return next(verify_chains(app.store.cases(), app.store.entries()), None) is None


def _store_pragmas(url: str) -> dict[str, object]:
    """The PRAGMAs of a store's connection on ``url`` (set by its engine on every connection it makes)."""
    with SqlStore.from_url(url) as store, store.engine.connect() as connection:
        return {name: connection.exec_driver_sql(f"PRAGMA {name}").scalar() for name in SQLITE_PRAGMAS}


def _sqlite_connection(path: Path, pragmas: Mapping[str, object]) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)  # explicit BEGIN, like the store
    for name, value in pragmas.items():
        connection.execute(f"PRAGMA {name} = {value}")
    return connection


def measure_sqlite(sizes: Sizes, directory: Path) -> dict[str, object]:
    path = directory / "bench.db"
    app = _open(f"sqlite:///{path}")
    try:
        pragmas = _store_pragmas(f"sqlite:///{path}")
        connection = _sqlite_connection(path, pragmas)
        try:
            batches = {"engine": _service_fires(app, _processing(app).code),
                       "floor": _sqlite_floor(connection, _processing(app).code)}
            samples = round_robin(batches, sizes.sqlite_ops, repeats=sizes.db_repeats)
            floor_pragmas = {name: connection.execute(f"PRAGMA {name}").fetchone()[0] for name in SQLITE_PRAGMAS}
        finally:
            connection.close()
        intact = _chains_intact(app)
    finally:
        app.close()
    engine, floor = median(samples["engine"]), median(samples["floor"])
    return {"sqlite_engine_per_s": 1e9 / engine, "sqlite_floor_per_s": 1e9 / floor, "sqlite_ratio": floor / engine,
            "sqlite_engine_ms": engine / 1e6, "sqlite_file": str(path.parent), "sqlite_chains_intact": intact,
            "pragmas": {"store": pragmas, "floor": floor_pragmas}}


@contextmanager
def _scratch_database(admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database for the run, dropped afterwards; yields its URL."""
    name = f"bench_engine_{os.getpid()}_{datetime.now(UTC):%Y%m%d%H%M%S}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _postgres_rates(engine: Sequence[Batch], floor: Sequence[Batch], sizes: Sizes) -> tuple[float, float]:
    samples: dict[str, list[float]] = {"engine": [], "floor": []}
    for turn in range(sizes.db_repeats + 1):  # the first turn warms up (psycopg prepares after 5 runs)
        for name, batches in (("engine", engine), ("floor", floor)):
            rate = threaded_ops_per_s(batches, sizes.postgres_ops)
            if turn:
                samples[name].append(rate)
    return median(samples["engine"]), median(samples["floor"])


def measure_postgres(sizes: Sizes, admin_url: str) -> dict[str, object]:
    with _scratch_database(admin_url) as url:
        apps = [_open(url) for _ in range(max(CLIENTS))]  # one open_motcua (own SqlStore and pool) per client
        connections = [psycopg.connect(url) for _ in apps]
        try:
            engine = [_service_fires(app, _processing(app).code) for app in apps]
            pairs = zip(apps, connections, strict=True)
            floor = [_postgres_floor(connection, _processing(app).code) for app, connection in pairs]
            result: dict[str, object] = {}
            for clients in CLIENTS:
                engine_rate, floor_rate = _postgres_rates(engine[:clients], floor[:clients], sizes)
                result |= {f"postgres_engine_per_s_{clients}": engine_rate,
                           f"postgres_floor_per_s_{clients}": floor_rate,
                           f"postgres_ratio_{clients}": engine_rate / floor_rate}
            result["postgres_chains_intact"] = _chains_intact(apps[0])
        finally:
            for connection in connections:
                connection.close()
            for app in apps:
                app.close()
    return result


def _machines_hold_models(workflows: WorkflowSet) -> bool:
    compiled = [workflows.get(definition.key, definition.version) for definition in workflows.definitions()]
    # _machines is inspected on purpose: that no case stays attached to a shared machine is what is measured
    return any(len(machine.models) > 0 for each in compiled for machine in each._machines.values())


def _engine_file(filename: str) -> bool:
    packages = (Path(workflow.__file__).parent, Path(transitions.__file__).parent)
    return any(Path(filename).is_relative_to(package) for package in packages)


def _receive(app: Motcua, dossiers: int) -> None:
    for _ in range(dossiers):
        app.desk.receive(PROCEDURE, "direct", APPLICANT, OFFICER)  # open + one trigger


def _heap() -> tracemalloc.Snapshot:
    gc.collect()
    return tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])


def measure_memory(before: int, after: int, directory: Path) -> dict[str, object]:
    """Traced heap growth per dossier between ``before`` and ``after`` dossiers opened on SQLite.

    Tracing starts ``SETTLE`` dossiers before ``before``: what the warm-up allocates or rebuilds is then
    traced at both snapshots and cancels out, so the difference is the growth over ``after - before``.
    """
    settle = min(SETTLE, before // 2)
    app = _open(f"sqlite:///{directory / 'memory.db'}")
    try:
        _receive(app, before - settle)
        tracemalloc.start()
        try:
            _receive(app, settle)
            first = _heap()
            _receive(app, after - before)
            growth = _heap().compare_to(first, "filename")
        finally:
            tracemalloc.stop()
        holds_models = _machines_hold_models(app.workflows)
    finally:
        app.close()
    added = after - before
    engine = sum(stat.size_diff for stat in growth if _engine_file(stat.traceback[0].filename))
    top = [{"file": stat.traceback[0].filename, "bytes": stat.size_diff, "blocks": stat.count_diff}
           for stat in growth[:5]]
    return {"memory_per_case_bytes": sum(stat.size_diff for stat in growth) / added,
            "memory_engine_per_case_bytes": engine / added, "memory_cases": [before, after],
            "memory_file": str(directory), "memory_top_growth": top, "machines_hold_models": holds_models}


# -- the run -----------------------------------------------------------------------------------


def _memory_directory() -> str | None:
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() else None  # tmpfs: growth is measured, not time, so skip the fsyncs


def _versions() -> dict[str, str]:
    packages = ("transitions", "python-statemachine", "sqlalchemy", "psycopg", "pydantic")
    return {name: metadata.version(name) for name in packages} | {"sqlite": sqlite3.sqlite_version}


def _checks(result: Mapping[str, object]) -> dict[str, dict[str, object]]:
    checks: dict[str, dict[str, object]] = {}
    for key, (operator, bound) in TARGETS.items():
        value = result.get(key)
        met = None if not isinstance(value, float | int) else _holds(operator, float(value), bound)
        checks[key] = {"value": value, "target": f"{operator} {bound:g}", "met": met}
    checks["machines_hold_models"] = {"value": result["machines_hold_models"], "target": "false",
                                      "met": result["machines_hold_models"] is False}
    return checks


def _holds(operator: str, value: float, bound: float) -> bool:
    comparisons: dict[str, Callable[[float, float], bool]] = {
        "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b,
    }
    return comparisons[operator](value, bound)


def _postgres_or_note(sizes: Sizes, admin_url: str | None, notes: list[str]) -> dict[str, object]:
    kinds = ("postgres_ratio", "postgres_engine_per_s", "postgres_floor_per_s")
    nulls: dict[str, object] = {f"{kind}_{clients}": None for clients in CLIENTS for kind in kinds}
    nulls["postgres_chains_intact"] = None
    if admin_url is None:
        notes.append("PostgreSQL skipped (--no-postgres): postgres_* are null")
        return nulls
    try:
        return measure_postgres(sizes, admin_url)
    except psycopg.OperationalError as error:
        note = f"PostgreSQL NOT REACHABLE at {make_url(admin_url).render_as_string()}: {error}".strip()
        print(f"\n!!!!! {note} — postgres_* are null !!!!!\n", file=sys.stderr)
        notes.append(note)
        return nulls


NOTES = [
    "inmemory floor: the bare machine evaluates one condition; the engine's assign transition has none",
    "sqlite floor: hand-written sqlite3 on the SqlStore's own tables (created by its migration), same PRAGMAs",
    "persisted floors write schema-1 entries (stdlib json + SHA-256, no position seal): about 8 µs more per entry"
    " than the engine's schema-3 orjson encoding, under 2% of a persisted transition",
    "postgres engine clients: one open_motcua (own SqlStore, own SQLAlchemy pool) per thread;"
    " SqlStore.from_url takes no pool size and a shared engine would use SQLAlchemy's default 5 + 10 overflow",
    "memory: SQLite file on tmpfs when available (heap growth is measured, not time); window traced by tracemalloc",
]


def run(sizes: Sizes = DEFAULT, postgres: str | None = DEFAULT_POSTGRES) -> dict[str, object]:
    """Every measurement, as one JSON-ready dictionary. ``postgres=None`` skips PostgreSQL."""
    notes = list(NOTES)
    if sizes.memory_cases[1] - sizes.memory_cases[0] < MEANINGFUL_WINDOW:
        notes.append(f"memory window under {MEANINGFUL_WINDOW} dossiers: warm-up noise dominates the per-case growth")
    inmemory = measure_inmemory(sizes)
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as directory:
        sqlite = measure_sqlite(sizes, Path(directory))
    engine_ms = sqlite["sqlite_engine_ms"]
    assert isinstance(engine_ms, float)
    statemachine_ratio = engine_ms * 1e3 / inmemory["statemachine_us"]
    result: dict[str, object] = {**inmemory, **sqlite, "statemachine_ratio": statemachine_ratio}
    result |= _postgres_or_note(sizes, postgres, notes)
    with tempfile.TemporaryDirectory(prefix="bench-engine-", dir=_memory_directory()) as directory:
        result |= measure_memory(*sizes.memory_cases, Path(directory))
    result["checks"] = _checks(result)
    pragmas = result.pop("pragmas")
    result["machine"] = describe_machine() | {"pragmas": pragmas, "versions": _versions()}
    result["notes"] = notes
    return result


# -- output ------------------------------------------------------------------------------------


def _number(value: object, spec: str, unit: str = "") -> str:
    return f"{value:{spec}}{unit}" if isinstance(value, float | int) and not isinstance(value, bool) else "n/a"


def _rows(result: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    rows = [
        ("in-memory decision", _number(result["inmemory_engine_us"], ".1f", " µs"),
         _number(result["inmemory_transitions_us"], ".1f", " µs bare transitions trigger"), "inmemory_ratio"),
        ("SQLite, persisted + audited", _number(result["sqlite_engine_per_s"], ".0f", " /s"),
         _number(result["sqlite_floor_per_s"], ".0f", " /s hand-written sqlite3"), "sqlite_ratio"),
    ]
    for clients in CLIENTS:
        rows.append((f"PostgreSQL, {clients} client(s)",
                     _number(result[f"postgres_engine_per_s_{clients}"], ".0f", " /s"),
                     _number(result[f"postgres_floor_per_s_{clients}"], ".0f", " /s hand-written psycopg"),
                     f"postgres_ratio_{clients}"))
    return [*rows,
            ("SQLite transition vs statemachine", _number(result["sqlite_engine_ms"], ".2f", " ms"),
             _number(result["statemachine_us"], ".1f", " µs python-statemachine (memory)"), "statemachine_ratio"),
            ("heap growth per extra dossier", _number(result["memory_per_case_bytes"], ".1f", " B"),
             f"engine's share {_number(result['memory_engine_per_case_bytes'], '.1f', ' B')}", "memory_per_case_bytes"),
            ("compiled machines hold models", str(result["machines_hold_models"]), "", "machines_hold_models")]


def render_table(result: Mapping[str, Any]) -> str:
    header = ("figure", "measured", "floor", "ratio/value", "target", "met?")
    lines = [header]
    for label, measured, floor, key in _rows(result):
        check = result["checks"][key]
        met = {True: "yes", False: "NO", None: "n/a"}[check["met"]]
        lines.append((label, measured, floor, _number(check["value"], ".3g"), check["target"], met))
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    text = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in lines]
    machine = result["machine"]
    text += ["", f"machine: {json.dumps(machine, ensure_ascii=False)}", *(f"note: {note}" for note in result["notes"])]
    return "\n".join(text)


def profile(sizes: Sizes) -> None:
    """cProfile of the in-memory decision loop and the SQLite CaseService loop: top functions by cumulative time."""
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as directory:
        memory_app, sqlite_app = _open("memory://"), _open(f"sqlite:///{Path(directory) / 'profile.db'}")
        sqlite_loop = _service_fires(sqlite_app, _processing(sqlite_app).code)
        loops = (("in-memory Engine.fire", _decisions(memory_app), sizes.decisions),
                 ("SQLite CaseService.fire", sqlite_loop, sizes.sqlite_ops * 3))
        try:
            for label, batch, ops in loops:
                batch(ops)
                profiler = cProfile.Profile()
                profiler.runcall(batch, ops)
                print(f"== {label}: {ops} operations")
                stats = pstats.Stats(profiler)
                stats.sort_stats("cumulative").print_stats(15)
                stats.sort_stats("tottime").print_stats(10)
        finally:
            memory_app.close()
            sqlite_app.close()


def _cases(text: str) -> tuple[int, int]:
    before, _, after = text.partition(",")
    if not 0 < int(before) < int(after):
        raise argparse.ArgumentTypeError("BEFORE,AFTER with 0 < BEFORE < AFTER")
    return int(before), int(after)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.engine", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke tests, CI)")
    parser.add_argument("--profile", action="store_true", help="print cProfile hot spots of the engine loops instead")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="server URL; a scratch database is created on it")
    parser.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL (its figures are null)")
    parser.add_argument("--memory-cases", type=_cases, metavar="BEFORE,AFTER", help="e.g. 2000,20000")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else DEFAULT
    if args.memory_cases:
        sizes = replace(sizes, memory_cases=args.memory_cases)
    if args.profile:
        profile(sizes)
        return
    result = run(sizes, None if args.no_postgres else args.postgres)
    print(json.dumps(result, ensure_ascii=False) if args.json else render_table(result))


if __name__ == "__main__":
    main()
