"""Fixtures of the reliability tests: seeded PostgreSQL databases, a private Redis, ``motcua worker`` commands.

The 10,000-timer scenarios share one template database, seeded once per module through the real
desk (3,334 dossiers received in 2024 by several threads, so each arms its warning, overdue and
first escalation timers: 10,002 timers, all due for a worker on today's clock; their receipts count
as delivered), then analysed; every scenario runs on its own copy (``CREATE DATABASE … TEMPLATE``),
dropped afterwards.
Every subprocess runs in its own process group, killed with SIGKILL when the test ends, pass or fail.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from motcua.adapters.bootstrap import open_motcua
from motcua.adapters.sql.migrate import upgrade
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.model import Actor
from tests import services
from tests.reliability.harness import RedisServer, WorkerCommand, free_port

RECEIVED_AT = datetime(2024, 3, 4, 8, 0, tzinfo=VN_TZ)  # a Monday: every deadline fell in March 2024
PROCEDURE = "1.004873"  # xác nhận tình trạng hôn nhân: 3 working days
OFFICER = Actor.of("Nguyễn Thị Lan", "officer")
DOSSIERS = 3334  # × 3 timers = 10,002 due timers
SEED_THREADS = 8
# the workers of every scenario: a short lease, so lost messages come back within seconds
WORKER_OPTIONS = ("--threads", "4", "--lease-seconds", "5", "--poll-seconds", "0.2", "--max-in-flight", "200")


@dataclass(frozen=True)
class Seeded:
    template: str
    codes: tuple[str, ...]
    seconds: float


def receive_dossiers(url: str, codes: Sequence[str], at: datetime = RECEIVED_AT, threads: int = SEED_THREADS) -> None:
    """Receive one dossier per code at ``at`` through the desk (the real engine and store), on ``threads``."""
    app = open_motcua(url, clock=ManualClock(at), observers=[])

    def receive(code: str) -> None:
        app.desk.receive(PROCEDURE, "direct", Applicant(f"Người nộp {code}"), OFFICER, code=code)

    try:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(receive, codes))
    finally:
        app.close()


def settle_receipts(url: str) -> None:
    """The receipts of the seeded dossiers count as handed out long ago: the runs deliver only what the
    timers produce (the outbox rows stay, marked delivered, as a delivered effect's are)."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("UPDATE outbox SET status = 'delivered', attempts = 1 WHERE kind = 'form'")


def analyze(url: str) -> None:
    """Fresh planner statistics, as autovacuum would soon give a production database after a bulk load."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("ANALYZE")


@pytest.fixture(scope="module")
def seeded() -> Iterator[Seeded]:
    services.require_postgres()
    with services.postgres_database() as name:
        url = services.postgres_url(name)
        upgrade(url)
        codes = tuple(f"TIMERS-{n:05d}" for n in range(DOSSIERS))
        started = time.monotonic()
        receive_dossiers(url, codes)
        settle_receipts(url)
        analyze(url)
        seconds = time.monotonic() - started
        print(f"\nseeded {len(codes)} dossiers ({3 * len(codes)} timers) in {seconds:.1f}s")
        yield Seeded(name, codes, seconds)


@pytest.fixture
def copy_of_seeded(seeded: Seeded) -> Iterator[str]:
    """The URL of a fresh copy of the seeded database."""
    with services.postgres_database(template=seeded.template) as name:
        yield services.postgres_url(name)


@pytest.fixture
def empty_database() -> Iterator[str]:
    """The URL of a fresh, migrated database."""
    services.require_postgres()
    with services.postgres_database() as name:
        url = services.postgres_url(name)
        upgrade(url)
        yield url


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private Redis on a free port (the shared one is never killed)."""
    server = RedisServer(services.require_redis_server(), free_port(), tmp_path / "redis.log")
    server.start()
    try:
        yield server
    finally:
        server.kill()


Launch = Callable[..., WorkerCommand]


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Launch]:
    """Start ``motcua worker --db URL --broker URL --processes N`` (plus :data:`WORKER_OPTIONS`); every
    command started is stopped, and its process group killed, when the test ends."""
    started: list[WorkerCommand] = []

    def start(name: str, database: str, broker: str, processes: int) -> WorkerCommand:
        args = ["--db", database, "--broker", broker, "--processes", str(processes), *WORKER_OPTIONS]
        command = WorkerCommand(name, args, tmp_path / f"worker-{name}.log")
        started.append(command)
        command.start()
        return command

    yield start
    for command in started:
        try:
            command.stop(timeout=10)
        finally:
            command.kill()
