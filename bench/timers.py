"""What a due timer costs on the way to its committed trigger, and what a claim costs as the table grows.

``python -m bench.timers [--json] [--quick] [--postgres URL] [--redis URL]`` reports:

- ``e2e_timers_per_s``: timers fired per second, from the instant they fall due to the commit of their
  trigger (last audit entry; its notice is written in the same transaction), by ``motcua worker --processes 1``
  (default settings: batches of 50 timers a message) on PostgreSQL + Redis. The dossiers are received through
  the desk in 2024, their timers re-dated so that they all fall due together once the worker is warm (a few
  warm-up dossiers fire first), in their order (warning, overdue mark, escalation: a case's timers are handed
  out one at a time). The notices those timers release are delivered by the same worker meanwhile, as in
  production; ``e2e_delivered_per_s`` counts until the last of them is marked delivered too (seen by polling
  every 20 ms).
- ``noop_messages_per_s``: the floor, measured in the same run: one dramatiq worker process on the same
  Redis with the same threads draining messages to an actor that does nothing (no I/O at all).
- ``e2e_ratio`` = ``e2e_timers_per_s`` ÷ the floor (target >= 0.5); ``e2e_delivered_ratio`` the same with the
  notices delivered.
- ``burst_*``: 20,000 timers due at the same instant across 500 dossiers (40 escalations each, written by SQL
  on dossiers the engine took past their appointment), drained — fired and their notices delivered — by one
  ``motcua worker --processes 1``: seconds from the worker's start, timers per second, exactly once (by SQL).
- ``claim_ms``: ``claim_due`` with the default batch (500) on 10,000 and 1,000,000 armed timers (all
  but a few due next month; the cases and timers seeded by ``INSERT … SELECT … generate_series``),
  median of several claims, with the ``EXPLAIN`` line that shows the claim's index; ``claim_growth``
  = ms(large) / ms(small) stays near 1 (target <= 2).

A missed target is reported as missed. A private ``redis-server`` is started when ``--redis`` is not given.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import metadata
from multiprocessing.synchronize import Event as ProcessEvent
from pathlib import Path
from typing import Any, Final

import dramatiq
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from bench._util import describe_machine, median
from motcua.adapters.bootstrap import open_motcua
from motcua.adapters.sql.migrate import upgrade
from motcua.adapters.sql.store import SqlStore
from motcua.workers.broker import redis_broker
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.model import Actor

__all__ = ["DEFAULT", "QUICK", "TARGETS", "Sizes", "main", "render_table", "run"]

DEFAULT_POSTGRES: Final = "postgresql://root@127.0.0.1:5432/test"
RECEIVED_AT: Final = datetime(2024, 3, 4, 8, 0, tzinfo=VN_TZ)
PROCEDURE: Final = "1.004873"
OFFICER: Final = Actor.of("Nguyễn Thị Lan", "officer")
CLAIM_BATCH: Final = 500  # the dispatcher's default batch
WARMUP_DOSSIERS: Final = 3
NOOP_QUEUE: Final = "bench-noop"
CLAIM_INDEX: Final = "ix_timer_armed_due_at"
RUN_TIMEOUT_S: Final = 900.0
TARGETS: dict[str, tuple[str, float]] = {"e2e_ratio": (">=", 0.5), "claim_growth": ("<=", 2.0)}
PAST_APPOINTMENT: Final = datetime(2024, 3, 7, 9, 0, tzinfo=VN_TZ)  # after the overdue mark, before escalations
BURST_AT: Final = datetime(2024, 3, 8, 8, 0, tzinfo=VN_TZ)


@dataclass(frozen=True, slots=True)
class Sizes:
    dossiers: int  # timed dossiers (three timers each)
    noop_messages: int
    claim_tables: tuple[int, int]  # armed timers in the small and the large claim measurement
    claim_due: int  # of which due now
    claim_repeats: int
    threads: int  # worker threads, the same for the worker and the no-op floor
    burst: tuple[int, int] = (500, 40)  # dossiers, timers each, all due at one instant


DEFAULT = Sizes(1000, 5000, (10_000, 1_000_000), claim_due=20, claim_repeats=15, threads=8)
QUICK = Sizes(10, 300, (1_000, 10_000), claim_due=5, claim_repeats=5, threads=8, burst=(20, 10))


# -- services ----------------------------------------------------------------------------------


@contextlib.contextmanager
def _scratch_database(admin_url: str, purpose: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one measurement, dropped afterwards; yields its URL."""
    name = f"bench_timers_{purpose}_{os.getpid()}_{datetime.now(UTC):%H%M%S%f}"
    with psycopg.connect(_libpq(admin_url), autocommit=True, connect_timeout=5) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(_libpq(admin_url), autocommit=True, connect_timeout=5) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.contextmanager
