"""What a yearly Biểu 06 costs over one bare scan of the reporting projection, and how fast it catches up.

``python -m bench.reports [--json] [--quick] [--dossiers N] [--postgres URL | --no-postgres]`` reports,
on PostgreSQL (a scratch database) and SQLite (a temporary file):

- ``bieu06_ratio``: the median time of a yearly Biểu 06 for 2024 through :class:`motcua.adapters.sql.reports.SqlReports`
  (one ``GROUP BY field_code`` aggregation, Python included) over the median time of one bare
  ``SELECT field_code, COUNT(*) FROM dossier_report GROUP BY field_code`` on the same table in the same run,
  timed round-robin after a warm-up (target ≤ 2);
- ``par766_ms``: the Decision 766 counts of the same year (one aggregation);
- ``catch_up_entries_per_s``: audit entries folded per second by ``rebuild()`` (catch-up from position 0),
  after a few thousand real dossiers were driven through the engine into a separate database.

The projection rows are generated directly (``COPY`` on PostgreSQL, one ``executemany`` transaction on
SQLite): N dossiers received over 2023–2024 in the fields of the catalogue, through all three channels,
5 % paused at the time of the report, some late, some withdrawn or stopped, some never accepted.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.engine import Engine, make_url

from bench._util import describe_machine, median
from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.adapters.sql.driver import Driver
from motcua.adapters.sql.migrate import upgrade
from motcua.adapters.sql.report_queries import ReportQueries
from motcua.adapters.sql.report_tables import OPEN, DossierPauseRow, DossierReportRow
from motcua.adapters.sql.reports import SqlReports
from motcua.adapters.sql.tables import table_of
from motcua.definitions.catalogue import load_procedures
from motcua.workflow.dossiers.catalogue import CHANNELS, Channel, Procedure
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.compiled import WorkflowSet
from motcua.workflow.engine.model import Actor, JsonValue
from motcua.workflow.reports.projection import Bieu06, DossierFacts, bieu06, fold

__all__ = ["DEFAULT", "QUICK", "TARGETS", "Sizes", "main", "render_table", "run"]

DEFAULT_POSTGRES = "postgresql://root@127.0.0.1:5432/test"
YEAR = (date(2024, 1, 1), date(2024, 12, 31))
FIRST_DAY, LAST_DAY = date(2023, 1, 1), date(2024, 12, 31)
TARGETS: dict[str, tuple[str, float]] = {"bieu06_ratio": ("<=", 2.0)}
REPORT = table_of(DossierReportRow)
PAUSE = table_of(DossierPauseRow)
BARE_SCAN = "SELECT field_code, COUNT(*) FROM dossier_report GROUP BY field_code"
CHUNK = 20_000
EVERYONE = Actor.of("Nguyễn Thị Lan", "officer", "specialist", "leader", "applicant")


@dataclass(frozen=True, slots=True)
class Sizes:
    dossiers: int  # generated projection rows
    seeded: int  # dossiers driven through the engine for the catch-up rate
    repeats: int  # timed runs of each query (after one warm-up)


DEFAULT = Sizes(1_000_000, 2000, repeats=7)
QUICK = Sizes(3000, 20, repeats=3)


# -- generated projection rows -------------------------------------------------------------------

_FIELD_WEIGHTS = {"HT": 55, "CT": 25, "BTXH": 10, "DD": 5, "HGCS": 5}
_STATUS_ENDED = (10, 10, 10, 10, 10, 10, 9, 9, 7, 8)


_PauseRow = tuple[str, int, date, date]  # code, seq, start_on, end_on (OPEN while paused)


@dataclass(frozen=True, slots=True)
class _Generated:
    report: tuple[Any, ...]  # in the column order of dossier_report
    pauses: tuple[_PauseRow, ...]


@dataclass(frozen=True, slots=True)
class _Kind:
    """What a generated dossier takes from its procedure."""

    code: str
    field_code: str
    field_name: str
    fee: int
    fee_known: bool
    paper_result: bool
    allowed: timedelta


_VN = timezone(timedelta(hours=7))  # Asia/Ho_Chi_Minh has kept UTC+7 since 1975: a fixed offset is exact here
_NAMES = tuple(column.name for column in REPORT.c)
_RATINGS = (None,) * 70 + (5,) * 18 + (4,) * 7 + (3,) * 3 + (2, 1)


class _Generator:
    """Deterministic dossiers spread over 2023–2024 (weekdays, office hours), in code order."""

    def __init__(self, seed: int = 2024) -> None:
        self.random = random.Random(seed)
        self.catalogue = load_procedures()
        procedures = list(self.catalogue)
        kinds = [_Kind(p.code, p.field_code, p.field_name, p.fee, p.fees[-1].known, p.paper_result, _allowed(p))
                 for p in procedures]
        weights = [_FIELD_WEIGHTS.get(p.field_code, 5) / len(_by_field(procedures, p.field_code))
                   for p in procedures]
        total = sum(weights)
        self.kinds = kinds
        self.cumulative = list(itertools.accumulate(weight / total for weight in weights))

    def rows(self, count: int) -> Iterator[_Generated]:
        days = [FIRST_DAY + timedelta(days=n) for n in range((LAST_DAY - FIRST_DAY).days + 1)]
        workdays = [day for day in days if day.weekday() < 5]  # Saturday is 5
        per_day = [count // len(workdays) + (1 if i < count % len(workdays) else 0) for i in range(len(workdays))]
        position = 0
        for day, number in zip(workdays, per_day, strict=True):
            prefix = f"000.00.00.H23-{day:%y%m%d}-"
            midnight = datetime(day.year, day.month, day.day, tzinfo=_VN)
            for sequence in range(1, number + 1):
                position += 1
                yield self._dossier(f"{prefix}{sequence:04d}", midnight, position)

    def _dossier(self, code: str, midnight: datetime, position: int) -> _Generated:
        r = self.random.random
        kind = self.kinds[min(bisect.bisect(self.cumulative, r()), len(self.kinds) - 1)]
        received = midnight + timedelta(minutes=7 * 60 + int(r() * 600))
        channel = 1 if (roll := r()) < 0.55 else 2 if roll < 0.90 else 3  # 55 % direct, 35 % online, 10 % post
        state, ended, pauses = self._outcome(code, received, kind.allowed)
        paused = sum((p[3] - p[2] for p in pauses if p[3] != OPEN), timedelta())
        if state in (1, 3):
            instants: tuple[datetime | None, ...] = (None, received if state == 3 else None, None)
        else:
            instants = (received, ended, received + kind.allowed + paused)
        return _Generated(self._row(code, kind, (channel, state, position), instants), tuple(pauses))

    def _outcome(self, code: str, received: datetime, allowed: timedelta) -> tuple[
            int, datetime | None, list[_PauseRow]]:
        r = self.random.random
        roll = r()
        if roll < 0.03:  # never accepted
            return (1 if r() < 0.5 else 3), None, []
        start = (received + allowed * r()).date()
        if roll < 0.08:  # paused now: waiting for a supplement or a fee
            return (5 if r() < 0.5 else 6), None, [(code, 1, start, OPEN)]
        pauses: list[_PauseRow] = [(code, 1, start, start + timedelta(days=1 + int(r() * 10)))] if roll < 0.13 else []
        pause = sum((p[3] - p[2] for p in pauses), timedelta())
        if received.date() > LAST_DAY - timedelta(days=12) and r() < 0.6:
            return 4, None, pauses  # still in progress at the end of 2024
        if r() < 0.01:
            return 4, None, pauses  # forgotten: overdue and never resolved
        late = r() < 0.08
        spent = allowed + timedelta(days=1 + int(r() * 20)) if late else allowed * (0.2 + 0.8 * r())
        return _STATUS_ENDED[int(r() * len(_STATUS_ENDED))], received + spent + pause, pauses

    def _row(self, code: str, kind: _Kind, numbers: tuple[int, int, int],
             instants: tuple[datetime | None, ...]) -> tuple[Any, ...]:
        r = self.random.random
        channel, state, position = numbers
        received, ended, appointment = instants
        resolved = ended is not None and state not in (1, 3)
        late = resolved and appointment is not None and ended is not None and ended.date() > appointment.date()
        handovers = 1 + int(r() * 3) if resolved else 0
        values: dict[str, Any] = {
            "code": code, "procedure": kind.code, "field_code": kind.field_code, "field_name": kind.field_name,
            "channel": channel, "status": state, "received_at": received, "ended_at": ended,
            "appointment": appointment, "received_on": received and received.date(),
            "ended_on": ended.date() if ended else OPEN, "appointment_on": appointment and appointment.date(),
            "paper_result": kind.paper_result, "electronic_result": resolved and r() < 0.6,
            "digitized": r() < 0.7, "handovers": handovers,
            "electronic_handovers": handovers if r() < 0.8 else 0, "fee": kind.fee,
            "fee_known": kind.fee_known, "paid_online": kind.fee > 0 and r() < 0.4,
            "rating": _RATINGS[int(r() * len(_RATINGS))] if resolved else None,
            "apologies": int(late and r() < 0.8), "apologies_in_time": int(late and r() < 0.7),
            "redated_in_time": late and r() < 0.6, "supplement_requests": int(r() < 0.05) + int(r() < 0.005),
            "imported": False, "position": position,
            "full_online_eligible": received is not None and self.catalogue.full_online_eligible(kind.code,
                                                                                                 received.date()),
            "unit": code.rsplit("-", 2)[0],  # the receiving desk decides: the unit a standalone commune records
        }
        return tuple(values[name] for name in _NAMES)


def _by_field(procedures: Sequence[Procedure], field_code: str) -> list[Procedure]:
    return [p for p in procedures if p.field_code == field_code]


def _allowed(procedure: Procedure) -> timedelta:
    """The legal time as calendar time, roughly (weekends included): enough for a realistic spread."""
    time_allowed = procedure.time_for("direct")
    if time_allowed.unit == "calendar_days":
        return timedelta(days=time_allowed.amount)
    if time_allowed.unit == "working_hours":
        return timedelta(hours=time_allowed.amount)
    return timedelta(days=time_allowed.amount * 7 / 5, hours=0 if time_allowed.amount else 6)


def _fields() -> list[tuple[str, str]]:
    return sorted({(p.field_code, p.field_name) for p in load_procedures()})


def _chunks(rows: Iterator[_Generated]) -> Iterator[list[_Generated]]:
    chunk: list[_Generated] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def load_postgres(url: str, count: int) -> float:
    """COPY ``count`` generated dossiers into the projection; VACUUM ANALYZE; seconds taken."""
    columns = sql.SQL(", ").join(sql.Identifier(column.name) for column in REPORT.c)
    start = time.perf_counter()
    with psycopg.connect(_libpq(url)) as connection:
        with connection.cursor() as cursor:
            for chunk in _chunks(_Generator().rows(count)):
                with cursor.copy(sql.SQL("COPY dossier_report ({}) FROM STDIN").format(columns)) as copy:
                    for generated in chunk:
                        copy.write_row(generated.report)
                with cursor.copy("COPY dossier_pause (code, seq, start_on, end_on) FROM STDIN") as copy:
                    for generated in chunk:
                        for pause in generated.pauses:
                            copy.write_row(pause)
            cursor.executemany("INSERT INTO report_field VALUES (%s, %s)", _fields())
        connection.commit()
    with psycopg.connect(_libpq(url), autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE dossier_report")
        connection.execute("VACUUM ANALYZE dossier_pause")
    return time.perf_counter() - start


def load_sqlite(path: Path, count: int) -> float:
    """Insert ``count`` generated dossiers in one transaction (values as SQLAlchemy stores them); ANALYZE."""
    names = [column.name for column in REPORT.c]
    insert = f"INSERT INTO dossier_report ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    start = time.perf_counter()
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        for chunk in _chunks(_Generator().rows(count)):
            connection.executemany(insert, [tuple(_sqlite(value) for value in row.report) for row in chunk])
            pauses = [tuple(_sqlite(value) for value in pause) for row in chunk for pause in row.pauses]
            connection.executemany("INSERT INTO dossier_pause VALUES (?, ?, ?, ?)", pauses)
        connection.executemany("INSERT INTO report_field VALUES (?, ?)", _fields())
        connection.execute("COMMIT")
        connection.execute("ANALYZE")
    finally:
        connection.close()
    return time.perf_counter() - start


def _sqlite(value: object) -> object:
    """A value the way the SQLite column types store it (naive UTC text, day numbers, 0/1)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, date):
        return value.toordinal()  # motcua.adapters.sql.report_tables.Day
    if isinstance(value, bool):
        return int(value)
    return value


