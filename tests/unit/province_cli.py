"""What the CLI tests over a province's database share: the command run as a person runs it, and the SQLite file of
tests/contract/test_report_units_contract.py's scenario (Hải Dương communes in June 2025, the merger into phường
Thành Đông on 1 July, Hải Phòng wards after), opened at its first morning with An Thượng as the desk's home."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import pytest
from typer.testing import CliRunner, Result

from motcua.adapters.bootstrap import open_motcua
from motcua.entrypoints.cli.main import app
from motcua.workflow.engine.clock import ManualClock
from tests.contract.test_report_units_contract import AN_THUONG, Province, at

__all__ = ["province_file", "run"]


def run(*args: str) -> Result:
    """``motcua ARGS…`` on a terminal wide enough for every table."""
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "240"})


@contextmanager
def province_file(factory: pytest.TempPathFactory, name: str) -> Iterator[tuple[str, Province]]:
    """A new SQLite file in a folder ``name`` of the session's temporary ones: its URL, and the province on it at
    7:00 on 2 June 2025 (closed on leaving), for the caller to fill (``run_year``…)."""
    url = f"sqlite:///{factory.mktemp(name) / 'motcua.db'}"
    clock = ManualClock(at(date(2025, 6, 2), 7))
    motcua = open_motcua(url, clock=clock, observers=[], agency=AN_THUONG)
    try:
        yield url, Province(motcua, clock)
    finally:
        motcua.close()
