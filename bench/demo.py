"""How long ``motcua demo`` takes, beside the store's own persisted-transition rate measured in the same run.

``python -m bench.demo [--json] [--dossiers N] [--seed S]`` runs the year simulation (default 6,000
dossiers, the demo's default) into a scratch folder and reports its wall time, dossiers/s and audited
transitions/s. The floor is the same number of transitions done directly through ``CaseService.fire`` on
a fresh SQLite file with the same settings (WAL, ``synchronous=normal``): dossiers received, digitised,
assigned, decided and returned one after the other, with no simulation, timers or reports around them.
``ratio`` = the demo's transitions/s ÷ the floor's: what the simulation, the timers, the reports, the
workbooks and the charts cost on top of writing the log itself. The demo's target: under 60 s.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bench._util import describe_machine, dossier_path_rate
from motcua.adapters.bootstrap import open_motcua
from motcua.simulation.files import write_outputs
from motcua.simulation.run import run_demo
from motcua.simulation.scenario import DemoOptions
from motcua.workflow.engine.clock import VN_TZ, ManualClock

__all__ = ["TARGET_SECONDS", "floor_transitions_per_s", "main", "render_table", "run"]

TARGET_SECONDS = 60.0


def floor_transitions_per_s(transitions: int, folder: Path) -> float:
    """Persisted, audited transitions per second through the service alone, on the demo's SQLite settings."""
    clock = ManualClock(datetime(2023, 3, 6, 8, 0, tzinfo=VN_TZ))
    app = open_motcua(f"sqlite:///{folder / 'floor.db'}?synchronous=normal", clock=clock, observers=[], publish={},
                      office="an-thuong")
    try:
        return dossier_path_rate(app, clock, transitions)
    finally:
        app.close()


def _audited(database: Path) -> int:
    """Every transition the year wrote to the log (timer-fired ones included), counted in the log itself."""
    with sqlite3.connect(database) as connection:
        return int(connection.execute("SELECT COUNT(*) FROM audit_entry").fetchone()[0])


def run(dossiers: int = 6000, seed: int = 1) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="motcua-bench-demo-") as scratch:
        folder = Path(scratch)
        started = time.perf_counter()
        result = run_demo(DemoOptions(dossiers=dossiers, seed=seed, out=folder / "out"))
        write_outputs(result, folder / "out")
        seconds = time.perf_counter() - started
        transitions = _audited(folder / "out" / "motcua.db")  # those the simulation fired and the timers'
        floor = floor_transitions_per_s(transitions, folder)
    demo_rate = transitions / seconds
    return {
        "dossiers": dossiers, "seed": seed, "seconds": round(seconds, 2),
        "simulation_seconds": round(result.seconds, 2),
        "dossiers_per_s": round(dossiers / seconds, 1), "transitions": transitions,
        "transitions_per_s": round(demo_rate, 1), "floor_transitions_per_s": round(floor, 1),
        "ratio": round(demo_rate / floor, 3), "target_seconds": TARGET_SECONDS,
        "met": seconds < TARGET_SECONDS,
        "machine": describe_machine() | {"sqlite": sqlite3.sqlite_version},
    }


def render_table(result: Mapping[str, Any]) -> str:
    return "\n".join([
        f"motcua demo, {result['dossiers']} dossiers: {result['seconds']} s "
        f"({result['dossiers_per_s']} dossiers/s; target < {result['target_seconds']:g} s: "
        f"{'met' if result['met'] else 'MISSED'})",
        f"transitions/s: demo {result['transitions_per_s']} vs floor (CaseService.fire alone) "
        f"{result['floor_transitions_per_s']} → ratio {result['ratio']}",
        f"machine: {json.dumps(result['machine'], ensure_ascii=False)}",
    ])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--dossiers", type=int, default=6000, help="dossiers in the simulated year (default 6000)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    result = run(args.dossiers, args.seed)
    text = json.dumps(result, ensure_ascii=False, indent=2) if args.json else render_table(result)
    sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