def _redis(url: str | None) -> Iterator[str]:
    """``url``, or a private ``redis-server`` on a free port (no persistence), stopped afterwards."""
    if url is not None:
        yield url
        return
    binary = os.environ.get("MOTCUA_TEST_REDIS_SERVER") or shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("no redis-server on the PATH: pass --redis redis://host:port/db")
    port = _free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        url = f"redis://127.0.0.1:{port}/0"
        _wait(lambda: _redis_answers(url), 10, "redis-server did not start")
        yield url
    finally:
        _kill_group(server)


def _redis_answers(url: str) -> bool:
    broker = redis_broker(url)
    try:
        return bool(broker.client.ping())
    except Exception:  # not up yet
        return False
    finally:
        broker.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def _wait(condition: Callable[[], bool], timeout: float, failure: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(failure)
        time.sleep(interval)


# -- (a) end to end, and the no-op floor -------------------------------------------------------


def _receive(url: str, codes: Sequence[str]) -> None:
    app = open_motcua(url, clock=ManualClock(RECEIVED_AT), observers=[])

    def receive(code: str) -> None:
        app.desk.receive(PROCEDURE, "direct", Applicant(f"Người nộp {code}"), OFFICER, code=code)

    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(receive, codes))
    finally:
        app.close()


_REDATE = """
UPDATE timer SET due_at = %(at)s + CASE name WHEN 'due_soon' THEN interval '0'
                                          WHEN 'overdue' THEN interval '1 millisecond'
                                          ELSE interval '2 milliseconds' END
WHERE case_code LIKE 'TIMED-%%'
"""
_SETTLED = "SELECT count(*) FROM timer WHERE case_code LIKE %(prefix)s"
_FIRED = ("SELECT count(*), count(DISTINCT (case_code, \"trigger\")), max(occurred_at), min(occurred_at)"
          " FROM audit_entry WHERE actor = 'motcua' AND case_code LIKE 'TIMED-%'")


def _scalar(url: str, query: str, params: Mapping[str, object] | None = None) -> Any:
    with psycopg.connect(_libpq(url), autocommit=True) as connection:
        row = connection.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def _left(url: str, prefix: str) -> int:
    """Timer rows left on the cases whose code is LIKE ``prefix``."""
    return int(_scalar(url, _SETTLED, {"prefix": prefix}))


def _prepare(url: str, sizes: Sizes) -> None:
    """Receive the timed and the warm-up dossiers; the timed ones' timers wait a century, receipts count as sent."""
    _receive(url, [f"TIMED-{n:05d}" for n in range(sizes.dossiers)] + [f"WARM-{n}" for n in range(WARMUP_DOSSIERS)])
    with psycopg.connect(_libpq(url), autocommit=True) as connection:
        connection.execute("UPDATE outbox SET status = 'delivered', attempts = 1 WHERE kind = 'form'")
        connection.execute("UPDATE timer SET due_at = due_at + interval '100 years' WHERE case_code LIKE 'TIMED-%'")
        connection.execute("ANALYZE")