# -- timing --------------------------------------------------------------------------------------


def _timed(run_once: Callable[[], object]) -> float:
    start = time.perf_counter()
    run_once()
    return (time.perf_counter() - start) * 1000


def time_queries(engine: Engine, reports: SqlReports, repeats: int) -> dict[str, object]:
    """Median milliseconds of the yearly report, the Decision 766 counts and the bare scan, round-robin."""

    def bare() -> object:
        with engine.connect() as connection:
            return connection.execute(sa.text(BARE_SCAN)).all()

    runs: dict[str, Callable[[], object]] = {
        "bieu06": lambda: reports.bieu06(*YEAR), "bare": bare, "par766": lambda: reports.indicator_counts(*YEAR),
    }
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for turn in range(repeats + 1):
        for name, run_once in runs.items():
            elapsed = _timed(run_once)
            if turn:  # the first turn warms the caches up
                samples[name].append(elapsed)
    report = reports.bieu06(*YEAR)
    bieu06_ms, bare_ms = median(samples["bieu06"]), median(samples["bare"])
    return {
        "bieu06_ms": bieu06_ms, "bare_scan_ms": bare_ms, "bieu06_ratio": bieu06_ms / bare_ms,
        "par766_ms": median(samples["par766"]), "year_total": report.total.total,
        "year_rows": len(report.rows), "identity_holds": _identity_holds(report),
    }


