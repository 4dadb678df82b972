"""What the HTTP API costs over the transitions it carries, measured in one run.

``python -m bench.http [--json] [--quick] [--db URL] [--workers N]`` starts ``motcua serve --workers N`` (uvicorn,
apart from this process, no dispatcher; N = 2 by default: one process per core of the 2-vCPU machines this was
built on, as the deployment guide advises for several desks) on a scratch SQLite file (or ``--db``), and reports the
median of several repetitions of:

- ``http_events_per_s``: ``POST /dossiers/{code}/events`` answered per second, one client on one
  keep-alive connection, each request with its If-Match and API key (``assign`` from ``processing``,
  an internal transition, so the loop runs at steady state);
- ``floor_fire_per_s``: the same transitions done directly through ``CaseService.fire`` (with the
  expected version) on the same database, in this process, observed as the server observes its decisions
  (a JSON log line, the Prometheus counters): the server's own persisted transition rate;
- ``ratio`` = http ÷ floor (1.0 would be an API that costs nothing), and the same with ``clients``
  concurrent clients (``http_events_per_s_n``, ``floor_fire_per_s_n``, ``ratio_n``), each on its own dossier, the
  three crowds taking turns too (median of ``repeats`` rounds);
- ``bare_events_per_s`` (and ``_n``): the same requests answered by a bare ASGI app doing nothing but the
  transition (:mod:`bench._bare_asgi`: same uvicorn settings and number of processes, database and observers; no
  key, validation, scope or middleware; the transition on the loop or the thread pool as the server runs it),
  ``bare_ratio`` = bare ÷ floor — what HTTP in Python costs on these cores with this server — and
  ``http_over_bare`` = http ÷ bare, what motcua's API adds.

The two are timed round-robin after the same warm-up (``bench._util.round_robin``). Each client is
:class:`bench._client.KeepAlive`, on a keep-alive connection opened afresh for each timed batch — real HTTP/1.1 over
TCP, every header and the JSON body sent in one write, the status line and every header read, the body read whole by
its Content-Length, the status checked. Client and server share the machine's cores, so the client's own CPU counts
against the API; it spends about 0.13 ms a request where the standard library's ``http.client`` spent 0.3 ms and
httpx 0.4–0.9 ms (``docs/reference/benchmarks.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import structlog
from prometheus_client import CollectorRegistry

from bench._client import KeepAlive
from bench._util import Batch, describe_machine, median, round_robin, threaded_ops_per_s
from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.adapters.keys import new_key
from motcua.adapters.logging import LoggingObserver, configure_logging
from motcua.entrypoints.http.metrics import MetricsObserver
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import SystemClock
from motcua.workflow.engine.model import Actor
from motcua.workflow.engine.ports import Observer

__all__ = ["DEFAULT", "QUICK", "Sizes", "main", "render_table", "run"]

OFFICER = Actor.of("Nguyễn Thị Lan", "officer")
SERVE = [sys.executable, "-c", "from motcua.entrypoints.cli.main import main; main()", "serve", "--no-dispatch"]
BARE = [sys.executable, "-c", "from bench._bare_asgi import main; main()"]


@dataclass(frozen=True)
class Sizes:
    ops: int
    repeats: int
    clients: int
    workers: int = 1  # server processes (motcua serve --workers N, and the bare app likewise)


DEFAULT = Sizes(ops=200, repeats=5, clients=4, workers=2)
QUICK = Sizes(ops=10, repeats=1, clients=2, workers=2)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def _server(url: str, *, bare: bool = False, workers: int = 1) -> Iterator[str]:
    """``motcua serve --workers N`` (or, ``bare``, the bare ASGI app of :mod:`bench._bare_asgi` in as many processes)
    on ``url``, apart from this process; yields its base URL."""
    port = _free_port()
    command = ([*BARE, url, str(port), str(workers)] if bare
               else [*SERVE, "--workers", str(workers), "--db", url, "--port", str(port)])
    root = str(Path(__file__).resolve().parent.parent)  # where ``bench`` is importable from, whatever the cwd
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": path})
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"motcua serve exited with status {process.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError("motcua serve did not answer /healthz within 60 s")


def _processing(motcua: Motcua) -> tuple[str, int]:
    case = motcua.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), OFFICER)
    case = motcua.service.fire(case.code, "assign", OFFICER, {"assignee": "Phạm Văn Hùng"})
    return case.code, case.version


def _http_fires(connection: KeepAlive, key: str, code: str, version: int) -> Batch:
    etag, path = f'"{version}"', f"/dossiers/{code}/events"

    def batch(ops: int) -> None:
        nonlocal etag
        connection.close()  # idle while the others ran, the server may have closed it: connect afresh, once a batch
        for n in range(ops):
            body = json.dumps({"trigger": "assign", "data": {"assignee": f"Cán bộ {n % 7}"}}, ensure_ascii=False)
            answer = connection.request("POST", path, {"X-API-Key": key, "If-Match": etag,
                                                       "Content-Type": "application/json"}, body.encode())
            if answer.status != 200:
                raise RuntimeError(f"POST events answered {answer.status}: {answer.body.decode()}")
            etag = answer.headers["etag"]

    return batch


def _service_fires(motcua: Motcua, code: str, version: int) -> Batch:
    current = version

    def batch(ops: int) -> None:
        nonlocal current
        for n in range(ops):
            case = motcua.service.fire(code, "assign", OFFICER, {"assignee": f"Cán bộ {n % 7}"},
                                       expected_version=current)
            current = case.version

    return batch


def _measure(motcua: Motcua, bases: Mapping[str, str], key: str, sizes: Sizes) -> dict[str, Any]:
    """``bases``: the base URL of ``motcua serve`` (``http``) and of the bare ASGI app (``bare``)."""
    n = sizes.clients
    dossiers = iter([_processing(motcua) for _ in range(3 + 3 * n)])
    with ExitStack() as connections:  # each client's connection, closed when every figure is taken

        def client(name: str) -> Batch:
            host, port = bases[name].removeprefix("http://").split(":")
            connection = KeepAlive(host, int(port))
            connections.callback(connection.close)
            return _http_fires(connection, key, *next(dossiers))

        def floor() -> Batch:
            return _service_fires(motcua, *next(dossiers))

        samples = round_robin({"http": client("http"), "bare": client("bare"), "floor": floor()}, sizes.ops,
                              repeats=sizes.repeats)
        one = {name: 1e9 / median(samples[name]) for name in ("http", "bare", "floor")}
        makers: dict[str, Callable[[], Batch]] = {"http": lambda: client("http"), "bare": lambda: client("bare"),
                                                  "floor": floor}
        crowds = {name: [make() for _ in range(n)] for name, make in makers.items()}  # n clients each, own dossiers
        rates: dict[str, list[float]] = {name: [] for name in crowds}
        for _ in range(sizes.repeats):  # taking turns, as the one-client figures do: drift hits all three alike
            for name, crowd_of in crowds.items():
                rates[name].append(threaded_ops_per_s(crowd_of, sizes.ops))
        crowd = {name: median(values) for name, values in rates.items()}
    return {
        "http_events_per_s": one["http"], "floor_fire_per_s": one["floor"], "ratio": one["http"] / one["floor"],
        f"http_events_per_s_{n}": crowd["http"], f"floor_fire_per_s_{n}": crowd["floor"],
        f"ratio_{n}": crowd["http"] / crowd["floor"],
        "bare_events_per_s": one["bare"], "bare_ratio": one["bare"] / one["floor"],
        "http_over_bare": one["http"] / one["bare"],
        f"bare_events_per_s_{n}": crowd["bare"], f"bare_ratio_{n}": crowd["bare"] / crowd["floor"],
        f"http_over_bare_{n}": crowd["http"] / crowd["bare"],
    }


@contextmanager
def _logs_thrown_away() -> Iterator[None]:
    """JSON log lines rendered as the server renders them, written to /dev/null; the configuration before is
    put back after (the benchmark also runs inside the test suite)."""
    before = structlog.get_config()
    with open(os.devnull, "w", encoding="utf-8") as devnull:
        configure_logging(json=True)
        structlog.configure(logger_factory=structlog.WriteLoggerFactory(file=devnull))
        try:
            yield
        finally:
            structlog.configure(**before)


def run(sizes: Sizes, url: str | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-http-") as directory, _logs_thrown_away():
        chosen = url or f"sqlite:///{Path(directory) / 'http.db'}"
        # The floor's service observes its decisions as the server's does (a JSON log line, metrics), the log
        # thrown away like the server's stderr: what differs between the two figures is HTTP, nothing else.
        observers: list[Observer] = [LoggingObserver(), MetricsObserver(CollectorRegistry())]
        motcua = open_motcua(chosen, clock=SystemClock(), observers=observers)
        try:
            created = new_key("Phần mềm một cửa", ["officer"], SystemClock().now())
            motcua.backend.keys.add_key(created.stored)
            with (_server(chosen, workers=sizes.workers) as base,
                  _server(chosen, bare=True, workers=sizes.workers) as bare):
                figures = _measure(motcua, {"http": base, "bare": bare}, created.secret_text, sizes)
        finally:
            motcua.close()
    database = "sqlite" if chosen.startswith("sqlite") else chosen.split(":", 1)[0]
    return {**figures, "database": database, "clients": sizes.clients, "workers": sizes.workers, "ops": sizes.ops,
            "repeats": sizes.repeats, "machine": describe_machine()}


def render_table(result: Mapping[str, Any]) -> str:
    n = result["clients"]

    def row(label: str, key: str, spec: str) -> tuple[str, str, str]:
        return label, format(result[key], spec), format(result[f"{key}_{n}"], spec)

    rows = [("figure", "1 client", f"{n} clients"),
            row("POST /dossiers/{code}/events per s", "http_events_per_s", ".0f"),
            row("CaseService.fire per s (floor)", "floor_fire_per_s", ".0f"),
            row("ratio http / floor", "ratio", ".2f"),
            row("bare ASGI app per s (ceiling)", "bare_events_per_s", ".0f"),
            row("ratio bare / floor", "bare_ratio", ".2f"),
            row("ratio http / bare", "http_over_bare", ".2f")]
    widths = [max(len(line[column]) for line in rows) for column in range(3)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in rows]
    return "\n".join([*lines, "", f"database: {result['database']}",
                      f"machine: {json.dumps(result['machine'], ensure_ascii=False)}"])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.http", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke tests, CI)")
    parser.add_argument("--db", help="database URL (default: a scratch SQLite file)")
    parser.add_argument("--workers", type=int, choices=range(1, 9), metavar="N",
                        help=f"server processes, 1 to 8 (default: {DEFAULT.workers}; --quick: {QUICK.workers})")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else DEFAULT
    result = run(sizes if args.workers is None else replace(sizes, workers=args.workers), args.db)
    print(json.dumps(result, ensure_ascii=False) if args.json else render_table(result))


if __name__ == "__main__":
    main()