@contextlib.contextmanager
def _worker(
    database: str, broker: str, threads: int, log: Path, batch_size: int | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """``motcua worker --processes 1`` (defaults otherwise), in its own process group, killed afterwards."""
    command = [sys.executable, "-m", "motcua.entrypoints.cli", "worker", "--db", database, "--broker", broker,
               "--processes", "1", "--threads", str(threads)]
    if batch_size is not None:
        command += ["--batch-size", str(batch_size)]
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield process
        finally:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(20)
            _kill_group(process)


_OPEN_WORK = """SELECT (SELECT count(*) FROM timer WHERE case_code LIKE %(prefix)s)
                     + (SELECT count(*) FROM outbox WHERE status <> 'delivered' AND case_code LIKE %(prefix)s)"""


@contextlib.contextmanager
def _drained(url: str, prefix: str) -> Iterator[Callable[[], bool]]:
    """A check, on one connection held open: no timer left and no effect undelivered on the cases LIKE ``prefix``."""
    with psycopg.connect(_libpq(url), autocommit=True) as connection:
        def drained() -> bool:
            row = connection.execute(_OPEN_WORK, {"prefix": prefix}).fetchone()
            return row is not None and int(row[0]) == 0

        yield drained


def measure_end_to_end(admin_url: str, broker: str, sizes: Sizes, batch_size: int | None = None) -> dict[str, object]:
    with _scratch_database(admin_url, "e2e") as url, tempfile.TemporaryDirectory(prefix="bench-timers-") as folder:
        _prepare(url, sizes)
        log = Path(folder) / "worker.log"
        with _worker(url, broker, sizes.threads, log, batch_size) as process:
            try:
                _wait(lambda: _left(url, "WARM-%") == 0, RUN_TIMEOUT_S, "warm-up timed out", 0.2)
                due = datetime.now(UTC)
                with psycopg.connect(_libpq(url), autocommit=True) as connection:
                    connection.execute(_REDATE, {"at": due})
                with _drained(url, "TIMED-%") as drained:
                    _wait(drained, RUN_TIMEOUT_S, "run timed out", 0.02)
                delivered = datetime.now(UTC)
            except TimeoutError:
                print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
                raise
            exit_code = process.poll()
        with psycopg.connect(_libpq(url), autocommit=True) as connection:
            row = connection.execute(_FIRED).fetchone()
    assert row is not None
    entries, distinct, last, first = int(row[0]), int(row[1]), row[2], row[3]
    seconds, with_notices = (last - due).total_seconds(), (delivered - due).total_seconds()
    return {"e2e_timers": entries, "e2e_exactly_once": entries == distinct == 3 * sizes.dossiers,
            "e2e_seconds": seconds, "e2e_timers_per_s": entries / seconds,
            "e2e_first_fired_s": (first - due).total_seconds(),  # the dispatcher's wake-up, then the first batch
            "e2e_delivered_seconds": with_notices, "e2e_delivered_per_s": entries / with_notices,
            "e2e_worker_alive": exit_code is None}


_BURST = """
INSERT INTO timer (case_code, name, "trigger", due_at, data, status, generation, claimed_until)
SELECT c.code, 'burst-' || lpad(n::text, 3, '0'), 'escalate', %(at)s, '{"step": 1}', 'armed',
       1000000000 + row_number() OVER (ORDER BY c.code, n), NULL
FROM "case" c CROSS JOIN generate_series(1, %(per)s) n WHERE c.code LIKE 'BURST-%%'
"""
_BURST_FIRED = """SELECT count(*), count(DISTINCT (case_code, data->>'step', position)),
                         (SELECT count(*) FROM outbox WHERE kind = 'notify' AND status = 'delivered' AND attempts = 1
                          AND payload->>'event' = 'escalation')
                  FROM audit_entry WHERE actor = 'motcua' AND "trigger" = 'escalate'"""


def _past_the_appointment(url: str, dossiers: int) -> None:
    """Receive the burst's dossiers and take them past their appointment through the engine (warning, overdue
    mark); then every timer row goes, what was released counts as delivered, and the burst's timers are written."""
    codes = [f"BURST-{n:04d}" for n in range(dossiers)]
    _receive(url, codes)
    clock = ManualClock(PAST_APPOINTMENT)
    app = open_motcua(url, clock=clock, observers=[])
    try:
        for _ in range(2):  # a case's timers are claimed one at a time: the warning, then the overdue mark
            claimed = app.store.claim_due(clock.now(), dossiers, timedelta(minutes=5))
            for start in range(0, len(claimed), 50):
                app.service.fire_timers(claimed[start:start + 50], app.store)
    finally:
        app.close()


def measure_burst(admin_url: str, broker: str, sizes: Sizes, batch_size: int | None = None) -> dict[str, object]:
    dossiers, each = sizes.burst
    with _scratch_database(admin_url, "burst") as url, tempfile.TemporaryDirectory(prefix="bench-burst-") as folder:
        _past_the_appointment(url, dossiers)
        with psycopg.connect(_libpq(url), autocommit=True) as connection:
            connection.execute("DELETE FROM timer")
            connection.execute("UPDATE outbox SET status = 'delivered', attempts = 1")
            connection.execute(_BURST, {"at": BURST_AT, "per": each})
            connection.execute("ANALYZE")
        log = Path(folder) / "worker.log"
        started = time.perf_counter()
        with _worker(url, broker, sizes.threads, log, batch_size):
            try:
                with _drained(url, "BURST-%") as drained:
                    _wait(drained, RUN_TIMEOUT_S, "burst timed out", 0.05)
            except TimeoutError:
                print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
                raise
            seconds = time.perf_counter() - started
        with psycopg.connect(_libpq(url), autocommit=True) as connection:
            row = connection.execute(_BURST_FIRED).fetchone()
    assert row is not None
    total = dossiers * each
    return {"burst_timers": total, "burst_seconds": seconds, "burst_timers_per_s": total / seconds,
            "burst_exactly_once": tuple(int(value) for value in row) == (total, total, total)}


def _noop_actor(broker: dramatiq.Broker) -> dramatiq.Actor[..., None]:
    def noop(message: dict[str, Any]) -> None:
        """Does nothing: what remains is dramatiq and Redis."""

    declare = dramatiq.actor(actor_name="bench.noop", queue_name=NOOP_QUEUE, broker=broker)
    return declare(noop)


def _noop_worker(url: str, threads: int, ready: ProcessEvent, go: ProcessEvent, stop: ProcessEvent) -> None:
    """The floor's worker process: the same dramatiq worker as ``motcua worker``'s, with a no-op actor."""
    broker = redis_broker(url)
    _noop_actor(broker)
    ready.set()
    go.wait()
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=100)
    worker.start()
    stop.wait()
    worker.stop(timeout=10_000)
    broker.close()