def _identity_holds(report: Bieu06) -> bool:
    return all(
        r.online + r.direct_postal + r.carried_over == r.total == r.resolved + r.pending
        for r in (*report.rows, report.total)
    )


# -- catch-up through the engine -----------------------------------------------------------------

_FLOW: tuple[tuple[str, dict[str, JsonValue]], ...] = (
    ("assign", {"assignee": "Phạm Văn Hùng", "electronic": True}),
    ("submit_for_approval", {"approver": "Lê Minh Tuấn", "electronic": True}),
    ("approve", {}),
    ("mark_result_ready", {"electronic": True}),
    ("return_result", {}),
)


def seed(app: Motcua, clock: ManualClock, dossiers: int) -> None:
    """Drive ``dossiers`` real dossiers through the engine: received, processed (one in ten paused for
    a supplement), returned; one every half hour of 2024."""
    procedures = ("1.004873", "2.001019", "1.001776", "1.000689")
    for number in range(dossiers):
        clock.set(max(clock.now(), datetime(2024, 1, 2, 7, tzinfo=VN_TZ) + timedelta(minutes=30 * number)))
        channel: Channel = CHANNELS[number % 3]
        code = app.desk.receive(procedures[number % 4], channel, Applicant("Trần Văn An"), EVERYONE).code
        for step, (trigger, data) in enumerate(_FLOW):
            clock.advance(timedelta(minutes=3))
            app.service.fire(code, trigger, EVERYONE, data)
            if step == 0 and number % 10 == 0:
                app.service.fire(code, "request_supplement", EVERYONE, {"reason": "Bản sao"})
                clock.advance(timedelta(hours=1))
                app.service.fire(code, "supplement_received", EVERYONE, {})


def _reference(app: Motcua, workflows: WorkflowSet) -> list[DossierFacts]:
    facts: dict[str, DossierFacts] = {}
    for entry in sorted(app.store.entries(), key=lambda entry: entry.position or 0):
        item = fold(facts.get(entry.case_code), entry, workflows.status_of, app.catalogue.full_online_eligible)
        if item is not None:
            facts[entry.case_code] = item
    return list(facts.values())


def time_catch_up(url: str, sizes: Sizes) -> dict[str, object]:
    clock = ManualClock(datetime(2024, 1, 2, 7, tzinfo=VN_TZ))
    app = open_motcua(url, clock=clock, observers=[])
    try:
        seed(app, clock, sizes.seeded)
        seconds = []
        for _ in range(3):
            start = time.perf_counter()
            entries = app.reports.rebuild()
            seconds.append(time.perf_counter() - start)
        matches = app.reports.bieu06(*YEAR).as_json() == bieu06(_reference(app, app.workflows), *YEAR).as_json()
    finally:
        app.close()
    best = median(seconds)
    return {"catch_up_entries": entries, "catch_up_seconds": best, "catch_up_entries_per_s": entries / best,
            "seeded_dossiers": sizes.seeded, "matches_reference": matches}


# -- one backend ---------------------------------------------------------------------------------


def measure(url: str, loaded: Callable[[], float], sizes: Sizes, catch_up_url: str) -> dict[str, object]:
    upgrade(url)
    load_seconds = loaded()
    driver = Driver.from_url(url)
    try:
        # the queries only read: no fold happens
        reports = SqlReports(driver, WorkflowSet().status_of, load_procedures().full_online_eligible)
        result: dict[str, object] = {"load_seconds": load_seconds,
                                     **time_queries(driver.engine, reports, sizes.repeats)}
        result["plan"] = _plan(driver)
    finally:
        driver.close()
    return result | time_catch_up(catch_up_url, sizes)


def _plan(driver: Driver) -> str | None:
    """PostgreSQL's plan of the yearly Biểu 06 (node types only): how the aggregation is run."""
    if driver.dialect.name != "postgresql":
        return None
    statement = ReportQueries(driver.dialect).bieu06
    period = {"start": YEAR[0], "end": YEAR[1]}
    with driver.engine.connect() as connection:
        lines = connection.exec_driver_sql(f"EXPLAIN (COSTS OFF) {statement}", period).scalars().all()
    return " / ".join(line.strip() for line in lines if "->" in line or line == lines[0])