def measure_noop(broker_url: str, sizes: Sizes) -> dict[str, object]:
    """Fill the queue with no-op messages, then let one worker process drain it: messages per second."""
    context = multiprocessing.get_context("spawn")
    ready, go, stop = context.Event(), context.Event(), context.Event()
    process = context.Process(target=_noop_worker, args=(broker_url, sizes.threads, ready, go, stop), daemon=True)
    broker = redis_broker(broker_url)
    actor = _noop_actor(broker)
    payload = {"case_code": "NOOP", "name": "due_soon", "trigger": "mark_due_soon",
               "due_at": RECEIVED_AT.isoformat(), "data": {}, "generation": 1}
    try:
        process.start()
        for _ in range(sizes.noop_messages):
            actor.send(payload)
        if not ready.wait(RUN_TIMEOUT_S):
            raise TimeoutError("the no-op worker process did not start")
        started = time.perf_counter()
        go.set()
        _wait(lambda: int(broker.do_qsize(NOOP_QUEUE)) == 0, RUN_TIMEOUT_S, "no-op drain timed out", 0.005)
        seconds = time.perf_counter() - started
    finally:
        stop.set()
        process.join(20)
        if process.is_alive():
            process.kill()
        broker.close()
    return {"noop_messages": sizes.noop_messages, "noop_seconds": seconds,
            "noop_messages_per_s": sizes.noop_messages / seconds}


# -- (b) claims as the table grows -------------------------------------------------------------


def _columns(connection: psycopg.Connection[Any], table: str) -> list[str]:
    query = ("SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
             " AND table_name = %s ORDER BY ordinal_position")
    return [str(row[0]) for row in connection.execute(query, (table,))]


def _add_armed(url: str, first: int, last: int, due: int) -> None:
    """Cases ``first``…``last`` (copies of the seeded dossier's row) with one armed timer each; the first
    ``due`` of them due an hour ago, the rest due next month, one second apart."""
    with psycopg.connect(_libpq(url), autocommit=True) as connection:
        columns = _columns(connection, "case")
        values = [sql.SQL("'BULK-' || lpad(g::text, 8, '0')") if name == "code" else sql.Identifier(name)
                  for name in columns]
        connection.execute(sql.SQL(
            'INSERT INTO "case" ({}) SELECT {} FROM "case" s'
            " CROSS JOIN generate_series(%(first)s::bigint, %(last)s::bigint) g WHERE s.code = 'SEED'"
        ).format(sql.SQL(", ").join(map(sql.Identifier, columns)), sql.SQL(", ").join(values)),
            {"first": first, "last": last})
        connection.execute(
            "INSERT INTO timer (case_code, name, \"trigger\", due_at, data, status, generation, claimed_until)"
            " SELECT 'BULK-' || lpad(g::text, 8, '0'), 'overdue', 'mark_overdue',"
            "   CASE WHEN g <= %(due)s::bigint THEN now() - interval '1 hour'"
            "        ELSE now() + interval '30 days' + g * interval '1 second' END,"
            "   '{}', 'armed', 1000000000 + g, NULL FROM generate_series(%(first)s::bigint, %(last)s::bigint) g",
            {"first": first, "last": last, "due": due})
        connection.execute("ANALYZE")