@contextmanager
def _scratch_database(admin_url: str, purpose: str) -> Iterator[str]:
    name = f"bench_reports_{purpose}_{os.getpid()}_{datetime.now(UTC):%Y%m%d%H%M%S}"
    with psycopg.connect(_libpq(admin_url), autocommit=True, connect_timeout=5) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_libpq(admin_url), autocommit=True, connect_timeout=5) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def measure_postgres(admin_url: str, sizes: Sizes) -> dict[str, object]:
    with _scratch_database(admin_url, "load") as url, _scratch_database(admin_url, "seed") as seeded:
        return measure(url, lambda: load_postgres(url, sizes.dossiers), sizes, seeded)


def measure_sqlite(directory: Path, sizes: Sizes) -> dict[str, object]:
    path = directory / "projection.db"
    url = f"sqlite:///{path}"
    return measure(url, lambda: load_sqlite(path, sizes.dossiers), sizes, f"sqlite:///{directory / 'seeded.db'}")


def _checks(result: Mapping[str, Any]) -> dict[str, dict[str, object]]:
    checks: dict[str, dict[str, object]] = {}
    for backend in ("postgres", "sqlite"):
        figures = result.get(backend)
        for key, (operator, bound) in TARGETS.items():
            value = figures.get(key) if isinstance(figures, dict) else None
            met = None if not isinstance(value, float) else value <= bound
            checks[f"{backend}_{key}"] = {"value": value, "target": f"{operator} {bound:g}", "met": met}
    return checks


def run(sizes: Sizes = DEFAULT, postgres: str | None = DEFAULT_POSTGRES) -> dict[str, object]:
    notes = ["bieu06_ms includes the adapter's Python (its driver unit of work, rows to Bieu06); bare_scan_ms is"
             " the bare statement through the same SQLAlchemy engine, rows fetched",
             "catch-up: rebuild() from position 0, median of 3, on a separate database seeded through the engine"]
    result: dict[str, object] = {"dossiers": sizes.dossiers, "period": [YEAR[0].isoformat(), YEAR[1].isoformat()]}
    if postgres is None:
        result["postgres"] = None
        notes.append("PostgreSQL skipped (--no-postgres)")
    else:
        try:
            result["postgres"] = measure_postgres(postgres, sizes)
        except psycopg.OperationalError as error:
            result["postgres"] = None
            notes.append(f"PostgreSQL NOT REACHABLE at {make_url(postgres).render_as_string()}: {error}".strip())
    with tempfile.TemporaryDirectory(prefix="bench-reports-") as directory:
        result["sqlite"] = measure_sqlite(Path(directory), sizes)
    result["checks"] = _checks(result)
    result["machine"] = describe_machine() | {"sqlite": sqlite3.sqlite_version}
    result["notes"] = notes
    return result


# -- output --------------------------------------------------------------------------------------


def render_table(result: Mapping[str, Any]) -> str:
    first, last = result["period"]
    lines = [f"{result['dossiers']} generated dossiers, yearly Biểu 06 for {first} … {last}"]
    for backend in ("postgres", "sqlite"):
        figures = result[backend]
        if not figures:
            lines.append(f"{backend}: n/a")
            continue
        check = result["checks"][f"{backend}_bieu06_ratio"]
        lines.append(
            f"{backend}: Biểu 06 {figures['bieu06_ms']:.1f} ms / bare scan {figures['bare_scan_ms']:.1f} ms"
            f" = {figures['bieu06_ratio']:.2f} (target {check['target']}: {'met' if check['met'] else 'NOT MET'});"
            f" Decision 766 counts {figures['par766_ms']:.1f} ms; load {figures['load_seconds']:.1f} s;"
            f" catch-up {figures['catch_up_entries_per_s']:.0f} entries/s ({figures['catch_up_entries']} entries)"
        )
    lines += [f"machine: {json.dumps(result['machine'], ensure_ascii=False)}", *(f"note: {n}" for n in result["notes"])]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.reports", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke tests, CI)")
    parser.add_argument("--dossiers", type=int, help="generated projection rows (default 1 000 000)")
    parser.add_argument("--seeded", type=int, help="dossiers driven through the engine for the catch-up rate")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="server URL; scratch databases are created on it")
    parser.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL (its figures are null)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else DEFAULT
    sizes = Sizes(args.dossiers or sizes.dossiers, args.seeded or sizes.seeded, sizes.repeats)
    result = run(sizes, None if args.no_postgres else args.postgres)
    text = json.dumps(result, ensure_ascii=False, indent=2) if args.json else render_table(result)
    sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