def _plan(store: SqlStore) -> list[str]:
    """PostgreSQL's plan of one real claim: the store's own statement, with the parameters it binds."""
    now = datetime.now(UTC)
    parameters = {"now": now, "until": now + timedelta(microseconds=1)}
    with store.engine.connect() as connection:
        rows = connection.exec_driver_sql(f"EXPLAIN {store.queries.claim_due(CLAIM_BATCH)}", parameters).all()
        connection.rollback()
    return [str(row[0]) for row in rows]


def _claim_ms(url: str, repeats: int) -> tuple[float, int, list[str]]:
    """Median ms of ``claim_due(now, 500, lease=1 µs)`` (each claim takes the same due timers again)."""
    with SqlStore.from_url(url) as store:
        samples, claimed = [], 0
        for turn in range(repeats + 1):  # the first claim warms the pool and the caches
            started = time.perf_counter()
            claimed = len(store.claim_due(datetime.now(UTC), CLAIM_BATCH, timedelta(microseconds=1)))
            if turn:
                samples.append((time.perf_counter() - started) * 1e3)
        return median(samples), claimed, _plan(store)


def measure_claims(admin_url: str, sizes: Sizes) -> dict[str, object]:
    small, large = sizes.claim_tables
    result: dict[str, object] = {}
    with _scratch_database(admin_url, "claims") as url:
        _receive(url, ["SEED"])  # a real dossier: its row is the one copied, its first timer one more due
        _add_armed(url, 1, small, sizes.claim_due)
        for size, first in ((small, None), (large, small + 1)):
            if first is not None:
                _add_armed(url, first, large, 0)
            ms, claimed, plan = _claim_ms(url, sizes.claim_repeats)
            index_lines = [line.strip() for line in plan if CLAIM_INDEX in line]
            result[str(size)] = {"armed": size + 3, "claimed": claimed, "claim_ms": ms,
                                 "index_line": index_lines[0] if index_lines else None, "plan": plan}
    small_ms, large_ms = (_ms(result[str(size)]) for size in (small, large))
    return {"claims": result, "claim_small_ms": small_ms, "claim_large_ms": large_ms,
            "claim_growth": large_ms / small_ms,
            "claim_uses_index": all(_index_line(result[str(size)]) for size in (small, large))}


def _ms(entry: object) -> float:
    assert isinstance(entry, dict)
    return float(entry["claim_ms"])


def _index_line(entry: object) -> bool:
    assert isinstance(entry, dict)
    return entry["index_line"] is not None


# -- the run -----------------------------------------------------------------------------------


def _versions(admin_url: str, broker: str) -> dict[str, str]:
    packages = ("dramatiq", "redis", "psycopg", "sqlalchemy")
    found = {name: metadata.version(name) for name in packages}
    with psycopg.connect(_libpq(admin_url), autocommit=True) as connection:
        row = connection.execute("SHOW server_version").fetchone()
        found["postgresql"] = str(row[0]) if row else "?"
    client = redis_broker(broker)
    try:
        found["redis-server"] = str(client.client.info("server").get("redis_version"))
    finally:
        client.close()
    return found


def _checks(result: Mapping[str, object]) -> dict[str, dict[str, object]]:
    checks: dict[str, dict[str, object]] = {}
    for key, (operator, bound) in TARGETS.items():
        value = result.get(key)
        met = None
        if isinstance(value, float | int):
            met = value >= bound if operator == ">=" else value <= bound
        checks[key] = {"value": value, "target": f"{operator} {bound:g}", "met": met}
    checks["claim_uses_index"] = {"value": result.get("claim_uses_index"), "target": "true",
                                  "met": result.get("claim_uses_index") is True}
    return checks


def run(
    sizes: Sizes = DEFAULT, postgres: str = DEFAULT_POSTGRES, redis_url: str | None = None,
    batch_size: int | None = None,
) -> dict[str, object]:
    """Every measurement, as one JSON-ready dictionary."""
    result: dict[str, object] = {"sizes": {"dossiers": sizes.dossiers, "timers": 3 * sizes.dossiers,
                                           "noop_messages": sizes.noop_messages, "threads": sizes.threads,
                                           "claim_tables": list(sizes.claim_tables), "claim_batch": CLAIM_BATCH,
                                           "burst": list(sizes.burst), "batch_size": batch_size or "default"}}
    with _redis(redis_url) as broker:
        result |= measure_noop(broker, sizes)
        result |= measure_end_to_end(postgres, broker, sizes, batch_size)
        result |= measure_burst(postgres, broker, sizes, batch_size)
        versions = _versions(postgres, broker)
    noop = result["noop_messages_per_s"]
    e2e, delivered = result["e2e_timers_per_s"], result["e2e_delivered_per_s"]
    assert isinstance(noop, float) and isinstance(e2e, float) and isinstance(delivered, float)
    result["e2e_ratio"] = e2e / noop
    result["e2e_delivered_ratio"] = delivered / noop
    result |= measure_claims(postgres, sizes)
    result["checks"] = _checks(result)
    redis = "private redis-server" if redis_url is None else "given"
    result["machine"] = describe_machine() | {"versions": versions, "redis": redis}
    result["notes"] = [
        "e2e: one `motcua worker --processes 1`, default lease/poll/batch size; the notices the timers release are"
        " delivered by the same worker during the measured window (e2e_delivered_*: until the last is delivered)",
        "burst: 20,000 timers due at one instant on 500 dossiers, drained (fired, notices delivered) by one"
        " `motcua worker --processes 1`, timed from its start (process start-up included)",
        "floor: the same dramatiq worker (threads, Redis) draining messages to a no-op actor, queue filled first",
        "claims: claim_due(now, 500, lease=1 µs) on a database seeded by INSERT … SELECT generate_series, ANALYZEd",
    ]
    return result


def _number(value: object, spec: str, unit: str = "") -> str:
    return f"{value:{spec}}{unit}" if isinstance(value, float | int) and not isinstance(value, bool) else "n/a"


def render_table(result: Mapping[str, Any]) -> str:
    small, large = result["sizes"]["claim_tables"]
    claims = result["claims"]
    lines = [
        f"end to end (1 worker process): {_number(result['e2e_timers_per_s'], '.0f', ' timers/s')}"
        f" ({result['e2e_timers']} timers in {_number(result['e2e_seconds'], '.1f', ' s')},"
        f" exactly once: {result['e2e_exactly_once']})",
        f"  with the notices delivered:  {_number(result['e2e_delivered_per_s'], '.0f', ' timers/s')}"
        f" ({_number(result['e2e_delivered_seconds'], '.1f', ' s')})",
        f"no-op dramatiq floor:          {_number(result['noop_messages_per_s'], '.0f', ' messages/s')}",
        f"ratio:                         {_number(result['e2e_ratio'], '.3f')}"
        f" (notices delivered: {_number(result['e2e_delivered_ratio'], '.3f')})",
        f"burst of {result['burst_timers']:,} timers:     {_number(result['burst_seconds'], '.1f', ' s')}"
        f" ({_number(result['burst_timers_per_s'], '.0f', ' timers/s')}, exactly once: {result['burst_exactly_once']})",
        f"claim, {small:>9,} armed:     {_number(result['claim_small_ms'], '.2f', ' ms')}",
        f"claim, {large:>9,} armed:     {_number(result['claim_large_ms'], '.2f', ' ms')}"
        f"  (growth {_number(result['claim_growth'], '.2f')})",
        f"plan: {claims[str(large)]['index_line']}",
        "",
    ]
    for key, check in result["checks"].items():
        met = {True: "yes", False: "NO", None: "n/a"}[check["met"]]
        lines.append(f"{key}: {_number(check['value'], '.3g') if key != 'claim_uses_index' else check['value']}"
                     f" (target {check['target']}): {met}")
    lines += ["", f"machine: {json.dumps(result['machine'], ensure_ascii=False)}",
              *(f"note: {note}" for note in result["notes"])]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.timers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke tests, CI)")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="server URL; scratch databases are created on it")
    parser.add_argument("--redis", default=None, help="broker URL (default: a private redis-server on a free port)")
    parser.add_argument("--batch-size", type=int, default=None, help="the worker's --batch-size (default: its own)")
    args = parser.parse_args(argv)
    result = run(QUICK if args.quick else DEFAULT, args.postgres, args.redis, args.batch_size)
    print(json.dumps(result, ensure_ascii=False) if args.json else render_table(result))


if __name__ == "__main__":
    main()
